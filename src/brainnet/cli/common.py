"""Shared pieces of the CLI: the console, JSON output, and error handling without tracebacks."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from rich.console import Console

console = Console()
err_console = Console(stderr=True, soft_wrap=True)   # one line per error, greppable


def write_json(path: Path | None, data: dict) -> None:
    if path is None:
        return
    if str(path) == "-":
        sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")


def brn(wei: int) -> str:
    return f"{wei / 10**18:,.2f}"


def short(address: str) -> str:
    return f"{address[:8]}…{address[-4:]}"
