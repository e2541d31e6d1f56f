# pragma version ~=0.4.3
# pragma experimental-codegen
"""
@title brainnet Registry
@notice Nodes register with a stake, an HTTP endpoint, an X25519 public key and the
        models they serve. Stake-weighted committees are drawn from here: every model
        keeps a Fenwick (binary indexed) tree of the stakes of its active nodes, so one
        committee ticket costs O(log N) reads and no transaction loops over all nodes.
        Committees are sampled without replacement: a ticket is drawn over the stake
        that is still free, then mapped past the intervals of members already chosen.
        `brainnet.protocol.committee` mirrors `sample` exactly.
@dev Assumes: protocol contracts (Inference, ...) are authorized by the owner at
     deployment; only they can slash and mark tasks pending. A node is active (drawable)
     when it is registered, not unbonding, not jailed and holds at least `min_stake`.
     A node cannot withdraw while tasks it sits on are pending.
     Parameters (min_stake, unbonding_blocks, jail_after, capability stakes, the share
     of a slash that is burned, the treasury) change only through `set_param`, called
     by `governance` (the deployer until it hands governance to the Governance
     contract). The owner keeps the bootstrap duties: registering models, authorizing
     protocol contracts. A slash sends `slash_burn_bps` of what it takes to be burned
     and the rest to the treasury.
     Reverts start with "registry:".
"""

from ethereum.ercs import IERC20

interface Burnable:
    def burn(amount: uint256): nonpayable

MAX_NODES: constant(uint256) = 1024       # size of every Fenwick tree (a power of two)
TREE_LEVELS: constant(uint256) = 11       # log2(MAX_NODES) + 1
MAX_MODELS: constant(uint256) = 8         # models one node may serve
MAX_COMMITTEE: constant(uint256) = 128     # members of one level
MAX_EXCLUDED: constant(uint256) = 256      # members of all earlier levels of a task
CAP_INFERENCE: constant(uint256) = 1       # capability bits a node declares
CAP_TRAINING: constant(uint256) = 2
CAP_SHARD: constant(uint256) = 4
ALL_CAPS: constant(uint256) = 7
# parameter ids of set_param (brainnet.chain.params names them)
P_MIN_STAKE: constant(uint256) = 1
P_UNBONDING_BLOCKS: constant(uint256) = 2
P_JAIL_AFTER: constant(uint256) = 3
P_SLASH_BURN_BPS: constant(uint256) = 4
P_CAP_STAKE_INFERENCE: constant(uint256) = 5
P_CAP_STAKE_TRAINING: constant(uint256) = 6
P_CAP_STAKE_SHARD: constant(uint256) = 7
P_TREASURY: constant(uint256) = 8
EXACT: constant(uint8) = 0                 # agreement modes of a model
NEAR: constant(uint8) = 1

struct Node:
    index: uint256           # 1-based position in the Fenwick trees; 0 = not registered
    stake: uint256
    endpoint: String[128]
    pubkey: bytes32
    active: bool             # counted in the trees of its models
    jailed: bool
    unbond_at: uint256       # block from which withdraw is allowed; 0 = bonded
    slashes: uint256
    pending: uint256         # 1 + open tasks this node sits on (the 1, written at registration, keeps
                             # the counter off zero so opening a task never pays for a fresh slot)

struct Model:
    weights_hash: bytes32    # sha256 of the canonical weights file
    registered: bool
    mode: uint8              # EXACT: results agree when equal; NEAR: 256-bit SimHash fingerprints
    tolerance: uint256       # NEAR: agree when the Hamming distance is at most this

event ModelRegistered:
    model_id: indexed(bytes32)
    weights_hash: bytes32
    mode: uint8
    tolerance: uint256

event NodeRegistered:
    node: indexed(address)
    index: uint256
    stake: uint256
    endpoint: String[128]
    pubkey: bytes32
    model_ids: DynArray[bytes32, MAX_MODELS]

event StakeAdded:
    node: indexed(address)
    amount: uint256
    stake: uint256

event UnbondingStarted:
    node: indexed(address)
    withdraw_at: uint256

event Withdrawn:
    node: indexed(address)
    amount: uint256

event Slashed:
    node: indexed(address)
    amount: uint256
    reason: String[64]
    stake_left: uint256

event Jailed:
    node: indexed(address)
    slashes: uint256

event CapabilitiesSet:
    node: indexed(address)
    capabilities: uint256

