"""The whole performance story in one command: every benchmark, one after another, then one table.

Each benchmark runs in its own process (one at a time, so none slows another) and measures its own
floor in the same run; this prints, per goal, the absolute figure beside the ratio to that floor, the
goal and whether it was met, then one JSON object as the last line.

    python benchmarks/run_all.py [--quick] [--only dispatch,inbox] [--data-sizes 30k,100k,300k]
                                 [--database-url URL] [--redis-url URL]

--quick runs tiny sizes (a smoke run, seconds on SQLite). The answer path needs PostgreSQL and Redis
and is skipped on SQLite. Each benchmark resets the database it is given (default: PostgreSQL
`vocloop_bench` on 127.0.0.1, or VOCLOOP_BENCH_DATABASE_URL).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.harness import DEFAULT_DATABASE_URL, database_kind  # noqa: E402


@dataclass(frozen=True)
class Goal:
    benchmark: str
    ratio: str  # the key of the benchmark's JSON this goal reads
    at_least: float | None = None
    at_most: float | None = None
    figure: str = ""  # a format string over the benchmark's JSON: the absolute figure beside the ratio

    def met(self, value: float) -> bool:
        return ((self.at_least is None or value >= self.at_least)
                and (self.at_most is None or value <= self.at_most))

    @property
    def goal(self) -> str:
        return f">= {self.at_least}" if self.at_least is not None else f"<= {self.at_most}"


BENCHMARKS = {  # name: (script, its arguments, its arguments with --quick)
    "dispatch": ("dispatch.py", ["--sizes", "10k,30k,100k"], ["--sizes", "100,300"]),
    "classify": ("classify.py", ["--responses", "50000"], ["--responses", "300"]),
    "inbox": ("inbox.py", ["--sizes", "100k,300k,1M", "--repeat", "20"], ["--sizes", "100,300", "--repeat", "2"]),
    "metrics": ("metrics.py", ["--sizes", "100k,300k,1M", "--repeat", "10"], ["--sizes", "100,300", "--repeat", "2"]),
    "answer_path": ("answer_path.py", ["--seconds", "10"], ["--seconds", "1", "--rate", "20"]),
}
GOALS = (
    Goal("dispatch", "dispatch_ratio_to_floor", at_least=0.5,
         figure="{invitations:,} invitations written and sent in {dispatch_seconds} s (floor {floor_seconds} s)"),
    # Proposed in issue #25: the floor above leaves out what an exactly-once relay must write besides the rows
    # (lease, outcome, off the queue, the invitation sent); here those statements, run bare, are in the floor.
    Goal("dispatch", "dispatch_ratio_to_floor_with_bookkeeping", at_least=0.5,
         figure="the same against the floor plus the relay's own statements run bare ({bookkeeping_floor_seconds} s)"),
    Goal("dispatch", "dispatch_growth_per_size", at_most=1.25,
         figure="{largest_size:,} take {dispatch_growth}x the time of {smallest_size:,}"),
    Goal("classify", "classify_ratio_to_floor", at_least=0.5,
         figure="{classified_with_db_write_per_s:,} answers/s with the write (floor {floor_seconds} s "
                "for {responses:,})"),
    Goal("inbox", "inbox_page_ratio_to_query", at_most=2,
         figure="first page {inbox_page_ms_worst} ms at {items:,} items (worst tab: {inbox_page_ratio_worst_tab})"),
    Goal("inbox", "inbox_page_growth", at_most=1.5,
         figure="first page at {largest_size:,} items over at {smallest_size:,}"),
    Goal("metrics", "dashboard_ratio_to_queries", at_most=1.5,
         figure="dashboard {dashboard_admin_ms} ms admin, {dashboard_lead_ms} ms lead at {items:,} items"),
    Goal("metrics", "effect_ratio_to_queries", at_most=1.5,
         figure="effect page {effect_admin_ms} ms admin, {effect_lead_ms} ms lead at {items:,} items"),
    # Proposed in issue #25: the pages against their statements run bare side by side as their threads ran them
    # (the best split assumes each statement, timed alone with PostgreSQL's parallel workers, keeps both cores).
    Goal("metrics", "dashboard_ratio_to_side_by_side", at_most=1.5,
         figure="dashboard {dashboard_admin_ms} ms admin, {dashboard_lead_ms} ms lead; its statements side by side "
                "{dashboard_admin_queries_side_by_side_ms} and {dashboard_lead_queries_side_by_side_ms} ms"),
    Goal("metrics", "effect_ratio_to_side_by_side", at_most=1.5,
         figure="effect page {effect_admin_ms} ms admin, {effect_lead_ms} ms lead; its statements side by side "
                "{effect_admin_queries_side_by_side_ms} and {effect_lead_queries_side_by_side_ms} ms"),
    Goal("metrics", "effect_queries_ratio_to_bare_sql", at_most=1.5,
         figure="loop effect {part_loop_effect_ms} ms, revenue at risk {part_revenue_at_risk_ms} ms, "
                "announcements {part_announcements_ms} ms"),
    Goal("metrics", "ratio_api_to_raw_sql", at_most=1.5,
         figure="closure API by owner, 90 days: {api_closure_by_owner_90d_ms} ms"),
    Goal("metrics", "dashboard_growth_per_size", at_most=1.0,
         figure="dashboard at {largest_size:,} items takes {dashboard_growth}x the time at {smallest_size:,}"),
    Goal("answer_path", "click_ratio_to_write_limited", at_least=0.5,
         figure="{click_req_per_s} clicks/s (write_limited reference {write_limited_req_per_s} req/s)"),
    Goal("answer_path", "click_p99_ms_at_100_per_s", at_most=50,
         figure="click p50 {click_p50_ms_at_100_per_s} ms at 100/s"),
)


def machine() -> dict:
    """What the figures ran on: cores, CPU, and how busy the machine was."""
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    return {"cores": os.cpu_count(), "cpu": model, "python": platform.python_version(),
            "load_average": [round(value, 2) for value in os.getloadavg()]}


def run(name: str, arguments: list[str], database_url: str, redis_url: str) -> dict:
    """Run one benchmark in its own process, its output passed through; its last line's JSON."""
    script, *_ = BENCHMARKS[name]
    command = [sys.executable, str(ROOT / "benchmarks" / script), *arguments, "--database-url", database_url]
    if name == "answer_path":
        command += ["--redis-url", redis_url]
    print(f"== {name}: {' '.join(command[1:])}", flush=True)
    started = time.perf_counter()
    process = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    lines = [line for line in process.stdout.splitlines() if line.strip()]
    for line in lines[:-1]:
        print(f"   {line}")
    if process.returncode != 0 or not lines:
        print(process.stderr[-3000:], file=sys.stderr)
        raise SystemExit(f"{name} failed (exit {process.returncode})")
    figures = json.loads(lines[-1])
    if figures.get("sizes"):
        figures["smallest_size"], figures["largest_size"] = figures["sizes"][0], figures["sizes"][-1]
    figures["benchmark_seconds"] = round(time.perf_counter() - started, 1)
    return figures


