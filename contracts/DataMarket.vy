# pragma version ~=0.4.3
"""
@title brainnet DataMarket: Deposit-Refund-Take over a model kept on-chain
@notice The incentive mechanism of "Sharing Updatable Models" (0xDeCA10B, Harris &
        Waggoner 2019). Anyone adds one training sample (sparse binary features, a label
        0/1) with a deposit in Token; the sample updates the on-chain model at once.
        - deposit = max(1, floor(cost_weight * 60 / floor(sqrt(dt)))), dt = seconds since
          the last update by anyone (dt = 0 is refused: one update per second at most).
        - after `refund_wait` the contributor gets the whole deposit back if the model, as
          it is then, predicts the contributed label; that counts as one good contribution.
        - if the model disagrees, any other address with good contributions may `report`
          the sample before `claim_wait` and takes initial_deposit * its good count /
          total good count (everything left if that rounds to 0 or exceeds what is left),
          once per sample and reporter.
        - after `claim_wait` anyone may `take` what is left.
        Two model kinds, fixed at deployment: a perceptron with integer weights (updated
        only on a mistake, by +-learning_rate), and a nearest-centroid classifier whose
        centroids are kept as per-class feature counts (updated by every sample), so that
        predictions are exact integer comparisons and every update costs O(active features).
@dev Reverts start with "datamarket:". Samples are not stored: the contract keeps the
     keccak256 of their ABI-encoded features, and `refund`/`report` take the features
     again (every `DataAdded` event carries them). Parameter setters answer only to
     `governance`. Waits are read when a claim is made, so changing them applies to
     open contributions too (as in 0xDeCA10B).
"""

from ethereum.ercs import IERC20

MAX_FEATURES: constant(uint256) = 256        # dimension of the feature space
MAX_ACTIVE: constant(uint256) = 64           # active (=1) features per sample
PERCEPTRON: constant(uint256) = 0
NEAREST_CENTROID: constant(uint256) = 1

struct Contribution:
    contributor: address
    label: uint256
    added_at: uint256
    initial_deposit: uint256
    claimable: uint256
    features_hash: bytes32

event DataAdded:
    id: indexed(uint256)
    contributor: indexed(address)
    label: uint256
    deposit: uint256
    model_updated: bool
    features: DynArray[uint256, MAX_ACTIVE]

event Refunded:
    id: indexed(uint256)
    contributor: indexed(address)
    amount: uint256
    good_count: uint256

event Reported:
    id: indexed(uint256)
    reporter: indexed(address)
    amount: uint256
    claimable_left: uint256

event Taken:
    id: indexed(uint256)
    taker: indexed(address)
    amount: uint256

event ParamsChanged:
    cost_weight: uint256
    refund_wait: uint256
    claim_wait: uint256

event GovernanceChanged:
    previous: indexed(address)
    governance: indexed(address)

token: public(IERC20)
governance: public(address)
model_kind: public(uint256)           # 0 perceptron, 1 nearest centroid
n_features: public(uint256)
cost_weight: public(uint256)          # w in the deposit rule
refund_wait: public(uint256)          # seconds after adding before a refund or report
claim_wait: public(uint256)           # seconds after adding before anyone may take the rest
last_update: public(uint256)          # timestamp of the last add_data
contribution_count: public(uint256)
contributions: public(HashMap[uint256, Contribution])
claimed_by: public(HashMap[uint256, HashMap[address, bool]])
good_count: public(HashMap[address, uint256])
total_good: public(uint256)
deposits_held: public(uint256)        # sum of `claimable` over all contributions

# perceptron: score = intercept + sum of weights of the active features; predict 1 iff score > 0
weights: public(HashMap[uint256, int256])
intercept: public(int256)
learning_rate: public(int256)

