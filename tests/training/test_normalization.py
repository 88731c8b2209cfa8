import keras
import numpy as np
import pytest

from bench.training.hypermodel import adapt_fold_normalization
from bench.training.models import FOLD_NORMALIZATION
from bench.training.normalization import FoldNormalization

pytestmark = pytest.mark.backend

RNG = np.random.default_rng(4)
X_TRAIN = (RNG.normal(size=(40, 5)) * [1, 10, 0.1, 3, 0] + [0, 5, -2, 100, 7]).astype("float32")  # one constant
X = RNG.normal(size=(13, 5)).astype("float32") * 20
PIXELS_TRAIN = RNG.integers(0, 256, size=(30, 4, 4, 3)).astype("float32")
PIXELS = RNG.integers(0, 256, size=(7, 4, 4, 3)).astype("float32")


def predicted(layer_type: type, x_train: np.ndarray, x: np.ndarray) -> np.ndarray:
    keras.utils.set_random_seed(1)
    inputs = keras.Input(x.shape[1:])
    normalised = keras.layers.Flatten()(layer_type(name=FOLD_NORMALIZATION)(inputs))  # per feature, or per channel
    model = keras.Model(inputs, keras.layers.Dense(3)(normalised))
    adapt_fold_normalization(model, x_train)
    return np.asarray(model.predict_on_batch(x))


@pytest.mark.parametrize(("x_train", "x"), [(X_TRAIN, X), (PIXELS_TRAIN, PIXELS)], ids=["features", "pixels"])
def test_it_computes_what_kerass_normalization_computes_bit_for_bit(x_train, x):
    ours = predicted(FoldNormalization, x_train, x)
    assert np.array_equal(ours, predicted(keras.layers.Normalization, x_train, x))
    assert not np.array_equal(ours, predicted(FoldNormalization, x_train + 1, x)), "the statistics matter"


def test_a_traced_model_reads_the_statistics_of_each_new_fold():
    model = keras.Sequential([keras.Input((5,)), FoldNormalization(name=FOLD_NORMALIZATION)])
    model.compile()
    for x_train in (X_TRAIN, X_TRAIN * 2 + 1):  # the second fold's statistics after the predict step is traced
        adapt_fold_normalization(model, x_train)
        scale = np.where(x_train.var(axis=0) > 1e-12, x_train.std(axis=0), 1.0)
        expected = (X - x_train.mean(axis=0)) / scale
        np.testing.assert_allclose(np.asarray(model.predict_on_batch(X)), expected, rtol=1e-4, atol=1e-4)
