"""The console's people: users with a role, their password hashes, sessions, and the audit of what they did.

Roles, each with everything of the one before: viewer (reads), operator (+ sends commands to a site), admin (+ the
users and the audit page).

Passwords: hashlib.scrypt, a memory-hard KDF (RFC 7914), N=2**15, r=8, p=1 (32 MiB and about 0.1 s per try on
one core of this machine: a stolen database costs an attacker that much per guess and per user, as each hash has
its own 16-byte random salt), compared with hmac.compare_digest. The parameters are stored with each hash
("scrypt$15$8$1$<salt>$<hash>"): stronger ones later do not lock anyone out.

Sessions: a random token (32 bytes) in an HttpOnly cookie; the database holds only its SHA-256, so a leaked
database opens no session. A session ends after `idle_s` without a request or `absolute_s` after the login,
whichever comes first, or at logout. Each has its own CSRF token.

Everything here goes through FleetDb, so SQLite and PostgreSQL both hold it, and several `fleet serve` instances
behind a load balancer share the users and the sessions.
"""
from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Any

from common.wire.topics import is_topic_level
from fleet.db import FleetDb

SCRYPT_LOG2_N, SCRYPT_R, SCRYPT_P = 15, 8, 1
SALT_BYTES, HASH_BYTES = 16, 32
MAX_PASSWORD_CHARS = 1024      # a megabyte "password" costs the KDF nothing more, but bounds what a form sends
MIN_PASSWORD_CHARS = 10
TOUCH_EVERY_S = 30.0           # a session's last use is written at most this often: a page is a read, and a write
                               # per request (a commit, fsync'ed) would cost more than the page; idle expiry is
                               # that much less exact

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS console_users (
        name TEXT PRIMARY KEY, role TEXT NOT NULL, password TEXT NOT NULL, created DOUBLE PRECISION NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS console_sessions (
        token_sha256 TEXT PRIMARY KEY, name TEXT NOT NULL, csrf TEXT NOT NULL,
        created DOUBLE PRECISION NOT NULL, last_used DOUBLE PRECISION NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS console_audit (
        at DOUBLE PRECISION NOT NULL, who TEXT NOT NULL, source TEXT NOT NULL, action TEXT NOT NULL,
        site TEXT NOT NULL, args TEXT NOT NULL, ok INTEGER, reply TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS console_audit_at ON console_audit (at)",
)


class Role(enum.IntEnum):
    VIEWER = 1
    OPERATOR = 2
    ADMIN = 3

    @classmethod
    def named(cls, name: str) -> "Role":
        try:
            return cls[name.upper()]
        except KeyError:
            raise UserError(f"role {name[:20]!r}: expected viewer, operator or admin") from None

    @property
    def label(self) -> str:
        return self.name.lower()


class UserError(ValueError):
    """One line for the person managing users."""


def check_name(name: str) -> str:
    if not is_topic_level(name):
        raise UserError(f"user name {name[:40]!r}: expected 1-64 of A-Z a-z 0-9 _ . : -")
    return name


def check_password(password: str) -> str:
    if not MIN_PASSWORD_CHARS <= len(password) <= MAX_PASSWORD_CHARS:
        raise UserError(f"a password has {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters")
    return password


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def hash_password(password: str, log2_n: int = SCRYPT_LOG2_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _scrypt(password, salt, log2_n, r, p)
    return f"scrypt${log2_n}${r}${p}${_b64(salt)}${_b64(digest)}"


def _scrypt(password: str, salt: bytes, log2_n: int, r: int, p: int) -> bytes:
    n = 1 << log2_n
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=2 * 128 * r * n * p + 2 ** 20,
                          dklen=HASH_BYTES)


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, log2_n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        got = _scrypt(password[:MAX_PASSWORD_CHARS], base64.b64decode(salt), int(log2_n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


# A hash to check against when the name is unknown: a login then takes as long as with a known name, so timing
# does not tell which names exist.
_DUMMY_HASH: list[str] = []


def _dummy_hash() -> str:
    if not _DUMMY_HASH:
        _DUMMY_HASH.append(hash_password(secrets.token_hex(16)))
    return _DUMMY_HASH[0]


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class User:
    name: str
    role: Role


@dataclass(frozen=True)
class Session:
    user: User
    csrf: str
    token_sha256: str


class Users:
    """Users, sessions and the audit in the fleet database (one FleetDb, used by one thread at a time)."""

    def __init__(self, db: FleetDb, create: bool = True):
        self.db = db
        if create:   # the console creates the tables once at its start, not at every request
            db.execute_schema(SCHEMA)

    # -- users ----------------------------------------------------------------------------------------------------
    def add(self, name: str, role: Role, password: str, now: float) -> None:
        check_name(name)
        if self.get(name) is not None:
            raise UserError(f"user {name} exists already (relais fleet user passwd {name} to change the password)")
        self.db.execute("INSERT INTO console_users (name, role, password, created) VALUES (?, ?, ?, ?)",
                        (name, role.label, hash_password(check_password(password)), now))

    def set_password(self, name: str, password: str) -> None:
        self._existing(name)
        self.db.execute("UPDATE console_users SET password = ? WHERE name = ?",
                        (hash_password(check_password(password)), name))
        self.end_sessions(name)   # a changed password is often a lost one: whoever held a session is out

    def set_role(self, name: str, role: Role) -> None:
        self._existing(name)
        self.db.execute("UPDATE console_users SET role = ? WHERE name = ?", (role.label, name))

    def remove(self, name: str) -> None:
        self._existing(name)
        self.db.execute("DELETE FROM console_users WHERE name = ?", (name,))
        self.end_sessions(name)

    def get(self, name: str) -> User | None:
        rows = self.db.query("SELECT name, role FROM console_users WHERE name = ?", (name,))
        return User(rows[0][0], Role.named(rows[0][1])) if rows else None

    def all(self) -> list[tuple[User, float]]:
        return [(User(n, Role.named(r)), created) for n, r, created in
                self.db.query("SELECT name, role, created FROM console_users ORDER BY name")]

    def _existing(self, name: str) -> User:
        user = self.get(name)
        if user is None:
            raise UserError(f"no user {name[:64]!r}")
        return user

    def authenticate(self, name: str, password: str) -> User | None:
        rows = self.db.query("SELECT role, password FROM console_users WHERE name = ?", (name[:64],))
        if not rows:
            verify_password(password, _dummy_hash())
            return None
        return User(name, Role.named(rows[0][0])) if verify_password(password, rows[0][1]) else None

    # -- sessions -------------------------------------------------------------------------------------------------
    def open_session(self, user: User, now: float) -> tuple[str, Session]:
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        digest = token_digest(token)
        self.db.execute("INSERT INTO console_sessions (token_sha256, name, csrf, created, last_used) "
                        "VALUES (?, ?, ?, ?, ?)", (digest, user.name, csrf, now, now))
        return token, Session(user, csrf, digest)

    def session(self, token: str, now: float, idle_s: float, absolute_s: float, touch: bool = True) -> Session | None:
        """The live session of this cookie, its idle clock restarted (unless not `touch`: a live page polling is
        not a person at work); None when unknown, expired or its user is gone."""
        if not token or len(token) > 128:
            return None
        digest = token_digest(token)
        rows = self.db.query("SELECT s.name, u.role, s.csrf, s.created, s.last_used FROM console_sessions s "
                             "JOIN console_users u ON u.name = s.name WHERE s.token_sha256 = ?", (digest,))
        if not rows:
            return None
        name, role, csrf, created, last_used = rows[0]
        if now - last_used > idle_s or now - created > absolute_s:
            self.db.execute("DELETE FROM console_sessions WHERE token_sha256 = ?", (digest,))
            return None
        if touch and now - last_used >= TOUCH_EVERY_S:
            self.db.execute("UPDATE console_sessions SET last_used = ? WHERE token_sha256 = ?", (now, digest))
        return Session(User(name, Role.named(role)), csrf, digest)

    def close_session(self, session: Session) -> None:
        self.db.execute("DELETE FROM console_sessions WHERE token_sha256 = ?", (session.token_sha256,))

    def end_sessions(self, name: str) -> None:
        self.db.execute("DELETE FROM console_sessions WHERE name = ?", (name,))

    def forget_expired(self, now: float, idle_s: float, absolute_s: float) -> None:
        self.db.execute("DELETE FROM console_sessions WHERE last_used < ? OR created < ?",
                        (now - idle_s, now - absolute_s))

    # -- audit ----------------------------------------------------------------------------------------------------
    def audit(self, now: float, who: str, source: str, action: str, site: str, args: dict[str, Any],
              ok: bool | None, reply: Any) -> None:
        self.db.execute("INSERT INTO console_audit (at, who, source, action, site, args, ok, reply) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (now, who, source[:64], action[:64], site[:64], json.dumps(args, sort_keys=True)[:4000],
                         None if ok is None else int(ok), json.dumps(reply, ensure_ascii=False)[:8000]))

    def audit_log(self, limit: int = 200) -> list[dict[str, Any]]:
        rows = self.db.query("SELECT at, who, source, action, site, args, ok, reply FROM console_audit "
                             "ORDER BY at DESC LIMIT ?", (limit,))
        return [{"at": at, "who": who, "source": source, "action": action, "site": site, "args": json.loads(args),
                 "ok": None if ok is None else bool(ok), "reply": json.loads(reply)}
                for at, who, source, action, site, args, ok, reply in rows]


def read_password(prompt: str, stdin=None) -> str:
    """From the terminal (asked twice, not echoed), or the first line of stdin when it is not a terminal (a
    script: `printf '%s\\n' "$PW" | relais fleet user add ...`). Never an argument: a command line is seen by every
    user of the machine (ps) and stays in shell histories."""
    import getpass
    import sys
    stdin = stdin or sys.stdin
    if stdin.isatty():
        try:
            first = getpass.getpass(prompt)
            again = getpass.getpass("again: ")
        except (EOFError, KeyboardInterrupt):
            raise UserError("no password given") from None
        if again != first:
            raise UserError("the two passwords differ")
        return check_password(first)
    return check_password(stdin.readline().rstrip("\r\n"))


def manage(db: FleetDb, action: str, name: str | None, role: str | None, now: float, stdin=None) -> str:
    """`relais fleet user add|passwd|rm|ls`: what to print."""
    users = Users(db)
    if action == "ls":
        listed = users.all()
        return "\n".join(f"{u.name}\t{u.role.label}" for u, _ in listed) if listed else "no users"
    assert name is not None
    check_name(name)
    if action == "add":
        chosen = Role.named(role or "viewer")
        if users.get(name) is not None:
            raise UserError(f"user {name} exists already (relais fleet user passwd {name} to change the password)")
        users.add(name, chosen, read_password(f"password for {name}: ", stdin), now)
        return f"added {name} ({chosen.label})"
    if action == "passwd":
        users._existing(name)
        users.set_password(name, read_password(f"new password for {name}: ", stdin))
        return f"changed the password of {name}; their sessions are closed"
    if action == "role":
        chosen = Role.named(role or "")
        users.set_role(name, chosen)
        return f"{name} is now {chosen.label}"
    users.remove(name)
    return f"removed {name}"
