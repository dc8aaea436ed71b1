"""common/stop_signal.py: a signal sets the event through a pipe and a thread, never in the handler itself
(event.set() in a handler deadlocks when the signal lands while the main thread holds the event's lock)."""
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent("""
    import os, signal, sys, threading
    from common.stop_signal import stop_on_signals
    ev = threading.Event()
    restore = stop_on_signals(ev, (signal.SIGUSR1,))
    fds = len(os.listdir("/proc/self/fd"))
    print("ready", flush=True)
    for n in range(int(sys.argv[1])):
        while not ev.wait(0.0002):       # the main thread in and out of the event's lock all the time
            pass
        ev.clear()
        print(n, flush=True)
    restore()
    threading.enumerate()                # let the watcher see end of file
    import time; time.sleep(0.05)
    print("handler restored:", signal.getsignal(signal.SIGUSR1) == signal.SIG_DFL, flush=True)
    print("fds back:", len(os.listdir("/proc/self/fd")) == fds - 2, flush=True)
""")


def test_every_signal_sets_the_event_and_restore_puts_everything_back():
    rounds = 300
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(rounds)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == "ready\n"
        for n in range(rounds):
            os.kill(proc.pid, signal.SIGUSR1)
            assert proc.stdout.readline() == f"{n}\n"     # a hang here is the deadlock this module avoids
        assert proc.stdout.readline() == "handler restored: True\n"
        assert proc.stdout.readline() == "fds back: True\n"
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
