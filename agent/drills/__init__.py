"""Drills: proving that the backup path works before the day it is needed (issue 11, docs/drills.md).

    services.py   the critical-service checks ([[services]]: sip, udp, tcp, dns, https) run through an uplink
"""
