"""Entering a named network namespace from one thread.

A router may keep its uplinks in a namespace of their own (the lab does): the probers and the netlink watcher
then work from threads that entered it. setns(2) with CLONE_NEWNET changes only the calling thread, so the rest
of the agent is not moved. Python 3.11 has no os.setns: libc's, through ctypes.
"""
from __future__ import annotations

import ctypes
import os

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def enter_netns(name: str) -> None:
    """Move the calling thread into network namespace `name` ("" = stay). OSError if it does not exist."""
    if not name:
        return
    path = name if name.startswith("/") else f"/var/run/netns/{name}"
    fd = os.open(path, os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns({name}): {os.strerror(err)}")
    finally:
        os.close(fd)
