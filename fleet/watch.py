"""The alert loop of `relais fleet serve`: provider incidents and alerts from what the ingest stored.

    every `every_s`:  events + telemetry that arrived since the last round (FleetDb, by `received`)
                      ├─ link events ──▶ correlate.decide(state, event, now) ──▶ provider_incidents (opened/closed)
                      ├─ drills, telemetry ──▶ Tracked per site (fleet/sites.py)
                      └─ devices + Tracked ──▶ SiteView ──▶ Alerting.evaluate(now) ──▶ e-mail / webhooks (pump)

It reads the database, not the broker's stream: with several `fleet serve` instances sharing the subscriptions
each sees part of the events, the database sees them all. One instance runs the loop at a time (a lease in the
database, renewed every round; another takes over when it expires), on its own thread with its own connection:
a slow SMTP server delays the next round, never the ingest's acknowledgements.

Rows are read up to `settle_s` before now: the ingest stamps a batch's `received` just before its COMMIT, so a
batch stamped earlier may still be committing; reading up to now would step past it for ever.

After a restart (or a takeover) the state comes from the database: the cursor, what was tracked of each site and
what each channel sent are stored every round; the correlation is rebuilt by replaying the link events of the last
`replay_s` (and of every incident still open) through `decide()`, with each event's `received` as `now`, as the
live loop did. An incident is announced when its row is written for the first time (opened) or closed for the first
time: a replay writes nothing new, so no alert is sent twice.
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
from typing import Any, Callable, Mapping

from fleet import correlate, watch_db
from fleet.alerts.config import ConfigError, alerting_from
from fleet.config import FleetConfig
from fleet.db import DatabaseError, FleetDb
from fleet.sites import (Site, SiteInfo, StateFacts, Tracked, site_of, state_facts, view_from, with_event,
                         with_telemetry)
from fleet.watch_config import WatchSettings, load_sites

log = logging.getLogger("relais.fleet.watch")

NOTHING = Tracked()
SETTLE_S = 2.0     # > the time from a batch's stamp to its COMMIT (1,000 rows with fsync: well under 1 s here)
REPLAY_S = 86400.0
FORGET_SENT_S = 31 * 86400.0     # longer than any channel's window (30 days at most)


class Watch:
    """One round at a time (`round(now)`), from one thread; `now` is passed in, the clock is the caller's."""

    def __init__(self, config: FleetConfig, holder: str, order: Callable[[str, str, dict], None] | None = None,
                 settle_s: float = SETTLE_S, replay_s: float = REPLAY_S):
        self.cfg = config
        self.settings = WatchSettings.from_config(config)
        self.alerting = alerting_from(config.alerts) if config.alerts else None
        self.holder = holder
        self.order = order              # (site, command, args): sends a signed command; None: orders nothing
        self.settle_s, self.replay_s = settle_s, replay_s
        self.db = FleetDb(config.database)
        self.sites: dict[str, SiteInfo] = {}
        self._sites_stamp: tuple[int, int] | None = None
        self._unannounced: list = []    # found by a replay: announced with the next round
        self.leading = False
        self.state = correlate.initial(self.settings.correlation)
        self.tracked: dict[str, Tracked] = {}
        self.cursor = 0.0
        self.counters = {"rounds": 0, "incidents_opened": 0, "incidents_closed": 0, "alerts": 0}

    # -- one round ----------------------------------------------------------------------------------------------
    def round(self, now: float) -> None:
        if not self.db.connected:
            self.db.connect()
            watch_db.prepare(self.db)
        if not watch_db.take_lease(self.db, self.holder, now, 3 * self.settings.every_s + 30):
            self.leading = False
            return
        if not self.leading:
            self._resume(now)
            self.leading = True
        upto = now - self.settle_s
        self._read_sites()
        sites, facts = self._read_devices()
        changed: dict[str, Tracked] = {}
        announced, self._unannounced = self._unannounced, []
        if upto > self.cursor:
            for chunk in watch_db.new_events(self.db, self.cursor, upto):
                for device, ts, kind, data, received in chunk:
                    data = _json(data)
                    if kind in watch_db.DRILL_KINDS:
                        changed[device] = with_event(self._tracked(device, changed), kind, ts, data)
                    else:
                        announced += self._correlate(sites, device, kind, data, ts, received)
            for chunk in watch_db.new_telemetry(self.db, self.cursor, upto):
                for device, ts, metrics, _ in chunk:
                    changed[device] = with_telemetry(self._tracked(device, changed), ts, _json(metrics))
        self.state, actions = correlate.decide(self.state, correlate.Tick(), now)
        announced += self._record(actions)
        self.tracked.update(changed)
        sent: list[tuple[str, str, float]] = []
        if self.alerting is not None:
            views = [view_from(f, self.tracked.get(f.site, NOTHING)) for f in facts]
            before = {name: dict(c.memory.sent) for name, c in self.alerting.channels.items()}
            self.alerting.evaluate(views, now, announced)
            for name, channel in self.alerting.channels.items():
                sent += [(name, k, t) for k, t in channel.memory.sent.items() if before[name].get(k) != t]
            self.counters["alerts"] += len(sent)
            if sent:
                log.info("alerts: %s", ", ".join(sorted({k for _, k, _ in sent})))
        self.cursor = max(self.cursor, upto)
        watch_db.save_round(self.db, self.cursor, changed, sent, now - FORGET_SENT_S,
                            [a.incident.id for a in announced if isinstance(a, correlate.IncidentOpened)],
                            [a.incident.id for a in announced if isinstance(a, correlate.IncidentClosed)])
        if self.alerting is not None:
            self.alerting.pump(now)
        self.counters["rounds"] += 1

    def _read_sites(self) -> None:
        """The site list again when it changed (a new shop needs no restart); a bad edit is a ConfigError."""
        path = self.settings.sites
        if not path:
            return
        try:
            st = os.stat(path)
        except OSError as e:
            raise ConfigError(f"[correlate] sites: {path}: {e.strerror or e}") from None
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp == self._sites_stamp:
            return
        try:
            self.sites = load_sites(path)
        except ConfigError as e:
            if self._sites_stamp is None:
                raise                  # nothing read before: the loop waits for a good list
            log.error("%s; keeping the site list read before", e)
        self._sites_stamp = stamp      # a bad edit is said once, not every round

    def _tracked(self, device: str, changed: Mapping[str, Tracked]) -> Tracked:
        return changed.get(device) or self.tracked.get(device) or Tracked({})

    def _read_devices(self) -> tuple[dict[str, Site], list[StateFacts]]:
        """Each device's correlation facts (provider, area, operator) and alert facts, read from its state parts
        and let go of them: small records for 10,000 devices, not their parts."""
        sites, facts = {}, []
        for d in watch_db.lean_devices(self.db):
            sites[d["device_id"]] = site_of(d["device_id"], d["state"], self.sites)
            facts.append(state_facts(d))
        return sites, facts

    def _correlate(self, sites: Mapping[str, Site], device: str, kind: str, data: Any, ts: float,
                   received: float) -> list:
        site = sites.get(device) or site_of(device, {}, self.sites)     # stored since the devices were read
        event = correlate.from_event(site, kind, data, ts)
        if event is None:
            return []
        self.state, actions = correlate.decide(self.state, event, received)
        return self._record(actions)

    def _record(self, actions: list) -> list:
        """Write the correlator's actions; an opening or closing not yet handed to the alert channels is announced
        (marked so with the round's other writes: a crash before then announces it again, never twice after)."""
        announced = []
        suggest = {a.incident.id for a in actions if isinstance(a, correlate.SuggestSimSwitch)}
        for action in actions:
            inc = getattr(action, "incident", None)
            if isinstance(action, correlate.IncidentOpened):
                if watch_db.open_incident(self.db, inc, "suggested" if inc.id in suggest else None):
                    self.counters["incidents_opened"] += 1
                    log.warning("provider incident opened: %s (%s)", correlate.describe(inc), inc.id)
                    if inc.id in suggest and self.settings.order_sim_switch:
                        self._order_sim_switch(inc)
                if not watch_db.announced(self.db, inc.id)[0]:
                    announced.append(action)
            elif isinstance(action, correlate.IncidentUpdated):
                watch_db.update_incident(self.db, inc)
            elif isinstance(action, correlate.IncidentClosed):
                if watch_db.close_incident(self.db, inc):
                    self.counters["incidents_closed"] += 1
                    log.warning("provider incident closed: %s (%s)", correlate.describe(inc), inc.id)
                if not watch_db.announced(self.db, inc.id)[1]:
                    announced.append(action)
        return announced

    def _order_sim_switch(self, incident: correlate.Incident) -> None:
        """[correlate] order_sim_switch: each site still down moves to its other SIM (slot 1 <-> 2)."""
        if self.order is None:
            return
        for site in incident.down:
            slot = self._other_slot(site)
            try:
                self.order(site, "sim_switch", {"slot": slot})
            except Exception as e:    # noqa: BLE001 - one site's refusal must not stop the others' orders
                log.error("%s: sim_switch not sent: %s", site, e)
        watch_db.mark_sim_switch(self.db, incident.id, "ordered")

    def _other_slot(self, site: str) -> int:
        rows = self.db.query("SELECT body FROM device_state WHERE device_id = ? AND part = 'cellular'", (site,))
        active = _json(rows[0][0]).get("active_slot") if rows else None
        return 1 if active == 2 else 2

    # -- after a (re)start or a takeover ------------------------------------------------------------------------
    def _resume(self, now: float) -> None:
        self.tracked = watch_db.tracked(self.db)
        stored = watch_db.cursor(self.db)
        self.cursor = stored if stored is not None else now - self.replay_s
        if self.alerting is not None:
            for name, channel in self.alerting.channels.items():
                channel.memory = type(channel.memory)(watch_db.alert_memory(self.db, name))
        still_open = watch_db.incidents(self.db, open_only=True)
        horizon = min([self.cursor - self.replay_s] +
                      [i["since"] - self.settings.correlation.window_s - self.settle_s for i in still_open])
        self._read_sites()
        sites, _ = self._read_devices()
        self.state = correlate.initial(self.settings.correlation)
        replayed = 0
        self._unannounced = []
        for chunk in watch_db.link_events(self.db, horizon, self.cursor):
            for device, ts, kind, data, received in chunk:
                self._unannounced += self._correlate(sites, device, kind, _json(data), ts, received)
            replayed += len(chunk)
        log.info("alert loop resumed: %d link events replayed, %d incidents open, %d sites tracked",
                 replayed, len(self.state.open), len(self.tracked))

    def close(self) -> None:
        self.db.close()


