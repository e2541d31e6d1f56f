"""The node daemon: follow the chain, do the work, commit, reveal, finalize.

One `NodeDaemon` per node identity. `step()` is one pass of its loop: read new events,
then act on every task it sits on. Everything it must not forget lives in the journal:
the salt and result of a task are written (WAL, synchronous=FULL) *before* the commit
transaction is sent, so a node killed between commit and reveal reveals after restart.

Behaviours (for tests, demos and simulations), each a way to fail that the protocol must
survive:
- `honest`;
- `wrong`: a random wrong label of its own (for a `near` model: its embedding plus noise);
  its commitment is valid, its reveal dissents;
- `colluding`: every colluder reveals the same wrong label for a task (label + 1);
- `near-cheat`: the embedding plus Gaussian noise, too much to pass as numerical drift;
- `lazy`: does no work; it commits a random value and, when reveals open, tries to copy
  what others revealed, which cannot match its commitment (commitments bind the member),
  so it ends a no-show;
- `late`: does the work but only acts after the commit window closed, so it misses it;
- `offline`: never answers.

`exact` models commit sha256(output); `near` models commit keccak(SimHash fingerprint,
sha256(output)) and reveal both (`reveal_near`).
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from enum import Enum
from typing import Callable

import numpy as np

from brainnet.chain import Contracts, Event
from brainnet.chain.signer import Receipt
from brainnet.errors import BlobError, BrainnetError, ChainError, ContractRevert, ModelError
from brainnet.node.blobs import BlobStore
from brainnet.node.fetch import fetch_blob
from brainnet.node.journal import Journal
from brainnet.protocol import commitment, near_result, result_hash

log = logging.getLogger("brainnet.node")

# After a restart, events are replayed from this many blocks before the last one seen,
# which covers every task that can still be open (seed horizon 256 + windows).
REPLAY_BLOCKS = 320


class Behaviour(str, Enum):
    HONEST = "honest"
    WRONG = "wrong"
    COLLUDING = "colluding"
    NEAR_CHEAT = "near-cheat"
    LAZY = "lazy"
    LATE = "late"
    OFFLINE = "offline"


@dataclass
class TrackedTask:
    task_id: int
    model_id: bytes
    input_hash: bytes
    input_uri: str
    seed_block: int                      # seeds the current level's draw
    level: int = 0
    members: list[str] | None = None     # current level's committee, once drawn
    member: bool = False                 # this node sits on the current level
    was_member: bool = False             # ... or sat on an earlier one (it is paid or slashed at the end)
    commit_deadline: int = 0
    reveal_deadline: int = 0
    commits: int = 0
    reveals: int = 0
    challenge_deadline: int | None = None   # set while the result is provisional


@dataclass
class NodeStats:
    committed: int = 0
    revealed: int = 0
    finalized: int = 0
    drawn: int = 0
    errors: int = 0
    gas_used: int = 0
    last_error: str = ""
    receipts: list[Receipt] = field(default_factory=list)


class NodeDaemon:
    def __init__(
        self,
        contracts: Contracts,
        account,
        runtimes: dict[bytes, object],
        journal: Journal,
        store: BlobStore,
        behaviour: Behaviour = Behaviour.HONEST,
        *,
        fetch: Callable[[str, list[str]], bytes] | None = None,
        keep_receipts: bool = False,
    ):
        self.c = contracts
        self.actor = contracts.as_(account)
        self.address = account.address
        self.runtimes = runtimes                # model_id -> runtime (run, canonical)
        self.journal = journal
        self.store = store
        self.behaviour = Behaviour(behaviour)
        self.fetch = fetch or (lambda sha, urls: fetch_blob(sha, urls, timeout=10.0))
        self.keep_receipts = keep_receipts
        self.tasks: dict[int, TrackedTask] = {}
        self._gave_up: set[int] = set()
        self.stats = NodeStats()
        last = journal.get_meta("last_block")
        start = contracts.deployment.deploy_block
        self.next_block = max(start, int(last) - REPLAY_BLOCKS) if last is not None else start

    # ------------------------------------------------------------ loop
    def step(self) -> int:
        """Process new events and act; returns the number of transactions sent."""
        head = self.c.block_number()
        if head >= self.next_block:
            for ev in self.c.events(self.next_block, head):
                self._on_event(ev)
            self.next_block = head + 1
            self.journal.set_meta("last_block", str(head))
        if self.behaviour is Behaviour.OFFLINE:
            return 0
        sent = 0
        for task in list(self.tasks.values()):
            try:
                sent += self._act(task, head)
            except ContractRevert as exc:
                # another node won a race (draw/finalize) or a window closed: not fatal
                self._note_error(f"task {task.task_id}: {exc}")
                if self.behaviour in (Behaviour.LAZY, Behaviour.LATE):
                    self._gave_up.add(task.task_id)     # its cheat failed once; it stops trying
            except (BlobError, ModelError, ChainError) as exc:
                self._note_error(f"task {task.task_id}: {exc}")
        return sent

    def run_forever(self, poll_s: float = 0.5, stop: Callable[[], bool] = lambda: False) -> None:
        while not stop():
            try:
                self.step()
            except BrainnetError as exc:
                self._note_error(str(exc))
            except Exception as exc:  # noqa: BLE001 - keep serving through transport hiccups
                self._note_error(f"unexpected: {exc!r}")
            time.sleep(poll_s)   # blocks come at the chain's pace; one look per poll is enough

    def _note_error(self, message: str) -> None:
        self.stats.errors += 1
        self.stats.last_error = message
        log.info("%s: %s", self.address[:10], message)

    # ------------------------------------------------------------ events
    def _on_event(self, ev: Event) -> None:
        a = ev.args
        if ev.name == "TaskRequested":
            if a["model_id"] in self.runtimes and a["task_id"] not in self.tasks:
                self.tasks[a["task_id"]] = TrackedTask(a["task_id"], a["model_id"], a["input_hash"], a["input_uri"], a["seed_block"])
            return
        task = self.tasks.get(a.get("task_id")) if "task_id" in a else None
        if task is None:
            return
        if ev.name == "CommitteeDrawn":
            task.members = list(a["members"])
            task.member = self.address in task.members
            task.was_member = task.was_member or task.member
            task.commit_deadline, task.reveal_deadline = a["commit_deadline"], a["reveal_deadline"]
            task.commits = task.reveals = 0
        elif ev.name == "Committed":
            task.commits += 1
        elif ev.name == "Revealed":
            task.reveals += 1
        elif ev.name == "TaskEscalated":
            task.level, task.seed_block = a["level"], a["seed_block"]
            task.members, task.member = None, False
        elif ev.name == "TaskProvisional":
            task.challenge_deadline = a["challenge_deadline"]
        elif ev.name == "TaskChallenged":
            task.challenge_deadline = None
        elif ev.name in ("TaskSettled", "TaskRefunded"):
            if self.journal.get(task.task_id) is not None:
                self.journal.mark_finalized(task.task_id)
            del self.tasks[task.task_id]

    # ------------------------------------------------------------ actions
    def _send(self, receipt: Receipt) -> int:
        self.stats.gas_used += receipt.gas_used
        if self.keep_receipts:
            self.stats.receipts.append(receipt)
        return 1

    def _act(self, task: TrackedTask, head: int) -> int:
        if task.challenge_deadline is not None:
            if task.was_member and head > task.challenge_deadline:
                self.stats.finalized += 1
                return self._send(self.actor.finalize(task.task_id))
            return 0
        if task.members is None:
            if head > task.seed_block:
                self.stats.drawn += 1
                return self._send(self.actor.draw(task.task_id))
            return 0
        if not task.member or task.task_id in self._gave_up:
            return 0
        size = len(task.members)
        entry = self.journal.get(task.task_id)
        if entry is None or not entry.committed:
            if self.behaviour is Behaviour.LATE and head <= task.commit_deadline:
                return 0                     # a late node wakes up after the window
            if head > task.commit_deadline and self.behaviour is not Behaviour.LATE:
                return 0                     # too late: the contract will count a no-show
            if self.behaviour is Behaviour.LAZY:
                return self._lazy_commit(task)
            return self._commit(task, entry)
        if not entry.revealed:
            if head > task.reveal_deadline:
                return 0
            if task.commits == size or head > task.commit_deadline:
                try:
                    receipt = self._reveal(task, entry)
                except ContractRevert:
                    if self.c.revealed_result(task.task_id, self.address) is None:
                        raise
                    self.journal.mark_revealed(task.task_id, "recovered")   # sent just before a crash
                    return 0
                self.journal.mark_revealed(task.task_id, receipt.tx_hash)
                self.stats.revealed += 1
                return self._send(receipt)
            return 0
        if task.reveals == size or head > task.reveal_deadline:
            self.stats.finalized += 1
            return self._send(self.actor.finalize(task.task_id))
        return 0

    def _commit(self, task: TrackedTask, entry) -> int:
        if entry is None:
            canonical = self._compute(task)
            result = self._committed_value(task, canonical)
            salt = os.urandom(32)
            self.store.put(canonical)                       # the payload lives here, named by sha256
            self.journal.record_result(task.task_id, result, salt, canonical)   # durable before the commit
        else:
            result, salt = entry.result, entry.salt
            onchain = self.c.commitment(task.task_id, self.address)
            if onchain == commitment(task.task_id, result, self.address, salt):
                self.journal.mark_committed(task.task_id, "recovered")   # our commit made it before a crash
                return 0
        receipt = self.actor.commit(task.task_id, commitment(task.task_id, result, self.address, salt))
        self.journal.mark_committed(task.task_id, receipt.tx_hash)
        self.stats.committed += 1
        return self._send(receipt)

    def _is_near(self, task: TrackedTask) -> bool:
        return getattr(self.runtimes[task.model_id], "agreement", "exact") == "near"

    def _fingerprint(self, task: TrackedTask, canonical: bytes) -> bytes:
        runtime = self.runtimes[task.model_id]
        return runtime.fingerprint(runtime.decode_output(canonical), task.task_id)

    def _committed_value(self, task: TrackedTask, canonical: bytes) -> bytes:
        """exact: sha256 of the output; near: keccak(fingerprint, sha256 of the output)."""
        if self._is_near(task):
            return near_result(self._fingerprint(task, canonical), result_hash(canonical))
        return result_hash(canonical)

    def _reveal(self, task: TrackedTask, entry) -> Receipt:
        if self.behaviour is Behaviour.LAZY:      # copy someone's reveal: it cannot match our commitment
            seen = [r for m in task.members if (r := self.c.revealed_result(task.task_id, m)) is not None]
            return self.actor.reveal(task.task_id, seen[0] if seen else entry.result, os.urandom(32))
        if self._is_near(task):
            return self.actor.reveal_near(task.task_id, self._fingerprint(task, entry.canonical),
                                          result_hash(entry.canonical), entry.salt)
        return self.actor.reveal(task.task_id, entry.result, entry.salt)

    def _compute(self, task: TrackedTask) -> bytes:
        sha = task.input_hash.hex()
        if self.store.has(sha):
            data = self.store.get(sha)
        else:
            data = self.fetch(sha, self._sources(task))
            self.store.put(data)
        runtime = self.runtimes[task.model_id]
        run_task = getattr(runtime, "run_task", None)          # sharded runtimes need the committee
        output = run_task(data, task.task_id, list(task.members or []), self.address) if run_task else runtime.run(data)
        if self.behaviour in (Behaviour.WRONG, Behaviour.COLLUDING, Behaviour.NEAR_CHEAT):
            output = self._corrupt(task, output)
        return runtime.canonical(output)

    def _corrupt(self, task: TrackedTask, output):
        """A lying node's output (see the behaviours at the top of this file)."""
        rng = np.random.default_rng([task.task_id, int(self.address, 16) % 2**63])
        if self._is_near(task) or self.behaviour is Behaviour.NEAR_CHEAT:
            noisy = output + rng.normal(0.0, 0.05, size=output.shape).astype(output.dtype)
            return noisy / np.linalg.norm(noisy)
        if self.behaviour is Behaviour.COLLUDING:
            return (output + 1) % 10
        return (output + int(rng.integers(1, 10))) % 10

    def _lazy_commit(self, task: TrackedTask) -> int:
        """Commit to nothing in particular; the later copy of others' reveals cannot match it."""
        fake = os.urandom(32)
        self.journal.record_result(task.task_id, fake, os.urandom(32), b"")
        receipt = self.actor.commit(task.task_id, commitment(task.task_id, fake, self.address, os.urandom(32)))
        self.journal.mark_committed(task.task_id, receipt.tx_hash)
        self.stats.committed += 1
        return self._send(receipt)

    def _sources(self, task: TrackedTask) -> list[str]:
        urls = [u for u in task.input_uri.split() if u.startswith(("http://", "https://"))]
        for member in task.members or []:
            if member != self.address:
                endpoint = self.c.node(member).endpoint
                if endpoint and endpoint not in urls:
                    urls.append(endpoint)
        return urls
