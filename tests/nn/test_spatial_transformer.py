"""SpatialTransformer, its parallel form, localisation nets and placement."""

import math

import pytest
import torch
from torch import nn

from stn.nn import (
    TRANSFORMS,
    ParallelSpatialTransformer,
    SpatialTransformer,
    build_transform,
    conv_localisation,
    fc_localisation,
    output_shape,
    place_transformers,
    sample,
)


@pytest.mark.parametrize("name", list(TRANSFORMS))
@pytest.mark.parametrize("size", [(42, 42), (30, 44)])
@pytest.mark.parametrize("loc", ["conv", "fc"])
def test_fresh_transformer_is_the_identity(name, size, loc):
    shape = (2, *size)
    localisation = conv_localisation(shape) if loc == "conv" else fc_localisation(shape)
    st = SpatialTransformer(localisation, build_transform(name))
    x = torch.rand(4, *shape)
    torch.testing.assert_close(st(x), x, atol=2e-5, rtol=0)
    torch.testing.assert_close(st.theta, st.transform.identity().expand(4, -1))
    assert not st.theta.requires_grad


def test_regression_layer_starts_at_zero_weights_and_identity_bias():
    st = SpatialTransformer(fc_localisation((1, 8, 8)), build_transform("projective"))
    assert st.regression.weight.abs().sum() == 0
    torch.testing.assert_close(st.regression.bias.data, build_transform("projective").identity())


def test_gradients_reach_the_localisation_net():
    st = SpatialTransformer(conv_localisation((1, 28, 28)), build_transform("affine"))
    x = torch.rand(3, 1, 28, 28)
    st(x).square().sum().backward()
    assert st.regression.weight.grad.abs().sum() > 0
    # Zero regression weights block the gradient below them only at the very first step.
    st.regression.weight.data.normal_(0, 0.01)
    st.zero_grad()
    st(x).square().sum().backward()
    assert all(p.grad.abs().sum() > 0 for p in st.localisation.parameters())


def test_out_size_and_sampling_options():
    x = torch.rand(2, 3, 20, 24)
    st = SpatialTransformer(
        fc_localisation(x.shape[1:]), build_transform("affine"), out_size=(10, 12)
    )
    assert st(x).shape == (2, 3, 10, 12)
    square = SpatialTransformer(fc_localisation(x.shape[1:]), build_transform("tps"), out_size=7)
    assert square(x).shape == (2, 3, 7, 7)
    nearest = SpatialTransformer(
        fc_localisation(x.shape[1:]), build_transform("affine"), mode="nearest"
    )
    assert torch.equal(nearest(x), x)  # identity + nearest is exact
    with pytest.raises(ValueError, match="padding mode 'edge'"):
        SpatialTransformer(
            fc_localisation(x.shape[1:]), build_transform("affine"), padding_mode="edge"
        )
    with pytest.raises(ValueError, match="out_size"):
        SpatialTransformer(fc_localisation(x.shape[1:]), build_transform("affine"), out_size=(0, 3))


def test_border_padding_differs_from_zeros_outside_the_input():
    x = torch.ones(1, 1, 8, 8)
    shrink = torch.tensor([2.0, 0, 0, 0, 2, 0])  # output window twice the input: half is outside
    outs = {}
    for padding in ("zeros", "border"):
        st = SpatialTransformer(
            fc_localisation((1, 8, 8)),
            build_transform("affine"),
            padding_mode=padding,
            theta_init=shrink,
        )
        outs[padding] = st(x)
    assert outs["border"].min() == 1 and outs["zeros"][0, 0, 0, 0] == 0


@pytest.mark.parametrize("name", list(TRANSFORMS))
def test_any_localisation_net_of_unknown_width_starts_at_the_identity(name):
    """The PyTorch tutorial's pattern: a plain net, its width read from the first batch."""

    def loc():
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 20), nn.ReLU())

    st = SpatialTransformer(loc(), build_transform(name))
    x = torch.rand(3, 1, 28, 28)
    torch.testing.assert_close(st(x), x, atol=1e-5, rtol=0)
    assert type(st.regression) is nn.Linear and st.regression.in_features == 20
    assert not st.regression.weight.any()
    torch.testing.assert_close(st.regression.bias, build_transform(name).identity())
    # A checkpoint loads into a fresh one before any batch, and gives the same outputs.
    again = SpatialTransformer(loc(), build_transform(name))
    again.load_state_dict(st.state_dict())
    torch.testing.assert_close(again(x), st(x))
    pst = ParallelSpatialTransformer(loc(), build_transform(name), n=2)
    for out in pst(x):
        torch.testing.assert_close(out, x, atol=1e-5, rtol=0)


