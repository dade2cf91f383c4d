"""A network a user builds with stn.nn exports by every path torch offers, and each export
computes what eager PyTorch does: torch.export, ONNX (dynamo and the TorchScript-based
exporter, run by onnxruntime) and torch.jit.trace."""

import contextlib
import io
import warnings

import pytest
import torch
from torch import nn

from stn.nn import SpatialTransformer, build_transform
from stn.nn.tutorial import TutorialNet

onnxruntime = pytest.importorskip("onnxruntime")
BATCH = ({0: torch.export.Dim("batch", min=1)},)


def user_network(name: str) -> nn.Module:
    """An ST (conv loc net, eager regression layer, θ off the identity), then a classifier;
    never run before export."""
    torch.manual_seed(0)
    loc = nn.Sequential(
        nn.Conv2d(1, 4, 5), nn.MaxPool2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(144, 16), nn.ReLU()
    )
    st = SpatialTransformer(loc, build_transform(name), in_shape=(1, 28, 28))
    with torch.no_grad():
        st.regression.weight.normal_(0, 0.05)
    return nn.Sequential(st, nn.Flatten(), nn.Linear(784, 10)).eval()


def onnx_run(model: bytes, x: torch.Tensor) -> torch.Tensor:
    session = onnxruntime.InferenceSession(model, providers=["CPUExecutionProvider"])
    return torch.from_numpy(session.run(None, {"images": x.numpy()})[0])


def exports(net: nn.Module, example: torch.Tensor) -> dict:
    """Each path's callable, made from ``net`` and an ``example`` batch of 2."""
    program = torch.export.export(net, (example,), dynamic_shapes=BATCH)
    with contextlib.redirect_stdout(io.StringIO()):
        dynamo = torch.onnx.export(
            net,
            (example,),
            input_names=["images"],
            dynamic_shapes=BATCH,
            opset_version=18,
            dynamo=True,
            verbose=False,
        ).model_proto.SerializeToString()
    legacy = io.BytesIO()
    with warnings.catch_warnings():  # the TorchScript exporter's deprecation and tracer notes
        warnings.simplefilter("ignore")
        torch.onnx.export(
            net,
            (example,),
            legacy,
            input_names=["images"],
            dynamic_axes={"images": {0: "batch"}},
            opset_version=18,
            dynamo=False,
        )
        traced = torch.jit.trace(net, example)
    return {
        "torch.export": program.module(),
        "onnx (dynamo)": lambda x: onnx_run(dynamo, x),
        "onnx (TorchScript)": lambda x: onnx_run(legacy.getvalue(), x),
        "torch.jit.trace": traced,
    }


@pytest.mark.parametrize(
    "name", ["affine", *(pytest.param(n, marks=pytest.mark.slow) for n in ("projective", "tps"))]
)
def test_every_export_path_matches_eager(name):
    net = user_network(name)
    check = torch.rand(3, 1, 28, 28)  # another batch size than the example's
    for path, run in exports(net, torch.rand(2, 1, 28, 28)).items():
        with torch.no_grad():
            torch.testing.assert_close(run(check), net(check), atol=1e-5, rtol=0, msg=path)


@pytest.mark.slow  # the paths the tests above take, on another network
def test_the_tutorial_network_exports_as_the_tutorial_s_does():
    net = TutorialNet().eval()
    check = torch.rand(3, 1, 28, 28)
    for path, run in exports(net, torch.rand(2, 1, 28, 28)).items():
        with torch.no_grad():
            torch.testing.assert_close(run(check), net(check), atol=1e-5, rtol=0, msg=path)
