# pragma version ~=0.4.3
# pragma optimize codesize
# pragma experimental-codegen
"""
@title brainnet Training
@notice Committee-scored federated learning rounds. A model's owner opens a round for one
        of its versions and escrows a reward pool. Then, in windows of blocks fixed at
        opening (phases come from block numbers):
        1. trainers (nodes with CAP_TRAINING) `commit_update` keccak(round, keccak(update
           hash, trace hash), trainer, salt), then `reveal_update`; the slot of an update
           is its commit order (at most 32 updates a round);
        2. a scoring committee of K nodes serving the model, drawn stake-weighted from the
           hash of the block after opening (`draw`), `commit_scores` then `reveal_scores`:
           one integer score (0..10000) per update slot;
        3. `finalize_scores` takes the median score of every revealed update (lower median
           for an even count), accepts updates whose median reaches the round's threshold
           and credits the rewards: each committee member who revealed gets a fixed seat
           reward (committee_bps of the pool / K); accepted trainers share the rest of the
           pool in proportion to their medians (floor division); the dust of those
           divisions and unearned seat rewards go back to the round owner, so the pool is
           paid out to the wei. Trainers who committed and never revealed, and members who
           were drawn and never revealed scores, are slashed;
        4. an aggregator (a committee member or the owner) `post_aggregate`s the sha256 of
           the new global weights; members `commit_confirm` then `reveal_confirm` the hash
           they computed themselves; `finalize_aggregate` records the new version in Models
           (parent = the round's version) when at least `confirm_quorum` members revealed
           the posted hash, slashing members who revealed nothing (or, with a quorum,
           another hash).
        Proof of training: until `challenge_window` blocks after the confirm deadline, anyone
        may `challenge` a revealed update with the hash of a failed replay (and a bond); the
        round's committee votes openly (`vote`), and a strict majority of the committee
        upholds it: the trainer is slashed by `fraud_slash_bps` and the reward it has not
        claimed yet goes with the bond to the challenger; otherwise the bond goes to the
        trainer. An open vote, not commit-reveal: a replay is deterministic and its evidence
        public, so every member can check it and there is no hidden value to copy.
@dev Assumes: authorized in the Registry (slash, task_opened/closed) and as a recorder in
     Models. Every loop is bounded by the committee (<= 32) or the updates (<= 32) of one
     round. Pay by accrual: `claim` pays what was credited. Trainers sit on Registry
     "pending" from commit to `finalize_scores`, committee members from `draw` to
     `finalize_aggregate`, so neither can withdraw stake before its slashes.
     Reverts start with "training:".
     Parameters change only through `set_param`, called by `governance` (the deployer until
     it hands governance to the Governance contract). A round keeps the committee size and
     confirm quorum it was opened with (and its seat reward, fixed from committee_bps at
     opening); slash_bps, fraud_slash_bps, challenge_window, vote_window and challenge_bond
     are read when used (a slash, a challenge opening: a challenge keeps its bond and vote
     deadline). When a round's scores are finalized its accepted trainers are reported to
     `emission` (one work unit each, a non-reverting call: a failing Emission never blocks
     the round).
"""

from ethereum.ercs import IERC20

MAX_COMMITTEE: constant(uint256) = 32     # scoring committee of one round
MAX_UPDATES: constant(uint256) = 32       # updates of one round
MAX_SCORE: constant(uint256) = 10000      # scores are integers 0..10000 (basis points)
SEED_HORIZON: constant(uint256) = 256
CAP_TRAINING: constant(uint256) = 2
# parameter ids of set_param (brainnet.chain.params names them)
P_COMMITTEE_SIZE: constant(uint256) = 1      # also resets the quorum to a bare majority
P_CONFIRM_QUORUM: constant(uint256) = 2
P_COMMITTEE_BPS: constant(uint256) = 3
P_SLASH_BPS: constant(uint256) = 4
P_FRAUD_SLASH_BPS: constant(uint256) = 5
P_CHALLENGE_WINDOW: constant(uint256) = 6
P_VOTE_WINDOW: constant(uint256) = 7
P_CHALLENGE_BOND: constant(uint256) = 8
P_EMISSION: constant(uint256) = 9            # address of the Emission contract (0: none)

interface Registry:
    def sample(model_id: bytes32, seed: bytes32, k: uint256) -> DynArray[address, MAX_COMMITTEE]: view
    def models(model_id: bytes32) -> (bytes32, bool, uint8, uint256): view
    def model_nodes(model_id: bytes32) -> uint256: view
    def stake_of(node: address) -> uint256: view
    def has_capability(node: address, capability: uint256) -> bool: view
    def slash(node: address, amount: uint256, reason: String[64]) -> uint256: nonpayable
    def task_opened(node: address): nonpayable
    def task_closed(node: address): nonpayable

