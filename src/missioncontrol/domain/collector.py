"""The process's one pause of the cyclic garbage collector, shared by every thread and every layer.

It lives in `domain` because that is the one package both the engine and the storage may import.

Reading a case (hundreds of thousands of spans and log lines, alive only until its diagnosis is made
and holding no cycles) allocates enough to set off young and then full collections that re-scan all
of it: a third of a conversion's CPU on Nezha Train Ticket case #03, 0.1-0.25 s of a Nezha Online
Boutique investigation. The telemetry store pauses the collector around its conversion and the
investigator around a whole investigation; both count into this one pause, so however their threads
interleave the collector stays off until the last of them leaves, and comes back on only if it was
on when the first one came in. Cyclic garbage made meanwhile waits until then.
"""

import gc
import threading


class CollectorPause:
    """A counted pause: the first to enter turns the collector off, the last to leave restores it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.inside = 0
        self.was_enabled = False

    def __enter__(self) -> None:
        with self.lock:
            if self.inside == 0:
                self.was_enabled = gc.isenabled()
                gc.disable()
            self.inside += 1

    def __exit__(self, *_exc: object) -> None:
        with self.lock:
            self.inside -= 1
            if self.inside == 0 and self.was_enabled:
                gc.enable()


_PAUSE = CollectorPause()


def collector_paused() -> CollectorPause:
    """Return the process's pause of the cyclic garbage collector (use as `with collector_paused():`)."""
    return _PAUSE
