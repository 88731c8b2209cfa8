import keras
import keras_tuner
import numpy as np
import pytest

from bench.errors import UserError
from bench.training.models import resolve_model
from strategies import STRATEGIES, resolve
from strategies.resampling import oversampling_plan
from strategies.weighting import tempered_balanced_weights

pytestmark = pytest.mark.backend

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
    strategy = resolve("class-weight[exponent=1.0,deferred=0.5]")
    weights = strategy.class_weights(hp, Y_TRAIN, 4, epochs=10)
    expected = tempered_balanced_weights(Y_TRAIN, 1.0)
    assert weights.vector.tolist() == pytest.approx([*expected.values(), 1.0]), "an absent class weighs 1"
    assert weights.start == 5, "deferred: on after half the epoch budget"
    assert hp.values == {"class_weight_exponent": 1.0, "class_weight_deferred": 0.5}


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
    assert hp.values == {"focal_gamma": 3.0}, "Keras's scalar alpha does nothing under Adam: not searched"


def test_unfixed_parameters_join_the_search_space():
    hp = keras_tuner.HyperParameters()
    resolve("stratify+class-weight+focal").declare(hp)
    assert {"class_weight_exponent", "focal_gamma"} <= set(hp.values)
    assert resolve("stratify+class-weight").stratified and not resolve("class-weight").stratified


def test_plain_cross_entropy_on_logits_by_default():
    loss = resolve("baseline").loss(keras_tuner.HyperParameters(), Y_TRAIN, 3)
    assert isinstance(loss, keras.losses.CategoricalCrossentropy) and loss.from_logits


def test_a_part_declared_alone_is_refused_in_a_composite(monkeypatch):
    """Declared, not special-cased: any part with alone = True (baseline's declaration) is refused in a composite."""
    from strategies.splitting import Stratify

    resolve("stratify+class-weight")
    monkeypatch.setattr(Stratify, "alone", True)
    with pytest.raises(UserError, match="'stratify\\+class-weight': stratify changes nothing"):
        resolve("stratify+class-weight")
    assert resolve("stratify").name == "stratify"


def test_equal_values_name_the_same_strategy():
    assert resolve("class-weight[exponent=1]").name == resolve("class-weight[exponent=1.0]").name


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("mixup", "unknown strategy 'mixup'"),
        ("class-weight+effective-number", "both change the weights"),
        ("balanced-softmax+ldam-drw", "both change the loss"),
        ("smote+oversample", "both change the data"),
        ("focal[beta=1]", "unknown parameter 'beta'"),
        ("focal[gamma=hot]", "must be float"),
        ("focal+focal", "both change the loss"),
        ("baseline+stratify", "baseline changes nothing"),
        ("stratfy", "did you mean 'stratify'"),
        ("focal[alpha=0.25]", "unknown parameter 'alpha'"),
        ("oversample+class-weight", "oversample and class-weight both correct the class imbalance"),
        ("class-weight+smote", "class-weight and smote both correct the class imbalance.*keep one of them"),
        ("stratify+undersample+effective-number", "undersample and effective-number both correct"),
        ("balanced-batches+ldam-drw", "balanced-batches and ldam-drw both correct"),
        ("sqrt-sampling+logit-adjusted", "sqrt-sampling and logit-adjusted both correct"),
        ("balanced-softmax+oversample[target=0.5]", "balanced-softmax and oversample both correct"),
        # Accepted by protocol 2, each correcting the prior twice:
        ("class-weight+balanced-softmax", "class-weight and balanced-softmax both correct"),
        ("effective-number+logit-adjusted", "effective-number and logit-adjusted both correct"),
        ("balanced-softmax+posthoc-logit-adjust", "balanced-softmax and posthoc-logit-adjust both correct"),
        ("class-weight+posthoc-logit-adjust", "class-weight and posthoc-logit-adjust both correct"),
        ("oversample+posthoc-logit-adjust", "oversample and posthoc-logit-adjust both correct"),
        ("undersample+posthoc-logit-adjust", "undersample and posthoc-logit-adjust both correct"),
    ],
)
def test_bad_strategies_are_refused(text, message):
    with pytest.raises(UserError, match=message) as refusal:
        resolve(text)
    assert "\n" not in str(refusal.value)


@pytest.mark.parametrize(
    "text",
    [
        "focal+effective-number",
        "focal+class-weight",
        "stratify+oversample",
        "stratify+effective-number+focal",
        "oversample+focal",
        "balanced-batches+bias-init",
        "bias-init+class-weight",
        "undersample+threshold",
        "ldam-drw+stratify",
        "class-weight+threshold",
        "stratify+posthoc-logit-adjust",
    ],
)
def test_composites_that_correct_the_imbalance_once_are_allowed(text):
    assert resolve(text).name == text


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


