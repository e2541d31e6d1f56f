"""Where brainnet keeps things on disk: one home folder, overridable with BRAINNET_HOME."""
from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def home() -> Path:
    root = Path(os.environ.get("BRAINNET_HOME") or Path.home() / ".cache" / "brainnet")
    root.mkdir(parents=True, exist_ok=True)
    return root


def contracts_dir() -> Path:
    return Path(os.environ.get("BRAINNET_CONTRACTS") or REPO_ROOT / "contracts")
