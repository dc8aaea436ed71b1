"""`relais modem probe`: identify the modem, SIM, registration and signal on a port."""
from __future__ import annotations

import json
import sys

from modem.at import AtPort, ModemError
from modem.device import probe


def run_probe(args) -> int:
    try:
        with AtPort(args.port, args.baud, reopen_max_s=1.0) as port:
            info = probe(port)
    except ModemError as e:
        print(f"relais modem probe: {args.port}: {e}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(info, indent=None, sort_keys=False))
        return 0
    for key, value in info.items():
        if key == "signal":
            value = ", ".join(f"{k}={v}" for k, v in value.items()) or "-"
        print(f"{key:>13}: {'-' if value is None else value}")
    return 0
