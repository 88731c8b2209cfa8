import keras
import keras_tuner
import numpy as np
import pytest

from bench.errors import UserError
from bench.models import resolve_model
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


def test_oversampling_keeps_every_row_and_duplicates_only_minorities():
    indices = resolve("oversample[target=1.0]").sampler(keras_tuner.HyperParameters(), Y_TRAIN)(
        np.random.default_rng(3)
    )
    assert set(indices) == set(range(len(Y_TRAIN))), "every training row appears"
    assert np.array_equal(np.sort(indices[Y_TRAIN[indices] == 0]), np.arange(40)), "the largest class once each"


def test_oversampling_an_epoch_holds_one_int32_index_list():
    """The epoch's order is the only allocation that grows with the ratio: no copies of it, no features."""
    import tracemalloc

    y = np.repeat(np.arange(10), np.geomspace(100_000, 1_000, 10).astype(int))
    draw = resolve("oversample[target=1.0]").sampler(keras_tuner.HyperParameters(), y)
    tracemalloc.start()
    try:
        order = draw(np.random.default_rng(0))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert order.dtype == np.int32 and len(order) == 1_000_000
    assert peak < 1.5 * order.nbytes, f"peak {peak / 2**20:.1f} MB for a {order.nbytes / 2**20:.1f} MB order"


def test_oversampling_plan_never_removes_samples():
    assert oversampling_plan(Y_TRAIN, 0.5) == {0: 40, 1: 20, 2: 20}


def test_default_sampler_is_a_permutation_of_the_fold():
    indices = resolve("stratify").sampler(keras_tuner.HyperParameters(), Y_TRAIN)(np.random.default_rng(1))
    assert sorted(indices) == list(range(len(Y_TRAIN)))


def test_focal_uses_keras_focal_loss_with_tuned_values():
    hp = keras_tuner.HyperParameters()
    loss = resolve("focal[gamma=3.0]").loss(hp, Y_TRAIN, 3)
    assert isinstance(loss, keras.losses.CategoricalFocalCrossentropy)
    assert loss.gamma == 3.0 and loss.from_logits
    assert hp.values["focal_gamma"] == 3.0 and "focal_alpha" in hp.values


def test_unfixed_parameters_join_the_search_space():
    hp = keras_tuner.HyperParameters()
    resolve("stratify+class-weight+focal").declare(hp)
    assert {"class_weight_exponent", "focal_gamma", "focal_alpha"} <= set(hp.values)
    assert resolve("stratify+class-weight").stratified and not resolve("class-weight").stratified


def test_plain_cross_entropy_on_logits_by_default():
    loss = resolve("baseline").loss(keras_tuner.HyperParameters(), Y_TRAIN, 3)
    assert isinstance(loss, keras.losses.CategoricalCrossentropy) and loss.from_logits


def test_equal_values_name_the_same_strategy():
    assert resolve("class-weight[exponent=1]").name == resolve("class-weight[exponent=1.0]").name


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("adasyn", "unknown strategy 'adasyn'"),
        ("class-weight+effective-number", "both change the weights"),
        ("balanced-softmax+ldam-drw", "both change the loss"),
        ("smote+oversample", "both change the data"),
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


# -- hand-written pieces against their paper formulas -------------------------------------------

LOGITS = np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3]], "float32")
ONEHOT = np.array([[0, 0, 1], [1, 0, 0]], "float32")
COUNTS = np.array([40, 8, 2])


