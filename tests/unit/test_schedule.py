"""The embedded default's in-process scheduler keeps the clock's intervals, SWEEP_SECONDS included."""

import threading
import time

from flask import Flask

from vocloop.jobs import schedule, tasks


def test_the_embedded_scheduler_sweeps_every_sweep_seconds(monkeypatch):
    runs: list[float] = []

    def sweep():
        runs.append(time.monotonic())

    def hourly():
        runs.append(-1.0)

    monkeypatch.setattr(tasks, "sweep", sweep)
    monkeypatch.setattr(schedule, "PERIODIC", [(sweep, "default", 60), (hourly, "default", 3600)])
    app = Flask("embedded")
    app.config["SWEEP_SECONDS"] = 1
    stop = threading.Event()
    thread = schedule.start_inline_scheduler(app, stop)
    deadline = time.monotonic() + 15
    while len(runs) < 4 and time.monotonic() < deadline:
        time.sleep(0.1)
    stop.set()
    thread.join(10)
    assert not thread.is_alive(), "the scheduler did not stop when told to"
    sweeps = [when for when in runs if when >= 0]
    assert len(sweeps) >= 3, f"{len(sweeps)} sweep(s) in 15 s with SWEEP_SECONDS=1"
    assert all(later - earlier >= 0.9 for earlier, later in zip(sweeps, sweeps[1:], strict=False))
    assert runs.count(-1.0) == 1  # the hourly job ran once, at start
