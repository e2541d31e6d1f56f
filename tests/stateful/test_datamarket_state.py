"""DataMarket beside a plain Python model (Hypothesis state machine on titanoboa).

Three contributors add samples (right or wrong labels, sometimes in the same second),
refund, report and take in any order while time moves by seconds to days. Every call goes
to the contract and to brainnet.protocol.datamarket.MarketMirror: both must succeed, or both
refuse with the same reason. After every step: the model's state, every balance, the good
counts and what each contribution can still pay out are equal; tokens are conserved; the
market holds exactly what is claimable; and refunds + reports + takes never exceed deposits.
Run once per model kind (perceptron, nearest centroid).
"""
from __future__ import annotations

from pathlib import Path

import boa
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import event as _event
from hypothesis.control import currently_in_test_context
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from brainnet.protocol.datamarket import MarketMirror, MarketRuleError, NearestCentroid, Perceptron

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"
DAY = 86_400
REFUND_WAIT, CLAIM_WAIT = DAY, 9 * DAY
N_FEATURES = 6
START = 100_000
# a small pool of samples so that labels conflict and the model flips back and forth
SAMPLES = [[0, 1], [0, 2], [1, 2], [3, 4], [3, 5], [4, 5], [0, 3], [2, 5], [], [0, 1, 2, 3, 4, 5]]

@pytest.fixture(autouse=True)
def _fresh_boa_env():
    """Each test gets its own boa environment: boa's revert reports decode a contract's storage
    from every key ever written at its address, and keys left there by another contract that an
    earlier test deployed at the same address make that decoding crash (an order-dependent error
    in the report, not in the contracts)."""
    with boa.swap_env(boa.Env()):
        yield


_token = boa.load_partial(str(CONTRACTS / "Token.vy"))
_market = boa.load_partial(str(CONTRACTS / "DataMarket.vy"))


def event(value: str) -> None:
    """hypothesis.event, skipped when a step runs outside Hypothesis (the replayed regressions)."""
    if currently_in_test_context():
        _event(value)


