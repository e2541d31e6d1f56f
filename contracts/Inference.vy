# pragma version ~=0.4.3
"""
@title brainnet Inference
@notice Two-phase verified inference (BRAIN): tx 1 `request` escrows the fee; the
        committee is drawn in `draw` from the hash of the block after the request, which
        the requester cannot choose; members `commit` keccak(task_id, result, member, salt),
        then `reveal`; `finalize` accepts the result revealed by at least `quorum`
        members, credits the fee to them (claim with `claim`), slashes dissenters and
        no-shows, or refunds the requester when no quorum formed by the deadline.
@dev Phases come from block numbers: commit until `commit_deadline`; reveal opens when
     every member has committed or the commit deadline has passed, until
     `reveal_deadline`; finalize once every member revealed or the reveal deadline
     passed. `brainnet.protocol` mirrors the commitment hash and the agreement rule.
     Reverts start with "inference:".
"""

from ethereum.ercs import IERC20

MAX_COMMITTEE: constant(uint256) = 64
SEED_HORIZON: constant(uint256) = 256    # blocks whose hash the EVM still knows

interface Registry:
    def sample(model_id: bytes32, seed: bytes32, k: uint256) -> DynArray[address, MAX_COMMITTEE]: view
    def models(model_id: bytes32) -> (bytes32, bool): view
    def model_nodes(model_id: bytes32) -> uint256: view
    def stake_of(node: address) -> uint256: view
    def slash(node: address, amount: uint256, reason: String[64]) -> uint256: nonpayable
    def task_opened(node: address): nonpayable
    def task_closed(node: address): nonpayable

flag Status:
    REQUESTED
    DRAWN
    SETTLED
    REFUNDED

struct Task:
    requester: address
    model_id: bytes32
    input_hash: bytes32
    fee: uint256
    request_block: uint256
    status: Status
    seed: bytes32
    commit_deadline: uint256
    reveal_deadline: uint256
    commits: uint256
    reveals: uint256
    top_result: bytes32      # the result revealed most often so far (first to reach the count wins ties)
    top_count: uint256
    result: bytes32          # accepted result once settled
    final_block: uint256

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

event Committed:
    task_id: indexed(uint256)
    member: indexed(address)
    commitment: bytes32

event Revealed:
    task_id: indexed(uint256)
    member: indexed(address)
    result: bytes32

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

token: public(IERC20)
registry: public(Registry)
committee_size: public(uint256)
quorum: public(uint256)
commit_window: public(uint256)
reveal_window: public(uint256)
slash_bps: public(uint256)               # share of a member's stake slashed, in 1/10000
min_fee: public(uint256)

tasks: public(HashMap[uint256, Task])
task_count: public(uint256)
commitments: public(HashMap[uint256, HashMap[address, bytes32]])
reveals: public(HashMap[uint256, HashMap[address, bytes32]])
has_revealed: public(HashMap[uint256, HashMap[address, bool]])
is_member: public(HashMap[uint256, HashMap[address, bool]])
claimable: public(HashMap[address, uint256])
_committee: HashMap[uint256, DynArray[address, MAX_COMMITTEE]]
_tally: HashMap[uint256, HashMap[bytes32, uint256]]


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
):
    assert committee_size > 0 and committee_size <= MAX_COMMITTEE, "inference: committee size out of range"
    assert quorum * 2 > committee_size and quorum <= committee_size, "inference: quorum must be a majority of the committee"
    assert commit_window > 0 and reveal_window > 0, "inference: windows must be positive"
    assert slash_bps <= 10000, "inference: slash_bps above 10000"
    self.token = token
    self.registry = registry
    self.committee_size = committee_size
    self.quorum = quorum
    self.commit_window = commit_window
    self.reveal_window = reveal_window
    self.slash_bps = slash_bps
    self.min_fee = min_fee


@external
def request(model_id: bytes32, input_hash: bytes32, input_uri: String[256], fee: uint256) -> uint256:
    """@notice Escrow `fee` and open a task; the committee is drawn from block.number + 1."""
    registered: bool = (staticcall self.registry.models(model_id))[1]
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
    )
    log TaskRequested(task_id=task_id, requester=msg.sender, model_id=model_id, input_hash=input_hash, input_uri=input_uri, fee=fee, seed_block=block.number + 1)
    return task_id


@external
def draw(task_id: uint256):
    """@notice Draw the committee; anyone may call once the block after the request is mined."""
    t: Task = self.tasks[task_id]
    assert t.status == Status.REQUESTED, "inference: task is not waiting for a committee"
    seed_block: uint256 = t.request_block + 1
    assert block.number > seed_block, "inference: seed block not mined yet"
    assert block.number - seed_block <= SEED_HORIZON, "inference: seed block too old, finalize to refund"
    seed: bytes32 = keccak256(abi_encode(blockhash(seed_block), task_id))
    members: DynArray[address, MAX_COMMITTEE] = staticcall self.registry.sample(t.model_id, seed, self.committee_size)
    for m: address in members:
        self.is_member[task_id][m] = True
        extcall self.registry.task_opened(m)
    self._committee[task_id] = members
    commit_deadline: uint256 = block.number + self.commit_window
    reveal_deadline: uint256 = commit_deadline + self.reveal_window
    self.tasks[task_id].status = Status.DRAWN
    self.tasks[task_id].seed = seed
    self.tasks[task_id].commit_deadline = commit_deadline
    self.tasks[task_id].reveal_deadline = reveal_deadline
    log CommitteeDrawn(task_id=task_id, members=members, seed=seed, commit_deadline=commit_deadline, reveal_deadline=reveal_deadline)


