"""SVHN networks: shapes, ST placement, and fresh STs being exact identities."""

import pytest
import torch

from stn.models.svhn import CHANNELS, build_svhn_model
from stn.nn.spatial_transformer import SpatialTransformer

SMALL = {"hidden": 64, "channels": (8, 8, 16, 16, 16, 16, 16, 16)}  # the structure, smaller


@pytest.mark.parametrize("size", [64, 128])
def test_paper_cnn_shapes(size):
    net = build_svhn_model("cnn", (3, size, size))
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == list(CHANNELS)
    assert all(c.kernel_size == (5, 5) for c in convs)
    linears = [m for m in net.modules() if isinstance(m, torch.nn.Linear)]
    assert [lin.out_features for lin in linears] == [3072, 3072, 5 * 11]
    assert linears[0].in_features == 192 * (size // 16) ** 2  # 4 pools of stride 2
    assert net(torch.rand(2, 3, size, size)).shape == (2, 5, 11)


@pytest.mark.parametrize(("name", "count"), [("single", 1), ("multi", 4)])
def test_fresh_transformers_leave_the_cnn_unchanged(name, count):
    torch.manual_seed(0)
    cnn = build_svhn_model("cnn", (3, 64, 64), **SMALL).eval()
    st = build_svhn_model(name, (3, 64, 64), transform="tps", **SMALL).eval()
    assert len(st.transformers) == count
    # ST-CNN Multi: an ST before each of the first 4 conv blocks; Single: at the input only.
    kinds = [isinstance(m, SpatialTransformer) for m in st.features]
    assert kinds[: 2 * count : 2] == [True] * count and not any(kinds[2 * count :])
    blocks = [m for m in st.features if not isinstance(m, SpatialTransformer)]
    for mine, theirs in zip(blocks, cnn.features, strict=True):
        mine.load_state_dict(theirs.state_dict())
    st.fc.load_state_dict(cnn.fc.state_dict())
    st.heads.load_state_dict(cnn.heads.state_dict())
    x = torch.rand(3, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(st(x), cnn(x), atol=1e-5, rtol=1e-5)


def test_unknown_model():
    with pytest.raises(ValueError, match=r"unknown model\.placement='double'; valid: single"):
        build_svhn_model("double")
