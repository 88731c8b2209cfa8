from pathlib import Path

import pytest

from bench.errors import UserError
from bench.specs import Spec, anchor_files, parse_composite, parse_spec


def test_plain_name_has_no_params():
    assert parse_spec("baseline") == Spec("baseline")


def test_params_are_typed_and_sorted():
    spec = parse_spec("digits-lt[ratio=100, profile=step,flag=true,mu=0.5]")
    assert spec.kwargs == {"ratio": 100, "profile": "step", "flag": True, "mu": 0.5}
    assert str(spec) == "digits-lt[flag=true,mu=0.5,profile=step,ratio=100]"


def test_key_order_does_not_change_identity():
    assert parse_spec("focal[gamma=2.0,alpha=0.25]") == parse_spec("focal[alpha=0.25,gamma=2.0]")


def test_composite_splits_on_plus_outside_brackets():
    parts = parse_composite("stratify+focal[gamma=2.0]+class-weight")
    assert [p.name for p in parts] == ["stratify", "focal", "class-weight"]


def test_a_users_file_and_class_are_one_name_before_its_parameters():
    parts = parse_composite("stratify+../my.v2/weights.py:MyWeights[power=0.5]+pkg.mod:Cls")
    assert parts == (
        Spec("stratify"),
        Spec("../my.v2/weights.py:MyWeights", (("power", 0.5),)),
        Spec("pkg.mod:Cls"),
    )


def test_a_study_files_own_code_is_anchored_at_its_folder_and_the_rest_kept_as_written():
    base = Path("studies")
    assert anchor_files("stratify+my_strategy.py:W[power=1]+focal[gamma=2]", base) == (
        "stratify+studies/my_strategy.py:W[power=1]+focal[gamma=2]"
    )
    assert anchor_files("/abs/w.py:W", base) == "/abs/w.py:W", "an absolute path stays"
    assert anchor_files("pkg.mod:W+class-weight", base) == "pkg.mod:W+class-weight", "a module is no file"
    assert anchor_files("my_model.py:build", base) == "studies/my_model.py:build", "a model is one part"


def test_a_path_with_other_characters_is_refused_saying_which_are_allowed():
    with pytest.raises(UserError, match=r"a file path in a name: letters, digits and _ \. - / only"):
        parse_spec("my dir/w.py:W")


@pytest.mark.parametrize("text", ["", "focal[gamma]", "focal[gamma=1,gamma=2]", "a[b=1", "has space", "a++b", "+a"])
def test_malformed_specs_are_refused(text):
    with pytest.raises(UserError):
        parse_composite(text)


def test_each_spec_text_is_parsed_once_and_a_bad_one_is_refused_every_time():
    parse_spec.cache_clear()
    parse_composite.cache_clear()
    first = parse_composite("stratify+focal[gamma=2.0]")
    assert parse_composite("stratify+focal[gamma=2.0]") is first
    assert parse_spec("digits-lt[ratio=10]") is parse_spec("digits-lt[ratio=10]")
    assert parse_composite.cache_info().hits == 1
    for _ in range(2):
        with pytest.raises(UserError, match="cannot read spec"):
            parse_spec("digits-lt[ratio=2")
