"""stn.runs.survey: mirroring warps are told from the rest, and the survey runs end to end."""

import torch
from helpers import train_into

from stn.data.distortions import homography
from stn.nn import build_transform
from stn.runs.survey import CONFIGS, main, mirrored

SQUARE = torch.tensor([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]])


def test_mirrors_are_found_only_where_the_warp_mirrors_the_digit():
    turn, flip = [0.5, 0.8, 0.1, -0.8, 0.5, 0.0], [-1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    affine, projective = build_transform("affine"), build_transform("projective")
    assert mirrored(torch.tensor([turn, flip]), affine, 28).tolist() == [False, True]
    convex = SQUARE * 0.8 + torch.tensor([[0.1, 0.2], [-0.1, 0.0], [0.2, 0.1], [0.0, -0.2]])
    # A P draw whose third corner landed inside the quad (a 2.7σ move): seen from behind.
    dented = torch.tensor([[-0.18, -1.26], [0.9, -0.59], [-0.16, 0.17], [-0.85, 0.87]])
    theta = homography(torch.stack((convex, dented)), SQUARE.expand(2, -1, -1))
    assert mirrored(theta, projective, 28).tolist() == [False, True]
    # A horizon (w = 0) through the image, beyond the region that shows the digit, reverses
    # only the empty border: it does not count.
    horizon = homography((SQUARE * 0.3).unsqueeze(0), SQUARE.unsqueeze(0))
    horizon[0, 6] = 2.0  # w = 2x + 1 vanishes at x = -0.5; the digit is seen for x > -0.19
    assert not mirrored(horizon, projective, 28).item()
    tps = build_transform("tps", grid_size=4)
    crossed = tps.identity().view(16, 2).clone()
    crossed[[5, 6]] = crossed[[6, 5]]  # two neighbouring control points swap places: a fold
    both = torch.stack((tps.identity(), crossed.view(-1)))
    assert mirrored(both, tps, 28).tolist() == [False, True]


def test_survey_prints_each_distortion_config_and_draws_them(fake_data, capsys, tmp_path):
    configs = sorted(path.stem for path in CONFIGS.glob("*.yaml"))
    assert {"r", "rts", "p", "p_unfolded", "p_outward", "p_ic", "e", "e_box", "tc"} <= set(configs)
    configs.remove("tc")  # clutter: not a warp of the digit alone
    main([*configs, "--data", str(fake_data / "data"), "--out", str(tmp_path / "s.png")])
    text = capsys.readouterr().out
    rows = [row.split(" | ")[0] for row in text.splitlines() if row.startswith("| ")]
    assert rows[1:] == [f"| {name.upper()}" for name in configs]  # after the header
    assert "| R | 0.00 | " in text  # a rotation never mirrors
    assert "| P_UNFOLDED | 0.00 | " in text
    assert (tmp_path / "s.png").stat().st_size > 0


def test_a_runs_test_error_is_split_between_damaged_and_intact_digits(fake_data, capsys):
    import json

    import pytest

    from stn.errors import UsageError
    from stn.runs.folder import LAST
    from stn.runs.record import write_record
    from stn.runs.survey import errors_by_damage
    from stn.runs.trained import load_task

    run = train_into(fake_data, "p", "schedule.lr=0", "experiment=mnist_p")
    split = errors_by_damage(run)
    (n_bad, bad), (n_ok, ok), (n, err) = split["damaged"], split["intact"], split["all"]
    assert n_bad + n_ok == n == 100 and n_bad > 0  # P damages some of the 100 fake digits
    assert abs((n_bad * bad + n_ok * ok) / n - err) < 1e-4
    metrics = json.loads((run / "metrics.json").read_text())
    assert abs(err - metrics["test/err"]) <= 100 / n  # fp32 here, the run's precision there
    capsys.readouterr()
    main(["--runs", str(run)])
    assert f"| {run} | {n_bad}, {bad:.2f} | " in capsys.readouterr().out
    # Its record splits the same: the same weights, the same regenerated test digits.
    record = write_record(run, fake_data / "records")
    assert errors_by_damage(record, fake_data / "data", fake_data / "cache") == split
    with pytest.raises(UsageError, match=r"best weights only, not checkpoints/last\.ckpt"):
        load_task(record, LAST)

    addition = train_into(
        fake_data, "add", "schedule.lr=0", "test=false", "experiment=mnist_addition"
    )
    with pytest.raises(ValueError, match="not a one-digit distorted-MNIST run"):
        errors_by_damage(addition)