event CapabilityStakeSet:
    capability: uint256
    min_stake: uint256

event Authorized:
    protocol: indexed(address)
    allowed: bool

event ParamSet:
    param: indexed(uint256)
    value: uint256

event GovernanceChanged:
    governance: indexed(address)

event Burned:
    node: indexed(address)
    amount: uint256

token: public(IERC20)
owner: public(address)
treasury: public(address)
min_stake: public(uint256)
unbonding_blocks: public(uint256)
jail_after: public(uint256)             # slashes that jail a node
slash_burn_bps: public(uint256)         # share of every slash burned (1/10000); the rest goes to the treasury
governance: public(address)             # the only caller of set_param

nodes: public(HashMap[address, Node])
node_at: public(HashMap[uint256, address])
node_count: public(uint256)
models: public(HashMap[bytes32, Model])
model_stake: public(HashMap[bytes32, uint256])   # active stake serving a model
model_nodes: public(HashMap[bytes32, uint256])   # active nodes serving a model
authorized: public(HashMap[address, bool])
capabilities: public(HashMap[address, uint256])      # CAP_* bits; register() grants CAP_INFERENCE
capability_stake: public(HashMap[uint256, uint256])  # CAP_* bit -> extra minimum stake (0: just min_stake)
_models_of: HashMap[address, DynArray[bytes32, MAX_MODELS]]
_tree: HashMap[bytes32, HashMap[uint256, uint256]]


@deploy
def __init__(token: IERC20, treasury: address, min_stake: uint256, unbonding_blocks: uint256, jail_after: uint256):
    assert min_stake > 0, "registry: min_stake must be positive"
    assert jail_after > 0, "registry: jail_after must be positive"
    self.token = token
    self.owner = msg.sender
    self.treasury = treasury
    self.min_stake = min_stake
    self.unbonding_blocks = unbonding_blocks
    self.jail_after = jail_after
    self.governance = msg.sender


# ---------------------------------------------------------------- Fenwick tree

@internal
def _tree_add(model_id: bytes32, index: uint256, amount: uint256):
    i: uint256 = index
    for _: uint256 in range(TREE_LEVELS):
        if i > MAX_NODES:
            break
        self._tree[model_id][i] += amount
        i = unsafe_add(i, i & unsafe_add(~i, 1))


@internal
def _tree_sub(model_id: bytes32, index: uint256, amount: uint256):
    i: uint256 = index
    for _: uint256 in range(TREE_LEVELS):
        if i > MAX_NODES:
            break
        self._tree[model_id][i] -= amount
        i = unsafe_add(i, i & unsafe_add(~i, 1))


@internal
def _activate(node: address):
    n: Node = self.nodes[node]
    for m: bytes32 in self._models_of[node]:
        self._tree_add(m, n.index, n.stake)
        self.model_stake[m] += n.stake
        self.model_nodes[m] += 1
    self.nodes[node].active = True


@internal
def _deactivate(node: address):
    n: Node = self.nodes[node]
    if not n.active:
        return
    for m: bytes32 in self._models_of[node]:
        self._tree_sub(m, n.index, n.stake)
        self.model_stake[m] -= n.stake
        self.model_nodes[m] -= 1
    self.nodes[node].active = False


@internal
@view
def _eligible(n: Node) -> bool:
    return n.index != 0 and not n.jailed and n.unbond_at == 0 and n.stake >= self.min_stake


# ---------------------------------------------------------------- owner

@external
def register_model(model_id: bytes32, weights_hash: bytes32):
    """@notice Register a model whose results agree when equal (labels, token ids)."""
    self._register_model(model_id, weights_hash, EXACT, 0)


@external
def register_near_model(model_id: bytes32, weights_hash: bytes32, tolerance: uint256):
    """@notice Register a float-output model: results are SimHash fingerprints that agree within `tolerance` bits."""
    assert tolerance < 128, "registry: tolerance must be below 128 bits"
    self._register_model(model_id, weights_hash, NEAR, tolerance)


