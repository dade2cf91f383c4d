"""On a CUDA device: the same distortions as on the CPU, and every MNIST experiment trains.

Marked ``gpu`` (left out of the default run): ``pytest -m gpu`` on a machine with a GPU.
"""

import pytest
import torch
from fake_mnist import write_fake_mnist
from helpers import MNIST, compose

from stn.data.distortions import DISTORTIONS
from stn.data.mnist import distort
from stn.data.mnist_files import load_mnist
from stn.train import train

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


@pytest.mark.parametrize("name", list(DISTORTIONS))
@pytest.mark.parametrize("digits_per_sample", [1, 2])
def test_distortions_on_the_gpu_match_the_cpu(tmp_path, name, digits_per_sample):
    digits, labels = load_mnist(write_fake_mnist(tmp_path, n_train=600), train=True)
    cpu = distort(digits, labels, name, {}, digits_per_sample, seed=3)
    gpu = distort(digits, labels, name, {}, digits_per_sample, seed=3, device="cuda")
    assert all(t.device.type == "cuda" for t in gpu.values())
    # The same draws (θ, partners, clutter) from the CPU generator; only rounding differs.
    assert torch.equal(gpu["theta"].cpu(), cpu["theta"])
    assert torch.equal(gpu["labels"].cpu(), cpu["labels"])
    diff = (gpu["images"].cpu().int() - cpu["images"].int()).abs()
    assert diff.max() <= 2 and (diff > 0).float().mean() < 0.01


@pytest.mark.parametrize("experiment", MNIST)
def test_every_mnist_experiment_trains_on_the_gpu(fake_data, experiment):
    overrides = [f"experiment={experiment}", "trainer=gpu", "trainer.fast_dev_run=true"]
    assert 0 <= train(compose(overrides, fake_data)) <= 100
