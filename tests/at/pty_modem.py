"""A scripted modem on a real pty for AtPort tests: replies by table, can drop off the bus and come back.

Deliberately dumb (no state): the full modem simulator is modem/simulator; this one exists so that the port's own
behaviour (threads, reopen, timeouts) is tested with exact control over every byte.
"""
from __future__ import annotations

import os
import select
import threading
import tty


class PtyModem:
    def __init__(self, link: str, replies: dict[bytes, bytes] | None = None, echo: bool = True):
        self.link = link
        self.replies = dict(replies or {})
        self.echo = echo
        self.silent = False                  # swallow commands (a hung modem)
        self.received: list[bytes] = []
        self._stop = threading.Event()
        self._master = None
        self._thread = None

    def plug(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)
        name = os.ttyname(slave)
        # Keep our slave fd open: with no slave open, reads on the master fail with EIO (and the port under test
        # opens the slave by name anyway).
        self._slave = slave
        tmp = self.link + ".tmp"
        if os.path.lexists(tmp):
            os.unlink(tmp)
        os.symlink(name, tmp)
        os.replace(tmp, self.link)
        self._master = master
        self._stop.clear()
        self._thread = threading.Thread(target=self._serve, args=(master,), daemon=True)
        self._thread.start()

    def unplug(self) -> None:
        """USB re-enumeration: the device node disappears, the fd dies."""
        self._stop.set()
        if self._thread:
            self._thread.join(2)
        if os.path.lexists(self.link):
            os.unlink(self.link)
        if self._master is not None:
            os.close(self._master)
            os.close(self._slave)
            self._master = None

    def send(self, data: bytes) -> None:
        os.write(self._master, data)

    def _serve(self, master: int) -> None:
        buf = b""
        while not self._stop.is_set():
            r, _, _ = select.select([master], [], [], 0.05)
            if not r:
                continue
            try:
                data = os.read(master, 4096)
            except OSError:
                return
            buf += data
            while b"\r" in buf:
                cmd, buf = buf.split(b"\r", 1)
                cmd = cmd.strip()
                if not cmd:
                    continue
                self.received.append(cmd)
                if self.silent:
                    continue
                out = (cmd + b"\r\r\n") if self.echo else b""
                out += self.replies.get(cmd, b"\r\nOK\r\n" if cmd == b"AT" else b"\r\nERROR\r\n")
                os.write(master, out)
