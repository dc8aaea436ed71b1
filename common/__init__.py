"""Small definitions every layer may import (agent, modem, board): a backoff, the shapes the pure deciders share.

This package imports nothing of agent/, modem/ or board/ — only the standard library — so that any layer can use
it without bending the one-way imports (agent → modem, board).
"""