interface Models:
    def owner_of(model_id: bytes32) -> address: view
    def latest(model_id: bytes32) -> uint256: view
    def record_version(model_id: bytes32, parent: uint256, weights_hash: bytes32, round_id: uint256, uri: String[256]) -> uint256: nonpayable

struct Round:
    owner: address
    model_id: bytes32
    version: uint256                  # parent of the version this round produces
    pool: uint256
    threshold: uint256                # median score an update needs to be accepted
    seed_block: uint256
    update_commit_deadline: uint256
    update_reveal_deadline: uint256
    score_commit_deadline: uint256
    score_reveal_deadline: uint256
    confirm_commit_deadline: uint256
    confirm_reveal_deadline: uint256
    seat_reward: uint256              # credited to each member who revealed scores
    updates: uint256                  # committed updates (slots 0..updates-1)
    revealed_updates: uint256
    score_commits: uint256
    score_reveals: uint256
    confirm_commits: uint256
    confirm_reveals: uint256
    drawn: bool
    scores_final: bool
    accepted: uint256
    score_sum: uint256                # sum of the accepted updates' medians
    aggregate_hash: bytes32
    aggregator: address
    closed: bool
    new_version: uint256              # 0 until a version is recorded
    committee_size: uint256           # K at opening
    confirm_quorum: uint256           # quorum at opening

struct Update:
    trainer: address
    commitment: bytes32
    update_hash: bytes32              # sha256 of the update blob
    trace_hash: bytes32               # sha256 of the proof-of-training trace
    revealed: bool
    median: uint256
    accepted: bool
    reward: uint256

struct Challenge:
    round_id: uint256
    trainer: address
    challenger: address
    evidence_hash: bytes32
    bond: uint256
    vote_deadline: uint256
    guilty: uint256
    innocent: uint256
    resolved: bool
    upheld: bool

event RoundOpened:
    round_id: indexed(uint256)
    model_id: indexed(bytes32)
    owner: indexed(address)
    version: uint256
    pool: uint256
    threshold: uint256
    seed_block: uint256
    deadlines: uint256[6]

event CommitteeDrawn:
    round_id: indexed(uint256)
    members: DynArray[address, MAX_COMMITTEE]
    seed: bytes32

event UpdateCommitted:
    round_id: indexed(uint256)
    trainer: indexed(address)
    slot: uint256
    commitment: bytes32

event UpdateRevealed:
    round_id: indexed(uint256)
    trainer: indexed(address)
    slot: uint256
    update_hash: bytes32
    trace_hash: bytes32

event ScoresCommitted:
    round_id: indexed(uint256)
    member: indexed(address)
    commitment: bytes32

event ScoresRevealed:
    round_id: indexed(uint256)
    member: indexed(address)
    scores: DynArray[uint256, MAX_UPDATES]

event UpdateScored:
    round_id: indexed(uint256)
    trainer: indexed(address)
    slot: uint256
    median: uint256
    accepted: bool
    reward: uint256

event RoundScored:
    round_id: indexed(uint256)
    accepted: uint256
    score_sum: uint256
    trainer_paid: uint256
    committee_paid: uint256
    refund: uint256

event AggregatePosted:
    round_id: indexed(uint256)
    aggregator: indexed(address)
    weights_hash: bytes32
    uri: String[256]

event ConfirmCommitted:
    round_id: indexed(uint256)
    member: indexed(address)
    commitment: bytes32

event ConfirmRevealed:
    round_id: indexed(uint256)
    member: indexed(address)
    weights_hash: bytes32

event RoundClosed:
    round_id: indexed(uint256)
    model_id: indexed(bytes32)
    new_version: uint256
    weights_hash: bytes32             # the hash a quorum confirmed; empty = none
    confirmations: uint256

event MemberSlashed:
    round_id: indexed(uint256)
    node: indexed(address)
    amount: uint256
    reason: String[64]

event ChallengeOpened:
    challenge_id: indexed(uint256)
    round_id: indexed(uint256)
    trainer: indexed(address)
    challenger: address
    evidence_hash: bytes32
    bond: uint256
    vote_deadline: uint256

event ChallengeVoted:
    challenge_id: indexed(uint256)
    member: indexed(address)
    guilty: bool

event ChallengeResolved:
    challenge_id: indexed(uint256)
    upheld: bool
    slashed: uint256
    forfeited: uint256

event Credited:
    account: indexed(address)
    amount: uint256
    round_id: uint256

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
models: public(Models)
committee_size: public(uint256)           # K
confirm_quorum: public(uint256)           # matching aggregate reveals that record a version
committee_bps: public(uint256)            # share of the pool paid to the committee seats
slash_bps: public(uint256)                # no-shows: share of stake slashed, 1/10000
fraud_slash_bps: public(uint256)          # upheld proof-of-training challenge
challenge_window: public(uint256)         # blocks after the confirm deadline a challenge may open
vote_window: public(uint256)              # blocks the committee has to vote on a challenge
challenge_bond: public(uint256)
governance: public(address)               # the only caller of set_param
emission: public(address)                 # told about accepted updates; empty = no rewards

