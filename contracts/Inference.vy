# pragma version ~=0.4.3
# pragma optimize codesize
# pragma experimental-codegen
"""
@title brainnet Inference
@notice Two-phase verified inference (BRAIN) with escalation. Tx 1 `request` escrows the
        fee; `draw` picks the committee from the hash of a block after the request, which
        the requester cannot choose; members `commit` keccak(task_id, result, member, salt),
        then `reveal`; `finalize` ends the level:
        - revealers unanimous and at least the level's quorum: the result settles (after a
          challenge window in which the requester may post a bond to escalate anyway);
        - otherwise, while a level is left, the task escalates to a fresh committee of
          2n+1 nodes drawn excluding every earlier member (sizes K, 2K+1, 4K+3, ...);
        - at the last level the value with a quorum settles, or the fee is refunded.
        Once final, members of every level who revealed a value that agrees with it share
        the fee (credited; `claim` pays out); dissenters and no-shows of every level are
        slashed. With `max_levels = 1` this is BRAIN's single-committee rule.
@dev Agreement: `exact` models agree on equal results; `near` models reveal a 256-bit
     SimHash fingerprint plus the sha256 of the output blob, and agree when the Hamming
     distance (xor + popcount) is within the model's tolerance. The center of a level is
     the revealed value most reveals agree with, ties to the earliest reveal; it is
     computed when the level ends, from the seats (below), not kept as a running tally.
     `brainnet.protocol.escalation` mirrors every rule.
     Storage is laid out for gas (docs/architecture.md, "Batching (gas)" and "Storage"):
     - a task is one word, its hot word: status, level, mode, tolerance, model slot, block
       numbers, result reference, requester id and fee (requesters get a 28-bit id on their
       first request; fees stay below 2**79, block numbers below 2**32);
     - each level of a task keeps its committee in seat words, 11 seats per word after a
       40-bit header (word 0's header: commit deadline, commits so far, near flag; its top
       7 bits: values stored). A seat is the member's Registry index (11 bits; 0 = no
       seat), a committed bit and the index + 1 of the value it revealed (7 bits; 0 = no reveal);
     - revealed values are kept once per distinct value and level (`_values`): an honest
       level stores one word;
     - members name their seat by its seat key, `task_id | position << 240 | level << 248`
       (position in the level's draw order), so commit and reveal read and write only that
       seat's word, once per (member, task) and phase.
     Batches: `request_many` opens up to MAX_BATCH tasks with one fee payment;
     `draw_many` and `finalize_many` act on up to MAX_BATCH tasks and skip those that are
     not ready (another node may have been first); a finalize owes the members of the tasks
     it ends their closed seats, earnings and work units in transient storage and pays them
     out once per call (`_flush`: one Registry call, one credit per member, one Emission
     call); `commit_many` and `reveal_many`
     check every entry and revert the whole batch on a bad one (a single commit or reveal
     is a batch of one). Commitments are Merkle roots: `commit_many` hashes leaf_i =
     keccak(seat key_i, commitment_i) into one root, stored once per (member, batch), and
     logs one CommitBatch; binding the seat key means a root can only open commitments to
     the seats it was committed for. `reveal_many` checks each reveal with its leaf index
     and proof, or, with `paths` and `proofs` empty, takes the entries as one whole batch in
     commit order and rebuilds its root; it logs one RevealBatch. Leaves are padded to a
     power of two with zero words; a node hashes keccak(left, right).
     Fees: a requester may `deposit` tokens into its `claimable` balance and have each
     `request` draw its fee from it (no token transfer per task); refunds and leftovers go
     back to it. Without enough there, `request` pulls the fee with transferFrom.
     Parameters change only through `set_param`, called by `governance` (the deployer
     until it hands governance to the Governance contract). A task keeps the committee
     size, quorum, level count and windows it was requested under: each change of those
     opens a new terms version that applies from the next task id (`task_terms`), so a
     change never reshapes a committee already at work and no per-task storage is spent
     on it. When a task settles, the members on the winning side are reported to
     `emission` (one work unit each) for the epoch's inference rewards.
     Views: one `state` view returns a task's words as stored, for readers off chain
     (`brainnet.chain.inference_state` decodes tasks, members, seats and reveals from it);
     `outcome` gives contracts a task's status and result.
     Reverts start with "inference:".
"""

from ethereum.ercs import IERC20

MAX_COMMITTEE: constant(uint256) = 127     # members of one level (a level stores at most 127 values)
MAX_MEMBERS: constant(uint256) = 256       # members of all levels of a task
MAX_LEVELS: constant(uint256) = 6
MAX_BATCH: constant(uint256) = 64          # tasks in one batched call
MAX_OWED: constant(uint256) = 64           # members owed at once (`_flush` pays out when more are)
MAX_PROOF: constant(uint256) = 6           # log2(MAX_BATCH): depth of a batch's Merkle tree
SEED_HORIZON: constant(uint256) = 256      # blocks whose hash the EVM still knows
EXACT: constant(uint8) = 0
NEAR: constant(uint8) = 1
BLOCK_MASK: constant(uint256) = 2**40 - 1
# seat words: (task_id << 16 | level << 8 | word) -> 11 seats of 19 bits after a 40-bit header;
# word 0's header: commit deadline (bits 0..31), commits (32..38), near flag (bit 39); its bits
# 249..255: values stored
SEATS_PER_WORD: constant(uint256) = 11
MAX_WORDS: constant(uint256) = 12          # seat words of the largest level
DEADLINE_MASK: constant(uint256) = 2**32 - 1
COMMITS_AT: constant(uint256) = 32         # word 0: members of the level that committed (7 bits)
WORD_NEAR: constant(uint256) = 1 << 39
VALUES_AT: constant(uint256) = 249
SEAT_BASE: constant(uint256) = 40
SEAT_BITS: constant(uint256) = 19
SEAT_MASK: constant(uint256) = 2**19 - 1
SEAT_INDEX: constant(uint256) = 2047       # the member's Registry index (1..1024; 0 = no seat)
SEAT_COMMITTED: constant(uint256) = 2048
SEAT_VALUE: constant(uint256) = 12         # value index + 1 in bits 12..18 (a level stores at most 126 values)
LEVEL_TAG: constant(uint256) = 248         # seat key = task_id | position << 240 | level << 248
POSITION_AT: constant(uint256) = 240
TASK_MASK: constant(uint256) = 2**240 - 1
# the hot word of a task: H_* = bit position, W_* = width of each field
H_STATUS: constant(uint256) = 0
H_LEVEL: constant(uint256) = 8
W_LEVEL: constant(uint256) = 4
H_MODE: constant(uint256) = 12
W_MODE: constant(uint256) = 2
H_TOLERANCE: constant(uint256) = 14
W_TOLERANCE: constant(uint256) = 8
H_MODEL: constant(uint256) = 22            # model slot (`model_slot`)
W_MODEL: constant(uint256) = 16
H_REQUEST_BLOCK: constant(uint256) = 38    # block numbers: 32 bits
H_SEED_BLOCK: constant(uint256) = 70
H_FINAL_BLOCK: constant(uint256) = 102     # final block; while provisional, the challenge deadline
W_BLOCK: constant(uint256) = 32
H_RESULT: constant(uint256) = 134          # level << 8 | value index of the provisional or final result
W_RESULT: constant(uint256) = 12
H_PREPAID: constant(uint256) = 1 << 146    # the fee came from the requester's deposit
H_CHALLENGED: constant(uint256) = 1 << 147 # `challenges` holds the task's challenge
H_HAS_RESULT: constant(uint256) = 1 << 148 # H_RESULT is set
H_REQUESTER: constant(uint256) = 149       # requester id (`_requesters`)
W_REQUESTER: constant(uint256) = 28
H_FEE: constant(uint256) = 177             # the fee: 79 bits
# SWAR popcount masks: 0x5555..., 0x3333..., 0x0f0f..., 0x0101...
M1: constant(uint256) = max_value(uint256) // 3
M2: constant(uint256) = max_value(uint256) // 5
M4: constant(uint256) = max_value(uint256) // 17
H01: constant(uint256) = max_value(uint256) // 255
# parameter ids of set_param (brainnet.chain.params names them)
P_COMMITTEE_SIZE: constant(uint256) = 1      # also resets the quorum to a bare majority
P_QUORUM: constant(uint256) = 2
P_COMMIT_WINDOW: constant(uint256) = 3
P_REVEAL_WINDOW: constant(uint256) = 4
P_SLASH_BPS: constant(uint256) = 5
P_MIN_FEE: constant(uint256) = 6
P_MAX_LEVELS: constant(uint256) = 7
P_CHALLENGE_WINDOW: constant(uint256) = 8
P_CHALLENGE_BOND: constant(uint256) = 9
P_EMISSION: constant(uint256) = 10           # address of the Emission contract (0: none)
# packed terms: K | Q << 16 | L << 32 | commit window << 48 | reveal window << 88 | first task id << 128
T_COMMIT_WINDOW: constant(uint256) = 48
T_REVEAL_WINDOW: constant(uint256) = 88
TERMS_FIRST_TASK: constant(uint256) = 128

