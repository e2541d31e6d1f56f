# pragma version ~=0.4.3
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
     Parameters change only through `set_param`, called by `governance` (the deployer
     until it hands governance to the Governance contract). A task keeps the committee
     size, quorum and level count it was requested under (`task_terms`), so a change
     never reshapes a committee already at work. When a task settles, every member on
     the winning side is reported to `emission` (one work unit each) for the epoch's
     inference rewards.
     Reverts start with "inference:".
"""

from ethereum.ercs import IERC20

MAX_COMMITTEE: constant(uint256) = 128     # members of one level
MAX_MEMBERS: constant(uint256) = 256       # members of all levels of a task
MAX_LEVELS: constant(uint256) = 6
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
committee_size: public(uint256)          # K: members of level 0
quorum: public(uint256)                  # Q: agreeing reveals that settle level 0
commit_window: public(uint256)
reveal_window: public(uint256)
slash_bps: public(uint256)               # share of a member's stake slashed, in 1/10000
min_fee: public(uint256)
max_levels: public(uint256)              # L: 1 = no escalation (BRAIN's rule)
challenge_window: public(uint256)        # blocks a settled level stays open to a challenge; 0 = none
challenge_bond: public(uint256)
governance: public(address)              # the only caller of set_param
emission: public(Emission)               # told about settled work; empty = no rewards
task_terms: public(HashMap[uint256, Terms])   # K, Q, L a task was requested under

tasks: public(HashMap[uint256, Task])
task_count: public(uint256)
commitments: public(HashMap[uint256, HashMap[address, bytes32]])
reveals: public(HashMap[uint256, HashMap[address, bytes32]])
reveal_blobs: public(HashMap[uint256, HashMap[address, bytes32]])
has_revealed: public(HashMap[uint256, HashMap[address, bool]])
member_level: public(HashMap[uint256, HashMap[address, uint256]])   # level + 1; 0 = not a member
claimable: public(HashMap[address, uint256])
_members: HashMap[uint256, DynArray[address, MAX_MEMBERS]]         # all levels, in draw order
_tally: HashMap[uint256, HashMap[bytes32, uint256]]                # exact: (task, level) -> value -> count
_first: HashMap[uint256, HashMap[bytes32, uint256]]                # exact: first reveal index of a value
_values: HashMap[uint256, HashMap[uint256, bytes32]]               # near: (task, level) -> reveal index -> value
_counts: HashMap[uint256, HashMap[uint256, uint256]]               # near: reveals agreeing with that value
_center_index: HashMap[uint256, uint256]                           # (task, level) -> reveal index of the center


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
    self.token = token
    self.registry = registry
    self.committee_size = committee_size
    self.quorum = quorum
    self.commit_window = commit_window
    self.reveal_window = reveal_window
    self.slash_bps = slash_bps
    self.min_fee = min_fee
    self.max_levels = max_levels
    self.challenge_window = challenge_window
    self.challenge_bond = challenge_bond


# ---------------------------------------------------------------- parameters

@internal
@pure
def _check_terms(committee_size: uint256, quorum: uint256, max_levels: uint256):
    assert committee_size > 0 and committee_size <= MAX_COMMITTEE, "inference: committee size out of range"
    assert quorum * 2 > committee_size and quorum <= committee_size, "inference: quorum must be a majority of the committee"
    assert max_levels > 0 and max_levels <= MAX_LEVELS, "inference: max_levels out of range"
    size: uint256 = committee_size
    total: uint256 = committee_size
    for _: uint256 in range(1, MAX_LEVELS):
        if _ >= max_levels:
            break
        size = 2 * size + 1
        total += size
    assert size <= MAX_COMMITTEE and total <= MAX_MEMBERS, "inference: levels too large for committee_size"


@external
def set_param(param: uint256, new_value: uint256):
    """@notice Change one parameter (P_* ids); only `governance` may. Open tasks keep their K, Q, L."""
    assert msg.sender == self.governance, "inference: only governance may set parameters"
    if param == P_COMMITTEE_SIZE:
        self._check_terms(new_value, new_value // 2 + 1, self.max_levels)
        self.committee_size = new_value
        self.quorum = new_value // 2 + 1
        log ParamSet(param=P_QUORUM, value=new_value // 2 + 1)
    elif param == P_QUORUM:
        self._check_terms(self.committee_size, new_value, self.max_levels)
        self.quorum = new_value
    elif param == P_COMMIT_WINDOW:
        assert new_value > 0, "inference: windows must be positive"
        self.commit_window = new_value
    elif param == P_REVEAL_WINDOW:
        assert new_value > 0, "inference: windows must be positive"
        self.reveal_window = new_value
    elif param == P_SLASH_BPS:
        assert new_value <= 10000, "inference: slash_bps above 10000"
        self.slash_bps = new_value
    elif param == P_MIN_FEE:
        self.min_fee = new_value
    elif param == P_MAX_LEVELS:
        self._check_terms(self.committee_size, self.quorum, new_value)
        self.max_levels = new_value
    elif param == P_CHALLENGE_WINDOW:
        self.challenge_window = new_value
    elif param == P_CHALLENGE_BOND:
        self.challenge_bond = new_value
    elif param == P_EMISSION:
        assert new_value <= convert(max_value(uint160), uint256), "inference: emission is not an address"
        self.emission = Emission(convert(convert(new_value, uint160), address))
    else:
        raise "inference: unknown parameter"
    log ParamSet(param=param, value=new_value)


@external
def set_governance(new_governance: address):
    """@notice Hand parameter changes to `new_governance` (the deployer hands them to Governance)."""
    assert msg.sender == self.governance, "inference: only governance may change governance"
    assert new_governance != empty(address), "inference: governance is the zero address"
    self.governance = new_governance
    log GovernanceChanged(governance=new_governance)


# ---------------------------------------------------------------- level math

@internal
@pure
def _size_of(committee_size: uint256, level: uint256) -> uint256:
    size: uint256 = committee_size
    for _: uint256 in range(MAX_LEVELS):
        if _ >= level:
            break
        size = 2 * size + 1
    return size


@internal
@view
def _level_size(task_id: uint256, level: uint256) -> uint256:
    return self._size_of(self.task_terms[task_id].committee_size, level)


@internal
@view
def _level_quorum(task_id: uint256, level: uint256) -> uint256:
    if level == 0:
        return self.task_terms[task_id].quorum
    return self._level_size(task_id, level) // 2 + 1


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
    return self._size_of(self.committee_size, level)


@external
@view
def level_quorum(level: uint256) -> uint256:
    """@notice Quorum of `level` for a task requested now."""
    if level == 0:
        return self.quorum
    return self._size_of(self.committee_size, level) // 2 + 1


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
    assert staticcall self.registry.model_nodes(model_id) >= self.committee_size, "inference: not enough active nodes serve this model"
    assert fee >= self.min_fee, "inference: fee below the minimum"
    assert input_hash != empty(bytes32), "inference: input hash is empty"
    assert extcall self.token.transferFrom(msg.sender, self, fee), "inference: fee transfer failed"
    task_id: uint256 = self.task_count + 1
    self.task_count = task_id
    self.tasks[task_id] = Task(
        requester=msg.sender, model_id=model_id, input_hash=input_hash, fee=fee,
        request_block=block.number, status=Status.REQUESTED, seed=empty(bytes32),
        commit_deadline=0, reveal_deadline=0, commits=0, reveals=0,
        top_result=empty(bytes32), top_count=0, result=empty(bytes32), final_block=0,
        level=0, seed_block=block.number + 1, mode=mode, tolerance=tolerance,
        challenge_deadline=0, challenger=empty(address), bond=0, challenged=empty(bytes32),
    )
    self.task_terms[task_id] = Terms(committee_size=self.committee_size, quorum=self.quorum, max_levels=self.max_levels)
    log TaskRequested(task_id=task_id, requester=msg.sender, model_id=model_id, input_hash=input_hash, input_uri=input_uri, fee=fee, seed_block=block.number + 1)
    return task_id


@external
def draw(task_id: uint256):
    """@notice Draw the committee of the task's current level; anyone may call once its seed block is mined."""
    t: Task = self.tasks[task_id]
    assert t.status == Status.REQUESTED, "inference: task is not waiting for a committee"
    assert block.number > t.seed_block, "inference: seed block not mined yet"
    assert block.number - t.seed_block <= SEED_HORIZON, "inference: seed block too old, finalize to refund"
    seed: bytes32 = empty(bytes32)
    members: DynArray[address, MAX_COMMITTEE] = []
    size: uint256 = self._level_size(task_id, t.level)
    if t.level == 0:
        seed = keccak256(abi_encode(blockhash(t.seed_block), task_id))
        members = staticcall self.registry.sample(t.model_id, seed, size)
    else:
        seed = keccak256(abi_encode(blockhash(t.seed_block), task_id, t.level))
        members = staticcall self.registry.sample_excluding(t.model_id, seed, size, self._members[task_id])
    for m: address in members:
        self.member_level[task_id][m] = t.level + 1
        self._members[task_id].append(m)
        extcall self.registry.task_opened(m)
    commit_deadline: uint256 = block.number + self.commit_window
    reveal_deadline: uint256 = commit_deadline + self.reveal_window
    self.tasks[task_id].status = Status.DRAWN
    self.tasks[task_id].seed = seed
    self.tasks[task_id].commit_deadline = commit_deadline
    self.tasks[task_id].reveal_deadline = reveal_deadline
    log CommitteeDrawn(task_id=task_id, members=members, seed=seed, commit_deadline=commit_deadline, reveal_deadline=reveal_deadline, level=t.level)