rounds: public(HashMap[uint256, Round])
round_count: public(uint256)
updates: public(HashMap[uint256, HashMap[uint256, Update]])        # round -> slot -> update
slot_of: public(HashMap[uint256, HashMap[address, uint256]])        # round -> trainer -> slot + 1
seat_of: public(HashMap[uint256, HashMap[address, uint256]])        # round -> member -> seat + 1
score_commitments: public(HashMap[uint256, HashMap[address, bytes32]])
scores_revealed: public(HashMap[uint256, HashMap[address, bool]])
confirm_commitments: public(HashMap[uint256, HashMap[address, bytes32]])
confirm_hashes: public(HashMap[uint256, HashMap[address, bytes32]])  # revealed; empty = none
aggregate_uri: public(HashMap[uint256, String[256]])
challenges: public(HashMap[uint256, Challenge])
challenge_count: public(uint256)
challenged: public(HashMap[uint256, HashMap[address, uint256]])     # round -> trainer -> challenge id
voted: public(HashMap[uint256, HashMap[address, bool]])
claimable: public(HashMap[address, uint256])
_committee: HashMap[uint256, DynArray[address, MAX_COMMITTEE]]
_scores: HashMap[uint256, HashMap[uint256, uint256]]                # round -> slot * 32 + reveal index -> score


@deploy
def __init__(
    token: IERC20,
    registry: Registry,
    models: Models,
    committee_size: uint256,
    confirm_quorum: uint256,
    committee_bps: uint256,
    slash_bps: uint256,
    fraud_slash_bps: uint256,
    challenge_window: uint256,
    vote_window: uint256,
    challenge_bond: uint256,
):
    assert committee_size > 0 and committee_size <= MAX_COMMITTEE, "training: committee size out of range"
    assert confirm_quorum * 2 > committee_size and confirm_quorum <= committee_size, "training: quorum must be a majority of the committee"
    assert committee_bps <= 10000 and slash_bps <= 10000 and fraud_slash_bps <= 10000, "training: bps above 10000"
    assert vote_window > 0, "training: vote window must be positive"
    self.token = token
    self.registry = registry
    self.models = models
    self.committee_size = committee_size
    self.confirm_quorum = confirm_quorum
    self.committee_bps = committee_bps
    self.slash_bps = slash_bps
    self.fraud_slash_bps = fraud_slash_bps
    self.challenge_window = challenge_window
    self.vote_window = vote_window
    self.challenge_bond = challenge_bond
    self.governance = msg.sender


# ---------------------------------------------------------------- governance

@external
def set_param(param: uint256, new_value: uint256):
    """@notice Change one parameter (P_* ids); only `governance` may. Open rounds keep their K and quorum."""
    assert msg.sender == self.governance, "training: only governance may set parameters"
    assert param >= P_COMMITTEE_SIZE and param <= P_EMISSION, "training: unknown parameter"
    if param == P_COMMITTEE_SIZE:
        assert new_value > 0 and new_value <= MAX_COMMITTEE, "training: committee size out of range"
        self.committee_size = new_value
        self.confirm_quorum = new_value // 2 + 1      # a bare majority of the new size
    elif param == P_CONFIRM_QUORUM:
        assert new_value * 2 > self.committee_size and new_value <= self.committee_size, "training: quorum must be a majority of the committee"
        self.confirm_quorum = new_value
    elif param == P_EMISSION:
        assert new_value <= convert(max_value(uint160), uint256), "training: emission is not an address"
        self.emission = convert(convert(new_value, uint160), address)
    elif param <= P_FRAUD_SLASH_BPS:
        assert new_value <= 10000, "training: bps above 10000"
        if param == P_COMMITTEE_BPS:
            self.committee_bps = new_value
        elif param == P_SLASH_BPS:
            self.slash_bps = new_value
        else:
            self.fraud_slash_bps = new_value
    elif param == P_CHALLENGE_WINDOW:
        self.challenge_window = new_value
    elif param == P_VOTE_WINDOW:
        assert new_value > 0, "training: vote window must be positive"
        self.vote_window = new_value
    else:
        self.challenge_bond = new_value
    log ParamSet(param=param, value=new_value)


@external
def set_governance(new_governance: address):
    """@notice Hand parameter changes to `new_governance` (the deployer hands them to Governance)."""
    assert msg.sender == self.governance, "training: only governance may change governance"
    assert new_governance != empty(address), "training: governance is the zero address"
    self.governance = new_governance
    log GovernanceChanged(governance=new_governance)


# ---------------------------------------------------------------- open and draw

