# pragma version ~=0.4.3
"""
@title brainnet Models
@notice Model ids, their owners and the versions of their weights. A version is the
        sha256 of a canonical weights file, the version it was trained from (its parent),
        the training round that produced it and a metadata URI. Version 1 of a model is
        its genesis (parent 0, round 0); every later version names an existing parent, so
        every version has a lineage back to the genesis (`lineage`, bounded per call).
@dev Assumes: the Training contract is authorized by this contract's admin at deployment;
     only a model's owner or an authorized recorder may record its versions. Versions are
     numbered 1, 2, ... per model and never change once recorded.
     Reverts start with "models:".
"""

MAX_LINEAGE: constant(uint256) = 64       # versions one `lineage` call walks

struct Version:
    weights_hash: bytes32    # sha256 of the canonical weights file
    parent: uint256          # version it was trained from; 0 = genesis
    round_id: uint256        # Training round that produced it; 0 = recorded by hand
    uri: String[256]         # where the weights and their metadata live
    block: uint256           # block it was recorded in

event ModelCreated:
    model_id: indexed(bytes32)
    owner: indexed(address)
    weights_hash: bytes32
    uri: String[256]

event VersionRecorded:
    model_id: indexed(bytes32)
    version: indexed(uint256)
    parent: uint256
    round_id: uint256
    weights_hash: bytes32
    uri: String[256]
    recorder: address

event OwnershipTransferred:
    model_id: indexed(bytes32)
    previous: indexed(address)
    owner: indexed(address)

event RecorderAuthorized:
    recorder: indexed(address)
    allowed: bool

admin: public(address)
owner_of: public(HashMap[bytes32, address])
latest: public(HashMap[bytes32, uint256])          # newest version; 0 = no such model
recorders: public(HashMap[address, bool])
_versions: HashMap[bytes32, HashMap[uint256, Version]]


@deploy
def __init__():
    self.admin = msg.sender


@external
def authorize(recorder: address, allowed: bool):
    """@notice Let `recorder` (the Training contract) record versions of every model."""
    assert msg.sender == self.admin, "models: only the admin may authorize recorders"
    self.recorders[recorder] = allowed
    log RecorderAuthorized(recorder=recorder, allowed=allowed)


@external
def create_model(model_id: bytes32, weights_hash: bytes32, uri: String[256]) -> uint256:
    """@notice Create `model_id`, owned by the sender, with its genesis weights as version 1."""
    assert model_id != empty(bytes32), "models: model id is empty"
    assert self.latest[model_id] == 0, "models: model id already exists"
    assert weights_hash != empty(bytes32), "models: weights hash is empty"
    self.owner_of[model_id] = msg.sender
    log ModelCreated(model_id=model_id, owner=msg.sender, weights_hash=weights_hash, uri=uri)
    return self._record(model_id, 0, weights_hash, 0, uri)


@external
def transfer_ownership(model_id: bytes32, new_owner: address):
    assert self.latest[model_id] != 0, "models: unknown model id"
    assert msg.sender == self.owner_of[model_id], "models: only the model owner may transfer it"
    assert new_owner != empty(address), "models: new owner is the zero address"
    self.owner_of[model_id] = new_owner
    log OwnershipTransferred(model_id=model_id, previous=msg.sender, owner=new_owner)


@external
def record_version(model_id: bytes32, parent: uint256, weights_hash: bytes32, round_id: uint256, uri: String[256]) -> uint256:
    """
    @notice Record new weights of `model_id` trained from version `parent`.
    @return the new version number (latest + 1)
    """
    assert self.latest[model_id] != 0, "models: unknown model id"
    assert msg.sender == self.owner_of[model_id] or self.recorders[msg.sender], "models: only the owner or an authorized recorder may record versions"
    assert parent != 0 and parent <= self.latest[model_id], "models: parent version does not exist"
    assert weights_hash != empty(bytes32), "models: weights hash is empty"
    return self._record(model_id, parent, weights_hash, round_id, uri)


@internal
def _record(model_id: bytes32, parent: uint256, weights_hash: bytes32, round_id: uint256, uri: String[256]) -> uint256:
    version: uint256 = self.latest[model_id] + 1
    self.latest[model_id] = version
    self._versions[model_id][version] = Version(weights_hash=weights_hash, parent=parent, round_id=round_id, uri=uri, block=block.number)
    log VersionRecorded(model_id=model_id, version=version, parent=parent, round_id=round_id, weights_hash=weights_hash, uri=uri, recorder=msg.sender)
    return version


# ---------------------------------------------------------------- views

@external
@view
def version(model_id: bytes32, v: uint256) -> Version:
    assert v != 0 and v <= self.latest[model_id], "models: version does not exist"
    return self._versions[model_id][v]


@external
@view
def weights_hash(model_id: bytes32, v: uint256) -> bytes32:
    assert v != 0 and v <= self.latest[model_id], "models: version does not exist"
    return self._versions[model_id][v].weights_hash


@external
@view
def lineage(model_id: bytes32, v: uint256, depth: uint256) -> DynArray[uint256, MAX_LINEAGE]:
    """
    @notice `v`, its parent, its parent's parent, ... : at most `depth` (<= 64) versions.
            Continue a longer chain from the last one's parent.
    """
    assert v != 0 and v <= self.latest[model_id], "models: version does not exist"
    assert depth <= MAX_LINEAGE, "models: depth above 64"
    out: DynArray[uint256, MAX_LINEAGE] = []
    cur: uint256 = v
    for _: uint256 in range(MAX_LINEAGE):
        if cur == 0 or len(out) >= depth:
            break
        out.append(cur)
        cur = self._versions[model_id][cur].parent
    return out
