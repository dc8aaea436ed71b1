"""Core commands the console needed and nobody had: "signal", what a technician moving the antenna reads.

Registered on the core like any command, so MQTT reaches it too."""
from __future__ import annotations

from typing import Any

from agent.core import Core

# What `relais signal --watch` and the doctor show, from core.state["modem"] (filled by the modem's poll).
SIGNAL_KEYS = ("rsrp_dbm", "rsrq_db", "sinr_db", "rssi_dbm", "band", "rat", "earfcn", "arfcn", "pci")
MODEM_KEYS = ("cell_id", "lac_tac", "operator_name", "mcc", "mnc", "registration", "connected", "sim_state",
              "sim_slot")


def register(core: Core) -> None:
    core.register_command("signal", lambda args: signal(core.state))


def signal(state: dict[str, Any]) -> dict[str, Any]:
    """The radio as last polled; a key the modem did not report is None (so a reader shows "?", not an error)."""
    modem = state.get("modem") if isinstance(state.get("modem"), dict) else {}
    radio = modem.get("signal") if isinstance(modem.get("signal"), dict) else {}
    out: dict[str, Any] = {k: radio.get(k) for k in SIGNAL_KEYS}
    # the serving-cell report (signal) and the registration (modem) may both carry the cell: either will do
    out.update({k: modem.get(k) if modem.get(k) is not None else radio.get(k) for k in MODEM_KEYS})
    out["connected"] = bool(modem.get("connected"))
    return out
