"""What bulk work (a send to thousands, a relay's batch) does for its speed beyond its SQL."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused():
    """CPython's cyclic garbage collector paused for the work inside (a context manager or a decorator).
    It runs after every 700 new containers and, as they survive, walks every live object again: while a
    send builds its invitation and outbox rows (dicts that live until they are written) it was a third of
    the send's Python, and a fifth of the relay's (issue #25). Those rows make no cycles; what cycles the
    work does make are collected when it ends, error or not. The collector is the process's: another
    thread runs without it meanwhile, and an inner pause leaves it to the outer one."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@contextmanager
def collector_skipping_what_exists() -> Iterator[None]:
    """During a long job that makes garbage of its own (a re-classification run), CPython's cyclic
    collector leaves alone the objects alive when it began (the model's tables, the app: some 300,000):
    each full collection walked them all, four or five times per 50,000 answers, a tenth of the run's
    CPU (issue #21). The job's own garbage is collected as usual, and afterwards everything is again. A
    process that froze objects on purpose (a pre-forking server) keeps them so."""
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
