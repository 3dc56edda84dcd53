"""``python -m scanner.bench.alternate``: the table of alternated runs (no timing asserted)."""
from __future__ import annotations

import pytest

from scanner.bench.alternate import main, table


def test_table_gives_each_build_s_median_and_range_and_the_change():
    ratios = {"old": {("okx", "top"): [2.0, 2.4, 2.2]},
              "new": {("okx", "top"): [2.5, 2.3, 2.4], ("gate", "top"): [2.6]}}
    lines = table(ratios).splitlines()
    assert lines[0] == "| exchange | kind | old | new | change |"
    assert lines[2] == "| okx | top | 2.20x (2.00-2.40) | 2.40x (2.30-2.50) | +9% |"
    assert lines[3] == "| gate | top |  | 2.60x (2.60-2.60) |  |"


def test_a_build_without_its_script_is_refused_with_exit_status_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["old", "--runs", "1"])
    assert exit_info.value.code == 2
    assert "build 'old': write NAME=PATH_TO_ARBSCAN" in capsys.readouterr().err
