"""Tables from real short runs: stn.runs.report reads their configs and TensorBoard events."""

import contextlib
import json
import statistics

import pytest
from helpers import EXPERIMENTS, SHORT, compose

from stn.runs.report import main, report
from stn.tasks.classification import Diverged
from stn.train import train


def _run(root, name, *overrides):
    cfg = compose([*SHORT, *overrides], root)
    cfg.paths.output_dir = str(root / "runs" / name)
    with contextlib.suppress(Diverged):  # a run that fails: train marks it FAILED
        train(cfg)
    return root / "runs" / name


def test_report_places_runs_and_shows_unfinished_and_failed(fake_data):
    """Each cell's seeds, mean, std and minutes (with the machine that ran them: a run
    folder's, as its validation view shows it too), unfinished and failed runs counted."""
    from omegaconf import OmegaConf

    from stn.runs.run import read_run
    from stn.runs.validation import machine

    seeds = [_run(fake_data, f"st_cnn_{s}", "experiment=mnist_rts", f"seed={s}") for s in (0, 1)]
    _run(fake_data, "fcn", "experiment=mnist_rts", "model=fcn", "stn=none", "test=false")
    _run(
        fake_data,
        "cnn",
        "experiment=mnist_rts",
        "stn=none",
        "schedule.lr=1e6",
        "trainer.precision=32-true",
    )  # diverges
    _run(fake_data, "two", "experiment=mnist_rts", "stn.n=2")

    text, rows = report([fake_data / "runs"])
    errors = [json.loads((p / "metrics.json").read_text())["test/err"] for p in seeds]
    cell = next(r for r in rows if (r["row"], r["column"]) == ("ST-CNN Aff", "RTS"))
    assert cell["n"] == 2 and cell["paper"] == 0.5
    assert abs(cell["mean"] - statistics.fmean(errors)) < 1e-6
    assert abs(cell["std"] - statistics.stdev(errors)) < 1e-6
    assert abs(cell["diff"] - (cell["mean"] - 0.5)) < 1e-9
    assert 0 < cell["minutes"] < 5  # training time, averaged over the seeds
    config = OmegaConf.load(seeds[0] / "config.yaml")  # the machine, as the run wrote it
    trained_on = f"{config.machine.name} ({config.machine.isa})"
    assert json.loads(cell["minutes_per_machine"]) == {trained_on: cell["minutes"]}
    assert machine(read_run(seeds[0])) == f"{trained_on}, {config.trainer.precision}"
    fcn = next(r for r in rows if (r["row"], r["column"]) == ("FCN", "RTS"))
    cnn = next(r for r in rows if (r["row"], r["column"]) == ("CNN", "RTS"))
    assert (fcn["n"], fcn["unfinished"], fcn["failed"]) == (0, 1, 0)
    assert (cnn["n"], cnn["unfinished"], cnn["failed"]) == (0, 0, 1)
    assert "| CNN | — [0.8] 1 failed |" not in text  # a table row has all four columns
    assert "1 unfinished" in text and "1 failed" in text
    two = fake_data / "runs" / "two"
    assert f"`{two}`: done" in text  # outside every table, listed, by its folder
    assert "5 runs" in text
    assert not any(r["table"] == "table4" for r in rows)  # no addition runs: no Table 4
    # Asked for TC only: Table 1's runs are neither "outside the tables" nor listed unfinished.
    tc_only, _ = report([fake_data / "runs"], ["tc"])
    assert f"`{two}`: done" in tc_only and "st_cnn_0" not in tc_only and "fcn`" not in tc_only
    # Several roots: their runs fill one table (here each root is one seed's run folder).
    both, rows = report(seeds)
    cell = next(r for r in rows if (r["row"], r["column"]) == ("ST-CNN Aff", "RTS"))
    assert cell["n"] == 2 and abs(cell["mean"] - statistics.fmean(errors)) < 1e-6
    assert both.startswith(f"2 runs under `{seeds[0]}` and `{seeds[1]}`")
    assert report([fake_data / "runs", seeds[0]])[0].startswith("5 runs")  # each run once
    with pytest.raises(SystemExit):  # two roots, and nowhere said for report.md
        main([str(p) for p in seeds])

    # Into a page, brief: the tables alone, and no report files.
    page = fake_data / "README.md"
    page.write_text("# Results\n<!-- stn.runs.report -->\n<!-- /stn.runs.report -->\nmore\n")
    main([str(fake_data / "runs"), "--tables", "table1", "--brief", "--into", str(page)])
    brief = page.read_text()
    assert "| ST-CNN Aff | " in brief and brief.endswith("<!-- /stn.runs.report -->\nmore\n")
    assert "Minutes" not in brief and "### Unfinished" not in brief and "two`" not in brief
    assert not (fake_data / "runs" / "report.md").exists()

    main([str(fake_data / "runs"), "--tables", "table1,tc"])
    md = (fake_data / "runs" / "report.md").read_text()
    assert "Table 1" in md and "cluttered" in md and "Minutes per run" in md
    csv = (fake_data / "runs" / "report.csv").read_text().splitlines()
    assert (
        csv[0] == "table,row,column,configuration,n,mean,std,paper,diff,minutes,"
        "minutes_per_machine,unfinished,failed,duplicates"
    )
    assert len(csv) == 1 + 8 * 4 + 4


