"""The contract of every dataset: the same arguments, the same shape API, one batch type."""

from dataclasses import fields

import pytest
import torch
from helpers import in_a_fresh_process

from stn.data.batches import Batch
from stn.data.options import OPTIONS, RECORDED, SVHN_SIZES, DataOptions
from stn.data.registry import DATASETS, create_datamodule
from stn.options import _options

COMMON = ["data_dir", "cache_dir", "batch_size", "workers", "seed", "val_size", "subset"]


@pytest.mark.parametrize("name", list(DATASETS))
def test_every_dataset_takes_the_common_arguments(name):
    """One list of options per dataset: its option class (stn.data.options), which the
    DataModule is built from and ``stn.train`` checks before Lightning is imported."""
    assert DATASETS[name].Options is OPTIONS[name] and issubclass(OPTIONS[name], DataOptions)
    assert set(COMMON) <= set(_options(DATASETS[name].Options)[0])
    assert sorted(f.name for f in fields(DataOptions)) == sorted(COMMON)
    assert DATASETS[name].__name__ in RECORDED and RECORDED[DATASETS[name].__name__] == name


def test_svhn_sizes_are_the_crops_it_can_cut():
    from stn.data.svhn_crops import CONTEXT

    assert SVHN_SIZES == tuple(CONTEXT)


def test_data_options_are_checked_without_lightning_or_torchvision():
    """A wrong data option is said by the light module alone: nothing heavy imported."""
    code = (
        "import sys\n"
        "from stn.data.options import check_data\n"
        "try:\n"
        "    check_data({'name': 'mnist', 'data_dir': '', 'cache_dir': '', 'batch_size': 8,\n"
        "                'val_size': 5, 'distortion': {'name': 'rts', 'angle': 'abc'}})\n"
        "except ValueError as err:\n"
        "    print(err)\n"
    )
    assert in_a_fresh_process(code) == [
        "data.distortion.angle='abc' must be a number of degrees in [0, 180]",
        "[]",
    ]


def _config(name, tmp_path, **options):
    extra = {"mnist": {"distortion": {"name": "rts"}}}.get(name, {})
    common = {"data_dir": str(tmp_path), "cache_dir": str(tmp_path), "batch_size": 8}
    return {"name": name, **common, "val_size": 6, **extra, **options}


@pytest.mark.parametrize(
    ("name", "shape", "classes"),
    [("mnist", (1, 42, 42), 10), ("svhn", (3, 64, 64), 11), ("cub", (3, 448, 448), 200)],
)
def test_every_dataset_says_its_image_shape_and_classes_when_built(name, shape, classes, tmp_path):
    data = create_datamodule(_config(name, tmp_path))
    assert (data.image_shape, data.num_classes) == (shape, classes)


@pytest.mark.parametrize("name", list(DATASETS))
@pytest.mark.parametrize(
    ("option", "message"),
    [
        ({"val_fraction": 0.1}, r"data\.val_fraction=0\.1 is not an option of the {name} dataset"),
        ({"batch_size": 0}, r"data\.batch_size=0 must be an integer of at least 1"),
        ({"workers": "many"}, r"data\.workers='many' must be an integer or null"),
        ({"subset": 0}, r"data\.subset=0 must be null \(all\) or an integer of at least 1"),
    ],
)
def test_a_wrong_option_names_the_key_and_the_dataset(name, option, message, tmp_path):
    with pytest.raises(ValueError, match=message.format(name=name)):
        create_datamodule(_config(name, tmp_path, **option))


@pytest.mark.parametrize(
    ("name", "options", "said"),
    [
        ("mnist", {"val_size": 400}, "(0, 400): there are 400 MNIST training digits"),
        (
            "mnist",
            {"val_size": 300, "subset": 300},
            "(0, 300): there are 300 MNIST training digits with data.subset=300",
        ),
        ("cub", {"val_size": 10**6}, "training images in {root}/CUB_200_2011"),
    ],
)
def test_a_val_size_that_leaves_no_training_samples_is_said_with_the_files(
    name, options, said, fake_data, request
):
    """``check_files`` (``stn.train`` calls it before a run's folder is written) counts the
    training samples ``subset`` keeps and refuses a ``val_size`` that takes them all, as the
    datasets' setup does (SVHN's crops are counted only there)."""
    from stn.data.options import check_data
    from stn.errors import UsageError

    # The generated MNIST: 400 training digits.
    root = fake_data / "data" if name == "mnist" else request.getfixturevalue("cub_root").parent
    config = _config(name, root, **options)
    with pytest.raises(UsageError) as checked:
        check_data(config).check_files()
    with pytest.raises(UsageError) as set_up:
        create_datamodule(config).setup("fit")
    message = str(checked.value)
    assert message == str(set_up.value)
    assert message.startswith(f"data.val_size={options['val_size']} must lie in (0, ")
    assert said.format(root=root) in message
    assert message.endswith("; give a smaller data.val_size")
    if name == "mnist":
        check_data(_config(name, root, val_size=399)).check_files()  # one digit to train on


def test_batches_of_every_dataset_are_one_type(fake_data, fake_svhn, cub_root, tmp_path):
    root, _ = fake_svhn
    configs = [
        _config("mnist", fake_data / "data", val_size=100, cache_dir=str(tmp_path / "c1")),
        _config("svhn", root / "data", val_size=6, cache_dir=str(tmp_path / "c2"), workers=0),
        _config("cub", cub_root.parent, val_size=30, size=32),
    ]
    for config in configs:
        data = create_datamodule(config)
        data.setup()
        batch = data.on_after_batch_transfer(next(iter(data.val_dataloader())), 0)
        assert isinstance(batch, Batch) and batch.image.dtype == torch.float32
        assert tuple(batch.image.shape[1:]) == data.image_shape
        assert (batch.box is not None) == (config["name"] == "cub")
