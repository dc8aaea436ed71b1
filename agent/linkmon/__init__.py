"""Link monitoring: probers bound to each uplink (ICMP, TCP, DNS, HTTP 204), a netlink watcher for carrier and
address changes, and the sliding-window health they feed. IO threads post inputs (inputs.py) to the core; the
judgement is the failover policy's."""
