"""Drills: proving that the backup path works before the day it is needed (issue 11, docs/drills.md).

    runner.py     one drill at a time, passive or full, from the decision to its one drill_result event
    scheduler.py  [drills] schedule on the core's timers (slots run once, whatever the clock does), drill_overdue
    services.py   the critical-service checks ([[services]]: sip, udp, tcp, dns, https) run through an uplink
    cli.py        `relais drill [--full] [--duration N]`, through the console socket

The failover controller makes the runner (its drill command and the traffic are the failover's); the runtime
attaches the scheduler to it. The schedule's calendar arithmetic is common/cron.py.
"""
