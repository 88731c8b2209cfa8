"""The strategy registry, built from the strategy classes, and composition of ``a+b`` specs.

A part is a built-in name or a user's class, `path/to/file.py:ClassName` or
`package.module:ClassName`, imported only when a spec names it. What a user's
class needs (StrategyPart, Parameter, Tunable, Bounds) is importable from here.
"""

from __future__ import annotations

import functools
import inspect

from bench.errors import UserError
from bench.registry import Bounds, Entry, Parameter, Registry, Tunable
from bench.specs import Spec, parse_composite
from bench.user_code import load_named
from strategies.base import NotApplicable, Strategy, StrategyPart, declaration_problem
from strategies.decoupling import ClassifierRetraining, TauNorm
from strategies.imblearn_samplers import IMBLEARN_PARTS
from strategies.initialisation import BiasInit
from strategies.losses import BalancedSoftmax, Focal, LDAMDeferredReweighting, LogitAdjusted
from strategies.posthoc import PosthocLogitAdjust, Threshold
from strategies.resampling import BalancedBatches, Oversample, PowerSampling, Smote, Undersample
from strategies.splitting import Baseline, Stratify
from strategies.weighting import ClassWeight, EffectiveNumber

BUILT_IN: tuple[type[StrategyPart], ...] = (
    Baseline,
    Stratify,
    ClassWeight,
    EffectiveNumber,
    Oversample,
    Undersample,
    Smote,
    BalancedBatches,
    PowerSampling,
    Focal,
    BalancedSoftmax,
    LogitAdjusted,
    LDAMDeferredReweighting,
    BiasInit,
    PosthocLogitAdjust,
    Threshold,
    ClassifierRetraining,
    TauNorm,
    *IMBLEARN_PARTS,
)
STRATEGIES: Registry[StrategyPart] = Registry("strategy")
for _cls in BUILT_IN:
    STRATEGIES.add(_cls.entry())


@functools.cache
def user_entry(name: str) -> Entry[StrategyPart]:
    """The entry of the user's class that `name` points to, under `name` as written.

    Its declarations are checked here, when the study is planned, so a badly
    declared class fails in one line before anything is written.
    """
    cls = load_named(name, "strategy", "class", inspect.isclass, "studies/my_strategy.py:LogInverseWeights")
    if not issubclass(cls, StrategyPart):
        raise UserError(
            f"strategy {name}: {cls.__name__} is not a strategies.StrategyPart; subclass it and declare name, "
            "description, reference, version and parameters (see studies/my_strategy.py)"
        )
    if problem := declaration_problem(cls):
        raise UserError(f"strategy {name}: {problem}; strategies.testing.check_strategy checks the whole class")
    return cls.entry(name)


def entry(name: str) -> Entry[StrategyPart]:
    """A built-in by name, or the user's class a name with ':' points to."""
    if ":" in name:
        return user_entry(name)
    if "/" in name or "." in name:
        raise UserError(
            f"strategy '{name}' looks like a path: name your own strategy path/to/file.py:ClassName or "
            "package.module:ClassName (a path cannot contain '+', which joins strategies)"
        )
    return STRATEGIES[name]


def resolve(text: str) -> Strategy:
    """Build a strategy from ``name[k=v]+name...``, refusing parts that clash.

    Two parts clash when they change the same hook, or when both correct the
    class prior (each declares `corrects_prior`): a sampler, class weights, a
    prior-adjusted loss or post-hoc adjustment on top of another corrects the
    same imbalance twice (weights of 0.24-14.2 on already balanced batches,
    or a post-hoc division by a prior the model never trained on), so the user
    picks one. Focal loss corrects no prior: focal with weights is the
    class-balanced focal loss.
    """
    specs: list[Spec] = []
    parts: list[StrategyPart] = []
    for given in parse_composite(text):
        found = entry(given.name)
        specs.append(found.canonical(given))
        parts.append(found.create(given))
    if len(parts) > 1 and (lone := next((spec for spec, p in zip(specs, parts, strict=True) if p.alone), None)):
        raise UserError(f"'{text}': {lone.name} changes nothing, leave it out of composites")
    claimed: dict[str, str] = {}
    for spec, part in zip(specs, parts, strict=True):
        for hook in part.hooks:
            if hook in claimed:
                raise UserError(
                    f"'{text}': {claimed[hook]} and {spec.name} both change the {hook}; "
                    "combine strategies that change different things"
                )
            claimed[hook] = spec.name
    correcting = [spec.name for spec, part in zip(specs, parts, strict=True) if part.corrects_prior]
    if len(correcting) > 1:
        raise UserError(
            f"'{text}': {correcting[0]} and {correcting[1]} both correct the class imbalance, which would correct "
            "it twice; keep one of them (focal, stratify, bias-init and threshold combine with either)"
        )
    return Strategy(labels=tuple(str(s) for s in specs), parts=tuple(parts))


__all__ = [
    "BUILT_IN",
    "STRATEGIES",
    "Bounds",
    "NotApplicable",
    "Parameter",
    "Strategy",
    "StrategyPart",
    "Tunable",
    "resolve",
    "user_entry",
]
