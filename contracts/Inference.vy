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
     the revealed value most reveals agree with, ties to the earliest reveal.
     Phases come from block numbers. `brainnet.protocol.escalation` mirrors every rule.
     Batches: `draw_many`, `commit_many`, `reveal_many`, `reveal_near_many` and
     `finalize_many` do what the single calls do for up to MAX_BATCH tasks in one
     transaction (the base cost and the warm Registry slots are shared). `draw_many` and
     `finalize_many` skip tasks that are not ready (another node may have been first);
     `commit_many` and the reveals check every entry as the single call does.
     Commitments are Merkle roots: `commit_many` hashes the batch's commitments into one
     root stored once per (member, batch); each task keeps, in the member's state word, the
     sequence number of that root. A reveal of a batched commitment carries its Merkle proof
     (`reveal_many`); a single `commit` is a batch of one (root = commitment, empty proof).
     Leaves are padded to a power of two with zero words; a node hashes keccak(left, right).
     Storage per (task, member): one state word (level + 1, committed and revealed flags,
     root sequence number, index of the revealed value among the level's values).
     Parameters change only through `set_param`, called by `governance` (the deployer
     until it hands governance to the Governance contract). A task keeps the committee
     size, quorum and level count it was requested under: each change of K, Q or L opens a
     new terms version that applies from the next task id (`task_terms`), so a change never
     reshapes a committee already at work and no per-task storage is spent on it. When a
     task settles, the members on the winning side are reported to `emission` (one work
     unit each) for the epoch's inference rewards.
     Reverts start with "inference:".
"""

from ethereum.ercs import IERC20

MAX_COMMITTEE: constant(uint256) = 128     # members of one level
MAX_MEMBERS: constant(uint256) = 256       # members of all levels of a task
MAX_LEVELS: constant(uint256) = 6
MAX_BATCH: constant(uint256) = 64          # tasks in one batched call
LEVEL_MASK: constant(uint256) = 255        # member state: level + 1 in the low byte
REVEALED: constant(uint256) = 256          # member state: revealed flag
COMMITTED: constant(uint256) = 512         # member state: committed flag
VALUE_SHIFT: constant(uint256) = 16        # member state: index of its revealed value (bits 16..31)
ROOT_SHIFT: constant(uint256) = 64         # member state: sequence number of its commitment root
MAX_PROOF: constant(uint256) = 6
# the hot word of a task: status, level, mode, counters and block numbers packed in one slot,
# (shift of each field; widths in _HOT_BITS below) so commit and reveal read one slot, not eight
H_STATUS: constant(uint256) = 0
H_LEVEL: constant(uint256) = 8
H_MODE: constant(uint256) = 16
H_COMMITS: constant(uint256) = 24
H_REVEALS: constant(uint256) = 40
H_TOP_COUNT: constant(uint256) = 56
H_COMMIT_DEADLINE: constant(uint256) = 72
H_REVEAL_DEADLINE: constant(uint256) = 112
H_SEED_BLOCK: constant(uint256) = 152
H_TOLERANCE: constant(uint256) = 192
H_REQUEST_BLOCK: constant(uint256) = 200
H_CENTER: constant(uint256) = 240          # reveal index of the current level's center           # log2(MAX_BATCH): depth of a batch's Merkle tree
SEED_HORIZON: constant(uint256) = 256      # blocks whose hash the EVM still knows
EXACT: constant(uint8) = 0
NEAR: constant(uint8) = 1
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
TERMS_FIRST_TASK: constant(uint256) = 64     # packed terms: K | Q << 16 | L << 32 | first task id << 64

interface Emission:
    def record_work(nodes: DynArray[address, MAX_MEMBERS], units: uint256): nonpayable   # called by raw_call

interface Registry:
    def sample(model_id: bytes32, seed: bytes32, k: uint256) -> DynArray[address, MAX_COMMITTEE]: view
    def sample_excluding(model_id: bytes32, seed: bytes32, k: uint256, exclude: DynArray[address, MAX_MEMBERS]) -> DynArray[address, MAX_COMMITTEE]: view
    def available(model_id: bytes32, exclude: DynArray[address, MAX_MEMBERS]) -> uint256: view
    def models(model_id: bytes32) -> (bytes32, bool, uint8, uint256): view
    def model_nodes(model_id: bytes32) -> uint256: view
    def stake_of(node: address) -> uint256: view
    def slash(node: address, amount: uint256, reason: String[64]) -> uint256: nonpayable
    def task_opened(node: address): nonpayable
    def task_closed(node: address): nonpayable
    def tasks_opened(nodes: DynArray[address, MAX_MEMBERS]): nonpayable
    def tasks_closed(nodes: DynArray[address, MAX_MEMBERS]): nonpayable
    def indices_of(nodes: DynArray[address, MAX_COMMITTEE]) -> DynArray[uint256, MAX_COMMITTEE]: view
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

struct Task:
    requester: address
    model_id: bytes32
    input_hash: bytes32
    fee: uint256
    request_block: uint256
    status: Status
    seed: bytes32            # seed of the current level's committee
    commit_deadline: uint256
    reveal_deadline: uint256
    commits: uint256         # of the current level
    reveals: uint256         # of the current level
    top_result: bytes32      # center of the current level
    top_count: uint256       # reveals that agree with the center
    result: bytes32          # provisional or final value
    final_block: uint256
    level: uint256
    seed_block: uint256      # block whose hash seeds the current level
    mode: uint8
    tolerance: uint256
    challenge_deadline: uint256
    challenger: address
    bond: uint256
    challenged: bytes32      # the provisional value the challenger disputed

struct TaskCold:                 # the fields of Task that are not packed into the hot word
    payer: uint256           # requester (low 160 bits) | fee << 160
    model_id: bytes32
    input_hash: bytes32
    seed: bytes32            # seed of the current level's committee
    top_result: bytes32      # center of the current level
    result: bytes32          # provisional or final value
    final_block: uint256
    challenge_deadline: uint256
    challenger: address
    bond: uint256
    challenged: bytes32      # the provisional value the challenger disputed

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

event Committed:
    task_id: indexed(uint256)
    member: indexed(address)
    commitment: bytes32

event Revealed:
    task_id: indexed(uint256)
    member: indexed(address)
    result: bytes32
    blob_hash: bytes32

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

event ParamSet:
    param: indexed(uint256)
    value: uint256

event GovernanceChanged:
    governance: indexed(address)

token: public(IERC20)
registry: public(Registry)
commit_window: public(uint256)
reveal_window: public(uint256)
slash_bps: public(uint256)               # share of a member's stake slashed, in 1/10000
min_fee: public(uint256)
challenge_window: public(uint256)        # blocks a settled level stays open to a challenge; 0 = none
challenge_bond: public(uint256)
governance: public(address)              # the only caller of set_param
emission: public(Emission)               # told about settled work; empty = no rewards
terms_version: public(uint256)           # latest version of (K, Q, L); see _terms_of
_terms: HashMap[uint256, uint256]        # version -> K | Q << 16 | L << 32 | first task id << 64

_tasks: HashMap[uint256, TaskCold]
_hot: HashMap[uint256, uint256]
task_count: public(uint256)
_state: HashMap[uint256, HashMap[address, uint256]]                # level + 1 | REVEALED; 0 = not a member
_roots: HashMap[address, HashMap[uint256, bytes32]]                # member -> root sequence number -> Merkle root
root_count: public(HashMap[address, uint256])                      # roots a member has committed
_blobs: HashMap[uint256, HashMap[address, bytes32]]                # near: sha256 of the revealed output blob
claimable: public(HashMap[address, uint256])
_packed: HashMap[uint256, HashMap[uint256, uint256]]               # members of all levels in draw order: Registry
                                                                   # indices, 16 bits each, 16 per word; word 0's
                                                                   # low 16 bits hold the count
_tally: HashMap[uint256, HashMap[bytes32, uint256]]                # exact: (task, level) -> value -> count | first reveal index << 16
_values: HashMap[uint256, HashMap[uint256, bytes32]]               # (task, level) -> reveal index -> value (exact: first reveals only)
_counts: HashMap[uint256, HashMap[uint256, uint256]]               # near: reveals agreeing with that value


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
    self._check_terms(committee_size, quorum, max_levels)
    assert commit_window > 0 and reveal_window > 0, "inference: windows must be positive"
    assert slash_bps <= 10000, "inference: slash_bps above 10000"
    self.governance = msg.sender
    self._terms[0] = committee_size | (quorum << 16) | (max_levels << 32)      # from task 0 on
    self.token = token
    self.registry = registry
    self.commit_window = commit_window
    self.reveal_window = reveal_window
    self.slash_bps = slash_bps
    self.min_fee = min_fee
    self.challenge_window = challenge_window
    self.challenge_bond = challenge_bond


# ---------------------------------------------------------------- parameters

@internal
@pure
def _check_terms(committee_size: uint256, quorum: uint256, max_levels: uint256):
    assert committee_size > 0 and committee_size <= MAX_COMMITTEE, "inference: committee size out of range"
    assert quorum * 2 > committee_size and quorum <= committee_size, "inference: quorum must be a majority of the committee"
    assert max_levels > 0 and max_levels <= MAX_LEVELS, "inference: max_levels out of range"
    # level i has (K + 1)·2^i − 1 members: the last (K + 1)·2^(L−1) − 1, all L together (K + 1)(2^L − 1) − L
    assert ((committee_size + 1) << (max_levels - 1)) - 1 <= MAX_COMMITTEE and (committee_size + 1) * ((1 << max_levels) - 1) - max_levels <= MAX_MEMBERS, "inference: levels too large for committee_size"


@internal
def _new_terms(committee_size: uint256, quorum: uint256, max_levels: uint256):
    """Open a terms version for tasks requested from now on."""
    self._check_terms(committee_size, quorum, max_levels)
    version: uint256 = self.terms_version + 1
    self._terms[version] = committee_size | (quorum << 16) | (max_levels << 32) | ((self.task_count + 1) << TERMS_FIRST_TASK)
    self.terms_version = version


@internal
@view
def _current_terms() -> uint256:
    return self._terms[self.terms_version]


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
    """@notice Change one parameter (P_* ids); only `governance` may. Open tasks keep their K, Q, L."""
    assert msg.sender == self.governance, "inference: only governance may set parameters"
    assert param >= P_COMMITTEE_SIZE and param <= P_EMISSION, "inference: unknown parameter"
    if param <= P_QUORUM or param == P_MAX_LEVELS:
        terms: uint256 = self._current_terms()
        size: uint256 = terms & 65535
        quorum: uint256 = (terms >> 16) & 65535
        levels: uint256 = (terms >> 32) & 65535
        if param == P_COMMITTEE_SIZE:
            size = new_value
            quorum = new_value // 2 + 1         # a bare majority of the new size
        elif param == P_QUORUM:
            quorum = new_value
        else:
            levels = new_value
        self._new_terms(size, quorum, levels)
    elif param == P_EMISSION:
        assert new_value <= convert(max_value(uint160), uint256), "inference: emission is not an address"
        self.emission = Emission(convert(convert(new_value, uint160), address))
    else:
        assert new_value > 0 or param > P_REVEAL_WINDOW, "inference: windows must be positive"
        assert new_value <= 10000 or param != P_SLASH_BPS, "inference: slash_bps above 10000"
        if param == P_COMMIT_WINDOW:
            self.commit_window = new_value
        elif param == P_REVEAL_WINDOW:
            self.reveal_window = new_value
        elif param == P_SLASH_BPS:
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
    assert msg.sender == self.governance, "inference: only governance may change governance"
    assert new_governance != empty(address), "inference: governance is the zero address"
    self.governance = new_governance
    log GovernanceChanged(governance=new_governance)


# ---------------------------------------------------------------- task storage

@internal
@view
def _hot_get(task_id: uint256, at: uint256, bits: uint256) -> uint256:
    return (self._hot[task_id] >> at) & ((1 << bits) - 1)


@internal
def _hot_put(task_id: uint256, at: uint256, bits: uint256, x: uint256):
    assert x < (1 << bits), "inference: packed task field out of range"
    mask: uint256 = ((1 << bits) - 1) << at
    self._hot[task_id] = (self._hot[task_id] & ~mask) | (x << at)


@internal
@view
def _status(task_id: uint256) -> Status:
    h: uint256 = self._hot[task_id] & 255
    if h == 0:
        return empty(Status)
    return convert(h, Status)


@internal
@view
def _load(task_id: uint256) -> Task:
    h: uint256 = self._hot[task_id]
    c: TaskCold = self._tasks[task_id]
    status: Status = empty(Status)
    if h & 255 != 0:
        status = convert(h & 255, Status)
    return Task(
        requester=convert(convert(c.payer & (2**160 - 1), uint160), address), model_id=c.model_id,
        input_hash=c.input_hash, fee=c.payer >> 160,
        request_block=(h >> H_REQUEST_BLOCK) & (2**40 - 1), status=status, seed=c.seed,
        commit_deadline=(h >> H_COMMIT_DEADLINE) & (2**40 - 1), reveal_deadline=(h >> H_REVEAL_DEADLINE) & (2**40 - 1),
        commits=(h >> H_COMMITS) & 65535, reveals=(h >> H_REVEALS) & 65535, top_result=c.top_result,
        top_count=(h >> H_TOP_COUNT) & 65535, result=c.result, final_block=c.final_block,
        level=(h >> H_LEVEL) & 255, seed_block=(h >> H_SEED_BLOCK) & (2**40 - 1),
        mode=convert((h >> H_MODE) & 255, uint8), tolerance=(h >> H_TOLERANCE) & 255,
        challenge_deadline=c.challenge_deadline, challenger=c.challenger, bond=c.bond, challenged=c.challenged,
    )


@external
@view
def tasks(task_id: uint256) -> Task:
    """@notice The task, all fields (the hot ones are unpacked from their shared word)."""
    return self._load(task_id)


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
def _agree(a: bytes32, b: bytes32, mode: uint8, tolerance: uint256) -> bool:
    if mode == EXACT:
        return a == b
    return self._popcount(convert(a, uint256) ^ convert(b, uint256)) <= tolerance


@external
@view
def level_size(level: uint256) -> uint256:
    """@notice Size of `level` for a task requested now (current committee_size)."""
    return self._size_of(self._current_terms() & 65535, level)


@external
@view
def level_quorum(level: uint256) -> uint256:
    """@notice Quorum of `level` for a task requested now."""
    terms: uint256 = self._current_terms()
    if level == 0:
        return (terms >> 16) & 65535
    return self._size_of(terms & 65535, level) // 2 + 1


@external
@view
def task_level_size(task_id: uint256, level: uint256) -> uint256:
    """@notice Size of `level` of task `task_id` (its committee size as requested)."""
    return self._level_size(task_id, level)


@external
@pure
def popcount(x: uint256) -> uint256:
    return self._popcount(x)


# ---------------------------------------------------------------- request and draw

@external
def request(model_id: bytes32, input_hash: bytes32, input_uri: String[256], fee: uint256) -> uint256:
    """@notice Escrow `fee` and open a task; the committee is drawn from block.number + 1."""
    weights_hash: bytes32 = empty(bytes32)
    registered: bool = False
    mode: uint8 = 0
    tolerance: uint256 = 0
    weights_hash, registered, mode, tolerance = staticcall self.registry.models(model_id)
    assert registered, "inference: unknown model id"
    assert staticcall self.registry.model_nodes(model_id) >= self._current_terms() & 65535, "inference: not enough active nodes serve this model"
    assert fee >= self.min_fee, "inference: fee below the minimum"
    assert fee < 2**96, "inference: fee above 2**96 - 1"
    assert input_hash != empty(bytes32), "inference: input hash is empty"
    assert extcall self.token.transferFrom(msg.sender, self, fee), "inference: fee transfer failed"
    task_id: uint256 = self.task_count + 1
    self.task_count = task_id
    # field by field: the fields that start at zero are not written (a zero write still costs)
    self._tasks[task_id].payer = convert(msg.sender, uint256) | (fee << 160)
    self._tasks[task_id].model_id = model_id
    self._tasks[task_id].input_hash = input_hash
    self._hot_put(task_id, H_REQUEST_BLOCK, 40, block.number)
    self._hot_put(task_id, H_STATUS, 8, convert(Status.REQUESTED, uint256))
    self._hot_put(task_id, H_SEED_BLOCK, 40, block.number + 1)
    if mode != 0:
        self._hot_put(task_id, H_MODE, 8, convert(mode, uint256))
    if tolerance != 0:
        self._hot_put(task_id, H_TOLERANCE, 8, tolerance)
    log TaskRequested(task_id=task_id, requester=msg.sender, model_id=model_id, input_hash=input_hash, input_uri=input_uri, fee=fee, seed_block=block.number + 1)
    return task_id


@internal
def _append_members(task_id: uint256, members: DynArray[address, MAX_COMMITTEE]):
    """Append `members` (as Registry indices) to the task's packed member list."""
    n: uint256 = self._packed[task_id][0] & 65535
    slot: uint256 = (n + 1) // 16
    word: uint256 = self._packed[task_id][slot]
    indices: DynArray[uint256, MAX_COMMITTEE] = staticcall self.registry.indices_of(members)
    for index: uint256 in indices:
        g: uint256 = n + 1
        if g // 16 != slot:
            self._packed[task_id][slot] = word
            slot = g // 16
            word = 0
        word |= index << (16 * (g % 16))
        n = g
    self._packed[task_id][slot] = word
    self._packed[task_id][0] = ((self._packed[task_id][0] >> 16) << 16) | n


@internal
@view
def _member_list(task_id: uint256) -> DynArray[address, MAX_MEMBERS]:
    """Members of every level of the task, in draw order."""
    indices: DynArray[uint256, MAX_MEMBERS] = []
    word: uint256 = self._packed[task_id][0]
    n: uint256 = word & 65535
    if n == 0:
        return []
    for p: uint256 in range(MAX_MEMBERS):
        if p >= n:
            break
        g: uint256 = p + 1
        if g % 16 == 0:
            word = self._packed[task_id][g // 16]
        indices.append((word >> (16 * (g % 16))) & 65535)
    return staticcall self.registry.nodes_at(indices)


@internal
@view
def _drawable(task_id: uint256) -> bool:
    seed_block: uint256 = self._hot_get(task_id, H_SEED_BLOCK, 40)
    return self._status(task_id) == Status.REQUESTED and block.number > seed_block and block.number - seed_block <= SEED_HORIZON


@internal
def _draw(task_id: uint256):
    assert self._status(task_id) == Status.REQUESTED, "inference: task is not waiting for a committee"
    seed_block: uint256 = self._hot_get(task_id, H_SEED_BLOCK, 40)
    assert block.number > seed_block, "inference: seed block not mined yet"
    assert block.number - seed_block <= SEED_HORIZON, "inference: seed block too old, finalize to refund"
    level: uint256 = self._hot_get(task_id, H_LEVEL, 8)
    model_id: bytes32 = self._tasks[task_id].model_id
    seed: bytes32 = empty(bytes32)
    members: DynArray[address, MAX_COMMITTEE] = []
    size: uint256 = self._level_size(task_id, level)
    if level == 0:
        seed = keccak256(abi_encode(blockhash(seed_block), task_id))
        members = staticcall self.registry.sample(model_id, seed, size)
    else:
        seed = keccak256(abi_encode(blockhash(seed_block), task_id, level))
        members = staticcall self.registry.sample_excluding(model_id, seed, size, self._member_list(task_id))
    for m: address in members:
        self._state[task_id][m] = level + 1
    extcall self.registry.tasks_opened(members)
    self._append_members(task_id, members)
    commit_deadline: uint256 = block.number + self.commit_window
    reveal_deadline: uint256 = commit_deadline + self.reveal_window
    self._hot_put(task_id, H_STATUS, 8, convert(Status.DRAWN, uint256))
    self._tasks[task_id].seed = seed
    self._hot_put(task_id, H_COMMIT_DEADLINE, 40, commit_deadline)
    self._hot_put(task_id, H_REVEAL_DEADLINE, 40, reveal_deadline)
    log CommitteeDrawn(task_id=task_id, members=members, seed=seed, commit_deadline=commit_deadline, reveal_deadline=reveal_deadline, level=level)


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
    assert len(task_ids) > 0, "inference: empty batch"
    drawn: uint256 = 0
    for task_id: uint256 in task_ids:
        if self._drawable(task_id):
            self._draw(task_id)
            drawn += 1
    return drawn


# ---------------------------------------------------------------- commit and reveal

@internal
def _commit(task_id: uint256, commitment: bytes32, seq: uint256):
    assert self._status(task_id) == Status.DRAWN, "inference: task is not in its commit phase"
    state: uint256 = self._state[task_id][msg.sender]
    assert state & LEVEL_MASK == self._hot_get(task_id, H_LEVEL, 8) + 1, "inference: sender is not on the committee"
    assert state & COMMITTED == 0, "inference: already committed"
    assert block.number <= self._hot_get(task_id, H_COMMIT_DEADLINE, 40), "inference: commit window closed"
    assert commitment != empty(bytes32), "inference: commitment is empty"
    self._state[task_id][msg.sender] = state | COMMITTED | (seq << ROOT_SHIFT)
    self._hot_put(task_id, H_COMMITS, 16, self._hot_get(task_id, H_COMMITS, 16) + 1)
    log Committed(task_id=task_id, member=msg.sender, commitment=commitment)


@internal
def _store_root(root: bytes32) -> uint256:
    seq: uint256 = self.root_count[msg.sender] + 1
    self.root_count[msg.sender] = seq
    self._roots[msg.sender][seq] = root
    return seq


@external
def commit(task_id: uint256, commitment: bytes32):
    """@notice Commit keccak256(abi_encode(task_id, result, member, salt)) (a batch of one: the root is the commitment)."""
    self._commit(task_id, commitment, self._store_root(commitment))


@external
@pure
def merkle_root(leaves: DynArray[bytes32, MAX_BATCH]) -> bytes32:
    """@notice Root of `leaves` padded with zero words to a power of two; each node is keccak256(left ++ right)."""
    return self._merkle_root(leaves)


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
    @notice Commit values[i] for task_ids[i], for every i, storing only their Merkle root
            (see `merkle_root`); any invalid entry reverts the whole batch. Reveal each with
            `reveal_many`, giving its leaf index and proof.
    """
    assert len(task_ids) > 0, "inference: empty batch"
    assert len(values) == len(task_ids), "inference: batch arrays differ in length"
    seq: uint256 = self._store_root(self._merkle_root(values))
    for i: uint256 in range(len(task_ids), bound=MAX_BATCH):
        self._commit(task_ids[i], values[i], seq)


@internal
def _check_reveal(task_id: uint256, level: uint256, result: bytes32, salt: bytes32, proof: DynArray[bytes32, MAX_PROOF], leaf_index: uint256) -> uint256:
    """Checks of every reveal; returns the sender's member state."""
    state: uint256 = self._state[task_id][msg.sender]
    assert state & COMMITTED != 0, "inference: no commitment from this sender"
    assert state & LEVEL_MASK == level + 1, "inference: sender is not on the committee"
    assert state & REVEALED == 0, "inference: already revealed"
    assert self._hot_get(task_id, H_COMMITS, 16) == self._level_size(task_id, level) or block.number > self._hot_get(task_id, H_COMMIT_DEADLINE, 40), "inference: reveal phase not open yet"
    assert block.number <= self._hot_get(task_id, H_REVEAL_DEADLINE, 40), "inference: reveal window closed"
    node: bytes32 = keccak256(abi_encode(task_id, result, msg.sender, salt))
    index: uint256 = leaf_index
    for sibling: bytes32 in proof:
        if index & 1 == 0:
            node = keccak256(concat(node, sibling))
        else:
            node = keccak256(concat(sibling, node))
        index = index >> 1
    assert index == 0 and node == self._roots[msg.sender][state >> ROOT_SHIFT], "inference: reveal does not match the commitment"
    return state


@internal
def _reveal(task_id: uint256, result: bytes32, salt: bytes32, proof: DynArray[bytes32, MAX_PROOF], leaf_index: uint256):
    assert self._status(task_id) == Status.DRAWN, "inference: task is not in its reveal phase"
    assert convert(self._hot_get(task_id, H_MODE, 8), uint8) == EXACT, "inference: near models reveal with reveal_near"
    level: uint256 = self._hot_get(task_id, H_LEVEL, 8)
    state: uint256 = self._check_reveal(task_id, level, result, salt, proof, leaf_index)
    reveals: uint256 = self._hot_get(task_id, H_REVEALS, 16)
    top_count: uint256 = self._hot_get(task_id, H_TOP_COUNT, 16)
    key: uint256 = task_id * 8 + level
    word: uint256 = self._tally[key][result]
    count: uint256 = (word & 65535) + 1
    first: uint256 = reveals
    if count == 1:
        self._values[key][reveals] = result
    else:
        first = word >> 16
    self._tally[key][result] = count | (first << 16)
    center: uint256 = self._hot_get(task_id, H_CENTER, 8)
    if count > top_count or (count == top_count and first < center):
        self._hot_put(task_id, H_TOP_COUNT, 16, count)
        if count == 1 or first != center:
            self._tasks[task_id].top_result = result
            self._hot_put(task_id, H_CENTER, 8, first)
    self._record_reveal(task_id, state, reveals, first, result, empty(bytes32), False)


@external
def reveal(task_id: uint256, result: bytes32, salt: bytes32):
    """@notice Reveal the result of an `exact` model (sha256 of the canonical output) committed with `commit`."""
    self._reveal(task_id, result, salt, [], 0)


@internal
@pure
def _proof(proofs: DynArray[bytes32, MAX_BATCH * MAX_PROOF], start: uint256, depth: uint256) -> DynArray[bytes32, MAX_PROOF]:
    assert depth <= MAX_PROOF and start + depth <= len(proofs), "inference: proof words missing"
    out: DynArray[bytes32, MAX_PROOF] = []
    for j: uint256 in range(depth, bound=MAX_PROOF):
        out.append(proofs[start + j])
    return out


@external
def reveal_many(task_ids: DynArray[uint256, MAX_BATCH], results: DynArray[bytes32, MAX_BATCH], salts: DynArray[bytes32, MAX_BATCH], paths: DynArray[uint256, MAX_BATCH], proofs: DynArray[bytes32, MAX_BATCH * MAX_PROOF]):
    """
    @notice `reveal` (results[i], salts[i]) for task_ids[i], for every i; any invalid entry
            reverts the whole batch. paths[i] = leaf index of the commitment in its batch
            + (proof depth << 8); its proof is the next `depth` words of `proofs` (siblings
            from the leaf up). Commitments of single `commit`s: path 0, no proof words.
    """
    assert len(task_ids) > 0, "inference: empty batch"
    assert len(results) == len(task_ids) and len(salts) == len(task_ids) and len(paths) == len(task_ids), "inference: batch arrays differ in length"
    at: uint256 = 0
    for i: uint256 in range(len(task_ids), bound=MAX_BATCH):
        depth: uint256 = paths[i] >> 8
        self._reveal(task_ids[i], results[i], salts[i], self._proof(proofs, at, depth), paths[i] & 255)
        at += depth
    assert at == len(proofs), "inference: unused proof words"


@internal
def _reveal_near(task_id: uint256, fingerprint: bytes32, blob_hash: bytes32, salt: bytes32, proof: DynArray[bytes32, MAX_PROOF], leaf_index: uint256):
    assert self._status(task_id) == Status.DRAWN, "inference: task is not in its reveal phase"
    assert convert(self._hot_get(task_id, H_MODE, 8), uint8) == NEAR, "inference: exact models reveal with reveal"
    level: uint256 = self._hot_get(task_id, H_LEVEL, 8)
    state: uint256 = self._check_reveal(task_id, level, keccak256(abi_encode(fingerprint, blob_hash)), salt, proof, leaf_index)
    key: uint256 = task_id * 8 + level
    index: uint256 = self._hot_get(task_id, H_REVEALS, 16)
    tolerance: uint256 = self._hot_get(task_id, H_TOLERANCE, 8)
    mine: uint256 = 1
    top_count: uint256 = self._hot_get(task_id, H_TOP_COUNT, 16)
    top_result: bytes32 = self._tasks[task_id].top_result
    center: uint256 = self._hot_get(task_id, H_CENTER, 8)
    for j: uint256 in range(MAX_COMMITTEE):
        if j >= index:
            break
        other: bytes32 = self._values[key][j]
        if self._agree(other, fingerprint, NEAR, tolerance):
            mine += 1
            count: uint256 = self._counts[key][j] + 1
            self._counts[key][j] = count
            if count > top_count or (count == top_count and j < center):
                top_count = count
                top_result = other
                center = j
    self._values[key][index] = fingerprint
    self._counts[key][index] = mine
    if mine > top_count:            # a later index never wins a tie
        top_count = mine
        top_result = fingerprint
        center = index
    self._hot_put(task_id, H_TOP_COUNT, 16, top_count)
    self._tasks[task_id].top_result = top_result
    self._hot_put(task_id, H_CENTER, 8, center)
    self._record_reveal(task_id, state, index, index, fingerprint, blob_hash, True)


@external
def reveal_near(task_id: uint256, fingerprint: bytes32, blob_hash: bytes32, salt: bytes32):
    """
    @notice Reveal the result of a `near` model: its SimHash fingerprint and the sha256 of
            the output blob; the commitment covers keccak256(abi_encode(fingerprint, blob_hash)).
    """
    self._reveal_near(task_id, fingerprint, blob_hash, salt, [], 0)


@external
def reveal_near_many(task_ids: DynArray[uint256, MAX_BATCH], fingerprints: DynArray[bytes32, MAX_BATCH], blob_hashes: DynArray[bytes32, MAX_BATCH], salts: DynArray[bytes32, MAX_BATCH], paths: DynArray[uint256, MAX_BATCH], proofs: DynArray[bytes32, MAX_BATCH * MAX_PROOF]):
    """@notice `reveal_near` for every i, with paths and proofs as in `reveal_many`; any invalid entry reverts the whole batch."""
    assert len(task_ids) > 0, "inference: empty batch"
    assert len(fingerprints) == len(task_ids) and len(blob_hashes) == len(task_ids) and len(salts) == len(task_ids) and len(paths) == len(task_ids), "inference: batch arrays differ in length"
    at: uint256 = 0
    for i: uint256 in range(len(task_ids), bound=MAX_BATCH):
        depth: uint256 = paths[i] >> 8
        self._reveal_near(task_ids[i], fingerprints[i], blob_hashes[i], salts[i], self._proof(proofs, at, depth), paths[i] & 255)
        at += depth
    assert at == len(proofs), "inference: unused proof words"


@internal
def _record_reveal(task_id: uint256, state: uint256, reveals: uint256, value_index: uint256, revealed: bytes32, blob_hash: bytes32, near: bool):
    """The revealed value is kept once per level in `_values`; the state word points at it.
       Exact mode: the blob hash is the result itself and is not stored twice."""
    self._state[task_id][msg.sender] = state | REVEALED | (value_index << VALUE_SHIFT)
    blob: bytes32 = revealed
    if near:
        self._blobs[task_id][msg.sender] = blob_hash
        blob = blob_hash
    self._hot_put(task_id, H_REVEALS, 16, reveals + 1)
    log Revealed(task_id=task_id, member=msg.sender, result=revealed, blob_hash=blob)


@internal
@view
def _revealed(task_id: uint256, member: address) -> bytes32:
    """The value `member` revealed (empty if none)."""
    state: uint256 = self._state[task_id][member]
    if state & REVEALED == 0:
        return empty(bytes32)
    return self._values[task_id * 8 + (state & LEVEL_MASK) - 1][(state >> VALUE_SHIFT) & 65535]


# ---------------------------------------------------------------- finalize, challenge, close

@internal
def _escalate(task_id: uint256, t: Task):
    level: uint256 = t.level + 1
    self._hot_put(task_id, H_LEVEL, 8, level)
    self._hot_put(task_id, H_STATUS, 8, convert(Status.REQUESTED, uint256))
    self._hot_put(task_id, H_SEED_BLOCK, 40, block.number + 1)
    self._hot_put(task_id, H_COMMITS, 16, 0)
    self._hot_put(task_id, H_REVEALS, 16, 0)
    self._hot_put(task_id, H_TOP_COUNT, 16, 0)
    self._hot_put(task_id, H_CENTER, 8, 0)
    self._tasks[task_id].top_result = empty(bytes32)
    log TaskEscalated(task_id=task_id, level=level, size=self._level_size(task_id, level), seed_block=block.number + 1)


@internal
@view
def _can_escalate(task_id: uint256, t: Task) -> bool:
    if t.level + 1 >= self._max_levels(task_id):
        return False
    return staticcall self.registry.available(t.model_id, self._member_list(task_id)) >= self._level_size(task_id, t.level + 1)


@internal
@view
def _finalizable(task_id: uint256) -> bool:
    """`finalize` would not revert on a phase check (see `finalize`)."""
    status: Status = self._status(task_id)
    if status == Status.REQUESTED:
        return block.number > self._hot_get(task_id, H_SEED_BLOCK, 40) + SEED_HORIZON
    if status == Status.PROVISIONAL:
        return block.number > self._tasks[task_id].challenge_deadline
    if status == Status.DRAWN:
        return self._hot_get(task_id, H_REVEALS, 16) == self._level_size(task_id, self._hot_get(task_id, H_LEVEL, 8)) or block.number > self._hot_get(task_id, H_REVEAL_DEADLINE, 40)
    return False


@internal
def _finalize(task_id: uint256):
    t: Task = self._load(task_id)
    if t.status == Status.REQUESTED:
        # the level's committee was never drawn and can no longer be: give the fee back
        assert block.number > t.seed_block + SEED_HORIZON, "inference: committee not drawn yet, call draw"
        self._close(task_id, t, empty(bytes32), False)
        return
    if t.status == Status.PROVISIONAL:
        assert block.number > t.challenge_deadline, "inference: challenge window still open"
        self._close(task_id, t, t.result, True)
        return
    assert t.status == Status.DRAWN, "inference: task is not open"
    assert t.reveals == self._level_size(task_id, t.level) or block.number > t.reveal_deadline, "inference: too early to finalize"
    quorum: uint256 = self._level_quorum(task_id, t.level)
    if t.top_count >= quorum and t.top_count == t.reveals:
        self._settle(task_id, t)
    elif self._can_escalate(task_id, t):
        self._escalate(task_id, t)
    elif t.top_count >= quorum:
        self._settle(task_id, t)
    else:
        self._close(task_id, t, empty(bytes32), False)


@external
def finalize(task_id: uint256):
    """@notice End the current level (settle, escalate or refund), or close a provisional task after its challenge window."""
    self._finalize(task_id)


@external
def finalize_many(task_ids: DynArray[uint256, MAX_BATCH]) -> uint256:
    """
    @notice `finalize` every listed task that can be finalized now; the others (not ready, or
            already final) are skipped.
    @return the number of tasks finalized
    """
    assert len(task_ids) > 0, "inference: empty batch"
    done: uint256 = 0
    for task_id: uint256 in task_ids:
        if self._finalizable(task_id):
            self._finalize(task_id)
            done += 1
    return done


@internal
def _settle(task_id: uint256, t: Task):
    if self.challenge_window > 0 and t.challenger == empty(address) and t.level + 1 < self._max_levels(task_id):
        deadline: uint256 = block.number + self.challenge_window
        self._hot_put(task_id, H_STATUS, 8, convert(Status.PROVISIONAL, uint256))
        self._tasks[task_id].result = t.top_result
        self._tasks[task_id].challenge_deadline = deadline
        log TaskProvisional(task_id=task_id, result=t.top_result, challenge_deadline=deadline)
    else:
        self._close(task_id, t, t.top_result, True)


@external
def challenge(task_id: uint256):
    """@notice Dispute a provisional result: post `challenge_bond` and the task escalates.
               The bond comes back if the final result differs, else it pays the committee."""
    t: Task = self._load(task_id)
    assert t.status == Status.PROVISIONAL, "inference: task has no provisional result"
    assert msg.sender == t.requester, "inference: only the requester may challenge"
    assert block.number <= t.challenge_deadline, "inference: challenge window closed"
    assert self._can_escalate(task_id, t), "inference: no level left to escalate to"
    assert extcall self.token.transferFrom(msg.sender, self, self.challenge_bond), "inference: bond transfer failed"
    self._tasks[task_id].challenger = msg.sender
    self._tasks[task_id].bond = self.challenge_bond
    self._tasks[task_id].challenged = t.result
    log TaskChallenged(task_id=task_id, challenger=msg.sender, bond=self.challenge_bond)
    self._escalate(task_id, t)


@internal
def _slash(task_id: uint256, member: address, reason: String[64]):
    amount: uint256 = staticcall self.registry.stake_of(member) * self.slash_bps // 10000
    taken: uint256 = extcall self.registry.slash(member, amount, reason)
    log MemberSlashed(task_id=task_id, member=member, amount=taken, reason=reason)


@internal
def _close(task_id: uint256, t: Task, final: bytes32, settled: bool):
    """Pay agreeing members of every level, slash dissenters and no-shows, release the members."""
    members: DynArray[address, MAX_MEMBERS] = self._member_list(task_id)
    pot: uint256 = t.fee
    bond_back: uint256 = t.bond
    agreeing: uint256 = 0
    if settled:
        for m: address in members:
            if self._state[task_id][m] & REVEALED != 0 and self._agree(self._revealed(task_id, m), final, t.mode, t.tolerance):
                agreeing += 1
        if t.challenger != empty(address) and self._agree(final, t.challenged, t.mode, t.tolerance):
            pot += t.bond          # the challenge lost: its bond pays the committee
            bond_back = 0
    share: uint256 = 0
    if settled:
        share = pot // agreeing
    winners: DynArray[address, MAX_MEMBERS] = []
    for m: address in members:
        if self._state[task_id][m] & REVEALED == 0:
            self._slash(task_id, m, "inference: no reveal")
        elif settled:
            if self._agree(self._revealed(task_id, m), final, t.mode, t.tolerance):
                self.claimable[m] += share
                winners.append(m)
            else:
                self._slash(task_id, m, "inference: dissent from the final result")
    extcall self.registry.tasks_closed(members)
    self._tasks[task_id].final_block = block.number
    if self.emission.address != empty(address) and len(winners) > 0:
        # settled work earns epoch rewards; a failing Emission never blocks settlement
        ok: bool = raw_call(
            self.emission.address,
            concat(method_id("record_work(address[],uint256)"), abi_encode(winners, convert(1, uint256))),
            revert_on_failure=False,
        )
    if bond_back > 0:
        assert extcall self.token.transfer(t.challenger, bond_back), "inference: bond transfer failed"
    if settled:
        self._hot_put(task_id, H_STATUS, 8, convert(Status.SETTLED, uint256))
        self._tasks[task_id].result = final
        dust: uint256 = pot - share * agreeing
        if dust > 0:
            assert extcall self.token.transfer(t.requester, dust), "inference: refund transfer failed"
        log TaskSettled(task_id=task_id, result=final, agreeing=agreeing, share=share)
    else:
        self._hot_put(task_id, H_STATUS, 8, convert(Status.REFUNDED, uint256))
        assert extcall self.token.transfer(t.requester, t.fee), "inference: refund transfer failed"
        log TaskRefunded(task_id=task_id, fee=t.fee, top_count=t.top_count)


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
def committee(task_id: uint256) -> DynArray[address, MAX_COMMITTEE]:
    """@notice Members of the task's current (or last) level."""
    level: uint256 = self._hot_get(task_id, H_LEVEL, 8)
    out: DynArray[address, MAX_COMMITTEE] = []
    members: DynArray[address, MAX_MEMBERS] = self._member_list(task_id)
    for m: address in members:
        if self._state[task_id][m] & LEVEL_MASK == level + 1:
            out.append(m)
    return out


@external
@view
def is_member(task_id: uint256, member: address) -> bool:
    """@notice Whether `member` sits on any level of the task."""
    return self._state[task_id][member] != 0


@external
@view
def members(task_id: uint256) -> DynArray[address, MAX_MEMBERS]:
    """@notice Members of every level of the task, in draw order."""
    return self._member_list(task_id)


@external
@view
def tally(task_id: uint256, result: bytes32) -> uint256:
    """@notice Exact mode: reveals of `result` at the task's current level."""
    return self._tally[task_id * 8 + self._hot_get(task_id, H_LEVEL, 8)][result] & 65535


@external
@view
def member_level(task_id: uint256, member: address) -> uint256:
    """@notice Level + 1 of the committee `member` sits on in the task; 0 = not a member."""
    return self._state[task_id][member] & LEVEL_MASK


@external
@view
def has_revealed(task_id: uint256, member: address) -> bool:
    return self._state[task_id][member] & REVEALED != 0


@external
@view
def commitments(task_id: uint256, member: address) -> bytes32:
    """@notice Root of the batch that holds `member`'s commitment for the task (a single `commit`: the commitment); empty before it commits."""
    state: uint256 = self._state[task_id][member]
    if state & COMMITTED == 0:
        return empty(bytes32)
    return self._roots[member][state >> ROOT_SHIFT]


@external
@view
def reveals(task_id: uint256, member: address) -> bytes32:
    """@notice The value `member` revealed (near: the fingerprint); empty before its reveal."""
    return self._revealed(task_id, member)


@external
@view
def reveal_blobs(task_id: uint256, member: address) -> bytes32:
    """@notice sha256 of the output blob `member` revealed; exact mode: the revealed result itself."""
    if self._state[task_id][member] & REVEALED == 0:
        return empty(bytes32)
    if convert(self._hot_get(task_id, H_MODE, 8), uint8) == EXACT:
        return self._revealed(task_id, member)
    return self._blobs[task_id][member]
