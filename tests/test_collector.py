"""The process's one pause of the cyclic garbage collector."""

import gc
from collections.abc import Iterator

import pytest

from missioncontrol.domain.collector import collector_paused


@pytest.fixture(autouse=True)
def collector_on() -> Iterator[None]:
    gc.enable()
    yield
    gc.enable()


def test_nested_pauses_hold_until_the_last_leaves() -> None:
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():  # another reader at the same time
            assert not gc.isenabled()
        assert not gc.isenabled()  # the first is still inside
    assert gc.isenabled()


def test_pauses_that_overlap_without_nesting_hold_until_the_last_leaves() -> None:
    # An investigation starts, the store starts a conversion in another thread, the investigation
    # ends first: the conversion must still run with the collector off.
    investigation, conversion = collector_paused(), collector_paused()
    investigation.__enter__()
    conversion.__enter__()
    investigation.__exit__(None, None, None)
    assert not gc.isenabled()
    conversion.__exit__(None, None, None)
    assert gc.isenabled()


def test_a_collector_the_caller_turned_off_stays_off() -> None:
    gc.disable()
    with collector_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()
