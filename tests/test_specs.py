import pytest

from bench.errors import UserError
from bench.specs import Spec, parse_composite, parse_spec


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


@pytest.mark.parametrize("text", ["", "focal[gamma]", "focal[gamma=1,gamma=2]", "a[b=1", "has space", "a++b", "+a"])
def test_malformed_specs_are_refused(text):
    with pytest.raises(UserError):
        parse_composite(text)