class DataMarketMachine(RuleBasedStateMachine):
    kind = 0

    @initialize(cost_weight=st.sampled_from([1, 50, 1_000]))
    def deploy(self, cost_weight):
        self._anchor = boa.env.anchor()
        self._anchor.__enter__()
        self.people = [boa.env.generate_address() for _ in range(3)]
        governance = boa.env.generate_address()
        self.token = _token.deploy("brainnet", "BRN", self.people, [START] * 3, governance)
        if self.kind == 0:
            model = Perceptron(N_FEATURES, 1, [2, 1, 1, -1, -1, -2], 0)
            init = model.weights
        else:
            model = NearestCentroid(N_FEATURES, [[0, 0, 0, 1, 1, 1], [1, 1, 1, 0, 0, 0]], [1, 1])
            init = model.sums[0] + model.sums[1]
        self.market = _market.deploy(self.token.address, governance, self.kind, N_FEATURES, cost_weight,
                                     REFUND_WAIT, CLAIM_WAIT, 1, 0, init, model.counts if self.kind else [0, 0])
        for p in self.people:
            self.token.approve(self.market.address, 2**256 - 1, sender=p)
        self.mirror = MarketMirror(model, cost_weight, REFUND_WAIT, CLAIM_WAIT, self.now())
        self.balance = {p: START for p in self.people}
        self.touched = None                     # the contribution the last step paid into or out of

    def teardown(self):
        if hasattr(self, "_anchor"):
            self._anchor.__exit__(None, None, None)

    def now(self) -> int:
        return boa.env.evm.patch.timestamp

    def both(self, expected, call) -> int | None:
        """Run the mirror's `expected()` and the contract's `call()`: same result or same revert."""
        try:
            amount = expected()
        except MarketRuleError as exc:
            with boa.reverts(str(exc)):
                call()
            event(f"revert: {exc}")
            return None
        result = call()
        event("ok")
        return result if amount is None else amount

    # ------------------------------------------------------------ rules
    @rule(seconds=st.sampled_from([600, DAY // 2, DAY, 3 * DAY, 9 * DAY]))
    def wait(self, seconds):
        boa.env.time_travel(seconds=seconds)

    @rule(who=st.integers(0, 2), sample=st.integers(0, len(SAMPLES) - 1), label=st.integers(0, 1),
          cap=st.none() | st.none() | st.integers(0, 100), gap=st.sampled_from([0, 1, 4, 30, 600, 3_600, DAY]))
    def add(self, who, sample, label, cap, gap):
        """Add after `gap` seconds (0: in the same second as the last update, which must revert)."""
        if gap:
            boa.env.time_travel(seconds=gap)
        p, x, now = self.people[who], SAMPLES[sample], self.now()
        before = self.mirror.deposits_held
        args = (x, label) if cap is None else (x, label, cap)

        def expected():
            amount = self.mirror.deposit_at(now)              # Δt = 0 raises here, as in the contract
            if (cap is None or amount <= cap) and amount > self.balance[p]:
                raise MarketRuleError("token: balance too low")   # the deposit's transferFrom fails
            self.mirror.add_data(p, x, label, now, cap)

        cid = self.both(expected, lambda: self.market.add_data(*args, sender=p))
        if cid is not None:
            assert cid == len(self.mirror.contributions) - 1
            self.balance[p] -= self.mirror.deposits_held - before
            self.touched = cid

    @rule(who=st.integers(0, 2), pick=st.integers(0, 1_000))
    def refund(self, who, pick):
        self._claim("refund", who, pick)

    @rule(who=st.integers(0, 2), pick=st.integers(0, 1_000))
    def report(self, who, pick):
        self._claim("report", who, pick)

    @rule(who=st.integers(0, 2), pick=st.integers(0, 1_000))
    def take(self, who, pick):
        self._claim("take", who, pick)

    def _claim(self, what, who, pick):
        if not self.mirror.contributions:
            return
        p, now = self.people[who], self.now()
        cid = pick % len(self.mirror.contributions)
        x = self.mirror.contributions[cid].features
        expected = getattr(self.mirror, what)
        call = (lambda: self.market.take(cid, sender=p)) if what == "take" else \
            (lambda: getattr(self.market, what)(cid, x, sender=p))
        amount = self.both(lambda: expected(p, cid, now), call)
        if amount is not None:
            self.balance[p] += amount
            self.touched = cid

    # ------------------------------------------------------------ invariants
    @invariant()
    def same_state(self):
        if not hasattr(self, "market"):
            return
        m, mirror = self.market, self.mirror
        model = mirror.model
        if self.kind == 0:
            assert [m.weights(j) for j in range(N_FEATURES)] == model.weights
            assert m.intercept() == model.intercept
        else:
            assert [[m.feature_sum(c, j) for j in range(N_FEATURES)] for c in (0, 1)] == model.sums
            assert [m.class_count(c) for c in (0, 1)] == model.counts
            assert [m.sum_squares(c) for c in (0, 1)] == model.squares
        for p in self.people:
            assert self.token.balanceOf(p) == self.balance[p]
            assert m.good_count(p) == mirror.good_count.get(p, 0)
        assert m.total_good() == mirror.total_good
        assert m.contribution_count() == len(mirror.contributions)
        if self.touched is not None:           # the others are covered by deposits_held below
            c = m.contributions(self.touched)
            mc = mirror.contributions[self.touched]
            assert (c.contributor, c.label, c.added_at, c.initial_deposit, c.claimable) == \
                (mc.contributor, mc.label, mc.added_at, mc.initial_deposit, mc.claimable)
            for p in self.people:
                assert m.claimed_by(self.touched, p) == (p in mc.claimed_by)

    @invariant()
    def deposits_conserved(self):
        if not hasattr(self, "market"):
            return
        held = self.token.balanceOf(self.market.address)
        assert held == self.market.deposits_held() == self.mirror.deposits_held
        assert sum(self.token.balanceOf(p) for p in self.people) + held == 3 * START
        assert self.mirror.paid_out <= self.mirror.deposited           # refunds + reports + takes <= deposits
        assert self.mirror.paid_out + held == self.mirror.deposited


class CentroidMachine(DataMarketMachine):
    kind = 1


_settings = settings(max_examples=20, stateful_step_count=40, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
TestPerceptronMarket = DataMarketMachine.TestCase
TestPerceptronMarket.settings = _settings
TestCentroidMarket = CentroidMachine.TestCase
TestCentroidMarket.settings = _settings


def _replay(machine_cls, steps):
    """Run `steps` [(rule, kwargs)] on a fresh machine, checking every invariant after each step."""
    state = machine_cls()
    try:
        for name, kwargs in steps:
            getattr(state, name)(**kwargs)
            state.same_state()
            state.deposits_conserved()
    finally:
        state.teardown()


def test_centroid_deposit_over_balance_regression():
    """Found by Hypothesis: the third same-contributor deposit (60000 at Δt = 1 s, w = 1000) is
    more than what is left (100000 - 1764 - 60000 - 1000 = 37236), so the token's transferFrom
    reverts with "token: balance too low"; the model must expect that revert, not a success."""
    add = lambda cap, gap: ("add", dict(cap=cap, gap=gap, label=0, sample=0, who=0))  # noqa: E731
    _replay(CentroidMachine, [
        ("deploy", dict(cost_weight=1000)),
        ("wait", dict(seconds=600)), ("wait", dict(seconds=600)),
        ("take", dict(pick=0, who=0)),
        add(None, 0), add(None, 1),
        *[("wait", dict(seconds=600))] * 6,
        add(None, 0), add(0, 0), add(None, 1),
        add(None, 1),                                   # still too much: refused again, nothing moves
        ("wait", dict(seconds=DAY)), add(None, 0),      # Δt = 1 day: 204, affordable again
    ])