def test_a_localisation_net_of_another_width_than_given_is_refused():
    loc = nn.Sequential(nn.Flatten(), nn.Linear(16, 5))
    st = SpatialTransformer(loc, build_transform("affine"), in_features=5)
    assert st(torch.rand(2, 1, 4, 4)).shape == (2, 1, 4, 4)
    wrong = SpatialTransformer(loc, build_transform("affine"), in_features=6)
    with pytest.raises(ValueError, match=r"must return flat \(B, 6\) features, got \(2, 5\)"):
        wrong(torch.rand(2, 1, 4, 4))


def test_parallel_transformers_share_one_localisation_net():
    attention = build_transform("attention")
    init = torch.tensor([[0.5, -0.5, -0.5], [0.5, 0.5, 0.5]])
    pst = ParallelSpatialTransformer(
        conv_localisation((3, 32, 32)), attention, n=2, out_size=16, theta_init=init
    )
    x = torch.rand(4, 3, 32, 32)
    crops = pst(x)
    assert len(crops) == 2 and all(c.shape == (4, 3, 16, 16) for c in crops)
    assert pst.theta.shape == (4, 2, 3)
    assert pst.regression.out_features == 2 * 3
    for crop, theta in zip(crops, init, strict=True):
        expected = sample(x, attention.grid(theta.expand(4, -1), (16, 16)))
        torch.testing.assert_close(crop, expected)
    # Top-left and bottom-right quarters: the crops start apart.
    torch.testing.assert_close(crops[0], x[:, :, :16, :16])
    with pytest.raises(ValueError, match=r"theta_init must have shape \(n=2, 3\)"):
        ParallelSpatialTransformer(
            fc_localisation((3, 32, 32)), attention, n=2, theta_init=init[:1]
        )


# --- localisation nets ---------------------------------------------------------------------------


def test_paper_localisation_nets():
    mnist = conv_localisation((1, 42, 42))  # conv5(20) → pool → conv5(20) → pool → FC 20
    assert mnist.out_features == 20
    assert [m.out_channels for m in mnist if isinstance(m, nn.Conv2d)] == [20, 20]
    assert mnist(torch.rand(2, 1, 42, 42)).shape == (2, 20)
    svhn_multi = fc_localisation((48, 32, 32), hidden=(32, 32))
    assert svhn_multi.out_features == 32
    assert sum(isinstance(m, nn.Linear) for m in svhn_multi) == 2


def test_localisation_rejects_too_small_input():
    with pytest.raises(ValueError, match=r"cannot take an input of shape \(1, 8, 8\)"):
        conv_localisation((1, 8, 8))


def test_output_shape_leaves_batch_norm_statistics_alone():
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4))
    assert output_shape(net, (1, 9, 9)) == (4, 7, 7)
    assert net.training and net[1].num_batches_tracked == 0


# --- placement -----------------------------------------------------------------------------------


def _conv_layers():
    return [
        nn.Sequential(nn.Conv2d(3, 8, 5, padding=2), nn.ReLU()),
        nn.Sequential(nn.Conv2d(8, 8, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2)),
        nn.Sequential(nn.Conv2d(8, 16, 5, padding=2), nn.ReLU()),
        nn.Sequential(nn.Flatten(), nn.Linear(16 * 16 * 16, 10)),
    ]


def test_place_transformers_before_chosen_layers():
    layers = _conv_layers()
    seen = []

    def make(shape):
        seen.append(shape)
        return SpatialTransformer(fc_localisation(shape), build_transform("affine"))

    net = place_transformers(layers, [0, 1, 2], make, (3, 32, 32))
    assert seen == [(3, 32, 32), (8, 32, 32), (8, 16, 16)]
    kinds = [type(m).__name__ for m in net]
    assert kinds == [
        "SpatialTransformer",
        "Sequential",
        "SpatialTransformer",
        "Sequential",
        "SpatialTransformer",
        "Sequential",
        "Sequential",
    ]
    # At initialisation every ST is the identity, so the network computes what its layers do.
    x = torch.rand(2, 3, 32, 32)
    torch.testing.assert_close(net(x), nn.Sequential(*layers)(x), atol=1e-5, rtol=0)


def test_place_transformers_validates_positions():
    with pytest.raises(ValueError, match=r"positions must lie in \[0, 4\]"):
        place_transformers(_conv_layers(), [5], lambda s: nn.Identity(), (3, 32, 32))
    assert len(place_transformers(_conv_layers(), [], lambda s: nn.Identity(), (3, 32, 32))) == 4


# --- learning ------------------------------------------------------------------------------------


