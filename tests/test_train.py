"""Every experiment config composes and trains end to end (fast_dev_run) on generated MNIST."""

import io
import json
import math
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import torch
from helpers import EXPERIMENTS, MNIST, ROOT, SHORT, compose, multirun, single_run
from hydra import compose as hydra_compose
from hydra import initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import OmegaConf, open_dict

from stn.data.registry import create_datamodule
from stn.errors import UserError
from stn.tasks.classification import Classification
from stn.train import CONFIGS, train


@pytest.mark.parametrize("experiment", MNIST)
@pytest.mark.parametrize("model", ["fcn", "cnn"])
@pytest.mark.parametrize("stn", ["none", "affine", "projective", "tps"])
def test_every_table_cell_composes(experiment, model, stn):
    cfg = compose([f"experiment={experiment}", f"model={model}", f"stn={stn}"])
    assert cfg.task_name == experiment and cfg.model.name == model
    assert cfg.stn.transform == stn


def test_addition_defaults_to_its_own_schedule_which_a_chosen_one_replaces():
    addition = compose(["experiment=mnist_addition"])
    assert (addition.schedule.lr, addition.schedule.optimizer) == (0.001, "adam")
    assert (addition.model.params, addition.stn.pool) == (400_000, 2)  # pooled as RTS is
    assert compose(["experiment=mnist_addition", "stn=tps"]).stn.shared is False
    assert compose(["experiment=mnist_rts"]).schedule.lr == 0.003  # the budget's
    paper = compose(["experiment=mnist_addition", "schedule=paper"]).schedule
    assert (paper.lr, paper.optimizer, paper.max_steps) == (0.01, "sgd", 150_000)


def test_experiments_cover_the_paper():
    assert EXPERIMENTS == [
        "cub_2x",
        "cub_4x",
        "cub_cnn",
        "mnist_addition",
        "mnist_e",
        "mnist_p",
        "mnist_r",
        "mnist_rts",
        "mnist_tc",
        "svhn_cnn",
        "svhn_multi",
        "svhn_single",
    ]


@pytest.mark.parametrize(
    "overrides",
    [[f"experiment={e}"] for e in MNIST]
    + [
        ["experiment=mnist_rts", "model=fcn", "stn=tps"],
        ["experiment=mnist_addition", "stn.n=2", "stn=projective"],
    ],
    ids=lambda o: ",".join(o),
)
def test_fast_dev_run(fake_data, overrides):
    cfg = compose([*overrides, "trainer.fast_dev_run=true"], fake_data)
    val_err = train(cfg)
    assert 0 <= val_err <= 100
    assert list((fake_data / "out" / "tensorboard").glob("events.out.tfevents.*"))


def test_checkpoints_load_with_weights_only_and_resume(fake_data):
    overrides = [
        "experiment=mnist_rts",
        "stn=tps",
        "trainer.max_steps=2",
        "trainer.max_epochs=1",
        "+trainer.limit_train_batches=2",
        "+trainer.limit_val_batches=1",
        "test=false",
    ]
    train(compose(overrides, fake_data))
    last = fake_data / "out" / "checkpoints" / "last.ckpt"
    state = torch.load(last, weights_only=True)
    assert state["global_step"] == 2
    model = Classification(**state["hyper_parameters"])
    model.load_state_dict(state["state_dict"])
    resumed = compose(
        [*overrides, "trainer.max_steps=4", "trainer.max_epochs=-1", f"ckpt_path={last}"], fake_data
    )
    train(resumed)
    assert torch.load(last, weights_only=True)["global_step"] == 4


@pytest.mark.slow  # minutes of processes on a 2-core CPU: -m slow
def test_a_failing_job_does_not_stop_a_multirun(fake_data):
    # Two steps each; the second job's, at lr 1e6, diverge (its validation loss says so).
    multirun(
        fake_data, *SHORT, "data.val_size=100", "trainer.precision=32-true", "schedule.lr=1e-3,1e6"
    )
    runs = {p.name: p for p in (fake_data / "multi" / "mnist_rts").iterdir() if p.is_dir()}
    assert len(runs) == 2
    (ok,) = [name for name in runs if "schedule.lr=0.001," in name]
    (bad,) = [name for name in runs if "schedule.lr=1000000.0," in name]
    assert (runs[bad] / "FAILED").exists()
    assert not (runs[ok] / "FAILED").exists()
    assert list((runs[ok] / "tensorboard").glob("events.*"))


