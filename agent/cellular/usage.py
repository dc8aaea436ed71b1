"""Cellular data used per SIM (ICCID) per billing period, from the cellular interface's byte counters.

    usage = attach_usage(core, config)          # samples every [usage] sample_s on the core thread
    usage.month_bytes(iccid)                    # rx + tx of the current billing period
    core.state["cellular"]["usage"]             # {iccid, slot, month, rx_bytes, tx_bytes, cap_bytes, cap_reached ...}
    events: data_cap_warning, data_cap_reached, data_cap_cleared (a new period for a SIM that had reached its cap)

Counting. The kernel's counters only grow, except when the interface is re-created (a modem reset re-enumerates
USB: new interface, new ifindex, counters from 0) and, with 32-bit counters, when they wrap at 4 GiB. A new
ifindex or a drop that no link could have produced in the time since the last sample is a reset: the new value
is all traffic since. A drop that a plausible rate explains, on a counter still below 2^32, is a wrap.

Persistence. SQLite in [storage] dir (WAL): the totals and the raw counter values they include, written together
at most every write_interval_s (flash wears) and at once on a SIM change, a cap event, a new period and stop().
After a restart in the same boot (same boot_id) with the same interface, the counters since the last write are
still in the kernel: nothing is lost even by a kill -9. A power cut loses at most write_interval_s of counting.

Attribution. Bytes go to the SIM in use when they are sampled. Until the modem has told us the ICCID (start-up,
just after a SIM switch) they are held as "pending" (persisted too) and given to the next ICCID learnt.

Where the counters come from: /sys/class/net/<interface>/statistics ([usage] statistics_dir, so tests use a fake
directory), or netlink IFLA_STATS64 when the uplinks live in a network namespace ([board] netns), or any
callable returning Counters (attach_usage(read_counters=...)).
"""
from __future__ import annotations

import dataclasses
import errno
import logging
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Callable

from agent.config import Config
from agent.core import CommandError, Core, Event
from agent.modem_service import ModemStatus
from agent.storage import Db, StorageUnavailable, announce

log = logging.getLogger(__name__)

WRAP_32 = 1 << 32
MAX_RATE_BPS = 250e6        # bytes/s: 2 Gbit/s, above any cellular link; a bigger jump is a reset, not a wrap
BOOT_ID = "/proc/sys/kernel/random/boot_id"

SCHEMA = """
CREATE TABLE IF NOT EXISTS usage (
    iccid       TEXT NOT NULL,
    period      TEXT NOT NULL,      -- YYYY-MM of the billing period's first day
    slot        INTEGER,
    rx_bytes    INTEGER NOT NULL,
    tx_bytes    INTEGER NOT NULL,
    updated     REAL,
    updated_source TEXT,            -- ntp | modem | unsynced
    warned_at   REAL,
    cap_reached_at REAL,
    PRIMARY KEY (iccid, period)
);
CREATE TABLE IF NOT EXISTS counters (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    boot_id     TEXT,
    interface   TEXT,
    ifindex     INTEGER,
    rx_raw      INTEGER,
    tx_raw      INTEGER,
    pending_rx  INTEGER NOT NULL DEFAULT 0,
    pending_tx  INTEGER NOT NULL DEFAULT 0
);
"""


# ---- pure parts -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Counters:
    ifindex: int
    rx: int
    tx: int


def counter_step(prev: int, cur: int, same_interface: bool, elapsed_s: float | None) -> tuple[int, str]:
    """Bytes between two readings of one counter, and why: "grow", "wrap" or "reset"."""
    if same_interface and cur >= prev:
        return cur - prev, "grow"
    if same_interface and prev < WRAP_32 and elapsed_s is not None and \
            cur + WRAP_32 - prev <= MAX_RATE_BPS * max(elapsed_s, 1.0):
        return cur + WRAP_32 - prev, "wrap"
    return cur, "reset"       # a new interface (or counters cleared) starts from zero: all of cur is new


