"""The performance story runs end to end: `benchmarks/run_all.py --quick` on SQLite, tiny sizes.

Not a measurement (the sizes are far too small for the figures to mean anything): it keeps every
benchmark, its floor and the table working, so the README's command does not rot between runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TEST_DATABASE_URL

ROOT = Path(__file__).resolve().parent.parent.parent
# The benchmarks bring their own SQLite database: the suite's second pass (PostgreSQL) would run the same thing.
pytestmark = pytest.mark.skipif(bool(TEST_DATABASE_URL), reason="runs on its own SQLite file: SQLite pass only")


def test_run_all_quick_prints_every_goal_with_its_ratio_and_one_json_line(tmp_path):
    environment = {key: value for key, value in os.environ.items() if not key.startswith("VOCLOOP_")}
    finished = subprocess.run(
        [sys.executable, "benchmarks/run_all.py", "--quick", "--database-url", f"sqlite:///{tmp_path / 'bench.db'}"],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=300, check=False)
    assert finished.returncode == 0, finished.stderr[-3000:]
    lines = finished.stdout.strip().splitlines()
    summary = json.loads(lines[-1])

    checks = {row["ratio"]: row for row in summary["checks"]}
    for ratio in ("dispatch_ratio_to_floor", "classify_ratio_to_floor", "inbox_page_ratio_to_query",
                  "dashboard_ratio_to_queries", "inbox_page_growth", "dashboard_growth_per_size",
                  "dispatch_growth_per_size", "dispatch_ratio_to_floor_with_bookkeeping"):
        assert checks[ratio]["result"] in ("pass", "FAIL"), checks[ratio]
        assert checks[ratio]["value"] > 0, checks[ratio]
    assert checks["click_ratio_to_write_limited"]["result"] == "skipped"  # gunicorn + PostgreSQL + Redis only
    # the absolute figures stay beside the ratios, per size
    assert summary["figures"]["dispatch"]["sizes"] == [100, 300]
    assert summary["figures"]["dispatch"]["invitations_at_300"] == 300
    assert summary["figures"]["inbox"]["first_page_lead_team_ms_at_100"] > 0
    assert summary["figures"]["classify"]["classified_with_db_write_per_s"] > 0
    header = next(line for line in lines if line.startswith("benchmark"))
    assert header.split() == ["benchmark", "ratio", "value", "goal", "result", "figure"]
    assert any(line.startswith("inbox") and "inbox_page_ratio_to_query" in line for line in lines)
