"""Sites for the sheet's tests: a realistic shop, and the longest sheet the configuration allows (every text at its
bound, more contacts than the page lists) to prove that it still prints on one page."""
from __future__ import annotations

from agent.config import from_dict
from agent.config.plan import MAX_EQUIPMENT, MAX_STEPS
from agent.ledger.records import Drill
from tests.report.periods import PARIS, at

NOW = at(2026, 11, 15, 12)

SHOP = {
    "device": {"id": "shop-042", "site": "Boulangerie Martin, 12 rue de la République, Lyon",
               "location": "arrière-boutique, étagère du haut"},
    "business": {"name": "Boulangerie Martin", "timezone": "Europe/Paris"},
    "drills": {"schedule": "monthly", "timezone": "Europe/Paris"},
    "cellular": {"sim_slots": [1, 2], "sim": [{"slot": 2, "apn": "sl2sfr", "preferred_plmns": ["20810"]}]},
    "contracts": [{"uplink": "primary", "provider": "Orange Pro", "reference": "FTTO-123456", "repair_hours": 4,
                   "repair_in_business_hours": True, "support_phone": "3901"},
                  {"uplink": "backup", "provider": "SFR Business", "reference": "M2M-77", "support_phone":
                   "+33 1 70 00 00 00"}],
    "contacts": [{"name": "Julien Martin", "role": "gérant", "phone": "+33 6 12 34 56 78", "when": "d'abord"},
                 {"name": "InfoLyon", "role": "prestataire informatique", "phone": "04 72 00 00 00",
                  "when": "si la fibre est coupée depuis plus d'une heure"}],
    "plan": {"router": "le boîtier blanc marqué RELAIS", "equipment": ["Box fibre : Livebox Pro, à la cave"]},
}

STATE = {"modem": {"manufacturer": "Quectel", "model": "EC25-E", "imei": "867531051234561", "revision": "EC25EFAR06",
                   "sim_slot": 2, "iccid": "8933100000876543219", "operator_name": "SFR"},
         "cellular": {"active_slot": 2}}


def shop(**changes) -> object:
    return from_dict({**SHOP, **changes}, source="shop.toml")


def drill(ts: float, ok: bool | None, kind: str = "full", failed: tuple[str, ...] = ()) -> Drill:
    services = tuple({"name": n, "check": "tcp:192.0.2.1:443", "ok": False} for n in failed) + \
        ({"name": "Caisse", "check": "tcp:192.0.2.2:443", "ok": True},)
    return Drill(None, ts, "ntp", kind, ok, recovery_s=3.2, services=services)


def fill(n: int) -> str:
    """Ordinary words, exactly n characters: what a long but real entry looks like on paper."""
    words = "Appeler en cas de coupure longue du lien principal, même le dimanche, et prévenir toute l'équipe. "
    return (words * (n // len(words) + 1))[:n]


def longest() -> object:
    """Every text at its configured bound and 14 contacts: the most a sheet can be asked to hold."""
    return from_dict({
        **SHOP,
        "device": {"id": "x" * 64, "site": fill(300), "location": fill(80)},
        "business": {"name": fill(120), "timezone": "Europe/Paris"},
        "contracts": [{"uplink": u, "provider": fill(120), "reference": fill(120), "repair_hours": 4,
                       "repair_in_business_hours": True, "support_phone": "+33 1 23 45 67 89 01 23"}
                      for u in ("primary", "backup")],
        "cellular": {"sim_slots": [1, 2, 3, 4], "preferred_plmns": ["20801", "20810", "20820", "20815"]},
        "contacts": [{"name": f"{n:02d} " + fill(37), "role": fill(40), "phone": "+33 6 12 34 56 78 90 12",
                      "when": fill(80)} for n in range(14)],
        "plan": {"router": fill(60), "equipment": [fill(100)] * MAX_EQUIPMENT, "steps": [fill(160)] * MAX_STEPS},
    }, source="longest.toml")


__all__ = ["NOW", "PARIS", "SHOP", "STATE", "at", "drill", "fill", "longest", "shop"]