def test_default_run_on_real_mnist(mnist_root, tmp_path):
    cfg = compose(
        [
            "trainer.fast_dev_run=true",
            f"paths.data_dir={mnist_root}",
            "data.subset=3000",
            "data.val_size=500",
        ]
    )
    with open_dict(cfg):
        cfg.paths.output_dir = str(tmp_path / "out")
        cfg.paths.cache_dir = str(tmp_path / "cache")
    assert not math.isnan(train(cfg))


def test_unknown_values_fail_before_any_work():
    with pytest.raises(Exception, match="mnist_x"):
        compose(["experiment=mnist_x"])
    with pytest.raises(ValueError, match=r"unknown model\.name='mlp'; valid: .*fcn, cnn"):
        from stn.models import create_model

        create_model({"name": "mlp"}, {"transform": "none"}, in_shape=(1, 28, 28), num_classes=10)


def test_a_run_stopped_before_an_epochs_end_validates_and_tests_its_last_weights(fake_data):
    """One step of an epoch of ten: no validation in the loop, so the last weights are
    validated after it (a diverged one then fails, see below), saved as the best and
    tested."""
    from stn.runs.trained import batches, load

    steps = ["trainer.max_steps=1", "trainer.max_epochs=-1", "schedule.batch_size=32"]
    train(compose(steps, fake_data))
    metrics = json.loads((fake_data / "out" / "metrics.json").read_text())
    last = fake_data / "out" / "checkpoints" / "last.ckpt"
    assert torch.load(last, weights_only=True)["global_step"] == 1
    again = compose(["train=false", f"ckpt_path={last}", "schedule.batch_size=32"], fake_data)
    again.paths.output_dir = str(fake_data / "again")
    assert train(again) == metrics["test/err"]  # the last weights were tested
    best = torch.load(fake_data / "out" / "checkpoints" / "best.ckpt", weights_only=True)
    last_weights = _weights(fake_data / "out")  # the only weights validated: the best
    assert best["state_dict"].keys() == last_weights.keys()
    assert all(torch.equal(w, last_weights[k]) for k, w in best["state_dict"].items())
    data, task = load(fake_data / "out")
    with torch.no_grad():
        wrong = sum(int((task(x).argmax(-1) != y).sum()) for x, y, _ in batches(data, "val"))
    assert metrics["val/err"] == pytest.approx(wrong)  # of 100 validation digits: in %


def test_learning_rate_warms_up_linearly_then_follows_its_schedule():
    cfg = compose(["experiment=mnist_r", "schedule=paper", "schedule.warmup_steps=100"])
    schedule = {**cfg.schedule, "step_size": 300, "loc_lr_factor": 0.5}
    task = Classification(cfg.model, cfg.stn, schedule, [1, 28, 28], 10)
    scheduler = task.configure_optimizers()["lr_scheduler"]["scheduler"]
    lrs = []
    for _ in range(301):
        lrs.append([g["lr"] for g in scheduler.optimizer.param_groups])
        scheduler.step()
    lr = cfg.schedule.lr
    expected = {0: lr / 100, 49: lr / 2, 99: lr, 299: lr, 300: lr * cfg.schedule.gamma}
    for it, want in expected.items():  # the loc net's group is warmed up alike
        assert lrs[it] == pytest.approx([want, want * 0.5], rel=1e-12)


def _weights(out):
    return torch.load(out / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]


def test_same_seed_same_weights(fake_data):
    runs = {}
    for name, seed in (("a", 0), ("b", 0), ("c", 1)):
        cfg = compose([*SHORT, "trainer.deterministic=true", f"seed={seed}"], fake_data)
        with open_dict(cfg):
            cfg.paths.output_dir = str(fake_data / name)
        train(cfg)
        runs[name] = _weights(fake_data / name)
    assert runs["a"].keys() == runs["c"].keys()
    assert all(torch.equal(runs["a"][k], runs["b"][k]) for k in runs["a"])
    assert not all(torch.equal(runs["a"][k], runs["c"][k]) for k in runs["a"])


