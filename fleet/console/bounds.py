"""What one client, or one busy moment, may hold of the console: a request must arrive within a deadline
(slowloris), connections are bounded (a thread each), and so are the database connections they share. Past a
bound the answer is a 503 at once, and what is already being served goes on.
"""
from __future__ import annotations

import io
import logging
import queue
import threading
import time
from contextlib import contextmanager
from http.server import ThreadingHTTPServer
from socketserver import BaseRequestHandler
from typing import Any, Iterator

from fleet.db import DatabaseError, FleetDb

log = logging.getLogger("relais.fleet.console")

MAX_CONNECTIONS = 128              # request threads at once (live pages included); beyond, a 503 at once
REQUEST_TIMEOUT_S = 20.0           # a request's line, headers and form must all arrive within this
MAX_DB_CONNECTIONS = 16            # the console's share of the database server's (PostgreSQL: 100 by default)
DB_WAIT_S = 10.0                   # a request waits this long for one of them, then is a 503


class ConsoleBusy(DatabaseError):
    """Every database connection of the console is in use: a 503, not a fault of the database."""


class DbPool:
    """The console's database connections: reused (LIFO), at most MAX_DB_CONNECTIONS at once however many request
    threads there are. Each thread would otherwise open its own and keep it in the pool, and 128 of them would
    take what the ingest needs from the database server."""

    def __init__(self, database: str):
        self.database = database
        self.idle: queue.LifoQueue[FleetDb] = queue.LifoQueue()
        self.slots = threading.BoundedSemaphore(MAX_DB_CONNECTIONS)
        self.wait_s = DB_WAIT_S

    @contextmanager
    def connection(self) -> Iterator[FleetDb]:
        if not self.slots.acquire(timeout=self.wait_s):
            raise ConsoleBusy(f"all {MAX_DB_CONNECTIONS} database connections of the console are in use")
        try:
            try:
                db = self.idle.get_nowait()
            except queue.Empty:
                db = FleetDb(self.database)
            try:
                yield db
            except DatabaseError:
                db.close()   # a broken connection is not given back
                raise
            except BaseException:
                self.idle.put(db)   # an HTTP error inside: each statement is its own transaction, it is fine
                raise
            self.idle.put(db)
        finally:
            self.slots.release()

    def close(self) -> None:
        while True:
            try:
                self.idle.get_nowait().close()
            except queue.Empty:
                return


class DeadlineReader(io.RawIOBase):
    """The connection's bytes, each request's within a deadline (`start` at its first byte awaited). A socket
    timeout alone restarts at each byte: a client sending one now and then (slowloris) would hold its thread for
    ever. After each read the socket's timeout is `seconds` again, for the answer's writes."""

    def __init__(self, sock: Any, seconds: float):
        self.sock, self.seconds = sock, seconds
        self.deadline = time.monotonic() + seconds

    def readable(self) -> bool:
        return True

    def start(self) -> None:
        self.deadline = time.monotonic() + self.seconds

    def readinto(self, buffer: Any) -> int:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"the request did not arrive within {self.seconds:g} s")
        self.sock.settimeout(left)
        try:
            return self.sock.recv_into(buffer)
        finally:
            self.sock.settimeout(self.seconds)


class BoundedHTTPServer(ThreadingHTTPServer):
    request_queue_size = 128   # the listen backlog (socketserver's 5 makes a burst of browsers wait a SYN retry, 1 s)
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address) -> None:
        """A browser that went away (a live page closed, a navigation mid-answer) is no error; anything else is
        logged here (socketserver would print it on stderr)."""
        import sys
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError, TimeoutError)):
            return
        log.exception("console: a request from %s failed", client_address[0])

    def __init__(self, address: tuple[str, int], handler: type[BaseRequestHandler]):
        self.request_timeout_s = REQUEST_TIMEOUT_S
        self.max_connections = MAX_CONNECTIONS
        self.open_connections = 0
        self._count_lock = threading.Lock()
        self.busy_logged = -1e9
        super().__init__(address, handler)

    # A thread per connection, but a bounded number of them: past MAX_CONNECTIONS a connection is answered 503 by
    # the accepting thread (one small non-blocking send) and closed, and the ones already served go on.
    BUSY = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
            b"X-Content-Type-Options: nosniff\r\nRetry-After: 5\r\nConnection: close\r\nContent-Length: 49\r\n\r\n"
            b"too many connections: try again in a few seconds\n")

    def process_request(self, request, client_address) -> None:
        with self._count_lock:
            admitted = self.open_connections < self.max_connections
            self.open_connections += admitted
        if not admitted:
            if time.monotonic() - self.busy_logged > 60:   # a flood of connections is not a flood of lines
                self.busy_logged = time.monotonic()
                log.warning("console: too many connections open: those from %s and others refused",
                            client_address[0])
            try:
                request.setblocking(False)
                request.send(self.BUSY)
            except OSError:
                pass
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._closed()
            raise

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._closed()

    def _closed(self) -> None:
        with self._count_lock:
            self.open_connections -= 1
