"""The PyTorch tutorial's network on stn.nn: same weights from a seed, same outputs from its
checkpoint, and the loc-net contract said where a port gets it wrong."""

import re
import runpy
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from helpers import ROOT
from torch import nn

from stn.data.mnist_files import load_mnist
from stn.nn import Affine, SpatialTransformer
from stn.nn.tutorial import TutorialNet, from_tutorial


class Tutorial(nn.Module):
    """The tutorial's ``Net`` as it is published: the oracle."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 10, kernel_size=5)
        self.conv2 = nn.Conv2d(10, 20, kernel_size=5)
        self.conv2_drop = nn.Dropout2d()
        self.fc1 = nn.Linear(320, 50)
        self.fc2 = nn.Linear(50, 10)
        self.localization = nn.Sequential(
            nn.Conv2d(1, 8, kernel_size=7),
            nn.MaxPool2d(2, stride=2),
            nn.ReLU(True),
            nn.Conv2d(8, 10, kernel_size=5),
            nn.MaxPool2d(2, stride=2),
            nn.ReLU(True),
        )
        self.fc_loc = nn.Sequential(nn.Linear(10 * 3 * 3, 32), nn.ReLU(True), nn.Linear(32, 3 * 2))
        self.fc_loc[2].weight.data.zero_()
        self.fc_loc[2].bias.data.copy_(torch.tensor([1, 0, 0, 0, 1, 0], dtype=torch.float))

    def stn(self, x):
        theta = self.fc_loc(self.localization(x).view(-1, 10 * 3 * 3)).view(-1, 2, 3)
        return F.grid_sample(x, F.affine_grid(theta, x.size(), align_corners=False))

    def forward(self, x):
        x = self.stn(x)
        x = F.relu(F.max_pool2d(self.conv1(x), 2))
        x = F.relu(F.max_pool2d(self.conv2_drop(self.conv2(x)), 2))
        x = F.relu(self.fc1(x.view(-1, 320)))
        x = F.dropout(x, training=self.training)
        return F.log_softmax(self.fc2(x), dim=1)


def test_a_seed_gives_the_tutorial_s_weights():
    torch.manual_seed(7)
    theirs = Tutorial().state_dict()
    torch.manual_seed(7)
    ours = TutorialNet().state_dict()
    converted = from_tutorial(theirs)
    assert list(converted) == list(ours)
    for key, value in converted.items():
        assert torch.equal(value, ours[key]), key


def test_a_tutorial_checkpoint_loads_in_one_call_and_gives_its_outputs(tmp_path):
    torch.manual_seed(0)
    theirs = Tutorial().eval()
    with torch.no_grad():  # a trained regression layer: θ away from the identity
        theirs.fc_loc[2].weight.normal_(0, 0.05)
        theirs.fc_loc[2].bias.add_(torch.randn(6) * 0.1)
    torch.save(theirs.state_dict(), tmp_path / "tutorial.pt")
    ours = TutorialNet().eval()
    ours.load_state_dict(from_tutorial(torch.load(tmp_path / "tutorial.pt")))
    x = torch.randn(64, 1, 28, 28)
    with torch.no_grad():
        expected = theirs(x)
        got = ours(x)
        theta = theirs.fc_loc(theirs.localization(x).flatten(1))
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)
    torch.testing.assert_close(ours.stn.theta, theta, atol=1e-6, rtol=0)
    assert (ours.stn.theta - torch.tensor([1.0, 0, 0, 0, 1, 0])).abs().max() > 0.05


def test_a_conv_localisation_net_without_flatten_is_told_to_flatten():
    conv = Tutorial().localization
    with pytest.raises(ValueError, match=r"flat \(B, F\) features \(end it with nn\.Flatten\(\)\)"):
        SpatialTransformer(conv, Affine(), in_shape=(1, 28, 28))
    lazy = SpatialTransformer(conv, Affine())  # width unknown: said at the first batch
    with pytest.raises(ValueError, match=r"end it with nn\.Flatten\(\)\), got \(2, 10, 3, 3\)"):
        lazy(torch.rand(2, 1, 28, 28))


def test_a_localisation_net_that_already_regresses_theta_is_warned_of():
    tutorial = Tutorial()
    with pytest.warns(UserWarning, match=r"ends in Linear\(in_features=32, out_features=6.*adds"):
        SpatialTransformer(
            nn.Sequential(tutorial.localization, nn.Flatten(), tutorial.fc_loc),
            Affine(),
            in_shape=(1, 28, 28),
        )


def tutorial_script(*args, data) -> None:
    """``python scripts/tutorial.py --data DATA ARGS``, in this process."""
    main = runpy.run_path(str(ROOT / "scripts" / "tutorial.py"))["main"]
    main(["--data", str(data), *map(str, args)])


def test_the_example_tests_a_tutorial_checkpoint_as_the_tutorial_would(
    mnist_root, tmp_path, capsys
):
    torch.manual_seed(3)
    theirs = Tutorial().eval()
    with torch.no_grad():
        theirs.fc_loc[2].weight.normal_(0, 0.05)
    torch.save(theirs.state_dict(), tmp_path / "tutorial.pt")
    tutorial_script(
        "--checkpoint", tmp_path / "tutorial.pt", "--epochs", "0", "--limit", "500", data=mnist_root
    )
    images, labels = load_mnist(mnist_root, train=False)
    x = ((images[:500].float() / 255 - 0.1307) / 0.3081).unsqueeze(1)
    with torch.no_grad():
        right = (theirs(x).argmax(1) == labels[:500]).sum().item()
    assert capsys.readouterr().out == f"test accuracy {100 * right / 500:.2f} %\n"


@pytest.mark.slow  # 22 s on a 2-core CPU
def test_the_example_trains(mnist_root):
    command = [sys.executable, "scripts/tutorial.py", "--data", str(mnist_root)]
    done = subprocess.run(
        [*command, "--epochs", "2", "--limit", "6000"], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    first, second = map(float, re.findall(r"epoch \d: test accuracy ([\d.]+) %\n", done.stdout))
    assert 10 < first < second and second > 30  # from chance, 188 steps of the tutorial's recipe


def test_the_example_without_mnist_says_where_to_put_it(tmp_path):
    with pytest.raises(SystemExit) as stopped:  # exit status 1, the message on stderr
        tutorial_script("--epochs", "0", data=tmp_path)
    message = stopped.value.code
    assert message.startswith("error: MNIST not found: ") and str(tmp_path) in message
