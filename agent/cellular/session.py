"""The data session, as modem-worker jobs: define the PDP context with the SIM's APN, start the data call the
vendor's way, read the address back.

Bringing the interface's address up (DHCP on the modem's ECM/RNDIS/QMI interface) is the operating system's job;
whether data really flows is judged by the cellular link's probes (ProbeResult link "backup"), which feed the
data_failing rule and core.state["cellular"]["data"]["flowing"].
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agent.cellular.apn import ApnDatabase, ApnError, resolve
from modem.at import ModemError
from modem.device import ModemDevice


class NoApn(ModemError):
    """No APN for this SIM: a configuration problem, not the modem's — the recovery ladder must not act on it."""


@dataclass(frozen=True)
class DataPlan:
    slot: int
    cid: int
    pdp_type: str
    sim_apn: str                                   # "" = from the database
    status: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)   # the modem status it is for


def bring_up(dev: ModemDevice, plan: DataPlan, database: ApnDatabase) -> dict[str, Any]:
    try:
        apn = resolve(plan.sim_apn, plan.status, database)
    except ApnError as e:
        raise NoApn(str(e)) from None            # a job's failure the agent reports, not a bug
    dev.define_pdp(plan.cid, plan.pdp_type, apn.value)
    via = dev.activate_data(plan.cid)
    address = dev.data_address(plan.cid)
    if address is None:
        raise ModemError(f"no address on PDP context {plan.cid} after {via}")
    return {"apn": apn.value, "apn_source": apn.source, "provider": apn.provider, "address": address, "via": via}


def check(dev: ModemDevice, cid: int) -> str | None:
    return dev.data_address(cid)
