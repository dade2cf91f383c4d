import pytest
import torch
from fake_mnist import write_fake_mnist
from fake_svhn import write_fake_svhn
from helpers import SHARED_DATA

from stn.nn import TRANSFORMS, build_transform


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture(params=list(TRANSFORMS))
def transform(request):
    return build_transform(request.param)


@pytest.fixture
def mnist_root():
    """The real MNIST beside the checkout (or under $STN_DATA_DIR); skipped where absent."""
    root = SHARED_DATA
    if not (root / "MNIST" / "raw" / "t10k-images-idx3-ubyte").exists():
        pytest.skip(f"real MNIST not found under {root}/MNIST/raw (set STN_DATA_DIR)")
    return root


@pytest.fixture
def fake_data(tmp_path, monkeypatch):
    """``tmp_path`` with a small generated MNIST under ``data/`` (and no $STN_DATA_DIR)."""
    monkeypatch.delenv("STN_DATA_DIR", raising=False)
    write_fake_mnist(tmp_path / "data")
    return tmp_path


@pytest.fixture
def fake_svhn(tmp_path, monkeypatch):
    """``(tmp_path, records)``: a small generated SVHN under ``tmp_path/data`` (and no
    $STN_DATA_DIR), and the records written (see ``write_fake_svhn``)."""
    monkeypatch.delenv("STN_DATA_DIR", raising=False)
    return tmp_path, write_fake_svhn(tmp_path / "data")


@pytest.fixture
def sample():
    """The real SVHN sample beside the checkout; skipped where absent."""
    root = SHARED_DATA / "SVHN-sample"
    if not (root / "train" / "digitStruct.mat").exists():
        pytest.skip(f"the SVHN sample is not at {root}")
    return root


@pytest.fixture
def cub_root():
    """The real CUB-200-2011 subset beside the checkout; skipped where absent."""
    root = SHARED_DATA / "CUB_200_2011"
    if not (root / "images.txt").exists():
        pytest.skip(f"the CUB-200-2011 subset is not at {root}")
    return root
