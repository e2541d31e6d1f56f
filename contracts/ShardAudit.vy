# pragma version ~=0.4.3
"""
@title brainnet ShardAudit
@notice Slash a shard node that signed a corrupt hop. A shard server signs every reply with
        its node key: the hop record (model id, block range, sha256 of the request message,
        sha256 of the reply message, 256-bit SimHash of the reply's activations), EIP-191
        over keccak256(abi.encode("brainnet hop", ...)) (`brainnet.shard.hops`). Anyone
        holding such a record who believes the hop was computed wrongly `report`s it with a
        bond and the audit task's fee: the signer must be a registered node, and an ordinary
        `near` task on the hop-audit model is opened on Inference whose input is the hop's
        bundle b"BNH1" ++ request hash ++ reply hash (its sha256 is computed here, so neither
        message can be swapped). The committee fetches both messages, recomputes the hop from
        the request and compares the whole reply with it: it reveals the SimHash of the reply
        when the reply is what the blocks compute, and of the negated reply (every bit flipped)
        when it is not. `resolve`, once the task is final, compares the settled fingerprint
        with the one the node signed: further apart than the task's tolerance (a corrupt reply,
        or a fingerprint that is not the reply's), the node is slashed
        (`Registry.slash`, this contract must be authorized) and the reporter gets the bond
        back plus `reward_bps` of what was taken, paid from the bounty pool; otherwise (or when
        the task was refunded) the bond goes to the bounty pool, so a report costs a wrong or
        idle reporter its bond and cannot be used to grief nodes for free.
@dev The audit task pays its committee from the fee like any task; a refunded fee goes back
     to the reporter. Lost bonds fund the bounty pool that rewards upheld reports; anyone may
     `fund` it, and the dust of divided audit fees that Inference returns to this contract
     joins it at a `resolve`, less what the open audits may still be owed (`fees`).
     reward_bps <= 10000 keeps self-reporting unprofitable (a node reporting itself gets back
     at most what it lost). A record is reported once (by its digest). The hop fingerprint's
     projections are fixed per hop range (the node computes them when it answers), so the committee's
     model ignores the task id for them. Parameters change only through `set_param`, called
     by `governance`; the owner chooses which sharded models are audited (the hop-audit
     model must be able to recompute their blocks).
     Reverts start with "shardaudit:".
"""

from ethereum.ercs import IERC20

HOP_TAG: constant(bytes32) = 0x627261696e6e657420686f700000000000000000000000000000000000000000   # "brainnet hop"
OPEN: constant(uint8) = 1
UPHELD: constant(uint8) = 2
DISMISSED: constant(uint8) = 3
SETTLED: constant(uint256) = 4              # Inference.Status flag values
REFUNDED: constant(uint256) = 8
# SWAR popcount masks: 0x5555..., 0x3333..., 0x0f0f..., 0x0101...
M1: constant(uint256) = max_value(uint256) // 3
M2: constant(uint256) = max_value(uint256) // 5
M4: constant(uint256) = max_value(uint256) // 17
H01: constant(uint256) = max_value(uint256) // 255
# parameter ids of set_param (brainnet.chain.params names them)
P_BOND: constant(uint256) = 1
P_FEE: constant(uint256) = 2
P_SLASH_BPS: constant(uint256) = 3
P_REWARD_BPS: constant(uint256) = 4

struct Shard:
    node: address
    model_id: bytes32
    start: uint256
    end: uint256
    memory_mb: uint256
    throughput: uint256
    endpoint: String[128]
    announced_at: uint256

interface Registry:
    def index_of(node: address) -> uint256: view
    def stake_of(node: address) -> uint256: view
    def slash(node: address, amount: uint256, reason: String[64]) -> uint256: nonpayable

interface Inference:
    def request(model_id: bytes32, input_hash: bytes32, input_uri: String[256], fee: uint256) -> uint256: nonpayable
    def outcome(task_id: uint256) -> (uint256, bytes32, uint256): view     # (status flag, result, tolerance)

struct Audit:
    reporter: address
    node: address            # the signer of the record
    model_id: bytes32        # the sharded model of the hop
    start: uint256
    end: uint256
    request_hash: bytes32
    reply_hash: bytes32
    fingerprint: bytes32     # what the node signed
    task_id: uint256         # the audit task on Inference
    bond: uint256
    fee: uint256
    status: uint8            # OPEN, UPHELD, DISMISSED

event HopReported:
    audit_id: indexed(uint256)
    node: indexed(address)
    reporter: indexed(address)
    task_id: uint256
    model_id: bytes32
    start: uint256
    end: uint256
    digest: bytes32

event AuditResolved:
    audit_id: indexed(uint256)
    node: indexed(address)
    upheld: bool
    distance: uint256        # bits between the settled and the signed fingerprint (256: no settled value)
    slashed: uint256
    reward: uint256

event BountyFunded:
    funder: indexed(address)
    amount: uint256

event ModelAudited:
    model_id: indexed(bytes32)
    audited: bool

event ParamSet:
    param: indexed(uint256)
    value: uint256

