"""The "transfer failed" reverts of Registry and Inference.

Our Token reverts instead of returning False, so these paths are reached with a token
that can be told to return False, as some ERC-20s do.
"""
import boa
import pytest

from contract_world import A, ABSENT, B, C, FEE, GENESIS, MIN_STAKE, MODEL, SEED_HORIZON, keccak

FALSE_TOKEN = """
# pragma version ~=0.4.3
balanceOf: public(HashMap[address, uint256])
allowance: public(HashMap[address, HashMap[address, uint256]])
totalSupply: public(uint256)
failing: public(bool)

@external
def set_failing(failing: bool):
    self.failing = failing

@external
def mint(receiver: address, amount: uint256):
    self.balanceOf[receiver] += amount
    self.totalSupply += amount

@external
def approve(spender: address, amount: uint256) -> bool:
    self.allowance[msg.sender][spender] = amount
    return True

@external
def transfer(receiver: address, amount: uint256) -> bool:
    if self.failing:
        return False
    self.balanceOf[msg.sender] -= amount
    self.balanceOf[receiver] += amount
    return True

@external
def transferFrom(owner: address, receiver: address, amount: uint256) -> bool:
    if self.failing:
        return False
    self.allowance[owner][msg.sender] -= amount
    self.balanceOf[owner] -= amount
    self.balanceOf[receiver] += amount
    return True
"""


@pytest.fixture(scope="module")
def fw(deployers):
    """A world whose token returns False on demand; each test still runs in the autouse anchor."""
    token = boa.loads(FALSE_TOKEN)
    world = deployers.world(token=token)
    world.fund(world.requester, GENESIS)
    return world


def failing(world):
    world.token.set_failing(True)


def test_register_stake_transfer_failed(fw):
    node = fw.new_account(funds=MIN_STAKE)
    fw.token.approve(fw.registry.address, MIN_STAKE, sender=node)
    failing(fw)
    with boa.reverts("registry: stake transfer failed"):
        fw.registry.register(MIN_STAKE, "x", keccak(b"pk"), [MODEL], sender=node)


def test_add_stake_transfer_failed(fw):
    node = fw.nodes[0]
    failing(fw)
    with boa.reverts("registry: stake transfer failed"):
        fw.registry.add_stake(1, sender=node)


def test_withdraw_transfer_failed(fw):
    node = fw.nodes[0]
    fw.registry.begin_unbond(sender=node)
    boa.env.time_travel(blocks=fw.registry.unbonding_blocks())
    failing(fw)
    with boa.reverts("registry: withdraw transfer failed"):
        fw.registry.withdraw(sender=node)


def test_slash_transfer_failed(fw):
    fw.registry.authorize(fw.owner, True, sender=fw.owner)
    failing(fw)
    with boa.reverts("registry: slash transfer failed"):
        fw.registry.slash(fw.nodes[0], 1, "test", sender=fw.owner)


def test_no_show_slash_transfer_failure_blocks_finalize(fw):
    run = fw.run_task([A, A, A, A, ABSENT], finalize=False)
    fw.past_reveal_deadline(run.task_id)
    failing(fw)
    with boa.reverts("registry: slash transfer failed"):
        fw.inference.finalize(run.task_id)


def test_request_fee_transfer_failed(fw):
    fw.token.approve(fw.inference.address, FEE, sender=fw.requester)
    failing(fw)
    with boa.reverts("inference: fee transfer failed"):
        fw.inference.request(MODEL, keccak(b"in"), "", FEE, sender=fw.requester)


def test_refund_of_an_undrawn_task_failed(fw):
    task_id = fw.request()
    boa.env.time_travel(blocks=2 + SEED_HORIZON)
    failing(fw)
    with boa.reverts("inference: refund failed"):
        fw.inference.finalize(task_id)


def test_refund_without_quorum_failed(fw):
    run = fw.run_task([A, B, C, A, B], finalize=False)
    failing(fw)
    with boa.reverts("inference: refund failed"):
        fw.inference.finalize(run.task_id)


def test_dust_refund_failed(fw):
    run = fw.run_task([A] * 5, finalize=False)
    assert FEE % 5
    failing(fw)
    with boa.reverts("inference: refund failed"):
        fw.inference.finalize(run.task_id)


def test_claim_transfer_failed(fw):
    run = fw.run_task([A] * 5)
    failing(fw)
    with boa.reverts("inference: claim transfer failed"):
        fw.inference.claim(sender=run.members[0])
    assert fw.inference.claimable(run.members[0]) == FEE // 5