def test_accuracy_tables_show_100_minus_the_error():
    from pathlib import Path

    from stn.runs.paper import TABLE3
    from stn.runs.report import fill
    from stn.runs.run import DONE, Run

    config = {"task_name": "cub_2x", "data.size": 448}
    runs = [
        Run(Path(f"r{s}"), {**config, "seed": s}, DONE, {"test/err": err})
        for s, err in ((0, 16), (1, 17))
    ]
    cells, placed = fill(TABLE3, runs)
    assert cells["2×ST-CNN 448px", "accuracy"].values == [84, 83] and len(placed) == 2


def test_a_table_counts_its_cells_within_0_3_points_of_the_papers():
    """As shown, to the hundredth: 1.2 + 0.3 is within (its float difference is not), 0.31
    is not, below counts as above, and far below counts as "within or below"; empty cells
    and cells of several configurations are not counted; a table with no number says
    nothing."""
    from stn.runs.paper import TABLE1
    from stn.runs.report import Cell, markdown

    cells = {(r, c): Cell() for r, _ in TABLE1.rows for c, _ in TABLE1.columns}
    assert TABLE1.paper["ST-CNN Aff", "R"] == 0.7 and TABLE1.paper["FCN", "R"] == 2.1
    cells["ST-CNN Aff", "R"].values = [0.9, 1.1]  # mean 1.0: +0.30
    cells["FCN", "R"].values = [2.41]  # +0.31
    cells["CNN", "R"].values = [0.9]  # paper 1.2: −0.30
    cells["CNN", "RTS"].values = [0.4]  # paper 0.8: −0.40
    cells["CNN", "E"].configurations = [("seed=0", Cell(values=[1.4]))]
    assert 1.0 - 0.7 > 0.3
    text = markdown(TABLE1, cells)
    assert (
        "Within 0.3 points of the paper's: 2 of the 4 cells with a number (of the paper's 32); "
        "within 0.3 points or below it: 3." in text
    )
    empty = {key: Cell() for key in cells}
    assert "Within" not in markdown(TABLE1, empty)


def test_tables_go_into_a_page_between_its_marks():
    from stn.runs.report import into_page

    start, end = "<!-- stn.runs.report -->", "<!-- /stn.runs.report -->"
    page = f"# Table 1\n\nprose\n{start}\nold table\n{end}\nmore\n"
    new = into_page(page, "new table\n")
    assert new == f"# Table 1\n\nprose\n{start}\nnew table\n{end}\nmore\n"
    assert into_page(new, "new table\n") == new  # idempotent
    with pytest.raises(ValueError, match="has no <!-- stn"):
        into_page("# no marks\n", "table")
    # Named blocks (the README's, one per table): only the named one is rewritten.
    blocks = "".join(
        f"<!-- stn.runs.report {b} -->\nold {b}\n<!-- /stn.runs.report {b} -->\n"
        for b in ("a", "b")
    )
    assert into_page(blocks, "new\n", "b") == blocks.replace("old b", "new")
    with pytest.raises(ValueError, match=r"has no <!-- stn\.runs\.report a -->"):
        into_page(page, "table", "a")  # an unnamed block is not block "a"
    with pytest.raises(ValueError, match=r"has no <!-- stn\.runs\.report -->"):
        into_page(blocks, "table")  # nor is a named one the unnamed block


