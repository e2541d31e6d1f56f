"""The Python mirror in `brainnet.protocol` computes exactly what the contracts do.

Nodes, the SDK and simulations never ask the chain what a committee, a commitment or a
task's outcome will be: they compute it with `brainnet.protocol`. These Hypothesis tests
run the contracts (titanoboa) beside the mirror on random inputs and require equality:
(a) `sample_committee` vs `Registry.sample`, over nodes that are active, topped up,
    slashed, jailed, unbonding or serving another model;
(b) `commitment` vs what `Inference.reveal` accepts, `task_seed` vs what `draw` stores;
(c) `decide` vs the settlement `Inference.finalize` performs.
Each test deploys once (module fixture) and rolls every example back with
`boa.env.anchor()`.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import boa
from inference_views import committee_of, drawn_seed, key_of, reveals_of, task_view
import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st

from brainnet.protocol import commitment, decide, keccak, model_key, sample_committee, task_seed

CONTRACTS = Path(__file__).resolve().parents[1] / "contracts"
E18 = 10**18
MODEL, OTHER = model_key("mirror-model"), model_key("mirror-other")
MIN_STAKE = 100 * E18
JAIL_AFTER = 2
COMMITTEE, QUORUM = 5, 3
COMMIT_WINDOW = REVEAL_WINDOW = 5
SLASH_BPS = 2_500
MIN_FEE = 1
MAX_NODES = 12
SETTLED = 4

A, B, C = (hashlib.sha256(x).digest() for x in (b"a", b"b", b"c"))
SILENT, ABSENT = "silent", "absent"      # commits but never reveals / never commits

BLOCKHASH = Path(__file__).resolve().parent / "BlockHash.vy"   # a view over blockhash(n)

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
bytes32 = st.binary(min_size=32, max_size=32)


class Chain:
    """The deployed contracts and accounts of one module fixture."""

    def __init__(self, **parts):
        self.__dict__.update(parts)

    def __repr__(self) -> str:           # Hypothesis prints fixtures of failing examples
        return f"Chain({self.registry.node_count()} nodes)"


def deploy(n_nodes: int) -> Chain:
    """Token, Registry and Inference wired together; `n_nodes` funded accounts, the first
    `registered` of them staked on MODEL with stakes 1..n × MIN_STAKE."""
    owner, treasury = boa.env.generate_address(), boa.env.generate_address()
    with boa.env.prank(owner):
        token = boa.load(str(CONTRACTS / "Token.vy"), "brainnet", "BRN", [], [], owner)
        registry = boa.load(str(CONTRACTS / "Registry.vy"), token.address, treasury, MIN_STAKE, 10, JAIL_AFTER)
        registry.register_model(MODEL, keccak(b"w1"))
        registry.register_model(OTHER, keccak(b"w2"))
        inference = boa.load(str(CONTRACTS / "Inference.vy"), token.address, registry.address, COMMITTEE, QUORUM,
                             COMMIT_WINDOW, REVEAL_WINDOW, SLASH_BPS, MIN_FEE, 1, 0, 0)
        registry.authorize(inference.address, True)
        registry.authorize(owner, True)          # the owner slashes directly in (a)
        token.mint(owner, 10**30)
        token.approve(inference.address, 2**256 - 1)
    nodes = [boa.env.generate_address() for _ in range(MAX_NODES)]
    for n in nodes:
        token.mint(n, 10**30, sender=owner)
        token.approve(registry.address, 2**256 - 1, sender=n)
    for i, n in enumerate(nodes[:n_nodes]):
        registry.register((i + 1) * MIN_STAKE, "", keccak(n.canonical_address), [MODEL], sender=n)
    return Chain(token=token, registry=registry, inference=inference, owner=owner, nodes=nodes,
                           blockhash=boa.load(str(BLOCKHASH)))


@pytest.fixture(scope="module")
def empty():
    return deploy(0)


@pytest.fixture(scope="module")
def staffed():
    return deploy(8)


def block_number() -> int:
    return boa.env.evm.patch.block_number


def travel_past(block: int) -> None:
    if block_number() <= block:
        boa.env.time_travel(blocks=block + 1 - block_number())


def salt_of(member) -> bytes:
    return keccak(b"salt" + member.canonical_address)


# ---------------------------------------------------------------- (a) committee sampling

STATES = ["active", "topped_up", "slashed", "jailed", "unbonding", "other_model", "both_models"]
node_specs = st.lists(
    st.tuples(
        st.integers(MIN_STAKE, 10**6 * E18),          # registered stake
        st.sampled_from(STATES),
        st.integers(0, 10**6 * E18),                  # top-up or slash amount
    ),
    min_size=1, max_size=MAX_NODES,
)


@SETTINGS
@given(specs=node_specs, seed=bytes32, k=st.integers(0, MAX_NODES))
@example(specs=[(MIN_STAKE, "active", 0)] * 3, seed=b"\0" * 32, k=3)
@example(specs=[(MIN_STAKE, "slashed", 1), (MIN_STAKE, "active", 0)], seed=b"\1" * 32, k=1)
def test_sample_committee_matches_registry_sample(empty, specs, seed, k):
    registry = empty.registry
    with boa.env.anchor():
        mirror_stakes = []              # the stake each index counts in MODEL's tree
        for node, (stake, state, amount) in zip(empty.nodes, specs):
            models = {"other_model": [OTHER], "both_models": [OTHER, MODEL]}.get(state, [MODEL])
            registry.register(stake, "", b"\0" * 32, models, sender=node)
            if state == "topped_up":
                registry.add_stake(amount + 1, sender=node)
            elif state == "slashed":
                registry.slash(node, amount, "mirror", sender=empty.owner)
            elif state == "jailed":
                for _ in range(JAIL_AFTER):
                    registry.slash(node, amount // JAIL_AFTER, "mirror", sender=empty.owner)
            elif state == "unbonding":
                registry.begin_unbond(sender=node)
            n = registry.nodes(node)
            assert n.active == (state not in ("jailed", "unbonding") and n.stake >= MIN_STAKE)
            counted = n.active and state != "other_model"
            mirror_stakes.append(n.stake if counted else 0)
        assert registry.model_stake(MODEL) == sum(mirror_stakes)

        active = sum(1 for s in mirror_stakes if s > 0)
        if k > active:
            with pytest.raises(ValueError):
                sample_committee(mirror_stakes, seed, k)
            with boa.reverts("registry: not enough active nodes for the committee"):
                registry.sample(MODEL, seed, k)
            return
        expected = [empty.nodes[i - 1] for i in sample_committee(mirror_stakes, seed, k)]
        assert list(registry.sample(MODEL, seed, k)) == expected


# ---------------------------------------------------------------- (b) seed and commitment

@SETTINGS
@given(wait=st.integers(2, 257), history=bytes32, result=bytes32, salt=bytes32, seat=st.integers(0, COMMITTEE - 1))
def test_task_seed_and_commitment_match_the_contract(staffed, wait, history, result, salt, seat):
    inference = staffed.inference
    with boa.env.anchor():
        # a random chain history: the 256 most recent block hashes
        boa.env.evm.patch.prev_hashes = [keccak(history + i.to_bytes(2, "big")) for i in range(256)]
        task_id = inference.request(MODEL, keccak(history), "", MIN_FEE, sender=staffed.owner)
        seed_block = block_number() + 1
        boa.env.time_travel(blocks=wait)
        seed = task_seed(staffed.blockhash.at(seed_block), task_id)
        inference.draw(task_id)
        assert drawn_seed(inference) == seed
        stakes = [staffed.registry.stake_of(n) for n in staffed.nodes]
        members = list(committee_of(inference, task_id))
        assert members == [staffed.nodes[i - 1] for i in sample_committee(stakes, seed, COMMITTEE)]

        member = members[seat]
        inference.commit_many([key_of(inference, task_id, member)], [commitment(task_id, result, str(member), salt)], sender=member)
        travel_past(task_view(inference, task_id).commit_deadline)
        wrong_salt = bytes([salt[0] ^ 1]) + salt[1:]
        with boa.reverts("inference: reveal != commitment"):
            inference.reveal_many([key_of(inference, task_id, member)], [result], [], [wrong_salt], [0], [], sender=member)
        inference.reveal_many([key_of(inference, task_id, member)], [result], [], [salt], [0], [], sender=member)
        assert reveals_of(inference, task_id, member)[0] == result


# ---------------------------------------------------------------- (c) agreement

behaviour = st.sampled_from([A, A, A, B, C, SILENT, ABSENT])


@SETTINGS
@given(
    plays=st.lists(behaviour, min_size=COMMITTEE, max_size=COMMITTEE),
    order=st.permutations(range(COMMITTEE)),
    fee=st.integers(MIN_FEE, 10**22),
)
@example(plays=[A] * 5, order=list(range(5)), fee=10**18 + 1)
@example(plays=[A, B, A, B, C], order=[1, 0, 2, 3, 4], fee=7)
@example(plays=[ABSENT] * 5, order=list(range(5)), fee=1)
@example(plays=[B, A, A, A, SILENT], order=[0, 1, 2, 3, 4], fee=2)
def test_decide_matches_finalize(staffed, plays, order, fee):
    token, registry, inference = staffed.token, staffed.registry, staffed.inference
    with boa.env.anchor():
        task_id = inference.request(MODEL, keccak(b"in"), "", fee, sender=staffed.owner)
        boa.env.time_travel(blocks=2)
        inference.draw(task_id)
        members = list(committee_of(inference, task_id))
        plan = dict(zip(members, plays))
        for m in members:
            if plan[m] != ABSENT:
                result = plan[m] if plan[m] != SILENT else keccak(b"never revealed")
                inference.commit_many([key_of(inference, task_id, m)], [commitment(task_id, result, str(m), salt_of(m))], sender=m)
        if ABSENT in plays:
            travel_past(task_view(inference, task_id).commit_deadline)
        reveals = [(members[i], plays[i]) for i in order if isinstance(plays[i], bytes)]
        for m, result in reveals:
            inference.reveal_many([key_of(inference, task_id, m)], [result], [], [salt_of(m)], [0], [], sender=m)
        if len(reveals) < COMMITTEE:
            travel_past(task_view(inference, task_id).reveal_deadline)

        stakes = {m: registry.stake_of(m) for m in members}
        slashes = {m: registry.nodes(m).slashes for m in members}
        paid_before = token.balanceOf(staffed.owner)
        inference.finalize(task_id)

        outcome = decide([str(m) for m in members], [(str(m), r) for m, r in reveals], QUORUM, fee)
        t = task_view(inference, task_id)
        assert (t.status == SETTLED) == outcome.settled
        if outcome.settled:
            assert t.result == outcome.result
        assert token.balanceOf(staffed.owner) - paid_before == outcome.refund
        for m in members:
            agreeing = str(m) in outcome.agreeing
            slashed = str(m) in outcome.slashed
            assert inference.claimable(m) == (outcome.share if agreeing else 0)
            assert registry.nodes(m).slashes - slashes[m] == int(slashed)
            assert registry.stake_of(m) == stakes[m] - (stakes[m] * SLASH_BPS // 10_000 if slashed else 0)
        assert token.balanceOf(inference.address) == sum(inference.claimable(m) for m in members)