def table(results: dict[str, dict], skipped: dict[str, str]) -> list[dict]:
    """One row per goal: the absolute figure, the ratio, the goal, met or not (or why it was not measured)."""
    rows = []
    for goal in GOALS:
        if goal.benchmark in skipped or goal.benchmark not in results:
            if goal.benchmark in skipped:
                rows.append({"benchmark": goal.benchmark, "ratio": goal.ratio, "value": None, "goal": goal.goal,
                             "result": "skipped", "figure": skipped[goal.benchmark]})
            continue
        figures = results[goal.benchmark]
        value = figures.get(goal.ratio)
        if value is None:
            rows.append({"benchmark": goal.benchmark, "ratio": goal.ratio, "value": None, "goal": goal.goal,
                         "result": "not measured", "figure": f"not measured on {figures.get('database', '?')}"})
            continue
        try:
            figure = goal.figure.format(**figures)
        except (KeyError, IndexError, TypeError, ValueError):
            figure = ""
        rows.append({"benchmark": goal.benchmark, "ratio": goal.ratio, "value": value, "goal": goal.goal,
                     "result": "pass" if goal.met(value) else "FAIL", "figure": figure})
    return rows


def print_table(rows: list[dict]) -> None:
    headers = ("benchmark", "ratio", "value", "goal", "result", "figure")
    cells = [[str(row[key]) if row[key] is not None else "-" for key in headers] for row in rows]
    widths = [max(len(header), *(len(cell[i]) for cell in cells)) for i, header in enumerate(headers)]
    for line in [list(headers), ["-" * width for width in widths], *cells]:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run of the whole story")
    parser.add_argument("--only", default=",".join(BENCHMARKS), help="benchmarks to run, comma-separated")
    parser.add_argument("--data-sizes", help="the inbox's and the dashboard's item counts instead of 100k,300k,1M")
    parser.add_argument("--database-url", default=os.environ.get("VOCLOOP_BENCH_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--redis-url", default=os.environ.get("VOCLOOP_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"))
    args = parser.parse_args()
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in BENCHMARKS]
    if unknown:
        parser.error(f"--only: unknown benchmark {', '.join(unknown)} (choose from {', '.join(BENCHMARKS)})")

    before = machine()
    results, skipped = {}, {}
    for name in chosen:
        if name == "answer_path" and database_kind(args.database_url) != "postgresql":
            skipped[name] = "needs PostgreSQL and Redis (gunicorn against the real stack)"
            continue
        _, arguments, quick = BENCHMARKS[name]
        arguments = list(quick if args.quick else arguments)
        if args.data_sizes and name in ("inbox", "metrics"):
            arguments[arguments.index("--sizes") + 1] = args.data_sizes
        results[name] = run(name, arguments, args.database_url, args.redis_url)
    rows = table(results, skipped)
    after = machine()
    print()
    print_table(rows)
    print(f"\nmachine: {before['cores']} cores, {before['cpu']}, Python {before['python']}; load average "
          f"{before['load_average']} before, {after['load_average']} after")
    print(json.dumps({"quick": args.quick, "database": database_kind(args.database_url), "machine": before,
                      "load_average_after": after["load_average"], "checks": rows,
                      "passed": sum(row["result"] == "pass" for row in rows),
                      "failed": sum(row["result"] == "FAIL" for row in rows), "figures": results}))


if __name__ == "__main__":
    main()
