"""stn.runs.figure: the Table 1 picture drawn from a finished run's best checkpoint."""

import numpy as np
import pytest
from helpers import SHORT, compose, train_into
from PIL import Image

from stn.runs.figure import main, render
from stn.train import train


def test_figure_of_a_run(fake_data):
    run = train_into(
        fake_data, "st", "schedule.lr=0", "test=false", "stn.n=2", "experiment=mnist_addition"
    )
    panels = render(run, n=4)  # two parallel STs: two panels of two rows of 4 images
    s, pad = 42, 2
    assert panels.shape == (3, 2 * (2 * (s + pad) + pad), 4 * (s + pad) + pad)
    main([str(run), "--n", "4", "--scale", "2", "--out", str(fake_data / "fig.png")])
    png = np.asarray(Image.open(fake_data / "fig.png"))
    assert png.shape[:2] == (2 * panels.shape[1], 2 * panels.shape[2])
    # lr 0 keeps each ST the identity: its output row repeats the input digit it is drawn on.
    top = panels[:, pad : pad + s, pad : pad + s]
    below = panels[:, 2 * pad + s : 2 * pad + 2 * s, pad : pad + s]
    red = (top[0] > 0.99) & (top[1:] < 0.01).all(0)
    assert np.allclose(top[:, ~red], below[:, ~red], atol=1 / 255)


def test_runs_without_transformers_or_checkpoints_are_refused(fake_data):
    with pytest.raises(FileNotFoundError, match="finished run folder"):
        render(fake_data / "nowhere")
    with pytest.raises(ValueError, match="without spatial transformers"):
        render(train_into(fake_data, "cnn", "schedule.lr=0", "test=false", "stn=none"))


def test_a_record_is_drawn_only_elsewhere(tmp_path):
    """A record's folder is the repository's evidence: without ``--out`` nothing is drawn
    into it, and the refusal comes before any data is read."""
    from stn.runs.folder import FACTS

    (tmp_path / FACTS).write_text("{}")
    (tmp_path / "config.yaml").write_text("{}")
    with pytest.raises(SystemExit) as exit_:
        main([str(tmp_path)])
    assert (
        exit_.value.code
        == f"stn-figure: {tmp_path} is a record, kept in the repository: give --out"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml", FACTS]


def test_the_best_run_is_chosen_on_validation_error(tmp_path):
    from torch.utils.tensorboard import SummaryWriter

    from stn.runs.figure import best_run

    def fake(name, model, transform, val, test):
        run = tmp_path / name
        (run / "tensorboard").mkdir(parents=True)
        (run / "config.yaml").write_text(
            f"model:\n  name: {model}\nstn:\n  transform: {transform}\n"
        )
        (run / "metrics.json").write_text("{}")
        with SummaryWriter(run / "tensorboard") as writer:
            writer.add_scalar("val/err", val, 0)
            writer.add_scalar("test/err", test, 0)

    fake("a", "cnn", "affine", val=1.5, test=0.1)  # the lowest test error: not a criterion
    fake("b", "cnn", "tps", val=1.2, test=0.9)
    fake("c", "cnn", "none", val=0.5, test=0.5)  # no ST to draw
    fake("d", "fcn", "affine", val=1.0, test=1.0)
    assert best_run(tmp_path, {"model.name": "cnn"}) == tmp_path / "b"
    assert best_run(tmp_path, {}) == tmp_path / "d"
    with pytest.raises(FileNotFoundError, match="no finished run with STs"):
        best_run(tmp_path, {"model.name": "mlp"})


@pytest.mark.slow  # minutes of processes on a 2-core CPU: -m slow
def test_figure_and_dead_units_of_a_run_of_every_family(fake_svhn, cub_root, capsys):
    """SVHN's STs sit on feature maps, CUB's crop parts: both are drawn, and their ReLUs
    counted."""
    from stn.runs.dead_units import main as dead_units

    root, _ = fake_svhn
    small = ["schedule.batch_size=4", "+trainer.limit_train_batches=1", "test=false"]
    svhn = train_into(root, "svhn", "experiment=svhn_multi", "data.val_size=6", *small)
    cfg = compose([*SHORT, "experiment=cub_2x", "model.pretrained=false", "data.size=64",
                   "model.crop=32", "data.val_size=20", *small], root)  # fmt: skip
    cfg.paths.data_dir, cfg.paths.output_dir = str(cub_root.parent), str(root / "cub")
    train(cfg)
    cub = root / "cub"
    side = 2 * (64 + 2) + 2  # a panel: two rows of two 64 px images, padded by 2
    for run, transformers in ((svhn, 4), (cub, 2)):
        assert render(run, n=2).shape == (3, transformers * side, side)  # one panel per ST
    dead_units([str(svhn), str(cub), "--n", "8"])
    out = capsys.readouterr().out
    assert f"{svhn}: features.0.localisation" in out and f"{cub}: transformer.localisation" in out