def counters_delta(prev: Counters | None, cur: Counters, elapsed_s: float | None) -> tuple[int, int, str]:
    """(rx bytes, tx bytes, how) since `prev`; the first reading only sets the base."""
    if prev is None:
        return 0, 0, "base"
    same = prev.ifindex == cur.ifindex
    rx, how_rx = counter_step(prev.rx, cur.rx, same, elapsed_s)
    tx, how_tx = counter_step(prev.tx, cur.tx, same, elapsed_s)
    how = "reset" if "reset" in (how_rx, how_tx) else "wrap" if "wrap" in (how_rx, how_tx) else "grow"
    return rx, tx, how


def period_start(day: date, billing_day: int) -> date:
    """First day of the billing period holding `day`. A month shorter than billing_day starts its period on its
    last day (billing day 31: 28 Feb, 30 Apr)."""
    import calendar

    def start_in(year: int, month: int) -> date:
        return date(year, month, min(billing_day, calendar.monthrange(year, month)[1]))
    this = start_in(day.year, day.month)
    if day >= this:
        return this
    year, month = (day.year, day.month - 1) if day.month > 1 else (day.year - 1, 12)
    return start_in(year, month)


def local_date(ts: float, timezone: str = "") -> date:
    if timezone:
        from zoneinfo import ZoneInfo
        return datetime.fromtimestamp(ts, ZoneInfo(timezone)).date()
    return datetime.fromtimestamp(ts).date()


# ---- counter readers ------------------------------------------------------------------------------------------

def sysfs_reader(statistics_dir: str, interface: str) -> Callable[[], Counters | None]:
    base = Path(statistics_dir) / interface

    def read() -> Counters | None:
        try:
            return Counters(int((base / "ifindex").read_text()), int((base / "statistics" / "rx_bytes").read_text()),
                            int((base / "statistics" / "tx_bytes").read_text()))
        except (OSError, ValueError):
            return None          # interface not there (modem re-enumerating) or not readable: try next time
    return read


def netlink_reader(netns: str, interface: str) -> Callable[[], Counters | None]:
    """IFLA_STATS64 of `interface` in network namespace `netns` (sysfs shows the agent's own namespace only)."""
    from pyroute2 import IPRoute
    holder: dict[str, Any] = {}

    def read() -> Counters | None:
        try:
            if "ipr" not in holder:
                holder["ipr"] = IPRoute(netns=netns, flags=0) if netns else IPRoute()   # flags=0: never create it
            link = holder["ipr"].link("get", ifname=interface)[0]
            stats = link.get_attr("IFLA_STATS64") or {}
            return Counters(int(link["index"]), int(stats["rx_bytes"]), int(stats["tx_bytes"]))
        except Exception as e:   # no such interface (re-enumerating) or namespace: like a missing sysfs directory
            log.debug("counters of %s: %s", interface, e)
            if getattr(e, "code", None) != errno.ENODEV:   # anything but "no such device": start afresh
                ipr = holder.pop("ipr", None)
                if ipr is not None:
                    ipr.close()
            return None
    return read


def read_boot_id() -> str:
    try:
        return Path(BOOT_ID).read_text().strip()
    except OSError:
        return ""


# ---- the meter --------------------------------------------------------------------------------------------

@dataclass
class Totals:
    rx: int = 0
    tx: int = 0
    slot: int | None = None
    warned_at: float | None = None
    cap_reached_at: float | None = None

    @property
    def bytes(self) -> int:
        return self.rx + self.tx


