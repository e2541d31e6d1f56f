"""Chain backends: where the contracts run.

- `embedded`: py-evm in this process (web3's EthereumTesterProvider); no server, blocks are
  mined per transaction and `mine()` adds empty blocks when the protocol needs time to pass.
- `anvil`: a local anvil (npm `@foundry-rs/anvil`, installed by `make`) started on
  127.0.0.1 on a free port and stopped cleanly; several processes can share it.
- `rpc:<url>`: any EVM JSON-RPC endpoint.

Every backend exposes a web3 instance, a funded `funder` account where the chain has one
(embedded and anvil), and `mine(n)`.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import EthereumTesterProvider, HTTPProvider, Web3
from web3.types import RPCEndpoint

from brainnet.errors import ChainError, ConfigError
from brainnet.paths import REPO_ROOT

# anvil's first well-known development key (public knowledge; a dev chain only)
ANVIL_DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
# the embedded chain's funder: a fixed key, funded in the genesis state
EMBEDDED_DEV_KEY = "0x" + "b7a1" * 16


class Backend:
    name = "base"
    url: str | None = None

    def __init__(self, w3: Web3, funder: LocalAccount | None):
        self.w3 = w3
        self.funder = funder
        self.chain_id = w3.eth.chain_id
        if funder is not None:
            w3.eth.default_account = funder.address   # eth_call needs a sender that can pay

    @property
    def spec(self) -> str:
        """The string that reopens this chain from another process (`rpc:<url>`)."""
        return f"rpc:{self.url}" if self.url else self.name

    def mine(self, blocks: int = 1) -> None:
        raise ChainError(f"the {self.name} backend cannot mine blocks on demand; wait for the chain")

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class EmbeddedBackend(Backend):
    name = "embedded"

    def __init__(self):
        from eth_tester import EthereumTester, PyEVMBackend

        funder = Account.from_key(EMBEDDED_DEV_KEY)
        genesis = {bytes.fromhex(funder.address[2:]): {"balance": 10**30, "nonce": 0, "code": b"", "storage": {}}}
        self.tester = EthereumTester(PyEVMBackend(genesis_state=genesis))
        super().__init__(Web3(EthereumTesterProvider(self.tester)), funder)

    def mine(self, blocks: int = 1) -> None:
        if blocks > 0:
            self.tester.mine_blocks(blocks)


class RpcBackend(Backend):
    name = "rpc"

    def __init__(self, url: str, funder: LocalAccount | None = None):
        self.url = url
        # web3 checks the chain id before every call and transaction (one extra eth_chainId
        # round trip each); a chain's id does not change, so that answer is cached
        w3 = Web3(HTTPProvider(url, request_kwargs={"timeout": 30}, cache_allowed_requests=True,
                               cacheable_requests={RPCEndpoint("eth_chainId")}))
        try:
            w3.eth.chain_id
        except Exception as exc:  # noqa: BLE001 - any transport error means unreachable
            raise ChainError(f"cannot reach the chain at {url} ({exc}); is the node running?") from exc
        if funder is None and w3.eth.chain_id == 31337:
            funder = Account.from_key(ANVIL_DEV_KEY)   # a local anvil: its dev account is funded
        super().__init__(w3, funder)

    def mine(self, blocks: int = 1) -> None:
        if blocks <= 0:
            return
        if self.chain_id != 31337:
            super().mine(blocks)
        self.w3.provider.make_request("anvil_mine", [hex(blocks)])


def anvil_binary() -> str:
    candidates = [
        os.environ.get("BRAINNET_ANVIL", ""),
        str(REPO_ROOT / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"),
        str(REPO_ROOT / "node_modules" / ".bin" / "anvil"),
        shutil.which("anvil") or "",
    ]
    for c in candidates:
        if c and Path(c).exists():
            return c
    raise ConfigError("anvil not found; run `make install` (npm install @foundry-rs/anvil) or set BRAINNET_ANVIL")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AnvilBackend(RpcBackend):
    name = "anvil"

    def __init__(self, port: int | None = None, block_time: float | None = None, order: str | None = None,
                 prune_history: int | None = None):
        """`order`: how anvil sorts pending transactions into a block (`fees`, its default, or
        `fifo`: arrival order, which a caller that mines many transactions at once may need).
        `prune_history`: keep only the states of that many recent blocks (long runs mine faster)."""
        port = port or free_port()
        # anvil moves old states to disk (by default under ~/.foundry/anvil/tmp, left there when it
        # is stopped: a long bench left tens of GB); here they go to a folder removed at close
        self._cache = tempfile.mkdtemp(prefix="brainnet-anvil-")
        cmd = [anvil_binary(), "--host", "127.0.0.1", "--port", str(port), "--silent",
               "--accounts", "1", "--balance", "1000000000", "--gas-limit", "60000000",
               "--cache-path", self._cache]
        if block_time:
            cmd += ["--block-time", str(block_time)]
        if order:
            cmd += ["--order", order]
        if prune_history:
            cmd += ["--prune-history", str(prune_history)]
        self.process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode(errors="replace") if self.process.stderr else ""
                shutil.rmtree(self._cache, ignore_errors=True)
                raise ChainError(f"anvil exited at start-up: {err.strip() or 'no output'}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    self.close()
                    raise ChainError(f"anvil did not open port {port} within 30 s")
                time.sleep(0.05)
        super().__init__(url, Account.from_key(ANVIL_DEV_KEY))

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self._cache, ignore_errors=True)


def open_backend(spec: str) -> Backend:
    """`embedded`, `anvil` or `rpc:<url>`."""
    if spec == "embedded":
        return EmbeddedBackend()
    if spec == "anvil":
        return AnvilBackend()
    if spec.startswith("rpc:"):
        return RpcBackend(spec[4:])
    raise ConfigError(f"unknown chain {spec!r}; use embedded, anvil or rpc:<url>")
