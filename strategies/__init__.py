"""The strategy registry and composition of ``a+b`` specs."""

from __future__ import annotations

from bench.errors import UserError
from bench.registry import Entry, Registry, Tunable
from bench.specs import parse_composite
from strategies.base import NotApplicable, Strategy, StrategyPart
from strategies.initialisation import BiasInit
from strategies.losses import BalancedSoftmax, Focal, LDAMDeferredReweighting, LogitAdjusted
from strategies.posthoc import PosthocLogitAdjust, Threshold
from strategies.resampling import BalancedBatches, Oversample, PowerSampling, Smote, Undersample
from strategies.splitting import Baseline, Stratify
from strategies.weighting import ClassWeight, EffectiveNumber

STRATEGIES: Registry[StrategyPart] = Registry("strategy")
for _entry in (
    Entry(
        "baseline", "random train/val split, plain cross-entropy", Baseline, reference="the reference row: no strategy"
    ),
    Entry("stratify", "stratified train/val split", Stratify, reference="scikit-learn train_test_split(stratify=)"),
    Entry(
        "class-weight",
        "loss weighted by tempered inverse class frequency of the training fold",
        ClassWeight,
        {"exponent": Tunable((0.5, 0.75, 1.0))},
        "King & Zeng 2001; scikit-learn compute_class_weight('balanced')",
    ),
    Entry(
        "effective-number",
        "class weights from the effective number of samples (combine with focal for CB-focal)",
        EffectiveNumber,
        {"beta": Tunable((0.9, 0.99, 0.999, 0.9999))},
        "Cui et al. 2019, Class-Balanced Loss Based on Effective Number of Samples",
    ),
    Entry(
        "oversample",
        "random oversampling of the training fold up to target x the largest class",
        Oversample,
        {"target": Tunable((0.5, 1.0))},
        "random oversampling as in imbalanced-learn RandomOverSampler, drawn by index each epoch",
    ),
    Entry(
        "undersample",
        "random undersampling of the training fold, no class above smallest / target, redrawn each epoch",
        Undersample,
        {"target": Tunable((0.5, 1.0))},
        "random undersampling as in imbalanced-learn RandomUnderSampler, drawn by index each epoch",
    ),
    Entry(
        "smote",
        "SMOTE synthetic minority samples on flattened training inputs",
        Smote,
        {"k_neighbors": 5},
        "Chawla et al. 2002; imbalanced-learn SMOTE",
    ),
    Entry(
        "balanced-batches",
        "every batch drawn class-balanced from the training fold",
        BalancedBatches,
        reference="class-balanced sampling, Shen et al. 2016; Kang et al. 2020",
    ),
    Entry(
        "sqrt-sampling",
        "class-aware sampling with class probability proportional to n_c ** q (q = 0.5: square root)",
        PowerSampling,
        {"q": 0.5},
        "Mahajan et al. 2018; Kang et al. 2020, Decoupling Representation and Classifier",
    ),
    Entry(
        "focal",
        "focal loss down-weighting easy examples",
        Focal,
        {"gamma": Tunable((1.0, 2.0, 3.0)), "alpha": Tunable((0.25, 1.0))},
        "Lin et al. 2017, keras.losses.CategoricalFocalCrossentropy",
    ),
    Entry(
        "balanced-softmax",
        "cross-entropy on logits + log prior (logit adjustment with tau = 1)",
        BalancedSoftmax,
        reference="Ren et al. 2020, Balanced Meta-Softmax",
    ),
    Entry(
        "logit-adjusted",
        "cross-entropy on logits + tau * log prior",
        LogitAdjusted,
        {"tau": Tunable((0.5, 1.0, 1.5, 2.0))},
        "Menon et al. 2021, Long-tail learning via logit adjustment",
    ),
    Entry(
        "ldam-drw",
        "label-distribution-aware margins, deferred re-weighting from a fraction of the epochs on",
        LDAMDeferredReweighting,
        {"max_margin": 0.5, "scale": Tunable((1.0, 5.0)), "drw_start": Tunable((0.5, 0.8))},
        "Cao et al. 2019, LDAM-DRW",
    ),
    Entry(
        "bias-init",
        "output bias initialised to the log class priors",
        BiasInit,
        reference="TensorFlow tutorial 'Classification on imbalanced data'; Karpathy 2019",
    ),
    Entry(
        "posthoc-logit-adjust",
        "no retraining: predict argmax(logits - tau * log prior), tau chosen on validation",
        PosthocLogitAdjust,
        reference="Menon et al. 2021 (post-hoc variant)",
    ),
    Entry(
        "threshold",
        "no retraining: per-class logit offsets maximising validation macro-F1",
        Threshold,
        reference="Lipton et al. 2014, Optimal Thresholding of Classifiers to Maximize F1",
    ),
):
    STRATEGIES.add(_entry)


def resolve(text: str) -> Strategy:
    """Build a strategy from ``name[k=v]+name...``, refusing parts that clash."""
    specs = tuple(STRATEGIES[spec.name].canonical(spec) for spec in parse_composite(text))
    parts = tuple(STRATEGIES.create(spec) for spec in specs)
    if len(parts) > 1 and any(isinstance(p, Baseline) for p in parts):
        raise UserError(f"'{text}': baseline changes nothing, leave it out of composites")
    claimed: dict[str, str] = {}
    for spec, part in zip(specs, parts, strict=True):
        for hook in part.hooks:
            if hook in claimed:
                raise UserError(
                    f"'{text}': {claimed[hook]} and {spec.name} both change the {hook}; "
                    "combine strategies that change different things"
                )
            claimed[hook] = spec.name
    return Strategy(labels=tuple(str(s) for s in specs), parts=parts)


__all__ = ["STRATEGIES", "NotApplicable", "Strategy", "StrategyPart", "resolve"]
