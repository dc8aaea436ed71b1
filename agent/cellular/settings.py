"""The PLMN lists that apply to one SIM. What the [cellular] keys must look like is declared on their fields in
agent.config.cellular (checked when the config is loaded)."""
from __future__ import annotations


def plmn_lists(cfg, slot: int | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(preferred, forbidden) for the SIM in `slot`: its own lists where it has them, else the section's."""
    sim = cfg.sim_for(slot) if slot is not None else None
    preferred = (sim.preferred_plmns if sim and sim.preferred_plmns else cfg.preferred_plmns)
    forbidden = (sim.forbidden_plmns if sim and sim.forbidden_plmns else cfg.forbidden_plmns)
    return tuple(preferred), tuple(forbidden)
