"""A local anvil keeps the states it moves to disk in a folder of its own, removed when the
backend closes (anvil's default, ~/.foundry/anvil/tmp, is left behind and filled a disk)."""
from __future__ import annotations

from pathlib import Path

from brainnet.chain.backends import AnvilBackend


def test_state_cache_lives_and_dies_with_the_backend():
    backend = AnvilBackend()
    cache = Path(backend._cache)
    try:
        assert cache.is_dir() and str(cache) in " ".join(backend.process.args)
        backend.mine(300)
        assert backend.w3.eth.block_number >= 300
    finally:
        backend.close()
    assert not cache.exists()
    assert backend.process.poll() is not None
