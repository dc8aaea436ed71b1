"""Traffic classes on the router: which flows are critical, normal or bulk, and what each gets on cellular.

    ruleset.py   Plan -> the nftables table text and the tc commands (pure, table-tested)
    apply.py     TrafficRules: nft -f / tc, in a namespace when asked; only relais's own table and qdisc
    flows.py     FlowPlan -> table `inet relais_flows` (NAT66, sticky flows) and fwmark rules; FlowRules applies it
"""
from board.traffic.apply import TrafficError, TrafficRules
from board.traffic.flows import FlowPlan, FlowRules, flows_ruleset
from board.traffic.ruleset import ClassRule, Limit, Match, Plan, qdisc_commands, ruleset

__all__ = ["ClassRule", "FlowPlan", "FlowRules", "flows_ruleset", "Limit", "Match", "Plan", "TrafficError", "TrafficRules", "qdisc_commands", "ruleset"]
