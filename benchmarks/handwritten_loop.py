"""The loop a practitioner writes by hand instead of `bench run`: keras-tuner and Keras, no harness.

The issue's equal-budget comparison: the five core strategies (baseline,
stratified split, class weights, oversampling, focal loss) on digits-lt, each
tuned per seed by keras-tuner's RandomSearch (3 trials of up to 10 epochs,
early stopping on validation loss), the winner retrained and scored on the
seed's test split with macro-F1. The same data, model space and budget as
`bench run --max-trials 3 --epochs 10` (benchmarks/test_against_handwritten_loop.py
times both). It uses what the libraries offer directly: Keras's
`class_weight=`, its CategoricalFocalCrossentropy, imbalanced-learn's
RandomOverSampler, scikit-learn's splits and f1_score.

    python benchmarks/handwritten_loop.py DIRECTORY [--seeds 5] [--trials 3] [--epochs 10]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import keras
import keras_tuner
import numpy as np
from imblearn.over_sampling import RandomOverSampler
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split
from sklearn.utils.class_weight import compute_class_weight

from bench.data.sources import load
from bench.data.splits import holdout
from bench.specs import parse_spec

STRATEGIES = ("baseline", "stratify", "class-weight", "oversample", "focal")


def model_builder(input_dim: int, classes: int, focal: bool) -> Callable[[keras_tuner.HyperParameters], keras.Model]:
    def build(hp: keras_tuner.HyperParameters) -> keras.Model:
        inputs = keras.Input(shape=(input_dim,))
        x = keras.layers.Rescaling(1 / 16)(inputs)
        for i in range(hp.Int("layers", 1, 2)):
            x = keras.layers.Dense(hp.Choice(f"units_{i}", [64, 128, 256]), activation="relu")(x)
            x = keras.layers.Dropout(hp.Float("dropout", 0.0, 0.5, step=0.1))(x)
        model = keras.Model(inputs, keras.layers.Dense(classes)(x))
        loss = keras.losses.CategoricalFocalCrossentropy if focal else keras.losses.CategoricalCrossentropy
        model.compile(
            optimizer=keras.optimizers.Adam(hp.Float("learning_rate", 1e-4, 1e-2, sampling="log")),
            loss=loss(from_logits=True),
        )
        return model

    return build


def one_cell(strategy: str, seed: int, x, y, x_test, y_test, classes: int, args, directory: Path) -> float:
    keras.utils.set_random_seed(seed)
    stratify = y if strategy == "stratify" else None
    x_train, x_val, y_train, y_val = train_test_split(x, y, test_size=0.2, random_state=seed, stratify=stratify)
    if strategy == "oversample":
        x_train, y_train = RandomOverSampler(random_state=seed).fit_resample(x_train, y_train)
    present = np.unique(y_train)
    weights = compute_class_weight("balanced", classes=present, y=y_train)
    fit = {"class_weight": dict(zip(present.tolist(), weights, strict=True))} if strategy == "class-weight" else {}
    onehot = np.eye(classes, dtype="float32")
    tuner = keras_tuner.RandomSearch(
        model_builder(x.shape[1], classes, strategy == "focal"),
        objective="val_loss",
        max_trials=args.trials,
        seed=seed,
        directory=str(directory),
        project_name=f"{strategy}-{seed}",
    )
    stop = keras.callbacks.EarlyStopping(patience=5, restore_best_weights=True)
    tuner.search(
        x_train, onehot[y_train], validation_data=(x_val, onehot[y_val]), epochs=args.epochs,
        batch_size=32, callbacks=[stop], verbose=0, **fit,
    )  # fmt: skip
    best = tuner.get_best_hyperparameters(1)[0]
    model = tuner.hypermodel.build(best)
    model.fit(
        x_train, onehot[y_train], validation_data=(x_val, onehot[y_val]), epochs=args.epochs, batch_size=32,
        callbacks=[keras.callbacks.EarlyStopping(patience=5, restore_best_weights=True)], verbose=0, **fit,
    )  # fmt: skip
    predicted = model.predict(x_test, verbose=0).argmax(axis=1)
    return float(f1_score(y_test, predicted, average="macro", labels=np.arange(classes), zero_division=0))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("directory", type=Path, nargs="?")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args()
    started = time.perf_counter()
    _, data = load(parse_spec("digits-lt"))
    with tempfile.TemporaryDirectory() as scratch:
        directory = args.directory or Path(scratch)
        for seed in range(1, args.seeds + 1):
            test, pool = holdout(data, seed)  # the test split and long-tailed pool `bench run` uses for this seed
            x, y, x_test, y_test = data.x[pool], data.y[pool], data.x[test], data.y[test]
            for strategy in STRATEGIES:
                score = one_cell(strategy, seed, x, y, x_test, y_test, data.num_classes, args, directory)
                print(f"{strategy} seed {seed}: macro-F1 {score:.3f}", flush=True)
    print(f"seconds {time.perf_counter() - started:.1f}")


if __name__ == "__main__":
    main()