def test_tensorboard_shows_grids_outputs_theta_and_hparams(fake_data):
    import numpy as np
    from PIL import Image
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    # lr 0 keeps the ST at its identity start, so the panel's content is known exactly.
    cfg = compose([*SHORT, "schedule.lr=0", "trainer.log_every_n_steps=1"], fake_data)
    train(cfg)
    events = EventAccumulator(
        str(fake_data / "out" / "tensorboard"), size_guidance={"images": 0, "histograms": 0}
    ).Reload()
    tags = events.Tags()
    assert {"train/loss", "val/err"} <= set(tags["scalars"])
    assert "st0/theta" in tags["histograms"]
    assert events.PluginTagToContent("hparams")

    (panel,) = events.Images("st0/input_grid_output")[-1:]
    panel = np.asarray(Image.open(io.BytesIO(panel.encoded_image_string)))
    panel = torch.from_numpy(panel[..., :3].copy()).float().div(255)  # (H, W, 3)
    data = create_datamodule(OmegaConf.to_container(cfg.data, resolve=True))
    data.setup()
    preview = data.sets["val"][list(range(8))]  # the fixed preview: (8, 1, 42, 42)
    inputs = data.on_after_batch_transfer(preview, 0).image
    s, pad = 42, 2
    assert panel.shape == (2 * (s + pad) + pad, 8 * (s + pad) + pad, 3)
    for i, image in enumerate(inputs[:, 0]):
        x0 = pad + i * (s + pad)
        drawn = panel[pad : pad + s, x0 : x0 + s]
        output = panel[2 * pad + s : 2 * pad + 2 * s, x0 : x0 + s]
        # Bottom row: the identity ST's output is its input.
        assert torch.allclose(output, image[..., None].expand(-1, -1, 3), atol=1.5 / 255)
        # Top row: the input, with the identity grid in red: 5 lines each way, border included.
        red = (drawn[..., 0] > 0.99) & (drawn[..., 1:] < 0.01).all(-1)
        for edge in (red[0], red[-1], red[:, 0], red[:, -1]):
            assert edge.all()
        assert red.all(0).sum() == 5 and red.all(1).sum() == 5
        assert torch.allclose(drawn[~red], image[~red][:, None].expand(-1, 3), atol=1.5 / 255)


@pytest.mark.slow  # 40 s; the default run keeps the Table 2 sweep and the failing-job multirun
def test_table1_sweep_runs_32_cells(fake_data):
    multirun(fake_data, "+sweep=table1", "trainer.fast_dev_run=true", "data.val_size=100")
    runs = sorted(p.relative_to(fake_data / "multi") for p in (fake_data / "multi").glob("*/*"))
    assert len(runs) == 32
    assert Path("mnist_p/data.val_size=100,model=fcn,stn=tps,trainer.fast_dev_run=True") in runs
    for run in runs:
        path = fake_data / "multi" / run
        assert not (path / "FAILED").exists(), run
        assert list((path / "tensorboard").glob("events.*")), run


def test_help_lists_experiments_and_typos_fail_at_once(tmp_path):
    def cli(*args):
        env = {**os.environ, "STN_DATA_DIR": str(tmp_path / "nowhere")}
        cmd = [sys.executable, "train.py", *args, f"paths.cache_dir={tmp_path}"]
        return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)

    shown = cli("--help")
    assert shown.returncode == 0
    assert all(name in shown.stdout for name in EXPERIMENTS)
    assert "python -m stn.runs.report" in shown.stdout
    typo = cli("experiment=mnist_rst")
    assert typo.returncode != 0
    assert "Available options in 'experiment'" in typo.stderr and "mnist_rts" in typo.stderr
    key = cli("schedul.lr=0.1")
    assert key.returncode != 0 and "Key 'schedul' is not in struct" in key.stderr
    assert not (tmp_path / "nowhere").exists() and not list(tmp_path.glob("*.h5"))


