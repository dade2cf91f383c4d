"""The MNIST models: FCN, CNN, ST-FCN, ST-CNN of about equal parameter counts (§4.1)."""

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

from stn.data.distorted_mnist import DistortedMNIST
from stn.nn.models.mnist import build_mnist_model
from stn.train import CONFIGS

CELLS = [
    (e, m, s)
    for e in ("mnist_r", "mnist_rts", "mnist_p", "mnist_e", "mnist_tc", "mnist_addition")
    for m in ("fcn", "cnn")
    for s in ("none", "affine", "projective", "tps")
]


def _model(overrides):
    GlobalHydra.instance().clear()
    with initialize_config_dir(str(CONFIGS), version_base="1.3"):
        cfg = OmegaConf.to_container(compose("train", overrides=overrides))
    data = DistortedMNIST(
        "unused", "unused", cfg["data"]["distortion"], cfg["data"]["digits_per_sample"]
    )
    net = build_mnist_model(cfg["model"], cfg["stn"], data.image_shape, data.num_classes)
    return net, cfg, data.image_shape


def _params(module):
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("experiment", sorted({e for e, _, _ in CELLS}))
def test_models_have_about_equal_parameter_counts(experiment, capsys):
    counts = {}
    for _, model, stn in (c for c in CELLS if c[0] == experiment):
        net, cfg, shape = _model([f"experiment={experiment}", f"model={model}", f"stn={stn}"])
        counts[f"{model}/{stn}"] = _params(net)
        assert net(torch.rand(2, *shape)).shape[0] == 2
    budget = cfg["model"]["params"]
    with capsys.disabled():
        print(f"\n{experiment} (budget {budget}): {counts}")
    for name, count in counts.items():
        assert abs(count - budget) <= 0.03 * budget, (name, count)


def test_two_parallel_transformers_fit_the_budget():
    net, cfg, _ = _model(["experiment=mnist_addition", "stn=affine", "stn.n=2"])
    assert net.transformer.n == 2
    assert abs(_params(net) - cfg["model"]["params"]) <= 0.03 * cfg["model"]["params"]


def test_null_budget_keeps_the_listed_widths():
    net, _, _ = _model(["experiment=mnist_r", "model=cnn", "model.params=null", "stn=none"])
    convs = [m for m in net.classifier if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [32, 32]


def test_budget_below_the_localisation_net_is_refused():
    with pytest.raises(ValueError, match=r"raise model\.params"):
        _model(["experiment=mnist_tc", "model=fcn", "stn=affine", "model.params=100000"])