event GovernanceChanged:
    governance: indexed(address)

token: public(IERC20)
registry: public(Registry)
inference: public(Inference)
audit_model: public(bytes32)             # the hop-audit model's id on the Registry
owner: public(address)                   # chooses the audited models
governance: public(address)              # the only caller of set_param
bond: public(uint256)                    # posted by a reporter; back with a reward when upheld
fee: public(uint256)                     # the audit task's fee (pays its committee), paid by the reporter
slash_bps: public(uint256)               # share of the node's stake an upheld audit slashes
reward_bps: public(uint256)              # share of the slashed amount paid to the reporter from the bounty
bounty: public(uint256)                  # pool of rewards: lost bonds and `fund`
bonds: public(uint256)                   # bonds of open audits
fees: public(uint256)                    # fees of open audits: Inference may return up to this much (refunds, dust)
audited: public(HashMap[bytes32, bool])  # sharded models whose hops may be reported
audits: public(HashMap[uint256, Audit])
audit_count: public(uint256)
reported: public(HashMap[bytes32, uint256])       # record digest -> audit id
audit_of_task: public(HashMap[uint256, uint256])  # Inference task id -> audit id


@deploy
def __init__(token: IERC20, registry: Registry, inference: Inference, audit_model: bytes32, bond: uint256,
             fee: uint256, slash_bps: uint256, reward_bps: uint256):
    assert slash_bps <= 10000 and reward_bps <= 10000, "shardaudit: basis points above 10000"
    self.token = token
    self.registry = registry
    self.inference = inference
    self.audit_model = audit_model
    self.owner = msg.sender
    self.governance = msg.sender
    self.bond = bond
    self.fee = fee
    self.slash_bps = slash_bps
    self.reward_bps = reward_bps


# ---------------------------------------------------------------- admin

@external
def set_audited(model_id: bytes32, allowed: bool):
    """@notice Allow (or stop) reports on hops of `model_id`; only the owner."""
    assert msg.sender == self.owner, "shardaudit: only the owner may choose audited models"
    self.audited[model_id] = allowed
    log ModelAudited(model_id=model_id, audited=allowed)


@external
def set_param(param: uint256, new_value: uint256):
    """@notice Change one parameter (P_* ids); only `governance` may."""
    assert msg.sender == self.governance, "shardaudit: only governance may set parameters"
    if param == P_BOND:
        self.bond = new_value
    elif param == P_FEE:
        self.fee = new_value
    elif param == P_SLASH_BPS:
        assert new_value <= 10000, "shardaudit: slash_bps above 10000"
        self.slash_bps = new_value
    elif param == P_REWARD_BPS:
        assert new_value <= 10000, "shardaudit: reward_bps above 10000"
        self.reward_bps = new_value
    else:
        raise "shardaudit: unknown parameter"
    log ParamSet(param=param, value=new_value)


@external
def set_governance(new_governance: address):
    assert msg.sender == self.governance, "shardaudit: only governance may change governance"
    assert new_governance != empty(address), "shardaudit: governance is the zero address"
    self.governance = new_governance
    log GovernanceChanged(governance=new_governance)


@external
def fund(amount: uint256):
    """@notice Add `amount` to the bounty pool that rewards upheld reports."""
    assert amount > 0, "shardaudit: nothing to fund"
    assert extcall self.token.transferFrom(msg.sender, self, amount), "shardaudit: fund transfer failed"
    self.bounty += amount
    log BountyFunded(funder=msg.sender, amount=amount)


# ---------------------------------------------------------------- records

@external
@pure
def hop_digest(model_id: bytes32, start: uint256, end: uint256, request_hash: bytes32, reply_hash: bytes32,
               fingerprint: bytes32) -> bytes32:
    """@notice keccak256(abi.encode("brainnet hop", model_id, start, end, request_hash, reply_hash, fingerprint))."""
    return self._digest(model_id, start, end, request_hash, reply_hash, fingerprint)


@internal
@pure
def _digest(model_id: bytes32, start: uint256, end: uint256, request_hash: bytes32, reply_hash: bytes32,
            fingerprint: bytes32) -> bytes32:
    return keccak256(abi_encode(HOP_TAG, model_id, start, end, request_hash, reply_hash, fingerprint))


@external
@pure
def recover(digest: bytes32, signature: Bytes[65]) -> address:
    """@notice The signer of an EIP-191 signature (r ++ s ++ v) over the 32-byte `digest`; empty when invalid."""
    return self._recover(digest, signature)


@internal
@pure
def _recover(digest: bytes32, signature: Bytes[65]) -> address:
    if len(signature) != 65:
        return empty(address)
    r: uint256 = convert(extract32(signature, 0), uint256)
    s: uint256 = convert(extract32(signature, 32), uint256)
    v: uint256 = convert(slice(signature, 64, 1), uint256)
    if v != 27 and v != 28:
        return empty(address)
    prefixed: bytes32 = keccak256(concat(b"\x19Ethereum Signed Message:\n32", digest))
    return ecrecover(prefixed, v, r, s)


