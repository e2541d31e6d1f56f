"""Governance beside a plain Python model (Hypothesis state machine on titanoboa).

Holders move tokens, mine blocks, propose, vote, execute and cancel in any order. After
every step the contract must agree with the model: each proposal's tallies are the sum of
the snapshot balances of the addresses that voted, once each (tokens moved after the
snapshot vote nowhere); a proposal executes only when it passed, after its timelock and
before it expires, and the target then holds the value of the last executed proposal.
"""
from __future__ import annotations

from pathlib import Path

import boa
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"
THRESHOLD, QUORUM_BPS, VOTING, TIMELOCK, GRACE = 100, 3_000, 5, 3, 6
WEIGHT = 1                                   # Emission.P_INFERENCE_WEIGHT_BPS
N = 4

_token = boa.load_partial(str(CONTRACTS / "Token.vy"))
_emission = boa.load_partial(str(CONTRACTS / "Emission.vy"))
_governance = boa.load_partial(str(CONTRACTS / "Governance.vy"))


def ok(fn, *args, sender) -> bool:
    try:
        fn(*args, sender=sender)
        return True
    except boa.BoaError:
        return False


class GovernanceMachine(RuleBasedStateMachine):
    @initialize(balances=st.lists(st.integers(0, 600), min_size=N, max_size=N))
    def deploy(self, balances):
        # a fresh chain per example: nothing from other tests (titanoboa's storage traces of a long
        # session can break its own revert messages) and nothing left behind
        self._env = boa.swap_env(boa.Env())
        self._env.__enter__()
        self.holders = [boa.env.generate_address() for _ in range(N)]
        deployer = boa.env.generate_address()
        self.token = _token.deploy("brainnet", "BRN", self.holders, balances, deployer)
        with boa.env.prank(deployer):
            self.target = _emission.deploy(self.token.address, 10, 0, 0, 5_000)
            self.gov = _governance.deploy(self.token.address, [self.target.address], THRESHOLD, QUORUM_BPS, VOTING,
                                          TIMELOCK, GRACE)
            self.target.set_governance(self.gov.address)
        self.history = {h: [(self.block(), b)] for h, b in zip(self.holders, balances)}
        self.proposals: list[dict] = []
        self.value = 5_000
        boa.env.time_travel(blocks=1)

    def teardown(self):
        if hasattr(self, "_env"):
            self._env.__exit__(None, None, None)

    # ------------------------------------------------------------ model
    def block(self) -> int:
        return boa.env.evm.patch.block_number

    def balance(self, h) -> int:
        return self.history[h][-1][1]

    def past(self, h, blk: int) -> int:
        value = 0
        for b, v in self.history[h]:
            if b <= blk:
                value = v
        return value

    def supply(self) -> int:
        return sum(self.balance(h) for h in self.holders)

    def state(self, p: dict) -> str:
        blk = self.block()
        if p["canceled"]:
            return "canceled"
        if p["executed"]:
            return "executed"
        if blk <= p["vote_end"]:
            return "active"
        if p["for"] < p["quorum"] or p["for"] <= p["against"]:
            return "defeated"
        if blk < p["eta"]:
            return "queued"
        if blk > p["expires"]:
            return "expired"
        return "executable"

    # ------------------------------------------------------------ rules
    @rule(i=st.integers(0, N - 1), j=st.integers(0, N - 1), amount=st.integers(0, 400))
    def transfer(self, i, j, amount):
        a, b = self.holders[i], self.holders[j]
        done = ok(self.token.transfer, b, amount, sender=a)
        assert done == (self.balance(a) >= amount)
        if done:
            blk = self.block()
            for h, delta in ((a, -amount), (b, amount)):
                self.history[h].append((blk, self.balance(h) + delta))

    @rule(n=st.integers(1, 8))
    def mine(self, n):
        boa.env.time_travel(blocks=n)

    @rule(k=st.integers(0, 50), edge=st.sampled_from(["vote_end", "eta", "expires"]), offset=st.integers(-1, 1))
    def travel(self, k, edge, offset):
        """Mine up to a boundary of a proposal's life (the blocks where off-by-one errors live)."""
        if not self.proposals:
            return
        target = self.proposals[k % len(self.proposals)][edge] + offset
        if target > self.block():
            boa.env.time_travel(blocks=target - self.block())

    @rule(i=st.integers(0, N - 1), value=st.integers(0, 10_000))
    def propose(self, i, value):
        h, blk = self.holders[i], self.block()
        done = ok(self.gov.propose, self.target.address, WEIGHT, value, sender=h)
        assert done == (self.past(h, blk - 1) >= THRESHOLD)
        if done:
            vote_end = blk + VOTING
            self.proposals.append({
                "proposer": h, "value": value, "snapshot": blk - 1, "vote_end": vote_end,
                "eta": vote_end + TIMELOCK + 1, "expires": vote_end + TIMELOCK + GRACE,
                "quorum": max(1, sum(self.past(x, blk - 1) for x in self.holders) * QUORUM_BPS // 10_000),
                "for": 0, "against": 0, "voted": set(), "executed": False, "canceled": False,
            })

    @rule(i=st.integers(0, N - 1), k=st.integers(0, 50), support=st.booleans())
    def vote(self, i, k, support):
        if not self.proposals:
            return
        self._vote(self.holders[i], k, support)

    @rule(k=st.integers(0, 50))
    def rally(self, k):
        """Every holder votes for one proposal (each through the same checks as `vote`)."""
        if not self.proposals:
            return
        for h in self.holders:
            self._vote(h, k, True)

    def _vote(self, h, k, support):
        p = self.proposals[k % len(self.proposals)]
        weight = self.past(h, p["snapshot"])
        expected = self.state(p) == "active" and h not in p["voted"] and weight > 0
        assert ok(self.gov.vote, k % len(self.proposals) + 1, support, sender=h) == expected
        if expected:
            p["voted"].add(h)
            p["for" if support else "against"] += weight

    @rule(i=st.integers(0, N - 1), k=st.integers(0, 50))
    def execute(self, i, k):
        if not self.proposals:
            return
        p = self.proposals[k % len(self.proposals)]
        expected = self.state(p) == "executable"
        assert ok(self.gov.execute, k % len(self.proposals) + 1, sender=self.holders[i]) == expected
        if expected:
            assert p["eta"] <= self.block() <= p["expires"]      # the timelock was respected
            p["executed"] = True
            self.value = p["value"]
            event("a proposal executed")

    @rule(i=st.integers(0, N - 1), k=st.integers(0, 50))
    def cancel(self, i, k):
        if not self.proposals:
            return
        p = self.proposals[k % len(self.proposals)]
        h = self.holders[i]
        allowed = h == p["proposer"] or self.past(p["proposer"], self.block() - 1) < THRESHOLD
        expected = not p["executed"] and not p["canceled"] and allowed
        assert ok(self.gov.cancel, k % len(self.proposals) + 1, sender=h) == expected
        if expected:
            p["canceled"] = True
            event("a proposal canceled")

    # ------------------------------------------------------------ invariants
    @invariant()
    def contract_matches_model(self):
        if not hasattr(self, "gov"):
            return
        assert self.gov.proposal_count() == len(self.proposals)
        names = {1: "active", 2: "defeated", 3: "queued", 4: "executable", 5: "expired", 6: "executed", 7: "canceled"}
        for n, p in enumerate(self.proposals, start=1):
            on_chain = self.gov.proposals(n)
            assert (on_chain.votes_for, on_chain.votes_against) == (p["for"], p["against"])
            # no address counted twice: tallies never exceed the supply at the snapshot
            assert p["for"] + p["against"] <= sum(self.past(h, p["snapshot"]) for h in self.holders)
            assert names[self.gov.state(n)] == self.state(p)
            for h in self.holders:
                assert self.gov.has_voted(n, h) == (h in p["voted"])
        assert self.target.inference_weight_bps() == self.value
        assert self.token.totalSupply() == self.supply()


GovernanceMachine.TestCase.settings = settings(max_examples=30, stateful_step_count=40, deadline=None,
                                               suppress_health_check=list(HealthCheck))
test_governance_state = GovernanceMachine.TestCase
