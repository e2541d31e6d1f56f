"""Send transactions fast and predictably: sign locally, explicit gas, local nonces.

web3's `transact()` estimates gas and asks the node for the nonce on every call (4-8 RPC
round trips); signing here with an explicit gas limit and a locally tracked nonce runs
the embedded chain and anvil at the speeds DEPENDENCIES.md measured. A reverted
transaction is replayed with `eth_call` to recover the contract's revert reason, which
is raised as `ContractRevert`.
"""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.exceptions import ContractLogicError

from brainnet.errors import ChainError, ContractRevert

DEFAULT_GAS = 2_000_000
TIP = 10**9                      # 1 gwei priority fee


@dataclass(frozen=True)
class Receipt:
    tx_hash: str
    block: int
    gas_used: int
    logs: list
    contract_address: str | None = None


def revert_reason(exc: Exception) -> str:
    text = str(exc.args[0] if exc.args else exc)
    m = re.search(r"execution reverted:?\s*(.*)", text, re.S)
    return (m.group(1) if m else text).strip().strip("'\"") or "reverted without a reason"


class Signer:
    """One account sending transactions to one chain; thread-safe."""

    def __init__(self, w3: Web3, account: LocalAccount):
        self.w3 = w3
        self.account = account
        self.address = account.address
        self.chain_id = w3.eth.chain_id
        self._lock = threading.Lock()
        self._nonce = w3.eth.get_transaction_count(account.address, "pending")
        base = w3.eth.get_block("latest").get("baseFeePerGas") or 10**9
        self._max_fee = max(4 * base, 20 * 10**9)

    def send(self, tx: dict, *, gas: int = DEFAULT_GAS, label: str = "") -> Receipt:
        """Sign and send `tx` (to/data/value), wait for its receipt; raise ContractRevert if it reverted."""
        with self._lock:
            full = {
                "chainId": self.chain_id, "nonce": self._nonce, "gas": gas,
                "maxFeePerGas": self._max_fee, "maxPriorityFeePerGas": TIP,
                "value": 0, **tx,
            }
            signed = self.account.sign_transaction(full)
            try:
                tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
            except ContractLogicError as exc:
                raise ContractRevert(revert_reason(exc), function=label) from None
            except Exception as exc:  # noqa: BLE001 - transport or node rejection
                self._nonce = self.w3.eth.get_transaction_count(self.address, "pending")
                raise ChainError(f"the chain rejected {label or 'a transaction'}: {exc}") from exc
            self._nonce += 1
        raw = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=120, poll_latency=0.05)
        receipt = Receipt(tx_hash.to_0x_hex(), raw["blockNumber"], raw["gasUsed"], list(raw["logs"]), raw.get("contractAddress"))
        if raw["status"] != 1:
            raise ContractRevert(self._replay_reason(full, raw["blockNumber"]), function=label)
        return receipt

    def _replay_reason(self, tx: dict, block: int) -> str:
        call = {k: tx[k] for k in ("to", "data", "value", "gas") if k in tx}
        call["from"] = self.address
        try:
            self.w3.eth.call(call, block_identifier=max(block - 1, 0))
        except Exception as exc:  # noqa: BLE001 - ContractLogicError, or eth-tester's TransactionFailed
            return revert_reason(exc)
        return f"ran out of gas (limit {tx['gas']}) or the state changed within the block"

    def transfer_eth(self, to: str, value: int) -> Receipt:
        return self.send({"to": to, "value": value}, gas=21_000, label="ether transfer")