# ---------------------------------------------------------------- commit and reveal

@external
def commit(task_id: uint256, commitment: bytes32):
    t: Task = self.tasks[task_id]
    assert t.status == Status.DRAWN, "inference: task is not in its commit phase"
    assert self.member_level[task_id][msg.sender] == t.level + 1, "inference: sender is not on the committee"
    assert self.commitments[task_id][msg.sender] == empty(bytes32), "inference: already committed"
    assert block.number <= t.commit_deadline, "inference: commit window closed"
    assert commitment != empty(bytes32), "inference: commitment is empty"
    self.commitments[task_id][msg.sender] = commitment
    self.tasks[task_id].commits = t.commits + 1
    log Committed(task_id=task_id, member=msg.sender, commitment=commitment)


@internal
def _check_reveal(task_id: uint256, t: Task, result: bytes32, salt: bytes32):
    commitment: bytes32 = self.commitments[task_id][msg.sender]
    assert commitment != empty(bytes32), "inference: no commitment from this sender"
    assert self.member_level[task_id][msg.sender] == t.level + 1, "inference: sender is not on the committee"
    assert not self.has_revealed[task_id][msg.sender], "inference: already revealed"
    assert t.commits == self._level_size(task_id, t.level) or block.number > t.commit_deadline, "inference: reveal phase not open yet"
    assert block.number <= t.reveal_deadline, "inference: reveal window closed"
    assert keccak256(abi_encode(task_id, result, msg.sender, salt)) == commitment, "inference: reveal does not match the commitment"


