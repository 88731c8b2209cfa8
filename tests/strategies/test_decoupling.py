"""crt and tau-norm (Kang et al. 2020) against their invariants: what each may change and what it must leave alone."""

import keras
import keras_tuner
import numpy as np
import pytest

from bench.records import Classifier
from bench.training.classifier import classifier_layer, classifier_record
from bench.training.hypermodel import ImbalanceHyperModel
from strategies import NotApplicable, resolve
from strategies.decoupling import tau_normalised
from strategies.testing import toy_fold, toy_hypermodel

pytestmark = pytest.mark.backend


def trained(strategy: str, epochs: int = 3) -> tuple[keras.Model, dict]:
    """A model trained through the harness on the toy fold (seed 1, default hyperparameters), and its fit record."""
    hypermodel = toy_hypermodel(resolve(strategy), toy_fold(3))
    hp = keras_tuner.HyperParameters()
    model = hypermodel.build(hp)
    fit = hypermodel.train(hp, model, epochs=epochs)
    return model, fit


def features(model: keras.Model, x: np.ndarray) -> np.ndarray:
    """What the logits layer reads: the model's penultimate output."""
    inner = keras.Model(model.input, classifier_layer(model, 3).input)
    return keras.ops.convert_to_numpy(inner(x, training=False))


def test_crt_retrains_only_the_classifier_leaving_the_features_of_its_first_stage(monkeypatch):
    x_val = toy_fold(3).x_val
    first_stage: dict[str, np.ndarray] = {}
    second_stage = ImbalanceHyperModel.retrain_classifier

    def watched(self, hp, model, *args, **kwargs):
        first_stage["features"] = features(model, x_val)
        first_stage["kernel"] = keras.ops.convert_to_numpy(classifier_layer(model, 3).kernel)
        return second_stage(self, hp, model, *args, **kwargs)

    monkeypatch.setattr(ImbalanceHyperModel, "retrain_classifier", watched)
    crt, fit = trained("crt[epochs=2]")
    assert np.array_equal(features(crt, x_val), first_stage["features"]), "the second stage changed the features"
    kernel = keras.ops.convert_to_numpy(classifier_layer(crt, 3).kernel)
    assert not np.array_equal(kernel, first_stage["kernel"]), "the second stage left the classifier as it was"
    first_epochs = len(fit.epochs) - 2
    assert fit.epochs == list(range(first_epochs + 2)) and fit.kept_epoch >= first_epochs
    assert len(fit.confusion) == len(fit.history["loss"]) == first_epochs + 2


def test_crt_starts_its_second_stage_from_a_fresh_classifier_on_class_balanced_batches(monkeypatch):
    stages: list[tuple[np.ndarray, np.ndarray]] = []  # per fit: the classifier's kernel at its start, its labels
    fit_batches = ImbalanceHyperModel.fit_batches

    def watched(self, hp, model, batches, *args, **kwargs):
        stages.append((keras.ops.convert_to_numpy(classifier_layer(model, 3).kernel), batches.y[batches.order]))
        return fit_batches(self, hp, model, batches, *args, **kwargs)

    monkeypatch.setattr(ImbalanceHyperModel, "fit_batches", watched)
    trained("crt[epochs=1]")
    (built, first_labels), (second_start, second_labels) = stages
    np.testing.assert_array_equal(second_start, built)  # re-initialised: the kernel the build started from
    assert np.bincount(first_labels).tolist() == [30, 9, 6], "the first stage trains on the fold as it is"
    assert np.bincount(second_labels, minlength=3).max() - np.bincount(second_labels, minlength=3).min() <= 3


def test_crt_finds_freezes_and_retrains_the_classifier_inside_a_mixed_precision_model():
    from bench.config import TrainingOptions
    from bench.training.models import mlp

    fold = toy_fold(3)
    hypermodel = ImbalanceHyperModel(mlp, resolve("crt[epochs=1]"), fold, 1, TrainingOptions(mixed_precision=True))
    hp = keras_tuner.HyperParameters()
    try:
        model = hypermodel.build(hp)  # wrapped: the logits cast to float32 around the builder's model
        fit = hypermodel.train(hp, model, epochs=2)
        trainable = [w.path for w in model.trainable_weights]
    finally:
        keras.config.set_dtype_policy("float32")
    assert len(trainable) == 2 and all(classifier_layer(model, 3).name in path for path in trainable)
    assert len(fit.epochs) >= 2 and np.isfinite(fit.history["loss"]).all()


def test_tau_norm_at_tau_zero_is_the_trained_model_and_at_one_divides_each_class_by_its_norm():
    model, _ = trained("baseline")
    x_val = toy_fold(3).x_val
    logits = np.asarray(model.predict_on_batch(x_val)).astype("float64")
    classifier = Classifier.from_history({"classifier": classifier_record(model, 3)})
    scale, offsets = tau_normalised(classifier, 0.0)
    assert np.array_equal(logits * scale + offsets, logits)
    layer = classifier_layer(model, 3)
    kernel = keras.ops.convert_to_numpy(layer.kernel)
    layer.kernel.assign(kernel / np.linalg.norm(kernel, axis=0))
    normalised = np.asarray(model.predict_on_batch(x_val))
    scale, offsets = tau_normalised(classifier, 1.0)
    np.testing.assert_allclose(logits * scale + offsets, normalised, rtol=1e-4, atol=1e-5)
    layer.bias.assign(np.zeros(3, "float32"))  # bias=drop: Kang et al.'s features against the weights alone
    without_bias = np.asarray(model.predict_on_batch(x_val))
    scale, offsets = tau_normalised(classifier, 1.0, keep_bias=False)
    np.testing.assert_allclose(logits * scale + offsets, without_bias, rtol=1e-4, atol=1e-5)


def test_tau_norm_picks_the_tau_that_scores_best_on_validation():
    y_val = np.array([0, 0, 1, 1, 2, 2])
    penultimate = 0.3 + 0.5 * np.eye(3)[y_val]
    kernel = np.diag([4.0, 1.0, 0.5])  # the head class's weights are 8x the tail's: its logit wins everywhere
    logits = penultimate @ kernel
    classifier = Classifier(norms=np.linalg.norm(kernel, axis=0), bias=np.zeros(3))
    chosen = resolve("tau-norm").posthoc_part.posthoc(logits, y_val, y_val, classifier)
    adjusted = (logits * chosen["scale"] + chosen["offsets"]).argmax(axis=1)
    assert chosen["tau_norm_tau"] > 0 and adjusted.tolist() == y_val.tolist()


def test_tau_norm_refuses_a_model_without_a_dense_classifier():
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(5)(keras.layers.Dense(3)(inputs)))  # 5 outputs for 3 classes
    assert classifier_record(model, 3) is None
    with pytest.raises(NotApplicable, match="not a Dense layer of 3 units"):
        classifier_layer(model, 3)
    with pytest.raises(NotApplicable, match="tau-norm: the model's last layer"):
        resolve("tau-norm").posthoc_part.posthoc(np.zeros((2, 3)), np.array([0, 1]), np.array([0, 1]), None)


@pytest.mark.parametrize("composite", ["crt+class-weight", "tau-norm+oversample", "crt+tau-norm"])
def test_decoupled_strategies_correct_the_prior_so_composites_with_another_correction_are_refused(composite):
    from bench.errors import UserError

    with pytest.raises(UserError, match="both correct the class imbalance"):
        resolve(composite)