@internal
def _register_model(model_id: bytes32, weights_hash: bytes32, mode: uint8, tolerance: uint256):
    assert msg.sender == self.owner, "registry: only the owner may register models"
    assert weights_hash != empty(bytes32), "registry: weights hash is empty"
    old: Model = self.models[model_id]
    # protocols cache a model's agreement rule (Inference): an update may change only the weights hash
    assert not old.registered or (old.mode == mode and old.tolerance == tolerance), "registry: a registered model keeps its agreement mode and tolerance"
    self.models[model_id] = Model(weights_hash=weights_hash, registered=True, mode=mode, tolerance=tolerance)
    log ModelRegistered(model_id=model_id, weights_hash=weights_hash, mode=mode, tolerance=tolerance)


@external
def set_capability_stake(capability: uint256, amount: uint256):
    """@notice Minimum stake a node needs to declare `capability` (one CAP_* bit); governance only."""
    assert msg.sender == self.governance, "registry: only governance may set parameters"
    assert capability in [CAP_INFERENCE, CAP_TRAINING, CAP_SHARD], "registry: unknown capability"
    self._set_capability_stake(capability, amount)


@internal
def _set_capability_stake(capability: uint256, amount: uint256):
    self.capability_stake[capability] = amount
    log CapabilityStakeSet(capability=capability, min_stake=amount)


# ---------------------------------------------------------------- governance

@external
def set_param(param: uint256, new_value: uint256):
    """@notice Change one parameter (P_* ids); only `governance` may."""
    assert msg.sender == self.governance, "registry: only governance may set parameters"
    if param == P_MIN_STAKE:
        assert new_value > 0, "registry: min_stake must be positive"
        self.min_stake = new_value
    elif param == P_UNBONDING_BLOCKS:
        self.unbonding_blocks = new_value
    elif param == P_JAIL_AFTER:
        assert new_value > 0, "registry: jail_after must be positive"
        self.jail_after = new_value
    elif param == P_SLASH_BURN_BPS:
        assert new_value <= 10000, "registry: slash_burn_bps above 10000"
        self.slash_burn_bps = new_value
    elif param == P_CAP_STAKE_INFERENCE:
        self._set_capability_stake(CAP_INFERENCE, new_value)
    elif param == P_CAP_STAKE_TRAINING:
        self._set_capability_stake(CAP_TRAINING, new_value)
    elif param == P_CAP_STAKE_SHARD:
        self._set_capability_stake(CAP_SHARD, new_value)
    elif param == P_TREASURY:
        assert new_value != 0 and new_value <= convert(max_value(uint160), uint256), "registry: treasury is not an address"
        self.treasury = convert(convert(new_value, uint160), address)
    else:
        raise "registry: unknown parameter"
    log ParamSet(param=param, value=new_value)


@external
def set_governance(new_governance: address):
    """@notice Hand parameter changes to `new_governance` (the deployer hands them to Governance)."""
    assert msg.sender == self.governance, "registry: only governance may change governance"
    assert new_governance != empty(address), "registry: governance is the zero address"
    self.governance = new_governance
    log GovernanceChanged(governance=new_governance)


@external
def authorize(protocol: address, allowed: bool):
    assert msg.sender == self.owner, "registry: only the owner may authorize"
    self.authorized[protocol] = allowed
    log Authorized(protocol=protocol, allowed=allowed)


# ---------------------------------------------------------------- nodes

@external
def register(stake: uint256, endpoint: String[128], pubkey: bytes32, model_ids: DynArray[bytes32, MAX_MODELS]):
    assert self.nodes[msg.sender].index == 0, "registry: node already registered"
    assert stake >= self.min_stake, "registry: stake below the minimum"
    assert len(model_ids) > 0, "registry: a node must serve at least one model"
    assert self.node_count < MAX_NODES, "registry: registry is full"
    for i: uint256 in range(len(model_ids), bound=MAX_MODELS):
        assert self.models[model_ids[i]].registered, "registry: unknown model id"
        for j: uint256 in range(i, bound=MAX_MODELS):
            assert model_ids[j] != model_ids[i], "registry: model id listed twice"
    assert extcall self.token.transferFrom(msg.sender, self, stake), "registry: stake transfer failed"
    index: uint256 = self.node_count + 1
    self.node_count = index
    self.node_at[index] = msg.sender
    self._models_of[msg.sender] = model_ids
    self.nodes[msg.sender] = Node(
        index=index, stake=stake, endpoint=endpoint, pubkey=pubkey,
        active=False, jailed=False, unbond_at=0, slashes=0, pending=1,
    )
    self.capabilities[msg.sender] = CAP_INFERENCE
    self._activate(msg.sender)
    log NodeRegistered(node=msg.sender, index=index, stake=stake, endpoint=endpoint, pubkey=pubkey, model_ids=model_ids)


