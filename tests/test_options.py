"""stn.options: typed options from plain config data."""

from dataclasses import dataclass, field

import pytest
from omegaconf import OmegaConf

from stn.errors import UsageError
from stn.options import typed


@dataclass(frozen=True)
class Options:
    size: int
    rate: float = 0.5
    widths: list[int] = field(default_factory=list)
    where: str | list[int] = "all"
    budget: int | None = None
    on: bool = True


def test_values_of_every_annotated_type_pass_and_build():
    config = OmegaConf.create({"size": 3, "rate": 1, "widths": [1, 2], "where": [0], "on": False})
    built = typed(Options, config, "model", "the toy network")  # OmegaConf's containers too
    assert (built.size, built.rate, list(built.widths), built.budget) == (3, 1, [1, 2], None)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"size": 3, "colour": "red"},
            r"model\.colour='red' is not an option of the toy network "
            r"\(its options: size, rate, widths, where, budget, on\): remove it",
        ),
        ({}, r"model\.size is missing: the toy network needs it"),
        ({"size": True}, r"model\.size=True must be an integer \(an option of the toy network\)"),
        ({"size": 3, "rate": "fast"}, r"model\.rate='fast' must be a number"),
        ({"size": 3, "widths": [1, 2.5]}, r"model\.widths=\[1, 2\.5\] must be a list of integers"),
        ({"size": 3, "where": 2}, r"model\.where=2 must be a string or a list of integers"),
        ({"size": 3, "budget": "big"}, r"model\.budget='big' must be an integer or null"),
        ({"size": 3, "on": 1}, r"model\.on=1 must be true or false"),
    ],
)
def test_a_wrong_value_names_the_key_the_value_and_what_is_allowed(values, message):
    with pytest.raises(UsageError, match=message):
        typed(Options, values, "model", "the toy network")