@external
def open_round(model_id: bytes32, version: uint256, pool: uint256, threshold: uint256, windows: uint256[6]) -> uint256:
    """
    @notice Open a round training `version` of `model_id` (the sender must own the model),
            escrowing `pool` tokens. `windows`: blocks for update commit, update reveal,
            score commit, score reveal, confirm commit, confirm reveal, one after the other.
    """
    assert staticcall self.models.owner_of(model_id) == msg.sender, "training: only the model owner may open a round"
    assert version != 0 and version <= staticcall self.models.latest(model_id), "training: version does not exist"
    registered: bool = False
    weights_hash: bytes32 = empty(bytes32)
    mode: uint8 = 0
    tolerance: uint256 = 0
    weights_hash, registered, mode, tolerance = staticcall self.registry.models(model_id)
    assert registered, "training: model is not registered in the Registry"
    assert staticcall self.registry.model_nodes(model_id) >= self.committee_size, "training: not enough active nodes for the committee"
    assert pool > 0, "training: reward pool is zero"
    assert threshold <= MAX_SCORE, "training: threshold above the maximum score"
    for w: uint256 in windows:
        assert w > 0, "training: windows must be positive"
    assert extcall self.token.transferFrom(msg.sender, self, pool), "training: pool transfer failed"
    round_id: uint256 = self.round_count + 1
    self.round_count = round_id
    d: uint256[6] = empty(uint256[6])
    last: uint256 = block.number
    for i: uint256 in range(6):
        last += windows[i]
        d[i] = last
    seat_reward: uint256 = pool * self.committee_bps // 10000 // self.committee_size
    self.rounds[round_id] = Round(
        owner=msg.sender, model_id=model_id, version=version, pool=pool, threshold=threshold,
        seed_block=block.number + 1,
        update_commit_deadline=d[0], update_reveal_deadline=d[1], score_commit_deadline=d[2],
        score_reveal_deadline=d[3], confirm_commit_deadline=d[4], confirm_reveal_deadline=d[5],
        seat_reward=seat_reward, updates=0, revealed_updates=0, score_commits=0, score_reveals=0,
        confirm_commits=0, confirm_reveals=0, drawn=False, scores_final=False, accepted=0,
        score_sum=0, aggregate_hash=empty(bytes32), aggregator=empty(address), closed=False, new_version=0,
        committee_size=self.committee_size, confirm_quorum=self.confirm_quorum,
    )
    log RoundOpened(round_id=round_id, model_id=model_id, owner=msg.sender, version=version, pool=pool,
                    threshold=threshold, seed_block=block.number + 1, deadlines=d)
    return round_id


@external
def draw(round_id: uint256):
    """@notice Draw the scoring committee; anyone may call once the seed block is mined, until the score commit deadline."""
    r: Round = self.rounds[round_id]
    assert r.owner != empty(address), "training: unknown round"
    assert not r.drawn, "training: committee already drawn"
    assert block.number > r.seed_block, "training: seed block not mined yet"
    assert block.number - r.seed_block <= SEED_HORIZON, "training: seed block too old"
    assert block.number <= r.score_commit_deadline, "training: score commit window closed"
    seed: bytes32 = keccak256(abi_encode(blockhash(r.seed_block), round_id))
    members: DynArray[address, MAX_COMMITTEE] = staticcall self.registry.sample(r.model_id, seed, r.committee_size)
    for i: uint256 in range(len(members), bound=MAX_COMMITTEE):
        self.seat_of[round_id][members[i]] = i + 1
        extcall self.registry.task_opened(members[i])
    self._committee[round_id] = members
    self.rounds[round_id].drawn = True
    log CommitteeDrawn(round_id=round_id, members=members, seed=seed)


# ---------------------------------------------------------------- trainers

@external
def commit_update(round_id: uint256, commitment: bytes32):
    """@notice commitment = keccak256(abi_encode(round_id, keccak256(abi_encode(update_hash, trace_hash)), trainer, salt))."""
    # single fields, not the whole Round: each storage slot read costs 2,100 gas
    assert self.rounds[round_id].owner != empty(address), "training: unknown round"
    assert block.number <= self.rounds[round_id].update_commit_deadline, "training: update commit window closed"
    assert staticcall self.registry.has_capability(msg.sender, CAP_TRAINING), "training: sender is not an active training node"
    assert self.slot_of[round_id][msg.sender] == 0, "training: update already committed"
    slot: uint256 = self.rounds[round_id].updates
    assert slot < MAX_UPDATES, "training: round is full"
    assert commitment != empty(bytes32), "training: commitment is empty"
    self.updates[round_id][slot].trainer = msg.sender          # the slot is fresh: its other fields are zero
    self.updates[round_id][slot].commitment = commitment
    self.slot_of[round_id][msg.sender] = slot + 1
    self.rounds[round_id].updates = slot + 1
    extcall self.registry.task_opened(msg.sender)
    log UpdateCommitted(round_id=round_id, trainer=msg.sender, slot=slot, commitment=commitment)


