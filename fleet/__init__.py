"""The fleet side of relais: what the people who run hundreds of these routers use (docs/fleet.md).

`relais fleet serve` stores what every device publishes into one database (SQLite or PostgreSQL), `relais fleet
cmd` sends a device a signed command, `relais fleet ls` lists the fleet from the database. correlate.py opens a
provider incident when several sites of one provider go down together; alerts/ says so (and more) by e-mail and
webhook.

Imports: fleet/ reads the wire definitions (topics, payloads, signing) from common/wire/, the same ones the agent
uses, and never imports agent/ (tests/test_imports.py): a fleet server is installed without the agent's code
paths, and the two sides cannot agree with each other by sharing a bug.
"""