@internal
@view
def _min_stake_for(capability: uint256) -> uint256:
    return max(self.min_stake, self.capability_stake[capability])


@external
def set_capabilities(capabilities: uint256):
    """@notice Declare what work this node takes: CAP_INFERENCE | CAP_TRAINING | CAP_SHARD."""
    n: Node = self.nodes[msg.sender]
    assert n.index != 0, "registry: node not registered"
    assert capabilities != 0, "registry: declare at least one capability"
    assert capabilities & ~ALL_CAPS == 0, "registry: unknown capability bit"
    for cap: uint256 in [CAP_INFERENCE, CAP_TRAINING, CAP_SHARD]:
        if capabilities & cap != 0:
            assert n.stake >= self._min_stake_for(cap), "registry: stake below the minimum for a capability"
    self.capabilities[msg.sender] = capabilities
    log CapabilitiesSet(node=msg.sender, capabilities=capabilities)


@external
def add_stake(amount: uint256):
    n: Node = self.nodes[msg.sender]
    assert n.index != 0, "registry: node not registered"
    assert n.unbond_at == 0, "registry: node is unbonding"
    assert amount > 0, "registry: amount is zero"
    assert extcall self.token.transferFrom(msg.sender, self, amount), "registry: stake transfer failed"
    self._deactivate(msg.sender)
    self.nodes[msg.sender].stake = n.stake + amount
    if self._eligible(self.nodes[msg.sender]):
        self._activate(msg.sender)
    log StakeAdded(node=msg.sender, amount=amount, stake=n.stake + amount)


@external
def begin_unbond():
    n: Node = self.nodes[msg.sender]
    assert n.index != 0, "registry: node not registered"
    assert n.unbond_at == 0, "registry: already unbonding"
    self._deactivate(msg.sender)
    withdraw_at: uint256 = block.number + self.unbonding_blocks
    self.nodes[msg.sender].unbond_at = withdraw_at
    log UnbondingStarted(node=msg.sender, withdraw_at=withdraw_at)


@external
def withdraw():
    n: Node = self.nodes[msg.sender]
    assert n.index != 0, "registry: node not registered"
    assert n.unbond_at != 0, "registry: call begin_unbond first"
    assert block.number >= n.unbond_at, "registry: unbonding period not over"
    assert n.pending <= 1, "registry: tasks still pending for this node"
    self.nodes[msg.sender].stake = 0
    if n.stake > 0:
        assert extcall self.token.transfer(msg.sender, n.stake), "registry: withdraw transfer failed"
    log Withdrawn(node=msg.sender, amount=n.stake)


# ---------------------------------------------------------------- protocol hooks

@external
def slash(node: address, amount: uint256, reason: String[64]) -> uint256:
    """
    @notice Take up to `amount` of `node`'s stake to the treasury; jail after `jail_after` slashes.
    @return the amount actually taken
    """
    assert self.authorized[msg.sender], "registry: caller may not slash"
    n: Node = self.nodes[node]
    assert n.index != 0, "registry: node not registered"
    taken: uint256 = min(amount, n.stake)
    self._deactivate(node)
    self.nodes[node].stake = n.stake - taken
    self.nodes[node].slashes = n.slashes + 1
    if n.slashes + 1 >= self.jail_after and not n.jailed:
        self.nodes[node].jailed = True
        log Jailed(node=node, slashes=n.slashes + 1)
    if self._eligible(self.nodes[node]):
        self._activate(node)
    burned: uint256 = taken * self.slash_burn_bps // 10000
    if burned > 0:
        extcall Burnable(self.token.address).burn(burned)
        log Burned(node=node, amount=burned)
    if taken > burned:
        assert extcall self.token.transfer(self.treasury, taken - burned), "registry: slash transfer failed"
    log Slashed(node=node, amount=taken, reason=reason, stake_left=n.stake - taken)
    return taken


@external
def refresh(node: address):
    """@notice Anyone: take a node that no longer meets `min_stake` (after governance raised it) out of the draw."""
    n: Node = self.nodes[node]
    assert n.index != 0, "registry: node not registered"
    assert n.active and not self._eligible(n), "registry: node is already in its right state"
    self._deactivate(node)


@external
def task_opened(node: address):
    assert self.authorized[msg.sender], "registry: caller may not open tasks"
    self.nodes[node].pending += 1


