"""The MNIST models: FCN, CNN, ST-FCN, ST-CNN of about equal parameter counts (§4.1)."""

import pytest
import torch
from helpers import compose
from omegaconf import OmegaConf

from stn.data.registry import create_datamodule
from stn.errors import UsageError
from stn.models import create_model

CELLS = [
    (e, m, s)
    for e in ("mnist_r", "mnist_rts", "mnist_p", "mnist_e", "mnist_tc", "mnist_addition")
    for m in ("fcn", "cnn")
    for s in ("none", "affine", "projective", "tps")
]


def _model(overrides):
    cfg = OmegaConf.to_container(compose(overrides), resolve=True)
    data = create_datamodule(cfg["data"])
    net = create_model(
        cfg["model"], cfg["stn"], in_shape=data.image_shape, num_classes=data.num_classes
    )
    return net, cfg, data.image_shape


def _params(module):
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("experiment", sorted({e for e, _, _ in CELLS}))
def test_models_have_about_equal_parameter_counts(experiment, capsys):
    counts = {}
    for model in ("fcn", "cnn"):  # configs/stn/*.yaml set stn.transform alone
        cfg = OmegaConf.to_container(
            compose([f"experiment={experiment}", f"model={model}"]), resolve=True
        )
        data = create_datamodule(cfg["data"])
        for _, _, stn in (c for c in CELLS if c[:2] == (experiment, model)):
            net = create_model(
                cfg["model"],
                {**cfg["stn"], "transform": stn},
                in_shape=data.image_shape,
                num_classes=data.num_classes,
            )
            counts[f"{model}/{stn}"] = _params(net)
            assert net(torch.rand(2, *data.image_shape)).shape[0] == 2
    assert len(counts) == 8
    budget = cfg["model"]["params"]
    with capsys.disabled():
        print(f"\n{experiment} (budget {budget}): {counts}")
    for name, count in counts.items():
        assert abs(count - budget) <= 0.03 * budget, (name, count)


@pytest.mark.parametrize("shared", [True, False])
def test_two_parallel_transformers_fit_the_budget(shared):
    net, cfg, shape = _model(
        ["experiment=mnist_addition", "stn=affine", "stn.n=2", f"stn.shared={shared}"]
    )
    assert [st.n for st in net.transformers] == ([2] if shared else [1, 1])
    assert abs(_params(net) - cfg["model"]["params"]) <= 0.03 * cfg["model"]["params"]
    # 2 STs × 2 channels, pooled 2×, reach the classifier
    assert net.classifier[1].in_features == 4 * (shape[1] // 2) * (shape[2] // 2)
    # Perturbing the last ST's localisation net moves the first θ only where it is shared.
    for st in net.transformers:
        st.regression.weight.data.normal_()
    x = torch.rand(3, *shape)

    def thetas():
        net(x)
        return torch.cat([st.theta for st in net.transformers], dim=1)  # (B, 2, 6)

    before = thetas()
    net.transformers[-1].localisation[1].weight.data.add_(1.0)
    after = thetas()
    assert torch.equal(after[:, 0], before[:, 0]) is not shared
    assert not torch.allclose(after[:, 1], before[:, 1])


def test_shared_must_be_a_boolean():
    with pytest.raises(
        ValueError, match=r"stn\.shared='maybe' must be true or false \(an option of the fcn"
    ):
        _model(["experiment=mnist_addition", "stn=affine", "stn.n=2", "stn.shared=maybe"])


def test_null_budget_keeps_the_listed_widths():
    net, _, _ = _model(["experiment=mnist_r", "model=cnn", "model.params=null", "stn=none"])
    convs = [m for m in net.classifier if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [32, 32]


def test_budget_below_the_localisation_net_is_refused():
    with pytest.raises(UsageError, match=r"model\.params=100000 is too small .* nets take \d+ "):
        _model(["experiment=mnist_tc", "model=fcn", "stn=affine", "model.params=100000"])


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("+model.widths=[1]", r"model\.widths=\[1\] is not an option of the fcn network"),
        ("model.hidden=wide", r"model\.hidden='wide' must be a list of integers"),
        (
            "+model.localisation.channels=[4]",
            r"model\.localisation\.channels=\[4\] is not an "
            "option of a fc localisation net",
        ),
        ("model.localisation.kind=rnn", r"unknown model\.localisation\.kind='rnn'"),
    ],
)
def test_an_option_the_network_does_not_read_is_an_error(override, message):
    with pytest.raises(ValueError, match=message):
        _model(["experiment=mnist_rts", "model=fcn", "stn=affine", override])