interface Emission:
    def record_units(nodes: DynArray[address, MAX_OWED], units: DynArray[uint256, MAX_OWED]): nonpayable   # called by raw_call

interface Registry:
    def open_seats(model_id: bytes32, seed: bytes32, k: uint256, exclude: DynArray[uint256, MAX_MEMBERS]) -> DynArray[uint256, MAX_COMMITTEE]: nonpayable
    def close_seats(indices: DynArray[uint256, MAX_OWED], counts: DynArray[uint256, MAX_OWED]) -> DynArray[address, MAX_OWED]: nonpayable
    def node_at(index: uint256) -> address: view
    def available(model_id: bytes32, exclude: DynArray[address, MAX_MEMBERS]) -> uint256: view
    def models(model_id: bytes32) -> (bytes32, bool, uint8, uint256): view
    def model_nodes(model_id: bytes32) -> uint256: view
    def stake_of(node: address) -> uint256: view
    def slash(node: address, amount: uint256, reason: String[64]) -> uint256: nonpayable
    def index_of(node: address) -> uint256: view
    def nodes_at(indices: DynArray[uint256, MAX_MEMBERS]) -> DynArray[address, MAX_MEMBERS]: view

struct Terms:
    committee_size: uint256
    quorum: uint256
    max_levels: uint256

flag Status:
    REQUESTED        # waiting for `draw` (of level 0, or of the level it escalated to)
    DRAWN            # committee drawn: commit, reveal, then finalize
    SETTLED
    REFUNDED
    PROVISIONAL      # settled value, open to a challenge until `challenge_deadline`

struct Challenge:
    challenger: address
    bond: uint256
    challenged: bytes32

struct Level:                    # a level's seats, read from its seat words
    seats: DynArray[uint256, MAX_COMMITTEE]
    reveals: uint256
    values: uint256              # distinct values (exact) or reveals (near) stored for the level
    deadline: uint256            # commit deadline
    near: bool

event TaskRequested:
    task_id: indexed(uint256)
    requester: indexed(address)
    model_id: indexed(bytes32)
    input_hash: bytes32
    input_uri: String[256]
    fee: uint256
    seed_block: uint256

event CommitteeDrawn:
    task_id: indexed(uint256)
    members: DynArray[address, MAX_COMMITTEE]
    seed: bytes32
    commit_deadline: uint256
    reveal_deadline: uint256
    level: uint256

event CommitBatch:              # one per commit_many: the seat keys and commitments, in leaf order
    member: indexed(address)
    root: bytes32
    seats: DynArray[uint256, MAX_BATCH]
    commitments: DynArray[bytes32, MAX_BATCH]

event RevealBatch:              # one per reveal_many: the seats revealed (the values are in `state`, the blob hashes in `blobs`)
    member: indexed(address)
    seats: DynArray[uint256, MAX_BATCH]

event TaskEscalated:
    task_id: indexed(uint256)
    level: uint256
    size: uint256
    seed_block: uint256

event TaskProvisional:
    task_id: indexed(uint256)
    result: bytes32
    challenge_deadline: uint256

event TaskChallenged:
    task_id: indexed(uint256)
    challenger: indexed(address)
    bond: uint256

event TaskSettled:
    task_id: indexed(uint256)
    result: bytes32
    agreeing: uint256
    share: uint256

event TaskRefunded:
    task_id: indexed(uint256)
    fee: uint256
    top_count: uint256

event MemberSlashed:
    task_id: indexed(uint256)
    member: indexed(address)
    amount: uint256
    reason: String[64]

event Claimed:
    account: indexed(address)
    amount: uint256

event Deposited:
    account: indexed(address)
    amount: uint256

event ParamSet:
    param: indexed(uint256)
    value: uint256

event GovernanceChanged:
    governance: indexed(address)

token: public(IERC20)
registry: public(Registry)
slash_bps: public(uint256)               # share of a member's stake slashed, in 1/10000
min_fee: public(uint256)
challenge_window: public(uint256)        # blocks a settled level stays open to a challenge; 0 = none
challenge_bond: public(uint256)
governance: public(address)              # the only caller of set_param
emission: public(Emission)               # told about settled work; empty = no rewards
terms_version: public(uint256)           # latest version of (K, Q, L, windows); see _terms_of
_terms: HashMap[uint256, uint256]        # version -> packed terms (T_* shifts)

task_count: public(uint256)
_hot: HashMap[uint256, uint256]                    # task -> hot word (H_* shifts)
_seats: HashMap[uint256, uint256]                  # task << 16 | level << 8 | word -> seat word
_values: HashMap[uint256, bytes32]                 # task << 16 | level << 8 | value index -> value
blobs: public(HashMap[uint256, HashMap[address, bytes32]])   # near: sha256 of the revealed output blob
_roots: HashMap[address, HashMap[bytes32, bool]]   # member -> Merkle root it committed
challenges: public(HashMap[uint256, Challenge])
model_count: public(uint256)
_model_ids: HashMap[uint256, bytes32]              # model slot -> model id
_model_info: HashMap[bytes32, uint256]             # model id -> slot | mode << 16 | tolerance << 24 (0: not seen yet)
requester_count: public(uint256)
_requester_ids: HashMap[address, uint256]          # requester -> its id in the hot words (0: none yet)
_requesters: HashMap[uint256, address]             # id -> requester
claimable: public(HashMap[address, uint256])       # earnings, deposits and refunds of prepaid fees
# what this transaction's finalizes owe each member, paid out once per call by `_flush`:
# Registry index -> earned << 32 | work units << 16 | seats to close
_owed: transient(HashMap[uint256, uint256])
_owed_list: transient(DynArray[uint256, MAX_OWED])           # the indices with an `_owed` entry