def test_a_page_without_the_block_stops_the_report_before_it_reads_a_run(tmp_path, capsys):
    page = tmp_path / "README.md"
    page.write_text("<!-- stn.runs.report table1 -->\nold\n<!-- /stn.runs.report table1 -->\n")
    cases = {
        ("--block", "table1"): "--block table1 names a block of a page: give the page with --into",
        ("--into", str(page), "--block", "tc"): f"--into {page}: the page has no "
        "<!-- stn.runs.report tc --> ... <!-- /stn.runs.report tc --> block for the tables: "
        "add those two lines",
        ("--into", str(page)): "the page has no <!-- stn.runs.report --> ...",
        ("--into", str(tmp_path / "none.md")): f"--into {tmp_path / 'none.md'}: No such file",
    }
    for args, message in cases.items():
        with pytest.raises(SystemExit) as stop:
            main([str(tmp_path), *args])
        assert stop.value.code == 2 and message in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README.md"]  # nothing written
    assert "old" in page.read_text()
    main([str(tmp_path), "--into", str(page), "--block", "table1", "--brief"])
    command = f"python -m stn.runs.report {tmp_path} --into {page} --block table1 --brief"
    assert page.read_text().startswith(
        f"<!-- stn.runs.report table1 -->\nGenerated by `{command}`.\n0 runs under"
    )


def test_a_resumed_runs_minutes_leave_out_the_pause(tmp_path):
    from torch.utils.tensorboard import SummaryWriter

    from stn.runs.run import read_run

    run = tmp_path / "run"
    (run / "tensorboard").mkdir(parents=True)
    (run / "config.yaml").write_text("task_name: mnist_r\n")
    start = 1.8e9
    # Two sittings (event files, named in the order written) of 2 and 3 minutes, an hour apart.
    for t0, t1, err in [(0, 120, 0.05), (3720, 3900, 0.03)]:
        with SummaryWriter(run / "tensorboard") as writer:
            writer.add_scalar("val/err", err + 0.01, 0, walltime=start + t0)
            writer.add_scalar("val/err", err, 1, walltime=start + t1)
    result = read_run(run)
    assert abs(result.minutes - 5) < 1e-6
    assert abs(result.scalars["val/err"] - 0.03) < 1e-6  # the best over both sittings


def test_a_cells_minutes_on_different_machines_are_never_averaged(tmp_path):
    """Two seeds of one cell, as recorded: on one machine their mean; on two, each machine's
    minutes apart (a GPU under a 20-way share and a 2-core CPU differ several times)."""
    import shutil

    from stn.models.zoo import records_dir
    from stn.runs.paper import TABLES
    from stn.runs.report import csv_rows, fill, markdown
    from stn.runs.run import find_runs

    cell_of = records_dir() / "table1_epochs76" / "mnist_rts"
    for name in ("st-cnn-aff", "st-cnn-aff-seed1"):
        shutil.copytree(cell_of / name, tmp_path / name, ignore=shutil.ignore_patterns("*.safe*"))
    minutes = [run.minutes for run in find_runs(tmp_path)]

    def minutes_row() -> str:
        cells, _ = fill(TABLES["table1"], find_runs(tmp_path))
        text = markdown(TABLES["table1"], cells)
        return text.split("Minutes per run")[1].split("| ST-CNN Aff | ")[1].splitlines()[0]

    def csv_row() -> dict:
        cells, _ = fill(TABLES["table1"], find_runs(tmp_path))
        rows = csv_rows("table1", TABLES["table1"], cells)
        return next(r for r in rows if (r["row"], r["column"]) == ("ST-CNN Aff", "RTS"))

    assert minutes_row().split(" | ")[1] == f"{statistics.fmean(minutes):.1f}"
    h200 = "NVIDIA H200 (sm_90)"
    assert csv_row()["minutes"] == statistics.fmean(minutes)
    assert json.loads(csv_row()["minutes_per_machine"]) == {h200: statistics.fmean(minutes)}
    config = tmp_path / "st-cnn-aff-seed1" / "config.yaml"
    config.write_text(config.read_text().replace("name: NVIDIA H200", "name: AMD EPYC", 1))
    assert "name: AMD EPYC" in config.read_text()
    assert minutes_row().split(" | ")[1] == (
        f"{minutes[0]:.1f} on {h200}, {minutes[1]:.1f} on AMD EPYC (sm_90)"
    )
    assert csv_row()["minutes"] is None  # no one machine's time
    assert json.loads(csv_row()["minutes_per_machine"]) == {
        h200: minutes[0],
        "AMD EPYC (sm_90)": minutes[1],
    }


