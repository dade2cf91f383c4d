"""Trained ST-CNNs export with torch.export and to ONNX, and match eager PyTorch."""

import pytest
import torch
from helpers import SHORT, compose

from stn.runs.export import export, load_network
from stn.train import train

LIMITS = ["+trainer.limit_train_batches=2", "+trainer.limit_val_batches=1"]


def _trained(fake_data, stn: str):
    """A run of ST-CNN with ``stn`` trained for two steps, so its θs are not the identity."""
    train(compose([*SHORT, "test=false", *LIMITS, f"stn={stn}", "schedule.lr=0.05"], fake_data))
    return fake_data / "out"


@pytest.mark.parametrize(
    "stn", ["affine", *(pytest.param(t, marks=pytest.mark.slow) for t in ("projective", "tps"))]
)
def test_a_trained_st_cnn_exports_and_matches_eager(fake_data, stn):
    net, in_shape = load_network(_trained(fake_data, stn))
    assert in_shape == (1, 42, 42)
    assert net.transformers[0].regression.weight.abs().sum() > 0  # a trained ST, not identity
    written = export(net, in_shape, fake_data / "export")
    assert set(written) == {"pt2", "onnx"}
    for path, error in written.values():
        assert path.exists() and error <= 1e-4
    # Any batch size: the exported program's batch is dynamic.
    x = torch.rand(5, *in_shape)
    program = torch.export.load(written["pt2"][0]).module()
    assert torch.allclose(program(x), net(x), atol=1e-4)
    assert sorted(p.name for p in (fake_data / "export").iterdir()) == ["model.onnx", "model.pt2"]


def test_the_command_exports_a_run_and_refuses_a_missing_one(fake_data, capsys):
    from stn.runs.export import main

    run = _trained(fake_data, "affine")
    main([str(run), "--formats", "onnx"])
    assert "model.onnx: onnx, inputs (B, 1, 42, 42), max |Δ| vs eager" in capsys.readouterr().out
    assert [p.name for p in (run / "export").iterdir()] == ["model.onnx"]

    empty = fake_data / "empty"
    empty.mkdir()
    with pytest.raises(SystemExit) as refused:  # the message alone, as the exit status
        main([str(empty)])
    assert f"{empty}/checkpoints/best.ckpt is missing" in str(refused.value.code)
    assert not any(empty.iterdir())
    missing = fake_data / "nowhere"
    with pytest.raises(SystemExit) as refused:  # a usage error, before any import
        main([str(missing)])
    assert refused.value.code == 2
    assert f"stn-export: error: {missing} is not a folder" in capsys.readouterr().err
    assert not missing.exists()


def test_an_export_that_differs_from_eager_is_refused(fake_data):
    net, in_shape = load_network(_trained(fake_data, "tps"))
    with pytest.raises(ValueError, match=r"model.pt2 differs from eager PyTorch by .* > -1"):
        export(net, in_shape, fake_data / "export", formats=("pt2",), atol=-1)
    assert not (fake_data / "export").exists()  # nothing written


def test_a_record_exports_and_a_bad_tolerance_is_refused(tmp_path, capsys):
    """A record (safetensors weights, no checkpoint) exports like a run; ``--atol`` must be a
    positive number, said by the parser before any network is loaded."""
    from helpers import ROOT

    from stn.runs.export import main

    record = ROOT / "experiments" / "records" / "default" / "mnist_rts" / "st-cnn-aff"
    if not record.is_dir():
        pytest.skip("the default run's record is not in this checkout")
    main([str(record), "--formats", "pt2", "--out", str(tmp_path)])
    assert "model.pt2: pt2, inputs (B, 1, 42, 42), max |Δ| vs eager" in capsys.readouterr().out
    for atol in ("-1", "0", "nan", "abc"):
        with pytest.raises(SystemExit) as exit_:
            main([str(record), "--atol", atol])
        assert exit_.value.code == 2
        assert f"--atol: {atol!r} is not a positive number" in capsys.readouterr().err


def test_a_record_is_exported_only_elsewhere_and_only_its_best_weights(tmp_path, capsys):
    """A record's folder is the repository's evidence: exporting one needs ``--out``, and
    ``--checkpoint last`` is refused (a record keeps its best weights only), each before
    anything is written."""
    from helpers import ROOT

    from stn.runs.export import main
    from stn.runs.folder import LAST

    record = ROOT / "experiments" / "records" / "default" / "mnist_rts" / "st-cnn-aff"
    if not record.is_dir():
        pytest.skip("the default run's record is not in this checkout")
    files = sorted(record.rglob("*"))
    with pytest.raises(SystemExit) as exit_:
        main([str(record)])
    assert (
        exit_.value.code == f"stn-export: {record} is a record, kept in the repository: give --out"
    )
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exit_:
        main([str(record), "--checkpoint", "last", "--out", str(out)])
    assert exit_.value.code == (
        f"stn-export: {record} is a record: it keeps the best weights only, not {LAST}"
    )
    assert sorted(record.rglob("*")) == files and not out.exists()
