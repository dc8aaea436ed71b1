"""evolve(): the policy's cheap dataclasses.replace must give what replace gives and leave the original alone."""
from dataclasses import replace

from agent.failover import policy
from agent.failover.assess import LinkView, Status, evolve
from agent.linkmon.health import LinkHealth, Sample


def test_evolve_equals_replace_and_leaves_the_original_unchanged():
    view = LinkView(health=LinkHealth().add(Sample(1.0, "a", True, 12.0), 1.0, 60.0), status=Status.UP, since=1.0)
    changed = evolve(view, quality_at=5.0, reason="x")
    assert changed == replace(view, quality_at=5.0, reason="x")
    assert type(changed) is LinkView and changed is not view
    assert view.quality_at is None and view.reason == ""

    st, _ = policy.initial(policy.Settings(), 0.0)
    moved = evolve(st, active="backup", links={**st.links, "primary": changed})
    assert moved == replace(st, active="backup", links={**st.links, "primary": changed})
    assert st.active == "primary" and st.links["primary"] == LinkView()
    assert hash(moved.settings) == hash(st.settings)


def test_settings_lookups_follow_the_priority_order():
    specs = (policy.UplinkSpec("lte", 30, True), policy.UplinkSpec("fiber", 10, False),
             policy.UplinkSpec("star", 20, False))
    s = policy.Settings(uplinks=specs)
    assert s.names == ("fiber", "star", "lte")
    assert [s.rank(n) for n in s.names] == [10, 20, 30] and s.spec("lte").cellular
    assert s == policy.Settings(uplinks=tuple(sorted(specs, key=lambda u: u.priority)))