# nearest centroid: centroid_c[j] = feature_sum[c][j] / class_count[c]
feature_sum: public(HashMap[uint256, HashMap[uint256, uint256]])
class_count: public(HashMap[uint256, uint256])
sum_squares: public(HashMap[uint256, uint256])     # sum_j feature_sum[c][j]**2


@deploy
def __init__(
    token: IERC20,
    governance: address,
    model_kind: uint256,
    n_features: uint256,
    cost_weight: uint256,
    refund_wait: uint256,
    claim_wait: uint256,
    learning_rate: int256,
    intercept: int256,
    init_values: DynArray[int256, 2 * MAX_FEATURES],
    init_counts: uint256[2],
):
    """
    @param init_values perceptron: n_features initial weights (or none: all zero);
           nearest centroid: feature counts of class 0 then of class 1 (2 * n_features, or none)
    @param init_counts nearest centroid: samples behind the initial counts of class 0 and 1
    """
    assert model_kind == PERCEPTRON or model_kind == NEAREST_CENTROID, "datamarket: unknown model kind"
    assert n_features > 0 and n_features <= MAX_FEATURES, "datamarket: n_features out of range"
    assert refund_wait < claim_wait, "datamarket: claim_wait must exceed refund_wait"
    self.token = token
    self.governance = governance
    self.model_kind = model_kind
    self.n_features = n_features
    self.cost_weight = cost_weight
    self.refund_wait = refund_wait
    self.claim_wait = claim_wait
    self.last_update = block.timestamp
    if model_kind == PERCEPTRON:
        assert learning_rate > 0, "datamarket: learning_rate must be positive"
        assert len(init_values) == 0 or len(init_values) == n_features, "datamarket: need n_features initial weights"
        self.learning_rate = learning_rate
        self.intercept = intercept
        for j: uint256 in range(len(init_values), bound=2 * MAX_FEATURES):
            self.weights[j] = init_values[j]
    else:
        assert len(init_values) == 0 or len(init_values) == 2 * n_features, "datamarket: need 2 * n_features initial counts"
        for c: uint256 in range(2):
            self.class_count[c] = init_counts[c]
        squares: uint256[2] = [0, 0]
        for i: uint256 in range(len(init_values), bound=2 * MAX_FEATURES):
            c: uint256 = i // n_features
            assert init_values[i] >= 0 and convert(init_values[i], uint256) <= init_counts[c], "datamarket: a feature count exceeds its class count"
            v: uint256 = convert(init_values[i], uint256)
            self.feature_sum[c][i % n_features] = v
            squares[c] += v * v
        self.sum_squares[0] = squares[0]
        self.sum_squares[1] = squares[1]
    log ParamsChanged(cost_weight=cost_weight, refund_wait=refund_wait, claim_wait=claim_wait)
    log GovernanceChanged(previous=empty(address), governance=governance)


# ---------------------------------------------------------------- the model

@internal
@view
def _check_features(features: DynArray[uint256, MAX_ACTIVE]):
    """Indices strictly increasing (no repeats) and inside the feature space."""
    n: uint256 = self.n_features
    for i: uint256 in range(len(features), bound=MAX_ACTIVE):
        assert features[i] < n, "datamarket: feature index out of range"
        if i > 0:
            assert features[i - 1] < features[i], "datamarket: feature indices must be strictly increasing"


@internal
@view
def _predict(features: DynArray[uint256, MAX_ACTIVE]) -> uint256:
    if self.model_kind == PERCEPTRON:
        score: int256 = self.intercept
        for j: uint256 in features:
            score += self.weights[j]
        if score > 0:
            return 1
        return 0
    # nearest centroid, exact: n_c^2 * |x - m_c|^2 = Q_c - 2 n_c sum_{j in x} S_cj + |x| n_c^2
    n0: int256 = convert(self.class_count[0], int256)
    n1: int256 = convert(self.class_count[1], int256)
    if n1 == 0:
        return 0
    if n0 == 0:
        return 1
    s0: int256 = 0
    s1: int256 = 0
    for j: uint256 in features:
        s0 += convert(self.feature_sum[0][j], int256)
        s1 += convert(self.feature_sum[1][j], int256)
    k: int256 = convert(len(features), int256)
    d0: int256 = convert(self.sum_squares[0], int256) - 2 * n0 * s0 + k * n0 * n0
    d1: int256 = convert(self.sum_squares[1], int256) - 2 * n1 * s1 + k * n1 * n1
    # d0 / n0^2 vs d1 / n1^2; a tie goes to class 0
    if d1 * n0 * n0 < d0 * n1 * n1:
        return 1
    return 0


