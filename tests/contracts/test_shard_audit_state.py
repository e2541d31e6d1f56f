"""ShardAudit beside a plain Python model (Hypothesis state machine): reports, audit tasks that
settle against the signer, for it, or get refunded, resolves in any order, and funding. After
every step: the contract's bounty, open bonds and the signer's stake equal the model's, its
balance is the bounty plus the open bonds plus what Inference returned that is not swept yet
(fee dust, refunded fees owed to reporters), exactly the bounty once no audit is open, tokens
are conserved, and a slashed stake never comes back."""
from __future__ import annotations

import boa
from hypothesis import settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from contract_world import E18, SETTLED, REFUNDED
from inference_views import task_view
from test_inference_near import complement, play_near
from test_shard_audit import (  # noqa: F401  (aw: the module world fixture)
    AUDIT_FEE, AUDIT_MODEL, BOND, FP, REWARD, SIGNER, SLASH, _keep_lists, aw, record, report,
)


def test_shard_audit_matches_its_model(aw):
    class Machine(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self._anchor = boa.env.anchor()
            self._anchor.__enter__()
            self.n = 0
            self.open: dict[int, str] = {}          # audit id -> how its task ended
            self.bounty = aw.audit.bounty()
            self.dust = 0                           # fee dust Inference returned, swept at the next resolve
            self.refunds: dict[int, int] = {}       # refunded fees, paid to their reporter at their resolve
            self.stake = aw.registry.stake_of(SIGNER.address)
            aw.token.mint(aw.reporter, 10_000 * E18, sender=aw.owner)

        def teardown(self):
            self._anchor.__exit__(None, None, None)

        @precondition(lambda self: aw.registry.model_nodes(AUDIT_MODEL) >= 3)
        @rule(outcome=st.sampled_from(["upheld", "dismissed", "refunded"]))
        def report_and_audit(self, outcome):
            self.n += 1
            rec = record(tag=b"state %d" % self.n)
            audit_id = report(aw, rec, rec.sign(SIGNER))
            plan = {"upheld": [complement(FP)] * 3, "dismissed": [FP] * 3, "refunded": ["absent"] * 3}[outcome]
            play_near(aw, aw.audit.audits(audit_id).task_id, plan)
            status = task_view(aw.inference, aw.audit.audits(audit_id).task_id).status
            assert status == (REFUNDED if outcome == "refunded" else SETTLED)
            if outcome != "refunded":
                self.dust += AUDIT_FEE % 3
            else:
                self.refunds[audit_id] = AUDIT_FEE
            self.open[audit_id] = outcome

        @precondition(lambda self: self.open)
        @rule(data=st.data())
        def resolve(self, data):
            audit_id = data.draw(st.sampled_from(sorted(self.open)))
            outcome = self.open.pop(audit_id)
            before = aw.token.balanceOf(aw.reporter)
            upheld = aw.audit.resolve(audit_id)
            assert upheld == (outcome == "upheld")
            if upheld:
                taken = self.stake * SLASH // 10_000
                self.stake -= taken
                reward = min(self.bounty, taken * REWARD // 10_000)
                self.bounty -= reward
                paid = BOND + reward
            else:
                self.bounty += BOND
                paid = self.refunds.pop(audit_id, 0)
            # returned dust joins the bounty, less what the still-open audits may be owed (their fees)
            swept = max(0, self.dust + sum(self.refunds.values()) - AUDIT_FEE * len(self.open))
            self.bounty += swept
            self.dust -= swept
            assert aw.token.balanceOf(aw.reporter) == before + paid
            if not self.open:
                assert aw.token.balanceOf(aw.audit.address) == aw.audit.bounty() and self.dust == 0

        @rule(amount=st.integers(1, 300))
        def fund(self, amount):
            aw.token.approve(aw.audit.address, amount * E18, sender=aw.owner)
            aw.audit.fund(amount * E18, sender=aw.owner)
            self.bounty += amount * E18

        @invariant()
        def matches_the_model(self):
            assert aw.audit.bounty() == self.bounty
            assert aw.audit.bonds() == BOND * len(self.open)
            assert aw.registry.stake_of(SIGNER.address) == self.stake
            assert aw.token.balanceOf(aw.audit.address) == \
                self.bounty + BOND * len(self.open) + self.dust + sum(self.refunds.values())
            aw.assert_invariants()

    run_state_machine_as_test(Machine, settings=settings(max_examples=4, stateful_step_count=8, deadline=None))