@deploy
def __init__(
    token: IERC20,
    registry: Registry,
    committee_size: uint256,
    quorum: uint256,
    commit_window: uint256,
    reveal_window: uint256,
    slash_bps: uint256,
    min_fee: uint256,
    max_levels: uint256,
    challenge_window: uint256,
    challenge_bond: uint256,
):
    self._check_terms(committee_size, quorum, max_levels, commit_window, reveal_window)
    assert slash_bps <= 10000, "inference: slash_bps above 10000"
    self.governance = msg.sender
    self._terms[0] = self._pack_terms(committee_size, quorum, max_levels, commit_window, reveal_window, 0)
    self.token = token
    self.registry = registry
    self.slash_bps = slash_bps
    self.min_fee = min_fee
    self.challenge_window = challenge_window
    self.challenge_bond = challenge_bond


# ---------------------------------------------------------------- parameters

@internal
@pure
def _check_terms(committee_size: uint256, quorum: uint256, max_levels: uint256, commit_window: uint256, reveal_window: uint256):
    assert committee_size > 0 and committee_size <= MAX_COMMITTEE, "inference: bad committee size"
    assert quorum * 2 > committee_size and quorum <= committee_size, "inference: quorum not a majority"
    assert max_levels > 0 and max_levels <= MAX_LEVELS, "inference: bad max_levels"
    # level i has (K + 1)·2^i − 1 members: the last (K + 1)·2^(L−1) − 1, all L together (K + 1)(2^L − 1) − L
    assert ((committee_size + 1) << (max_levels - 1)) - 1 <= MAX_COMMITTEE and (committee_size + 1) * ((1 << max_levels) - 1) - max_levels <= MAX_MEMBERS, "inference: levels too large"
    assert commit_window > 0 and reveal_window > 0, "inference: window must be > 0"
    assert commit_window < 2**32 and reveal_window < 2**32, "inference: window above 2**32-1"


@internal
@pure
def _pack_terms(committee_size: uint256, quorum: uint256, max_levels: uint256, commit_window: uint256, reveal_window: uint256, first_task: uint256) -> uint256:
    return committee_size | (quorum << 16) | (max_levels << 32) | (commit_window << T_COMMIT_WINDOW) | (reveal_window << T_REVEAL_WINDOW) | (first_task << TERMS_FIRST_TASK)


@internal
@view
def _current_terms() -> uint256:
    return self._terms[self.terms_version]


@internal
@pure
def _window(terms: uint256, at: uint256) -> uint256:
    return (terms >> at) & BLOCK_MASK


@external
@view
def committee_size() -> uint256:
    """@notice K: members of level 0 for a task requested now."""
    return self._current_terms() & 65535


@external
@view
def quorum() -> uint256:
    """@notice Q: agreeing reveals that settle level 0 of a task requested now."""
    return (self._current_terms() >> 16) & 65535


@external
@view
def max_levels() -> uint256:
    """@notice L: committee levels of a task requested now (1 = no escalation, BRAIN's rule)."""
    return (self._current_terms() >> 32) & 65535


@external
@view
def commit_window() -> uint256:
    """@notice Blocks from a draw to the end of its commit phase, for a task requested now."""
    return self._window(self._current_terms(), T_COMMIT_WINDOW)


@external
@view
def reveal_window() -> uint256:
    """@notice Blocks from the commit deadline to the reveal deadline, for a task requested now."""
    return self._window(self._current_terms(), T_REVEAL_WINDOW)


@internal
@view
def _terms_of(task_id: uint256) -> uint256:
    """Packed terms the task was requested under: the last version whose first task id <= task_id."""
    hi: uint256 = self.terms_version
    packed: uint256 = self._terms[hi]
    if task_id >= packed >> TERMS_FIRST_TASK:
        return packed                       # the usual case: a task of the latest version
    lo: uint256 = 0                         # version 0 starts at task 0: it always qualifies
    for _: uint256 in range(64):            # binary search; 64 halvings cover any version count
        if lo + 1 >= hi:
            break
        mid: uint256 = (lo + hi) // 2
        if task_id >= self._terms[mid] >> TERMS_FIRST_TASK:
            lo = mid
        else:
            hi = mid
    return self._terms[lo]


@external
@view
def task_terms(task_id: uint256) -> Terms:
    """@notice K, Q and L of task `task_id` (the terms in force when it was requested)."""
    packed: uint256 = self._terms_of(task_id)
    return Terms(committee_size=packed & 65535, quorum=(packed >> 16) & 65535, max_levels=(packed >> 32) & 65535)


@external
def set_param(param: uint256, new_value: uint256):
    """@notice Change one parameter (P_* ids); only `governance` may. Open tasks keep their K, Q, L and windows."""
    assert msg.sender == self.governance, "inference: only governance"
    assert param >= P_COMMITTEE_SIZE and param <= P_EMISSION, "inference: unknown parameter"
    if param <= P_REVEAL_WINDOW or param == P_MAX_LEVELS:
        terms: uint256 = self._current_terms()
        size: uint256 = terms & 65535
        quorum: uint256 = (terms >> 16) & 65535
        levels: uint256 = (terms >> 32) & 65535
        commit_window: uint256 = self._window(terms, T_COMMIT_WINDOW)
        reveal_window: uint256 = self._window(terms, T_REVEAL_WINDOW)
        if param == P_COMMITTEE_SIZE:
            size = new_value
            quorum = new_value // 2 + 1         # a bare majority of the new size
        elif param == P_QUORUM:
            quorum = new_value
        elif param == P_COMMIT_WINDOW:
            commit_window = new_value
        elif param == P_REVEAL_WINDOW:
            reveal_window = new_value
        else:
            levels = new_value
        self._check_terms(size, quorum, levels, commit_window, reveal_window)
        version: uint256 = self.terms_version + 1
        self._terms[version] = self._pack_terms(size, quorum, levels, commit_window, reveal_window, self.task_count + 1)
        self.terms_version = version
    elif param == P_EMISSION:
        assert new_value <= convert(max_value(uint160), uint256), "inference: emission not address"
        self.emission = Emission(convert(convert(new_value, uint160), address))
    else:
        assert new_value <= 10000 or param != P_SLASH_BPS, "inference: slash_bps above 10000"
        if param == P_SLASH_BPS:
            self.slash_bps = new_value
        elif param == P_MIN_FEE:
            self.min_fee = new_value
        elif param == P_CHALLENGE_WINDOW:
            self.challenge_window = new_value
        else:
            self.challenge_bond = new_value
    log ParamSet(param=param, value=new_value)


@external
def set_governance(new_governance: address):
    """@notice Hand parameter changes to `new_governance` (the deployer hands them to Governance)."""
    assert msg.sender == self.governance, "inference: only governance"
    assert new_governance != empty(address), "inference: zero governance"
    self.governance = new_governance
    log GovernanceChanged(governance=new_governance)


# ---------------------------------------------------------------- level math

@internal
@pure
def _size_of(committee_size: uint256, level: uint256) -> uint256:
    return ((committee_size + 1) << level) - 1       # K, 2K + 1, 4K + 3, ...


@internal
@view
def _level_size(task_id: uint256, level: uint256) -> uint256:
    return self._size_of(self._terms_of(task_id) & 65535, level)


@internal
@view
def _level_quorum(task_id: uint256, level: uint256) -> uint256:
    if level == 0:
        return (self._terms_of(task_id) >> 16) & 65535
    return self._level_size(task_id, level) // 2 + 1


@internal
@view
def _max_levels(task_id: uint256) -> uint256:
    return (self._terms_of(task_id) >> 32) & 65535


