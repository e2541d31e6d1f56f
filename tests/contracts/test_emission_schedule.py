"""Emission deployment, the epoch clock and the fixed schedule (equal to brainnet.protocol.emission)."""
import boa
import pytest

from brainnet.protocol.emission import epoch_amount
from economy_world import DECAY_BPS, EPOCH_BLOCKS, INFERENCE_WEIGHT_BPS, INITIAL_EMISSION, deploy_emission, emission_only  # noqa: F401


def test_deploy_stores_the_schedule(world, emission_only):
    e = emission_only.emission
    assert e.token() == world.token.address
    assert e.epoch_blocks() == EPOCH_BLOCKS
    assert e.initial_emission() == INITIAL_EMISSION
    assert e.decay_bps() == DECAY_BPS
    assert e.inference_weight_bps() == INFERENCE_WEIGHT_BPS
    assert e.governance() == world.owner
    assert e.genesis_block() == boa.env.evm.patch.block_number
    assert e.current_epoch() == 0 and e.minted() == 0


@pytest.mark.parametrize("args, reason", [
    ((0, 1, 0, 0), "emission: epoch_blocks must be positive"),
    ((1, 1, 10_001, 0), "emission: decay_bps above 10000"),
    ((1, 1, 0, 10_001), "emission: weight above 10000"),
])
def test_deploy_rejects_bad_parameters(world, args, reason):
    with boa.reverts(reason):
        deploy_emission(world.token.address, *args)


def test_epochs_follow_block_numbers(emission_only):
    e = emission_only.emission
    emission_only.mine(EPOCH_BLOCKS - 1)
    assert e.current_epoch() == 0
    emission_only.mine(1)
    assert e.current_epoch() == 1
    emission_only.mine(5 * EPOCH_BLOCKS)
    assert e.current_epoch() == 6


@pytest.mark.parametrize("epoch", [0, 1, 2, 7, 100, 1_000, 123_457])
def test_epoch_amount_decays_as_the_mirror(emission_only, epoch):
    got = emission_only.emission.epoch_amount(epoch)
    assert got == epoch_amount(INITIAL_EMISSION, DECAY_BPS, epoch)
    assert got <= INITIAL_EMISSION * (10_000 - DECAY_BPS) ** epoch // 10_000 ** epoch + 10**7


def test_no_decay_and_full_decay(world):
    flat = deploy_emission(world.token.address, decay_bps=0)
    assert flat.epoch_amount(0) == flat.epoch_amount(999) == INITIAL_EMISSION
    once = deploy_emission(world.token.address, decay_bps=10_000)
    assert once.epoch_amount(0) == INITIAL_EMISSION and once.epoch_amount(1) == 0
