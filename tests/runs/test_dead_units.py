"""stn.runs.dead_units: ReLUs that output 0 on every validation image, counted per unit."""

import torch
from helpers import train_into
from torch import nn

from stn.runs.dead_units import dead_units, main


def test_dead_units_are_counted_per_channel_and_feature():
    conv = nn.Conv2d(1, 3, 1)
    conv.weight.data = torch.tensor([1.0, -1.0, 0.0]).view(3, 1, 1, 1)
    conv.bias.data = torch.tensor([0.0, 0.0, -1.0])  # channels 1 and 2 never fire on x > 0
    fc = nn.Linear(3, 2)
    fc.weight.data = torch.tensor([[1.0, 0.0, 0.0], [-1.0, 0.0, 0.0]])
    fc.bias.data.zero_()  # unit 1 never fires
    net = nn.Sequential(conv, nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), fc, nn.ReLU())
    x = torch.rand(4, 1, 5, 5) + 0.1
    assert dead_units(net, x) == [("1", 2, 3), ("5", 1, 2)]
    assert not net[1]._forward_hooks and not net[5]._forward_hooks  # the hooks are removed
    conv.bias.data[2] = 1.0  # alive on a single image's single pixel is alive
    x[1:] = 0
    assert dead_units(net, x)[0] == ("1", 1, 3)


def test_dead_units_of_a_run(fake_data, capsys):
    run = train_into(fake_data, "st", "schedule.lr=0", "test=false", "experiment=mnist_rts")
    capsys.readouterr()  # the training's own output
    main([str(fake_data), "--n", "16"])
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"{run}: transformers.0.localisation.") and "classifier." in line