def test_the_command_line_imports_no_training_stack():
    # --help, typos, --cfg and a missing MNIST answer from these modules alone: no torch,
    # Lightning or models.
    code = (
        "import sys, stn.train, stn.runs.report, stn.runs.export, stn.data.mnist_files; "
        "print(sorted(m for m in ('torch', 'pytorch_lightning', 'torchvision', "
        "'tensorboard', 'stn.tasks.classification') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == "[]", done.stdout + done.stderr


def test_run_folders_are_named_by_what_is_trained_not_where():
    def folder(*overrides):
        GlobalHydra.instance().clear()
        with initialize_config_dir(str(CONFIGS), version_base="1.3"):
            cfg = hydra_compose("train", overrides=list(overrides), return_hydra_config=True)
        HydraConfig.instance().set_config(cfg)
        return cfg.hydra.sweep.subdir

    cell = ("experiment=mnist_addition", "model=fcn", "stn=tps", "stn.n=2")
    assert folder(*cell) == "mnist_addition/model=fcn,stn.n=2,stn=tps"
    # A run started on a CPU may be finished on a GPU: the same folder, so it resumes there.
    assert folder(*cell, "trainer.accelerator=gpu") == folder(*cell)
    assert folder(*cell, "schedule=paper") != folder(*cell)
    # Smoke and partial runs name their own folders: never the full run's.
    for smoke in ("trainer.fast_dev_run=true", "data.subset=600", "+trainer.limit_val_batches=2"):
        named = folder(*cell, smoke)
        assert named != folder(*cell) and smoke.lstrip("+") in named
    assert folder(*cell, "resume=false", "threads=1", "compile=true") == folder(*cell)
    # The options left out of the name are ones stn.runs.folder knows do not change training
    # (besides the experiment and sweep, which name the folder above it).
    from stn.runs.folder import trained

    hydra = OmegaConf.load(CONFIGS / "hydra" / "default.yaml")
    left_out = set(hydra.job.config.override_dirname.exclude_keys) - {"experiment", "sweep"}
    assert left_out and not [key for key in left_out if trained(key)]


def test_which_runs_are_smoke_runs():
    from stn.runs.folder import partial

    assert partial({"trainer.fast_dev_run": False, "data.subset": None}) == []
    assert partial({"trainer.limit_train_batches": 1.0}) == []  # the whole epoch
    assert partial({"trainer.limit_train_batches": 1}) == ["trainer.limit_train_batches=1"]
    assert partial({"trainer.fast_dev_run": 2, "data.subset": 600}) == [
        "trainer.fast_dev_run=2",
        "data.subset=600",
    ]


@pytest.mark.slow
def test_compiled_training_writes_eager_checkpoints_and_figures(fake_data):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    train(compose([*SHORT, "compile=true", "stn=tps"], fake_data))
    state = torch.load(fake_data / "out" / "checkpoints" / "last.ckpt", weights_only=True)
    assert state["hyper_parameters"]["compile"] is True
    eager = Classification(**{**state["hyper_parameters"], "compile": False})
    eager.load_state_dict(state["state_dict"])  # the eager network's parameter names
    events = EventAccumulator(str(fake_data / "out" / "tensorboard")).Reload()
    assert "st0/input_grid_output" in events.Tags()["images"]


@pytest.mark.slow  # minutes of processes on a 2-core CPU: -m slow
def test_a_diverging_run_stops_failed_with_advice_that_fits_its_precision(fake_data):
    out = fake_data / "diverged"
    returncode, _, stderr = single_run(
        *(fake_data, out, "schedule.lr=1e6", "schedule.batch_size=8", "schedule.max_epochs=3"),
        *("data.val_size=100", "trainer.precision=32-true"),
    )
    assert returncode != 0
    (message,) = [line for line in stderr.splitlines() if "training diverged" in line]
    assert "training diverged: the loss" in message
    assert "schedule.lr=1000000.0" in message and "at step " in message
    assert "32-true precision: lower schedule.lr or schedule.loc_lr_factor" in message
    assert "train in 32-true" not in message  # it already does
    assert (out / "FAILED").exists() and not (out / "metrics.json").exists()


def test_a_run_too_short_for_the_loss_check_fails_on_its_validation_loss(fake_data):
    """Two steps at lr 1e6 (of an epoch of ten: validated after the loop): too few for the
    training loss's patience, but the validation loss shows the weights are no result:
    failed, and no metrics."""
    from helpers import train_into

    from stn.tasks.classification import Diverged

    with pytest.raises(
        Diverged, match=r"training diverged: the validation loss is .* after step 2"
    ):
        train_into(fake_data, "short", "schedule.lr=1e6", "trainer.precision=32-true")
    assert not (fake_data / "short" / "metrics.json").exists()


@pytest.mark.parametrize("precision", ["32-true", "bf16-mixed"])
def test_divergence_is_a_non_finite_loss_or_one_that_stays_far_above_chance(precision):
    from stn.tasks.classification import DIVERGED, PATIENCE, Diverged

    cfg = compose(["experiment=mnist_rts"])
    parts = [OmegaConf.to_container(cfg[k], resolve=True) for k in ("model", "stn", "schedule")]
    task = Classification(*parts, in_shape=[1, 42, 42], num_classes=10)
    task._trainer = type("T", (), {"precision": precision, "global_step": 7})()
    chance = math.log(10)
    for _ in range(PATIENCE - 1):
        task.check_divergence(DIVERGED * chance * 2, chance)  # high, but not for long enough
    task.check_divergence(1.0, chance)  # back down: the count starts again
    for _ in range(PATIENCE - 1):
        task.check_divergence(1e9, chance)
    with pytest.raises(Diverged, match=r"stayed above 100 × the chance loss \(2.30\) for 20"):
        task.check_divergence(1e9, chance)
    with pytest.raises(Diverged, match="the loss is nan at step") as raised:
        task.check_divergence(math.nan, chance)
    assert ("trainer.precision=32-true" in str(raised.value)) == (precision == "bf16-mixed")
    task.too_high = 0  # the last training loss was sound: eval-mode statistics lag, no more
    task.check_validation(DIVERGED * chance * 10, chance)
    for loss in (math.inf, math.nan):
        with pytest.raises(Diverged, match=r"the validation loss is \S+ \(chance: 2.30\)"):
            task.check_validation(loss, chance)
    task.too_high = 1  # ... and was not
    task.check_validation(DIVERGED * chance * 0.99, chance)  # high, but below the bound
    for loss in (DIVERGED * chance, math.inf, math.nan):
        with pytest.raises(Diverged, match=r"the validation loss is \S+ \(chance: 2.30\)"):
            task.check_validation(loss, chance)


@pytest.mark.slow  # minutes of processes on a 2-core CPU: -m slow
def test_every_epoch_is_one_line_in_the_log_and_on_a_non_terminal_stdout(fake_data):
    out = fake_data / "run"
    returncode, stdout, stderr = single_run(
        fake_data, out, "schedule.max_epochs=3", "data.val_size=100"
    )
    assert returncode == 0, stderr[-3000:]
    log = (out / "train.log").read_text().splitlines()
    epochs = [line.split(" - ", 1)[1] for line in log if "[stn.progress]" in line]
    assert [e.split(":")[0] for e in epochs] == ["epoch 1/3", "epoch 2/3", "epoch 3/3"]
    pattern = r"epoch \d/3: train/loss \d+\.\d{4}, val/err \d+\.\d\d % \(best \d+\.\d\d %\), "
    assert all(re.match(pattern + r"\d+ s, ~\d+ s left$", e) for e in epochs), epochs
    assert epochs[-1].endswith("~0 s left")
    assert all(e in stdout for e in epochs)  # stdout is no terminal here: shown there
    assert len(log) == len(set(log))  # each line once
    metrics = json.loads((out / "metrics.json").read_text())
    last = log[-1].split(" - ", 1)[1]
    assert last.startswith(f"finished: val/err {metrics['val/err']:.4g}, ")
    assert f"test/err {metrics['test/err']:.4g}" in last and last.endswith(f"({out}/metrics.json)")
    assert "Tip" not in "\n".join(log)  # Lightning's product tips are not news of the run


def test_a_terminal_keeps_its_progress_bar_and_gets_no_epoch_lines(tmp_path):
    import logging

    from stn.tasks.epoch_log import PROGRESS, quiet_on_terminals

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal, file = Terminal(), tmp_path / "train.log"
    handlers = [logging.StreamHandler(terminal), logging.FileHandler(file)]
    root = logging.getLogger()
    for handler in handlers:
        root.addHandler(handler)
    try:
        quiet_on_terminals()
        logging.getLogger(PROGRESS).warning("epoch 1/3: ...")
        logging.getLogger("stn.train").warning("other news")
    finally:
        for handler in handlers:
            root.removeHandler(handler)
            handler.close()
    assert terminal.getvalue() == "other news\n"
    assert file.read_text() == "epoch 1/3: ...\nother news\n"


def test_user_errors_print_one_paragraph_without_a_traceback(tmp_path):
    """From the command line: one line on stderr, exit code 1; a mistake in the config or a
    missing dataset is said before Lightning is imported (the other messages: in-process
    tests), and leaves the run folder as it was; a run that fails once started is marked
    FAILED."""
    from fake_mnist import write_fake_mnist

    nowhere = tmp_path / "nowhere" / "MNIST" / "raw"
    fake = write_fake_mnist(tmp_path / "fake")
    # Runs train.py as `python train.py ARGS` does, then says whether Lightning was imported.
    wrapper = (
        "import atexit, runpy, sys; atexit.register(lambda: print('lightning imported:', "
        "'pytorch_lightning' in sys.modules, file=sys.stderr)); sys.argv = sys.argv[1:]; "
        "runpy.run_path('train.py', run_name='__main__')"
    )

    def cli(*args, run="run", **env):
        env = {**os.environ, "STN_DATA_DIR": str(tmp_path / "nowhere"), **env}
        run_dir = f"hydra.run.dir={tmp_path / run}"
        cmd = [sys.executable, "-c", wrapper, "train.py", *args, run_dir]
        return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)

    on_fake = f"paths.data_dir={fake}"  # 400 training digits
    cases = [
        (["threads=0"], "error: threads=0 must be a positive integer or auto", False, False),
        (["schedule.optimizer=adamw"], "error: schedule.optimizer='adamw' is not", False, False),
        (["data.distortion.angle=abc"], "error: data.distortion.angle='abc' must", False, False),
        (["+data.foo=1"], "error: data.foo=1 is not an option of the mnist dataset", False, False),
        (["stn.transform=foo"], "error: unknown stn.transform='foo'; valid: none", False, False),
        (["model.channels=abc"], "error: model.channels='abc' must be a list of", False, False),
        ([], f"error: MNIST is not in {nowhere} and could not be downloaded", False, False),
        (
            ["data.val_size=400", on_fake],
            "error: data.val_size=400 must lie in (0, 400): there are 400 MNIST training digits",
            False,
            False,
        ),
        (
            ["model.params=1000", "data.val_size=100", on_fake],
            "error: model.params=1000 is too small for this network: its localisation nets",
            False,
            False,
        ),
        (
            ["model.channels=[0,20]"],
            "error: model.channels=[0, 20] must hold integers of at least 1",
            False,
            False,
        ),
        (  # started: two steps, and its validation loss shows it diverged
            [*SHORT, "schedule.lr=1e6", "trainer.precision=32-true", "data.val_size=100", on_fake],
            "error: training diverged: the validation loss is",
            True,
            True,
        ),
    ]
    # Two at a time, each into its own folder (the last into "run"): seconds of imports each.
    runs = [f"run{i}" for i in range(len(cases) - 1)] + ["run"]
    with ThreadPoolExecutor(2) as pool:
        results = pool.map(lambda case, run: cli(*case[0], run=run), cases, runs)
    for (_, message, lightning, failed), done, run in zip(cases, results, runs, strict=True):
        assert done.returncode == 1
        # The paragraph, then the wrapper's line; a run that started may have printed
        # Lightning's warnings before them.
        assert done.stderr.splitlines()[-2].startswith(message), done.stderr[-2000:]
        assert lightning or done.stderr.count("\n") == 2, done.stderr[-2000:]
        assert done.stderr.endswith(f"lightning imported: {lightning}\n")
        assert "Traceback" not in done.stderr and "HYDRA_FULL_ERROR" not in done.stderr
        assert (tmp_path / run / "FAILED").exists() == failed
        assert (tmp_path / run / "config.yaml").exists() == failed
        assert (tmp_path / run).exists() == failed  # a refused command leaves no folder
    assert not any(nowhere.iterdir())  # a failed download leaves nothing
    # HYDRA_FULL_ERROR asks for the traceback. A finished run's folder keeps its status
    # whatever a later command gets wrong.
    (tmp_path / "run" / "FAILED").unlink()
    (tmp_path / "run" / "metrics.json").write_text('{"val/err": 1.0}')
    command = (tmp_path / "run" / ".hydra" / "overrides.yaml").read_text()
    assert command.startswith(f"- {SHORT[0]}\n")  # the command of the run that failed
    everything = cli("schedule.max_epochs=abc", HYDRA_FULL_ERROR="1")
    assert everything.returncode == 1 and "Traceback" in everything.stderr
    assert not (tmp_path / "run" / "FAILED").exists()
    refused = cli("threads=0")  # the folder of the same run: its recorded command stays
    assert refused.returncode == 1
    assert (tmp_path / "run" / ".hydra" / "overrides.yaml").read_text() == command
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [
        ".hydra",
        "checkpoints",
        "config.yaml",
        "metrics.json",
        "tensorboard",
        "train.log",
    ]


