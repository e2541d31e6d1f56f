"""Token (BRN): genesis allocation, transfer, transferFrom, approve, mint and their reverts."""
import boa

from contract_world import GENESIS, events

ZERO = "0x" + "00" * 20
MAX = 2**256 - 1


def test_genesis_allocates_the_whole_supply(deployers):
    a, b, minter = (boa.env.generate_address() for _ in range(3))
    token = deployers.token.deploy("brainnet", "BRN", [a, b, a], [5, 7, 11], minter)
    assert (token.name(), token.symbol(), token.decimals()) == ("brainnet", "BRN", 18)
    assert token.balanceOf(a) == 16 and token.balanceOf(b) == 7
    assert token.totalSupply() == 23
    assert token.minter() == minter


def test_genesis_can_be_empty(deployers):
    token = deployers.token.deploy("brainnet", "BRN", [], [], boa.env.generate_address())
    assert token.totalSupply() == 0


def test_genesis_rejects_mismatched_lengths(deployers):
    a = boa.env.generate_address()
    with boa.reverts("token: holders and amounts differ in length"):
        deployers.token.deploy("brainnet", "BRN", [a], [1, 2], a)


def test_genesis_rejects_the_zero_address(deployers):
    a = boa.env.generate_address()
    with boa.reverts("token: genesis holder is the zero address"):
        deployers.token.deploy("brainnet", "BRN", [a, ZERO], [1, 2], a)


def test_transfer_moves_tokens_and_logs(world, token):
    to = world.new_account()
    assert token.transfer(to, 123, sender=world.requester) is True
    (log,) = events(token, "Transfer")
    assert (log.sender, log.receiver, log.value) == (world.requester, to, 123)
    assert token.balanceOf(to) == 123
    assert token.balanceOf(world.requester) == GENESIS - 123
    world.assert_invariants()


def test_transfer_to_self_keeps_the_balance(world, token):
    token.transfer(world.requester, 10, sender=world.requester)
    assert token.balanceOf(world.requester) == GENESIS


def test_transfer_above_balance_reverts(world, token):
    poor = world.new_account(funds=5)
    with boa.reverts("token: balance too low"):
        token.transfer(world.requester, 6, sender=poor)


def test_transfer_to_zero_address_reverts(world, token):
    with boa.reverts("token: transfer to the zero address"):
        token.transfer(ZERO, 1, sender=world.requester)


def test_approve_sets_allowance_and_logs(world, token):
    spender = world.new_account()
    assert token.approve(spender, 50, sender=world.requester) is True
    (log,) = events(token, "Approval")
    assert (log.owner, log.spender, log.value) == (world.requester, spender, 50)
    assert token.allowance(world.requester, spender) == 50
    token.approve(spender, 7, sender=world.requester)      # overwrites, does not add
    assert token.allowance(world.requester, spender) == 7


def test_transfer_from_spends_allowance(world, token):
    spender, to = world.new_account(), world.new_account()
    token.approve(spender, 50, sender=world.requester)
    assert token.transferFrom(world.requester, to, 30, sender=spender) is True
    assert token.allowance(world.requester, spender) == 20
    assert token.balanceOf(to) == 30
    world.assert_invariants()


def test_transfer_from_with_infinite_allowance_keeps_it(world, token):
    spender, to = world.new_account(), world.new_account()
    token.approve(spender, MAX, sender=world.requester)
    token.transferFrom(world.requester, to, 30, sender=spender)
    assert token.allowance(world.requester, spender) == MAX


def test_transfer_from_above_allowance_reverts(world, token):
    spender = world.new_account()
    token.approve(spender, 10, sender=world.requester)
    with boa.reverts("token: allowance too low"):
        token.transferFrom(world.requester, spender, 11, sender=spender)


def test_transfer_from_above_balance_reverts(world, token):
    poor, spender = world.new_account(funds=5), world.new_account()
    token.approve(spender, 100, sender=poor)
    with boa.reverts("token: balance too low"):
        token.transferFrom(poor, spender, 6, sender=spender)


def test_transfer_from_to_zero_address_reverts(world, token):
    spender = world.new_account()
    token.approve(spender, 100, sender=world.requester)
    with boa.reverts("token: transfer to the zero address"):
        token.transferFrom(world.requester, ZERO, 1, sender=spender)


def test_minter_mints(world, token):
    to = world.new_account()
    supply = token.totalSupply()
    token.mint(to, 99, sender=world.owner)
    (log,) = events(token, "Transfer")
    assert (log.sender, log.receiver, log.value) == (ZERO, to, 99)
    assert token.balanceOf(to) == 99 and token.totalSupply() == supply + 99
    world.assert_invariants()


def test_only_the_minter_mints(world, token):
    with boa.reverts("token: only the minter may mint"):
        token.mint(world.requester, 1, sender=world.requester)


def test_mint_to_zero_address_reverts(world, token):
    with boa.reverts("token: mint to the zero address"):
        token.mint(ZERO, 1, sender=world.owner)