@internal
@pure
def _popcount(x: uint256) -> uint256:
    if x == max_value(uint256):
        return 256          # the byte sum below holds 0..255: 256 would wrap to 0
    y: uint256 = x - ((x >> 1) & M1)
    y = (y & M2) + ((y >> 2) & M2)
    y = (y + (y >> 4)) & M4
    return unsafe_mul(y, H01) >> 248


# ---------------------------------------------------------------- report and resolve

@external
def report(model_id: bytes32, start: uint256, end: uint256, request_hash: bytes32, reply_hash: bytes32,
           fingerprint: bytes32, signature: Bytes[65], input_uri: String[256]) -> uint256:
    """
    @notice Report a signed hop as corrupt: post `bond` + `fee`; an audit task recomputes the hop
            from its bundle (b"BNH1" ++ request hash ++ reply hash), which must be fetchable at
            `input_uri` by its sha256, as must both messages.
    @return the audit id
    """
    assert self.audited[model_id], "shardaudit: hops of this model are not audited"
    assert start < end, "shardaudit: empty block range"
    assert request_hash != empty(bytes32), "shardaudit: request hash is empty"
    digest: bytes32 = self._digest(model_id, start, end, request_hash, reply_hash, fingerprint)
    assert self.reported[digest] == 0, "shardaudit: hop already reported"
    node: address = self._recover(digest, signature)
    assert node != empty(address), "shardaudit: signature does not recover"
    assert staticcall self.registry.index_of(node) != 0, "shardaudit: signer is not a registered node"
    assert staticcall self.registry.stake_of(node) > 0, "shardaudit: signer has no stake left"
    bond: uint256 = self.bond
    fee: uint256 = self.fee
    assert extcall self.token.transferFrom(msg.sender, self, bond + fee), "shardaudit: bond transfer failed"
    assert extcall self.token.approve(self.inference.address, fee), "shardaudit: approve failed"
    bundle: bytes32 = sha256(concat(b"BNH1", request_hash, reply_hash))     # the audit task's input blob
    task_id: uint256 = extcall self.inference.request(self.audit_model, bundle, input_uri, fee)
    audit_id: uint256 = self.audit_count + 1
    self.audit_count = audit_id
    self.audits[audit_id] = Audit(
        reporter=msg.sender, node=node, model_id=model_id, start=start, end=end, request_hash=request_hash,
        reply_hash=reply_hash, fingerprint=fingerprint, task_id=task_id, bond=bond, fee=fee, status=OPEN,
    )
    self.bonds += bond
    self.fees += fee
    self.reported[digest] = audit_id
    self.audit_of_task[task_id] = audit_id
    log HopReported(audit_id=audit_id, node=node, reporter=msg.sender, task_id=task_id, model_id=model_id,
                    start=start, end=end, digest=digest)
    return audit_id


@external
def resolve(audit_id: uint256) -> bool:
    """
    @notice Anyone, once the audit task is final: slash the node when the committee's fingerprint
            is further than the task's tolerance from the signed one, else the bond is lost.
    @return True when the report was upheld
    """
    a: Audit = self.audits[audit_id]
    assert a.status == OPEN, "shardaudit: no open audit with this id"
    status: uint256 = 0
    result: bytes32 = empty(bytes32)
    tolerance: uint256 = 0
    status, result, tolerance = staticcall self.inference.outcome(a.task_id)
    assert status == SETTLED or status == REFUNDED, "shardaudit: the audit task is not final yet"
    distance: uint256 = 256
    if status == SETTLED:
        distance = self._popcount(convert(result, uint256) ^ convert(a.fingerprint, uint256))
    upheld: bool = status == SETTLED and distance > tolerance
    taken: uint256 = 0
    reward: uint256 = 0
    self.bonds -= a.bond
    self.fees -= a.fee
    if upheld:
        self.audits[audit_id].status = UPHELD
        amount: uint256 = staticcall self.registry.stake_of(a.node) * self.slash_bps // 10000
        taken = extcall self.registry.slash(a.node, amount, "shardaudit: corrupt hop")
        reward = min(self.bounty, taken * self.reward_bps // 10000)
        self.bounty -= reward
        assert extcall self.token.transfer(a.reporter, a.bond + reward), "shardaudit: payout failed"
    else:
        self.audits[audit_id].status = DISMISSED
        self.bounty += a.bond
        if status == REFUNDED:
            assert extcall self.token.transfer(a.reporter, a.fee), "shardaudit: fee refund failed"
    # what Inference sent back to this contract as requester (the division dust of audit fees) or
    # anyone sent it directly joins the bounty, keeping back what the open audits may still be owed
    # (each at most its fee): with no audit open, the balance is exactly the bounty again
    held: uint256 = self.bounty + self.bonds + self.fees
    balance: uint256 = staticcall self.token.balanceOf(self)
    if balance > held:
        self.bounty += balance - held
        log BountyFunded(funder=self.inference.address, amount=balance - held)
    log AuditResolved(audit_id=audit_id, node=a.node, upheld=upheld, distance=distance, slashed=taken, reward=reward)
    return upheld