@external
def task_closed(node: address):
    assert self.authorized[msg.sender], "registry: caller may not close tasks"
    self.nodes[node].pending -= 1






# ---------------------------------------------------------------- views

@external
@view
def stake_of(node: address) -> uint256:
    return self.nodes[node].stake


@external
@view
def has_capability(node: address, capability: uint256) -> bool:
    """@notice True when `node` is active, declared `capability` and stakes enough for it."""
    n: Node = self.nodes[node]
    return n.active and self.capabilities[node] & capability == capability and n.stake >= self._min_stake_for(capability)


@external
@view
def index_of(node: address) -> uint256:
    """@notice 1-based position of `node` in the Fenwick trees (0 = not registered)."""
    return self.nodes[node].index




@external
@view
def nodes_at(indices: DynArray[uint256, MAX_EXCLUDED]) -> DynArray[address, MAX_EXCLUDED]:
    """@notice `node_at` of each of `indices`."""
    out: DynArray[address, MAX_EXCLUDED] = []
    for i: uint256 in indices:
        out.append(self.node_at[i])
    return out


@external
@view
def models_of(node: address) -> DynArray[bytes32, MAX_MODELS]:
    return self._models_of[node]


@external
@view
def is_active(node: address) -> bool:
    return self.nodes[node].active


@external
@view
def active_nodes(model_id: bytes32) -> DynArray[address, MAX_NODES]:
    """@notice Active nodes serving `model_id`, in registration order (off-chain use)."""
    out: DynArray[address, MAX_NODES] = []
    for i: uint256 in range(1, MAX_NODES + 1):
        if i > self.node_count:
            break
        node: address = self.node_at[i]
        if self.nodes[node].active and model_id in self._models_of[node]:
            out.append(node)
    return out


@internal
@view
def _prefix(model_id: bytes32, index: uint256) -> uint256:
    """Sum of the stakes at tree positions 1..index."""
    total: uint256 = 0
    i: uint256 = index
    for _: uint256 in range(TREE_LEVELS):
        if i == 0:
            break
        total += self._tree[model_id][i]
        i = i & unsafe_sub(i, 1)
    return total


@internal
@view
def _excluded_active(model_id: bytes32, exclude: DynArray[address, MAX_EXCLUDED]) -> uint256:
    count: uint256 = 0
    for node: address in exclude:
        if self.nodes[node].active and model_id in self._models_of[node]:
            count += 1
    return count


@external
@view
def available(model_id: bytes32, exclude: DynArray[address, MAX_EXCLUDED]) -> uint256:
    """@notice Active nodes serving `model_id` that are not in `exclude` (duplicates in `exclude` not allowed)."""
    return self.model_nodes[model_id] - self._excluded_active(model_id, exclude)


@external
@view
def sample(model_id: bytes32, seed: bytes32, k: uint256) -> DynArray[address, MAX_COMMITTEE]:
    """
    @notice Draw `k` distinct active nodes serving `model_id`, each with probability
            proportional to stake among those not yet drawn.
    """
    return self._addresses(self._sample(model_id, seed, k, []))


@external
@view
def sample_excluding(model_id: bytes32, seed: bytes32, k: uint256, exclude: DynArray[address, MAX_EXCLUDED]) -> DynArray[address, MAX_COMMITTEE]:
    """@notice `sample`, never drawing a node in `exclude` (earlier levels' members of an escalated task)."""
    indices: DynArray[uint256, MAX_EXCLUDED] = []
    for node: address in exclude:
        indices.append(self.nodes[node].index)
    return self._addresses(self._sample(model_id, seed, k, indices))


@external
def open_seats(model_id: bytes32, seed: bytes32, k: uint256, exclude: DynArray[uint256, MAX_EXCLUDED]) -> DynArray[uint256, MAX_COMMITTEE]:
    """
    @notice For an authorized protocol: `sample_excluding` with nodes named by index (`exclude`:
            indices of earlier levels' members), each member returned as index | address << 16,
            and a task opened on each (`task_opened`).
    """
    assert self.authorized[msg.sender], "registry: caller may not open tasks"
    out: DynArray[uint256, MAX_COMMITTEE] = self._sample(model_id, seed, k, exclude)
    for seat: uint256 in out:
        self.nodes[convert(convert(seat >> 16, uint160), address)].pending += 1
    return out