def test_a_sweep_says_why_each_refused_job_failed_and_goes_on(tmp_path):
    """A job refused before it starts leaves no folder, and its message still reaches the
    console (train.log would have opened in the folder it removed)."""
    cmd = [sys.executable, "train.py", "-m", "schedule.lr=-1,-2", f"hydra.sweep.dir={tmp_path}"]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    said = done.stdout + done.stderr
    assert done.returncode == 0, said[-2000:]
    for lr in ("-1", "-2"):
        assert f"job failed: schedule.lr={lr}: schedule.lr={lr} must be a number" in said
    assert "Traceback" not in said
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mnist_rts", "multirun.yaml"]
    assert not any((tmp_path / "mnist_rts").iterdir())


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("schedule.max_epochs=abc", "schedule.max_epochs='abc' must be an integer: give e.g."),
        ("stn.n=0", "stn.n=0 must be an integer of at least 1"),
        ("schedule.batch_size=0", "schedule.batch_size=0 must be an integer of at least 1"),
        ("schedule.lr=-0.1", "schedule.lr=-0.1 must be a number of at least 0"),
        ("schedule.lr=nan", "schedule.lr=nan must be a number"),
        ("seed=1.5", "seed=1.5 must be an integer"),
        ("data.val_size=true", "data.val_size=True must be an integer"),
        ("threads=0", "threads=0 must be a positive integer or auto"),
        ("trainer.precision=bf16", "trainer.precision='bf16' is not one of: auto,"),
        ("channels_last=maybe", "channels_last='maybe' must be true, false or auto"),
        (
            "+trainer.max_epoch=1",
            "trainer.max_epoch is not an option of Lightning's Trainer; "
            "did you mean trainer.max_epochs",
        ),
        ("+trainer.logger=false", "trainer.logger is set by the suite: remove it"),
        ("schedule.max_epochs=0", "schedule.max_epochs=0 with schedule.max_steps=-1 trains for"),
        ("schedule.max_epochs=-1", "schedule.max_epochs=-1 with schedule.max_steps=-1 trains"),
        ("data.distortion.scale=[-1,0]", "data.distortion.scale=[-1, 0] must be two numbers"),
        ("data.workers=-1", "data.workers=-1 must be null (one per usable core) or an integer"),
        ("data.train_distortions=new", "data.train_distortions='new' must be 'fresh' or 'fixed'"),
        ("schedule.scheduler=step", "schedule.scheduler=step needs schedule.step_size, an int"),
        ("schedule.optimizer=adamw", "schedule.optimizer='adamw' is not one of: sgd, adam"),
        ("+schedule.decay=1", "schedule.decay=1 is not an option of the schedule"),
        ("seed=-1", "seed=-1 must be an integer of at least 0"),
        ("seed=4294967296", "seed=4294967296 must be an integer of at most 4294967295"),
        ("stn.pool=50", "stn.pool=50 makes the STs' 42×42 output 0×0: give stn.pool of at most 42"),
        ("ckpt_path=/no/best.ckpt", "no checkpoint at /no/best.ckpt: check ckpt_path"),
    ],
)
def test_config_values_are_checked_before_any_work(fake_data, override, message):
    from stn.errors import UserError

    with pytest.raises(UserError, match=re.escape(message)):
        train(compose([override], fake_data))
    assert not (fake_data / "out").exists() and not (fake_data / "cache").exists()


