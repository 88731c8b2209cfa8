import keras
import keras_tuner
import numpy as np
import pytest

from bench.errors import UserError
from strategies import STRATEGIES, resolve
from strategies.resampling import oversampling_plan
from strategies.weighting import tempered_balanced_weights

Y_TRAIN = np.array([0] * 40 + [1] * 8 + [2] * 2)


def test_registry_holds_the_five_core_strategies():
    assert {e.name for e in STRATEGIES} >= {"baseline", "stratify", "class-weight", "oversample", "focal"}


def test_balanced_weights_with_exponent_one_are_inverse_frequency():
    weights = tempered_balanced_weights(Y_TRAIN, 1.0)
    assert weights[2] / weights[0] == pytest.approx(40 / 2)
    counts = np.bincount(Y_TRAIN)
    assert sum(counts[c] * w for c, w in weights.items()) == pytest.approx(len(Y_TRAIN))


def test_exponent_zero_means_no_weighting():
    assert set(np.round(list(tempered_balanced_weights(Y_TRAIN, 0.0).values()), 9)) == {1.0}


def test_class_weights_come_from_the_training_labels_only():
    hp = keras_tuner.HyperParameters()
    strategy = resolve("class-weight[exponent=1.0]")
    weights = strategy.class_weight(hp, Y_TRAIN)
    assert weights == tempered_balanced_weights(Y_TRAIN, 1.0)
    assert hp.values == {"class_weight_exponent": 1.0}


def test_oversampling_draws_training_indices_up_to_the_target():
    hp = keras_tuner.HyperParameters()
    draw = resolve("oversample[target=1.0]").sampler(hp, Y_TRAIN)
    rng = np.random.default_rng(0)
    indices = draw(rng)
    assert indices.min() >= 0 and indices.max() < len(Y_TRAIN)
    assert np.bincount(Y_TRAIN[indices]).tolist() == [40, 40, 40]
    assert not np.array_equal(indices, draw(rng)), "each epoch draws afresh"


def test_oversampling_plan_never_removes_samples():
    assert oversampling_plan(Y_TRAIN, 0.5) == {0: 40, 1: 20, 2: 20}


def test_default_sampler_is_a_permutation_of_the_fold():
    indices = resolve("stratify").sampler(keras_tuner.HyperParameters(), Y_TRAIN)(np.random.default_rng(1))
    assert sorted(indices) == list(range(len(Y_TRAIN)))


def test_focal_uses_keras_focal_loss_with_tuned_values():
    hp = keras_tuner.HyperParameters()
    loss = resolve("focal[gamma=3.0]").loss(hp, Y_TRAIN)
    assert isinstance(loss, keras.losses.CategoricalFocalCrossentropy)
    assert loss.gamma == 3.0 and loss.from_logits
    assert hp.values["focal_gamma"] == 3.0 and "focal_alpha" in hp.values


def test_unfixed_parameters_join_the_search_space():
    hp = keras_tuner.HyperParameters()
    resolve("stratify+class-weight+focal").declare(hp)
    assert {"class_weight_exponent", "focal_gamma", "focal_alpha"} <= set(hp.values)
    assert resolve("stratify+class-weight").stratified and not resolve("class-weight").stratified


def test_plain_cross_entropy_on_logits_by_default():
    loss = resolve("baseline").loss(keras_tuner.HyperParameters(), Y_TRAIN)
    assert isinstance(loss, keras.losses.CategoricalCrossentropy) and loss.from_logits


def test_equal_values_name_the_same_strategy():
    assert resolve("class-weight[exponent=1]").name == resolve("class-weight[exponent=1.0]").name


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("smote", "unknown strategy 'smote'"),
        ("focal[beta=1]", "unknown parameter 'beta'"),
        ("focal[gamma=hot]", "must be float"),
        ("focal+focal", "both change the loss"),
        ("baseline+stratify", "baseline changes nothing"),
        ("stratfy", "did you mean 'stratify'"),
    ],
)
def test_bad_strategies_are_refused(text, message):
    with pytest.raises(UserError, match=message):
        resolve(text)
