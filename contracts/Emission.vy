# pragma version ~=0.4.3
# pragma experimental-codegen
"""
@title brainnet Emission
@notice The only minter of the Token after deployment. Time is cut into epochs of
        `epoch_blocks` blocks from `genesis_block`; epoch e may mint
        `initial_emission * (1 - decay_bps/10000) ** e` tokens (a schedule fixed at
        deployment). Protocol contracts registered as work sources report settled work
        (`record_work`: Inference reports every member on the winning side of a settled
        task, one unit each; a Training contract will report accepted updates). Once an
        epoch is over, `close_epoch` (or the first `claim` of it) mints its emission into
        two pools, inference and training, split by the governance-set
        `inference_weight_bps`; a node claims pool * its units / all units of that kind
        and epoch. A pool without work is never minted.
@dev Rewards are pulled (`claim`, at most MAX_CLAIM epochs per call), never pushed; no
     loop runs over nodes or epochs beyond the arrays a caller passes. Division dust of
     a pool stays in this contract. Parameters change only through `set_param`, called by
     `governance` (the deployer until it hands governance to the Governance contract).
     Reverts start with "emission:".
"""

interface Mintable:
    def mint(receiver: address, amount: uint256): nonpayable
    def transfer(receiver: address, amount: uint256) -> bool: nonpayable

MAX_NODES_PER_CALL: constant(uint256) = 256     # members of all levels of one task
MAX_CLAIM: constant(uint256) = 32               # epochs one claim may cover
ONE: constant(uint256) = 10**18                 # fixed point of the decay power
INFERENCE: constant(uint256) = 1                # kinds of work
TRAINING: constant(uint256) = 2
# parameter ids of set_param (brainnet.chain.params names them)
P_INFERENCE_WEIGHT_BPS: constant(uint256) = 1   # inference pool share; training gets the rest
P_INFERENCE_SOURCE: constant(uint256) = 2       # value: an address allowed to report inference work
P_TRAINING_SOURCE: constant(uint256) = 3        # value: an address allowed to report training work
P_REMOVE_SOURCE: constant(uint256) = 4          # value: an address no longer allowed to report

event WorkRecorded:
    source: indexed(address)
    epoch: indexed(uint256)
    kind: uint256
    nodes: DynArray[address, MAX_NODES_PER_CALL]
    units: uint256

event UnitsRecorded:             # record_units: units per node
    source: indexed(address)
    epoch: indexed(uint256)
    kind: uint256
    nodes: DynArray[address, MAX_NODES_PER_CALL]
    units: DynArray[uint256, MAX_NODES_PER_CALL]

event EpochClosed:
    epoch: indexed(uint256)
    emission: uint256
    inference_pool: uint256
    training_pool: uint256

event RewardClaimed:
    node: indexed(address)
    epoch: indexed(uint256)
    amount: uint256

event ParamSet:
    param: indexed(uint256)
    value: uint256

event GovernanceChanged:
    governance: indexed(address)

token: public(Mintable)
genesis_block: public(uint256)
epoch_blocks: public(uint256)
initial_emission: public(uint256)       # tokens epoch 0 may mint
decay_bps: public(uint256)              # each epoch mints this much less than the one before (1/10000)
inference_weight_bps: public(uint256)   # share of an epoch's emission for inference work
governance: public(address)

sources: public(HashMap[address, uint256])                                  # caller -> INFERENCE | TRAINING
work: public(HashMap[uint256, HashMap[uint256, HashMap[address, uint256]]])  # epoch -> kind -> node -> units
total_work: public(HashMap[uint256, HashMap[uint256, uint256]])             # epoch -> kind -> units
pools: public(HashMap[uint256, HashMap[uint256, uint256]])                  # epoch -> kind -> minted tokens
closed: public(HashMap[uint256, bool])
claimed: public(HashMap[uint256, HashMap[address, bool]])                   # epoch -> node -> claimed
minted: public(uint256)                                                     # all tokens minted so far


@deploy
def __init__(token: Mintable, epoch_blocks: uint256, initial_emission: uint256, decay_bps: uint256, inference_weight_bps: uint256):
    assert epoch_blocks > 0, "emission: epoch_blocks must be positive"
    assert decay_bps <= 10000, "emission: decay_bps above 10000"
    assert inference_weight_bps <= 10000, "emission: weight above 10000"
    self.token = token
    self.genesis_block = block.number
    self.epoch_blocks = epoch_blocks
    self.initial_emission = initial_emission
    self.decay_bps = decay_bps
    self.inference_weight_bps = inference_weight_bps
    self.governance = msg.sender


# ---------------------------------------------------------------- schedule

@internal
@view
def _current_epoch() -> uint256:
    return (block.number - self.genesis_block) // self.epoch_blocks


@internal
@view
def _epoch_amount(epoch: uint256) -> uint256:
    """initial * ((10000 - decay) / 10000) ** epoch, the power by squaring in 1e18 fixed point."""
    base: uint256 = (10000 - self.decay_bps) * ONE // 10000
    factor: uint256 = ONE
    e: uint256 = epoch
    for _: uint256 in range(256):
        if e == 0:
            break
        if e & 1 == 1:
            factor = factor * base // ONE
        base = base * base // ONE
        e = e >> 1
    return self.initial_emission * factor // ONE


@internal
def _close(epoch: uint256):
    amount: uint256 = self._epoch_amount(epoch)
    for_inference: uint256 = amount * self.inference_weight_bps // 10000
    pools: uint256[3] = [0, for_inference, amount - for_inference]
    minted: uint256 = 0
    for kind: uint256 in [INFERENCE, TRAINING]:
        if self.total_work[epoch][kind] > 0 and pools[kind] > 0:
            self.pools[epoch][kind] = pools[kind]
            minted += pools[kind]
    self.closed[epoch] = True
    if minted > 0:
        self.minted += minted
        extcall self.token.mint(self, minted)
    log EpochClosed(epoch=epoch, emission=amount, inference_pool=self.pools[epoch][INFERENCE],
                    training_pool=self.pools[epoch][TRAINING])


