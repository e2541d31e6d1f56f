"""Deploy contracts/DataMarket.vy and send its transactions.

Kept beside deploy.py rather than inside it: the data marketplace is its own contract with
its own token flows, deployed next to (or without) the inference protocol. The only shared
piece is the Token it takes deposits in.
"""
from __future__ import annotations

from dataclasses import dataclass

from eth_account.signers.local import LocalAccount

from brainnet.chain.backends import Backend
from brainnet.chain.compile import Artifact, compile_contract
from brainnet.chain.signer import Receipt, Signer
from brainnet.errors import ConfigError

DAY = 86_400
MAX_UINT = 2**256 - 1


@dataclass
class DataMarketParams:
    """What DataMarket's constructor takes; the defaults are 0xDeCA10B's."""
    model_kind: int = 0                 # 0 perceptron, 1 nearest centroid
    n_features: int = 120
    cost_weight: int = 1                # w in max(1, w*60 // isqrt(dt))
    refund_wait: int = 1 * DAY
    claim_wait: int = 9 * DAY
    learning_rate: int = 1
    intercept: int = 0
    init_values: tuple = ()             # perceptron weights, or class-0 then class-1 feature counts
    init_counts: tuple = (0, 0)         # nearest centroid: samples behind the initial counts


def _create(backend: Backend, signer: Signer, art: Artifact, *args) -> str:
    factory = backend.w3.eth.contract(abi=art.abi, bytecode=art.bytecode)
    data = factory.constructor(*args)._encode_data_in_transaction(*args)
    return signer.send({"data": data}, gas=15_000_000, label=f"deploy {art.name}").contract_address


def deploy_token(backend: Backend, holders: list[str], amounts: list[int], deployer: LocalAccount | None = None,
                 name: str = "brainnet", symbol: str = "BRN") -> str:
    """A Token with this genesis allocation (minter: the deployer)."""
    deployer = deployer or backend.funder
    if deployer is None:
        raise ConfigError("no deployer account: pass a funded account for this chain")
    signer = Signer(backend.w3, deployer)
    return _create(backend, signer, compile_contract("Token"), name, symbol, holders, amounts, deployer.address)


def deploy_datamarket(backend: Backend, token: str, params: DataMarketParams, governance: str | None = None,
                      deployer: LocalAccount | None = None) -> str:
    """Deploy a DataMarket taking deposits in `token`; `governance` (default: the deployer)
    may later change w and the waits, or hand them to the Governance contract."""
    deployer = deployer or backend.funder
    if deployer is None:
        raise ConfigError("no deployer account: pass a funded account for this chain")
    if params.model_kind not in (0, 1):
        raise ConfigError(f"model_kind {params.model_kind}: use 0 (perceptron) or 1 (nearest centroid)")
    signer = Signer(backend.w3, deployer)
    return _create(backend, signer, compile_contract("DataMarket"), token, governance or deployer.address,
                   params.model_kind, params.n_features, params.cost_weight, params.refund_wait, params.claim_wait,
                   params.learning_rate, params.intercept, list(params.init_values), list(params.init_counts))


class MarketAccount:
    """One account's view of a DataMarket: approve once, then add/refund/report/take."""

    def __init__(self, backend: Backend, market: str, token: str, account: LocalAccount):
        w3 = backend.w3
        self.address = account.address
        self.signer = Signer(w3, account)
        self.market = w3.eth.contract(address=market, abi=compile_contract("DataMarket").abi)
        self.token = w3.eth.contract(address=token, abi=compile_contract("Token").abi)

    def _send(self, to, fn, gas: int, label: str) -> Receipt:
        return self.signer.send({"to": to.address, "data": fn._encode_transaction_data()}, gas=gas, label=label)

    def approve(self, amount: int = MAX_UINT) -> Receipt:
        return self._send(self.token, self.token.functions.approve(self.market.address, amount), 100_000, "approve")

    def add_data(self, features: list[int], label: int, max_deposit: int = MAX_UINT) -> Receipt:
        fn = self.market.functions.add_data(list(features), label, max_deposit)
        return self._send(self.market, fn, 1_500_000, "add_data")

    def refund(self, cid: int, features: list[int]) -> Receipt:
        return self._send(self.market, self.market.functions.refund(cid, list(features)), 500_000, "refund")

    def report(self, cid: int, features: list[int]) -> Receipt:
        return self._send(self.market, self.market.functions.report(cid, list(features)), 500_000, "report")

    def take(self, cid: int) -> Receipt:
        return self._send(self.market, self.market.functions.take(cid), 200_000, "take")

    def balance(self) -> int:
        return self.token.functions.balanceOf(self.address).call()
