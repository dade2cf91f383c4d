import pytest
import torch

from stn.nn import TRANSFORMS, build_transform


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def near_identity(transform, batch: int, scale: float = 0.1, dtype=torch.float32):
    """Random θ ``(batch, n_params)`` around the identity."""
    theta = transform.identity(dtype).repeat(batch, 1)
    return theta + scale * torch.randn(batch, transform.n_params, dtype=dtype)


@pytest.fixture(params=list(TRANSFORMS))
def transform(request):
    return build_transform(request.param)


@pytest.fixture
def mnist_root():
    """The real MNIST beside the checkout (or under $STN_DATA_DIR); skipped where absent."""
    import os
    from pathlib import Path

    root = Path(
        os.environ.get("STN_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "data")
    )
    if not (root / "MNIST" / "raw" / "t10k-images-idx3-ubyte").exists():
        pytest.skip(f"real MNIST not found under {root}/MNIST/raw (set STN_DATA_DIR)")
    return root
