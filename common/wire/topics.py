"""Topic names: relais/v1/<device_id>/{status,state/<part>,telemetry,event,cmd/<name>,reply/<id>}.

One device, one subtree: a broker ACL can then grant each device exactly its own subtree with a single pattern
(packaging/mosquitto/relais.acl), and fleet-side consumers on a cluster (EMQX, VerneMQ, HiveMQ) can share the load with
`$share/<group>/relais/v1/+/event` without the device knowing.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

# Device ids and command ids become topic levels: no wildcards, no separators, nothing invisible.
_LEVEL = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
# The same ids become URL path segments (the fleet console's /site/<id>): browsers and proxies resolve "." and ".."
# before the request leaves, so /site/.. would land on another page. Refused here, at the one id check.
_DOT_SEGMENTS = frozenset({".", ".."})
_COMMAND_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")


def is_topic_level(text: str) -> bool:
    return bool(_LEVEL.fullmatch(text)) and text not in _DOT_SEGMENTS


def is_command_name(text: str) -> bool:
    return bool(_COMMAND_NAME.fullmatch(text))


@dataclass(frozen=True)
class Topics:
    prefix: str
    device_id: str

    def __post_init__(self) -> None:
        if not is_topic_level(self.device_id):
            raise ValueError(f"device id {self.device_id!r} cannot be a topic level: use 1-64 of A-Z a-z 0-9 _ . : -, "
                             "not '.' or '..'")

    @property
    def base(self) -> str:
        return f"{self.prefix}/{self.device_id}"

    @property
    def status(self) -> str:
        return f"{self.base}/status"

    @property
    def state(self) -> str:
        """Where versions before the per-part topics kept the whole snapshot: cleared at start, see state_part."""
        return f"{self.base}/state"

    def state_part(self, part: str) -> str:
        """One retained topic per top-level key of the state (`modem`, `failover` ...): a change in one part
        costs only that part on the wire. Fleet side: subscribe to `<base>/state/#`."""
        return f"{self.base}/state/{part}"

    @property
    def telemetry(self) -> str:
        return f"{self.base}/telemetry"

    @property
    def event(self) -> str:
        return f"{self.base}/event"

    @property
    def commands(self) -> str:
        """The one subscription: this device's own command subtree, nothing wider."""
        return f"{self.base}/cmd/+"

    def reply(self, command_id: str) -> str:
        return f"{self.base}/reply/{command_id}"

    def command_name(self, topic: str) -> str | None:
        """What follows `<base>/cmd/` when `topic` is under this device's command subtree, else None.
        The name itself is checked by the caller (a bad name gets an error reply, a foreign topic does not)."""
        head = f"{self.base}/cmd/"
        return topic[len(head):] if topic.startswith(head) else None