def _json(text: Any) -> Any:
    try:
        return json.loads(text) if isinstance(text, str) else text
    except ValueError:
        return None


def run(watch: Watch, stop: threading.Event, clock: Callable[[], float] = time.time) -> None:
    """The loop's thread: a round every `every_s` until `stop`; the database away is waited out, a bug is logged
    and the next round tried (the ingest goes on either way)."""
    every = watch.settings.every_s
    failing = False
    while not stop.is_set():
        try:
            watch.round(clock())
            if failing:
                log.warning("alert loop: database back")
            failing = False
        except (DatabaseError, ConfigError) as e:
            if not failing:
                log.error("alert loop: %s; trying again every %g s", e, every)
            failing = True
            watch.db.close()
            watch.leading = False
        except Exception:
            log.exception("alert loop: round failed")
            watch.db.close()
            watch.leading = False
        stop.wait(every)
    watch.close()


def start(config: FleetConfig, stop: threading.Event) -> threading.Thread:
    from fleet.orders import Orders

    # orders go out from their own thread over one connection (fleet/orders.py): a round never waits on the broker
    orders = Orders(config) if WatchSettings.from_config(config).order_sim_switch else None
    watch = Watch(config, holder=config.mqtt.effective_client_id, order=orders.order if orders else None)

    def loop() -> None:
        if orders is not None:
            orders.start()
        try:
            run(watch, stop)
        finally:
            if orders is not None:
                orders.stop()

    thread = threading.Thread(target=loop, name="fleet-watch", daemon=True)
    thread.start()
    return thread
