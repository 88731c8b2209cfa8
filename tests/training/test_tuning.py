import keras_tuner
import numpy as np
import pytest

from bench.config import TrainingOptions
from bench.training.callbacks import OBJECTIVE
from bench.training.compiled import CompiledModels
from bench.training.hypermodel import Fit, FoldData, ImbalanceHyperModel
from bench.training.models import resolve_model
from bench.training.tuning import KeptEpochHyperbandOracle, PairedRandomSearchOracle, make_tuner, search
from strategies import resolve

pytestmark = pytest.mark.backend

RNG = np.random.default_rng(1)
X = RNG.normal(size=(90, 6)).astype("float32")
Y = np.repeat([0, 1, 2], [60, 20, 10])
X[Y == 1] += 0.8
X[Y == 2] -= 0.8


class RecordingHyperModel(ImbalanceHyperModel):
    """Keeps every fit's record, to compare with what keras-tuner's oracle recorded."""

    fits: list

    def train(self, hp, model, **kwargs):
        fit = super().train(hp, model, **kwargs)
        self.fits.append(fit)
        return fit


@pytest.mark.parametrize("tuner", ["random", "hyperband"])
def test_each_trial_is_scored_at_the_epoch_its_fit_keeps(tuner, tmp_path):
    val = np.arange(0, 90, 3)
    train = np.setdiff1d(np.arange(90), val)
    fold = FoldData(X[train], Y[train], X[val], Y[val], 3)
    hypermodel = RecordingHyperModel(
        resolve_model("mlp", (6,)).builder, resolve("baseline"), fold, 2, TrainingOptions(patience=50, min_epochs=3)
    )
    hypermodel.fits = []
    options = TrainingOptions(tuner=tuner, max_trials=2, epochs=5, tuner_seed=3)
    result = search(hypermodel, options, directory=tmp_path, project="p")
    scored = sorted(t.objective for t in result.trials)
    kept = sorted(fit.kept_scores[OBJECTIVE] for fit in hypermodel.fits if fit.epochs)
    assert scored == pytest.approx(kept)
    assert all(fit.kept_epoch >= 3 for fit in hypermodel.fits), "no trial is scored before min_epochs"
    assert isinstance(result.best, dict) and "learning_rate" in result.best


def candidates(seed: int, own_knob: bool, trials: int = 5) -> list[dict]:
    """The values a paired random search draws for a space like the MLP's, with or without a strategy's knob."""
    oracle = PairedRandomSearchOracle(objective=keras_tuner.Objective(OBJECTIVE, "max"), max_trials=trials, seed=seed)
    hp = oracle.hyperparameters
    hp.Int("units", 8, 256)
    if own_knob:  # declared between the model's knobs, as a strategy's are
        hp.Choice("class_weight_exponent", [0.5, 0.75, 1.0])
    hp.Float("learning_rate", 1e-4, 1e-2, sampling="log")
    hp.Choice("batch_size", [16, 32, 64])
    return [oracle.populate_space(str(i))["values"] for i in range(trials)]


def test_trial_i_of_every_strategy_draws_the_same_model_hyperparameters():
    plain, with_knob = candidates(7, False), candidates(7, True)
    for mine, theirs in zip(plain, with_knob, strict=True):
        assert mine == {k: v for k, v in theirs.items() if k != "class_weight_exponent"}
    assert len({c["learning_rate"] for c in plain}) == 5, "the trials of one search differ"
    assert {c["class_weight_exponent"] for c in with_knob} > {1.0}, "the strategy's knob is drawn too"


def test_searches_of_different_seeds_draw_different_candidates():
    assert candidates(7, False) != candidates(8, False)
    assert candidates(7, False) == candidates(7, False), "and the same seed draws the same again (resume)"


def test_search_seeds_are_independent_per_dataset_and_seed_and_never_zero():
    from bench.config import Protocol

    first, other = Protocol(search_seed=1), Protocol(search_seed=2)
    seeds = {first.tuner_seed(d, s) for d in ("a", "b") for s in (0, 1, 2)} | {other.tuner_seed("a", 1)}
    assert len(seeds) == 7 and 0 not in seeds
    assert first.tuner_seed("a", 1) == Protocol(search_seed=1, epochs=3).tuner_seed("a", 1)


def bracket_rounds(max_epochs: int, shortest: int) -> list[int]:
    oracle = KeptEpochHyperbandOracle(
        objective=keras_tuner.Objective(OBJECTIVE, "max"), max_epochs=max_epochs, factor=3, shortest=shortest
    )
    return [oracle._get_epochs(bracket, 0) for bracket in range(oracle._get_num_brackets())]


def test_hyperband_rounds_reach_the_first_epoch_a_run_may_keep():
    assert bracket_rounds(30, 1) == [30, 10, 4, 2], "keras-tuner's own brackets"
    assert bracket_rounds(30, 11) == [30], "min_epochs 10: only rounds that can keep an epoch"
    assert bracket_rounds(200, 21) == [200, 67, 23]
    assert bracket_rounds(5, 40) == [5], "past the budget: the final run's own length"


