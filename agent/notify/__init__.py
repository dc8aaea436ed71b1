"""Incident notices sent to people: the text (notice.py) and the e-mail that carries it (email.py).

The agent's events already reach the MQTT broker and SMS alerts; a notice is for the business owner: a short
message, in their language and zone, when an outage closes or a drill fails. docs/notify.md."""
