# pragma version ~=0.4.3
"""
@title brainnet Token (BRN)
@notice ERC-20 with 18 decimals. The whole genesis supply is allocated at deployment
        from the deployment parameters; afterwards only `minter` (set once, at
        deployment) may create tokens. Nodes stake it, requesters pay fees in it.
@dev Reverts start with "token:".
"""

from ethereum.ercs import IERC20

implements: IERC20

event Transfer:
    sender: indexed(address)
    receiver: indexed(address)
    value: uint256

event Approval:
    owner: indexed(address)
    spender: indexed(address)
    value: uint256

MAX_GENESIS: constant(uint256) = 128

name: public(String[32])
symbol: public(String[8])
decimals: public(constant(uint8)) = 18
totalSupply: public(uint256)
balanceOf: public(HashMap[address, uint256])
allowance: public(HashMap[address, HashMap[address, uint256]])
minter: public(address)


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
        supply += amounts[i]
        log Transfer(sender=empty(address), receiver=holders[i], value=amounts[i])
    self.totalSupply = supply


@internal
def _transfer(sender: address, receiver: address, amount: uint256):
    assert receiver != empty(address), "token: transfer to the zero address"
    assert self.balanceOf[sender] >= amount, "token: balance too low"
    self.balanceOf[sender] -= amount
    self.balanceOf[receiver] += amount
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
    log Transfer(sender=empty(address), receiver=receiver, value=amount)