@internal
@pure
def _popcount(x: uint256) -> uint256:
    if x == max_value(uint256):
        return 256          # the byte sum below holds 0..255: 256 would wrap to 0
    v: uint256 = x - ((x >> 1) & M1)
    v = (v & M2) + ((v >> 2) & M2)
    v = (v + (v >> 4)) & M4
    return unsafe_mul(v, H01) >> 248


@internal
@pure
def _agree(a: bytes32, b: bytes32, near: bool, tolerance: uint256) -> bool:
    if not near:
        return a == b
    return self._popcount(convert(a, uint256) ^ convert(b, uint256)) <= tolerance










# ---------------------------------------------------------------- task storage

@internal
@pure
def _field(word: uint256, at: uint256, bits: uint256) -> uint256:
    return (word >> at) & ((1 << bits) - 1)


@internal
@pure
def _put(word: uint256, at: uint256, bits: uint256, x: uint256) -> uint256:
    assert x < (1 << bits), "inference: field out of range"
    return (word & ~(((1 << bits) - 1) << at)) | (x << at)


@internal
@pure
def _status_of(hot: uint256) -> Status:
    if hot & 255 == 0:
        return empty(Status)
    return convert(hot & 255, Status)


@internal
@pure
def _with_status(hot: uint256, status: Status) -> uint256:
    return (hot & ~convert(255, uint256)) | convert(status, uint256)


@internal
@pure
def _key(task_id: uint256, level: uint256) -> uint256:
    return (task_id << 16) | (level << 8)


@internal
@view
def _level(task_id: uint256, level: uint256, size: uint256) -> Level:
    """The seats of a level in draw order, with its counts (one storage read per 11 seats)."""
    key: uint256 = self._key(task_id, level)
    out: Level = empty(Level)
    head: uint256 = self._seats[key]
    out.deadline = head & DEADLINE_MASK
    out.near = head & WORD_NEAR != 0
    out.values = head >> VALUES_AT
    left: uint256 = size
    for w: uint256 in range(MAX_WORDS):
        if left == 0:
            break
        x: uint256 = head
        if w > 0:
            x = self._seats[key + w]
        x = x >> SEAT_BASE
        for _: uint256 in range(SEATS_PER_WORD):
            if left == 0:
                break
            seat: uint256 = x & SEAT_MASK
            out.seats.append(seat)
            if seat >> SEAT_VALUE != 0:
                out.reveals += 1
            x = x >> SEAT_BITS
            left -= 1
    return out


@internal
@view
def _member_indices(task_id: uint256, levels: uint256) -> DynArray[uint256, MAX_MEMBERS]:
    """Registry indices of the members of levels 0 .. levels - 1, in draw order."""
    out: DynArray[uint256, MAX_MEMBERS] = []
    for level: uint256 in range(levels, bound=MAX_LEVELS):
        lv: Level = self._level(task_id, level, self._level_size(task_id, level))
        for seat: uint256 in lv.seats:
            out.append(seat & SEAT_INDEX)
    return out


@internal
@view
def _levels_drawn(task_id: uint256, hot: uint256) -> uint256:
    """Levels whose committee has been drawn (the current one only once its status is DRAWN or
       later), from the task's hot word."""
    level: uint256 = self._field(hot, H_LEVEL, W_LEVEL)
    if self._seats[self._key(task_id, level)] != 0:
        return level + 1
    return level


@internal
@view
def _center(task_id: uint256, level: uint256, lv: Level, tolerance: uint256) -> (uint256, uint256):
    """(top count, value index of the center) of a level: the value most reveals agree with,
       ties to the earliest (exact: the value first revealed earliest; near: the earliest reveal)."""
    counts: DynArray[uint256, MAX_COMMITTEE] = []
    for v: uint256 in range(lv.values, bound=MAX_COMMITTEE):
        counts.append(0)
    if lv.near:
        key: uint256 = self._key(task_id, level)
        values: DynArray[bytes32, MAX_COMMITTEE] = []
        for v: uint256 in range(lv.values, bound=MAX_COMMITTEE):
            values.append(self._values[key + v])
        for i: uint256 in range(lv.values, bound=MAX_COMMITTEE):
            counts[i] += 1
            for j: uint256 in range(i + 1, i + MAX_COMMITTEE, bound=MAX_COMMITTEE):
                if j >= lv.values:
                    break
                if self._agree(values[i], values[j], True, tolerance):
                    counts[i] += 1
                    counts[j] += 1
    else:
        for seat: uint256 in lv.seats:
            value: uint256 = seat >> SEAT_VALUE
            if value != 0:
                counts[value - 1] += 1
    top: uint256 = 0
    center: uint256 = 0
    for v: uint256 in range(lv.values, bound=MAX_COMMITTEE):
        if counts[v] > top:
            top = counts[v]
            center = v
    return top, center


@external
@view
def model_slot(model_id: bytes32) -> uint256:
    """@notice Slot of `model_id` in this contract (0 until its first request)."""
    return self._model_info[model_id] & 65535


# ---------------------------------------------------------------- fees

@external
def deposit(amount: uint256):
    """@notice Prepay fees into the sender's `claimable` balance: later requests draw their fee
               from it instead of a transfer each; `claim` takes what is left back."""
    assert amount > 0, "inference: deposit of zero"
    assert extcall self.token.transferFrom(msg.sender, self, amount), "inference: deposit failed"
    self.claimable[msg.sender] += amount
    log Deposited(account=msg.sender, amount=amount)


# ---------------------------------------------------------------- request and draw

@internal
def _model_of(model_id: bytes32) -> uint256:
    """The model's slot | mode << 16 | tolerance << 24, learned from the Registry on first use."""
    info: uint256 = self._model_info[model_id]
    if info != 0:
        return info
    weights_hash: bytes32 = empty(bytes32)
    registered: bool = False
    mode: uint8 = 0
    tolerance: uint256 = 0
    weights_hash, registered, mode, tolerance = staticcall self.registry.models(model_id)
    assert registered, "inference: unknown model id"
    slot: uint256 = self.model_count + 1
    assert slot < 65536, "inference: too many models"
    self.model_count = slot
    self._model_ids[slot] = model_id
    info = slot | (convert(mode, uint256) << 16) | (tolerance << 24)
    self._model_info[model_id] = info
    return info


@internal
@pure
def _nonempty(n: uint256):
    assert n > 0, "inference: empty batch"


@internal
def _request(model_id: bytes32, input_hashes: DynArray[bytes32, MAX_BATCH], input_uri: String[256], fee: uint256) -> uint256:
    info: uint256 = self._model_of(model_id)
    assert staticcall self.registry.model_nodes(model_id) >= self._current_terms() & 65535, "inference: too few active nodes"
    assert fee >= self.min_fee, "inference: fee below the minimum"
    assert block.number + 1 < 2**W_BLOCK, "inference: block past 2**32"
    assert fee < 2**(256 - H_FEE), "inference: fee above 2**79 - 1"
    requester: uint256 = self._requester_ids[msg.sender]
    if requester == 0:
        requester = self.requester_count + 1
        assert requester < 2**W_REQUESTER, "inference: too many requesters"
        self.requester_count = requester
        self._requester_ids[msg.sender] = requester
        self._requesters[requester] = msg.sender
    hot: uint256 = convert(Status.REQUESTED, uint256) | (((info >> 16) & 255) << H_MODE) | (((info >> 24) & 255) << H_TOLERANCE)
    hot |= (info & 65535) << H_MODEL
    hot |= (block.number + 1) << H_SEED_BLOCK
    hot |= block.number << H_REQUEST_BLOCK
    hot |= (requester << H_REQUESTER) | (fee << H_FEE)
    total: uint256 = fee * len(input_hashes)
    balance: uint256 = self.claimable[msg.sender]
    if balance >= total:
        hot |= H_PREPAID
    first: uint256 = self.task_count + 1
    task_id: uint256 = first
    for input_hash: bytes32 in input_hashes:
        assert input_hash != empty(bytes32), "inference: input hash is empty"
        self._hot[task_id] = hot
        log TaskRequested(task_id=task_id, requester=msg.sender, model_id=model_id, input_hash=input_hash, input_uri=input_uri, fee=fee, seed_block=block.number + 1)
        task_id += 1
    self.task_count = task_id - 1
    if balance >= total:
        self.claimable[msg.sender] = balance - total
    else:
        assert extcall self.token.transferFrom(msg.sender, self, total), "inference: fee transfer failed"
    return first