@external
def reveal(task_id: uint256, result: bytes32, salt: bytes32):
    """@notice Reveal the result of an `exact` model: sha256 of the canonical output."""
    t: Task = self.tasks[task_id]
    assert t.status == Status.DRAWN, "inference: task is not in its reveal phase"
    assert t.mode == EXACT, "inference: near models reveal with reveal_near"
    self._check_reveal(task_id, t, result, salt)
    key: uint256 = task_id * 8 + t.level
    count: uint256 = self._tally[key][result] + 1
    self._tally[key][result] = count
    if count == 1:
        self._first[key][result] = t.reveals
    first: uint256 = self._first[key][result]
    if count > t.top_count or (count == t.top_count and first < self._center_index[key]):
        self.tasks[task_id].top_count = count
        self.tasks[task_id].top_result = result
        self._center_index[key] = first
    self._record_reveal(task_id, t, result, result)


@external
def reveal_near(task_id: uint256, fingerprint: bytes32, blob_hash: bytes32, salt: bytes32):
    """
    @notice Reveal the result of a `near` model: its SimHash fingerprint and the sha256 of
            the output blob; the commitment covers keccak256(abi_encode(fingerprint, blob_hash)).
    """
    t: Task = self.tasks[task_id]
    assert t.status == Status.DRAWN, "inference: task is not in its reveal phase"
    assert t.mode == NEAR, "inference: exact models reveal with reveal"
    self._check_reveal(task_id, t, keccak256(abi_encode(fingerprint, blob_hash)), salt)
    key: uint256 = task_id * 8 + t.level
    index: uint256 = t.reveals
    mine: uint256 = 1
    top_count: uint256 = t.top_count
    top_result: bytes32 = t.top_result
    center: uint256 = self._center_index[key]
    for j: uint256 in range(MAX_COMMITTEE):
        if j >= index:
            break
        other: bytes32 = self._values[key][j]
        if self._agree(other, fingerprint, NEAR, t.tolerance):
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
    self.tasks[task_id].top_count = top_count
    self.tasks[task_id].top_result = top_result
    self._center_index[key] = center
    self._record_reveal(task_id, t, fingerprint, blob_hash)


@internal
def _record_reveal(task_id: uint256, t: Task, revealed: bytes32, blob_hash: bytes32):
    self.has_revealed[task_id][msg.sender] = True
    self.reveals[task_id][msg.sender] = revealed
    self.reveal_blobs[task_id][msg.sender] = blob_hash
    self.tasks[task_id].reveals = t.reveals + 1
    log Revealed(task_id=task_id, member=msg.sender, result=revealed, blob_hash=blob_hash)


# ---------------------------------------------------------------- finalize, challenge, close

