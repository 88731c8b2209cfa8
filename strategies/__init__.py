"""The strategy registry and composition of ``a+b`` specs."""

from __future__ import annotations

from bench.errors import UserError
from bench.registry import Entry, Registry, Tunable
from bench.specs import parse_composite
from strategies.base import Strategy, StrategyPart
from strategies.losses import Focal
from strategies.resampling import Oversample
from strategies.splitting import Baseline, Stratify
from strategies.weighting import ClassWeight

STRATEGIES: Registry[StrategyPart] = Registry("strategy")
for _entry in (
    Entry("baseline", "random train/val split, plain cross-entropy", Baseline),
    Entry("stratify", "stratified train/val split", Stratify),
    Entry(
        "class-weight",
        "loss weighted by tempered inverse class frequency of the training fold",
        ClassWeight,
        {"exponent": Tunable((0.5, 0.75, 1.0))},
        "King & Zeng 2001; scikit-learn compute_class_weight('balanced')",
    ),
    Entry(
        "oversample",
        "random oversampling of the training fold up to target x the largest class",
        Oversample,
        {"target": Tunable((0.5, 1.0))},
        "imbalanced-learn RandomOverSampler",
    ),
    Entry(
        "focal",
        "focal loss down-weighting easy examples",
        Focal,
        {"gamma": Tunable((1.0, 2.0, 3.0)), "alpha": Tunable((0.25, 1.0))},
        "Lin et al. 2017, keras.losses.CategoricalFocalCrossentropy",
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
    return Strategy(name="+".join(str(s) for s in specs), parts=parts)


__all__ = ["STRATEGIES", "Strategy", "StrategyPart", "resolve"]