@external
def request(model_id: bytes32, input_hash: bytes32, input_uri: String[256], fee: uint256) -> uint256:
    """@notice Escrow `fee` (from the deposit if it covers it, else by transferFrom) and open a task; the committee is drawn from block.number + 1."""
    return self._request(model_id, [input_hash], input_uri, fee)


@external
def request_many(model_id: bytes32, input_hashes: DynArray[bytes32, MAX_BATCH], input_uri: String[256], fee: uint256) -> uint256:
    """
    @notice `request` of one task per input hash, all for `model_id` at `fee` each, with one
            fee payment (from the deposit if it covers them all, else one transferFrom).
    @return the first task id; the others follow it in order
    """
    self._nonempty(len(input_hashes))
    return self._request(model_id, input_hashes, input_uri, fee)


@internal
@view
def _drawable(task_id: uint256) -> bool:
    hot: uint256 = self._hot[task_id]
    seed_block: uint256 = self._field(hot, H_SEED_BLOCK, W_BLOCK)
    return self._status_of(hot) == Status.REQUESTED and block.number > seed_block and block.number - seed_block <= SEED_HORIZON


@internal
def _draw(task_id: uint256):
    hot: uint256 = self._hot[task_id]
    assert self._status_of(hot) == Status.REQUESTED, "inference: not awaiting a draw"
    seed_block: uint256 = self._field(hot, H_SEED_BLOCK, W_BLOCK)
    assert block.number > seed_block, "inference: seed not mined yet"
    assert block.number - seed_block <= SEED_HORIZON, "inference: stale seed, finalize"
    level: uint256 = self._field(hot, H_LEVEL, W_LEVEL)
    terms: uint256 = self._terms_of(task_id)
    size: uint256 = self._size_of(terms & 65535, level)
    seed: bytes32 = empty(bytes32)
    exclude: DynArray[uint256, MAX_MEMBERS] = []
    if level == 0:
        seed = keccak256(abi_encode(blockhash(seed_block), task_id))
    else:
        seed = keccak256(abi_encode(blockhash(seed_block), task_id, level))
        exclude = self._member_indices(task_id, level)
    drawn: DynArray[uint256, MAX_COMMITTEE] = extcall self.registry.open_seats(self._model_ids[self._field(hot, H_MODEL, W_MODEL)], seed, size, exclude)
    commit_deadline: uint256 = block.number + self._window(terms, T_COMMIT_WINDOW)
    assert commit_deadline <= DEADLINE_MASK, "inference: block past 2**32"
    key: uint256 = self._key(task_id, level)
    word: uint256 = commit_deadline
    if self._field(hot, H_MODE, W_MODE) == convert(NEAR, uint256):
        word |= WORD_NEAR
    members: DynArray[address, MAX_COMMITTEE] = []
    for j: uint256 in range(len(drawn), bound=MAX_COMMITTEE):
        s: uint256 = j % SEATS_PER_WORD
        if s == 0 and j > 0:
            self._seats[key + j // SEATS_PER_WORD - 1] = word
            word = 0
        word |= (drawn[j] & SEAT_INDEX) << (SEAT_BASE + SEAT_BITS * s)
        members.append(convert(convert(drawn[j] >> 16, uint160), address))
    self._seats[key + (len(drawn) - 1) // SEATS_PER_WORD] = word
    self._hot[task_id] = self._with_status(hot, Status.DRAWN)
    log CommitteeDrawn(task_id=task_id, members=members, seed=seed, commit_deadline=commit_deadline, reveal_deadline=commit_deadline + self._window(terms, T_REVEAL_WINDOW), level=level)


@external
def draw(task_id: uint256):
    """@notice Draw the committee of the task's current level; anyone may call once its seed block is mined."""
    self._draw(task_id)


@external
def draw_many(task_ids: DynArray[uint256, MAX_BATCH]) -> uint256:
    """
    @notice `draw` for every listed task that is waiting for a committee and whose seed block
            is mined and still known; the others are skipped (another caller may have drawn them).
    @return the number of committees drawn
    """
    self._nonempty(len(task_ids))
    drawn: uint256 = 0
    for task_id: uint256 in task_ids:
        if self._drawable(task_id):
            self._draw(task_id)
            drawn += 1
    return drawn


# ---------------------------------------------------------------- commit and reveal

@internal
@view
def _my_index() -> uint256:
    me: uint256 = staticcall self.registry.index_of(msg.sender)
    assert me != 0, "inference: not on the committee"
    return me


@internal
@view
def _seat(seat_key: uint256, me: uint256) -> (uint256, uint256, uint256, uint256, uint256):
    """(task id, level, level key, seat word, bit position) of the sender's seat named by
       `seat_key`; reverts unless the seat at that position is the sender's."""
    task_id: uint256 = seat_key & TASK_MASK
    level: uint256 = seat_key >> LEVEL_TAG
    position: uint256 = (seat_key >> POSITION_AT) & 255
    key: uint256 = self._key(task_id, level)
    w: uint256 = position // SEATS_PER_WORD
    bit: uint256 = SEAT_BASE + SEAT_BITS * (position % SEATS_PER_WORD)
    assert (self._seats[key + w] >> bit) & SEAT_INDEX == me, "inference: not on the committee"     # positions past the level hold 0
    return task_id, level, key, w, bit


@internal
@pure
def _leaf(seat_key: uint256, commitment: bytes32) -> bytes32:
    return keccak256(abi_encode(seat_key, commitment))


@internal
def _commit(seat_key: uint256, commitment: bytes32, me: uint256):
    key: uint256 = self._key(seat_key & TASK_MASK, seat_key >> LEVEL_TAG)
    head: uint256 = self._seats[key]
    assert head != 0, "inference: not in commit phase"
    assert block.number <= head & DEADLINE_MASK, "inference: commit window closed"
    assert commitment != empty(bytes32), "inference: commitment is empty"
    task_id: uint256 = 0
    level: uint256 = 0
    w: uint256 = 0
    bit: uint256 = 0
    task_id, level, key, w, bit = self._seat(seat_key, me)
    head += 1 << COMMITS_AT                       # counts the level's commits (never above its size)
    if w == 0:
        assert (head >> bit) & SEAT_COMMITTED == 0, "inference: already committed"
        self._seats[key] = head | (SEAT_COMMITTED << bit)
    else:
        word: uint256 = self._seats[key + w]
        assert (word >> bit) & SEAT_COMMITTED == 0, "inference: already committed"
        self._seats[key + w] = word | (SEAT_COMMITTED << bit)
        self._seats[key] = head




@internal
@pure
def _merkle_root(leaves: DynArray[bytes32, MAX_BATCH]) -> bytes32:
    layer: DynArray[bytes32, MAX_BATCH] = leaves
    width: uint256 = 1
    for _: uint256 in range(MAX_PROOF):
        if width >= len(leaves):
            break
        width *= 2
    for _: uint256 in range(MAX_BATCH):
        if len(layer) >= width:
            break
        layer.append(empty(bytes32))
    for _: uint256 in range(MAX_PROOF):
        if width == 1:
            break
        width //= 2
        for j: uint256 in range(MAX_BATCH // 2):
            if j >= width:
                break
            layer[j] = keccak256(concat(layer[2 * j], layer[2 * j + 1]))
    return layer[0]


@external
def commit_many(task_ids: DynArray[uint256, MAX_BATCH], values: DynArray[bytes32, MAX_BATCH]):
    """
    @notice Commit values[i] for seat key task_ids[i] (task id | position << 240 | level << 248),
            for every i, storing only the Merkle root of the leaves
            keccak256(abi_encode(task_ids[i], values[i])) (see `merkle_root`); any invalid entry
            reverts the whole batch. A single commit is a batch of one (root = leaf).
    """
    self._nonempty(len(task_ids))
    assert len(values) == len(task_ids), "inference: batch length mismatch"
    leaves: DynArray[bytes32, MAX_BATCH] = []
    for i: uint256 in range(len(task_ids), bound=MAX_BATCH):
        leaves.append(self._leaf(task_ids[i], values[i]))
    root: bytes32 = self._merkle_root(leaves)
    self._roots[msg.sender][root] = True
    me: uint256 = self._my_index()
    for i: uint256 in range(len(task_ids), bound=MAX_BATCH):
        self._commit(task_ids[i], values[i], me)
    log CommitBatch(member=msg.sender, root=root, seats=task_ids, commitments=values)


@internal
@pure
def _walk(leaf: bytes32, proof: DynArray[bytes32, MAX_PROOF], index: uint256) -> bytes32:
    """Root of the batch that holds `leaf` at `index`, given its proof (siblings from the leaf up)."""
    node: bytes32 = leaf
    i: uint256 = index
    for sibling: bytes32 in proof:
        if i & 1 == 0:
            node = keccak256(concat(node, sibling))
        else:
            node = keccak256(concat(sibling, node))
        i = i >> 1
    assert i == 0, "inference: reveal != commitment"
    return node


@internal
def _reveal(seat_key: uint256, revealed: bytes32, blob_hash: bytes32, me: uint256, near: bool, latest: uint256):
    """Record the reveal of `revealed` (exact: the result; near: the fingerprint); the caller
       checks its commitment against a committed root. `latest`: the current terms, which
       most tasks of a batch were requested under."""
    key: uint256 = self._key(seat_key & TASK_MASK, seat_key >> LEVEL_TAG)
    head: uint256 = self._seats[key]
    assert head != 0, "inference: not in reveal phase"
    if near:
        assert head & WORD_NEAR != 0, "inference: exact: no blob hashes"
    else:
        assert head & WORD_NEAR == 0, "inference: near: needs blob hash"
    task_id: uint256 = 0
    level: uint256 = 0
    w: uint256 = 0
    bit: uint256 = 0
    task_id, level, key, w, bit = self._seat(seat_key, me)
    word: uint256 = head
    if w > 0:
        word = self._seats[key + w]
    seat: uint256 = (word >> bit) & SEAT_MASK
    assert seat & SEAT_COMMITTED != 0, "inference: no commitment"
    assert seat >> SEAT_VALUE == 0, "inference: already revealed"
    deadline: uint256 = head & DEADLINE_MASK
    terms: uint256 = latest
    if task_id < latest >> TERMS_FIRST_TASK:
        terms = self._terms_of(task_id)
    assert block.number > deadline or (head >> COMMITS_AT) & 127 == self._size_of(terms & 65535, level), "inference: reveal not open yet"
    assert block.number <= deadline + self._window(terms, T_REVEAL_WINDOW), "inference: reveal window closed"
    stored: uint256 = head >> VALUES_AT
    value: uint256 = stored
    if near:
        self.blobs[task_id][msg.sender] = blob_hash      # near: every reveal keeps its own value, in reveal order
    else:
        for v: uint256 in range(stored, bound=MAX_COMMITTEE):
            if self._values[key + v] == revealed:
                value = v
                break
    if value == stored:
        assert stored < MAX_COMMITTEE, "inference: too many values"
        self._values[key + value] = revealed
        head = (head & ~(convert(127, uint256) << VALUES_AT)) | ((stored + 1) << VALUES_AT)
    if w == 0:
        self._seats[key] = head | ((value + 1) << (bit + SEAT_VALUE))
    else:
        self._seats[key + w] = word | ((value + 1) << (bit + SEAT_VALUE))
        if value == stored:
            self._seats[key] = head


@internal
@view
def _exact_leaf(seat_key: uint256, result: bytes32, salt: bytes32) -> bytes32:
    return self._leaf(seat_key, keccak256(abi_encode(seat_key & TASK_MASK, result, msg.sender, salt)))


@internal
@view
def _near_leaf(seat_key: uint256, fingerprint: bytes32, blob_hash: bytes32, salt: bytes32) -> bytes32:
    committed: bytes32 = keccak256(abi_encode(fingerprint, blob_hash))
    return self._leaf(seat_key, keccak256(abi_encode(seat_key & TASK_MASK, committed, msg.sender, salt)))


@internal
@view
def _check_roots(leaves: DynArray[bytes32, MAX_BATCH], paths: DynArray[uint256, MAX_BATCH], proofs: DynArray[bytes32, MAX_BATCH * MAX_PROOF]):
    """Every leaf opens a root the sender committed. `paths` empty: the leaves are a whole
       batch, in commit order (one root, no proofs); else leaf i sits at paths[i] & 255 of a
       batch, with its proof the next paths[i] >> 8 words of `proofs`."""
    if len(paths) == 0:
        assert len(proofs) == 0 and self._roots[msg.sender][self._merkle_root(leaves)], "inference: reveal != commitment"
        return
    assert len(paths) == len(leaves), "inference: batch length mismatch"
    at: uint256 = 0
    for i: uint256 in range(len(leaves), bound=MAX_BATCH):
        depth: uint256 = paths[i] >> 8
        assert depth <= MAX_PROOF and at + depth <= len(proofs), "inference: proof words missing"
        proof: DynArray[bytes32, MAX_PROOF] = []
        for j: uint256 in range(depth, bound=MAX_PROOF):
            proof.append(proofs[at + j])
        assert self._roots[msg.sender][self._walk(leaves[i], proof, paths[i] & 255)], "inference: reveal != commitment"
        at += depth
    assert at == len(proofs), "inference: unused proof words"


@external
def reveal_many(task_ids: DynArray[uint256, MAX_BATCH], results: DynArray[bytes32, MAX_BATCH], blob_hashes: DynArray[bytes32, MAX_BATCH], salts: DynArray[bytes32, MAX_BATCH], paths: DynArray[uint256, MAX_BATCH], proofs: DynArray[bytes32, MAX_BATCH * MAX_PROOF]):
    """
    @notice Reveal results[i] with salts[i] for seat key task_ids[i], for every i; any invalid
            entry reverts the whole batch. Exact models: results are sha256 of the canonical
            outputs and `blob_hashes` is empty. Near models: results are SimHash fingerprints,
            blob_hashes[i] the sha256 of each output blob, and the commitment covers
            keccak256(abi_encode(fingerprint, blob_hash)). paths[i] = leaf index of the
            commitment in its batch + (proof depth << 8); its proof is the next `depth` words
            of `proofs` (siblings from the leaf up). `paths` and `proofs` empty: the entries
            are one whole commit batch, in commit order (a single commit: a batch of one).
    """
    self._nonempty(len(task_ids))
    near: bool = len(blob_hashes) > 0
    assert len(results) == len(task_ids) and len(salts) == len(task_ids) and (not near or len(blob_hashes) == len(task_ids)), "inference: batch length mismatch"
    me: uint256 = self._my_index()
    latest: uint256 = self._current_terms()
    leaves: DynArray[bytes32, MAX_BATCH] = []
    for i: uint256 in range(len(task_ids), bound=MAX_BATCH):
        if near:
            leaves.append(self._near_leaf(task_ids[i], results[i], blob_hashes[i], salts[i]))
            self._reveal(task_ids[i], results[i], blob_hashes[i], me, True, latest)
        else:
            leaves.append(self._exact_leaf(task_ids[i], results[i], salts[i]))
            self._reveal(task_ids[i], results[i], empty(bytes32), me, False, latest)
    self._check_roots(leaves, paths, proofs)
    log RevealBatch(member=msg.sender, seats=task_ids)


# ---------------------------------------------------------------- finalize, challenge, close

@internal
def _escalate(task_id: uint256, hot: uint256, level: uint256):
    h: uint256 = self._put(hot, H_LEVEL, W_LEVEL, level + 1)
    h = self._put(self._with_status(h, Status.REQUESTED), H_SEED_BLOCK, W_BLOCK, block.number + 1)
    self._hot[task_id] = h
    log TaskEscalated(task_id=task_id, level=level + 1, size=self._level_size(task_id, level + 1), seed_block=block.number + 1)


@internal
@view
def _can_escalate(task_id: uint256, hot: uint256, level: uint256) -> bool:
    if level + 1 >= self._max_levels(task_id):
        return False
    earlier: DynArray[address, MAX_MEMBERS] = staticcall self.registry.nodes_at(self._member_indices(task_id, level + 1))
    return staticcall self.registry.available(self._model_ids[self._field(hot, H_MODEL, W_MODEL)], earlier) >= self._level_size(task_id, level + 1)


@internal
@view
def _value_at(task_id: uint256, ref: uint256) -> bytes32:
    """The value at a result reference (level << 8 | value index)."""
    return self._values[self._key(task_id, ref >> 8) + (ref & 255)]


@internal
def _finalize(task_id: uint256, strict: bool) -> bool:
    """End the current level or close the task (see `finalize`). A task that is not ready is
       skipped (returns False), or with `strict` reverts with the reason."""
    hot: uint256 = self._hot[task_id]
    status: Status = self._status_of(hot)
    if status == Status.REQUESTED:
        # the level's committee was never drawn and can no longer be: give the fee back
        if block.number <= self._field(hot, H_SEED_BLOCK, W_BLOCK) + SEED_HORIZON:
            assert not strict, "inference: not drawn, call draw"
            return False
        self._close(task_id, hot, empty(bytes32), False, 0)
        return True
    if status == Status.PROVISIONAL:
        if block.number <= self._field(hot, H_FINAL_BLOCK, W_BLOCK):
            assert not strict, "inference: challenge window open"
            return False
        self._close(task_id, hot, self._value_at(task_id, self._field(hot, H_RESULT, W_RESULT)), True, 0)
        return True
    if status != Status.DRAWN:
        assert not strict, "inference: task is not open"
        return False
    level: uint256 = self._field(hot, H_LEVEL, W_LEVEL)
    terms: uint256 = self._terms_of(task_id)
    size: uint256 = self._size_of(terms & 65535, level)
    lv: Level = self._level(task_id, level, size)
    if lv.reveals < size and block.number <= lv.deadline + self._window(terms, T_REVEAL_WINDOW):
        assert not strict, "inference: too early to finalize"
        return False
    top: uint256 = 0
    center: uint256 = 0
    top, center = self._center(task_id, level, lv, self._field(hot, H_TOLERANCE, W_TOLERANCE))
    quorum: uint256 = self._level_quorum(task_id, level)
    if top >= quorum and top == lv.reveals:
        self._settle(task_id, hot, level, center, top)
    elif self._can_escalate(task_id, hot, level):
        self._escalate(task_id, hot, level)
    elif top >= quorum:
        self._settle(task_id, hot, level, center, top)
    else:
        self._close(task_id, hot, empty(bytes32), False, top)
    return True


@external
def finalize(task_id: uint256):
    """@notice End the current level (settle, escalate or refund), or close a provisional task after its challenge window."""
    self._finalize(task_id, True)
    self._flush()


@external
def finalize_many(task_ids: DynArray[uint256, MAX_BATCH]) -> uint256:
    """
    @notice `finalize` every listed task that can be finalized now; the others (not ready, or
            already final) are skipped.
    @return the number of tasks finalized
    """
    self._nonempty(len(task_ids))
    done: uint256 = 0
    for task_id: uint256 in task_ids:
        if self._finalize(task_id, False):
            done += 1
    self._flush()
    return done


@internal
def _settle(task_id: uint256, hot: uint256, level: uint256, center: uint256, top: uint256):
    h: uint256 = self._put(hot, H_RESULT, W_RESULT, (level << 8) | center) | H_HAS_RESULT
    value: bytes32 = self._values[self._key(task_id, level) + center]
    if self.challenge_window > 0 and h & H_CHALLENGED == 0 and level + 1 < self._max_levels(task_id):
        deadline: uint256 = block.number + self.challenge_window
        self._hot[task_id] = self._put(self._with_status(h, Status.PROVISIONAL), H_FINAL_BLOCK, W_BLOCK, deadline)
        log TaskProvisional(task_id=task_id, result=value, challenge_deadline=deadline)
    else:
        self._close(task_id, h, value, True, top)


@external
def challenge(task_id: uint256):
    """@notice Dispute a provisional result: post `challenge_bond` and the task escalates.
               The bond comes back if the final result differs, else it pays the committee."""
    hot: uint256 = self._hot[task_id]
    assert self._status_of(hot) == Status.PROVISIONAL, "inference: no provisional result"
    assert self._requester_ids[msg.sender] == self._field(hot, H_REQUESTER, W_REQUESTER), "inference: only the requester"
    assert block.number <= self._field(hot, H_FINAL_BLOCK, W_BLOCK), "inference: challenge too late"
    level: uint256 = self._field(hot, H_LEVEL, W_LEVEL)
    assert self._can_escalate(task_id, hot, level), "inference: no level to escalate"
    bond: uint256 = self.challenge_bond
    assert extcall self.token.transferFrom(msg.sender, self, bond), "inference: bond transfer failed"
    self.challenges[task_id] = Challenge(challenger=msg.sender, bond=bond, challenged=self._value_at(task_id, self._field(hot, H_RESULT, W_RESULT)))
    log TaskChallenged(task_id=task_id, challenger=msg.sender, bond=bond)
    self._escalate(task_id, hot | H_CHALLENGED, level)


@internal
def _slash(task_id: uint256, index: uint256, reason: String[64]):
    member: address = staticcall self.registry.node_at(index)
    amount: uint256 = staticcall self.registry.stake_of(member) * self.slash_bps // 10000
    taken: uint256 = extcall self.registry.slash(member, amount, reason)
    log MemberSlashed(task_id=task_id, member=member, amount=taken, reason=reason)


@internal
def _owe(index: uint256, add: uint256):
    """Add `add` (earned << 32 | work units << 16 | seats to close) to what this call owes
       the member at Registry `index`."""
    owed: uint256 = self._owed[index]
    if owed == 0:
        if len(self._owed_list) == MAX_OWED:
            self._flush()
        self._owed_list.append(index)
    self._owed[index] = owed + add


@internal
def _flush():
    """Pay out `_owed`: one Registry call closes the members' seats (and names them), their
       earnings are credited, and one Emission call reports the work of the winners."""
    indices: DynArray[uint256, MAX_OWED] = self._owed_list
    if len(indices) == 0:
        return
    self._owed_list = []
    owed: DynArray[uint256, MAX_OWED] = []
    counts: DynArray[uint256, MAX_OWED] = []
    for index: uint256 in indices:
        word: uint256 = self._owed[index]
        self._owed[index] = 0
        owed.append(word)
        counts.append(word & 65535)
    members: DynArray[address, MAX_OWED] = extcall self.registry.close_seats(indices, counts)    # the members' tasks close here
    winners: DynArray[address, MAX_OWED] = []
    units: DynArray[uint256, MAX_OWED] = []
    for i: uint256 in range(len(members), bound=MAX_OWED):
        if owed[i] >> 32 != 0:
            self.claimable[members[i]] += owed[i] >> 32
        if (owed[i] >> 16) & 65535 != 0:
            winners.append(members[i])
            units.append((owed[i] >> 16) & 65535)
    if self.emission.address != empty(address) and len(winners) > 0:
        # settled work earns epoch rewards; a failing Emission never blocks settlement
        ok: bool = raw_call(
            self.emission.address,
            concat(method_id("record_units(address[],uint256[])"), abi_encode(winners, units)),
            revert_on_failure=False,
        )


@internal
def _close(task_id: uint256, hot: uint256, final: bytes32, settled: bool, top: uint256):
    """Pay agreeing members of every level, slash dissenters and no-shows, release the members
       (owed until `_flush`)."""
    fee: uint256 = hot >> H_FEE
    near: bool = self._field(hot, H_MODE, W_MODE) == convert(NEAR, uint256)
    tolerance: uint256 = self._field(hot, H_TOLERANCE, W_TOLERANCE)
    # every member of every drawn level: 0 = no reveal, 1 = revealed, 2 = revealed a value agreeing with `final`
    indices: DynArray[uint256, MAX_MEMBERS] = []
    states: DynArray[uint256, MAX_MEMBERS] = []
    agreeing: uint256 = 0
    for level: uint256 in range(self._levels_drawn(task_id, hot), bound=MAX_LEVELS):
        lv: Level = self._level(task_id, level, self._level_size(task_id, level))
        key: uint256 = self._key(task_id, level)
        ok: DynArray[bool, MAX_COMMITTEE] = []
        for v: uint256 in range(lv.values, bound=MAX_COMMITTEE):
            ok.append(settled and self._agree(self._values[key + v], final, near, tolerance))
        for seat: uint256 in lv.seats:
            indices.append(seat & SEAT_INDEX)
            value: uint256 = seat >> SEAT_VALUE
            if value == 0:
                states.append(0)
            elif ok[value - 1]:
                states.append(2)
                agreeing += 1
            else:
                states.append(1)
    pot: uint256 = fee
    bond_back: uint256 = 0
    challenger: address = empty(address)
    if hot & H_CHALLENGED != 0:
        c: Challenge = self.challenges[task_id]
        challenger = c.challenger
        bond_back = c.bond
        if settled and self._agree(final, c.challenged, near, tolerance):
            pot += c.bond          # the challenge lost: its bond pays the committee
            bond_back = 0
    share: uint256 = 0
    if settled:
        share = pot // agreeing
    for i: uint256 in range(len(indices), bound=MAX_MEMBERS):
        if states[i] == 0:
            self._slash(task_id, indices[i], "inference: no reveal")
        elif settled and states[i] == 1:
            self._slash(task_id, indices[i], "inference: dissent from the final result")
        if settled and states[i] == 2:
            self._owe(indices[i], (share << 32) | (1 << 16) | 1)
        else:
            self._owe(indices[i], 1)
    if bond_back > 0:
        assert extcall self.token.transfer(challenger, bond_back), "inference: bond transfer failed"
    h: uint256 = self._put(hot, H_FINAL_BLOCK, W_BLOCK, block.number)
    back: uint256 = fee
    if settled:
        self._hot[task_id] = self._with_status(h, Status.SETTLED)
        back = pot - share * agreeing
        log TaskSettled(task_id=task_id, result=final, agreeing=agreeing, share=share)
    else:
        self._hot[task_id] = self._with_status(h, Status.REFUNDED)
        log TaskRefunded(task_id=task_id, fee=fee, top_count=top)
    if back > 0:
        # refunds and leftovers go where the fee came from: the deposit, or the requester's wallet
        requester: address = self._requesters[self._field(hot, H_REQUESTER, W_REQUESTER)]
        if hot & H_PREPAID != 0:
            self.claimable[requester] += back
        else:
            assert extcall self.token.transfer(requester, back), "inference: refund failed"


@external
def claim() -> uint256:
    amount: uint256 = self.claimable[msg.sender]
    assert amount > 0, "inference: nothing to claim"
    self.claimable[msg.sender] = 0
    assert extcall self.token.transfer(msg.sender, amount), "inference: claim transfer failed"
    log Claimed(account=msg.sender, amount=amount)
    return amount


# ---------------------------------------------------------------- views


@external
@view
def state(task_id: uint256, level: uint256) -> (uint256, uint256, address, bytes32, DynArray[uint256, MAX_WORDS], DynArray[bytes32, MAX_COMMITTEE]):
    """
    @notice The stored state of a task, for readers off chain (`brainnet.chain.inference_state`
            decodes it): its hot word, its packed terms, requester, model id, and the seat words
            and stored values of `level` (255: the task's current level). The layout is in the
            contract's header and in docs/architecture.md ("Storage").
    """
    hot: uint256 = self._hot[task_id]
    lv: uint256 = level
    if lv == 255:
        lv = self._field(hot, H_LEVEL, W_LEVEL)
    assert lv < MAX_LEVELS, "inference: no such level"
    terms: uint256 = self._terms_of(task_id)
    key: uint256 = self._key(task_id, lv)
    words: DynArray[uint256, MAX_WORDS] = []
    for w: uint256 in range((self._size_of(terms & 65535, lv) + SEATS_PER_WORD - 1) // SEATS_PER_WORD, bound=MAX_WORDS):
        words.append(self._seats[key + w])
    values: DynArray[bytes32, MAX_COMMITTEE] = []
    for v: uint256 in range(words[0] >> VALUES_AT, bound=MAX_COMMITTEE):
        values.append(self._values[key + v])
    return hot, terms, self._requesters[self._field(hot, H_REQUESTER, W_REQUESTER)], self._model_ids[self._field(hot, H_MODEL, W_MODEL)], words, values


@external
@view
def outcome(task_id: uint256) -> (uint256, bytes32, uint256):
    """@notice (status flag as a number, result: empty until settled or provisional, tolerance) of a task; for contracts that act on a task's result."""
    hot: uint256 = self._hot[task_id]
    result: bytes32 = empty(bytes32)
    if hot & H_HAS_RESULT != 0:
        result = self._value_at(task_id, self._field(hot, H_RESULT, W_RESULT))
    return hot & 255, result, self._field(hot, H_TOLERANCE, W_TOLERANCE)
