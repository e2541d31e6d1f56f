"""Emission.claim and claimable: rewards in proportion to work, pulled per finished epoch."""
import boa

from brainnet.protocol.emission import epoch_amount, share
from contract_world import A, events
from economy_world import DECAY_BPS, INFERENCE_WEIGHT_BPS, INITIAL_EMISSION, economy, emission_only  # noqa: F401


def _setup(eco):
    e, owner = eco.emission, eco.world.owner
    inf, train = boa.env.generate_address("inf"), boa.env.generate_address("train")
    e.set_param(2, int(inf, 16), sender=owner)
    e.set_param(3, int(train, 16), sender=owner)
    small, big = boa.env.generate_address("small"), boa.env.generate_address("big")
    e.record_work([small], 1, sender=inf)
    e.record_work([big], 3, sender=inf)
    e.record_work([small], 1, sender=train)
    return e, small, big, inf


def test_claim_pays_pool_shares_in_proportion_to_work(world, emission_only):
    e, small, big, _ = _setup(emission_only)
    emission_only.next_epoch()
    amount = epoch_amount(INITIAL_EMISSION, DECAY_BPS, 0)
    inf_pool = amount * INFERENCE_WEIGHT_BPS // 10_000
    train_pool = amount - inf_pool
    assert e.claimable(small, 0) == share(inf_pool, 1, 4) + train_pool     # open epoch: today's weights
    paid = e.claim([0], sender=small)
    assert paid == share(inf_pool, 1, 4) + share(train_pool, 1, 1)
    assert world.token.balanceOf(small) == paid
    (ev,) = events(e, "RewardClaimed")
    assert (ev.node, ev.epoch, ev.amount) == (small, 0, paid)
    assert e.claimable(small, 0) == 0 and e.claimed(0, small)
    assert e.claimable(big, 0) == share(inf_pool, 3, 4)
    assert e.claim([0], sender=big) == share(inf_pool, 3, 4)
    # per unit of inference work both earned the same (up to one wei of rounding)
    assert abs(share(inf_pool, 3, 4) - 3 * share(inf_pool, 1, 4)) <= 3
    assert world.token.balanceOf(e.address) == e.minted() - paid - share(inf_pool, 3, 4)


def test_claim_closes_the_epoch_first(emission_only):
    e, small, big, _ = _setup(emission_only)
    emission_only.next_epoch()
    assert not e.closed(0)
    e.claim([0], sender=small)
    assert e.closed(0) and e.minted() == epoch_amount(INITIAL_EMISSION, DECAY_BPS, 0)


def test_claim_several_epochs_at_once(emission_only):
    e, small, _, inf = _setup(emission_only)
    emission_only.next_epoch()
    e.record_work([small], 1, sender=inf)                  # epoch 1, alone in its pool
    emission_only.next_epoch()
    expected = e.claimable(small, 0) + e.claimable(small, 1)
    assert e.claim([0, 1], sender=small) == expected
    assert e.claimable(small, 1) == 0


def test_claim_reverts(emission_only):
    e, small, big, _ = _setup(emission_only)
    with boa.reverts("emission: epoch not finished"):
        e.claim([0], sender=small)
    emission_only.next_epoch()
    with boa.reverts("emission: nothing to claim"):
        e.claim([0], sender=boa.env.generate_address())
    e.claim([0], sender=small)
    with boa.reverts("emission: epoch already claimed"):
        e.claim([0], sender=small)
    with boa.reverts("emission: epoch already claimed"):
        e.claim([0, 0], sender=big)


def test_nodes_of_a_settled_task_claim_emission(world, economy):
    run = world.run_task([A] * 5)
    economy.next_epoch()
    pool = epoch_amount(INITIAL_EMISSION, DECAY_BPS, 0) * INFERENCE_WEIGHT_BPS // 10_000
    for m in run.members:
        assert economy.emission.claim([0], sender=m) == pool // 5