@pytest.mark.parametrize(
    ("experiment", "message"),
    [
        ("mnist_rts", r"raw: train-images-idx3-ubyte holds \(100, 28, 28\) images but"),
        ("svhn_multi", r"SVHN train split not found: .*digitStruct\.mat is missing"),
        ("cub_2x", r"CUB_200_2011/images\.txt is missing: extract CUB_200_2011\.tgz"),
    ],
)
def test_each_datasets_files_are_checked_before_any_folder_is_written(
    fake_data, experiment, message
):
    """Swapped MNIST files (the generated ones: their sizes disagree), no SVHN, no CUB."""
    raw = fake_data / "data" / "MNIST" / "raw"
    (raw / "train-images-idx3-ubyte").rename(raw / "swap")
    (raw / "t10k-images-idx3-ubyte").rename(raw / "train-images-idx3-ubyte")
    (raw / "swap").rename(raw / "t10k-images-idx3-ubyte")
    with pytest.raises(UserError, match=message):
        train(compose([f"experiment={experiment}"], fake_data))
    assert not (fake_data / "out").exists() and not (fake_data / "cache").exists()


def test_an_unwritable_cache_folder_is_said_before_any_work(fake_data):
    from stn.errors import UsageError

    blocker = fake_data / "a_file"
    blocker.write_text("")
    cfg = compose([f"paths.cache_dir={blocker / 'cache'}"], fake_data)
    with open_dict(cfg):
        cfg.paths.cache_dir = str(blocker / "cache")  # _compose points it at tmp_path
    with pytest.raises(UsageError, match=r"paths\.cache_dir=.*a_file/cache cannot be written"):
        train(cfg)
    assert not (fake_data / "out").exists()


