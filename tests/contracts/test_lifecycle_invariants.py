"""Many tasks in a row on the three contracts together, checking the invariants each step:
tokens are conserved, the escrow covers open fees and claims, a slashed stake never
comes back, and a node jailed after `jail_after` slashes is never drawn again."""
import boa

from contract_world import (
    A, ABSENT, B, C, FEE, JAIL_AFTER, MIN_FEE, MIN_STAKE, MODEL, SILENT, UNBONDING_BLOCKS, keccak,
)

PLAYS = [
    [A, A, A, A, A],
    [A, B, A, ABSENT, A],
    [B, B, SILENT, B, C],
    [A, B, C, A, B],            # no quorum
    [ABSENT] * 5,               # nobody came
    [C, C, C, SILENT, SILENT],
]


def test_tasks_in_a_row_keep_the_invariants(world):
    token, registry, inference = world.token, world.registry, world.inference
    supply = token.totalSupply()
    treasury = 0
    open_ids = []
    for i, play in enumerate(PLAYS):
        # a request left undrawn beside each task: refunded at the end
        open_ids.append(world.request(fee=MIN_FEE + i))
        world.assert_invariants()
        run = world.run_task(play, fee=FEE + i)
        world.assert_invariants()
        assert token.balanceOf(world.treasury) >= treasury          # the treasury only grows
        treasury = token.balanceOf(world.treasury)
        for m in run.members:
            if inference.claimable(m) and i % 2:
                inference.claim(sender=m)
                world.assert_invariants()
    # the open requests run out of their seed horizon and are refunded
    boa.env.time_travel(blocks=300)
    for task_id in open_ids:
        inference.finalize(task_id)
        world.assert_invariants()
    assert token.totalSupply() == supply                            # no task mints or burns
    assert all(registry.nodes(n).pending == 1 for n in world.nodes)     # 1 = no open task
    claimable = sum(inference.claimable(n) for n in world.nodes)
    assert token.balanceOf(inference.address) == claimable


def test_no_show_is_jailed_after_jail_after_slashes_and_never_drawn_again(world):
    registry, inference = world.registry, world.inference
    cheat = world.nodes[7]                                           # largest stake: stays above min
    original = registry.stake_of(cheat)
    tasks = 0
    while registry.nodes(cheat).slashes < JAIL_AFTER:
        tasks += 1
        assert tasks < 40, "the cheat should be drawn often enough"
        world.run_task(lambda m: ABSENT if m == cheat else A)
        world.assert_invariants()
    n = registry.nodes(cheat)
    assert n.jailed and not n.active
    assert n.stake >= MIN_STAKE                                      # jailed, not merely under-staked
    assert cheat not in registry.active_nodes(MODEL)
    for _ in range(10):
        run = world.run_task([A] * 5)
        assert cheat not in run.members
    for s in range(20):
        assert cheat not in registry.sample(MODEL, keccak(b"after jail %d" % s), 7)

    # it may leave with what is left; the slashed part stays with the treasury
    slashed = original - registry.stake_of(cheat)
    assert slashed > 0
    registry.begin_unbond(sender=cheat)
    boa.env.time_travel(blocks=UNBONDING_BLOCKS)
    balance = world.token.balanceOf(cheat)
    registry.withdraw(sender=cheat)
    assert world.token.balanceOf(cheat) - balance == original - slashed
    assert world.token.balanceOf(world.treasury) >= slashed
    world.assert_invariants()


def test_unbonding_member_must_still_serve_its_task(world):
    registry = world.registry
    task_id, members = world.open_task()
    leaver = members[0]
    registry.begin_unbond(sender=leaver)                 # leaving does not cancel the seat
    for m in members:
        world.commit(task_id, m, A)
    for m in members:
        world.reveal(task_id, m, A)
    world.inference.finalize(task_id)
    assert world.inference.claimable(leaver) == FEE // 5
    boa.env.time_travel(blocks=UNBONDING_BLOCKS)
    stake = registry.stake_of(leaver)
    registry.withdraw(sender=leaver)
    world.inference.claim(sender=leaver)
    assert world.token.balanceOf(leaver) == stake + FEE // 5
    world.assert_invariants()
