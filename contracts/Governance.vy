# pragma version ~=0.4.3
"""
@title brainnet Governance
@notice Token holders change protocol parameters. A proposal is one change:
        (target contract, parameter id, new value). Its life, all from block numbers:
        - `propose`: the proposer held at least `proposal_threshold` tokens at the end of
          the block before (the proposal's snapshot block);
        - `vote` for or against until `vote_end`; each address votes once with the
          balance it held at the snapshot (Token checkpoints), so tokens moved after the
          snapshot vote nowhere else;
        - it passes when votes for >= the quorum (`quorum_bps` of the supply at the
          snapshot) and for > against;
        - after the timelock (`timelock_blocks` past `vote_end`) anyone may `execute` it,
          until it expires `grace_blocks` later; execute calls
          `target.set_param(param, value)` (or changes Governance's own parameters);
        - the proposer may `cancel` it before execution, and so may anyone once the
          proposer's votes fall below the threshold.
        A proposal keeps the periods and quorum it was created under.
@dev Targets are the contracts named at deployment (Registry, Inference, Emission) plus
     those added by proposals (P_ADD_TARGET); each accepts `set_param` from this contract
     only. Reverts start with "governance:".
"""

interface Votes:
    def get_past_votes(account: address, blk: uint256) -> uint256: view
    def get_past_total_supply(blk: uint256) -> uint256: view

interface Parametrized:
    def set_param(param: uint256, new_value: uint256): nonpayable

MAX_TARGETS: constant(uint256) = 8
# proposal states
ACTIVE: constant(uint256) = 1        # voting open
DEFEATED: constant(uint256) = 2      # voting over: no quorum, or not more for than against
QUEUED: constant(uint256) = 3        # passed; waiting out the timelock
EXECUTABLE: constant(uint256) = 4    # passed, timelock over, not expired
EXPIRED: constant(uint256) = 5       # passed, never executed in time
EXECUTED: constant(uint256) = 6
CANCELED: constant(uint256) = 7
# Governance's own parameter ids (target = this contract)
P_PROPOSAL_THRESHOLD: constant(uint256) = 1
P_QUORUM_BPS: constant(uint256) = 2
P_VOTING_PERIOD: constant(uint256) = 3
P_TIMELOCK_BLOCKS: constant(uint256) = 4
P_GRACE_BLOCKS: constant(uint256) = 5
P_ADD_TARGET: constant(uint256) = 6
P_REMOVE_TARGET: constant(uint256) = 7

struct Proposal:
    proposer: address
    target: address
    param: uint256
    new_value: uint256
    snapshot: uint256        # votes are balances at the end of this block
    vote_end: uint256        # last block in which a vote counts
    eta: uint256             # first block `execute` may run
    expires: uint256         # last block `execute` may run
    quorum_votes: uint256
    votes_for: uint256
    votes_against: uint256
    executed: bool
    canceled: bool

event ProposalCreated:
    proposal_id: indexed(uint256)
    proposer: indexed(address)
    target: indexed(address)
    param: uint256
    value: uint256
    snapshot: uint256
    vote_end: uint256
    eta: uint256
    expires: uint256
    quorum_votes: uint256

event VoteCast:
    proposal_id: indexed(uint256)
    voter: indexed(address)
    support: bool
    weight: uint256

event ProposalCanceled:
    proposal_id: indexed(uint256)
    by: indexed(address)

event ProposalExecuted:
    proposal_id: indexed(uint256)
    target: indexed(address)
    param: uint256
    value: uint256

event ParamSet:
    param: indexed(uint256)
    value: uint256

event TargetSet:
    target: indexed(address)
    allowed: bool

token: public(Votes)
proposal_threshold: public(uint256)     # tokens a proposer must hold at the snapshot
quorum_bps: public(uint256)             # votes for needed, in 1/10000 of the supply at the snapshot
voting_period: public(uint256)          # blocks
timelock_blocks: public(uint256)        # blocks between the end of voting and execution
grace_blocks: public(uint256)           # blocks a passed proposal stays executable
targets: public(HashMap[address, bool])
proposals: public(HashMap[uint256, Proposal])
proposal_count: public(uint256)
has_voted: public(HashMap[uint256, HashMap[address, bool]])


@deploy
def __init__(
    token: Votes,
    targets: DynArray[address, MAX_TARGETS],
    proposal_threshold: uint256,
    quorum_bps: uint256,
    voting_period: uint256,
    timelock_blocks: uint256,
    grace_blocks: uint256,
):
    self.token = token
    for t: address in targets:
        self._set_target(t, True)
    self._set_own(P_PROPOSAL_THRESHOLD, proposal_threshold)
    self._set_own(P_QUORUM_BPS, quorum_bps)
    self._set_own(P_VOTING_PERIOD, voting_period)
    self._set_own(P_TIMELOCK_BLOCKS, timelock_blocks)
    self._set_own(P_GRACE_BLOCKS, grace_blocks)


@internal
def _set_target(target: address, allowed: bool):
    assert target != empty(address), "governance: target is the zero address"
    self.targets[target] = allowed
    log TargetSet(target=target, allowed=allowed)