@external
def reveal_update(round_id: uint256, update_hash: bytes32, trace_hash: bytes32, salt: bytes32):
    slot1: uint256 = self.slot_of[round_id][msg.sender]
    assert slot1 != 0, "training: no update committed by this sender"
    assert block.number > self.rounds[round_id].update_commit_deadline, "training: update reveal window not open yet"
    assert block.number <= self.rounds[round_id].update_reveal_deadline, "training: update reveal window closed"
    assert not self.updates[round_id][slot1 - 1].revealed, "training: update already revealed"
    assert update_hash != empty(bytes32), "training: update hash is empty"
    value: bytes32 = keccak256(abi_encode(update_hash, trace_hash))
    assert keccak256(abi_encode(round_id, value, msg.sender, salt)) == self.updates[round_id][slot1 - 1].commitment, "training: reveal does not match the commitment"
    self.updates[round_id][slot1 - 1].update_hash = update_hash
    self.updates[round_id][slot1 - 1].trace_hash = trace_hash
    self.updates[round_id][slot1 - 1].revealed = True
    self.rounds[round_id].revealed_updates += 1
    log UpdateRevealed(round_id=round_id, trainer=msg.sender, slot=slot1 - 1, update_hash=update_hash, trace_hash=trace_hash)


# ---------------------------------------------------------------- scoring committee

@external
def commit_scores(round_id: uint256, commitment: bytes32):
    """@notice commitment = keccak256(abi_encode(round_id, keccak256(abi_encode(scores)), member, salt))."""
    assert self.seat_of[round_id][msg.sender] != 0, "training: sender is not on the committee"
    assert block.number > self.rounds[round_id].update_reveal_deadline, "training: score commit window not open yet"
    assert block.number <= self.rounds[round_id].score_commit_deadline, "training: score commit window closed"
    assert self.score_commitments[round_id][msg.sender] == empty(bytes32), "training: scores already committed"
    assert commitment != empty(bytes32), "training: commitment is empty"
    self.score_commitments[round_id][msg.sender] = commitment
    self.rounds[round_id].score_commits += 1
    log ScoresCommitted(round_id=round_id, member=msg.sender, commitment=commitment)


@external
def reveal_scores(round_id: uint256, scores: DynArray[uint256, MAX_UPDATES], salt: bytes32):
    """@notice One score (0..10000) per update slot, in slot order; unrevealed slots' scores are ignored."""
    commitment: bytes32 = self.score_commitments[round_id][msg.sender]
    assert commitment != empty(bytes32), "training: no scores committed by this sender"
    assert not self.scores_revealed[round_id][msg.sender], "training: scores already revealed"
    assert block.number > self.rounds[round_id].score_commit_deadline or self.rounds[round_id].score_commits == self.rounds[round_id].committee_size, "training: score reveal window not open yet"
    assert block.number <= self.rounds[round_id].score_reveal_deadline, "training: score reveal window closed"
    assert len(scores) == self.rounds[round_id].updates, "training: one score per update slot"
    assert keccak256(abi_encode(round_id, keccak256(abi_encode(scores)), msg.sender, salt)) == commitment, "training: reveal does not match the commitment"
    index: uint256 = self.rounds[round_id].score_reveals
    for slot: uint256 in range(len(scores), bound=MAX_UPDATES):
        assert scores[slot] <= MAX_SCORE, "training: score above the maximum"
        if self.updates[round_id][slot].revealed:
            self._scores[round_id][slot * MAX_COMMITTEE + index] = scores[slot]
    self.scores_revealed[round_id][msg.sender] = True
    self.rounds[round_id].score_reveals = index + 1
    log ScoresRevealed(round_id=round_id, member=msg.sender, scores=scores)


