"""Emission.record_work and close_epoch: who may report, what is counted, what an epoch mints."""
import boa

from brainnet.protocol.emission import epoch_amount, pools
from contract_world import A, B, events
from economy_world import DECAY_BPS, INFERENCE, INFERENCE_WEIGHT_BPS, INITIAL_EMISSION, TRAINING, economy, emission_only  # noqa: F401


def _sources(eco):
    inf, train = boa.env.generate_address("inf-src"), boa.env.generate_address("train-src")
    eco.emission.set_param(2, int(inf, 16), sender=eco.world.owner)
    eco.emission.set_param(3, int(train, 16), sender=eco.world.owner)
    return inf, train


def test_only_a_source_records_work(emission_only):
    with boa.reverts("emission: caller may not report work"):
        emission_only.emission.record_work([emission_only.world.owner], 1, sender=emission_only.world.owner)


def test_record_work_counts_units_per_node_kind_and_epoch(emission_only):
    e = emission_only.emission
    inf, train = _sources(emission_only)
    n1, n2 = boa.env.generate_address(), boa.env.generate_address()
    e.record_work([n1, n2], 1, sender=inf)
    e.record_work([n1], 3, sender=inf)
    (ev,) = events(e, "WorkRecorded")
    assert (ev.source, ev.epoch, ev.kind, list(ev.nodes), ev.units) == (inf, 0, INFERENCE, [n1], 3)
    e.record_work([n2], 2, sender=train)
    assert e.work(0, INFERENCE, n1) == 4 and e.work(0, INFERENCE, n2) == 1
    assert e.total_work(0, INFERENCE) == 5 and e.total_work(0, TRAINING) == 2
    emission_only.next_epoch()
    e.record_work([n1], 1, sender=inf)
    assert e.work(1, INFERENCE, n1) == 1 and e.work(0, INFERENCE, n1) == 4


def test_close_epoch_mints_only_worked_pools(world, emission_only):
    e = emission_only.emission
    inf, _ = _sources(emission_only)
    e.record_work([boa.env.generate_address()], 1, sender=inf)
    supply = world.token.totalSupply()
    emission_only.next_epoch()
    e.close_epoch(0, sender=world.requester)
    (ev,) = events(e, "EpochClosed")
    expected = pools(epoch_amount(INITIAL_EMISSION, DECAY_BPS, 0), INFERENCE_WEIGHT_BPS, {INFERENCE: 1})
    assert (ev.epoch, ev.emission, ev.inference_pool, ev.training_pool) == (0, INITIAL_EMISSION, expected[INFERENCE], 0)
    assert e.pools(0, INFERENCE) == INITIAL_EMISSION * INFERENCE_WEIGHT_BPS // 10_000
    assert e.pools(0, TRAINING) == 0 and e.closed(0)
    assert world.token.totalSupply() - supply == e.minted() == e.pools(0, INFERENCE)
    assert world.token.balanceOf(e.address) == e.minted()


def test_close_epoch_without_work_mints_nothing(world, emission_only):
    emission_only.next_epoch()
    supply = world.token.totalSupply()
    emission_only.emission.close_epoch(0)
    assert world.token.totalSupply() == supply and emission_only.emission.closed(0)


def test_close_epoch_reverts(emission_only):
    e = emission_only.emission
    with boa.reverts("emission: epoch not finished"):
        e.close_epoch(0)
    emission_only.next_epoch()
    e.close_epoch(0)
    with boa.reverts("emission: epoch already closed"):
        e.close_epoch(0)


def test_close_epoch_fails_when_emission_is_not_the_minter(world):
    from economy_world import deploy_emission

    e = deploy_emission(world.token.address, epoch_blocks=1)
    boa.env.time_travel(blocks=1)
    e.close_epoch(0)                                # no work: nothing to mint, fine
    with boa.env.prank(e.governance()):
        e.set_param(2, int(world.owner, 16))
    e.record_work([world.owner], 1, sender=world.owner)
    boa.env.time_travel(blocks=1)
    with boa.reverts("token: only the minter may mint"):
        e.close_epoch(1)


def test_inference_reports_the_winning_side_of_a_settled_task(world, economy):
    e = economy.emission
    run = world.run_task([A, A, A, A, B])
    winners = [m for m, b in run.behaviours.items() if b == A]
    loser = next(m for m, b in run.behaviours.items() if b == B)
    for m in winners:
        assert e.work(0, INFERENCE, m) == 1
    assert e.work(0, INFERENCE, loser) == 0
    assert e.total_work(0, INFERENCE) == 4


def test_settlement_never_depends_on_emission(world, economy):
    """Governance drops Inference as a work source: tasks still settle, no work is counted."""
    e = economy.emission
    economy.governance.execute(economy.pass_proposal(e.address, 4, int(world.inference.address, 16)))
    assert e.sources(world.inference.address) == 0
    run = world.run_task([A] * 5)
    assert world.task(run.task_id).status == 4            # SETTLED
    assert e.total_work(economy.emission.current_epoch(), INFERENCE) == 0


def test_record_units_counts_each_nodes_own_units(emission_only):
    e = emission_only.emission
    inf, _ = _sources(emission_only)
    n1, n2 = boa.env.generate_address(), boa.env.generate_address()
    e.record_units([n1, n2], [3, 1], sender=inf)
    (ev,) = events(e, "UnitsRecorded")
    assert (ev.source, ev.epoch, ev.kind, list(ev.nodes), list(ev.units)) == (inf, 0, INFERENCE, [n1, n2], [3, 1])
    e.record_work([n1], 2, sender=inf)
    assert (e.work(0, INFERENCE, n1), e.work(0, INFERENCE, n2), e.total_work(0, INFERENCE)) == (5, 1, 6)
    with boa.reverts("emission: nodes and units differ in length"):
        e.record_units([n1], [1, 2], sender=inf)
    with boa.reverts("emission: caller may not report work"):
        e.record_units([n1], [1], sender=n1)


def test_finalize_many_reports_a_batch_of_tasks_in_one_call(world, economy):
    """Every winner of every task in one finalize_many is counted, summed per node, in one Emission call."""
    e = economy.emission
    runs = [world.run_task([A, A, A, A, B], finalize=False) for _ in range(3)]
    assert world.inference.finalize_many([r.task_id for r in runs], sender=world.owner) == 3
    (ev,) = events(world.inference, "UnitsRecorded")           # logged by Emission, a child call
    wins: dict = {}
    for r in runs:
        for m, b in r.behaviours.items():
            if b == A:
                wins[m] = wins.get(m, 0) + 1
    assert dict(zip(ev.nodes, ev.units)) == wins
    assert all(e.work(0, INFERENCE, m) == n for m, n in wins.items())
    assert e.total_work(0, INFERENCE) == 12