def test_a_refused_command_leaves_the_run_folder_as_it_was(fake_data):
    """An unfinished run's folder, then commands refused for a missing checkpoint, an unknown
    optimiser when retraining and a changed option on resume (by itself or from a checkpoint
    given by hand): not a byte of it changes, nor is it marked."""
    from helpers import train_into

    run = train_into(fake_data, "run", "experiment=mnist_rts", "model=fcn", "stn=none")
    (run / "metrics.json").unlink()  # interrupted: it would resume from last.ckpt

    def snapshot():
        return {p.relative_to(run): p.read_bytes() for p in run.rglob("*") if p.is_file()}

    before = snapshot()
    for overrides, error in [
        (["ckpt_path=/nowhere/best.ckpt"], "no checkpoint at /nowhere/best.ckpt"),
        # resume=false would train it afresh: its checkpoints and logs stay till it can
        (
            ["resume=false", "schedule.optimizer=rmsprop"],
            "schedule.optimizer='rmsprop' is not one of: sgd, adam",
        ),
        (["schedule.lr=0.1"], "holds a run of another configuration (schedule.lr: 0.003 → 0.1)"),
        # by hand, from its checkpoint: the optimiser would go on at the old rate
        (
            [f"ckpt_path={run}/checkpoints/last.ckpt", "schedule.lr=0.1"],
            "was trained on another schedule (schedule.lr: 0.003 → 0.1), and a resumed run",
        ),
    ]:
        with pytest.raises(UserError, match=re.escape(error)):
            train_into(
                fake_data, "run", "experiment=mnist_rts", "model=fcn", "stn=none", *overrides
            )
        assert snapshot() == before, overrides


