"""[correlate] and [alerts] of fleet.toml for the alert loop (fleet/watch.py), checked when the file is read.

fleet/config.py calls WatchSettings.from_config: the keys of the decider and of the channels are read by
fleet/alerts/config.py; the loop's own are `sites` (the site list, fleet/sites.py), `order_sim_switch` and
`every_s`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from fleet import correlate
from fleet.alerts.config import ConfigError, alerting_from, correlation_from
from fleet.sites import SiteInfo, read_site_list


@dataclass(frozen=True)
class WatchSettings:
    correlation: correlate.Settings
    alerts: Mapping[str, Any]
    sites: str = ""                  # the site list (fleet/sites.py); "" = none
    order_sim_switch: bool = False   # a mobile outage: send `sim_switch` to its sites, not only suggest it
    every_s: float = 10.0

    @staticmethod
    def from_config(config, where: str = "fleet.toml") -> "WatchSettings":
        """[correlate] and [alerts] of a FleetConfig checked, every error one line naming the key (ConfigError)."""
        table = dict(config.correlate)
        mine = {k: table.pop(k) for k in ("sites", "order_sim_switch", "every_s") if k in table}
        settings = correlation_from(table, where)
        alerting_from(config.alerts, where)     # built again by the loop; here to check it
        sites = mine.get("sites", "")
        if not isinstance(sites, str) or (sites and not Path(sites).is_file()):
            raise ConfigError(f'{where}: [correlate] sites: expected "" or a readable file, got {sites!r:.60}')
        if sites:
            load_sites(sites)
        order = mine.get("order_sim_switch", False)
        if not isinstance(order, bool):
            raise ConfigError(f"{where}: [correlate] order_sim_switch: expected true or false, got {order!r:.60}")
        every = mine.get("every_s", 10.0)
        if isinstance(every, bool) or not isinstance(every, (int, float)) or not 0.2 <= every <= 600:
            raise ConfigError(f"{where}: [correlate] every_s: expected a number from 0.2 to 600, got "
                              f"{every!r:.60}")
        return WatchSettings(settings, config.alerts, sites, order, float(every))


def load_sites(path: str) -> dict[str, SiteInfo]:
    try:
        with open(path, encoding="utf-8", newline="") as f:
            return read_site_list(f.read(), path)
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"[correlate] sites: {path}: {getattr(e, 'strerror', None) or e}") from None
    except ValueError as e:
        raise ConfigError(f"[correlate] sites: {e}") from None
