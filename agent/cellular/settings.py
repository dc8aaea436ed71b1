"""What the [cellular] keys must look like (agent.config calls check() when loading) and the PLMN lists that apply
to one SIM. Messages name the key, as the operator wrote it."""
from __future__ import annotations

import re

from modem.device import PDP_TYPES

MAX_SLOT = 8
_PLMN = re.compile(r"\d{5,6}")
_APN = re.compile(r"[!#-+\--:<-~]{1,100}")     # printable ASCII without space, quote and comma (AT+CGDCONT)


def check(cfg) -> None:
    """ValueError naming the key for a [cellular] section that cannot work."""
    slots = cfg.sim_slots
    if not slots:
        raise ValueError("sim_slots: at least one slot")
    if len(set(slots)) != len(slots) or any(not 1 <= s <= MAX_SLOT for s in slots):
        raise ValueError(f"sim_slots: distinct slot numbers from 1 to {MAX_SLOT}, got {list(slots)}")
    for name in ("min_dwell_s", "backoff_max_s", "switch_timeout_s", "return_after_s", "return_check_s",
                 "operator_retry_s", "data_retry_s", "data_check_s"):
        if not getattr(cfg, name) > 0:
            raise ValueError(f"{name}: must be above 0")
    if cfg.backoff_max_s < cfg.min_dwell_s:
        raise ValueError("backoff_max_s: must be at least min_dwell_s")
    if not 1 <= cfg.pdp_cid <= 24:
        raise ValueError(f"pdp_cid: expected 1..24, got {cfg.pdp_cid}")
    check_plmns("preferred_plmns", cfg.preferred_plmns)
    check_plmns("forbidden_plmns", cfg.forbidden_plmns)
    seen: set[int] = set()
    for sim in cfg.sim:
        where = f"sim (slot {sim.slot})"
        if sim.slot not in slots:
            raise ValueError(f"{where}: slot must be one of sim_slots {list(slots)}")
        if sim.slot in seen:
            raise ValueError(f"{where}: slot described twice")
        seen.add(sim.slot)
        if sim.apn and not _APN.fullmatch(sim.apn):
            raise ValueError(f"{where} apn: up to 100 printable characters without spaces, quotes or commas")
        if sim.pdp_type not in PDP_TYPES:
            raise ValueError(f"{where} pdp_type: expected one of {', '.join(PDP_TYPES)}, got {sim.pdp_type!r}")
        if sim.pin is not None and not (sim.pin.value.isdigit() and 4 <= len(sim.pin.value) <= 8):
            raise ValueError(f"{where} pin: a SIM PIN is 4 to 8 digits")   # never the value itself
        check_plmns(f"{where} preferred_plmns", sim.preferred_plmns)
        check_plmns(f"{where} forbidden_plmns", sim.forbidden_plmns)
    rules = cfg.rules
    for name in ("sim_failure", "registration_denied", "no_registration", "data_cap", "roaming", "data_failing",
                 "weak_signal"):
        if getattr(rules, name).duration_s < 0:
            raise ValueError(f"rules.{name}.duration_s: must not be negative")
    if rules.data_failing.failures < 1:
        raise ValueError("rules.data_failing.failures: at least 1")
    if not -160 <= rules.weak_signal.rsrp_dbm <= -40:
        raise ValueError("rules.weak_signal.rsrp_dbm: expected -160..-40 dBm")
    if not -30 <= rules.weak_signal.sinr_db <= 40:
        raise ValueError("rules.weak_signal.sinr_db: expected -30..40 dB")


def check_plmns(where: str, plmns) -> None:
    for plmn in plmns:
        if not _PLMN.fullmatch(plmn):
            raise ValueError(f"{where}: {plmn!r} is not a PLMN (MCC + MNC, 5 or 6 digits, e.g. \"20801\")")


def plmn_lists(cfg, slot: int | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(preferred, forbidden) for the SIM in `slot`: its own lists where it has them, else the section's."""
    sim = cfg.sim_for(slot) if slot is not None else None
    preferred = (sim.preferred_plmns if sim and sim.preferred_plmns else cfg.preferred_plmns)
    forbidden = (sim.forbidden_plmns if sim and sim.forbidden_plmns else cfg.forbidden_plmns)
    return tuple(preferred), tuple(forbidden)
