"""The tools refuse a wrong number before reading any run (a negative --n drew a
33,000-pixel-wide figure and exited 0)."""

import pytest
from helpers import in_a_fresh_process

from stn.runs import dead_units, figure, verify


@pytest.mark.parametrize(
    ("main", "args", "message"),
    [
        (figure.main, ["--n", "-3"], "argument --n: '-3' is not an integer of at least 1"),
        (figure.main, ["--scale", "0"], "argument --scale: '0' is not an integer of at least 1"),
        (dead_units.main, ["--n", "abc"], "argument --n: 'abc' is not an integer of at least 1"),
        (verify.main, ["--tolerance", "-1"], "'-1' is not an integer of at least 0"),
    ],
)
def test_a_wrong_number_is_refused_before_any_run_is_read(tmp_path, capsys, main, args, message):
    with pytest.raises(SystemExit) as stop:
        main([str(tmp_path), *args])
    assert stop.value.code == 2 and message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # nothing written


@pytest.mark.parametrize(
    ("tool", "args", "message"),
    [
        ("figure", ["{tmp}/none"], "stn-figure: no finished run with STs under {tmp}/none"),
        ("figure", ["{tmp}", "--out", "{tmp}"], "stn-figure: --out {tmp} is a folder: give the"),
        ("dead_units", ["{tmp}"], "stn-dead-units: {tmp} holds no finished run"),
        ("survey", ["r", "--out", "/proc/none/x.png"], "stn-survey: --out /proc/none/x.png: ca"),
    ],
)
def test_a_users_mistake_is_one_paragraph(tmp_path, tool, args, message):
    """As train.py answers: the message alone (exit code 1 for sys.exit's string), checked
    before any run or data is read."""
    from stn.runs import survey

    main = {"figure": figure.main, "dead_units": dead_units.main, "survey": survey.main}[tool]
    with pytest.raises(SystemExit) as stop:
        main([a.format(tmp=tmp_path) for a in args])
    assert isinstance(stop.value.code, str)
    assert stop.value.code.startswith(message.format(tmp=tmp_path)), stop.value.code
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_distortion_is_named_with_the_valid_ones(capsys):
    from stn.runs import survey

    with pytest.raises(SystemExit) as stop:
        survey.main(["r", "xyz"])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and "unknown distortion(s) xyz; valid: e, e_box, p, p_ic," in err


@pytest.mark.parametrize(
    "tool", ["report", "record", "verify", "figure", "dead_units", "export", "survey"]
)
def test_help_answers_without_importing_torch(tool):
    """``--help`` (and a mistyped argument) is answered before torch, torchvision or Lightning
    is imported: at once, not after seconds of imports."""
    code = (
        "import runpy, sys\n"
        f"sys.argv = ['stn.runs.{tool}', '--help']\n"
        "try:\n"
        f"    runpy.run_module('stn.runs.{tool}', run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
    )
    lines = in_a_fresh_process(code)
    assert "usage:" in "\n".join(lines) and lines[-1] == "[]"
