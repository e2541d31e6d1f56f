"""Token checkpoints (get_past_votes, get_past_total_supply), burn and set_minter."""
import boa

from contract_world import GENESIS, events

ZERO = "0x" + "00" * 20


def _block():
    return boa.env.evm.patch.block_number


def test_past_votes_follow_every_balance_change(world, token):
    a = boa.env.generate_address()
    b0 = _block()
    token.transfer(a, 100, sender=world.owner)
    boa.env.time_travel(blocks=1)
    b1 = _block()
    token.transfer(a, 50, sender=world.owner)
    token.transfer(world.owner, 30, sender=a)           # same block: one checkpoint, last value
    boa.env.time_travel(blocks=1)
    assert token.get_past_votes(a, b0 - 1) == 0
    assert token.get_past_votes(a, b0) == 100
    assert token.get_past_votes(a, b1) == 120
    assert token.num_checkpoints(a) == 2
    assert tuple(token.checkpoints(a, 1)) == (b1, 120)
    assert token.get_votes(a) == 120


def test_past_votes_binary_search_over_many_checkpoints(world, token):
    a = boa.env.generate_address()
    blocks = []
    for i in range(1, 40):
        token.transfer(a, 1, sender=world.owner)
        blocks.append((_block(), i % 3 + 1))
        boa.env.time_travel(blocks=i % 3 + 1)
    for i, (blk, gap) in enumerate(blocks):
        assert token.get_past_votes(a, blk - 1) == i
        assert token.get_past_votes(a, blk + gap - 1) == i + 1


def test_past_total_supply_follows_mint_and_burn(world, token):
    start = token.totalSupply()
    b0 = _block()
    token.mint(world.requester, 10, sender=world.owner)
    boa.env.time_travel(blocks=1)
    b1 = _block()
    token.burn(4, sender=world.requester)
    boa.env.time_travel(blocks=1)
    assert token.get_past_total_supply(b0) == start + 10
    assert token.get_past_total_supply(b1) == start + 6
    assert token.get_past_total_supply(0) == 0 or token.get_past_total_supply(0) <= start


def test_the_current_block_is_not_yet_past(world, token):
    with boa.reverts("token: block not yet mined"):
        token.get_past_votes(world.owner, _block())
    with boa.reverts("token: block not yet mined"):
        token.get_past_total_supply(_block())


def test_genesis_holders_have_checkpoints(deployers):
    a = boa.env.generate_address()
    t = deployers.token.deploy("brainnet", "BRN", [a], [5], a)
    boa.env.time_travel(blocks=1)
    assert t.get_past_votes(a, _block() - 1) == 5
    assert t.get_past_total_supply(_block() - 1) == 5


def test_burn_destroys_the_callers_tokens(world, token):
    supply = token.totalSupply()
    token.burn(7, sender=world.requester)
    (ev,) = events(token, "Transfer")
    assert (ev.sender, ev.receiver, ev.value) == (world.requester, ZERO, 7)
    assert token.balanceOf(world.requester) == GENESIS - 7
    assert token.totalSupply() == supply - 7


def test_burn_more_than_the_balance_reverts(world, token):
    with boa.reverts("token: balance too low"):
        token.burn(1, sender=boa.env.generate_address())


def test_set_minter_hands_minting_on(world, token):
    new = boa.env.generate_address()
    with boa.reverts("token: only the minter may change the minter"):
        token.set_minter(new, sender=world.requester)
    token.set_minter(new, sender=world.owner)
    (ev,) = events(token, "MinterChanged")
    assert ev.minter == new
    assert token.minter() == new
    with boa.reverts("token: only the minter may mint"):
        token.mint(world.owner, 1, sender=world.owner)
    token.mint(world.owner, 1, sender=new)
