"""Fleet alerts: which sites need a person now, told by e-mail and by webhook, each channel with its own
de-duplication window.

    rules.py      firing(rules, sites, now, incidents)        pure: every alert whose condition holds now
                  deduplicate(memory, alerts, window_s, now)  pure: what a channel has not sent within window_s
    delivery.py   Deliveries.pump(now)                        the queue and the retries, no thread, no clock
                  WebhookSender, SmtpSender                   the IO: a JSON POST signed with HMAC-SHA256, an e-mail
    alerting.py   Alerting                                    the above glued, one Channel per way out
    config.py     alerting_from, correlation_from             the [alerts] and [correlate] tables of fleet.toml

Everything is re-exported here: `from fleet.alerts import firing, Alerting`.

Conditions (`Rules`): a site offline for more than `offline_after_s`, on its backup for more than
`on_backup_after_s`, a provider incident opened or closed (fleet/correlate.py), its last drill failed or none
passed for too long (overdue), cellular data over `data_budget_pct` of its budget, signal poor for
`signal_poor_days`. An alert that still holds is sent again once its window has passed (a reminder), never sooner:
a site that flaps offline and online every minute is one alert per window, not sixty.

The package imports nothing from agent/: the SMTP bits are the same approach as agent/notify/email.py (STARTTLS,
UTF-8 AUTH PLAIN, errors sorted into "try again" and "will not help"), kept small here.
"""
from __future__ import annotations

from fleet.alerts.alerting import Alerting, Channel
from fleet.alerts.config import ConfigError, alerting_from, correlation_from
from fleet.alerts.delivery import (ALERT_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, Deliveries, EmailTarget,
                                   PermanentError, SmtpSender, TransientError, WebhookSender, WebhookTarget,
                                   email_message, sign)
from fleet.alerts.rules import (Alert, Memory, Rule, Rules, SiteView, deduplicate, firing, signal_poor,
                                signal_poor_since)

__all__ = ["ALERT_HEADER", "SIGNATURE_HEADER", "TIMESTAMP_HEADER", "Alert", "Alerting", "Channel", "ConfigError",
           "Deliveries", "EmailTarget", "Memory", "PermanentError", "Rule", "Rules", "SiteView", "SmtpSender",
           "TransientError", "WebhookSender", "WebhookTarget", "alerting_from", "correlation_from", "deduplicate",
           "email_message", "firing", "sign", "signal_poor", "signal_poor_since"]