@pytest.mark.parametrize("model", ["fcn", "cnn"])
def test_downsampling_by_a_smaller_grid_is_pooling_at_the_identity_and_not_beyond(model):
    """stn.downsample=sample: the ST samples 21×21 of the 42×42 input. At the identity θ a
    bilinear sample at each 21×21 pixel centre is the mean of its 2×2 block, so both readings
    compute the same network; once the ST zooms, they differ (the smaller grid aliases)."""
    common = ["experiment=mnist_rts", f"model={model}", "stn=affine"]
    torch.manual_seed(0)
    pooled, _, shape = _model(common)
    torch.manual_seed(0)
    sampled, _, _ = _model([*common, "stn.downsample=sample"])
    assert [st.out_size for st in sampled.transformers] == [(21, 21)]
    assert not isinstance(sampled.pool, torch.nn.AvgPool2d)
    assert _params(sampled) == _params(pooled)
    sampled.load_state_dict(pooled.state_dict())
    x = torch.rand(4, *shape)
    with torch.no_grad():
        torch.testing.assert_close(sampled(x), pooled(x), atol=1e-5, rtol=0)
        for net in (pooled, sampled):  # both STs zoom in 1.3×, rotated by 0.3 rad
            a, b = 0.77 * torch.cos(torch.tensor(0.3)), 0.77 * torch.sin(torch.tensor(0.3))
            net.transformers[0].regression.bias.copy_(torch.tensor([a, -b, 0.1, b, a, 0.0]))
        assert (sampled(x) - pooled(x)).abs().max() > 1e-3


def test_an_unknown_downsampling_is_named():
    with pytest.raises(ValueError, match=r"unknown stn\.downsample='nearest'; valid: pool, sample"):
        _model(["experiment=mnist_rts", "stn=affine", "stn.downsample=nearest"])


@pytest.mark.parametrize("experiment", ["mnist_r", "mnist_rts"])
def test_same_padding_is_the_symmetric_zero_padding_records_were_trained_with(experiment):
    """``model.padding=same`` pads each k×k conv by k // 2 on every side, as every CNN
    recorded before the option existed did: the same weights give the same logits."""
    net, _, shape = _model([f"experiment={experiment}", "model=cnn", "stn=none"])
    convs = [m for m in net.classifier if isinstance(m, torch.nn.Conv2d)]
    for conv in convs:
        y = torch.rand(2, conv.in_channels, *shape[1:])
        padded = torch.nn.functional.conv2d(
            y, conv.weight, conv.bias, padding=conv.kernel_size[0] // 2
        )
        torch.testing.assert_close(conv(y), padded, atol=0, rtol=0)
    x = torch.rand(2, *shape)
    assert net(x).shape == (2, 10)


@pytest.mark.parametrize(
    ("experiment", "side", "features"),
    [("mnist_r", 28, 2 * 2), ("mnist_rts", 42, 5 * 5)],  # 28-8=20, 10, 10-6=4, 2; 42: 34, 17, 11, 5
)
def test_valid_padding_shrinks_each_map_by_its_kernel_and_still_fits_the_budget(
    experiment, side, features
):
    net, cfg, shape = _model(
        [f"experiment={experiment}", "model=cnn", "stn=none", "model.padding=valid"]
    )
    assert shape == (1, side, side)
    convs = [m for m in net.classifier if isinstance(m, torch.nn.Conv2d)]
    assert [c.padding for c in convs] == ["valid", "valid"]
    (fc,) = [m for m in net.classifier if isinstance(m, torch.nn.Linear)]
    assert fc.in_features == convs[-1].out_channels * features
    assert abs(_params(net) - cfg["model"]["params"]) < 0.02 * cfg["model"]["params"]


def test_valid_padding_refuses_an_input_too_small_for_the_kernels():
    """RTS's ST-CNN: the ST's 21×21 output, 9×9 conv → 13, pool → 6: no room for the 7×7."""
    with pytest.raises(
        ValueError,
        match=r"model\.padding='valid': conv 2 \(7×7\) of the CNN gets a 6×6 map from its "
        r"21×21 input, too small to convolve and pool: give model\.padding=same",
    ):
        _model(["experiment=mnist_rts", "model=cnn", "stn=affine", "model.padding=valid"])


def test_padded_convs_too_many_for_their_input_are_refused():
    """Padded, each conv keeps its map and each pool halves it: the fifth of six gets 1×1."""
    layers = ["model.channels=[8,8,8,8,8,8]", "model.kernel_sizes=[3,3,3,3,3,3]"]
    with pytest.raises(
        UsageError,
        match=r"^model\.padding='same': conv 5 \(3×3\) of the CNN gets a 1×1 map from its 21×21 "
        r"input, too small to pool: give fewer conv layers \(model\.channels and "
        r"model\.kernel_sizes\)$",
    ):
        _model(["experiment=mnist_rts", "model=cnn", "stn=affine", *layers])


def test_an_unknown_padding_is_named():
    with pytest.raises(ValueError, match=r"unknown model\.padding='full'; valid: same, valid"):
        _model(["experiment=mnist_r", "model=cnn", "model.padding=full"])
