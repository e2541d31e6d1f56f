"""`brainnet.protocol.escalation` predicts, step by step, what `Inference.vy` does with levels.

Hypothesis plays random tasks on the real contracts (titanoboa) and on the mirror side by
side and requires equality at every step:
(a) whole tasks: random chain history, random nodes gone (unbonding) before the request,
    exact or `near` models, per-level moods (everyone agrees / each member reveals one of a
    few values, near or far fingerprints, or nothing), random reveal orders and challenges.
    Each level's draw equals `sample_committee(stakes, level_seed(...), level_size, exclude=
    earlier members)`; after every reveal the contract's center equals `tally` over the
    reveals so far; `decide_level` predicts every finalize (escalate / provisional / settle /
    refund); at the end `resolve` predicts who is credited `share`, who is slashed and why,
    the dust and the bond's way back.
(b) `near` clusters: a 9-member level of fingerprints scattered around a few centers at
    distances on both sides of the tolerance, revealed in random order: the contract's
    `top_result`/`top_count` equal `tally`'s center and count after every reveal.
One module deployment; every example runs inside `boa.env.anchor()`.
"""
from __future__ import annotations

import hashlib
import random
from pathlib import Path

import boa
from inference_views import committee_of, drawn_seed, key_of, task_view
from brainnet.protocol.escalation import level_size
import pytest
from hypothesis import HealthCheck, event, given, settings, strategies as st

from brainnet.protocol import keccak, model_key, sample_committee
from brainnet.protocol.commitment import abi_encode, commitment
from brainnet.protocol.escalation import (
    ESCALATE, EXACT, NEAR, REFUND, SETTLE, agree, decide_level, level_seed, level_size, resolve, tally,
)

CONTRACTS = Path(__file__).resolve().parents[1] / "contracts"
E18 = 10**18
MODEL, NEAR_MODEL = model_key("mirror-exact"), model_key("mirror-near")
TOL = 24
MIN_STAKE = 100 * E18
SLASH_BPS = 1_500
WINDOW = 4                          # commit and reveal windows
N_NODES = 26                        # K = 3, L = 3 needs 3 + 7 + 15 = 25
REQUESTED, DRAWN, SETTLED, REFUNDED, PROVISIONAL = 1, 2, 4, 8, 16
SILENT, ABSENT = "silent", "absent"
A, B, C = (hashlib.sha256(x).digest() for x in (b"a", b"b", b"c"))

# (K, Q, L, challenge window, bond): the escalating rules the tasks play under
CONFIGS = [
    (3, 2, 3, 4, 7 * E18 + 1),
    (3, 2, 3, 0, 0),
    (2, 2, 3, 3, 5 * E18 + 3),          # sizes 2, 5, 11
    (3, 3, 2, 2, 1),                    # unanimity at level 0, sizes 3, 7
]
CLUSTER_K = 9                           # (b): one level of 9, quorum 5

BLOCKHASH = Path(__file__).resolve().parent / "BlockHash.vy"   # a view over blockhash(n)

