"""Records: a finished run's config, metrics, scalars, facts and weights, read back by every
tool exactly as its run folder is, and checked against the data by stn.runs.verify."""

import hashlib
import json
import math
import shutil

import pytest
import torch
from helpers import train_into

from stn.models.zoo import load_record, pretrained, pretrained_names
from stn.runs.record import main, write_record
from stn.runs.report import report
from stn.runs.run import read_run
from stn.runs.verify import main as verify_main
from stn.runs.verify import verify

OVERRIDES = ["experiment=mnist_rts", "seed=1", "paths.cache_dir=/elsewhere/cache"]


def _finished(root, name="run", *overrides):
    """A short run on the fake MNIST, with the ``.hydra/overrides.yaml`` train.py writes."""
    run = train_into(root, name, *OVERRIDES[:2], *overrides)
    hydra = run / ".hydra"
    assert (hydra / "overrides.yaml").is_file()  # train.py wrote it: now as a command line had it
    (hydra / "overrides.yaml").write_text("".join(f"- {o}\n" for o in [*OVERRIDES, *overrides]))
    return run


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """``(root, run, record)``: one finished run and its record under ``root/records``."""
    from fake_mnist import write_fake_mnist

    root = tmp_path_factory.mktemp("record")
    write_fake_mnist(root / "data")
    run = _finished(root)
    return root, run, write_record(run, root / "records" / "block")


def test_a_record_reads_as_its_run_folder(recorded):
    root, run, record = recorded
    assert record == root / "records" / "block" / "mnist_rts" / "st-cnn-aff-seed1"
    assert sorted(p.name for p in record.iterdir()) == [
        *("config.yaml", "metrics.json", "record.json", "scalars.csv", "weights.safetensors")
    ]
    theirs, ours = read_run(run), read_run(record)
    assert (ours.config, ours.status) == (theirs.config, theirs.status)
    assert ours.scalars == theirs.scalars
    assert ours.minutes == theirs.minutes and ours.minutes > 0
    assert {"val/err", "val/loss", "test/err", "epoch"} <= set(ours.scalars)
    for path in (run, record):
        assert (path / "config.yaml").read_bytes() == (run / "config.yaml").read_bytes()
    # The same table from either: only the folder named above it differs.
    by_run, _ = report([run], ["table1"], brief=True)
    by_record, _ = report([record], ["table1"], brief=True)
    assert by_run.replace(str(run), str(record)) == by_record
    assert "| ST-CNN Aff | — [0.7] | " in by_record and "[0.5, " in by_record


def test_a_record_holds_its_facts_and_only_the_network(recorded):
    _, run, record = recorded
    facts = json.loads((record / "record.json").read_text())
    assert facts["command"] == "python train.py experiment=mnist_rts seed=1"  # no local paths
    assert facts["source"] == str(run) and facts["name"] == "mnist_rts/st-cnn-aff-seed1"
    config = read_run(run).config
    assert facts["commit"] == config["commit"] and len(config["commit"]) >= 40
    assert facts["machine"]["isa"] == config["machine.isa"] and facts["precision"]
    assert facts["paper"] == 0.5 and facts["tested"] == "best"
    blob = (record / "weights.safetensors").read_bytes()
    assert facts["weights"]["sha256"] == hashlib.sha256(blob).hexdigest()
    assert facts["weights"]["bytes"] == len(blob)
    from safetensors.torch import load

    weights = load(blob)
    checkpoint = torch.load(run / "checkpoints" / "best.ckpt", weights_only=True)["state_dict"]
    assert set(weights) == {k.removeprefix("net.") for k in checkpoint}  # no optimiser, no task
    for key, value in weights.items():
        assert torch.equal(value, checkpoint[f"net.{key}"])
    net = load_record(record)
    assert sum(p.numel() for p in net.parameters()) == facts["network"]["parameters"]
    assert not net.training and net.meta["sha256"] == facts["weights"]["sha256"]


def test_pretrained_is_the_tested_network(recorded):
    from stn.runs.trained import load_task

    root, run, _ = recorded
    assert pretrained_names(root / "records") == ["block/mnist_rts/st-cnn-aff-seed1"]
    net = pretrained("block/mnist_rts/st-cnn-aff-seed1", root / "records")
    task = load_task(run)
    x = torch.rand(3, *net.meta["data"]["in_shape"])
    with torch.no_grad():  # the task's net is channels-last: other kernels, same numbers
        torch.testing.assert_close(net(x), task.net(x))
    meta = net.meta
    assert meta["metrics"]["paper"] == 0.5
    assert meta["recipe"]["epochs"] == read_run(run).config["schedule.max_epochs"]
    assert meta["metrics"]["test/err"] == json.loads((run / "metrics.json").read_text())["test/err"]
    assert meta["recipe"]["command"] == "python train.py experiment=mnist_rts seed=1"
    with pytest.raises(ValueError, match=r"no recorded network 'block/st-cnn-aff'.*for example"):
        pretrained("block/st-cnn-aff", root / "records")


