"""The fleet side: what the people who run hundreds of relais routers use (docs/fleet.md)."""
