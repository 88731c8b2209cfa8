"""Compiled models kept per structure, so a process pays Keras's compile and trace cost once per structure.

Most of a small model's fit is Keras's fixed cost, not its steps: tracing the
train and predict functions is 1.2 s of a 2 s fit of the default MLP on
TensorFlow. Searches of one (dataset, seed) try the same models (paired
draws), and each final run retrains a model its search tried. So a fit
whose structure matches an earlier one in this process trains that earlier,
compiled model instead, and the fresh build is never compiled: every
variable of the fresh seeded build (weights, fold statistics, dropout seed
states) is copied in first, and the optimiser gets back the state it had when
freshly built (step count, zeroed moments) at the new learning rate, so the
fit starts where the fresh build would and ends with the same weights, bit
for bit (tests/training/test_compiled.py, on every backend).

A traced function also holds what is not a variable: the layers' and the
loss's configuration, and tensors a layer computed (the statistics of
Keras's Normalization; FoldNormalization reads them as variables, so its
folds share one model). The key holds all of them. Layers and losses of
other packages than Keras and this project's own are not trusted to say
all of that in their config, so a model or loss with one is never reused.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np

# Each kept model holds its traced functions: enough for the trials of the searches of one (dataset, seed).
CAPACITY = 24
TRUSTED_PACKAGES = ("keras", "bench", "strategies")


def all_layers(layer: Any) -> Iterator[Any]:
    """Every layer inside `layer`, nested models' layers included."""
    for inner in getattr(layer, "layers", ()):
        yield inner
        yield from all_layers(inner)


def _trusted(kind: type) -> bool:
    return kind.__module__.split(".")[0] in TRUSTED_PACKAGES


def _constants(layer: Any) -> list[str]:
    """Digests of the tensors and arrays a layer holds outside its variables (a trace captures them as constants)."""
    found = []
    for name, value in sorted(vars(layer).items()):
        if not hasattr(value, "dtype") or isinstance(value, keras.Variable):  # is_tensor alone is slow on everything
            continue
        if not (keras.ops.is_tensor(value) or isinstance(value, np.ndarray)):
            continue
        array = np.ascontiguousarray(keras.ops.convert_to_numpy(value))
        found.append(f"{name}:{array.dtype}:{array.shape}:{hashlib.sha256(array.tobytes()).hexdigest()}")
    return found


def compile_with_optimizer_built(model: keras.Model, optimizer: keras.optimizers.Optimizer, loss: Any) -> None:
    """`model.compile`, with the optimizer's variables made at once, as Keras's own `compile_from_config` does.

    Keras would otherwise make them in the first train step; on TensorFlow that
    step is a traced function, which TensorFlow traces a second time to lift
    variables made inside it. They start as the same zeros either way. A model
    with a layer not built yet (a subclassed model before its first call) has
    no variables to make them for, and is left to Keras.
    """
    model.compile(optimizer=optimizer, loss=loss)
    if all(layer.built for layer in [model, *all_layers(model)]):
        model.optimizer.build(model.trainable_variables)


def structure_key(model: keras.Model, loss: Any, optimizer: keras.optimizers.Optimizer) -> str | None:
    """What the traced functions of `model` compiled with `loss` and `optimizer` depend on besides variables.

    The optimizer as given to compile (Keras wraps it for mixed precision, as
    the dtype policy in the key says); None when any of it cannot be read.
    """
    layers = list(all_layers(model))
    if not all(_trusted(type(part)) for part in (model, *layers, loss, optimizer)):
        return None
    try:
        text = json.dumps(
            [
                keras.config.dtype_policy().name,
                type(model).__qualname__,
                model.get_config(),
                [_constants(layer) for layer in layers],
                type(loss).__qualname__,
                loss.get_config(),
                type(optimizer).__qualname__,
                {k: v for k, v in optimizer.get_config().items() if k != "learning_rate"},
                model.steps_per_execution,
                str(model.jit_compile),  # "auto" resolves as compile would (devices, op determinism)
            ],
            sort_keys=True,
            default=repr,
        )
    except (NotImplementedError, TypeError, ValueError):  # a config Keras cannot serialise
        return None
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Kept:
    """A compiled model, the optimizer it was given, what compile made of it (Keras wraps it for mixed
    precision), and that optimizer's state when it was freshly built."""

    model: keras.Model
    optimizer: keras.optimizers.Optimizer
    compiled_optimizer: keras.optimizers.Optimizer
    fresh_optimizer_state: list[np.ndarray]

    def unchanged(self, key: str) -> bool:
        """Whether the model still is as it was kept (a layer frozen or a compile since would show)."""
        same_compile = self.model.optimizer is self.compiled_optimizer
        return same_compile and structure_key(self.model, self.model.loss, self.optimizer) == key


class CompiledModels:
    """The last `capacity` compiled models of this process, by structure key, least recently used dropped first."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self.capacity = capacity
        self.models: OrderedDict[str, Kept] = OrderedDict()
        self.hits = self.misses = 0

    def compiled(self, fresh: keras.Model, optimizer: keras.optimizers.Optimizer, loss: Any) -> keras.Model:
        """A kept model of `fresh`'s structure holding `fresh`'s starting state, else `fresh` compiled (and kept).

        A hit compiles nothing: the kept model takes every variable of `fresh`,
        and its optimizer the state it had when freshly built (step count and
        moments; the learning rate is `optimizer`'s), which is what building
        `optimizer` would have made. A fresh model whose variables differ in
        number or shape (a subclassed model not built yet) is no hit.
        """
        key = structure_key(fresh, loss, optimizer)
        kept = self.models.get(key) if key is not None else None
        if kept is not None and kept.unchanged(key):
            source, target = fresh.variables, kept.model.variables
            if [v.shape for v in source] == [v.shape for v in target]:
                for variable, value in zip(target, source, strict=True):
                    variable.assign(value)
                for variable, value in zip(kept.model.optimizer.variables, kept.fresh_optimizer_state, strict=True):
                    variable.assign(value)
                kept.model.optimizer.learning_rate.assign(optimizer.learning_rate)
                # Keras builds a new model's loss at its first fit, on JAX and PyTorch from a batch it draws
                # (which takes a shuffle from Python's random and a seed from torch's): unbuilt again, the
                # kept model's fit makes the same draws, and trains from the random state a new model's would.
                kept.model._compile_loss.built = False
                self.models.move_to_end(key)
                self.hits += 1
                return kept.model
        compile_with_optimizer_built(fresh, optimizer, loss)
        if key is None or not fresh.optimizer.built:  # an optimizer built later would have state to copy
            return fresh
        self.misses += 1
        state = [keras.ops.convert_to_numpy(v) for v in fresh.optimizer.variables]
        self.models[key] = Kept(fresh, optimizer, fresh.optimizer, state)
        self.models.move_to_end(key)
        while len(self.models) > self.capacity:
            self.models.popitem(last=False)
        return fresh

    def clear(self) -> None:
        self.models.clear()


COMPILED = CompiledModels()  # per process: each worker keeps its own
