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
        return self.send_nowait(tx, gas=gas, label=label).wait()

    def send_nowait(self, tx: dict, *, gas: int = DEFAULT_GAS, label: str = "") -> "PendingTx":
        """Sign and send `tx` with the next local nonce without waiting for it to be mined.

        Lets one caller put many transactions (of one signer or of many) in flight and wait
        for all receipts afterwards (`PendingTx.wait`, `wait_all`); the nonces stay in order
        because they are tracked here, not asked of the node."""
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
        return PendingTx(self, tx_hash, full, label)

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


class PendingTx:
    """A transaction sent by `Signer.send_nowait`, not yet waited for."""

    def __init__(self, signer: Signer, tx_hash, tx: dict, label: str):
        self.signer = signer
        self.tx_hash = tx_hash
        self.tx = tx
        self.label = label

    def wait(self, timeout: float = 120) -> Receipt:
        """The receipt; raise ContractRevert (with the contract's reason) if the transaction reverted."""
        raw = self.signer.w3.eth.wait_for_transaction_receipt(self.tx_hash, timeout=timeout, poll_latency=0.05)
        receipt = Receipt(self.tx_hash.to_0x_hex(), raw["blockNumber"], raw["gasUsed"], list(raw["logs"]),
                          raw.get("contractAddress"))
        if raw["status"] != 1:
            raise ContractRevert(self.signer._replay_reason(self.tx, raw["blockNumber"]), function=self.label)
        return receipt


def wait_all(pending: list[PendingTx], timeout: float = 120) -> list[Receipt]:
    """Receipts of `pending`, in order; the first reverted transaction raises ContractRevert."""
    return [p.wait(timeout) for p in pending]
