# pragma version ~=0.4.3
"""
@title brainnet Token (BRN)
@notice ERC-20 with 18 decimals. The whole genesis supply is allocated at deployment
        from the deployment parameters; afterwards only `minter` may create tokens
        (the deployer hands minting to the Emission contract once with `set_minter`;
        Emission never hands it on). Nodes stake it, requesters pay fees in it, anyone
        may `burn` their own tokens (the Registry burns part of every slash).
        Voting power for Governance: every balance change writes a checkpoint
        (block, balance), so `get_past_votes(account, block)` is the balance an account
        held at the end of an earlier block, and `get_past_total_supply(block)` the
        supply then. A proposal counts votes at its snapshot block: tokens moved after it
        vote nowhere, so they cannot vote twice.
@dev Votes are the holder's own balance (no delegation): tokens held by a contract
     (staked in the Registry, escrowed in Inference) carry no vote, so contracts get no
     checkpoints: a fee escrowed or a stake bonded writes only the sender's. A checkpoint
     is one storage word (block << 192 | balance).
     Reverts start with "token:".
"""

from ethereum.ercs import IERC20

implements: IERC20

event Transfer:
    sender: indexed(address)
    receiver: indexed(address)
    value: uint256

event MinterChanged:
    minter: indexed(address)

event Approval:
    owner: indexed(address)
    spender: indexed(address)
    value: uint256

MAX_GENESIS: constant(uint256) = 128
SEARCH_STEPS: constant(uint256) = 64        # binary search over at most 2**64 checkpoints

struct Checkpoint:
    from_block: uint256
    value: uint256

name: public(String[32])
symbol: public(String[8])
decimals: public(constant(uint8)) = 18
totalSupply: public(uint256)
balanceOf: public(HashMap[address, uint256])
allowance: public(HashMap[address, HashMap[address, uint256]])
minter: public(address)
_checkpoints: HashMap[address, HashMap[uint256, uint256]]        # block << 192 | balance
num_checkpoints: public(HashMap[address, uint256])
_supply_checkpoints: HashMap[uint256, uint256]
_num_supply_checkpoints: uint256


@deploy
def __init__(
    name_: String[32],
    symbol_: String[8],
    holders: DynArray[address, MAX_GENESIS],
    amounts: DynArray[uint256, MAX_GENESIS],
    minter_: address,
):
    assert len(holders) == len(amounts), "token: holders and amounts differ in length"
    self.name = name_
    self.symbol = symbol_
    self.minter = minter_
    supply: uint256 = 0
    for i: uint256 in range(len(holders), bound=MAX_GENESIS):
        assert holders[i] != empty(address), "token: genesis holder is the zero address"
        self.balanceOf[holders[i]] += amounts[i]
        self._write_votes(holders[i])
        supply += amounts[i]
        log Transfer(sender=empty(address), receiver=holders[i], value=amounts[i])
    self.totalSupply = supply
    self._write_supply()


# ---------------------------------------------------------------- checkpoints

@internal
@view
def _pack(amount: uint256) -> uint256:
    assert amount < 2**192, "token: balance too large for a checkpoint"
    return (block.number << 192) | amount


@internal
def _write_votes(account: address):
    """Record `account`'s balance as of this block (one checkpoint per block; none for contracts)."""
    if account.is_contract:
        return
    n: uint256 = self.num_checkpoints[account]
    packed: uint256 = self._pack(self.balanceOf[account])
    if n > 0 and self._checkpoints[account][n - 1] >> 192 == block.number:
        self._checkpoints[account][n - 1] = packed
        return
    self._checkpoints[account][n] = packed
    self.num_checkpoints[account] = n + 1


@internal
def _write_supply():
    n: uint256 = self._num_supply_checkpoints
    packed: uint256 = self._pack(self.totalSupply)
    if n > 0 and self._supply_checkpoints[n - 1] >> 192 == block.number:
        self._supply_checkpoints[n - 1] = packed
        return
    self._supply_checkpoints[n] = packed
    self._num_supply_checkpoints = n + 1