@external
def commit(task_id: uint256, commitment: bytes32):
    t: Task = self.tasks[task_id]
    assert t.status == Status.DRAWN, "inference: task is not in its commit phase"
    assert self.is_member[task_id][msg.sender], "inference: sender is not on the committee"
    assert self.commitments[task_id][msg.sender] == empty(bytes32), "inference: already committed"
    assert block.number <= t.commit_deadline, "inference: commit window closed"
    assert commitment != empty(bytes32), "inference: commitment is empty"
    self.commitments[task_id][msg.sender] = commitment
    self.tasks[task_id].commits = t.commits + 1
    log Committed(task_id=task_id, member=msg.sender, commitment=commitment)


@external
def reveal(task_id: uint256, result: bytes32, salt: bytes32):
    t: Task = self.tasks[task_id]
    assert t.status == Status.DRAWN, "inference: task is not in its reveal phase"
    commitment: bytes32 = self.commitments[task_id][msg.sender]
    assert commitment != empty(bytes32), "inference: no commitment from this sender"
    assert not self.has_revealed[task_id][msg.sender], "inference: already revealed"
    assert t.commits == self.committee_size or block.number > t.commit_deadline, "inference: reveal phase not open yet"
    assert block.number <= t.reveal_deadline, "inference: reveal window closed"
    assert keccak256(abi_encode(task_id, result, msg.sender, salt)) == commitment, "inference: reveal does not match the commitment"
    self.has_revealed[task_id][msg.sender] = True
    self.reveals[task_id][msg.sender] = result
    count: uint256 = self._tally[task_id][result] + 1
    self._tally[task_id][result] = count
    self.tasks[task_id].reveals = t.reveals + 1
    if count > t.top_count:
        self.tasks[task_id].top_count = count
        self.tasks[task_id].top_result = result
    log Revealed(task_id=task_id, member=msg.sender, result=result)


@internal
def _slash(task_id: uint256, member: address, reason: String[64]):
    amount: uint256 = staticcall self.registry.stake_of(member) * self.slash_bps // 10000
    taken: uint256 = extcall self.registry.slash(member, amount, reason)
    log MemberSlashed(task_id=task_id, member=member, amount=taken, reason=reason)


@external
def finalize(task_id: uint256):
    """@notice Settle or refund a task whose reveals are complete or whose deadline passed."""
    t: Task = self.tasks[task_id]
    if t.status == Status.REQUESTED:
        # the committee was never drawn and can no longer be: give the fee back
        assert block.number > t.request_block + 1 + SEED_HORIZON, "inference: committee not drawn yet, call draw"
        self.tasks[task_id].status = Status.REFUNDED
        self.tasks[task_id].final_block = block.number
        assert extcall self.token.transfer(t.requester, t.fee), "inference: refund transfer failed"
        log TaskRefunded(task_id=task_id, fee=t.fee, top_count=0)
        return
    assert t.status == Status.DRAWN, "inference: task is not open"
    assert t.reveals == self.committee_size or block.number > t.reveal_deadline, "inference: too early to finalize"
    settled: bool = t.top_count >= self.quorum
    share: uint256 = 0
    if settled:
        share = t.fee // t.top_count
        self.tasks[task_id].status = Status.SETTLED
        self.tasks[task_id].result = t.top_result
    else:
        self.tasks[task_id].status = Status.REFUNDED
    self.tasks[task_id].final_block = block.number
    for m: address in self._committee[task_id]:
        if not self.has_revealed[task_id][m]:
            self._slash(task_id, m, "inference: no reveal")
        elif settled:
            if self.reveals[task_id][m] == t.top_result:
                self.claimable[m] += share
            else:
                self._slash(task_id, m, "inference: dissent from the quorum")
        extcall self.registry.task_closed(m)
    if settled:
        dust: uint256 = t.fee - share * t.top_count
        if dust > 0:
            assert extcall self.token.transfer(t.requester, dust), "inference: refund transfer failed"
        log TaskSettled(task_id=task_id, result=t.top_result, agreeing=t.top_count, share=share)
    else:
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


@external
@view
def committee(task_id: uint256) -> DynArray[address, MAX_COMMITTEE]:
    return self._committee[task_id]


@external
@view
def tally(task_id: uint256, result: bytes32) -> uint256:
    return self._tally[task_id][result]
