"""A trained network for deployment: ``python -m stn.runs.export RUN_OR_RECORD [--out DIR]``.

Writes the run's best network, or a record's (``experiments/records/...``; only into
``--out``, since a record's folder is the repository's evidence), in eval mode, fp32, with a
dynamic batch size, as ``model.pt2`` (``torch.export``; load with
``torch.export.load(path).module()``) and ``model.onnx`` (opset 18: ``grid_sample`` needs
at least 16), and checks each against eager PyTorch on random inputs of another batch size:
the largest difference must stay within ``--atol`` (ONNX run with onnxruntime). Only the
checkpoint is read (``weights_only``), or a record's safetensors weights (checked against
their SHA-256): nothing in the folder is executed.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
from pathlib import Path

from stn.errors import UsageError
from stn.files import write_atomic
from stn.runs.arguments import beside, positive, user_errors
from stn.runs.folder import BEST, LAST

FORMATS = ("pt2", "onnx")
OPSET = 18


def load_network(run: Path, checkpoint: str = BEST):
    """``(net, in_shape)``: ``run``'s network from ``checkpoint``, eager, in eval mode; for a
    record, its recorded weights (the best; it keeps no other)."""
    from stn.runs.trained import load_task  # Lightning: not for --help

    task = load_task(run, checkpoint)
    return task.net, tuple(task.hparams.in_shape)


def check_formats(formats) -> None:
    unknown = set(formats) - set(FORMATS)
    if unknown:
        raise UsageError(f"unknown format(s) {sorted(unknown)}; valid: {', '.join(FORMATS)}")


def export(net, in_shape: tuple[int, ...], out: Path, formats=FORMATS, atol: float = 1e-4):
    """Export ``net`` (inputs ``(B, *in_shape)``) into ``out`` in ``formats``; returns each
    file's path and its largest difference from eager on a batch of another size.

    Raises:
        ValueError: an export differs from eager by more than ``atol``.
    """
    import torch

    check_formats(formats)
    generator = torch.Generator().manual_seed(0)
    example = torch.rand(2, *in_shape, generator=generator)
    check = torch.rand(3, *in_shape, generator=generator)
    with torch.no_grad():
        expected = net(check)  # also builds the grid generators' cached bases
    batch = ({0: torch.export.Dim("batch", min=1)},)
    written = {}
    for fmt in formats:
        if fmt == "pt2":
            program = torch.export.export(net, (example,), dynamic_shapes=batch)
            buffer = io.BytesIO()
            torch.export.save(program, buffer)
            data = buffer.getvalue()
            got = torch.export.load(io.BytesIO(data)).module()(check)
        else:
            import onnxruntime

            with contextlib.redirect_stdout(io.StringIO()):  # the exporter's progress lines
                program = torch.onnx.export(
                    net,
                    (example,),
                    input_names=["images"],
                    output_names=["logits"],
                    dynamic_shapes=batch,
                    opset_version=OPSET,
                    dynamo=True,
                    verbose=False,
                )
            data = program.model_proto.SerializeToString()
            session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
            got = torch.from_numpy(session.run(None, {"images": check.numpy()})[0])
        path = out / f"model.{fmt}"
        error = (got - expected).abs().max().item()
        if not error <= atol:  # checked before anything is written
            raise ValueError(f"{path} differs from eager PyTorch by {error:.2e} > {atol:g}")
        write_atomic(path, lambda tmp, data=data: tmp.write_bytes(data))
        written[fmt] = (path, error)
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="stn-export", description="Export a trained run's network (torch.export, ONNX)."
    )
    parser.add_argument(
        "run", type=Path, help="a trained run folder (holds checkpoints/) or a record"
    )
    parser.add_argument("--out", type=Path, help="where the files go (default: RUN/export)")
    parser.add_argument("--checkpoint", choices=("best", "last"), default="best")
    parser.add_argument("--formats", default=",".join(FORMATS), help="of: pt2, onnx")
    parser.add_argument(
        "--atol", type=positive, default=1e-4, help="largest difference allowed (> 0)"
    )
    args = parser.parse_args(argv)
    if not args.run.is_dir():  # said before Lightning's import (seconds)
        parser.error(f"{args.run} is not a folder")
    formats = args.formats.split(",")
    try:
        check_formats(formats)
    except UsageError as err:
        parser.error(f"--formats: {err}")
    checkpoint = BEST if args.checkpoint == "best" else LAST
    with user_errors("stn-export"):
        out = args.out or beside(args.run, "export")  # before any work
        try:
            net, in_shape = load_network(args.run, checkpoint)
            if "onnx" in formats:
                import onnxruntime  # noqa: F401  (checked before any work)
        except ImportError as err:
            sys.exit(f"stn-export: {err.name} is missing: pip install -e '.[export]'")
        for fmt, (path, error) in export(net, in_shape, out, formats, args.atol).items():
            print(
                f"{path}: {fmt}, inputs (B, {', '.join(map(str, in_shape))}), "
                f"max |Δ| vs eager {error:.1e}"
            )


if __name__ == "__main__":
    main()
