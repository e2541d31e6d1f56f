"""Emission.set_param and set_governance: weights and work sources change only through governance."""
import boa
import pytest

from contract_world import events
from economy_world import INFERENCE, TRAINING, economy, emission_only  # noqa: F401


def test_governance_sets_the_inference_weight(world, emission_only):
    e = emission_only.emission
    e.set_param(1, 2_500, sender=world.owner)
    (ev,) = events(e, "ParamSet")
    assert (ev.param, ev.value) == (1, 2_500)
    assert e.inference_weight_bps() == 2_500


def test_sources_are_added_and_removed(world, emission_only):
    e, src = emission_only.emission, boa.env.generate_address()
    e.set_param(2, int(src, 16), sender=world.owner)
    assert e.sources(src) == INFERENCE
    e.set_param(3, int(src, 16), sender=world.owner)
    assert e.sources(src) == TRAINING
    e.set_param(4, int(src, 16), sender=world.owner)
    assert e.sources(src) == 0


@pytest.mark.parametrize("param, value, reason", [
    (1, 10_001, "emission: weight above 10000"),
    (2, 0, "emission: source is not an address"),
    (3, 2**160, "emission: source is not an address"),
    (9, 1, "emission: unknown parameter"),
])
def test_set_param_reverts(world, emission_only, param, value, reason):
    with boa.reverts(reason):
        emission_only.emission.set_param(param, value, sender=world.owner)


def test_only_governance_sets_params(world, emission_only):
    with boa.reverts("emission: only governance may set parameters"):
        emission_only.emission.set_param(1, 1, sender=world.requester)


def test_set_governance(world, emission_only):
    e, new = emission_only.emission, boa.env.generate_address()
    with boa.reverts("emission: governance is the zero address"):
        e.set_governance("0x" + "00" * 20, sender=world.owner)
    e.set_governance(new, sender=world.owner)
    (ev,) = events(e, "GovernanceChanged")
    assert ev.governance == new
    assert e.governance() == new
    with boa.reverts("emission: only governance may change governance"):
        e.set_governance(world.owner, sender=world.owner)


def test_weight_through_a_proposal(world, economy):
    e = economy.emission
    economy.governance.execute(economy.pass_proposal(e.address, 1, 10_000))
    assert e.inference_weight_bps() == 10_000
    with boa.reverts("emission: only governance may set parameters"):
        e.set_param(1, 0, sender=world.owner)
