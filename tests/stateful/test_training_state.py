"""Hypothesis state machine: `Training.vy` beside a plain Python model of its rounds.

Each step plays something on the real contracts (titanoboa) and on the model, then compares:
- `play_round`: a round with a random pool and threshold, random trainers who commit (some
  never reveal), a committee of which a random part commits and reveals random score
  vectors (some commit and stay silent, some never commit), `finalize_scores`; then, when
  something was accepted, an aggregate with random confirm reveals and `finalize_aggregate`.
  The model (`protocol.training.settle_scores` plus a few lines here) predicts every median,
  acceptance and credit to the wei, every slash, and whether a version is recorded;
- `challenge_last`: a proof-of-training challenge on a random accepted update of the last
  round with random committee votes: upheld iff more than half the committee voted guilty,
  the forfeited reward is min(reward, still claimable);
- `claim`: a random account claims; its balance grows by exactly the model's credit.
Invariants after every step: every account's claimable equals the model's; the Training
escrow holds exactly the open pools, open bonds and credits (the pool is conserved to the
wei); tokens are conserved; the Registry holds exactly the stakes; stakes equal the model's.
The world is deployed once; every example runs inside `boa.env.anchor()`.
"""
from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import boa
from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "contracts"))

from brainnet.protocol.training import settle_scores  # noqa: E402
from contract_world import E18, MODEL  # noqa: E402
from training_world import (  # noqa: E402
    CHALLENGE_BOND, COMMITTEE_BPS, COMMITTEE_SIZE, CONFIRM_QUORUM, FRAUD_SLASH_BPS, SLASH_BPS, TrainingWorld,
    training_deployers,
)

# Deployed at import, outside every example: titanoboa's Hypothesis plugin rolls back each
# example's state, so a world deployed inside the first example would vanish after it.
_WORLD: TrainingWorld = training_deployers().world()


def world() -> TrainingWorld:
    return _WORLD


def h(*parts) -> bytes:
    return hashlib.sha256(repr(parts).encode()).digest()


class TrainingMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.tw = world()
        self._anchor = boa.env.anchor()
        self._anchor.__enter__()
        self.owed: dict = {a: 0 for a in self.tw.accounts}        # the model's claimable
        self.stakes: dict = {n: self.tw.registry.stake_of(n) for n in self.tw.nodes()}
        self.last = None                                           # (round id, committee, accepted slots)

    def teardown(self):
        self._anchor.__exit__(None, None, None)

    # ------------------------------------------------------------ model helpers
    def credit(self, account, amount: int) -> None:
        if amount:
            self.owed[account] = self.owed.get(account, 0) + amount

    def slash(self, node, bps: int) -> None:
        self.stakes[node] -= self.stakes[node] * bps // 10_000

    # ------------------------------------------------------------ rules
    @rule(data=st.data())
    def play_round(self, data):
        tw = self.tw
        if tw.registry.model_nodes(MODEL) < COMMITTEE_SIZE:
            return
        pool = data.draw(st.integers(1, 10**24), label="pool")
        threshold = data.draw(st.integers(0, 10_000), label="threshold")
        capable = [t for t in tw.trainers if tw.registry.has_capability(t, 2)]
        trainers = data.draw(st.lists(st.sampled_from(capable), unique=True, max_size=len(capable)) if capable
                             else st.just([]), label="trainers")
        revealing = [t for t in trainers if data.draw(st.booleans(), label="reveals update")]
        rid = tw.open_round(pool=pool, threshold=threshold)
        members = tw.draw(rid)
        for t in trainers:
            tw.commit_update(rid, t)
        tw.past(rid, "update_commit_deadline")
        for t in revealing:
            tw.reveal_update(rid, t)
        tw.past(rid, "update_reveal_deadline")
        n = len(trainers)
        moods = data.draw(st.lists(st.sampled_from(["reveal", "silent", "absent"]), min_size=COMMITTEE_SIZE,
                                   max_size=COMMITTEE_SIZE), label="member moods")
        rows = {m: data.draw(st.lists(st.integers(0, 10_000), min_size=n, max_size=n), label="scores")
                for m, mood in zip(members, moods) if mood != "absent"}
        for m, row in rows.items():
            tw.commit_scores(rid, m, row)
        tw.past(rid, "score_commit_deadline")
        revealed_rows = {m: row for (m, row), mood in zip(rows.items(), [x for x in moods if x != "absent"])
                         if mood == "reveal"}
        for m, row in revealed_rows.items():
            tw.reveal_scores(rid, m, row)
        tw.past(rid, "score_reveal_deadline")
        tw.training.finalize_scores(rid, sender=tw.owner)

        want = settle_scores(pool, threshold, COMMITTEE_BPS, members, COMMITTEE_SIZE,
                             [t in revealing for t in trainers], revealed_rows)
        for slot, t in enumerate(trainers):
            u = tw.training.updates(rid, slot)
            assert (u.median, u.accepted, u.reward) == (want.medians[slot], want.accepted[slot], want.rewards[slot])
        assert want.trainer_paid + sum(want.committee_paid.values()) + want.refund == pool
        for account, amount in want.credits(trainers, tw.owner).items():
            self.credit(account, amount)
        for slot in want.no_show_trainers:
            self.slash(trainers[slot], SLASH_BPS)
        for m in want.silent_members:
            self.slash(m, SLASH_BPS)

        accepted = [slot for slot in range(n) if want.accepted[slot]]
        if accepted:
            posted = h("aggregate", rid)
            tw.training.post_aggregate(rid, posted, "", sender=tw.owner)
            votes = data.draw(st.lists(st.sampled_from(["same", "other", "silent"]), min_size=COMMITTEE_SIZE,
                                       max_size=COMMITTEE_SIZE), label="confirm votes")
            confirming = {m: (posted if v == "same" else h("other", m)) for m, v in zip(members, votes) if v != "silent"}
            for m, value in confirming.items():
                tw.commit_confirm(rid, m, value)
            tw.past(rid, "confirm_commit_deadline")
            for m, value in confirming.items():
                tw.reveal_confirm(rid, m, value)
        tw.past(rid, "confirm_reveal_deadline")
        latest = tw.models.latest(MODEL)
        tw.training.finalize_aggregate(rid, sender=tw.owner)
        if accepted:
            yes = sum(1 for v in confirming.values() if v == posted)
            quorum = yes >= CONFIRM_QUORUM
            for m in members:
                if m not in confirming:
                    self.slash(m, SLASH_BPS)
                elif quorum and confirming[m] != posted:
                    self.slash(m, SLASH_BPS)
            assert tw.models.latest(MODEL) == latest + quorum
            assert tw.round(rid).new_version == (latest + 1 if quorum else 0)
        else:
            assert tw.models.latest(MODEL) == latest
        self.last = (rid, members, [(trainers[s], want.rewards[s]) for s in accepted])

    @rule(data=st.data())
    def challenge_last(self, data):
        if self.last is None or not self.last[2]:
            return
        tw = self.tw
        rid, members, accepted = self.last
        trainer, reward = data.draw(st.sampled_from(accepted), label="challenged")
        if tw.training.challenged(rid, trainer) or \
                boa.env.evm.patch.block_number > tw.round(rid).confirm_reveal_deadline + tw.training.challenge_window():
            return
        challenger = tw.new_account(CHALLENGE_BOND)
        self.owed.setdefault(challenger, 0)
        tw.token.approve(tw.training.address, CHALLENGE_BOND, sender=challenger)
        cid = tw.training.challenge(rid, trainer, h("evidence"), sender=challenger)
        votes = data.draw(st.lists(st.sampled_from([True, False, None]), min_size=COMMITTEE_SIZE,
                                   max_size=COMMITTEE_SIZE), label="votes")
        for m, v in zip(members, votes):
            if v is not None:
                tw.training.vote(cid, v, sender=m)
        tw.travel_to(tw.training.challenges(cid).vote_deadline + 1)
        upheld = tw.training.resolve_challenge(cid, sender=tw.owner)
        guilty = sum(1 for v in votes if v is True)
        assert upheld == (guilty * 2 > COMMITTEE_SIZE)
        if upheld:
            self.slash(trainer, FRAUD_SLASH_BPS)
            forfeited = min(reward, self.owed.get(trainer, 0))
            self.owed[trainer] -= forfeited
            self.credit(challenger, CHALLENGE_BOND + forfeited)
        else:
            self.credit(trainer, CHALLENGE_BOND)

    @rule(data=st.data())
    def claim(self, data):
        owed = [a for a, v in self.owed.items() if v > 0]
        if not owed:
            return
        tw = self.tw
        account = data.draw(st.sampled_from(owed), label="claimer")
        before = tw.token.balanceOf(account)
        tw.training.claim(sender=account)
        assert tw.token.balanceOf(account) == before + self.owed[account]
        self.owed[account] = 0

    # ------------------------------------------------------------ invariants
    @invariant()
    def credits_match_the_model(self):
        for account, amount in self.owed.items():
            assert self.tw.training.claimable(account) == amount

    @invariant()
    def stakes_match_the_model(self):
        for node, stake in self.stakes.items():
            assert self.tw.registry.stake_of(node) == stake

    @invariant()
    def pool_conserved(self):
        self.tw.assert_invariants()


TrainingMachine.TestCase.settings = settings(
    max_examples=12, stateful_step_count=5, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
test_training_state = TrainingMachine.TestCase