def test_ldam_margins_follow_cao_et_al_on_scaled_cosine_logits():
    from strategies.keras_losses import LDAMLoss

    loss = LDAMLoss(COUNTS, max_margin=0.5, scale=2.0)
    margins = COUNTS**-0.25 * 0.5 / (COUNTS**-0.25).max()
    assert np.allclose(loss.margins, margins) and loss.margins.max() == pytest.approx(0.5)
    expected = numpy_cross_entropy(LOGITS - 2.0 * ONEHOT * margins, ONEHOT)
    assert float(loss(ONEHOT, LOGITS)) == pytest.approx(expected.mean(), rel=1e-5)
    weights = np.array([3.0, 1.0], "float32") / 2.0  # the batches scale per-sample weights to mean 1
    weighted = float(loss(ONEHOT, LOGITS, sample_weight=weights))
    assert weighted == pytest.approx((expected * [3.0, 1.0]).sum() / 4.0, rel=1e-5), "sum(w*l)/sum(w)"


def test_ldam_turns_the_last_dense_layer_into_scaled_cosine_logits():
    hp = keras_tuner.HyperParameters()
    _, builder = resolve_model("mlp", (4,))
    ldam = resolve("ldam-drw[scale=30.0]")
    model = ldam.init_model(builder(hp, (4,), 3), hp, np.repeat(np.arange(3), COUNTS), 3)
    x = np.random.default_rng(0).normal(size=(50, 4)).astype("float32") * 100
    logits = model.predict(x, verbose=0)
    assert logits.shape == (50, 3) and np.abs(logits).max() <= 30.0 + 1e-3, "bounded by the scale"
    assert model.layers[-1].name == "cosine_logits"


def test_ldam_refuses_a_model_it_cannot_extend():
    from strategies import NotApplicable

    class Subclassed(keras.Model):
        def call(self, x):
            return x

    with pytest.raises(NotApplicable, match="end in Dense"):
        resolve("ldam-drw").init_model(Subclassed(), keras_tuner.HyperParameters(), np.array([0, 1]), 2)


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


TEN_CLASSES = [300, 120, 60, 30, 15, 8, 5, 3, 2, 1]


@pytest.mark.parametrize(("batch_size", "counts"), [(16, TEN_CLASSES), (32, COUNTS), (24, TEN_CLASSES)])
def test_balanced_batches_hold_every_class_within_one_sample_of_an_equal_share(batch_size, counts):
    y = np.repeat(np.arange(len(counts)), counts)
    hp = keras_tuner.HyperParameters()
    hp.Fixed("batch_size", batch_size)
    draw = resolve("balanced-batches").sampler(hp, y)
    rng = np.random.default_rng(0)
    epochs = [draw(rng) for _ in range(20)]
    for order in epochs:
        assert order.dtype == np.int32 and len(order) == len(y), "an epoch is as long as the fold"
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            share = len(rows) / len(counts)
            held = np.bincount(y[rows], minlength=len(counts))
            assert np.all((held >= np.floor(share)) & (held <= np.ceil(share))), (start, held.tolist())
    seen = np.concatenate(epochs)
    shares = np.bincount(y[seen]) / len(seen)
    assert shares == pytest.approx(np.full(len(counts), 1 / len(counts)), rel=0.05), "the extra samples go at random"
    assert len(np.unique(seen)) > 3 * len(counts), "rows are drawn within each class, not one per class"


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
    chosen = strategy.posthoc_part.posthoc(val_logits, y_val, y_train, None)
    adjusted = (val_logits + chosen["offsets"]).argmax(axis=1)
    assert chosen["posthoc_tau"] > 0 and adjusted.tolist() == [0, 1, 2, 2]
    assert strategy.trained().name == "baseline"


def test_posthoc_adjustment_at_tau_one_divides_the_probabilities_by_the_training_priors():
    """Menon et al. 2021: argmax(logits - log prior) = argmax(softmax / prior), the Bayes rule for balanced error."""
    from scipy.special import softmax

    from strategies.base import log_prior

    rng = np.random.default_rng(4)
    logits = rng.normal(size=(200, 3)) * 2
    y_train = np.repeat(np.arange(3), COUNTS)
    adjusted = (logits - log_prior(y_train, 3)).argmax(axis=1)
    divided = (softmax(logits, axis=1) / (COUNTS / COUNTS.sum())).argmax(axis=1)
    np.testing.assert_array_equal(adjusted, divided)
    assert (adjusted != logits.argmax(axis=1)).any(), "the adjustment changes some predictions"


