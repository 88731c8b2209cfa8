import numpy as np
import pytest

from bench.config import TrainingOptions
from bench.training.callbacks import OBJECTIVE, kept_scores
from bench.training.hypermodel import FoldData, ImbalanceHyperModel
from bench.training.models import resolve_model
from bench.training.tuning import search
from strategies import resolve

RNG = np.random.default_rng(1)
X = RNG.normal(size=(90, 6)).astype("float32")
Y = np.repeat([0, 1, 2], [60, 20, 10])
X[Y == 1] += 0.8
X[Y == 2] -= 0.8


class RecordingHyperModel(ImbalanceHyperModel):
    """Keeps every fit's History, to compare with what keras-tuner's oracle recorded."""

    histories: list

    def fit(self, hp, model, *args, **kwargs):
        history = super().fit(hp, model, *args, **kwargs)
        self.histories.append(history)
        return history


@pytest.mark.parametrize("tuner", ["random", "hyperband"])
def test_each_trial_is_scored_at_the_epoch_its_fit_keeps(tuner, tmp_path):
    val = np.arange(0, 90, 3)
    train = np.setdiff1d(np.arange(90), val)
    fold = FoldData(X[train], Y[train], X[val], Y[val], 3)
    hypermodel = RecordingHyperModel(
        resolve_model("mlp", (6,)).builder, resolve("baseline"), fold, 2, TrainingOptions(patience=50, min_epochs=3)
    )
    hypermodel.histories = []
    options = TrainingOptions(tuner=tuner, max_trials=2, epochs=5, tuner_seed=3)
    result = search(hypermodel, options, directory=tmp_path, project="p")
    scored = sorted(t.objective for t in result.trials)
    kept = sorted(kept_scores(h)[OBJECTIVE] for h in hypermodel.histories if len(h.epoch) > 0)
    assert scored == pytest.approx(kept)
    assert all(h.kept_epoch >= 3 or h.kept_epoch == h.epoch[-1] for h in hypermodel.histories)
    assert isinstance(result.best, dict) and "learning_rate" in result.best