@internal
def _update(features: DynArray[uint256, MAX_ACTIVE], label: uint256) -> bool:
    if self.model_kind == PERCEPTRON:
        if self._predict(features) == label:
            return False
        step: int256 = self.learning_rate
        if label == 0:
            step = -step
        for j: uint256 in features:
            self.weights[j] += step
        self.intercept += step
        return True
    squares: uint256 = self.sum_squares[label]
    for j: uint256 in features:
        s: uint256 = self.feature_sum[label][j]
        squares += 2 * s + 1                 # (s + 1)^2 - s^2
        self.feature_sum[label][j] = s + 1
    self.sum_squares[label] = squares
    self.class_count[label] += 1
    return True


@external
@view
def predict(features: DynArray[uint256, MAX_ACTIVE]) -> uint256:
    """The label the model gives a sample now."""
    self._check_features(features)
    return self._predict(features)


# ---------------------------------------------------------------- deposits

@internal
@view
def _deposit_at(timestamp: uint256) -> uint256:
    assert timestamp > self.last_update, "datamarket: wait at least one second after the last update"
    cost: uint256 = self.cost_weight * 60 // isqrt(timestamp - self.last_update)
    return max(cost, 1)


@external
@view
def deposit_at(timestamp: uint256) -> uint256:
    """The deposit `add_data` charges in a block with this timestamp (if nobody adds before)."""
    return self._deposit_at(timestamp)


@external
def add_data(features: DynArray[uint256, MAX_ACTIVE], label: uint256,
             max_deposit: uint256 = max_value(uint256)) -> uint256:
    """
    @notice Add one sample; the deposit is pulled with transferFrom (approve first).
    @param max_deposit refuse to pay more than this (the deposit depends on the block time)
    @return the contribution id
    """
    assert label < 2, "datamarket: label must be 0 or 1"
    self._check_features(features)
    deposit: uint256 = self._deposit_at(block.timestamp)
    assert deposit <= max_deposit, "datamarket: deposit exceeds max_deposit"
    cid: uint256 = self.contribution_count
    self.contribution_count = cid + 1
    self.contributions[cid] = Contribution(
        contributor=msg.sender, label=label, added_at=block.timestamp, initial_deposit=deposit,
        claimable=deposit, features_hash=keccak256(abi_encode(features)),
    )
    self.last_update = block.timestamp
    self.deposits_held += deposit
    updated: bool = self._update(features, label)
    assert extcall self.token.transferFrom(msg.sender, self, deposit), "datamarket: deposit transfer failed"
    log DataAdded(id=cid, contributor=msg.sender, label=label, deposit=deposit, model_updated=updated, features=features)
    return cid


@internal
@view
def _load(cid: uint256, features: DynArray[uint256, MAX_ACTIVE]) -> Contribution:
    c: Contribution = self.contributions[cid]
    assert c.contributor != empty(address), "datamarket: no such contribution"
    assert c.features_hash == keccak256(abi_encode(features)), "datamarket: features differ from the contribution"
    assert c.claimable > 0, "datamarket: nothing left to claim"
    return c


@internal
def _pay(receiver: address, cid: uint256, amount: uint256, left: uint256):
    self.contributions[cid].claimable = left
    self.deposits_held -= amount
    assert extcall self.token.transfer(receiver, amount), "datamarket: transfer failed"