@internal
def _set_own(param: uint256, new_value: uint256):
    if param == P_PROPOSAL_THRESHOLD:
        self.proposal_threshold = new_value
    elif param == P_QUORUM_BPS:
        assert new_value > 0 and new_value <= 10000, "governance: quorum_bps out of range"
        self.quorum_bps = new_value
    elif param == P_VOTING_PERIOD:
        assert new_value > 0, "governance: voting_period must be positive"
        self.voting_period = new_value
    elif param == P_TIMELOCK_BLOCKS:
        self.timelock_blocks = new_value
    elif param == P_GRACE_BLOCKS:
        assert new_value > 0, "governance: grace_blocks must be positive"
        self.grace_blocks = new_value
    elif param == P_ADD_TARGET or param == P_REMOVE_TARGET:
        assert new_value <= convert(max_value(uint160), uint256), "governance: target is not an address"
        self._set_target(convert(convert(new_value, uint160), address), param == P_ADD_TARGET)
    else:
        raise "governance: unknown parameter"
    log ParamSet(param=param, value=new_value)


@internal
@view
def _state(p: Proposal) -> uint256:
    if p.canceled:
        return CANCELED
    if p.executed:
        return EXECUTED
    if block.number <= p.vote_end:
        return ACTIVE
    if p.votes_for < p.quorum_votes or p.votes_for <= p.votes_against:
        return DEFEATED
    if block.number < p.eta:
        return QUEUED
    if block.number > p.expires:
        return EXPIRED
    return EXECUTABLE


# ---------------------------------------------------------------- proposals

@external
def propose(target: address, param: uint256, new_value: uint256) -> uint256:
    """@notice Propose `target.set_param(param, new_value)`; needs `proposal_threshold` votes at the last block."""
    assert target == self or self.targets[target], "governance: unknown target"
    snapshot: uint256 = block.number - 1
    assert staticcall self.token.get_past_votes(msg.sender, snapshot) >= self.proposal_threshold, \
        "governance: votes below the proposal threshold"
    vote_end: uint256 = block.number + self.voting_period
    eta: uint256 = vote_end + self.timelock_blocks + 1
    expires: uint256 = eta + self.grace_blocks - 1
    quorum_votes: uint256 = max(1, staticcall self.token.get_past_total_supply(snapshot) * self.quorum_bps // 10000)
    proposal_id: uint256 = self.proposal_count + 1
    self.proposal_count = proposal_id
    self.proposals[proposal_id] = Proposal(
        proposer=msg.sender, target=target, param=param, new_value=new_value, snapshot=snapshot,
        vote_end=vote_end, eta=eta, expires=expires, quorum_votes=quorum_votes,
        votes_for=0, votes_against=0, executed=False, canceled=False,
    )
    log ProposalCreated(proposal_id=proposal_id, proposer=msg.sender, target=target, param=param, value=new_value,
                        snapshot=snapshot, vote_end=vote_end, eta=eta, expires=expires, quorum_votes=quorum_votes)
    return proposal_id


@external
def vote(proposal_id: uint256, support: bool) -> uint256:
    """@notice Vote for (`support`) or against with the balance held at the proposal's snapshot; once per address."""
    p: Proposal = self.proposals[proposal_id]
    assert p.proposer != empty(address), "governance: unknown proposal"
    assert self._state(p) == ACTIVE, "governance: voting is closed"
    assert not self.has_voted[proposal_id][msg.sender], "governance: already voted"
    weight: uint256 = staticcall self.token.get_past_votes(msg.sender, p.snapshot)
    assert weight > 0, "governance: no votes at the snapshot"
    self.has_voted[proposal_id][msg.sender] = True
    if support:
        self.proposals[proposal_id].votes_for = p.votes_for + weight
    else:
        self.proposals[proposal_id].votes_against = p.votes_against + weight
    log VoteCast(proposal_id=proposal_id, voter=msg.sender, support=support, weight=weight)
    return weight


@external
def execute(proposal_id: uint256):
    """@notice Anyone: apply a passed proposal once its timelock is over and before it expires."""
    p: Proposal = self.proposals[proposal_id]
    assert p.proposer != empty(address), "governance: unknown proposal"
    state: uint256 = self._state(p)
    assert state != CANCELED, "governance: proposal canceled"
    assert state != EXECUTED, "governance: proposal already executed"
    assert state != ACTIVE, "governance: voting still open"
    assert state != DEFEATED, "governance: proposal defeated"
    assert state != QUEUED, "governance: timelock not over"
    assert state != EXPIRED, "governance: proposal expired"
    self.proposals[proposal_id].executed = True
    if p.target == self:
        self._set_own(p.param, p.new_value)
    else:
        assert self.targets[p.target], "governance: target no longer allowed"
        extcall Parametrized(p.target).set_param(p.param, p.new_value)
    log ProposalExecuted(proposal_id=proposal_id, target=p.target, param=p.param, value=p.new_value)


@external
def cancel(proposal_id: uint256):
    """@notice The proposer, or anyone once the proposer holds fewer votes than the threshold, cancels a proposal."""
    p: Proposal = self.proposals[proposal_id]
    assert p.proposer != empty(address), "governance: unknown proposal"
    assert not p.executed, "governance: proposal already executed"
    assert not p.canceled, "governance: proposal already canceled"
    if msg.sender != p.proposer:
        assert staticcall self.token.get_past_votes(p.proposer, block.number - 1) < self.proposal_threshold, \
            "governance: only the proposer may cancel while it holds the threshold"
    self.proposals[proposal_id].canceled = True
    log ProposalCanceled(proposal_id=proposal_id, by=msg.sender)


# ---------------------------------------------------------------- views

@external
@view
def state(proposal_id: uint256) -> uint256:
    """@notice 1 active, 2 defeated, 3 queued (timelock), 4 executable, 5 expired, 6 executed, 7 canceled; 0 unknown."""
    p: Proposal = self.proposals[proposal_id]
    if p.proposer == empty(address):
        return 0
    return self._state(p)
