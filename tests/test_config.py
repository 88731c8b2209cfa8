from dataclasses import fields

import pytest

from bench.config import FIVE_STRATEGIES, PROFILES, Protocol, TrainingOptions, TrainingSettings, build_config, load_toml
from bench.errors import UserError
from tests.conftest import STUDIES


def test_default_is_quick_profile_with_five_strategies():
    config = build_config({}, {})
    assert config.run.profile == "quick"
    assert config.protocol.strategies == FIVE_STRATEGIES
    assert config.protocol.seeds == PROFILES["quick"]["seeds"]
    assert str(config.run.output_dir) == "runs/default"


def test_flags_override_file_which_overrides_profile(tmp_path):
    study = tmp_path / "s.toml"
    study.write_text('name = "mine"\nprofile = "smoke"\nepochs = 7\nstrategies = ["baseline", "focal"]\n')
    config = build_config(load_toml(study), {"epochs": 3, "seeds": None})
    assert (config.run.name, config.protocol.epochs, config.protocol.seeds) == ("mine", 3, PROFILES["smoke"]["seeds"])
    assert config.protocol.strategies == ("baseline", "focal")


def test_fingerprint_ignores_name_and_output_but_not_budget():
    base = build_config({}, {})
    assert base.fingerprint() == build_config({}, {"name": "other", "out": "/x"}).fingerprint()
    assert base.fingerprint() != build_config({}, {"epochs": 3}).fingerprint()


def test_tuner_seeds_are_never_zero():
    protocol = build_config({"seed": 0, "search_seed": 0}, {}).protocol
    assert all(protocol.tuner_seed(d, s) != 0 for d in ("digits-lt", "") for s in range(50))


def test_the_search_seed_is_a_setting_of_the_study():
    assert build_config({}, {"search_seed": 2}).protocol.search_seed == 2
    assert build_config({}, {"search_seed": 2}).fingerprint() != build_config({}, {}).fingerprint()


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


def test_the_fingerprint_changes_with_the_protocol(monkeypatch):
    """A study made under another evaluation protocol is never resumed into a mix of both protocols' numbers."""
    import bench.config

    before = build_config({}, {}).fingerprint()
    monkeypatch.setattr(bench.config, "PROTOCOL", bench.config.PROTOCOL + 1)
    assert build_config({}, {}).fingerprint() != before


def test_training_settings_are_declared_once_and_carried_whole():
    shared = {f.name for f in fields(TrainingSettings)}
    assert shared <= {f.name for f in fields(Protocol)}
    assert {f.name for f in fields(TrainingOptions)} - shared == {"tuner_seed"}
    protocol = build_config({}, {"tuner": "hyperband", "epochs": 7, "patience": 2, "reduce_lr": True}).protocol
    assert all(getattr(protocol.training, name) == getattr(protocol, name) for name in shared)


def test_the_default_studys_fingerprint_is_the_one_its_stores_hold():
    """A refactor of the settings must not turn every existing store into 'a different study'."""
    assert build_config({}, {}).fingerprint() == "4a8900509c45c702"


@pytest.mark.parametrize("study", sorted(p.name for p in STUDIES.glob("*.toml")))
def test_every_shipped_study_names_registered_strategies_datasets_and_models(study):
    """Checked without loading data: studies/cifar10-lt.toml is not run here (it needs a GPU and a download)."""
    from bench.data.sources import DATASETS
    from bench.specs import parse_spec
    from bench.training.models import MODELS
    from strategies import resolve

    config = build_config(load_toml(STUDIES / study), {})
    for strategy in config.protocol.strategies:
        if ":" not in strategy:  # a user's part is relative to the study file: tests/execution runs those studies
            resolve(strategy)
    for dataset in config.protocol.datasets:
        spec = parse_spec(dataset)
        if spec.name in DATASETS:
            DATASETS[spec.name].canonical(spec)
    assert ":" in config.protocol.model or config.protocol.model in MODELS
