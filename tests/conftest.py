"""Test-wide settings: one brainnet home per test session, so trained weights and compiled
contracts are cached once and nothing touches the user's ~/.cache; a home made here is
removed when the session ends."""
import atexit
import os
import shutil
import tempfile

import pytest

_home = os.environ.get("BRAINNET_HOME")
if not _home:
    _home = tempfile.mkdtemp(prefix="brainnet-test-home-")
    atexit.register(shutil.rmtree, _home, ignore_errors=True)     # ~80 MB a session: do not leave it behind
os.environ["BRAINNET_HOME"] = _home


@pytest.fixture(scope="session")
def brainnet_home() -> str:
    return _home
