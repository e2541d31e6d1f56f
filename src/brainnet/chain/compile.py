"""Compile the Vyper contracts from Python, with a cache keyed by source hash.

Compiling all contracts takes a few seconds; the cache makes every later start instant.
The key covers the source text and the compiler version, so an edited contract or a new
vyper always recompiles.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import vyper
from vyper.compiler import compile_code

from brainnet.errors import ConfigError
from brainnet.paths import contracts_dir, home

CONTRACTS = ("Token", "Registry", "Inference", "Models", "Training", "Emission", "Governance", "ShardAudit")


@dataclass(frozen=True)
class Artifact:
    name: str
    abi: list
    bytecode: str          # 0x-hex init code
    source_hash: str

    @property
    def abi_hash(self) -> str:
        return hashlib.sha256(json.dumps(self.abi, sort_keys=True).encode()).hexdigest()


def compile_contract(name: str) -> Artifact:
    path = contracts_dir() / f"{name}.vy"
    if not path.exists():
        raise ConfigError(f"contract source {path} not found; set BRAINNET_CONTRACTS to the contracts/ folder")
    source = path.read_text()
    key = hashlib.sha256(f"{vyper.__version__}\n{source}".encode()).hexdigest()
    cache = home() / "contracts" / f"{name}-{key[:16]}.json"
    if cache.exists():
        data = json.loads(cache.read_text())
        return Artifact(name, data["abi"], data["bytecode"], key)
    out = compile_code(source, contract_path=str(path), output_formats=["abi", "bytecode"])
    cache.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=cache.parent, delete=False) as f:
        json.dump({"abi": out["abi"], "bytecode": out["bytecode"]}, f)
    os.replace(f.name, cache)
    return Artifact(name, out["abi"], out["bytecode"], key)


def compile_all() -> dict[str, Artifact]:
    return {name: compile_contract(name) for name in CONTRACTS}


def abi_hash(artifacts: dict[str, Artifact]) -> str:
    joined = "".join(artifacts[n].abi_hash for n in sorted(artifacts))
    return hashlib.sha256(joined.encode()).hexdigest()
