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

Runtime hooks: a runtime whose input names further blobs defines `blobs_needed(input) -> [sha256
hex]` and `run_with(input, {sha: bytes})` (the daemon fetches them like the input); a runtime may
define `task_settled(daemon, task_id, result)`, called when a task
of its model settles (a sharded member blames its route there), and `poll(daemon) -> int`,
called at the end of every `step()` (it returns the transactions it sent).

`exact` models commit sha256(output); `near` models commit keccak(SimHash fingerprint,
sha256(output)) and reveal both (`reveal_many` with the blob hashes). A member names its seat
by its seat key (task id, level, position in the level's draw: `protocol.commitment.seat_key`).

Batching (`batch=True`, the default; `brainnet node start --no-batch` turns it off): each
`step()` collects what is due across all tasks and sends one `draw_many`, one `commit_many`,
one `reveal_many` (without proofs when it reveals one whole commit batch) and one
`finalize_many`, in chunks that fit the
per-transaction gas cap (sized by each task's own committee, read from the chain: a vote that
changes K reshapes only later tasks). Journal entries are still written before the batch is sent. If a
batch reverts (a window closed for one of its tasks), its tasks are retried one by one.
`lazy` nodes send their (doomed) commits and reveals one by one.
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from enum import Enum
from typing import Callable

import httpx
import numpy as np

from brainnet.chain import Contracts, Event
from brainnet.chain.signer import Receipt
from brainnet.errors import BlobError, BrainnetError, ChainError, ContractRevert, ModelError
from brainnet.node.blobs import BlobStore
from brainnet.node.fetch import fetch_blob
from brainnet.node.journal import Journal
from brainnet.protocol import commitment, keccak, near_result, result_hash
from brainnet.protocol.commitment import abi_encode, batch_leaf, reveal_path, seat_key, task_of

log = logging.getLogger("brainnet.node")

# After a restart, events are replayed from this many blocks before the last one seen,
# which covers every task that can still be open (seed horizon 256 + windows).
REPLAY_BLOCKS = 320
# Batches: at most this many tasks per transaction (Inference.MAX_BATCH = 64), and at most
# this many committee members drawn or closed per transaction (keeps draw/finalize batches
# under the 2**24 gas cap whatever their escalation levels).
BATCH_TASKS = 64
# Draws and finalizes are anyone's to send and the first mined wins: the node first in line
# for a task sends it, the others wait this long before trying (see NodeDaemon._my_turn).
RACE_GRACE_S = 2.0
BATCH_MEMBERS = 176


@dataclass
class PendingBatch:
    """What one `step()` will send in batches."""
    draws: list["TrackedTask"] = field(default_factory=list)
    # due, but another node is first in line (see NodeDaemon._my_turn): sent only along with a
    # batch this node sends anyway, where they cost little more
    draws_waiting: list["TrackedTask"] = field(default_factory=list)
    commits: list[tuple["TrackedTask", bytes, object]] = field(default_factory=list)   # task, commitment, entry
    reveals: list[tuple["TrackedTask", object]] = field(default_factory=list)          # task, journal entry
    finalizes: list["TrackedTask"] = field(default_factory=list)
    finalizes_waiting: list["TrackedTask"] = field(default_factory=list)


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
    commit_tx: str | None = None         # transaction of this node's commit (its batch's Merkle tree)
    level_sizes: dict[int, int] = field(default_factory=dict)   # level -> members, read from the chain once
    waiting_since: dict[tuple[str, int], float] = field(default_factory=dict)   # (draw|finalize, level) -> monotonic s


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
        batch: bool = True,
        race_grace_s: float = RACE_GRACE_S,
    ):
        self.c = contracts
        self.actor = contracts.as_(account)
        self.pipe = self.actor.nowait()                 # batches: sent together, then waited for
        self.address = account.address
        self.runtimes = runtimes                # model_id -> runtime (run, canonical)
        self.journal = journal
        self.store = store
        self.behaviour = Behaviour(behaviour)
        self._http: httpx.Client | None = None         # one connection pool for every fetch
        self.fetch = fetch or self._fetch
        self.keep_receipts = keep_receipts
        self.batch = batch
        self._pending: PendingBatch | None = None
        self.tasks: dict[int, TrackedTask] = {}
        # this node's commitments per commit transaction, in log order: the leaves of that
        # batch's Merkle tree, rebuilt from the chain's events (so it survives a restart)
        self._leaves: dict[str, tuple[list[int], list[bytes]]] = {}   # commit tx -> (seat keys, leaves)
        self._gave_up: set[int] = set()
        # members' endpoints (set at registration): read once, then kept up to date by events
        self._endpoints: dict[str, str] = {}
        # nodes serving each of our models: who else may draw a task (see _my_turn)
        self._serving: dict[bytes, set[str]] = {m: set(contracts.active_nodes(m)) for m in runtimes}
        self.race_grace_s = race_grace_s
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
        self._pending = PendingBatch() if self.batch else None
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
        if self._pending is not None:
            pending, self._pending = self._pending, None
            sent += self._flush(pending)
        for runtime in {id(r): r for r in self.runtimes.values()}.values():
            poll = getattr(runtime, "poll", None)               # e.g. a sharded member resolves its reports
            if poll is not None:
                try:
                    sent += poll(self)
                except BrainnetError as exc:
                    self._note_error(f"runtime {getattr(runtime, 'name', '?')}: {exc}")
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

    def close(self) -> None:
        """Release the HTTP connections the daemon opened (the journal is the caller's)."""
        if self._http is not None:
            self._http.close()
            self._http = None

    def _fetch(self, sha: str, urls: list[str]) -> bytes:
        if self._http is None:
            self._http = httpx.Client(timeout=10.0, follow_redirects=False)
        return fetch_blob(sha, urls, timeout=10.0, client=self._http)

    def _note_error(self, message: str) -> None:
        self.stats.errors += 1
        self.stats.last_error = message
        log.info("%s: %s", self.address[:10], message)

    # ------------------------------------------------------------ events
    def _on_event(self, ev: Event) -> None:
        a = ev.args
        if ev.name == "NodeRegistered":
            self._endpoints[a["node"]] = a["endpoint"]
            for model_id in a["model_ids"]:
                self._serving.setdefault(bytes(model_id), set()).add(a["node"])
            return
        if ev.name == "TaskRequested":
            if a["model_id"] in self.runtimes and a["task_id"] not in self.tasks:
                self.tasks[a["task_id"]] = TrackedTask(a["task_id"], a["model_id"], a["input_hash"], a["input_uri"], a["seed_block"])
            return
        if ev.name in ("CommitBatch", "RevealBatch"):
            self._on_batch(ev)
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
        elif ev.name == "TaskEscalated":
            task.level, task.seed_block = a["level"], a["seed_block"]
            task.members, task.member = None, False
        elif ev.name == "TaskProvisional":
            task.challenge_deadline = a["challenge_deadline"]
        elif ev.name == "TaskChallenged":
            task.challenge_deadline = None
        elif ev.name in ("TaskSettled", "TaskRefunded"):
            hook = getattr(self.runtimes.get(task.model_id), "task_settled", None)
            if hook is not None and ev.name == "TaskSettled":   # e.g. a sharded member blames its route
                try:
                    hook(self, task.task_id, bytes(a["result"]))
                except BrainnetError as exc:
                    self._note_error(f"task {task.task_id}: after settling: {exc}")
            if self.journal.get(task.task_id) is not None:
                self.journal.mark_finalized(task.task_id)
            del self.tasks[task.task_id]
            self._forget_leaves(task.commit_tx)

    # ------------------------------------------------------------ actions
    def _send(self, receipt: Receipt) -> int:
        self.stats.gas_used += receipt.gas_used
        if self.keep_receipts:
            self.stats.receipts.append(receipt)
        return 1

    def _act(self, task: TrackedTask, head: int) -> int:
        if task.challenge_deadline is not None:
            if task.was_member and head > task.challenge_deadline:
                return self._finalize(task, self._my_turn(task, "finalize", task.members or ()))
            return 0
        if task.members is None:
            if head > task.seed_block:
                turn = self._my_turn(task, "draw", self._serving.get(task.model_id, ()))
                if self._pending is not None:
                    (self._pending.draws if turn else self._pending.draws_waiting).append(task)
                    return 0
                if not turn:
                    return 0
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
                if self._pending is not None and self.behaviour is not Behaviour.LAZY:
                    self._pending.reveals.append((task, entry))
                    return 0
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
            return self._finalize(task, self._my_turn(task, "finalize", task.members))
        return 0

    def _my_turn(self, task: TrackedTask, what: str, candidates) -> bool:
        """Whether to send `what` (draw or finalize) for `task` now. Anyone may, and the first
        to be mined wins; so that they do not all send it, the candidate with the lowest
        keccak(task id, level, address) goes first and the others wait RACE_GRACE_S (then, if
        it is still not done, the first in line is taken to be down and everyone tries).
        Batching, a node first in line for one due task draws (or finalizes) all it has due."""
        rank = lambda a: keccak(abi_encode(task.task_id, task.level) + bytes.fromhex(a[2:]))   # noqa: E731
        mine = rank(self.address)
        if all(mine <= rank(c) for c in candidates):
            return True
        since = task.waiting_since.setdefault((what, task.level), time.monotonic())
        return time.monotonic() - since >= self.race_grace_s

    def _finalize(self, task: TrackedTask, turn: bool = True) -> int:
        if self._pending is not None:
            (self._pending.finalizes if turn else self._pending.finalizes_waiting).append(task)
            return 0
        if not turn:
            return 0
        self.stats.finalized += 1
        return self._send(self.actor.finalize(task.task_id))

    def _commit(self, task: TrackedTask, entry) -> int:
        if entry is None:
            canonical = self._compute(task)
            result = self._committed_value(task, canonical)
            salt = os.urandom(32)
            self.store.put(canonical)                       # the payload lives here, named by sha256
            self.journal.record_result(task.task_id, result, salt, canonical)   # durable before the commit
        else:
            result, salt = entry.result, entry.salt
            if self.c.has_committed(task.task_id, self.address):   # our commit made it before a crash
                self.journal.mark_committed(task.task_id, "recovered")   # our commit made it before a crash
                return 0
        value = commitment(task.task_id, result, self.address, salt)
        if self._pending is not None:
            self._pending.commits.append((task, value, entry))
            return 0
        receipt = self.actor.commit(self._key(task), value)
        self.journal.mark_committed(task.task_id, receipt.tx_hash)
        self.stats.committed += 1
        return self._send(receipt)

    # ------------------------------------------------------------ batches
    def _level_size(self, task: TrackedTask, level: int) -> int:
        """Members of `level` of `task`, on the task's own terms: the K it was requested under
        (`Inference.task_level_size`), not the deployment's K, which a governance vote may have
        changed since; read once per task and level."""
        size = task.level_sizes.get(level)
        if size is None:
            size = task.level_sizes[level] = self.c.task_level_size(task.task_id, level)
        return size

    def _groups(self, tasks: list[TrackedTask], weight: Callable[[TrackedTask], int]) -> list[list[TrackedTask]]:
        """Chunks of at most BATCH_TASKS tasks and BATCH_MEMBERS summed weight."""
        groups: list[list[TrackedTask]] = []
        load = 0
        for task in tasks:
            w = weight(task)
            if not groups or len(groups[-1]) >= BATCH_TASKS or load + w > BATCH_MEMBERS:
                groups.append([])
                load = 0
            groups[-1].append(task)
            load += w
        return groups

    def _try(self, what: str, fn: Callable[[], int]) -> int:
        try:
            return fn()
        except ContractRevert as exc:
            self._note_error(f"{what}: {exc}")
        except (BlobError, ModelError, ChainError) as exc:
            self._note_error(f"{what}: {exc}")
        return 0

    def _flush(self, p: PendingBatch) -> int:
        """Send what `step()` collected: one transaction per kind and chunk, all sent before
        any is waited for (they touch different tasks, so they may share a block)."""
        finish: list[tuple[str, Callable[[], int]]] = []
        draws = p.draws + p.draws_waiting if p.draws else []
        finalizes = p.finalizes + p.finalizes_waiting if p.finalizes else []
        for group in self._groups(draws, lambda t: self._level_size(t, t.level)):
            finish.append(("draw_many", self._send_draws(group)))
        for group in self._groups([c[0] for c in p.commits], lambda t: 1):
            finish.append(("commit_many", self._send_commits([c for c in p.commits if c[0] in group])))
        exact = [r for r in p.reveals if not self._is_near(r[0])]
        near = [r for r in p.reveals if self._is_near(r[0])]
        for rows in (exact, near):
            for group in self._groups([r[0] for r in rows], lambda t: 1):
                finish.append(("reveal_many", self._send_reveals([r for r in rows if r[0] in group])))
        for group in self._groups(finalizes, lambda t: sum(self._level_size(t, lv) for lv in range(t.level + 1))):
            finish.append(("finalize_many", self._send_finalizes(group)))
        return sum(self._try(what, f) for what, f in finish)

    def _batch(self, what: str, send: Callable[[], object], done: Callable[[Receipt], int],
               one_by_one: Callable[[], int] = lambda: 0) -> Callable[[], int]:
        """Send one batch transaction now (`send` returns its PendingTx); the function returned
        waits for it and calls `done(receipt)`, or `one_by_one()` if the batch reverted."""
        try:
            pending = send()
        except ContractRevert as exc:
            self._note_error(f"{what}: {exc}; one by one")
            return one_by_one
        except (BlobError, ModelError, ChainError) as exc:
            self._note_error(f"{what}: {exc}")
            return lambda: 0

        def finish() -> int:
            try:
                receipt = pending.wait()
            except ContractRevert as exc:
                self._note_error(f"{what}: {exc}; one by one")
                return one_by_one()
            return done(receipt)
        return finish

    def _send_draws(self, tasks: list[TrackedTask]) -> Callable[[], int]:
        if len(tasks) == 1:
            def drawn(receipt: Receipt) -> int:
                self.stats.drawn += 1
                return self._send(receipt)
            return self._batch("draw", lambda: self.pipe.draw(tasks[0].task_id), drawn)

        def drawn_many(receipt: Receipt) -> int:
            self.stats.drawn += sum(1 for e in self.c.decode(receipt.logs) if e.name == "CommitteeDrawn")
            return self._send(receipt)
        return self._batch("draw_many", lambda: self.pipe.draw_many([t.task_id for t in tasks]), drawn_many)

    def _send_finalizes(self, tasks: list[TrackedTask]) -> Callable[[], int]:
        if len(tasks) == 1:
            def finalized(receipt: Receipt) -> int:
                self.stats.finalized += 1
                return self._send(receipt)
            return self._batch("finalize", lambda: self.pipe.finalize(tasks[0].task_id), finalized)

        def finalized_many(receipt: Receipt) -> int:
            self.stats.finalized += sum(1 for e in self.c.decode(receipt.logs)
                                        if e.name in ("TaskSettled", "TaskRefunded", "TaskEscalated", "TaskProvisional"))
            return self._send(receipt)
        return self._batch("finalize_many", lambda: self.pipe.finalize_many([t.task_id for t in tasks]), finalized_many)

    def _send_commits(self, rows: list[tuple[TrackedTask, bytes, object]]) -> Callable[[], int]:
        def one_by_one() -> int:
            sent = 0
            for t, value, _entry in rows:
                def one(t=t, value=value) -> int:
                    if self.c.has_committed(t.task_id, self.address):    # an earlier batch made it
                        self.journal.mark_committed(t.task_id, "recovered")
                        return 0
                    receipt = self.actor.commit(self._key(t), value)
                    self.journal.mark_committed(t.task_id, receipt.tx_hash)
                    self.stats.committed += 1
                    return self._send(receipt)
                sent += self._try(f"task {t.task_id}", one)
            return sent
        if len(rows) == 1:
            return one_by_one

        def committed(receipt: Receipt) -> int:
            for t, _, _ in rows:
                self.journal.mark_committed(t.task_id, receipt.tx_hash)
            self.stats.committed += len(rows)
            return self._send(receipt)
        return self._batch("commit_many", lambda: self.pipe.commit_many([self._key(t) for t, _, _ in rows],
                                                                       [v for _, v, _ in rows]),
                           committed, one_by_one)

    def _on_batch(self, ev) -> None:
        """A member's commit or reveal batch: count it on each task it names; keep the leaves
        of this node's own commit batches (their Merkle proofs open the reveals)."""
        a = ev.args
        keys = list(a["seats"])
        for key in keys:
            task = self.tasks.get(task_of(key))
            if task is None or task.level != key >> 248:
                continue
            if ev.name == "CommitBatch":
                task.commits += 1
                if a["member"] == self.address:
                    task.commit_tx = ev.tx_hash
            else:
                task.reveals += 1
        if ev.name == "CommitBatch" and a["member"] == self.address:
            self._leaves[ev.tx_hash] = (keys, [batch_leaf(k, bytes(c)) for k, c in zip(keys, a["commitments"])])

    def _key(self, task: TrackedTask) -> int:
        """This node's seat key for the task's current level (its position in the level's draw)."""
        return seat_key(task.task_id, task.level, (task.members or []).index(self.address))

    def _forget_leaves(self, tx_hash: str | None) -> None:
        """Drop a commit batch's leaves once none of its tasks is open any more."""
        if tx_hash is not None and not any(t.commit_tx == tx_hash for t in self.tasks.values()):
            self._leaves.pop(tx_hash, None)

    def _proof(self, task: TrackedTask) -> tuple[int, list[bytes]]:
        """(path, proof) of this node's commitment for `task` in its commit batch's Merkle tree."""
        keys, leaves = self._leaves.get(task.commit_tx or "", ([], []))
        key = self._key(task)
        if key not in keys:
            return 0, []                      # unknown batch: try it as a single commit (root = leaf)
        return reveal_path(leaves, keys.index(key))

    def _reveal_batch(self, rows: list[tuple[TrackedTask, object]], actor=None):
        """Reveal `rows` in one transaction (a receipt; with `actor=self.pipe`, a PendingTx). When
        the rows are exactly one commit batch, in its order, no proofs are sent: the contract
        rebuilds the batch's root from the revealed leaves."""
        actor = actor or self.actor
        keys = [self._key(t) for t, _ in rows]
        batch = self._leaves.get(rows[0][0].commit_tx or "", ([], []))[0]
        paths, proofs = [], []
        if keys != batch:
            for t, _ in rows:
                path, proof = self._proof(t)
                paths.append(path)
                proofs.extend(proof)
        salts = [e.salt for _, e in rows]
        if self._is_near(rows[0][0]):
            fps = [self._fingerprint(t, e.canonical) for t, e in rows]
            return actor.reveal_many(keys, fps, salts, paths, proofs,
                                     blob_hashes=[result_hash(e.canonical) for _, e in rows])
        return actor.reveal_many(keys, [e.result for _, e in rows], salts, paths, proofs)

    def _send_reveals(self, rows: list[tuple[TrackedTask, object]]) -> Callable[[], int]:
        def one_by_one() -> int:
            sent = 0
            for t, entry in rows:
                def one(t=t, entry=entry) -> int:
                    try:
                        receipt = self._reveal_batch([(t, entry)])
                    except ContractRevert:
                        if self.c.revealed_result(t.task_id, self.address) is None:
                            raise
                        self.journal.mark_revealed(t.task_id, "recovered")
                        return 0
                    self.journal.mark_revealed(t.task_id, receipt.tx_hash)
                    self.stats.revealed += 1
                    return self._send(receipt)
                sent += self._try(f"task {t.task_id}", one)
            return sent
        if len(rows) == 1:
            return one_by_one

        def revealed(receipt: Receipt) -> int:
            for t, _ in rows:
                self.journal.mark_revealed(t.task_id, receipt.tx_hash)
            self.stats.revealed += len(rows)
            return self._send(receipt)
        return self._batch("reveal_many", lambda: self._reveal_batch(rows, self.pipe), revealed, one_by_one)

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
            return self.actor.reveal(self._key(task), seen[0] if seen else entry.result, os.urandom(32))
        return self._reveal_batch([(task, entry)])

    def _blob(self, sha: str, task: TrackedTask) -> bytes:
        """A blob by sha256 hex: from this node's store, else fetched from the task's sources and kept."""
        if self.store.has(sha):
            return self.store.get(sha)
        data = self.fetch(sha, self._sources(task))
        self.store.put(data)
        return data

    def _compute(self, task: TrackedTask) -> bytes:
        data = self._blob(task.input_hash.hex(), task)
        runtime = self.runtimes[task.model_id]
        run_task = getattr(runtime, "run_task", None)          # sharded runtimes need the committee
        blobs_needed = getattr(runtime, "blobs_needed", None)  # an input naming more blobs (hop audits)
        if blobs_needed is not None:
            output = runtime.run_with(data, {sha: self._blob(sha, task) for sha in blobs_needed(data)})
        elif run_task is not None:
            output = run_task(data, task.task_id, list(task.members or []), self.address)
        else:
            output = runtime.run(data)
        if self.behaviour in (Behaviour.WRONG, Behaviour.COLLUDING, Behaviour.NEAR_CHEAT):
            output = self._corrupt(task, output)
        return runtime.canonical(output)

    def _corrupt(self, task: TrackedTask, output):
        """A lying node's output (see the behaviours at the top of this file)."""
        rng = np.random.default_rng([task.task_id, int(self.address, 16) % 2**63])
        perturb = getattr(self.runtimes[task.model_id], "perturb", None)   # outputs that are not plain vectors
        if perturb is not None:
            return perturb(output, rng)
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
        receipt = self.actor.commit(self._key(task), commitment(task.task_id, fake, self.address, os.urandom(32)))
        self.journal.mark_committed(task.task_id, receipt.tx_hash)
        self.stats.committed += 1
        return self._send(receipt)

    def _sources(self, task: TrackedTask) -> list[str]:
        urls = [u for u in task.input_uri.split() if u.startswith(("http://", "https://"))]
        for member in task.members or []:
            if member != self.address:
                endpoint = self._endpoints.get(member)
                if endpoint is None:
                    endpoint = self._endpoints[member] = self.c.node(member).endpoint
                if endpoint and endpoint not in urls:
                    urls.append(endpoint)
        return urls