@pytest.mark.parametrize(
    ("strategy", "first"), [("baseline", 10), ("ldam-drw", 24), ("class-weight[deferred=0.5]", 15)]
)
def test_the_first_epoch_a_search_may_keep_counts_the_latest_deferred_start(strategy, first):
    hypermodel = ImbalanceHyperModel(
        resolve_model("mlp", (6,)).builder, resolve(strategy), None, 1, TrainingOptions(epochs=30, min_epochs=10)
    )
    assert hypermodel.first_kept_epoch() == first


def test_the_kept_winner_is_the_model_its_final_run_would_train_again(tmp_path):
    from bench.execution.tasks import fixed_hyperparameters

    val = np.arange(0, 90, 3)
    train = np.setdiff1d(np.arange(90), val)
    fold, x_test = FoldData(X[train], Y[train], X[val], Y[val], 3), X[1::7]
    builder, strategy = resolve_model("mlp", (6,)).builder, resolve("class-weight")
    options = TrainingOptions(max_trials=3, epochs=6, patience=2, tuner_seed=5)
    hypermodel = ImbalanceHyperModel(builder, strategy, fold, 2, options)
    result = search(
        hypermodel, options, directory=tmp_path, project="p", keep=lambda m, f: hypermodel.trained(m, f, x_test)
    )
    winner = result.winner
    assert winner is not None
    assert winner.history[OBJECTIVE][winner.history["kept_epoch"] - 1] == max(t.objective for t in result.trials)

    final = ImbalanceHyperModel(builder, strategy, fold, 2, TrainingOptions(max_trials=3, epochs=6, patience=2))
    hp = fixed_hyperparameters(result.best)
    model = final.build(hp)
    again = final.trained(model, final.train(hp, model, epochs=options.epochs), x_test)
    np.testing.assert_array_equal(winner.val_logits, again.val_logits)
    np.testing.assert_array_equal(winner.test_logits, again.test_logits)
    assert winner.history == again.history and winner.samples_per_epoch == again.samples_per_epoch


class DecliningHyperModel(ImbalanceHyperModel):
    """Sets every weight to the trial's number instead of training; each trial scores less than the one
    before, so the first one wins."""

    def train(self, hp, model, **kwargs):
        self.trials = getattr(self, "trials", 0) + 1
        model.set_weights([np.full_like(w, self.trials) for w in model.get_weights()])
        return Fit({OBJECTIVE: [1 / self.trials]}, [0], 0, None, 0, 0, [[]], [[]])


def test_a_search_keeps_its_best_trial_not_its_latest(tmp_path):
    """Also when later trials trained the same compiled model (only the learning rate differs)."""
    options = TrainingOptions(max_trials=3, epochs=1, tuner_seed=3)
    fold = FoldData(X, Y, X, Y, 3)
    hypermodel = DecliningHyperModel(resolve_model("mlp", (6,)).builder, resolve("baseline"), fold, 2, options)
    one_structure = {"mlp_layers": 1, "mlp_units_0": 64, "dropout": 0.0, "batch_size": 32}
    result = search(
        hypermodel,
        options,
        directory=tmp_path,
        project="p",
        fixed=one_structure,
        keep=lambda model, fit: (fit, model.get_weights()),
    )
    assert [t.objective for t in result.trials] == [1, 1 / 2, 1 / 3]
    assert result.winner is not None
    fit, weights = result.winner
    assert fit.history == {OBJECTIVE: [1]} and all(np.all(w == 1) for w in weights)


@pytest.mark.parametrize("tuner", ["random", "hyperband"])
def test_learning_the_search_space_compiles_no_model(tuner, tmp_path):
    kept = CompiledModels()
    options = TrainingOptions(tuner=tuner, max_trials=1, epochs=2)
    fold = FoldData(X, Y, X, Y, 3)
    hypermodel = ImbalanceHyperModel(
        resolve_model("mlp", (6,)).builder, resolve("baseline"), fold, 2, options, compiled=kept
    )
    declared = {
        hp.name for hp in make_tuner(hypermodel, options, directory=tmp_path, project="p").oracle.get_space().space
    }
    assert {"mlp_layers", "mlp_units_0", "dropout", "batch_size", "learning_rate"} <= declared
    assert (kept.hits, kept.misses, len(kept.models)) == (0, 0, 0) and not hypermodel.only_declaring


@pytest.mark.parametrize("tuner", ["hyperband", "cv"])
def test_a_trial_is_kept_only_where_it_trains_the_final_runs_model(tuner, tmp_path):
    fold = FoldData(X, Y, X, Y, 3)
    options = TrainingOptions(tuner="hyperband" if tuner == "hyperband" else "random", max_trials=1, epochs=2)
    hypermodel = ImbalanceHyperModel(resolve_model("mlp", (6,)).builder, resolve("baseline"), fold, 2, options)
    folds = (fold, fold) if tuner == "cv" else ()
    with pytest.raises(ValueError, match="kept only by random search or Bayesian"):
        search(hypermodel, options, directory=tmp_path, project="p", folds=folds, keep=lambda m, f: None)