@internal
@view
def _lookup(account: address, supply: bool, blk: uint256) -> uint256:
    """Value of the last checkpoint written at or before `blk` (0 when none)."""
    assert blk < block.number, "token: block not yet mined"
    n: uint256 = self._num_supply_checkpoints if supply else self.num_checkpoints[account]
    lo: uint256 = 0
    hi: uint256 = n              # answer: the last index < hi with from_block <= blk
    for _: uint256 in range(SEARCH_STEPS):
        if lo >= hi:
            break
        mid: uint256 = (lo + hi) // 2
        cp: uint256 = self._supply_checkpoints[mid] if supply else self._checkpoints[account][mid]
        if cp >> 192 > blk:
            hi = mid
        else:
            lo = mid + 1
    if lo == 0:
        return 0
    if supply:
        return self._supply_checkpoints[lo - 1] & (2**192 - 1)
    return self._checkpoints[account][lo - 1] & (2**192 - 1)


@external
@view
def checkpoints(account: address, index: uint256) -> Checkpoint:
    """@notice `account`'s checkpoint number `index`: (block, balance at its end)."""
    cp: uint256 = self._checkpoints[account][index]
    return Checkpoint(from_block=cp >> 192, value=cp & (2**192 - 1))


@external
@view
def get_votes(account: address) -> uint256:
    """@notice Current voting power: the balance."""
    return self.balanceOf[account]


@external
@view
def get_past_votes(account: address, blk: uint256) -> uint256:
    """@notice `account`'s balance at the end of block `blk` (an already mined block)."""
    return self._lookup(account, False, blk)


@external
@view
def get_past_total_supply(blk: uint256) -> uint256:
    """@notice Total supply at the end of block `blk` (an already mined block)."""
    return self._lookup(empty(address), True, blk)


@internal
def _transfer(sender: address, receiver: address, amount: uint256):
    assert receiver != empty(address), "token: transfer to the zero address"
    assert self.balanceOf[sender] >= amount, "token: balance too low"
    self.balanceOf[sender] -= amount
    self.balanceOf[receiver] += amount
    self._write_votes(sender)
    self._write_votes(receiver)
    log Transfer(sender=sender, receiver=receiver, value=amount)


@external
def transfer(receiver: address, amount: uint256) -> bool:
    self._transfer(msg.sender, receiver, amount)
    return True


@external
def transferFrom(owner: address, receiver: address, amount: uint256) -> bool:
    allowed: uint256 = self.allowance[owner][msg.sender]
    assert allowed >= amount, "token: allowance too low"
    if allowed != max_value(uint256):
        self.allowance[owner][msg.sender] = allowed - amount
    self._transfer(owner, receiver, amount)
    return True


@external
def approve(spender: address, amount: uint256) -> bool:
    self.allowance[msg.sender][spender] = amount
    log Approval(owner=msg.sender, spender=spender, value=amount)
    return True


@external
def mint(receiver: address, amount: uint256):
    assert msg.sender == self.minter, "token: only the minter may mint"
    assert receiver != empty(address), "token: mint to the zero address"
    self.totalSupply += amount
    self.balanceOf[receiver] += amount
    self._write_votes(receiver)
    self._write_supply()
    log Transfer(sender=empty(address), receiver=receiver, value=amount)


@external
def set_minter(new_minter: address):
    """@notice Hand the right to mint to `new_minter` (the deployer gives it to Emission)."""
    assert msg.sender == self.minter, "token: only the minter may change the minter"
    self.minter = new_minter
    log MinterChanged(minter=new_minter)


@external
def burn(amount: uint256):
    """@notice Destroy `amount` of the caller's tokens."""
    assert self.balanceOf[msg.sender] >= amount, "token: balance too low"
    self.balanceOf[msg.sender] -= amount
    self.totalSupply -= amount
    self._write_votes(msg.sender)
    self._write_supply()
    log Transfer(sender=msg.sender, receiver=empty(address), value=amount)
