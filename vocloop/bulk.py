"""What bulk work (a send to thousands, a relay's batch) does for its speed beyond its SQL."""

from __future__ import annotations

import gc
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