def numpy_cross_entropy(logits: np.ndarray, onehot: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -(onehot * log_softmax).sum(axis=1)


def test_logit_adjusted_loss_is_cross_entropy_of_shifted_logits():
    from strategies.keras_losses import LogitAdjustedLoss

    prior = np.log(COUNTS / COUNTS.sum())
    loss = LogitAdjustedLoss(prior, tau=1.5)
    expected = numpy_cross_entropy(LOGITS + 1.5 * prior, ONEHOT).mean()
    assert float(loss(ONEHOT, LOGITS)) == pytest.approx(expected, rel=1e-5)


def test_balanced_softmax_is_logit_adjustment_with_tau_one():
    hp = keras_tuner.HyperParameters()
    y = np.repeat(np.arange(3), COUNTS)
    loss = resolve("balanced-softmax").loss(hp, y, 3)
    assert loss.tau == 1.0
    assert np.allclose(loss.log_prior, np.log(COUNTS / COUNTS.sum()))


def test_ldam_margins_and_weights_follow_cao_et_al():
    from strategies.keras_losses import LDAMLoss

    loss = LDAMLoss(COUNTS, max_margin=0.5, scale=2.0)
    margins = COUNTS**-0.25 * 0.5 / (COUNTS**-0.25).max()
    assert np.allclose(loss.margins, margins) and loss.margins.max() == pytest.approx(0.5)
    expected = numpy_cross_entropy(2.0 * (LOGITS - ONEHOT * margins), ONEHOT)
    assert float(loss(ONEHOT, LOGITS)) == pytest.approx(expected.mean(), rel=1e-5)
    loss.class_weights.assign(np.array([1.0, 2.0, 3.0], "float32"))
    assert float(loss(ONEHOT, LOGITS)) == pytest.approx((expected * [3.0, 1.0]).mean(), rel=1e-5)


def test_effective_number_weights_follow_cui_et_al():
    from strategies.weighting import effective_number_weights

    y = np.repeat(np.arange(3), COUNTS)
    weights = effective_number_weights(y, 0.99)
    raw = (1 - 0.99) / (1 - 0.99**COUNTS)
    assert list(weights.values()) == pytest.approx(list(raw * 3 / raw.sum()))
    assert weights[2] > weights[1] > weights[0]


def test_power_sampling_interpolates_between_instance_and_class_balance():
    from strategies.resampling import PowerSampling

    y = np.repeat(np.arange(3), COUNTS)
    for q, expected in [
        (1.0, COUNTS / COUNTS.sum()),
        (0.0, np.full(3, 1 / 3)),
        (0.5, np.sqrt(COUNTS) / np.sqrt(COUNTS).sum()),
    ]:
        draw = PowerSampling(q=q).sampler(keras_tuner.HyperParameters(), y)
        rows = np.concatenate([draw(np.random.default_rng(i)) for i in range(200)])
        assert np.bincount(y[rows]) / len(rows) == pytest.approx(expected, abs=0.01)


def test_balanced_batches_hold_one_sample_per_class_per_block():
    from strategies.resampling import class_balanced_order

    y = np.repeat(np.arange(3), COUNTS)
    order = class_balanced_order(y, np.random.default_rng(0), 48)
    assert len(order) == 48
    assert all(sorted(y[order[i : i + 3]]) == [0, 1, 2] for i in range(0, 48, 3))


def test_undersampling_caps_classes_and_redraws():
    from strategies.resampling import undersampling_plan

    y = np.repeat(np.arange(3), COUNTS)
    assert undersampling_plan(y, 0.5) == {0: 4, 1: 4, 2: 2}
    draw = resolve("undersample[target=1.0]").sampler(keras_tuner.HyperParameters(), y)
    rng = np.random.default_rng(0)
    first, second = draw(rng), draw(rng)
    assert np.bincount(y[first]).tolist() == [2, 2, 2] and set(first) != set(second)
    assert len(set(first)) == len(first), "drawn without replacement"


def test_smote_synthesises_to_balance_and_refuses_tiny_classes():
    from strategies import NotApplicable

    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), [20, 8, 6])
    x = rng.normal(size=(len(y), 2, 2)).astype("float32")
    x_new, y_new = resolve("smote").resample(keras_tuner.HyperParameters(), x, y, 1)
    assert x_new.shape[1:] == (2, 2) and np.bincount(y_new).tolist() == [20, 20, 20]
    assert np.array_equal(x_new[: len(x)], x), "the original rows come first, unchanged"
    with pytest.raises(NotApplicable, match="k_neighbors=5 needs at least 6"):
        resolve("smote").resample(keras_tuner.HyperParameters(), x, np.repeat(np.arange(3), [20, 10, 4]), 1)


def test_bias_init_sets_the_output_bias_to_centred_log_priors():
    _, builder = resolve_model("mlp", (4,))
    hp = keras_tuner.HyperParameters()
    model = builder(hp, (4,), 3)
    y = np.repeat(np.arange(3), COUNTS)
    resolve("bias-init").init_model(model, hp, y, 3)
    prior = np.log(COUNTS / COUNTS.sum())
    assert np.allclose(np.asarray(model.layers[-1].bias), prior - prior.mean(), atol=1e-6)


def test_posthoc_logit_adjustment_picks_tau_on_validation():
    strategy = resolve("posthoc-logit-adjust")
    y_train = np.repeat(np.arange(3), COUNTS)
    # A model biased towards the head class: adjusting by the prior recovers the tail.
    y_val = np.array([0, 1, 2, 2])
    val_logits = np.array([[3.0, 1.0, 0.0], [2.0, 1.8, 0.0], [2.0, 0.0, 0.5], [2.5, 0.0, 0.9]])
    chosen = strategy.posthoc_part.posthoc(val_logits, y_val, y_train)
    adjusted = (val_logits + chosen["offsets"]).argmax(axis=1)
    assert chosen["posthoc_tau"] > 0 and adjusted.tolist() == [0, 1, 2, 2]
    assert strategy.trained().name == "baseline"


def test_threshold_offsets_never_lower_validation_macro_f1():
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(3)
    y_val = rng.integers(0, 3, 60)
    val_logits = rng.normal(size=(60, 3)) + np.eye(3)[y_val] * 0.8 + np.array([1.0, 0.0, -1.0])
    chosen = resolve("threshold").posthoc_part.posthoc(val_logits, y_val, y_val)
    before = f1_score(y_val, val_logits.argmax(1), average="macro")
    after = f1_score(y_val, (val_logits + chosen["offsets"]).argmax(1), average="macro")
    assert after >= before and len(chosen["threshold_offsets"]) == 3