@external
def close_seats(indices: DynArray[uint256, MAX_EXCLUDED], counts: DynArray[uint256, MAX_EXCLUDED]) -> DynArray[address, MAX_EXCLUDED]:
    """@notice For an authorized protocol: close counts[i] tasks of the node at indices[i], for
               every i (Inference closes a whole batch of settled tasks at once); returns the
               nodes' addresses."""
    assert self.authorized[msg.sender], "registry: caller may not close tasks"
    assert len(counts) == len(indices), "registry: indices and counts differ in length"
    out: DynArray[address, MAX_EXCLUDED] = []
    for i: uint256 in range(len(indices), bound=MAX_EXCLUDED):
        node: address = self.node_at[indices[i]]
        self.nodes[node].pending -= counts[i]
        out.append(node)
    return out


@internal
@pure
def _addresses(seats: DynArray[uint256, MAX_COMMITTEE]) -> DynArray[address, MAX_COMMITTEE]:
    out: DynArray[address, MAX_COMMITTEE] = []
    for seat: uint256 in seats:
        out.append(convert(convert(seat >> 16, uint160), address))
    return out


@internal
@view
def _sample(model_id: bytes32, seed: bytes32, k: uint256, exclude: DynArray[uint256, MAX_EXCLUDED]) -> DynArray[uint256, MAX_COMMITTEE]:
    """
    @dev Excluded nodes' intervals are placed first, exactly as if they had been drawn.
         Ticket i: r = keccak256(abi_encode(seed, i)) mod (free stake). Walk the intervals
         already taken in ascending order of their start, adding each one's stake when r
         lies at or past that start, then descend the Fenwick tree. An interval is kept as
         start << 128 | stake (starts are distinct, so the packed words sort by start).
         Returns each member as index | address << 16. One loop places the excluded
         intervals (steps < len(exclude)), then draws: the frame stays small, which keeps
         the memory an external call pays for small.
    """
    assert k <= MAX_COMMITTEE, "registry: committee too large"
    out: DynArray[uint256, MAX_COMMITTEE] = []
    taken: DynArray[uint256, MAX_EXCLUDED + MAX_COMMITTEE] = []    # ascending
    drawn: uint256 = 0
    excluded: uint256 = 0
    for index: uint256 in exclude:
        node: address = self.node_at[index]
        if self.nodes[node].active and model_id in self._models_of[node]:
            excluded += 1
    assert self.model_nodes[model_id] >= k + excluded, "registry: not enough active nodes for the committee"
    total: uint256 = self.model_stake[model_id]
    # the descent starts at the largest power of two <= node_count: positions past the last
    # registered node hold no stake, so the levels above it would only be read and skipped
    top: uint256 = MAX_NODES
    count: uint256 = self.node_count
    for _: uint256 in range(TREE_LEVELS):
        if top <= count:
            break
        top //= 2
    n_ex: uint256 = len(exclude)
    for step_i: uint256 in range(MAX_EXCLUDED + MAX_COMMITTEE):
        if step_i >= n_ex + k:
            break
        interval: uint256 = 0
        if step_i < n_ex:
            index: uint256 = exclude[step_i]
            node: address = self.node_at[index]
            n: Node = self.nodes[node]
            if not (n.active and model_id in self._models_of[node]):
                continue
            interval = (self._prefix(model_id, index - 1) << 128) | n.stake
        else:
            r: uint256 = convert(keccak256(abi_encode(seed, step_i - n_ex)), uint256) % (total - drawn)
            for t: uint256 in taken:
                if r < t >> 128:
                    break
                r += t & (2**128 - 1)
            # descend: find the smallest index whose prefix sum exceeds r
            pos: uint256 = 0
            rest: uint256 = r
            step: uint256 = top
            for _: uint256 in range(TREE_LEVELS):
                if step == 0:
                    break
                nxt: uint256 = pos + step
                if nxt <= count:
                    below: uint256 = self._tree[model_id][nxt]
                    if below <= rest:
                        pos = nxt
                        rest -= below
                step //= 2
            node: address = self.node_at[pos + 1]
            interval = ((r - rest) << 128) | self.nodes[node].stake
            out.append(pos + 1 | convert(convert(node, uint160), uint256) << 16)
        # insert the interval keeping `taken` ascending (in place)
        drawn += interval & (2**128 - 1)
        taken.append(interval)
        j: uint256 = len(taken) - 1
        for _s: uint256 in range(MAX_EXCLUDED + MAX_COMMITTEE):
            if j == 0 or taken[j - 1] <= interval:
                break
            taken[j] = taken[j - 1]
            j -= 1
        taken[j] = interval
    return out