def test_runs_that_differ_in_more_than_the_seed_are_never_averaged(fake_data):
    _run(fake_data, "a", "experiment=mnist_rts", "seed=0")
    _run(fake_data, "b", "experiment=mnist_rts", "seed=1", "trainer.log_every_n_steps=1")
    _run(fake_data, "c", "experiment=mnist_rts", "schedule.lr=0.001")
    _run(fake_data, "d", "experiment=mnist_rts", "seed=0", "trainer.log_every_n_steps=1")
    text, rows = report([fake_data / "runs"])
    cells = [r for r in rows if (r["row"], r["column"]) == ("ST-CNN Aff", "RTS")]
    # a and b are seeds of one configuration (the logging interval trains nothing); c is not;
    # d is a's seed again: a duplicate, never a third sample.
    assert {(r["configuration"], r["n"], r["duplicates"]) for r in cells} == {
        ("schedule.lr=0.003", 2, 1),
        ("schedule.lr=0.001", 1, 0),
    }
    assert " (n=2) [0.5, " in text and "1 duplicate seed" in text
    assert "| — [0.5] 2 configurations (listed below) |" in text
    assert "- ST-CNN Aff, RTS, `schedule.lr=0.001`: " in text


def test_configurations_group_seeds_and_ignore_what_trains_nothing():
    from stn.runs.folder import configurations

    runs = [
        {"seed": 0, "schedule.lr": 0.1, "paths.data_dir": "/a", "trainer.precision": "bf16-mixed"},
        {"seed": 1, "schedule.lr": 0.1, "paths.data_dir": "/b", "machine.name": "y"},
        {"seed": 0, "schedule.lr": 0.2},
        {"seed": 2},  # recorded before schedule.lr existed: no difference to go by
        {"seed": 0, "schedule.lr": 0.1, "trainer.precision": "32-true"},
    ]
    runs[0]["data.cache_dir"], runs[1]["data.cache_dir"] = "/a/cache", "/b/cache"  # checkouts
    assert configurations(runs) == [[0, 1, 3], [2], [4]]


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_key_that_names_a_folder_trains_nothing(experiment):
    """A checkout or data folder elsewhere trains the same run: its seeds are averaged, and
    a resume there is allowed. Every key set from ``paths.*`` must be one that trains nothing."""
    from omegaconf import OmegaConf

    from stn.runs.folder import flatten, trained

    cfg = compose([f"experiment={experiment}"])
    raw = flatten(OmegaConf.to_container(cfg, resolve=False))
    folders = [k for k, v in raw.items() if isinstance(v, str) and v.startswith("${paths.")]
    assert {"data.data_dir", "data.cache_dir"} <= set(folders)
    assert [k for k in folders if trained(k)] == []


def test_a_p_run_recorded_before_the_readings_had_names_is_the_literal_reading():
    from stn.runs.folder import differences

    old = {"data.distortion.name": "p", "data.distortion.corner_std": 5.0}
    literal = {**old, "data.distortion.corners": "any", "data.distortion.folds": "keep"}
    unfolded = {**literal, "data.distortion.folds": "redraw"}
    assert differences(old, literal) == differences(literal, old) == []
    assert differences(old, unfolded) == ["data.distortion.folds: 'keep' → 'redraw'"]
    assert differences(unfolded, old) == ["data.distortion.folds: 'redraw' → 'keep'"]


def test_an_unreadable_run_is_listed_with_its_reason_and_the_rest_reported(fake_data):
    _run(fake_data, "a", "experiment=mnist_rts")
    broken = fake_data / "runs" / "broken"
    broken.mkdir(parents=True)
    (broken / "config.yaml").write_text("model:\n  name: cnn\n  channels: [32,\n")  # truncated
    for brief in (False, True):
        text, rows = report([fake_data / "runs"], brief=brief)
        (cell,) = [r for r in rows if (r["row"], r["column"]) == ("ST-CNN Aff", "RTS")]
        assert cell["n"] == 1
        assert "### Unreadable runs (in no table)" in text
        reason = f"UsageError: {broken}/config.yaml is not plain YAML data: while parsing a flow"
        assert f"- `{broken}`: {reason}" in text