@internal
@view
def _median(round_id: uint256, slot: uint256, n: uint256) -> uint256:
    """Lower median of the n revealed scores of `slot` (insertion sort in memory)."""
    vals: DynArray[uint256, MAX_COMMITTEE] = []
    for k: uint256 in range(n, bound=MAX_COMMITTEE):
        v: uint256 = self._scores[round_id][slot * MAX_COMMITTEE + k]
        vals.append(v)
        j: uint256 = k
        for _: uint256 in range(MAX_COMMITTEE):
            if j == 0 or vals[j - 1] <= v:
                break
            vals[j] = vals[j - 1]
            j -= 1
        vals[j] = v
    return vals[(n - 1) // 2]


@external
def finalize_scores(round_id: uint256):
    """
    @notice Median per update, acceptance, rewards (credited), no-show slashes. Anyone may
            call after the score reveal deadline, or once every member revealed.
    """
    r: Round = self.rounds[round_id]
    assert r.owner != empty(address), "training: unknown round"
    assert not r.scores_final, "training: scores already finalized"
    assert block.number > r.score_reveal_deadline or (r.drawn and r.score_reveals == r.committee_size and block.number > r.update_reveal_deadline), "training: scores still open"
    n: uint256 = r.score_reveals
    accepted: uint256 = 0
    score_sum: uint256 = 0
    trainers: DynArray[address, MAX_UPDATES] = []
    medians: DynArray[uint256, MAX_UPDATES] = []
    revealed: DynArray[bool, MAX_UPDATES] = []
    for slot: uint256 in range(r.updates, bound=MAX_UPDATES):
        trainer: address = self.updates[round_id][slot].trainer
        shown: bool = self.updates[round_id][slot].revealed
        trainers.append(trainer)
        revealed.append(shown)
        medians.append(0)
        extcall self.registry.task_closed(trainer)
        if not shown:
            self._slash(round_id, trainer, self.slash_bps, "training: update not revealed")
        elif n > 0:
            m: uint256 = self._median(round_id, slot, n)
            medians[slot] = m
            self.updates[round_id][slot].median = m
            if m >= r.threshold:
                self.updates[round_id][slot].accepted = True
                accepted += 1
                score_sum += m
    trainer_pool: uint256 = r.pool - r.seat_reward * r.committee_size
    trainer_paid: uint256 = 0
    winners: DynArray[address, MAX_UPDATES] = []
    for slot: uint256 in range(len(trainers), bound=MAX_UPDATES):
        if not revealed[slot]:
            continue
        ok: bool = n > 0 and medians[slot] >= r.threshold
        reward: uint256 = 0
        if ok and score_sum > 0:
            reward = trainer_pool * medians[slot] // score_sum
            self.updates[round_id][slot].reward = reward
            trainer_paid += reward
            self._credit(trainers[slot], reward, round_id)
        if ok:
            winners.append(trainers[slot])
        log UpdateScored(round_id=round_id, trainer=trainers[slot], slot=slot, median=medians[slot], accepted=ok, reward=reward)
    committee_paid: uint256 = 0
    for member: address in self._committee[round_id]:
        if self.scores_revealed[round_id][member]:
            committee_paid += r.seat_reward
            self._credit(member, r.seat_reward, round_id)
        else:
            self._slash(round_id, member, self.slash_bps, "training: no score reveal")
    refund: uint256 = r.pool - trainer_paid - committee_paid
    self._credit(r.owner, refund, round_id)
    self.rounds[round_id].scores_final = True
    self.rounds[round_id].accepted = accepted
    self.rounds[round_id].score_sum = score_sum
    log RoundScored(round_id=round_id, accepted=accepted, score_sum=score_sum, trainer_paid=trainer_paid,
                    committee_paid=committee_paid, refund=refund)
    if self.emission != empty(address) and len(winners) > 0:
        # accepted updates earn epoch rewards; a failing Emission never blocks the round
        reported: bool = raw_call(
            self.emission,
            concat(method_id("record_work(address[],uint256)"), abi_encode(winners, convert(1, uint256))),
            revert_on_failure=False,
        )


# ---------------------------------------------------------------- aggregate

@external
def post_aggregate(round_id: uint256, weights_hash: bytes32, uri: String[256]):
    """@notice Post the sha256 of the new global weights (a committee member or the round owner)."""
    r: Round = self.rounds[round_id]
    assert r.scores_final, "training: scores not finalized yet"
    assert block.number <= r.confirm_commit_deadline, "training: aggregate window closed"
    assert self.seat_of[round_id][msg.sender] != 0 or msg.sender == r.owner, "training: only a committee member or the owner may post the aggregate"
    assert r.aggregate_hash == empty(bytes32), "training: aggregate already posted"
    assert r.accepted > 0, "training: no accepted update to aggregate"
    assert weights_hash != empty(bytes32), "training: weights hash is empty"
    self.rounds[round_id].aggregate_hash = weights_hash
    self.rounds[round_id].aggregator = msg.sender
    self.aggregate_uri[round_id] = uri
    log AggregatePosted(round_id=round_id, aggregator=msg.sender, weights_hash=weights_hash, uri=uri)


@external
def commit_confirm(round_id: uint256, commitment: bytes32):
    """@notice commitment = keccak256(abi_encode(round_id, weights_hash, member, salt)) of the hash the member computed."""
    assert self.seat_of[round_id][msg.sender] != 0, "training: sender is not on the committee"
    assert self.rounds[round_id].scores_final, "training: scores not finalized yet"
    assert block.number <= self.rounds[round_id].confirm_commit_deadline, "training: confirm commit window closed"
    assert self.confirm_commitments[round_id][msg.sender] == empty(bytes32), "training: confirm already committed"
    assert commitment != empty(bytes32), "training: commitment is empty"
    self.confirm_commitments[round_id][msg.sender] = commitment
    self.rounds[round_id].confirm_commits += 1
    log ConfirmCommitted(round_id=round_id, member=msg.sender, commitment=commitment)


@external
def reveal_confirm(round_id: uint256, weights_hash: bytes32, salt: bytes32):
    commitment: bytes32 = self.confirm_commitments[round_id][msg.sender]
    assert commitment != empty(bytes32), "training: no confirm committed by this sender"
    assert self.confirm_hashes[round_id][msg.sender] == empty(bytes32), "training: confirm already revealed"
    assert block.number > self.rounds[round_id].confirm_commit_deadline or self.rounds[round_id].confirm_commits == self.rounds[round_id].committee_size, "training: confirm reveal window not open yet"
    assert block.number <= self.rounds[round_id].confirm_reveal_deadline, "training: confirm reveal window closed"
    assert weights_hash != empty(bytes32), "training: weights hash is empty"
    assert keccak256(abi_encode(round_id, weights_hash, msg.sender, salt)) == commitment, "training: reveal does not match the commitment"
    self.confirm_hashes[round_id][msg.sender] = weights_hash
    self.rounds[round_id].confirm_reveals += 1
    log ConfirmRevealed(round_id=round_id, member=msg.sender, weights_hash=weights_hash)


@external
def finalize_aggregate(round_id: uint256) -> uint256:
    """
    @notice Record the hash that at least `confirm_quorum` members revealed as the model's next
            version (the posted hash is the aggregator's claim, not the decision: a wrong post
            cannot block a round); slash silent members and, with a quorum, dissenters.
            Anyone may call after the confirm reveal deadline, or once every member revealed.
    @return the new version (0: none recorded)
    """
    r: Round = self.rounds[round_id]
    assert r.scores_final, "training: scores not finalized yet"
    assert not r.closed, "training: round already closed"
    assert block.number > r.confirm_reveal_deadline or (r.drawn and r.confirm_reveals == r.committee_size), "training: confirm still open"
    members: DynArray[address, MAX_COMMITTEE] = self._committee[round_id]
    winner: bytes32 = empty(bytes32)
    confirmations: uint256 = 0
    for i: uint256 in range(len(members), bound=MAX_COMMITTEE):
        h: bytes32 = self.confirm_hashes[round_id][members[i]]
        if h == empty(bytes32):
            continue
        count: uint256 = 0
        for other: address in members:
            if self.confirm_hashes[round_id][other] == h:
                count += 1
        if count >= r.confirm_quorum:
            winner = h
            confirmations = count
            break
    quorum: bool = winner != empty(bytes32)
    for member: address in members:
        revealed: bytes32 = self.confirm_hashes[round_id][member]
        if r.accepted > 0 and revealed == empty(bytes32):
            self._slash(round_id, member, self.slash_bps, "training: no confirm reveal")
        elif quorum and revealed != winner:
            self._slash(round_id, member, self.slash_bps, "training: confirmed another aggregate")
        extcall self.registry.task_closed(member)
    version: uint256 = 0
    if quorum:
        uri: String[256] = ""
        if winner == r.aggregate_hash:
            uri = self.aggregate_uri[round_id]
        version = extcall self.models.record_version(r.model_id, r.version, winner, round_id, uri)
    self.rounds[round_id].closed = True
    self.rounds[round_id].new_version = version
    log RoundClosed(round_id=round_id, model_id=r.model_id, new_version=version, weights_hash=winner, confirmations=confirmations)
    return version


# ---------------------------------------------------------------- proof-of-training challenges

@external
def challenge(round_id: uint256, trainer: address, evidence_hash: bytes32) -> uint256:
    """@notice Dispute `trainer`'s update with the sha256 of a failed replay; escrows `challenge_bond`."""
    r: Round = self.rounds[round_id]
    assert r.scores_final, "training: scores not finalized yet"
    assert block.number <= r.confirm_reveal_deadline + self.challenge_window, "training: challenge window closed"
    slot1: uint256 = self.slot_of[round_id][trainer]
    assert slot1 != 0 and self.updates[round_id][slot1 - 1].revealed, "training: trainer revealed no update in this round"
    assert self.challenged[round_id][trainer] == 0, "training: update already challenged"
    assert evidence_hash != empty(bytes32), "training: evidence hash is empty"
    bond: uint256 = self.challenge_bond
    if bond > 0:
        assert extcall self.token.transferFrom(msg.sender, self, bond), "training: bond transfer failed"
    cid: uint256 = self.challenge_count + 1
    self.challenge_count = cid
    self.challenged[round_id][trainer] = cid
    deadline: uint256 = block.number + self.vote_window
    self.challenges[cid] = Challenge(round_id=round_id, trainer=trainer, challenger=msg.sender, evidence_hash=evidence_hash,
                                     bond=bond, vote_deadline=deadline, guilty=0, innocent=0, resolved=False, upheld=False)
    log ChallengeOpened(challenge_id=cid, round_id=round_id, trainer=trainer, challenger=msg.sender,
                        evidence_hash=evidence_hash, bond=bond, vote_deadline=deadline)
    return cid


@external
def vote(challenge_id: uint256, guilty: bool):
    """@notice A member of the round's committee replays the segment and votes."""
    c: Challenge = self.challenges[challenge_id]
    assert c.round_id != 0, "training: unknown challenge"
    assert not c.resolved, "training: challenge already resolved"
    assert self.seat_of[c.round_id][msg.sender] != 0, "training: sender is not on the round's committee"
    assert block.number <= c.vote_deadline, "training: vote window closed"
    assert not self.voted[challenge_id][msg.sender], "training: already voted"
    self.voted[challenge_id][msg.sender] = True
    if guilty:
        self.challenges[challenge_id].guilty = c.guilty + 1
    else:
        self.challenges[challenge_id].innocent = c.innocent + 1
    log ChallengeVoted(challenge_id=challenge_id, member=msg.sender, guilty=guilty)


@external
def resolve_challenge(challenge_id: uint256) -> bool:
    """
    @notice Upheld when more than half of the committee voted guilty. Anyone may call after
            the vote deadline, or as soon as the outcome cannot change.
    @return whether the challenge was upheld
    """
    c: Challenge = self.challenges[challenge_id]
    assert c.round_id != 0, "training: unknown challenge"
    assert not c.resolved, "training: challenge already resolved"
    k: uint256 = self.rounds[c.round_id].committee_size
    upheld: bool = c.guilty * 2 > k
    decided: bool = upheld or (k - c.innocent) * 2 <= k
    assert decided or block.number > c.vote_deadline, "training: vote still open"
    self.challenges[challenge_id].resolved = True
    self.challenges[challenge_id].upheld = upheld
    slashed: uint256 = 0
    forfeited: uint256 = 0
    if upheld:
        slashed = self._slash(c.round_id, c.trainer, self.fraud_slash_bps, "training: proof of training failed")
        reward: uint256 = self.updates[c.round_id][self.slot_of[c.round_id][c.trainer] - 1].reward
        forfeited = min(reward, self.claimable[c.trainer])
        self.claimable[c.trainer] -= forfeited
        self._credit(c.challenger, c.bond + forfeited, c.round_id)
    else:
        self._credit(c.trainer, c.bond, c.round_id)
    log ChallengeResolved(challenge_id=challenge_id, upheld=upheld, slashed=slashed, forfeited=forfeited)
    return upheld


# ---------------------------------------------------------------- payouts

@internal
def _credit(account: address, amount: uint256, round_id: uint256):
    if amount == 0:
        return
    self.claimable[account] += amount
    log Credited(account=account, amount=amount, round_id=round_id)


@internal
def _slash(round_id: uint256, node: address, bps: uint256, reason: String[64]) -> uint256:
    amount: uint256 = staticcall self.registry.stake_of(node) * bps // 10000
    taken: uint256 = extcall self.registry.slash(node, amount, reason)
    log MemberSlashed(round_id=round_id, node=node, amount=taken, reason=reason)
    return taken


@external
def claim() -> uint256:
    amount: uint256 = self.claimable[msg.sender]
    assert amount > 0, "training: nothing to claim"
    self.claimable[msg.sender] = 0
    assert extcall self.token.transfer(msg.sender, amount), "training: claim transfer failed"
    log Claimed(account=msg.sender, amount=amount)
    return amount


# ---------------------------------------------------------------- views

@external
@view
def committee(round_id: uint256) -> DynArray[address, MAX_COMMITTEE]:
    return self._committee[round_id]


@external
@view
def score_of(round_id: uint256, slot: uint256, index: uint256) -> uint256:
    """@notice The score the `index`-th revealing member gave update `slot`."""
    return self._scores[round_id][slot * MAX_COMMITTEE + index]


@external
@view
def phase(round_id: uint256) -> uint256:
    """
    @notice 0 unknown, 1 update commit, 2 update reveal, 3 score commit, 4 score reveal,
            5 confirm commit, 6 confirm reveal, 7 waiting for finalize, 8 closed.
    """
    r: Round = self.rounds[round_id]
    if r.owner == empty(address):
        return 0
    if r.closed:
        return 8
    deadlines: uint256[6] = [r.update_commit_deadline, r.update_reveal_deadline, r.score_commit_deadline,
                             r.score_reveal_deadline, r.confirm_commit_deadline, r.confirm_reveal_deadline]
    for i: uint256 in range(6):
        if block.number <= deadlines[i]:
            return i + 1
    return 7