def _smooth_images(n, size=32):
    noise = torch.rand(n, 1, size // 4, size // 4)
    return nn.functional.interpolate(noise, size=(size, size), mode="bicubic", align_corners=False)


@pytest.mark.parametrize("name", ["affine", "projective", "tps"])
def test_transformer_learns_a_known_rotation_and_scale(name):
    """Regress the ST's output onto images warped by a fixed θ*: the learnt θ recovers θ*."""
    angle, scale = math.radians(25), 0.8
    c, s = scale * math.cos(angle), scale * math.sin(angle)
    target_theta = torch.tensor([[c, -s, 0.05, s, c, -0.05]])
    transform = build_transform(name)
    # A localisation net that sees a constant: only the regression bias can learn, so θ is
    # the same for every image and can be compared with θ*.
    st = SpatialTransformer(nn.Flatten(), transform, in_features=1, padding_mode="border")
    optimiser = torch.optim.Adam(st.parameters(), lr=0.01)
    size = (32, 32)
    for _ in range(300):
        x = _smooth_images(16)
        target = sample(
            x,
            build_transform("affine").grid(target_theta.expand(16, -1), size),
            padding_mode="border",
        )
        theta = st.localise(torch.ones(16, 1))[:, 0]
        loss = (
            (sample(x, transform.grid(theta, size), padding_mode="border") - target).square().mean()
        )
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    learnt = st.transform.points(theta[:1].detach(), torch.tensor([[1.0, 0.0], [0.0, 0.0]]))
    (ux, uy), (ox, oy) = learnt[0].tolist()
    assert math.degrees(math.atan2(uy - oy, ux - ox)) == pytest.approx(25, abs=1.5)
    assert math.hypot(ux - ox, uy - oy) == pytest.approx(scale, abs=0.03)
    assert (ox, oy) == pytest.approx((0.05, -0.05), abs=0.02)


def test_bad_inputs_and_sizes_are_refused_by_name():
    st = SpatialTransformer(conv_localisation((1, 42, 42)), build_transform("affine"))
    with pytest.raises(ValueError, match=r"expected a non-empty batch \(B, \.\.\.\), got \(0,"):
        st(torch.rand(0, 1, 42, 42))
    # 40×40 into a loc net for 42×42: the conv layers would map both to the same width.
    with pytest.raises(
        ValueError, match=r"built for inputs \(B, 1, 42, 42\), got \(2, 1, 40, 40\)"
    ):
        st(torch.rand(2, 1, 40, 40))
    for bad in (2.5, (2, 2.5), "24", (0, 3), True):
        with pytest.raises(ValueError, match="out_size must be a positive int or"):
            SpatialTransformer(conv_localisation((1, 42, 42)), build_transform("tps"), bad)


def test_in_shape_builds_the_regression_layer_at_once_and_refuses_other_shapes():
    tps = build_transform("tps")
    loc = nn.Sequential(nn.Conv2d(1, 4, 5), nn.ReLU(), nn.Flatten())
    st = SpatialTransformer(loc, tps, in_shape=(1, 12, 12))
    assert type(st.regression) is nn.Linear and st.regression.in_features == 4 * 8 * 8
    count = sum(p.numel() for p in st.parameters())  # countable before any batch
    assert count == (4 * 25 + 4) + (256 + 1) * tps.n_params
    assert torch.equal(st.regression.bias, tps.identity()) and not st.regression.weight.any()
    with pytest.raises(ValueError, match=r"built for inputs \(B, 1, 12, 12\), got \(2, 1, 14, 14"):
        st(torch.rand(2, 1, 14, 14))
    lazy = SpatialTransformer(loc, tps)  # no width known: read from the first batch
    assert isinstance(lazy.regression, nn.LazyLinear)
    x = torch.rand(2, 1, 12, 12)
    torch.testing.assert_close(lazy(x), st(x), atol=0, rtol=0)


@pytest.mark.parametrize("align_corners", [False, True])
def test_align_corners_reaches_the_grid_and_the_sampler(align_corners):
    torch.manual_seed(0)
    st = SpatialTransformer(
        fc_localisation((2, 9, 7), (8,)),
        build_transform("affine"),
        out_size=(5, 6),
        align_corners=align_corners,
    )
    with torch.no_grad():
        st.regression.bias.add_(torch.randn(6) * 0.2)
    x = torch.rand(3, 2, 9, 7)
    theta = st.regression.bias.view(1, 2, 3).expand(3, 2, 3)
    grid = nn.functional.affine_grid(theta, [3, 2, 5, 6], align_corners=align_corners)
    expected = nn.functional.grid_sample(x, grid, align_corners=align_corners)
    torch.testing.assert_close(st(x), expected, atol=1e-6, rtol=0)
    assert f"align_corners={align_corners}" in repr(st)