@internal
@view
def _share(epoch: uint256, node: address) -> uint256:
    total: uint256 = 0
    for kind: uint256 in [INFERENCE, TRAINING]:
        units: uint256 = self.work[epoch][kind][node]
        if units > 0:
            total += self.pools[epoch][kind] * units // self.total_work[epoch][kind]
    return total


# ---------------------------------------------------------------- work and rewards

@internal
@view
def _work_source() -> uint256:
    kind: uint256 = self.sources[msg.sender]
    assert kind != 0, "emission: caller may not report work"
    return kind


@external
def record_work(nodes: DynArray[address, MAX_NODES_PER_CALL], units: uint256):
    """@notice A work source reports `units` of settled work for each of `nodes` in the current epoch."""
    kind: uint256 = self._work_source()
    epoch: uint256 = self._current_epoch()
    for node: address in nodes:
        self.work[epoch][kind][node] += units
    self.total_work[epoch][kind] += units * len(nodes)
    log WorkRecorded(source=msg.sender, epoch=epoch, kind=kind, nodes=nodes, units=units)


@external
def record_units(nodes: DynArray[address, MAX_NODES_PER_CALL], units: DynArray[uint256, MAX_NODES_PER_CALL]):
    """@notice `record_work` with its own number of units for each node: Inference reports the
               settled tasks of one `finalize_many` at once."""
    assert len(units) == len(nodes), "emission: nodes and units differ in length"
    kind: uint256 = self._work_source()
    epoch: uint256 = self._current_epoch()
    total: uint256 = 0
    for i: uint256 in range(len(nodes), bound=MAX_NODES_PER_CALL):
        self.work[epoch][kind][nodes[i]] += units[i]
        total += units[i]
    self.total_work[epoch][kind] += total
    log UnitsRecorded(source=msg.sender, epoch=epoch, kind=kind, nodes=nodes, units=units)


@external
def close_epoch(epoch: uint256):
    """@notice Anyone: mint a finished epoch's emission into its reward pools."""
    assert epoch < self._current_epoch(), "emission: epoch not finished"
    assert not self.closed[epoch], "emission: epoch already closed"
    self._close(epoch)


@external
def claim(epochs: DynArray[uint256, MAX_CLAIM]) -> uint256:
    """@notice Collect the caller's rewards of finished `epochs` (closing any that are still open)."""
    current: uint256 = self._current_epoch()
    paid: uint256 = 0
    for epoch: uint256 in epochs:
        assert epoch < current, "emission: epoch not finished"
        assert not self.claimed[epoch][msg.sender], "emission: epoch already claimed"
        if not self.closed[epoch]:
            self._close(epoch)
        self.claimed[epoch][msg.sender] = True
        amount: uint256 = self._share(epoch, msg.sender)
        paid += amount
        log RewardClaimed(node=msg.sender, epoch=epoch, amount=amount)
    assert paid > 0, "emission: nothing to claim"
    assert extcall self.token.transfer(msg.sender, paid), "emission: reward transfer failed"
    return paid


# ---------------------------------------------------------------- governance

@external
def set_param(param: uint256, new_value: uint256):
    """@notice Change the pool weights or the work sources (P_* ids); only `governance` may."""
    assert msg.sender == self.governance, "emission: only governance may set parameters"
    if param == P_INFERENCE_WEIGHT_BPS:
        assert new_value <= 10000, "emission: weight above 10000"
        self.inference_weight_bps = new_value
    else:
        assert param in [P_INFERENCE_SOURCE, P_TRAINING_SOURCE, P_REMOVE_SOURCE], "emission: unknown parameter"
        assert new_value != 0 and new_value <= convert(max_value(uint160), uint256), "emission: source is not an address"
        source: address = convert(convert(new_value, uint160), address)
        if param == P_INFERENCE_SOURCE:
            self.sources[source] = INFERENCE
        elif param == P_TRAINING_SOURCE:
            self.sources[source] = TRAINING
        else:
            self.sources[source] = 0
    log ParamSet(param=param, value=new_value)


@external
def set_governance(new_governance: address):
    """@notice Hand parameter changes to `new_governance`."""
    assert msg.sender == self.governance, "emission: only governance may change governance"
    assert new_governance != empty(address), "emission: governance is the zero address"
    self.governance = new_governance
    log GovernanceChanged(governance=new_governance)


# ---------------------------------------------------------------- views

@external
@view
def current_epoch() -> uint256:
    return self._current_epoch()


@external
@view
def epoch_amount(epoch: uint256) -> uint256:
    """@notice Tokens epoch `epoch` may mint (before the split; unworked pools are not minted)."""
    return self._epoch_amount(epoch)


@external
@view
def claimable(node: address, epoch: uint256) -> uint256:
    """@notice What `claim([epoch])` pays `node` (for an open epoch: at today's weights)."""
    if self.claimed[epoch][node]:
        return 0
    if self.closed[epoch]:
        return self._share(epoch, node)
    amount: uint256 = self._epoch_amount(epoch)
    for_inference: uint256 = amount * self.inference_weight_bps // 10000
    total: uint256 = 0
    for kind: uint256 in [INFERENCE, TRAINING]:
        units: uint256 = self.work[epoch][kind][node]
        if units > 0:
            pool: uint256 = for_inference if kind == INFERENCE else amount - for_inference
            total += pool * units // self.total_work[epoch][kind]
    return total