def test_the_trainer_arguments_read_from_source_are_lightnings():
    """Read without importing Lightning: they must be what its Trainer takes."""
    import inspect

    import pytorch_lightning as pl

    from stn.config_checks import trainer_arguments

    assert trainer_arguments() == set(list(inspect.signature(pl.Trainer).parameters))


def test_parallel_sts_of_no_transform_are_refused(fake_data):
    """``stn=none stn.n=2`` would train a plain network recorded as a 2× one."""
    with pytest.raises(UserError, match=r"stn\.n=2 asks for parallel STs, but stn=none has none"):
        train(compose(["stn=none", "stn.n=2"], fake_data))
    assert not (fake_data / "out").exists()


def test_unpadded_convs_too_large_for_the_sts_output_are_refused_without_a_folder(fake_data):
    """RTS's ST-CNN samples 21×21: with ``model.padding=valid`` its 7×7 conv gets a 6×6 map.
    Said in one paragraph, exit code 1, and the run folder is not left behind."""
    out = fake_data / "run"
    overrides = ("experiment=mnist_rts", "model=cnn", "stn=affine", "model.padding=valid")
    returncode, _, stderr = single_run(fake_data, out, *overrides)
    assert returncode == 1
    assert stderr == (
        "error: model.padding='valid': conv 2 (7×7) of the CNN gets a 6×6 map from its 21×21 "
        "input, too small to convolve and pool: give model.padding=same, or smaller "
        "model.kernel_sizes\n"
    )
    assert not out.exists()


def test_the_schedule_offers_the_optimisers_the_task_builds():
    from stn.tasks import classification, schedule

    assert set(classification.OPTIMISERS) == set(schedule.OPTIMISERS)


def test_a_full_disk_or_quota_is_said_and_other_os_errors_keep_their_traceback():
    import errno

    from stn.train import user_message

    quota = OSError(errno.EDQUOT, "Disk quota exceeded")
    assert user_message(quota).startswith("the disk is full (Disk quota exceeded): free space")
    assert user_message(OSError(errno.EACCES, "Permission denied")) is None


@pytest.mark.slow  # minutes of processes on a 2-core CPU: -m slow
def test_a_full_disk_is_one_paragraph_that_says_where_and_how_to_resume(tmp_path):
    """The disk fills as the run writes (here: its config.yaml): one paragraph naming the file
    and the fix, exit code 1, no traceback."""
    code = (
        "import errno, runpy, sys\n"
        "import stn.train\n"
        "def full(path, text):\n"
        "    raise OSError(errno.ENOSPC, 'No space left on device', str(path))\n"
        "stn.train.write_text_atomic = full\n"
        "sys.argv = sys.argv[1:]\n"
        "runpy.run_path('train.py', run_name='__main__')\n"
    )
    from fake_mnist import write_fake_mnist

    run = tmp_path / "run"
    cmd = [sys.executable, "-c", code, "train.py", "model=fcn", "stn=none", f"hydra.run.dir={run}"]
    env = {**os.environ, "STN_DATA_DIR": str(write_fake_mnist(tmp_path / "data"))}
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    assert done.stderr == (
        f"error: the disk is full writing {run / 'config.yaml'} (No space left on device): "
        f"free space on it, or write elsewhere (hydra.run.dir=..., paths.cache_dir=...); rerun "
        f"the same command to resume from the run's last checkpoint\n"
    )
