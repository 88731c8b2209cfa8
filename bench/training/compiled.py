"""Compiled models kept per structure, so a process pays Keras's compile and trace cost once per structure.

Most of a small model's fit is Keras's fixed cost, not its steps: tracing the
train and predict functions is 1.2 s of a 2 s fit of the default MLP on
TensorFlow. Searches of one (dataset, seed) try the same models (paired
draws), and each final run retrains a model its search tried. So a fit
whose structure matches an earlier one in this process trains that earlier,
compiled model instead: every variable of a fresh seeded build (weights,
fold statistics, dropout seed states) and of its freshly built optimiser
(step count, learning rate, zeroed moments) is copied in first, so the fit
starts where the fresh build would and ends with the same weights, bit for
bit (tests/training/test_compiled.py, on every backend).

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


def structure_key(model: keras.Model) -> str | None:
    """What a compiled model's traced functions depend on besides its variables; None when that cannot be read."""
    layers = list(all_layers(model))
    loss, optimizer = model.loss, model.optimizer
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
                str(model.jit_compile),
            ],
            sort_keys=True,
            default=repr,
        )
    except (NotImplementedError, TypeError, ValueError):  # a config Keras cannot serialise
        return None
    return hashlib.sha256(text.encode()).hexdigest()


def _state(model: keras.Model) -> list[keras.Variable]:
    return [*model.variables, *model.optimizer.variables]


class CompiledModels:
    """The last `capacity` compiled models of this process, by structure key, least recently used dropped first."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self.capacity = capacity
        self.models: OrderedDict[str, keras.Model] = OrderedDict()
        self.hits = self.misses = 0

    def reuse(self, fresh: keras.Model) -> keras.Model:
        """A kept model of `fresh`'s structure holding `fresh`'s starting state, else `fresh` (kept for next time).

        `fresh` comes with its optimizer built (hypermodel.compile_with_optimizer_built): its step count,
        learning rate and zeroed moments are state to copy. One without has less state than the kept
        model, and is not a hit.
        """
        key = structure_key(fresh)
        if key is None:
            return fresh
        kept = self.models.get(key)
        if kept is not None and structure_key(kept) == key:  # unchanged since (a layer frozen would show)
            source, target = _state(fresh), _state(kept)
            if [v.shape for v in source] == [v.shape for v in target]:
                for variable, value in zip(target, source, strict=True):
                    variable.assign(value)
                # Keras builds a new model's loss at its first fit, on JAX and PyTorch from a batch it draws
                # (which takes a shuffle from Python's random and a seed from torch's): unbuilt again, the
                # kept model's fit makes the same draws, and trains from the random state a new model's would.
                kept._compile_loss.built = False
                self.models.move_to_end(key)
                self.hits += 1
                return kept
        self.misses += 1
        self.models[key] = fresh
        self.models.move_to_end(key)
        while len(self.models) > self.capacity:
            self.models.popitem(last=False)
        return fresh

    def clear(self) -> None:
        self.models.clear()


COMPILED = CompiledModels()  # per process: each worker keeps its own
