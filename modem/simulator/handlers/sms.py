"""SMS in text mode (3GPP TS 27.005) every personality answers."""
from __future__ import annotations

from modem.simulator.atparse import Command
from modem.simulator.handlers.base import Modem, command, only, setting, ucs2_decode, ucs2_encode
from modem.simulator.handlers.basic import require_sim_sms
from modem.simulator.reply import CmsError, Reply, SmsPrompt, bad_params


@command("+CMGF")
def _cmgf(e: Modem, cmd: Command) -> list[str]:
    if cmd.kind == "read":
        return [f"+CMGF: {e.model.cmgf}"]
    if cmd.kind == "test":
        return ["+CMGF: (0,1)"]
    only(cmd, "set")
    e.model.cmgf = setting(cmd, "cmgf", (0, 1))
    return []


_CHARSETS = ("GSM", "IRA", "UCS2", "8859-1")


@command("+CSCS")
def _cscs(e: Modem, cmd: Command) -> list[str]:
    if cmd.kind == "read":
        return [f'+CSCS: "{e.model.cscs}"']
    if cmd.kind == "test":
        return ["+CSCS: (" + ",".join(f'"{c}"' for c in _CHARSETS) + ")"]
    only(cmd, "set")
    cs = (cmd.arg(0) or "").upper()
    if cs not in _CHARSETS:
        raise bad_params()
    e.model.cscs = cs
    return []


@command("+CMGS")
def _cmgs(e: Modem, cmd: Command) -> Reply:
    if cmd.kind == "test":
        return Reply([])
    only(cmd, "set")
    require_sim_sms(e)
    if e.model.cmgf == 0:
        length = cmd.int_arg(0)
        if length is None or not 1 <= length <= 164:
            raise CmsError(304)
        return Reply([], prompt=SmsPrompt(number="(pdu)"))
    number = cmd.arg(0)
    if e.model.cscs == "UCS2" and number:
        number = ucs2_decode(number)
    if not number or not number.lstrip("+").isdigit() or len(number) > 21:
        raise CmsError(305)
    return Reply([], prompt=SmsPrompt(number=number))


def _sms_text(e: Modem, text: str) -> str:
    return ucs2_encode(text) if e.model.cscs == "UCS2" else text


def _sms_index(e: Modem, cmd: Command) -> int:
    idx = cmd.int_arg(0)
    first = e.p.sms_first_index
    if idx is None or not first <= idx < first + 50:
        raise CmsError(321)
    return idx


@command("+CMGR")
def _cmgr(e: Modem, cmd: Command) -> list[str]:
    if cmd.kind == "test":
        return []
    only(cmd, "set")
    require_sim_sms(e)
    if e.model.cmgf == 0:
        raise CmsError(302)          # PDU mode reading is not simulated
    idx = _sms_index(e, cmd)
    sms = next((s for s in e.model.sim.sms if s.index == idx), None)
    if sms is None:
        raise CmsError(321)
    out = [f'+CMGR: "{sms.status}","{sms.sender}",,"{sms.timestamp}"', _sms_text(e, sms.text)]
    sms.status = "REC READ"
    return out


_CMGL_STATS = ("REC UNREAD", "REC READ", "STO UNSENT", "STO SENT", "ALL")


@command("+CMGL")
def _cmgl(e: Modem, cmd: Command) -> list[str]:
    if cmd.kind == "test":
        return ["+CMGL: (" + ",".join(f'"{s}"' for s in _CMGL_STATS) + ")"]
    only(cmd, "action", "set")
    require_sim_sms(e)
    if e.model.cmgf == 0:
        raise CmsError(302)
    stat = (cmd.arg(0) or "REC UNREAD").upper() if cmd.kind == "set" else "REC UNREAD"
    if stat not in _CMGL_STATS:
        raise CmsError(302)
    out = []
    for sms in e.model.sim.sms:
        if stat == "ALL" or sms.status == stat:
            out += [f'+CMGL: {sms.index},"{sms.status}","{sms.sender}",,"{sms.timestamp}"', _sms_text(e, sms.text)]
            sms.status = "REC READ"
    return out


@command("+CMGD")
def _cmgd(e: Modem, cmd: Command) -> list[str]:
    if cmd.kind == "test":
        idx = ",".join(str(s.index) for s in e.model.sim.sms)
        return [f"+CMGD: ({idx}),(0-4)"]
    only(cmd, "set")
    require_sim_sms(e)
    idx = _sms_index(e, cmd)
    flag = cmd.int_arg(1, 0)
    if flag not in (0, 1, 2, 3, 4):
        raise CmsError(302)
    sim = e.model.sim
    if flag == 0:
        sim.sms[:] = [s for s in sim.sms if s.index != idx]
    elif flag == 4:
        sim.sms.clear()
    else:
        sim.sms[:] = [s for s in sim.sms if s.status != "REC READ"]
    return []


@command("+CPMS")
def _cpms(e: Modem, cmd: Command) -> list[str]:
    if cmd.kind == "test":
        return ['+CPMS: ("SM","ME"),("SM","ME"),("SM","ME")']
    require_sim_sms(e)
    n = len(e.model.sim.sms)
    if cmd.kind == "read":
        return [f'+CPMS: "SM",{n},50,"SM",{n},50,"SM",{n},50']
    only(cmd, "set")
    if any(a.upper() not in ("SM", "ME", "MT") for a in cmd.args if a):
        raise CmsError(302)
    return [f"+CPMS: {n},50,{n},50,{n},50"]


@command("+CNMI")
def _cnmi(e: Modem, cmd: Command) -> list[str]:
    if cmd.kind == "read":
        return ["+CNMI: 2,1,0,0,0"]
    if cmd.kind == "test":
        return ["+CNMI: (0-2),(0-3),(0,2),(0-2),(0,1)"]
    only(cmd, "set")
    [int(a) for a in cmd.args if a]
    return []


@command("+CSCA")
def _csca(e: Modem, cmd: Command) -> list[str]:
    if cmd.kind == "read":
        require_sim_sms(e)
        return [f'+CSCA: "{e.model.sim.card.smsc}",145']
    if cmd.kind == "test":
        return []
    only(cmd, "set")
    return []


@command("+CSMP")
def _csmp(e: Modem, cmd: Command) -> list[str]:
    if cmd.kind == "read":
        return ["+CSMP: 17,167,0,0"]
    if cmd.kind == "test":
        return []
    only(cmd, "set")
    [int(a) for a in cmd.args if a]
    return []


@command("+CSDH")
def _csdh(e: Modem, cmd: Command) -> list[str]:
    if cmd.kind == "read":
        return ["+CSDH: 0"]
    if cmd.kind == "test":
        return ["+CSDH: (0,1)"]
    only(cmd, "set")
    setting(cmd, "csdh", (0, 1))
    return []
