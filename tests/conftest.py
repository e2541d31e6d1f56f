"""Test-wide settings: one brainnet home per test session, so trained weights and compiled
contracts are cached once and nothing touches the user's ~/.cache."""
import os
import tempfile

import pytest

_home = os.environ.get("BRAINNET_HOME") or tempfile.mkdtemp(prefix="brainnet-test-home-")
os.environ["BRAINNET_HOME"] = _home


@pytest.fixture(scope="session")
def brainnet_home() -> str:
    return _home
