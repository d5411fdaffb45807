"""Bulk work pauses the cyclic garbage collector and always gives it back."""

import gc

import pytest

from vocloop.bulk import collector_paused


def test_the_collector_is_paused_inside_and_back_after_the_work_even_after_an_error():
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():  # an inner pause leaves it to the outer one
            pass
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ValueError), collector_paused():
        raise ValueError("the send failed")
    assert gc.isenabled()


def test_a_pause_someone_else_made_is_left_to_them():
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
