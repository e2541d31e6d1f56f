"""Views of an Inference contract (titanoboa) that the tests read and the contract leaves to
its readers: a task as a record, the members of every level, a member's seat and reveal
(decoded from its `state` view by `brainnet.chain.inference_state`, as the web3 bindings
do), and from those the current committee, a tally and a member's seat key."""
from __future__ import annotations

import functools
from pathlib import Path

import boa

from brainnet.chain.inference_state import InferenceReader, TaskView
from brainnet.protocol.commitment import seat_key
from brainnet.protocol.escalation import level_size

CONTRACTS = Path(__file__).resolve().parents[1] / "contracts"


@functools.cache
def _registry_deployer():
    return boa.load_partial(str(CONTRACTS / "Registry.vy"))


def reader(inference) -> InferenceReader:
    registry = boa.env.lookup_contract(inference.registry()) or _registry_deployer().at(inference.registry())
    return InferenceReader(state=inference.state, challenge=inference.challenges, blob=inference.blobs,
                           nodes_at=registry.nodes_at, index_of=registry.index_of)


def task_view(inference, task_id: int) -> TaskView:
    """The task as a record (what `Contracts.task` returns)."""
    return reader(inference).task(task_id)


def members_of(inference, task_id: int) -> list:
    """Members of every drawn level of the task, in draw order."""
    return reader(inference).members(task_id)


def seat_of(inference, task_id: int, member) -> tuple[int, bool, bool]:
    """(level + 1 of the committee `member` sits on, 0 = none; committed; revealed)."""
    return reader(inference).seat(task_id, member)


def reveals_of(inference, task_id: int, member) -> tuple[bytes, bytes]:
    """(value, blob hash) `member` revealed; exact: (result, result); empty before its reveal."""
    return reader(inference).reveals(task_id, member)


def committee_of(inference, task_id: int) -> list:
    """Members of the task's current level: the last level's seats of `members` (every level, in draw order)."""
    return reader(inference).committee(task_id)


def key_of(inference, task_id: int, member) -> int:
    """The seat key `member` commits and reveals under: the task id tagged with its level and
    its position in that level's draw (a non-member gets level 0, position 0)."""
    level = seat_of(inference, task_id, member)[0]
    if level == 0:
        return seat_key(task_id)
    k = inference.task_terms(task_id)[0]
    members = members_of(inference, task_id)
    start = sum(level_size(k, lv) for lv in range(level - 1))
    return seat_key(task_id, level - 1, members[start:start + level_size(k, level - 1)].index(member))


def tally_of(inference, task_id: int, result: bytes) -> int:
    """Reveals of `result` (exact mode) at the task's current level."""
    return sum(1 for m in committee_of(inference, task_id)
               if seat_of(inference, task_id, m)[2] and reveals_of(inference, task_id, m)[0] == result)


def drawn_seed(inference) -> bytes:
    """Seed of the committee drawn by the last call to `inference` (its CommitteeDrawn event)."""
    (seed,) = [e.seed for e in inference.get_logs() if type(e).__name__ == "CommitteeDrawn"]
    return seed
