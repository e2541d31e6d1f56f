"""The "transfer failed" reverts of Training: reached with a token that returns False (as
some ERC-20s do) instead of reverting like ours."""
from __future__ import annotations

import boa
import pytest

from test_transfer_failures import FALSE_TOKEN
from training_world import CHALLENGE_BOND, POOL, THRESHOLD, WINDOW, _rollback, training_deployers, tw  # noqa: F401
from contract_world import MODEL


@pytest.fixture(scope="module")
def ftw():
    return training_deployers().world(token=boa.loads(FALSE_TOKEN))


def test_pool_transfer_failed(ftw):
    ftw.token.set_failing(True)
    with boa.reverts("training: pool transfer failed"):
        ftw.training.open_round(MODEL, 1, POOL, THRESHOLD, [WINDOW] * 6, sender=ftw.owner)


def test_claim_and_bond_transfer_failed(ftw):
    rid, members = ftw.scored_round()
    trainer = ftw.trainers[0]
    assert ftw.training.claimable(trainer) > 0
    challenger = ftw.new_account(CHALLENGE_BOND)
    ftw.token.approve(ftw.training.address, CHALLENGE_BOND, sender=challenger)
    ftw.token.set_failing(True)
    with boa.reverts("training: claim transfer failed"):
        ftw.training.claim(sender=trainer)
    with boa.reverts("training: bond transfer failed"):
        ftw.training.challenge(rid, trainer, b"\1" * 32, sender=challenger)
