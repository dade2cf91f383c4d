"""stn.models: one registry, one keyword-only signature, typed options, none ignored."""

import inspect
import re

import pytest
from helpers import compose, in_a_fresh_process

from stn.errors import UsageError
from stn.models import MODELS, create_model
from stn.models.options import OPTIONS, TRANSFORMS, model_options
from stn.nn.transforms import TRANSFORMS as LIBRARY_TRANSFORMS
from stn.train import train


@pytest.mark.parametrize("name", list(MODELS))
def test_every_builder_has_the_one_keyword_only_signature(name):
    params = inspect.signature(MODELS[name]).parameters.values()
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
        UsageError, match=r"unknown model\.name='lenet'; valid: fcn, cnn, svhn, cub"
    ):
        create_model({"name": "lenet"}, {"transform": "none"}, in_shape=(1, 28, 28), num_classes=10)


def test_every_network_has_its_options_and_every_option_class_its_network():
    assert list(MODELS) == list(OPTIONS)


def test_the_transform_names_are_the_library_s():
    assert TRANSFORMS == ("none", *LIBRARY_TRANSFORMS)


def test_network_options_are_checked_without_torch():
    """A wrong network option is said by the light module alone: nothing heavy imported, and
    ``stn.models`` itself imports nothing until a name of it is used."""
    code = (
        "import sys\n"
        "import stn.models\n"
        "from stn.models.options import model_options\n"
        "for model, stn in [({'name': 'cnn', 'channels': 'abc', 'kernel_sizes': [9]},\n"
        "                    {'transform': 'none'}),\n"
        "                   ({'name': 'fcn', 'hidden': [8]}, {'transform': 'foo'}),\n"
        "                   ({'name': 'svhn', 'placement': [9]}, {'transform': 'affine'}),\n"
        "                   ({'name': 'cub', 'backbone': 'resnet'}, {'transform': 'none'})]:\n"
        "    try:\n"
        "        model_options(model, stn)\n"
        "    except ValueError as err:\n"
        "        print(err)\n"
    )
    assert in_a_fresh_process(code) == [
        "model.channels='abc' must be a list of integers (an option of the cnn network)",
        "unknown stn.transform='foo'; valid: none, affine, projective, tps, attention",
        "model.placement=[9]: ST positions must be conv layers 0–7, at least one",
        "unknown model.backbone='resnet'; valid: googlenet, inception_v3",
        "[]",
    ]


@pytest.mark.parametrize(
    ("model", "stn", "message"),
    [
        (
            {"name": "cnn", "channels": [8, 8], "kernel_sizes": [9]},
            {"transform": "affine"},
            r"model\.channels=\[8, 8\] and model\.kernel_sizes=\[9\] must be as long",
        ),
        (
            {"name": "fcn", "hidden": [8], "localisation": {"kind": "rnn"}},
            {"transform": "affine"},
            r"unknown model\.localisation\.kind='rnn'; valid: conv, fc",
        ),
        (
            {"name": "fcn", "hidden": [8], "localisation": {"kind": "fc", "channels": [8]}},
            {"transform": "affine"},
            r"model\.localisation\.channels=\[8\] is not an option of a fc localisation net",
        ),
        (
            {"name": "fcn", "hidden": [8]},
            {"transform": "none", "n": 2},
            r"stn\.n=2 asks for parallel STs, but stn=none has none",
        ),
        ({"name": "svhn", "placement": []}, {"transform": "affine"}, r"at least one"),
        ({"name": "cub"}, {"transform": "tps2"}, r"unknown stn\.transform='tps2'"),
        (
            {"name": "fcn", "hidden": [64, 0]},
            {"transform": "none"},
            r"^model\.hidden=\[64, 0\] must hold integers of at least 1$",
        ),
        (
            {"name": "cnn", "channels": [8, -8], "kernel_sizes": [9, 7]},
            {"transform": "none"},
            r"^model\.channels=\[8, -8\] must hold integers of at least 1$",
        ),
        (
            {"name": "cnn", "channels": [8, 8], "kernel_sizes": [0, 7]},
            {"transform": "none"},
            r"^model\.kernel_sizes=\[0, 7\] must hold integers of at least 1$",
        ),
        (
            {"name": "fcn", "hidden": [8], "localisation": {"kind": "fc", "hidden": [0]}},
            {"transform": "affine"},
            r"^model\.localisation\.hidden=\[0\] must hold integers of at least 1$",
        ),
        (
            {
                "name": "cnn",
                "channels": [8],
                "kernel_sizes": [9],
                "localisation": {"kind": "conv", "pool": 0},
            },
            {"transform": "affine"},
            r"^model\.localisation\.pool=0 must be an integer of at least 1$",
        ),
        ({"name": "svhn", "hidden": 0}, {"transform": "none"}, r"^model\.hidden=0 must be an"),
        (
            {"name": "svhn", "dropout": 1.0},
            {"transform": "none"},
            r"^model\.dropout=1\.0 must be a probability in \[0, 1\)$",
        ),
        ({"name": "cub", "crop": 0}, {"transform": "attention"}, r"^model\.crop=0 must be an"),
        ({"name": "cub", "dropout": -0.1}, {"transform": "none"}, r"^model\.dropout=-0\.1 must"),
    ],
)
def test_a_wrong_network_option_names_its_key_and_what_is_allowed(model, stn, message):
    with pytest.raises(UsageError, match=message):
        model_options(model, stn)


@pytest.mark.parametrize(
    ("model", "stn"),
    [
        ({"name": "cnn", "channels": [32, 64], "kernel_sizes": [9, 7]}, {"transform": "affine"}),
        ({"name": "fcn", "hidden": [128, 128]}, {"transform": "tps", "pool": 2}),
    ],
)
def test_a_budget_the_network_cannot_meet_names_the_least_it_can(model, stn):
    """``check_budget`` fits the network to ``model.params`` on the meta device and refuses a
    budget below its loc net and smallest classifier; the least it names builds, with
    exactly that many parameters."""
    from stn.data.options import MnistOptions
    from stn.models.registry import check_budget, create_model

    data = MnistOptions(
        data_dir="", cache_dir="", batch_size=8, val_size=10, distortion={"name": "rts"}
    )
    with pytest.raises(UsageError) as refused:
        check_budget({**model, "params": 1000}, stn, data)
    message = str(refused.value)
    assert message.startswith("model.params=1000 is too small for this network: its ")
    least = int(re.search(r"give model\.params of at least (\d+) ", message)[1])
    check_budget({**model, "params": least}, stn, data)
    net = create_model({**model, "params": least}, stn, in_shape=(1, 42, 42), num_classes=10)
    assert sum(p.numel() for p in net.parameters()) == least
    with pytest.raises(UsageError, match=rf"model\.params={least - 1} is too small"):
        check_budget({**model, "params": least - 1}, stn, data)
    check_budget({**model, "params": None}, stn, data)  # the listed widths: nothing to fit
