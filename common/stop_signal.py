"""SIGTERM / SIGINT as a threading.Event, without the deadlock of setting the event in the handler.

A Python signal handler runs on the main thread between two bytecodes — possibly while that very thread holds the
event's own lock (inside `event.wait()` or `event.set()`, whose Condition uses a plain, non-reentrant Lock).
Calling `event.set()` from the handler then waits forever for a lock its own thread holds: the process no longer
stops on SIGTERM, and systemd kills it after its timeout (an unclean stop). So the handler only writes a byte to a
pipe (no lock taken), and a small thread of its own sets the event.
"""
from __future__ import annotations

import os
import signal
import threading
from typing import Callable, Iterable

DEFAULT_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def stop_on_signals(event: threading.Event, signals: Iterable[int] = DEFAULT_SIGNALS,
                    name: str = "stop-signal") -> Callable[[], None]:
    """From now on each of `signals` sets `event`. Call from the main thread (Python's rule for handlers).
    Returns `restore()`: the previous handlers back, the pipe closed."""
    r, w = os.pipe()
    os.set_blocking(w, False)

    def handler(signum, frame) -> None:
        try:
            os.write(w, bytes([signum & 0xFF]))
        except (BlockingIOError, OSError):    # the pipe full of earlier signals (or closed): already stopping
            pass

    def watch() -> None:
        try:
            while os.read(r, 1):
                event.set()
        except OSError:
            pass
        finally:
            os.close(r)                        # end of file: restore() closed the writing end

    previous = {s: signal.signal(s, handler) for s in signals}
    threading.Thread(target=watch, name=name, daemon=True).start()

    def restore() -> None:
        for s, h in previous.items():
            signal.signal(s, h)
        os.close(w)                            # the watcher reads end-of-file, closes its end and ends
    return restore
