"""stn.runs.trained: a run folder is read as data, never as code."""

import pickle

import pytest
import yaml
from helpers import train_into

from stn.data.registry import create_datamodule, dataset_options
from stn.errors import UsageError
from stn.runs.trained import load, load_data


class Payload:
    """Unpickling this writes a file: the proof that code from a run folder ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_crafted_config_runs_no_code(fake_data):
    run = train_into(fake_data, "run", "test=false")
    marker = fake_data / "pwned"
    (fake_data / "evil.ckpt").write_bytes(pickle.dumps(Payload(str(marker))))
    config = yaml.safe_load((run / "config.yaml").read_text())
    config["data"] = {"_target_": "torch.load", "f": str(fake_data / "evil.ckpt"),
                      "weights_only": False}  # fmt: skip
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    with pytest.raises(UsageError, match=r"data\._target_='torch\.load' is not a dataset"):
        load(run)
    assert not marker.exists()
    config["data"] = {"name": "torch.load", "f": "evil.ckpt"}
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    with pytest.raises(UsageError, match=r"unknown data\.name='torch\.load'; valid: mnist, svhn"):
        load_data(run)
    assert not marker.exists()


def test_a_config_recorded_before_datasets_had_names_still_loads(fake_data):
    run = train_into(fake_data, "run", "test=false")
    config = yaml.safe_load((run / "config.yaml").read_text())
    data = config["data"]
    old = {"_target_": "stn.data.distorted_mnist.DistortedMNIST", "_convert_": "all"}
    old.update({k: v for k, v in data.items() if k not in ("name", "workers")})
    assert dataset_options(old) == ("mnist", {k: v for k, v in old.items() if k in data})
    config["data"] = old
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    assert load_data(run).image_shape == create_datamodule(data).image_shape == (1, 42, 42)


def test_a_wrong_checkpoint_is_said_before_the_data_is_read(tmp_path, monkeypatch):
    """A record keeps its best weights only: asked for the last, ``load`` says so at once,
    not that the data it would have read next is missing."""
    from stn.models.zoo import records_dir
    from stn.runs.folder import LAST

    monkeypatch.setenv("STN_DATA_DIR", str(tmp_path / "nowhere"))
    record = records_dir() / "default" / "mnist_rts" / "st-cnn-aff"
    with pytest.raises(
        UsageError, match=f"is a record: it keeps the best weights only, not {LAST}"
    ):
        load(record, LAST)
    assert not (tmp_path / "nowhere").exists()