def test_posthoc_adjustment_leaves_binary_roc_auc_unchanged():
    """Buda et al. 2018: dividing by the priors moves the threshold, not the ranking (exactly so for two classes;
    with more, the softmax renormalises each row and one-vs-rest AUC can move: see the literature study)."""
    from scipy.special import softmax
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(6)
    y = rng.integers(0, 2, 300)
    logits = rng.normal(size=(300, 2)) + np.eye(2)[y] * 0.7 + np.array([1.5, 0.0])
    chosen = resolve("posthoc-logit-adjust").posthoc_part.posthoc(logits, y, np.repeat([0, 1], [90, 10]), None)
    before = roc_auc_score(y, softmax(logits, axis=1)[:, 1])
    after = roc_auc_score(y, softmax(logits + chosen["offsets"], axis=1)[:, 1])
    assert chosen["posthoc_tau"] > 0 and after == pytest.approx(before, abs=1e-12)


def test_posthoc_choices_score_every_class_even_one_absent_from_validation():
    from sklearn.metrics import f1_score

    from strategies.posthoc import macro_f1_with

    y_val = np.array([0, 0, 1, 1, 0])  # class 2 exists (three logits) but not in this validation cut
    val_logits = np.array([[2.0, 0.0, -1.0], [0.0, 1.0, -1.0], [0.0, 2.0, -1.0], [1.0, 0.0, -1.0], [3.0, 0.0, -2.0]])
    predicted = val_logits.argmax(axis=1)
    score = macro_f1_with(np.zeros(3), val_logits, y_val)
    assert score == pytest.approx(f1_score(y_val, predicted, labels=[0, 1, 2], average="macro", zero_division=0))
    assert score != pytest.approx(f1_score(y_val, predicted, average="macro", zero_division=0)), "class 2 counts"


def test_threshold_offsets_never_lower_validation_macro_f1():
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(3)
    y_val = rng.integers(0, 3, 60)
    val_logits = rng.normal(size=(60, 3)) + np.eye(3)[y_val] * 0.8 + np.array([1.0, 0.0, -1.0])
    chosen = resolve("threshold").posthoc_part.posthoc(val_logits, y_val, y_val, None)
    before = f1_score(y_val, val_logits.argmax(1), average="macro")
    after = f1_score(y_val, (val_logits + chosen["offsets"]).argmax(1), average="macro")
    assert after >= before and len(chosen["threshold_offsets"]) == 3


# -- declared classes: hooks from overridden methods, skip before training ---------------------


def test_hooks_are_the_ones_whose_methods_a_class_overrides():
    from strategies.base import StrategyPart
    from strategies.losses import BalancedSoftmax, LDAMDeferredReweighting
    from strategies.splitting import Stratify

    class Both(StrategyPart):
        def sampler(self, hp, y_train):
            return None

        def posthoc(self, val_logits, y_val, y_train, classifier):
            return None

        def callbacks(self, hp, y_train, num_classes):
            return []

    assert Both.hooks == {"data", "posthoc"}, "callbacks claim no hook"
    assert Stratify.hooks == {"split"} and BalancedSoftmax.hooks == {"loss"}, "a property and an inherited loss count"
    assert LDAMDeferredReweighting.hooks == {"init", "loss", "weights"}


def test_hooks_set_by_hand_are_refused():
    from strategies.base import StrategyPart

    with pytest.raises(TypeError, match="hooks come from the methods it overrides"):

        class Claiming(StrategyPart):
            hooks = frozenset({"loss"})


def test_smote_skips_a_fold_with_a_class_of_k_or_fewer_training_samples_in_its_refusals_words():
    from strategies import NotApplicable

    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), [20, 10, 4])
    with pytest.raises(NotApplicable) as refusal:
        resolve("smote").resample(keras_tuner.HyperParameters(), rng.normal(size=(len(y), 2)), y, 1)
    assert resolve("stratify+smote").skip(np.array([20, 10, 4])) == str(refusal.value)
    assert resolve("smote").skip(np.array([20, 10, 6, 0])) is None, "an absent class has nothing to synthesise"
    assert resolve("smote[k_neighbors=1]").skip(np.array([20, 1, 4])) == (
        "smote: class(es) 1 have 1 or fewer training samples, SMOTE with k_neighbors=1 needs at least 2; use oversample"
    )
    assert resolve("stratify").skip(np.array([20, 1, 0])) is None, "parts run anywhere unless they say otherwise"


def test_a_tuned_k_skips_only_when_its_smallest_choice_cannot_run():
    from bench.registry import Tunable
    from strategies.resampling import Smote

    assert Smote(k_neighbors=Tunable((3, 5))).skip(np.array([20, 10, 4])) is None
    assert "k_neighbors=3 needs at least 4" in Smote(k_neighbors=Tunable((5, 3))).skip(np.array([20, 10, 3]))


# -- user strategies: path/to/file.py:ClassName or package.module:ClassName ----------------------