@external
def refund(cid: uint256, features: DynArray[uint256, MAX_ACTIVE]) -> uint256:
    """
    @notice The contributor takes the whole deposit back once `refund_wait` has passed, if
            the current model predicts the contributed label. Counts one good contribution.
    """
    c: Contribution = self._load(cid, features)
    assert msg.sender == c.contributor, "datamarket: only the contributor may refund"
    assert block.timestamp >= c.added_at + self.refund_wait, "datamarket: refund wait not over"
    assert self._predict(features) == c.label, "datamarket: the model does not agree with the contribution"
    self.claimed_by[cid][msg.sender] = True
    good: uint256 = self.good_count[msg.sender] + 1
    self.good_count[msg.sender] = good
    self.total_good += 1
    self._pay(msg.sender, cid, c.claimable, 0)
    log Refunded(id=cid, contributor=msg.sender, amount=c.claimable, good_count=good)
    return c.claimable


@external
def report(cid: uint256, features: DynArray[uint256, MAX_ACTIVE]) -> uint256:
    """
    @notice Between `refund_wait` and `claim_wait`, a contributor with good contributions
            takes its share of a sample the current model disagrees with:
            initial_deposit * good_count[reporter] / total_good (all that is left if that
            is 0 or more than what is left). Once per sample and reporter.
    """
    c: Contribution = self._load(cid, features)
    assert msg.sender != c.contributor, "datamarket: cannot report your own contribution; refund it"
    assert block.timestamp >= c.added_at + self.refund_wait, "datamarket: refund wait not over"
    assert block.timestamp < c.added_at + self.claim_wait, "datamarket: claim wait over; use take"
    assert not self.claimed_by[cid][msg.sender], "datamarket: already reported by this address"
    good: uint256 = self.good_count[msg.sender]
    assert good > 0, "datamarket: the reporter has no good contributions"
    assert self._predict(features) != c.label, "datamarket: the model agrees with the contribution"
    share: uint256 = c.initial_deposit * good // self.total_good
    if share == 0 or share > c.claimable:
        share = c.claimable
    self.claimed_by[cid][msg.sender] = True
    self._pay(msg.sender, cid, share, c.claimable - share)
    log Reported(id=cid, reporter=msg.sender, amount=share, claimable_left=c.claimable - share)
    return share


@external
def take(cid: uint256) -> uint256:
    """@notice After `claim_wait` anyone takes what is left of a contribution's deposit."""
    c: Contribution = self.contributions[cid]
    assert c.contributor != empty(address), "datamarket: no such contribution"
    assert c.claimable > 0, "datamarket: nothing left to claim"
    assert block.timestamp >= c.added_at + self.claim_wait, "datamarket: claim wait not over"
    self._pay(msg.sender, cid, c.claimable, 0)
    log Taken(id=cid, taker=msg.sender, amount=c.claimable)
    return c.claimable


# ---------------------------------------------------------------- governance

@external
def set_params(cost_weight: uint256, refund_wait: uint256, claim_wait: uint256):
    """@notice Change w and the waits (governance only)."""
    assert msg.sender == self.governance, "datamarket: only governance may set parameters"
    assert refund_wait < claim_wait, "datamarket: claim_wait must exceed refund_wait"
    self.cost_weight = cost_weight
    self.refund_wait = refund_wait
    self.claim_wait = claim_wait
    log ParamsChanged(cost_weight=cost_weight, refund_wait=refund_wait, claim_wait=claim_wait)


@external
def set_governance(governance: address):
    """@notice Hand the parameters to another address (e.g. the Governance contract)."""
    assert msg.sender == self.governance, "datamarket: only governance may set governance"
    assert governance != empty(address), "datamarket: governance is the zero address"
    log GovernanceChanged(previous=self.governance, governance=governance)
    self.governance = governance
