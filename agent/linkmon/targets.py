"""Probe targets as written in the config, parsed once into what a prober needs.

The grammar (forms, IPv4-only rule) is in agent.config.grammar: the config loader checks targets with the same
parser the probers use, and the config imports nothing from agent/.
"""
from __future__ import annotations

from agent.config.grammar import DEFAULT_PORTS, METHODS, Target, parse_target

__all__ = ["DEFAULT_PORTS", "METHODS", "Target", "parse_target"]