def test_changed_weights_are_refused(recorded, tmp_path):
    _, _, record = recorded
    copy = tmp_path / "copy"
    shutil.copytree(record, copy)
    blob = bytearray((copy / "weights.safetensors").read_bytes())
    blob[-1] ^= 1
    (copy / "weights.safetensors").write_bytes(bytes(blob))
    with pytest.raises(ValueError, match=r"weights\.safetensors has SHA-256 .* but .* records"):
        load_record(copy)


def test_verify_recomputes_the_recorded_test_error(recorded, tmp_path, capsys):
    root, _, record = recorded
    verdict = verify(record, root / "data", tmp_path / "cache")
    assert verdict.images == 100 and verdict.same_machine
    assert verdict.recomputed == verdict.recorded and verdict.ok(0)
    other = verify(record, root / "data", tmp_path / "cache", "64-true")  # another precision
    assert not other.same_machine and other.images == 100 and other.ok(15)
    # A record whose number was changed by hand: reported, and the command exits 1.
    copy = tmp_path / "records" / "changed"
    shutil.copytree(record, copy)
    metrics = json.loads((copy / "metrics.json").read_text())
    metrics["test/err"] += 3.0  # three images of 100
    (copy / "metrics.json").write_text(json.dumps(metrics))
    args = ["--data-dir", str(root / "data"), "--cache-dir", str(tmp_path / "cache")]
    with pytest.raises(SystemExit) as stop:
        verify_main([str(record), str(copy), *args])
    out = capsys.readouterr().out
    assert stop.value.code == 1
    assert "Δ 0 images (same ISA and precision: identical) ok" in out
    assert "Δ 3 images (same ISA and precision: identical) MISMATCH" in out
    assert "1 of 2 records verified" in out
    with pytest.raises(SystemExit) as stop:
        verify_main([str(tmp_path / "nothing"), *args])
    assert "holds no record" in str(stop.value.code)


def test_only_finished_full_runs_are_recorded(recorded, tmp_path, capsys):
    good = tmp_path / "good"
    shutil.copytree(recorded[1], good)
    runs = {}
    for name in ("failed", "unfinished", "smoke", "untested", "unvalidated", "unnamed", "twin"):
        runs[name] = tmp_path / name
        shutil.copytree(good, runs[name])
    (runs["failed"] / "FAILED").touch()
    (runs["unfinished"] / "metrics.json").unlink()
    config = runs["smoke"] / "config.yaml"
    config.write_text(config.read_text().replace("subset: null", "subset: 300"))
    metrics = json.loads((good / "metrics.json").read_text())
    del metrics["test/err"]
    (runs["untested"] / "metrics.json").write_text(json.dumps(metrics))
    metrics = {**metrics, "val/err": math.nan, "test/err": 1.0}
    (runs["unvalidated"] / "metrics.json").write_text(json.dumps(metrics))
    (runs["unnamed"] / ".hydra" / "overrides.yaml").unlink()
    cases = {
        "failed": "failed (FAILED): only a finished run is recorded",
        "unfinished": "has no metrics.json: it is not finished",
        "smoke": "is a smoke or partial run (data.subset=300)",
        "untested": "was never tested (test/err is missing in metrics.json)",
        "unvalidated": "is a smoke or partial run (no validation): not recorded",
        "unnamed": "overrides.yaml is missing: the command that trained",
        "twin": "would both be recorded as mnist_rts/st-cnn-aff-seed1",
    }
    out = tmp_path / "records"
    for name, message in cases.items():
        with pytest.raises(SystemExit) as stop:
            main([str(good), str(runs[name]), "--into", str(out)])  # one bad run stops all
        assert message in str(stop.value.code), name
    with pytest.raises(SystemExit) as stop:
        main([str(recorded[0] / "data"), "--into", str(out)])
    assert "is not a run folder and holds none (no config.yaml)" in capsys.readouterr().err
    assert not out.exists()  # nothing written for any refused command
    for path in runs.values():
        shutil.rmtree(path)
    main([str(tmp_path), "--into", str(out)])  # a folder of runs: each of them
    assert (out / "mnist_rts" / "st-cnn-aff-seed1" / "record.json").exists()
    assert sorted(p.name for p in (out / "mnist_rts").iterdir()) == ["st-cnn-aff-seed1"]
