"""[power]: the UPS through NUT (README "Power"). Declared like the other sections (agent.config.schema)."""
from dataclasses import dataclass
from typing import Annotated

from agent.config.schema import Check, Range

NUT_PORT = 3493


def parse_ups(text: str) -> tuple[str, str, int]:
    """"name@host[:port]" (upsc's own grammar) -> (name, host, port). ValueError(reason) otherwise."""
    name, sep, where = text.strip().partition("@")
    if not sep:
        name, where = text.strip(), "localhost"
    host, colon, port = where.rpartition(":") if where.count(":") == 1 else (where, "", "")
    if not colon:
        host = where
    if not name or not name.isascii() or any(c.isspace() or c in "@:/\"" for c in name) or len(name) > 64:
        raise ValueError("the UPS name")
    if not host or any(c.isspace() or c in "/@\"" for c in host):
        raise ValueError("the host")
    number = int(port) if port.isdigit() else (NUT_PORT if not colon else -1)
    if not 1 <= number <= 65535:
        raise ValueError("the port")
    return name, host.strip("[]"), number


def _ups_or_empty(text: str) -> bool:
    if text:
        parse_ups(text)
    return True


@dataclass(frozen=True)
class PowerConfig:
    """The router's UPS, read through NUT (Network UPS Tools): power cuts are events, alerts and ledger entries, and
    a low battery stops the agent cleanly before the UPS dies. Off while `ups` is "" (no UPS)."""
    # the UPS as NUT names it: "name@host[:port]" (upsc's grammar); "" = no UPS
    ups: Annotated[str, Check(_ups_or_empty, '"name@host" or "name@host:port" (as upsc takes it), or ""')] = ""
    poll_s: Annotated[float, Range(1, 300)] = 5.0        # how often the UPS is read
    # a change of status (on line / on battery) counts once it has lasted this long: a flapping status is one cut
    confirm_s: Annotated[float, Range(0, 600)] = 10.0
    timeout_s: Annotated[float, Range(0.5, 60)] = 3.0    # per connection to the NUT server
    # on low battery: flush, publish a last state and stop the agent (NUT's own shutdown still stops the machine)
    stop_on_battery_low: bool = True
    # on low battery, the time left to the last state, the SMS alert (coalesced [sms] coalesce_s) and the e-mail
    # notice to go out before the stop
    stop_delay_s: Annotated[float, Range(0, 120)] = 10.0
    # low battery also when the charge falls to this % (0 = only when the UPS says LB)
    low_charge_pct: Annotated[int, Range(0, 100)] = 0

    @property
    def enabled(self) -> bool:
        return bool(self.ups)

