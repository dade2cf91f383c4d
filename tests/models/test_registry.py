"""stn.models: one registry, one keyword-only signature, typed options, none ignored."""

import inspect

import pytest
from helpers import compose

from stn.errors import UsageError
from stn.models import MODELS, create_model
from stn.train import train


@pytest.mark.parametrize("name", list(MODELS))
def test_every_builder_has_the_one_keyword_only_signature(name):
    params = inspect.signature(MODELS[name].build).parameters.values()
    assert [(p.name, p.kind) for p in params] == [
        (n, inspect.Parameter.KEYWORD_ONLY) for n in ("options", "stn", "in_shape", "num_classes")
    ]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["experiment=svhn_multi", "+stn.n=2"], r"stn\.n=2 is not an option of the svhn network"),
        (["experiment=svhn_single", "+stn.pool=2"], r"stn\.pool=2 is not an option of the svhn"),
        (
            ["experiment=cub_2x", "+stn.shared=false"],
            r"stn\.shared=False is not an option of the cub",
        ),
        (["experiment=cub_cnn", "+stn.pool=2"], r"stn\.pool=2 is not an option of the cub network"),
        (
            ["experiment=mnist_rts", "+model.placement=multi"],
            r"model\.placement='multi' is not an "
            r"option of the cnn network",
        ),
        (
            ["experiment=mnist_rts", "+stn.transform_kwargs={}"],
            r"stn\.transform_kwargs=\{\} is not",
        ),
        (
            ["experiment=mnist_rts", "+data.size=64"],
            r"data\.size=64 is not an option of the mnist "
            r"dataset",
        ),
    ],
)
def test_an_option_a_family_does_not_read_stops_the_run_before_any_work(
    overrides, message, tmp_path
):
    cfg = compose(overrides, tmp_path)
    with pytest.raises(UsageError, match=message):
        train(cfg)
    assert not (tmp_path / "out").exists() and not (tmp_path / "cache").exists()


def test_unknown_network_names_the_registered_ones():
    with pytest.raises(
        UsageError, match=r"unknown model\.name='lenet'; valid: cub, fcn, cnn, svhn"
    ):
        create_model({"name": "lenet"}, {"transform": "none"}, in_shape=(1, 28, 28), num_classes=10)