# ---------------------------------------------------------------- sharded models
# A node with the shard capability announces, per model, the contiguous block range it
# serves, the memory it gave it, its measured throughput and the endpoint of its shard
# server. Clients read `shards_of(model_id)` into `brainnet.shard.route` to plan routes;
# an announcement stops being listed when its node stops being active (unbonding,
# jailed, under-staked). One announcement per node and model; announcing again replaces it.

MAX_SHARDS: constant(uint256) = 64         # announcements listed for one model

struct Shard:
    node: address
    model_id: bytes32
    start: uint256           # first block served
    end: uint256             # one past the last block served: [start, end)
    memory_mb: uint256       # memory the node gave these blocks
    throughput: uint256      # blocks x tokens per second, measured by the node at start-up
    endpoint: String[128]    # base URL of its shard server (POST /shard/{model}/{start}:{end})
    announced_at: uint256    # block of the announcement

event ShardAnnounced:
    node: indexed(address)
    model_id: indexed(bytes32)
    start: uint256
    end: uint256
    memory_mb: uint256
    throughput: uint256
    endpoint: String[128]

event ShardWithdrawn:
    node: indexed(address)
    model_id: indexed(bytes32)

_shards: HashMap[address, HashMap[bytes32, Shard]]
_shard_nodes: HashMap[bytes32, DynArray[address, MAX_SHARDS]]     # model -> announcing nodes


@external
def announce_shard(model_id: bytes32, start: uint256, end: uint256, memory_mb: uint256, throughput: uint256, endpoint: String[128]):
    """@notice Announce (or update) the block range [start, end) of `model_id` this node serves."""
    n: Node = self.nodes[msg.sender]
    assert n.index != 0, "registry: node not registered"
    assert n.active, "registry: only an active node may announce shards"
    assert self.capabilities[msg.sender] & CAP_SHARD != 0, "registry: declare the shard capability first"
    assert n.stake >= self._min_stake_for(CAP_SHARD), "registry: stake below the minimum for a capability"
    assert self.models[model_id].registered, "registry: unknown model id"
    assert start < end, "registry: empty block range"
    assert throughput > 0, "registry: throughput must be positive"
    assert len(endpoint) > 0, "registry: endpoint is empty"
    if self._shards[msg.sender][model_id].node == empty(address):
        assert len(self._shard_nodes[model_id]) < MAX_SHARDS, "registry: too many shards announced for this model"
        self._shard_nodes[model_id].append(msg.sender)
    self._shards[msg.sender][model_id] = Shard(
        node=msg.sender, model_id=model_id, start=start, end=end, memory_mb=memory_mb,
        throughput=throughput, endpoint=endpoint, announced_at=block.number,
    )
    log ShardAnnounced(node=msg.sender, model_id=model_id, start=start, end=end, memory_mb=memory_mb, throughput=throughput, endpoint=endpoint)


@external
def withdraw_shard(model_id: bytes32):
    """@notice Stop announcing a shard of `model_id` (frees its slot for another node)."""
    assert self._shards[msg.sender][model_id].node != empty(address), "registry: no shard announced for this model"
    listed: DynArray[address, MAX_SHARDS] = self._shard_nodes[model_id]
    kept: DynArray[address, MAX_SHARDS] = []
    for a: address in listed:
        if a != msg.sender:
            kept.append(a)
    self._shard_nodes[model_id] = kept
    self._shards[msg.sender][model_id] = empty(Shard)
    log ShardWithdrawn(node=msg.sender, model_id=model_id)


@external
@view
def shard_of(node: address, model_id: bytes32) -> Shard:
    """@notice `node`'s announcement for `model_id` (all zero when none), listed or not."""
    return self._shards[node][model_id]


@external
@view
def shards_of(model_id: bytes32) -> DynArray[Shard, MAX_SHARDS]:
    """@notice Announcements for `model_id` by nodes that are active now, in announcement order."""
    out: DynArray[Shard, MAX_SHARDS] = []
    for a: address in self._shard_nodes[model_id]:
        if self.nodes[a].active and self.capabilities[a] & CAP_SHARD != 0:
            out.append(self._shards[a][model_id])
    return out