@internal
def _escalate(task_id: uint256, t: Task):
    level: uint256 = t.level + 1
    self.tasks[task_id].level = level
    self.tasks[task_id].status = Status.REQUESTED
    self.tasks[task_id].seed_block = block.number + 1
    self.tasks[task_id].commits = 0
    self.tasks[task_id].reveals = 0
    self.tasks[task_id].top_count = 0
    self.tasks[task_id].top_result = empty(bytes32)
    log TaskEscalated(task_id=task_id, level=level, size=self._level_size(task_id, level), seed_block=block.number + 1)


@internal
@view
def _can_escalate(task_id: uint256, t: Task) -> bool:
    if t.level + 1 >= self.task_terms[task_id].max_levels:
        return False
    return staticcall self.registry.available(t.model_id, self._members[task_id]) >= self._level_size(task_id, t.level + 1)


@external
def finalize(task_id: uint256):
    """@notice End the current level (settle, escalate or refund), or close a provisional task after its challenge window."""
    t: Task = self.tasks[task_id]
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


@internal
def _settle(task_id: uint256, t: Task):
    if self.challenge_window > 0 and t.challenger == empty(address) and t.level + 1 < self.task_terms[task_id].max_levels:
        deadline: uint256 = block.number + self.challenge_window
        self.tasks[task_id].status = Status.PROVISIONAL
        self.tasks[task_id].result = t.top_result
        self.tasks[task_id].challenge_deadline = deadline
        log TaskProvisional(task_id=task_id, result=t.top_result, challenge_deadline=deadline)
    else:
        self._close(task_id, t, t.top_result, True)


@external
def challenge(task_id: uint256):
    """@notice Dispute a provisional result: post `challenge_bond` and the task escalates.
               The bond comes back if the final result differs, else it pays the committee."""
    t: Task = self.tasks[task_id]
    assert t.status == Status.PROVISIONAL, "inference: task has no provisional result"
    assert msg.sender == t.requester, "inference: only the requester may challenge"
    assert block.number <= t.challenge_deadline, "inference: challenge window closed"
    assert self._can_escalate(task_id, t), "inference: no level left to escalate to"
    assert extcall self.token.transferFrom(msg.sender, self, self.challenge_bond), "inference: bond transfer failed"
    self.tasks[task_id].challenger = msg.sender
    self.tasks[task_id].bond = self.challenge_bond
    self.tasks[task_id].challenged = t.result
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
    members: DynArray[address, MAX_MEMBERS] = self._members[task_id]
    pot: uint256 = t.fee
    bond_back: uint256 = t.bond
    agreeing: uint256 = 0
    if settled:
        for m: address in members:
            if self.has_revealed[task_id][m] and self._agree(self.reveals[task_id][m], final, t.mode, t.tolerance):
                agreeing += 1
        if t.challenger != empty(address) and self._agree(final, t.challenged, t.mode, t.tolerance):
            pot += t.bond          # the challenge lost: its bond pays the committee
            bond_back = 0
    share: uint256 = 0
    if settled:
        share = pot // agreeing
    winners: DynArray[address, MAX_MEMBERS] = []
    for m: address in members:
        if not self.has_revealed[task_id][m]:
            self._slash(task_id, m, "inference: no reveal")
        elif settled:
            if self._agree(self.reveals[task_id][m], final, t.mode, t.tolerance):
                self.claimable[m] += share
                winners.append(m)
            else:
                self._slash(task_id, m, "inference: dissent from the final result")
        extcall self.registry.task_closed(m)
    self.tasks[task_id].final_block = block.number
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
        self.tasks[task_id].status = Status.SETTLED
        self.tasks[task_id].result = final
        dust: uint256 = pot - share * agreeing
        if dust > 0:
            assert extcall self.token.transfer(t.requester, dust), "inference: refund transfer failed"
        log TaskSettled(task_id=task_id, result=final, agreeing=agreeing, share=share)
    else:
        self.tasks[task_id].status = Status.REFUNDED
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
    level: uint256 = self.tasks[task_id].level
    out: DynArray[address, MAX_COMMITTEE] = []
    for m: address in self._members[task_id]:
        if self.member_level[task_id][m] == level + 1:
            out.append(m)
    return out


@external
@view
def is_member(task_id: uint256, member: address) -> bool:
    """@notice Whether `member` sits on any level of the task."""
    return self.member_level[task_id][member] != 0


@external
@view
def members(task_id: uint256) -> DynArray[address, MAX_MEMBERS]:
    """@notice Members of every level of the task, in draw order."""
    return self._members[task_id]


@external
@view
def tally(task_id: uint256, result: bytes32) -> uint256:
    """@notice Exact mode: reveals of `result` at the task's current level."""
    return self._tally[task_id * 8 + self.tasks[task_id].level][result]
