import pytest

from bench.config import FIVE_STRATEGIES, PROFILES, build_config, load_toml
from bench.errors import UserError


def test_default_is_quick_profile_with_five_strategies():
    config = build_config({}, {})
    assert config.profile == "quick"
    assert config.strategies == FIVE_STRATEGIES
    assert config.seeds == PROFILES["quick"]["seeds"]
    assert str(config.output_dir) == "runs/default"


def test_flags_override_file_which_overrides_profile(tmp_path):
    study = tmp_path / "s.toml"
    study.write_text('name = "mine"\nprofile = "smoke"\nepochs = 7\nstrategies = ["baseline", "focal"]\n')
    config = build_config(load_toml(study), {"epochs": 3, "seeds": None})
    assert (config.name, config.epochs, config.seeds) == ("mine", 3, PROFILES["smoke"]["seeds"])
    assert config.strategies == ("baseline", "focal")


def test_fingerprint_ignores_name_and_output_but_not_budget():
    base = build_config({}, {})
    assert base.fingerprint() == build_config({}, {"name": "other", "out": "/x"}).fingerprint()
    assert base.fingerprint() != build_config({}, {"epochs": 3}).fingerprint()


def test_tuner_seed_is_never_zero():
    assert build_config({"seed": 0}, {}).tuner_seed != 0


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"seeds": 0}, "'seeds' must be at least 1"),
        ({"epochs": "ten"}, "'epochs' must be int"),
        ({"profile": "fast"}, "unknown profile 'fast'"),
        ({"tuner": "grid"}, "unknown tuner 'grid'"),
        ({"strategies": []}, "non-empty list"),
        ({"strategies": ["focal", "focal"]}, "listed twice"),
        ({"val_fraction": 1.5}, "between 0 and 1"),
        ({"name": "../up"}, "plain folder name"),
    ],
)
def test_bad_values_are_refused_with_the_key(values, message):
    with pytest.raises(UserError, match=message):
        build_config(values, {})


def test_unknown_toml_key_suggests_the_closest(tmp_path):
    study = tmp_path / "s.toml"
    study.write_text("epoch = 3\n")
    with pytest.raises(UserError, match="did you mean 'epochs'"):
        load_toml(study)


def test_missing_and_broken_study_files(tmp_path):
    with pytest.raises(UserError, match="not found"):
        load_toml(tmp_path / "nope.toml")
    broken = tmp_path / "b.toml"
    broken.write_text("epochs = = 3")
    with pytest.raises(UserError, match="cannot read study file"):
        load_toml(broken)


def test_tensorboard_without_tensorflow_is_refused(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "tensorflow" else real(name, *a))
    with pytest.raises(UserError, match="--tensorboard writes with TensorFlow"):
        build_config({}, {"tensorboard": True})
    build_config({}, {"tensorboard": False})


def test_mixed_precision_changes_the_fingerprint_only_when_on():
    base = build_config({}, {})
    assert build_config({}, {"mixed_precision": False}).fingerprint() == base.fingerprint()
    assert build_config({}, {"mixed_precision": True}).fingerprint() != base.fingerprint()


def test_studies_with_redrawn_samplers_do_not_resume_from_the_old_draws():
    """oversample/undersample changed their random draws; a fingerprint made before that must not match."""
    import hashlib
    import json

    from bench.config import _NOT_DECISIVE

    def old_fingerprint(config):
        decisive = {k: v for k, v in config.to_dict().items() if k not in _NOT_DECISIVE and k != "mixed_precision"}
        return hashlib.sha256(json.dumps(decisive, sort_keys=True).encode()).hexdigest()[:16]

    with_oversampling = build_config({}, {"strategies": ["baseline", "oversample[target=1.0]"]})
    without = build_config({}, {"strategies": ["baseline", "focal"]})
    assert with_oversampling.fingerprint() != old_fingerprint(with_oversampling)
    assert without.fingerprint() == old_fingerprint(without), "other studies still resume"
