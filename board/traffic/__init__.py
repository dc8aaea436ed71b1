"""Traffic classes on the router: which flows are critical, normal or bulk, and what each gets on cellular.

    ruleset.py   Plan -> the nftables table text and the tc commands (pure, table-tested)
    apply.py     TrafficRules: nft -f / tc, in a namespace when asked; only relais's own table and qdisc
"""
from board.traffic.apply import TrafficError, TrafficRules
from board.traffic.ruleset import ClassRule, Limit, Match, Plan, qdisc_commands, ruleset

__all__ = ["ClassRule", "Limit", "Match", "Plan", "TrafficError", "TrafficRules", "qdisc_commands", "ruleset"]
