"""The console server: the agent's local Unix socket, one thread accepting and one short thread per client
(agent/console/session.py, loaded with the first client: an agent nobody visits does not hold that code).

Every request becomes CommandReceived(name, args, reply) posted to the core, exactly like a command from MQTT;
the client's thread waits (bounded) for the core's reply and writes it back. The core thread never waits on a
client: a slow or silent client only holds its own thread, and at most MAX_CLIENTS are served at once.

Who may connect is the file's business: the socket is 0660 and belongs to group relais when that group exists
(connect(2) needs write permission on it), so a user outside the group gets "permission denied" from the kernel
before a byte is read. The peer's pid/uid/gid (SO_PEERCRED) are logged at debug level, for the record.
"""
from __future__ import annotations

import errno
import logging
import os
import socket
import stat
import threading
from pathlib import Path

from agent.console import protocol
from agent.core import Core

log = logging.getLogger(__name__)

MAX_CLIENTS = 8             # a technician's few terminals and the doctor; more is a loop gone wrong
# A command may wait on the modem (AT+COPS=? can take 180 s): past this the client is told, and the thread freed.
ANSWER_TIMEOUT_S = 200.0
MAX_PATH_BYTES = 107        # sockaddr_un.sun_path, less the final NUL


class ConsoleError(Exception):
    """The socket cannot be set up; the message says why, in one line."""


class ConsoleServer:
    def __init__(self, core: Core, path: str | os.PathLike, *, group: str = protocol.GROUP,
                 answer_timeout_s: float = ANSWER_TIMEOUT_S, max_clients: int = MAX_CLIENTS) -> None:
        self.core = core
        self.path = Path(path)
        self.group = group
        self.answer_timeout_s = answer_timeout_s
        self._slots = threading.BoundedSemaphore(max_clients)
        self._max_clients = max_clients
        self._listener: socket.socket | None = None
        self._inode: tuple[int, int] | None = None   # the socket file we made: only that one is removed at stop
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self.problem: str | None = None     # why there is no console (None while it listens)

    # ---- life cycle --------------------------------------------------------------------------------------
    def start(self) -> None:
        """Listen, or say in one line why not: the agent runs on without a console (failover matters more);
        `relais status` then reads the status file."""
        try:
            self._listener = self._listen()
        except ConsoleError as e:
            self.problem = str(e)
            log.error("console: %s; relais status will read the status file instead", e)
            return
        self._thread = threading.Thread(target=self._accept_loop, name="console", daemon=True)
        self._thread.start()
        log.info("console: listening on %s", self.path)

    def stop(self) -> None:
        self._stopping.set()
        listener, self._listener = self._listener, None
        if listener is not None:
            try:
                listener.shutdown(socket.SHUT_RDWR)    # wakes accept() on Linux
            except OSError:
                pass
            listener.close()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        self._remove_own_socket()

    # ---- setting up --------------------------------------------------------------------------------------
    def _listen(self) -> socket.socket:
        path = self.path
        if len(os.fsencode(path)) > MAX_PATH_BYTES:
            raise ConsoleError(f"socket path {path} is longer than {MAX_PATH_BYTES} bytes (a Unix socket's limit)")
        self._remove_stale(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise ConsoleError(f"cannot make {path.parent} ({e.strerror or e})") from None
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            # Until chmod below the file has the umask's mode; connect(2) needs write permission, which a 022 or
            # 077 umask gives nobody but the owner: the short window opens nothing to others.
            listener.bind(str(path))
            st = path.lstat()
            self._inode = (st.st_dev, st.st_ino)
            self._set_owner(path)
            listener.listen(MAX_CLIENTS)
        except OSError as e:
            listener.close()
            raise ConsoleError(f"cannot listen on {path} ({e.strerror or e})") from None
        return listener

    def _remove_stale(self, path: Path) -> None:
        """A socket file left by an agent that did not stop cleanly is removed; one a live agent answers on, or a
        file that is not a socket, is not ours to remove."""
        try:
            st = path.lstat()
        except FileNotFoundError:
            return
        except OSError as e:
            raise ConsoleError(f"cannot look at {path} ({e.strerror or e})") from None
        if not stat.S_ISSOCK(st.st_mode):
            raise ConsoleError(f"{path} exists and is not a socket")
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        probe.settimeout(1.0)
        try:
            probe.connect(str(path))
        except (ConnectionRefusedError, FileNotFoundError):
            pass                              # nobody listens: stale
        except OSError as e:
            raise ConsoleError(f"cannot tell whether {path} is in use ({e.strerror or e})") from None
        else:
            raise ConsoleError(f"another agent answers on {path} (two agents on one box?)")
        finally:
            probe.close()
        try:
            path.unlink()
            log.info("console: removed the stale socket %s", path)
        except FileNotFoundError:
            pass
        except OSError as e:
            raise ConsoleError(f"cannot remove the stale socket {path} ({e.strerror or e})") from None

    def _set_owner(self, path: Path) -> None:
        os.chmod(path, protocol.MODE)
        gid = group_id(self.group)
        if gid is None:
            log.info("console: no group %s on this system: the socket is for %s's own group", self.group,
                     "this user")
            return
        try:
            os.chown(path, -1, gid)
        except PermissionError:    # not root and not a member: the group stays the agent's own
            log.warning("console: cannot give %s to group %s (the agent is not a member)", path, self.group)

    def _remove_own_socket(self) -> None:
        if self._inode is None:
            return
        try:
            st = self.path.lstat()
            if (st.st_dev, st.st_ino) == self._inode:
                self.path.unlink()
        except OSError:
            pass
        self._inode = None

    # ---- serving -----------------------------------------------------------------------------------------
    def _accept_loop(self) -> None:
        listener = self._listener
        while not self._stopping.is_set() and listener is not None:
            try:
                conn, _ = listener.accept()
            except OSError as e:
                if self._stopping.is_set() or e.errno in (errno.EBADF, errno.EINVAL):
                    return
                log.warning("console: accept failed (%s)", e.strerror or e)
                continue
            if not self._slots.acquire(blocking=False):
                self._refuse_busy(conn)
                continue
            from agent.console.session import Session   # the serving code loads when a first client comes
            session = Session(self.core, conn, self.answer_timeout_s, self._stopping, self._slots.release)
            threading.Thread(target=session.serve, name="console-client", daemon=True).start()

    def _refuse_busy(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(1.0)
            conn.sendall(protocol.encode(protocol.error(
                f"busy: {self._max_clients} console clients are connected already")))
        except OSError:
            pass
        finally:
            conn.close()


def group_id(name: str, group_file: str = "/etc/group") -> int | None:
    """The gid of a local group, read from /etc/group. Not grp.getgrnam: through NSS it loads libnss_systemd and
    friends, half a megabyte of RSS for the agent's whole life (BENCHMARKS.md, Console); the packages create the
    relais group in /etc/group, where this finds it."""
    try:
        with open(group_file, encoding="utf-8", errors="replace") as f:
            for line in f:
                fields = line.rstrip("\n").split(":")
                if len(fields) >= 3 and fields[0] == name and fields[2].isdigit():
                    return int(fields[2])
    except OSError:
        pass
    return None
