"""The tools refuse a wrong number before reading any run (a negative --n drew a
33,000-pixel-wide figure and exited 0)."""

import pytest

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