SETTINGS = settings(max_examples=100, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
bytes32 = st.binary(min_size=32, max_size=32)


class Chain:
    def __init__(self, **parts):
        self.__dict__.update(parts)

    def __repr__(self) -> str:           # Hypothesis prints fixtures of failing examples
        return f"Chain({len(self.nodes)} nodes)"


@pytest.fixture(scope="module")
def chain() -> Chain:
    owner, treasury, requester = (boa.env.generate_address() for _ in range(3))
    with boa.env.prank(owner):
        token = boa.load(str(CONTRACTS / "Token.vy"), "brainnet", "BRN", [], [], owner)
        registry = boa.load(str(CONTRACTS / "Registry.vy"), token.address, treasury, MIN_STAKE, 10, 3)
        registry.register_model(MODEL, keccak(b"w1"))
        registry.register_near_model(NEAR_MODEL, keccak(b"w2"), TOL)
        partial = boa.load_partial(str(CONTRACTS / "Inference.vy"))
        rules = [
            partial.deploy(token.address, registry.address, k, q, WINDOW, WINDOW, SLASH_BPS, 1, levels, cw, bond)
            for k, q, levels, cw, bond in CONFIGS
        ]
        cluster = partial.deploy(token.address, registry.address, CLUSTER_K, CLUSTER_K // 2 + 1, WINDOW, WINDOW,
                                 SLASH_BPS, 1, 1, 0, 0)
        for inference in [*rules, cluster]:
            registry.authorize(inference.address, True)
        token.mint(requester, 10**30)
    for inference in [*rules, cluster]:
        token.approve(inference.address, 2**256 - 1, sender=requester)
    nodes = [boa.env.generate_address() for _ in range(N_NODES)]
    for i, n in enumerate(nodes):
        token.mint(n, 10**30, sender=owner)
        token.approve(registry.address, 2**256 - 1, sender=n)
        registry.register((i + 1) * MIN_STAKE, "", keccak(n.canonical_address), [MODEL, NEAR_MODEL], sender=n)
    return Chain(token=token, registry=registry, rules=rules, cluster=cluster, owner=owner, treasury=treasury,
                 requester=requester, nodes=nodes, blockhash=boa.load(str(BLOCKHASH)))


# ---------------------------------------------------------------- helpers

def block_number() -> int:
    return boa.env.evm.patch.block_number


def travel_past(block: int) -> None:
    if block_number() <= block:
        boa.env.time_travel(blocks=block + 1 - block_number())


def salt_of(member) -> bytes:
    return keccak(b"salt" + member.canonical_address)


def blob_of(fp: bytes, member) -> bytes:
    return keccak(b"blob" + fp + member.canonical_address)


def flip(fp: bytes, bits) -> bytes:
    x = int.from_bytes(fp, "big")
    for b in bits:
        x ^= 1 << b
    return x.to_bytes(32, "big")


def named(logs, name: str) -> list:
    return [e for e in logs if type(e).__name__ == name]


def committed_value(mode: int, value: bytes, member) -> bytes:
    return keccak(abi_encode(value, blob_of(value, member))) if mode == NEAR else value


def play_level(chain, inference, task_id: int, mode: int, plan: list, order: list) -> tuple[list, list]:
    """Commit and reveal the drawn level as `plan` says, revealing seats in `order`; after
    every reveal the contract's center must equal the mirror's `tally` of the reveals so
    far. Returns (members, revealed values in reveal order)."""
    members = list(committee_of(inference, task_id))
    for m, b in zip(members, plan):
        if b == ABSENT:
            continue
        value = b if isinstance(b, bytes) else keccak(b"never revealed" + m.canonical_address)
        inference.commit_many([key_of(inference, task_id, m)], [commitment(task_id, committed_value(mode, value, m), str(m), salt_of(m))], sender=m)
    if ABSENT in plan:
        travel_past(task_view(inference, task_id).commit_deadline)
    revealed = []
    for i in order:
        m, b = members[i], plan[i]
        if not isinstance(b, bytes):
            continue
        if mode == NEAR:
            inference.reveal_many([key_of(inference, task_id, m)], [b], [blob_of(b, m)], [salt_of(m)], [0], [], sender=m)
        else:
            inference.reveal_many([key_of(inference, task_id, m)], [b], [], [salt_of(m)], [0], [], sender=m)
        revealed.append(b)
        mirror, t = tally(revealed, mode, TOL), task_view(inference, task_id)
        assert (t.top_result, t.top_count, t.reveals) == (mirror.center, mirror.center_count, len(revealed))
    if len(revealed) < len(members):
        travel_past(task_view(inference, task_id).reveal_deadline)
    return members, revealed


# ---------------------------------------------------------------- strategies

@st.composite
def fingerprint_near(draw, base: bytes, distances) -> bytes:
    """`base` with d random bits flipped, d one of `distances`."""
    d = draw(st.sampled_from(distances))
    bits = random.Random(draw(st.integers(0, 2**32 - 1))).sample(range(256), d)
    return flip(base, bits)


def level_plan(data, mode: int, size: int, values: list) -> list:
    """One behaviour per seat: a value (exact) or fingerprint (near), SILENT or ABSENT."""
    mood = data.draw(st.sampled_from(["agree", "mixed", "mixed"]), label="mood")
    if mood == "agree":
        base = data.draw(st.sampled_from(values[:2]), label="agreed value")
        if mode == EXACT:
            return [base] * size
        return [data.draw(fingerprint_near(base, [0, 1, TOL // 2])) for _ in range(size)]
    plan = []
    for _ in range(size):
        choice = data.draw(st.sampled_from([0, 0, 0, 1, 2, SILENT, ABSENT]))
        if isinstance(choice, str):
            plan.append(choice)
        elif mode == EXACT:
            plan.append(values[choice])
        else:
            plan.append(data.draw(fingerprint_near(values[choice], [0, 1, TOL // 2, TOL, TOL + 1, 3 * TOL, 128])))
    return plan


# ---------------------------------------------------------------- (a) whole tasks

@SETTINGS
@given(
    data=st.data(),
    rule=st.integers(0, len(CONFIGS) - 1),
    mode=st.sampled_from([EXACT, NEAR]),
    gone=st.sampled_from([0, 0, 0, 0, 1, 2, 9, 12, 16, 17, 20]),
    leaving=st.permutations(range(N_NODES)),
    history=bytes32,
    fee=st.integers(1, 10**22),
)
def test_escalating_task_matches_the_mirror(chain, data, rule, mode, gone, leaving, history, fee):
    k, q, max_levels, window, bond = CONFIGS[rule]
    inference, token, registry = chain.rules[rule], chain.token, chain.registry
    model = NEAR_MODEL if mode == NEAR else MODEL
    with boa.env.anchor():
        boa.env.evm.patch.prev_hashes = [keccak(history + i.to_bytes(2, "big")) for i in range(256)]
        for i in leaving[:gone]:
            registry.begin_unbond(sender=chain.nodes[i])
        stakes = [registry.stake_of(n) if registry.is_active(n) else 0 for n in chain.nodes]
        active = sum(1 for s in stakes if s > 0)
        assert registry.model_nodes(model) == active
        if mode == EXACT:
            values = [A, B, C]
        else:
            base = data.draw(bytes32, label="base")
            second = data.draw(fingerprint_near(base, [TOL, TOL + 1, 2 * TOL, 128]), label="second center")
            values = [base, second, data.draw(bytes32, label="stray")]

        before_stakes = {n: registry.stake_of(n) for n in chain.nodes}
        before_slashes = {n: registry.nodes(n).slashes for n in chain.nodes}
        before_requester, before_treasury = token.balanceOf(chain.requester), token.balanceOf(chain.treasury)
        task_id = inference.request(model, keccak(history), "", fee, sender=chain.requester)

        level, levels, decisions = 0, [], []
        challenged, posted, final = None, 0, None
        while True:
            # ---- draw: the mirror's committee, excluding every earlier member
            boa.env.time_travel(blocks=2)
            t = task_view(inference, task_id)
            assert (t.status, t.level) == (REQUESTED, level)
            seed = level_seed(chain.blockhash.at(t.seed_block), task_id, level)
            earlier = [registry.nodes(m).index for ms, _ in levels for m in ms]
            size = level_size(k, level)
            inference.draw(task_id)
            assert drawn_seed(inference) == seed
            expected = [chain.nodes[i - 1] for i in sample_committee(stakes, seed, size, exclude=earlier)]
            assert list(committee_of(inference, task_id)) == expected

            # ---- commit, reveal, tally
            # after a challenge, the favourite value is the other one: the bond goes both ways
            plan = level_plan(data, mode, size, values if challenged is None else [values[1], values[0], values[2]])
            order = data.draw(st.permutations(range(size)), label="reveal order")
            members, revealed = play_level(chain, inference, task_id, mode, plan, order)
            levels.append((members, {m: b for m, b in zip(members, plan) if isinstance(b, bytes)}))
            mirror = tally(revealed, mode, TOL)
            taken = sum(len(ms) for ms, _ in levels)
            can_escalate = level + 1 < max_levels and active - taken >= level_size(k, level + 1)
            decision = decide_level(mirror, level, k, q, max_levels, can_escalate)

            inference.finalize(task_id, sender=chain.owner)
            logs = inference.get_logs()
            if decision == ESCALATE:
                decisions.append(ESCALATE)
                (log,) = named(logs, "TaskEscalated")
                assert (log.level, log.size) == (level + 1, level_size(k, level + 1))
                level += 1
                continue
            if decision == REFUND:
                decisions.append(REFUND)
                assert named(logs, "TaskRefunded") and not named(logs, "TaskEscalated")
                break
            if window > 0 and challenged is None and level + 1 < max_levels:
                decisions.append("provisional")
                (log,) = named(logs, "TaskProvisional")
                assert log.result == mirror.center
                assert task_view(inference, task_id).status == PROVISIONAL
                if data.draw(st.sampled_from([True, False]), label="challenge"):
                    if can_escalate:
                        inference.challenge(task_id, sender=chain.requester)
                        logs = inference.get_logs()
                        (c,) = named(logs, "TaskChallenged")
                        assert c.bond == bond and named(logs, "TaskEscalated")
                        decisions.append("challenged")
                        challenged, posted = mirror.center, bond
                        level += 1
                        continue
                    with boa.reverts("inference: no level to escalate"):
                        inference.challenge(task_id, sender=chain.requester)
                travel_past(task_view(inference, task_id).challenge_deadline)
                inference.finalize(task_id, sender=chain.owner)
                logs = inference.get_logs()
            decisions.append(SETTLE)
            (log,) = named(logs, "TaskSettled")
            assert log.result == mirror.center
            final = mirror.center
            break

        event(" > ".join(decisions))
        if challenged is not None:
            event("bond back" if final is None or not agree(final, challenged, mode, TOL) else "bond paid")

        # ---- the end: the mirror's resolution, to the wei
        res = resolve([([str(m) for m in ms], {str(m): v for m, v in rv.items()}) for ms, rv in levels],
                      final, fee, mode, TOL, posted, challenged)
        t = task_view(inference, task_id)
        assert t.status == (SETTLED if res.settled else REFUNDED), decisions
        if res.settled:
            assert t.result == res.result
            (log,) = named(logs, "TaskSettled")
            assert (log.agreeing, log.share) == (len(res.agreeing), res.share)
        reasons = {str(e.member): e.reason for e in named(logs, "MemberSlashed")}
        assert reasons == {**{m: "inference: dissent from the final result" for m in res.dissenters},
                           **{m: "inference: no reveal" for m in res.no_shows}}
        cuts = 0
        for ms, _ in levels:
            for m in ms:
                slashed = str(m) in res.slashed
                cut = before_stakes[m] * SLASH_BPS // 10_000 if slashed else 0
                cuts += cut
                assert inference.claimable(m) == (res.share if str(m) in res.agreeing else 0)
                assert registry.stake_of(m) == before_stakes[m] - cut
                assert registry.nodes(m).slashes == before_slashes[m] + slashed
                assert registry.nodes(m).pending == 1
        assert token.balanceOf(chain.requester) == before_requester - fee - posted + res.refund + res.bond_back
        assert token.balanceOf(chain.treasury) == before_treasury + cuts
        assert token.balanceOf(inference.address) == len(res.agreeing) * res.share


# ---------------------------------------------------------------- (b) near clusters

@settings(SETTINGS, max_examples=60)
@given(
    data=st.data(),
    centers=st.lists(bytes32, min_size=1, max_size=3),
    order=st.permutations(range(CLUSTER_K)),
)
def test_near_center_matches_tally_for_fingerprint_clusters(chain, data, centers, order):
    inference = chain.cluster
    distances = [0, 1, TOL // 2, TOL - 1, TOL, TOL + 1, 2 * TOL]
    plan = []
    for _ in range(CLUSTER_K):
        if data.draw(st.integers(0, 9), label="no-show?") == 9:
            plan.append(data.draw(st.sampled_from([SILENT, ABSENT])))
        else:
            plan.append(data.draw(fingerprint_near(data.draw(st.sampled_from(centers)), distances)))
    with boa.env.anchor():
        task_id = inference.request(NEAR_MODEL, keccak(b"cluster"), "", 10**18, sender=chain.requester)
        boa.env.time_travel(blocks=2)
        inference.draw(task_id)
        members, revealed = play_level(chain, inference, task_id, NEAR, plan, list(order))
        mirror = tally(revealed, NEAR, TOL)
        quorum = CLUSTER_K // 2 + 1
        decision = decide_level(mirror, 0, CLUSTER_K, quorum, 1)
        inference.finalize(task_id, sender=chain.owner)
        t = task_view(inference, task_id)
        assert t.status == (SETTLED if decision == SETTLE else REFUNDED)
        final = mirror.center if decision == SETTLE else None
        event(f"{decision}, center count {mirror.center_count} of {mirror.reveals}")
        res = resolve([([str(m) for m in members], {str(m): b for m, b in zip(members, plan) if isinstance(b, bytes)})],
                      final, 10**18, NEAR, TOL)
        for m in members:
            assert inference.claimable(m) == (res.share if str(m) in res.agreeing else 0)