class UsageMeter:
    def __init__(self, core: Core, config: Config, read_counters: Callable[[], Counters | None],
                 boot_id: str, interface: str):
        self.core = core
        self.cfg = config.usage
        self.read_counters = read_counters
        self.interface = interface
        self.db = Db(Path(config.storage.dir) / "usage.db", SCHEMA)
        self.boot_id = boot_id
        self.iccid: str | None = None
        self.slot: int | None = None
        self.totals: dict[tuple[str, str], Totals] = {}
        self.dirty: set[tuple[str, str]] = set()
        self.pending = [0, 0]                 # bytes not yet given to an ICCID
        self.last: Counters | None = None     # the raw counters already counted
        self.last_mono: float | None = None
        self.last_write: float | None = None
        self.period: str | None = None
        self.counters_ok = False
        self._repeat_cap = False              # a cap reached before a restart: say so again, once
        self._stopped = False
        self._load()
        core.subscribe(ModemStatus, self._on_modem_status)
        core.add_sink(self._on_event)
        core.register_command("data_usage", self._cmd_usage)
        core.call_every(self.cfg.sample_s, self.sample, first_in=0.0)
        announce(core, self.db, "usage")

    # ---- API ----------------------------------------------------------------------------------------------
    def month_bytes(self, iccid: str, period: str | None = None) -> int:
        """rx + tx bytes of `iccid` in `period` (YYYY-MM of the period start; default the current one)."""
        period = period or self.current_period()
        totals = self._totals(iccid, period, create=False)
        return totals.bytes if totals is not None else 0

    def cap_reached(self, iccid: str) -> bool:
        totals = self._totals(iccid, self.current_period(), create=False)
        return totals is not None and totals.cap_reached_at is not None

    def remaining_bytes(self) -> int | None:
        """Bytes left under the cap of the SIM in use, this period; None when it has no cap. While the SIM is
        not known (start-up, just after a switch) and some cap is set, nothing is left: what it used is unknown."""
        if self.iccid is None:
            return 0 if self.cfg.cap_bytes(1) or self.cfg.cap_bytes(2) else None
        cap = self.cfg.cap_bytes(self.slot)
        return None if cap is None else max(0, cap - self.month_bytes(self.iccid))

    def current_period(self, ts: float | None = None) -> str:
        if ts is None:
            ts = self.core.wall.now()[0]
        return period_start(local_date(ts, self.cfg.timezone), self.cfg.billing_day).strftime("%Y-%m")

    # ---- sampling (core thread) ---------------------------------------------------------------------------
    def sample(self, now: float, force_write: bool = False) -> None:
        if self._stopped:
            return
        ts, source = self.core.wall.now()
        period = self.current_period(ts)
        if self.period is not None and period != self.period:
            self._new_period(period)
            force_write = True
        self.period = period
        cur = self.read_counters()
        self.counters_ok = cur is not None
        if cur is not None:
            elapsed = None if self.last_mono is None else now - self.last_mono
            rx, tx, how = counters_delta(self.last, cur, elapsed)
            if how == "reset":
                log.info("%s counters restarted (ifindex %s -> %s): counting from their new value",
                         self.interface, self.last.ifindex if self.last else None, cur.ifindex)
            elif how == "wrap":
                log.info("%s 32-bit counter wrapped", self.interface)
            self.last, self.last_mono = cur, now
            if rx or tx:
                self._count(rx, tx, period)
        self._check_cap(ts)
        if self.dirty or force_write:
            if force_write or self.last_write is None or now - self.last_write >= self.cfg.write_interval_s:
                self._write(ts, source)
                self.last_write = now
        self._publish()

    def _count(self, rx: int, tx: int, period: str) -> None:
        if self.iccid is None:
            self.pending[0] += rx
            self.pending[1] += tx
            self.dirty.add(("", ""))
            return
        totals = self._totals(self.iccid, period, create=True)
        totals.rx += rx
        totals.tx += tx
        if self.slot is not None:
            totals.slot = self.slot
        self.dirty.add((self.iccid, period))

    def _set_sim(self, iccid: str | None, slot: int | None, now: float) -> None:
        if iccid == self.iccid and slot == self.slot:
            return
        if iccid == self.iccid:
            self.slot = slot
            return
        self.sample(now)                      # bytes so far belong to the SIM that carried them
        old, self.iccid, self.slot = self.iccid, iccid, slot
        if iccid is not None and any(self.pending):
            period = self.period or self.current_period()
            rx, tx = self.pending
            self.pending = [0, 0]
            self._count(rx, tx, period)
            log.info("%d bytes counted before the ICCID was known go to %s", rx + tx, _mask(iccid))
        if iccid is not None:
            log.info("data usage now counted for SIM %s (slot %s)", _mask(iccid), slot)
            self._repeat_cap = True
        if old != iccid:
            self.sample(now, force_write=True)

    def _on_modem_status(self, item: ModemStatus, now: float) -> None:
        status = item.status
        iccid = status.get("iccid") if isinstance(status.get("iccid"), str) and status.get("iccid") else None
        slot = status.get("sim_slot") if isinstance(status.get("sim_slot"), int) else None
        if iccid is None and status.get("sim_state") != "NOT INSERTED":
            return     # a poll that could not read the ICCID is not a SIM change
        self._set_sim(iccid, slot, now)

    def _on_event(self, event: Event) -> None:
        if event.kind == "sim_switch":
            # The SIM was switched: what was counted so far was the old SIM's; the new one's ICCID comes with the
            # next modem poll, until then bytes are pending. After this event has reached every sink (a sink
            # must not re-enter a sample that may be emitting).
            self.core.call_later(0, lambda now: self._set_sim(None, None, now))

    # ---- caps ---------------------------------------------------------------------------------------------
    def _check_cap(self, ts: float) -> None:
        if self.iccid is None or self.period is None:
            return
        totals = self._totals(self.iccid, self.period, create=True)
        cap = self.cfg.cap_bytes(self.slot)
        if cap is None:
            return
        used = totals.bytes
        data = {"iccid": self.iccid, "slot": self.slot, "period": self.period, "used_bytes": used, "cap_bytes": cap}
        if used >= cap:
            if totals.cap_reached_at is None:
                totals.cap_reached_at = ts
                self.dirty.add((self.iccid, self.period))
                self._repeat_cap = False
                log.warning("data cap reached on SIM %s (slot %s): %d of %d bytes", _mask(self.iccid), self.slot,
                            used, cap)
                self.core.emit("data_cap_reached", **data)
                self.last_write = None        # write now: a restart must not emit it as new
            elif self._repeat_cap:
                self._repeat_cap = False      # still over after a restart or a SIM change back: the rule must know
                self.core.emit("data_cap_reached", **data, repeat=True)
        elif self.cfg.warn_pct and used >= cap * self.cfg.warn_pct / 100 and totals.warned_at is None:
            totals.warned_at = ts
            self.dirty.add((self.iccid, self.period))
            self.core.emit("data_cap_warning", **data, warn_pct=self.cfg.warn_pct)
        if used < cap:
            self._repeat_cap = False

    def _new_period(self, period: str) -> None:
        previous = self.period
        if self.iccid is not None and previous is not None:
            old = self._totals(self.iccid, previous, create=False)
            if old is not None and old.cap_reached_at is not None:
                self.core.emit("data_cap_cleared", iccid=self.iccid, slot=self.slot, period=period, previous=previous)
        log.info("billing period %s begins (was %s)", period, previous)

    # ---- storage ------------------------------------------------------------------------------------------
    def _totals(self, iccid: str, period: str, create: bool) -> Totals | None:
        key = (iccid, period)
        totals = self.totals.get(key)
        if totals is None:
            rows = self._read("SELECT rx_bytes, tx_bytes, slot, warned_at, cap_reached_at FROM usage "
                              "WHERE iccid=? AND period=?", key)
            if rows:
                totals = Totals(*rows[0])
            elif create:
                totals = Totals()
            else:
                return None
            self.totals[key] = totals
        return totals

    def _read(self, sql: str, params: tuple = ()) -> list[tuple]:
        """A file that cannot be read now counts as empty: the counting goes on in memory (Db says why)."""
        try:
            return self.db.query(sql, params)
        except (StorageUnavailable, sqlite3.Error):
            return []

    def _load(self) -> None:
        rows = self._read("SELECT boot_id, interface, ifindex, rx_raw, tx_raw, pending_rx, pending_tx "
                             "FROM counters WHERE id=1")
        if not rows:
            return
        boot_id, interface, ifindex, rx, tx, prx, ptx = rows[0]
        self.pending = [int(prx or 0), int(ptx or 0)]
        if boot_id == self.boot_id and interface == self.interface and ifindex is not None:
            # Same boot: what the kernel counted since our last write is still in its counters.
            self.last = Counters(int(ifindex), int(rx), int(tx))
        else:
            # Another boot (or interface): the counters started again from 0 and all of them are new. A base
            # at zero with an impossible ifindex counts them whole at the first sample.
            self.last = Counters(-1, 0, 0)

    def _write(self, ts: float, source: str) -> None:
        # A snapshot of the values, written now or (disk full, locked) later by the storage writer, in order:
        # each write holds whole totals, so a late one never undoes a newer one.
        totals = [(key, dataclasses.replace(self.totals[key])) for key in self.dirty if key != ("", "")]
        last, pending = self.last, list(self.pending)

        def write(conn) -> None:
            for key, t in totals:
                conn.execute(
                    "INSERT INTO usage (iccid, period, slot, rx_bytes, tx_bytes, updated, updated_source, warned_at,"
                    " cap_reached_at) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT (iccid, period) DO UPDATE SET "
                    "slot=excluded.slot, rx_bytes=excluded.rx_bytes, tx_bytes=excluded.tx_bytes, "
                    "updated=excluded.updated, updated_source=excluded.updated_source, "
                    "warned_at=excluded.warned_at, cap_reached_at=excluded.cap_reached_at",
                    (key[0], key[1], t.slot, t.rx, t.tx, ts, source, t.warned_at, t.cap_reached_at))
            conn.execute(
                "INSERT OR REPLACE INTO counters (id, boot_id, interface, ifindex, rx_raw, tx_raw, pending_rx, "
                "pending_tx) VALUES (1,?,?,?,?,?,?,?)",
                (self.boot_id, self.interface, None if last is None else last.ifindex,
                 None if last is None else last.rx, None if last is None else last.tx, *pending))

        self.db.write(write)
        self.dirty.clear()

    def stop(self) -> None:
        """Count and write what is there (the runtime's stop)."""
        if self._stopped:
            return
        try:
            self.sample(self.core.now(), force_write=True)
        finally:
            self._stopped = True
            self.db.close()

    # ---- state, command -----------------------------------------------------------------------------------
    def _publish(self) -> None:
        totals = self._totals(self.iccid, self.period, create=True) if self.iccid and self.period else None
        cap = self.cfg.cap_bytes(self.slot)
        self.core.state.setdefault("cellular", {})["usage"] = {
            "iccid": self.iccid,
            "slot": self.slot,
            "month": self.period,
            "billing_day": self.cfg.billing_day,
            "rx_bytes": totals.rx if totals else None,
            "tx_bytes": totals.tx if totals else None,
            "total_bytes": totals.bytes if totals else None,
            "cap_bytes": cap,
            "cap_reached": bool(totals and totals.cap_reached_at is not None),
            "pending_bytes": sum(self.pending),
            "interface": self.interface,
            "counters_ok": self.counters_ok,
        }

    def _cmd_usage(self, args: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(args, dict) or set(args) - {"iccid", "period"}:
            raise CommandError("data_usage takes optional iccid and period (YYYY-MM)")
        sql, params = "SELECT iccid, period, slot, rx_bytes, tx_bytes, cap_reached_at FROM usage", []
        where = []
        for key in ("iccid", "period"):
            value = args.get(key)
            if value is None:
                continue
            if not isinstance(value, str) or not value or len(value) > 32:
                raise CommandError(f"{key}: expected a string")
            where.append(f"{key}=?")
            params.append(value)
        self.sample(self.core.now(), force_write=True)    # the answer includes what is not on flash yet
        if where:
            sql += " WHERE " + " AND ".join(where)
        try:
            rows = self.db.query(sql + " ORDER BY period DESC, iccid LIMIT 240", tuple(params))
        except (StorageUnavailable, sqlite3.Error) as e:
            raise CommandError(f"data_usage: the usage file cannot be read now ({e})") from None
        return {"current": dict(self.core.state["cellular"]["usage"]),
                "periods": [{"iccid": i, "period": p, "slot": s, "rx_bytes": rx, "tx_bytes": tx,
                             "total_bytes": rx + tx, "cap_reached_at": c} for i, p, s, rx, tx, c in rows]}


def _mask(iccid: str) -> str:
    return iccid[:6] + "…" + iccid[-4:] if len(iccid) > 10 else iccid


def attach_usage(core: Core, config: Config, *, read_counters: Callable[[], Counters | None] | None = None,
                 boot_id: str | None = None) -> UsageMeter:
    """Count cellular data per SIM. `read_counters` replaces the sysfs / netlink reader (tests, other boards)."""
    interface = config.usage.interface or config.board.cellular_interface
    if read_counters is None:
        netns = config.board.netns
        read_counters = netlink_reader(netns, interface) if netns else sysfs_reader(config.usage.statistics_dir,
                                                                                   interface)
    return UsageMeter(core, config, read_counters, read_boot_id() if boot_id is None else boot_id, interface)
