"""Views of an Inference contract (titanoboa) that the tests read and the contract leaves to
its callers: the current committee, a tally, a member's seat key. Computed from the
contract's own views (`members`, `tasks`, `task_terms`, `seat`, `reveals`)."""
from __future__ import annotations

from brainnet.protocol.commitment import seat_key
from brainnet.protocol.escalation import level_size


def committee_of(inference, task_id: int) -> list:
    """Members of the task's current level: the last level's seats of `members` (every level, in draw order)."""
    level = inference.tasks(task_id).level
    members = list(inference.members(task_id))
    k = inference.task_terms(task_id)[0]
    return members[sum(level_size(k, lv) for lv in range(level)):]


def key_of(inference, task_id: int, member) -> int:
    """The seat key `member` commits and reveals under: the task id tagged with its level and
    its position in that level's draw (a non-member gets level 0, position 0)."""
    level = inference.seat(task_id, member)[0]
    if level == 0:
        return seat_key(task_id)
    k = inference.task_terms(task_id)[0]
    members = list(inference.members(task_id))
    start = sum(level_size(k, lv) for lv in range(level - 1))
    return seat_key(task_id, level - 1, members[start:start + level_size(k, level - 1)].index(member))


def tally_of(inference, task_id: int, result: bytes) -> int:
    """Reveals of `result` (exact mode) at the task's current level."""
    return sum(1 for m in committee_of(inference, task_id)
               if inference.seat(task_id, m)[2] and inference.reveals(task_id, m)[0] == result)


def drawn_seed(inference) -> bytes:
    """Seed of the committee drawn by the last call to `inference` (its CommitteeDrawn event)."""
    (seed,) = [e.seed for e in inference.get_logs() if type(e).__name__ == "CommitteeDrawn"]
    return seed
