"""Trained networks from the repository's records, in one line:
``pretrained("table1_epochs76/mnist_rts/st-fcn-aff")``.

A record (``stn.runs.record``) holds a finished run's network weights
(``weights.safetensors``) and its facts (``record.json``); the network is rebuilt through the
registry (``create_model``) from the record's ``config.yaml``, read as data: nothing in a
record is imported or run, and no Lightning is needed. A name is ``<block>/<record>``, the
record's folder under ``experiments/records``; ``pretrained_names()`` lists them.

Each network carries ``meta`` in the manner of torchvision's weights: ``num_params``, ``metrics``
(ours and the paper's), ``recipe`` (command, commit, epochs, minutes, machine, precision),
the data it expects (``in_shape``, classes, scaling) and the weights file's ``sha256`` and
``file_size``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

from stn.errors import MissingData, UsageError
from stn.files import read_yaml
from stn.paths import project_root
from stn.runs.folder import CONFIG, FACTS, METRICS, WEIGHTS, is_record

if TYPE_CHECKING:
    from torch import nn

# How every suite dataset hands images to its network (stn.data.datamodule).
SCALING = "uint8 pixels / 255, in [0, 1]; no mean or std subtracted"


def records_dir() -> Path:
    """The repository's records: ``experiments/records`` in the checkout."""
    return project_root() / "experiments" / "records"


def find_records(root: Path) -> list[Path]:
    """Every record in or under ``root``, in path order."""
    return sorted(p.parent for p in root.rglob(FACTS))


def pretrained_names(records: Path | None = None) -> list[str]:
    """Every recorded network's name (``<block>/<record>``), sorted."""
    records = records or records_dir()
    return [str(p.relative_to(records)) for p in find_records(records)]


def pretrained(name: str, records: Path | None = None) -> nn.Module:
    """The network recorded as ``name`` (see ``pretrained_names``), with its weights, on the
    CPU in eval mode; its ``meta`` dict says what it is, how it was trained and what it
    scored."""
    records = records or records_dir()
    path = records / name
    if not is_record(path):
        known = pretrained_names(records)
        near = [n for n in known if name.split("/")[-1] in n][:5] or known[:5]
        raise UsageError(
            f"no recorded network {name!r} under {records}"
            + (
                f"; for example: {', '.join(near)} (pretrained_names() lists all {len(known)})"
                if known
                else " (it holds no records)"
            )
        )
    return load_record(path, name)


def read_record(path: Path) -> tuple[dict, dict, dict]:
    """``(config, facts, metrics)`` of the record in ``path``: its nested ``config.yaml``,
    ``record.json`` and ``metrics.json``, read as data."""
    for file in (CONFIG, FACTS, METRICS, WEIGHTS):
        if not (path / file).is_file():
            raise MissingData(f"{path / file} is missing: is {path} a record?")
    config = read_yaml(path / CONFIG)
    facts = json.loads((path / FACTS).read_text())
    metrics = json.loads((path / METRICS).read_text())
    return config, facts, metrics


def load_record(path: Path, name: str | None = None) -> nn.Module:
    """The network of the record in ``path``, weights loaded, in eval mode, with ``meta``."""
    from safetensors.torch import load

    from stn.models.registry import create_model

    config, facts, metrics = read_record(path)
    network = facts["network"]
    blob = (path / WEIGHTS).read_bytes()
    sha256 = hashlib.sha256(blob).hexdigest()
    if sha256 != facts["weights"]["sha256"]:
        raise UsageError(
            f"{path / WEIGHTS} has SHA-256 {sha256}, but {path / FACTS} records "
            f"{facts['weights']['sha256']}: the weights were changed or damaged"
        )
    net = create_model(
        config["model"],
        config["stn"],
        in_shape=network["in_shape"],
        num_classes=network["num_classes"],
    )
    net.load_state_dict(load(blob))
    net.eval()
    net.meta = meta(name or facts["name"], config, facts, metrics, len(blob), sha256)
    return net


def meta(name: str, config: dict, facts: dict, metrics: dict, size: int, sha256: str) -> dict:
    """What a recorded network is, how it was trained and what it scored."""
    network = facts["network"]
    data = config["data"]
    return {
        "name": name,
        "num_params": network["parameters"],
        "metrics": {**metrics, "paper": facts.get("paper")},
        "recipe": {
            "command": facts["command"],
            "commit": facts["commit"],
            "epochs": config["schedule"]["max_epochs"],
            "tested": f"{facts['tested']} checkpoint (epoch {network['epoch']})",
            "minutes": facts["minutes"],
            "machine": facts["machine"],
            "precision": facts["precision"],
        },
        "data": {
            "dataset": data.get("name"),
            "distortion": (data.get("distortion") or {}).get("name"),
            "in_shape": network["in_shape"],
            "num_classes": network["num_classes"],
            "scaling": SCALING,
        },
        "sha256": sha256,
        "file_size": size,
    }


def main(argv: list[str] | None = None) -> None:
    """``python -m stn.models.zoo``: every recorded network, as a Markdown list."""
    import argparse

    argparse.ArgumentParser(
        prog="python -m stn.models.zoo",
        description="Every network recorded under experiments/records, as a Markdown list: "
        "its name for stn.models.pretrained, its test error [the paper's], its parameters.",
    ).parse_args(argv)
    records = records_dir()
    for name in pretrained_names(records):
        _, facts, metrics = read_record(records / name)
        paper = f" [paper {facts['paper']:g}]" if facts.get("paper") is not None else ""
        print(
            f"- `{name}`: test error {metrics['test/err']:.2f} %{paper}, "
            f"{facts['network']['parameters']:,} parameters"
        )


if __name__ == "__main__":
    main()
