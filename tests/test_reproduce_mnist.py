"""scripts/reproduce_mnist.sh keeps each budget's record apart: with python replaced by a stub
that logs its arguments, the commands it runs show which blocks and figures it writes."""

import subprocess
from pathlib import Path

SCRIPT = Path(__file__).parents[1] / "scripts" / "reproduce_mnist.sh"


def run(tmp_path: Path, *args: str, **env: str) -> list[str]:
    """What the script says, and the python commands it runs (one line each, in order)."""
    stub = tmp_path / "python"
    stub.write_text('#!/usr/bin/env bash\necho "python $*" >&2\n')
    stub.chmod(0o755)
    env = {"PATH": "/usr/bin:/bin", "PY": str(stub), "RUNS": str(tmp_path / "runs"), **env}
    env.setdefault("RECORDS", str(tmp_path / "records"))
    done = subprocess.run(["bash", SCRIPT, *args], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stderr.splitlines()


def block(name: str) -> str:
    return f"<!-- stn.runs.report {name} -->\nold\n<!-- /stn.runs.report {name} -->\n"


def test_a_budget_writes_only_its_own_blocks_and_figures(tmp_path):
    pages = tmp_path / "experiments"
    pages.mkdir()
    table1 = pages / "table1_distorted_mnist.md"
    table1.write_text(block("table1_epochs30") + block("table1_epochs76"))
    (pages / "tc_cluttered_mnist.md").write_text(block("tc_epochs30"))
    (pages / "table4_mnist_addition.md").write_text(block("table4_epochs100"))
    readme = tmp_path / "README.md"
    readme.write_text(
        block("table1_epochs76") + block("table1_epochs30") + block("table4_epochs100")
    )
    lines = run(tmp_path, "trainer=gpu", EPOCHS="76", PAGES=str(pages), README=str(readme))

    runs, addition = tmp_path / "runs" / "epochs76", tmp_path / "runs" / "epochs100"
    records = tmp_path / "records"
    tc = records / "tc_epochs76"
    missing = [
        f"reproduce_mnist: {pages}/tc_cluttered_mnist.md has no tc_epochs76 block: that table "
        f"stays in its records, {tc}",
        f"reproduce_mnist: {readme} has no tc_epochs76 block: that table stays in its "
        f"records, {tc}",
    ]
    said = [line for line in lines if line.startswith("reproduce_mnist:")]
    assert said == missing * 2  # before training, and again where the tables are written
    assert lines[:2] == missing and " train.py " in lines[2]

    sweeps = [line for line in lines if " train.py " in line]
    assert len(sweeps) == 4 and all(line.endswith("trainer=gpu") for line in sweeps)
    assert all(f"schedule.max_epochs=76 hydra.sweep.dir={runs} " in line for line in sweeps[:2])
    assert all(f"schedule.max_epochs=100 hydra.sweep.dir={addition} " in s for s in sweeps[2:])
    into = [line.split(" -m ")[1] for line in lines if " --into " in line]
    t1, t4 = records / "table1_epochs76", records / "table4_epochs100"
    assert into == [  # every run recorded, then the tables made from the records
        f"stn.runs.record {runs}/mnist_r {runs}/mnist_rts {runs}/mnist_p {runs}/mnist_e "
        f"--into {t1}",
        f"stn.runs.record {runs}/mnist_tc --into {tc}",
        f"stn.runs.record {addition}/mnist_addition --into {t4}",
        f"stn.runs.report {t1} --tables table1 --into {table1} --block table1_epochs76",
        f"stn.runs.report {t4} --tables table4 --into {pages}/table4_mnist_addition.md "
        "--block table4_epochs100",
        f"stn.runs.report {t1} --tables table1 --brief --into {readme} --block table1_epochs76",
        f"stn.runs.report {t4} --tables table4 --brief --into {readme} --block table4_epochs100",
    ]
    figures = [line.split(" --out ")[1] for line in lines if " stn.runs.figure " in line]
    assert figures == [
        f"{pages}/figures/epochs76/mnist_{d}.png" for d in ("r", "rts", "p", "e", "tc")
    ]
    assert (pages / "figures" / "epochs76").is_dir()
    assert not (pages / "figures" / "epochs30").exists()


def test_the_pages_hold_a_block_for_every_table_of_the_default_budgets(tmp_path):
    lines = run(tmp_path)
    assert not [line for line in lines if line.startswith("reproduce_mnist:")]
    assert len([line for line in lines if " stn.runs.report " in line and " --into " in line]) == 6