USER_STRATEGY = '''
import numpy as np

from strategies import Bounds, Parameter, StrategyPart, Tunable


class HalfWeights(StrategyPart):
    """Every class but the largest weighs `weight`."""

    name = "half-weights"
    description = "minority classes weigh `weight`"
    reference = "a test"
    version = 1
    parameters = {"weight": Parameter(Tunable((0.5, 2.0)), Bounds(0.0, 10.0, low_inclusive=False))}

    def class_weight(self, hp, y_train):
        counts = np.bincount(y_train)
        return {c: 1.0 if n == counts.max() else float(self.value(hp, "weight")) for c, n in enumerate(counts)}


class Undeclared(StrategyPart):
    def loss(self, hp, y_train, num_classes):
        return None


class NotAStrategy:
    pass
'''


def test_a_users_class_composes_with_built_ins_under_its_spec_as_written(tmp_path, monkeypatch):
    path = tmp_path / "sub" / "mine.v2.py"
    path.parent.mkdir()
    path.write_text(USER_STRATEGY)
    monkeypatch.chdir(tmp_path)
    strategy = resolve("stratify+sub/mine.v2.py:HalfWeights[weight=2]+focal")
    assert strategy.name == "stratify+sub/mine.v2.py:HalfWeights[weight=2.0]+focal"
    assert strategy.stratified and strategy.parts[1].hooks == {"weights"}
    hp = keras_tuner.HyperParameters()
    strategy.declare(hp)
    vector = strategy.class_weights(hp, Y_TRAIN, 3, epochs=10).vector
    assert vector / vector[0] == pytest.approx([1.0, 2.0, 2.0]) and vector[Y_TRAIN].mean() == pytest.approx(1.0)
    assert hp.values == {"half_weights_weight": 2.0, "focal_gamma": 1.0}, "named after the class's declared name"
    assert resolve("strategies.weighting:ClassWeight").name == "strategies.weighting:ClassWeight", "module:Class"


@pytest.mark.parametrize(
    ("part", "message"),
    [
        ("{path}:HalfWeights[weight=0]", r"^{path}:HalfWeights: parameter 'weight' must be in \(0, 10\], got 0$"),
        ("{path}:HalfWeights[wieght=1.0]", r"unknown parameter 'wieght' \(did you mean 'weight'\?\)"),
        ("{path}:HalfWeight", r"has no class 'HalfWeight' \(did you mean 'HalfWeights'\?\)"),
        ("{path}:NotAStrategy", "NotAStrategy is not a strategies.StrategyPart; subclass it and declare name"),
        ("{path}:Undeclared", "Undeclared: declaration: declare name on Undeclared itself.*check_strategy"),
        ("{path}:HalfWeights+oversample", "HalfWeights and oversample both correct the class imbalance"),
        ("{path}:HalfWeights+class-weight", "both change the weights"),
        ("missing/mine.py:HalfWeights", "strategy file not found: missing/mine.py; give an existing .py file"),
        ("no_such_package.mine:HalfWeights", "cannot import strategy module no_such_package.mine"),
        ("sub/dir+x/mine.py:HalfWeights", "strategy 'sub/dir' .*a path cannot contain '\\+', which joins strategies"),
        ("{path}", "looks like a path: name your own strategy path/to/file.py:ClassName"),
        (":HalfWeights", "write module:class, e.g. studies/my_strategy.py:LogInverseWeights"),
    ],
)
def test_a_bad_user_strategy_is_refused_in_one_line_naming_the_fix(tmp_path, monkeypatch, part, message):
    (tmp_path / "mine.py").write_text(USER_STRATEGY)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UserError, match=message.format(path="mine.py")) as refusal:
        resolve("stratify+" + part.format(path="mine.py"))
    assert "\n" not in str(refusal.value)


def test_a_users_file_is_imported_only_when_named(tmp_path, monkeypatch):
    (tmp_path / "loud.py").write_text("raise RuntimeError('imported')\n")
    monkeypatch.chdir(tmp_path)
    assert resolve("stratify").name == "stratify"
    with pytest.raises(UserError, match=r"^cannot import strategy module loud.py: RuntimeError: imported$"):
        resolve("loud.py:Anything")


def test_a_part_that_weights_or_resamples_corrects_the_prior_unless_it_declares_otherwise():
    from strategies.splitting import Stratify
    from strategies.weighting import ClassWeight

    class StratifiedWeights(Stratify):  # derived from a part that corrects nothing, with weights of its own
        def class_weight(self, hp, y_train):
            return {0: 1.0}

    class NotACorrection(ClassWeight):
        corrects_prior = False

    class Inherits(NotACorrection):
        pass

    assert StratifiedWeights.corrects_prior and not Stratify.corrects_prior
    assert not NotACorrection.corrects_prior and not Inherits.corrects_prior, "a declaration is inherited"
