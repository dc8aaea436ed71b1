"""The commands this subsystem owns: get_status, set_config, at. (report belongs to the ledger; failover, drill,
sim_switch, modem_reset, operator_scan to the subsystems that do them.) They run on the core thread."""
from __future__ import annotations

import re
from typing import Any, Callable

from agent.config import Config, ConfigError, MqttConfig
from agent.core import CommandError, Deferred
from agent.mqtt import config_update
from agent.mqtt.codec import to_plain

# [mqtt] keys the reporter applies at once; every other key takes effect when the agent restarts.
LIVE_MQTT_KEYS = frozenset({
    "heartbeat_s", "telemetry_min_interval_s", "telemetry_max_per_hour", "telemetry_smoothing_s",
    "deadband_signal_db", "deadband_rtt_pct", "deadband_loss_pct", "state_debounce_s", "state_max_per_hour",
    "at_passthrough", "at_allowlist", "replay_window_s", "max_command_bytes", "outbox_max_messages",
})
MAX_AT_LENGTH = 256
# After an allowed prefix only parameters may follow ("=...", "?", "=?", digits for ATI0): "ATI&F" would otherwise
# pass an "ATI" prefix and run AT&F (factory reset) as a second, concatenated basic command.
_AT_TAIL = re.compile(r"(=[^;]*|\?|=\?|[0-9]*)")


def get_status(state: dict[str, Any]) -> dict[str, Any]:
    return to_plain(state)


def set_config(args: dict[str, Any], config: Config,
               apply_live: Callable[[Config, list[str]], list[str]]) -> dict[str, Any]:
    """args: {"changes": {"<section>": {"<key>": value or null}}, "dry_run": bool}."""
    changes = args.get("changes")
    dry_run = args.get("dry_run", False)
    if not isinstance(changes, dict) or not changes or not all(isinstance(v, dict) for v in changes.values()):
        raise CommandError('set_config needs {"changes": {"<section>": {"<key>": value}}}')
    if not isinstance(dry_run, bool):
        raise CommandError("dry_run: expected true or false")
    if set(args) - {"changes", "dry_run"}:
        raise CommandError(f"set_config: unknown argument(s) {', '.join(sorted(set(args) - {'changes', 'dry_run'}))}")
    if config.source.startswith("<"):
        raise CommandError(f"the agent was not started from a config file ({config.source}): nothing to write")
    try:
        new, changed = config_update.apply(config.source, changes, dry_run=dry_run)
    except ConfigError as e:
        raise CommandError(f"rejected, file unchanged: {e}") from None
    except OSError as e:
        raise CommandError(f"cannot write {config.source}: {e.strerror or e}") from None
    live = [] if dry_run or not changed else apply_live(new, changed)
    return {
        "file": config.source,
        "dry_run": dry_run,
        "changed": changed,
        "live": sorted(live),
        "at_restart": sorted(set(changed) - set(live)),
        "note": "comments in the file are not kept; the previous file is <file>.prev" if changed else "no change",
    }


def live_keys(changed: list[str]) -> list[str]:
    return [k for k in changed if k.startswith("mqtt.") and k[5:] in LIVE_MQTT_KEYS]


def at_command(args: dict[str, Any], cfg: MqttConfig,
               send_at: Callable[[str], "list[str] | Deferred"] | None) -> "list[str] | Deferred":
    """The modem's answer lines. `send_at` may answer at once (a list) or later (agent.core.Deferred)."""
    if not cfg.at_passthrough:
        raise CommandError("AT passthrough is off ([mqtt] at_passthrough = false)")
    if send_at is None:
        raise CommandError("no modem service to send AT commands to")
    command = args.get("command")
    if not isinstance(command, str) or not command:
        raise CommandError('at needs {"command": "AT..."}')
    if len(command) > MAX_AT_LENGTH or not command.isprintable() or not command.isascii():
        raise CommandError(f"AT command must be printable ASCII, at most {MAX_AT_LENGTH} characters")
    if ";" in command:
        raise CommandError("one AT command at a time: ';' is not allowed")
    upper = command.upper()
    if not any(upper.startswith(p.upper()) and _AT_TAIL.fullmatch(command[len(p):]) for p in cfg.at_allowlist):
        # Only the head of the command goes into the message: it may hold a PIN (AT+CPIN="...").
        raise CommandError(f"{command[:8]}... is not allowed by [mqtt] at_allowlist")
    try:
        answer = send_at(command)
    except Exception as e:  # the modem service's errors (timeout, +CME ERROR) go back to the sender
        raise CommandError(f"{type(e).__name__}: {e}") from None
    if isinstance(answer, Deferred):
        return answer      # the modem service's worker answers with the lines; the core sends the reply then
    return [str(x) for x in answer]