def test_a_smoke_run_is_listed_apart_and_fills_no_cell(fake_data):
    _run(fake_data, "full", "experiment=mnist_rts")
    smoke = _run(fake_data, "smoke", "experiment=mnist_rts", "trainer.fast_dev_run=true")
    text, rows = report([fake_data / "runs"])
    (cell,) = [r for r in rows if (r["row"], r["column"]) == ("ST-CNN Aff", "RTS")]
    assert cell["n"] == 1  # the full run alone
    assert f"- `{smoke}`: done, trainer.fast_dev_run=True" in text


def test_a_finished_run_that_never_validated_fills_no_cell(tmp_path):
    from stn.runs.run import read_run

    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text("task_name: mnist_r\nmodel:\n  name: fcn\n")
    for metrics, partial in (
        ('{"val/err": NaN, "test/err": 90.0}', ["no validation"]),  # schedule.max_epochs=0
        ('{"test/err": 2.0}', ["no validation"]),  # a checkpoint only tested
        ('{"val/err": 2.1, "test/err": 2.0}', []),
    ):
        (run / "metrics.json").write_text(metrics)
        assert read_run(run).partial == partial
    (run / "metrics.json").unlink()
    assert read_run(run).partial == []  # still going: counted as unfinished in its cell


def test_an_unsafe_recorded_config_is_listed_unreadable_at_once(tmp_path):
    """A kilobyte of nested aliases (billions of nodes once expanded), a tag that would build
    a Python object and an oversized file: each run is listed with its reason, fast."""
    import time

    layers = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    layers += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 10)]
    cases = {
        "bomb": ("\n".join(layers) + "\n", "holds a YAML alias (*name) or no data"),
        "python": ("x: !!python/object/apply:os.system ['true']\n", "is not plain YAML data"),
        "huge": ("x: " + "y" * 1_100_000 + "\n", "bytes, more than a recorded config's"),
    }
    for name, (text, _) in cases.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "config.yaml").write_text(text)
    start = time.perf_counter()
    text, _ = report([tmp_path], brief=True)
    assert time.perf_counter() - start < 10  # not the minutes and gigabytes of expanding it
    for name, (_, reason) in cases.items():
        line = next(line for line in text.splitlines() if f"/{name}`" in line)
        assert "UsageError" in line and reason in line, line


def test_validation_view_sets_runs_apart_without_a_test_number(tmp_path, capsys):
    """``--validation`` on two records: their differing options, best val/err (the value
    metrics.json holds), the last epoch's mean training loss (recomputed from the CSV with
    the csv module), minutes and machine; no test number anywhere."""
    import csv

    from helpers import ROOT

    records = ROOT / "experiments" / "records"
    paths = [records / f"table1_epochs{n}" / "mnist_rts" / "fcn" for n in (76, 30)]
    if not all(p.is_dir() for p in paths):
        pytest.skip("the Table 1 FCN records are not in this checkout")
    main([*map(str, paths), "--validation", "--out", str(tmp_path)])
    text = capsys.readouterr().out
    assert "on the validation split (no test numbers)" in text and "test/" not in text
    with open(tmp_path / "report.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    for path, row in zip(paths, rows, strict=True):
        assert row["run"] == str(path)
        epochs = json.loads((path / "record.json").read_text())["network"]  # trained budget
        assert row["options"].startswith(f"schedule.max_epochs={row['epochs']}")
        assert float(row["val_err"]) == json.loads((path / "metrics.json").read_text())["val/err"]
        with open(path / "scalars.csv", newline="") as file:
            logged = [r for r in csv.DictReader(file) if r["tag"] == "train/loss"]
        last = [float(r["value"]) for r in logged if r["epoch"] == logged[-1]["epoch"]]
        assert abs(float(row["train_loss"]) - statistics.fmean(last)) < 1e-9
        assert epochs["epoch"] < int(row["epochs"])
        facts = json.loads((path / "record.json").read_text())
        trained_on = f"{facts['machine']['name']} ({facts['machine']['isa']})"
        assert row["machine"] == f"{trained_on}, {facts['precision']}"
    with pytest.raises(SystemExit):
        main([str(paths[0]), "--validation", "--tables", "table1"])
    assert "--validation shows no paper table" in capsys.readouterr().err
