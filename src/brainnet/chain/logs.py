"""Event logs decoded straight from the ABI with eth_abi.

Why not web3's `contract.events.X().process_log`: it runs every log through web3's
normalizer and formatter layers, about 1 ms a log; a node follows every event of every
task (commits, reveals, draws of tasks it is not on), and under load the decoding took a
seventh of a node's time. Here each event ABI is read once into a `EventCodec` and a log is
one `eth_abi.decode` of its data plus one of each indexed topic.

The values are those web3 gives (checked against it in tests/unit/test_chain_logs.py):
addresses checksummed, arrays as lists, `bytesN`/`bytes` as `bytes`, integers as `int`,
strings as `str`; an indexed dynamic value (string, bytes, array) is its topic, the keccak
of the value, as `bytes`.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterable

import eth_abi
from eth_utils import event_abi_to_log_topic, to_checksum_address


@dataclass(frozen=True)
class Event:
    name: str
    args: dict
    block: int
    tx_hash: str
    log_index: int


@lru_cache(maxsize=65536)
def _checksum(address: str) -> str:
    return to_checksum_address(address)


def _is_dynamic(abi_type: str) -> bool:
    return abi_type in ("string", "bytes") or abi_type.endswith("]") or abi_type.startswith("(")


def _normalize(abi_type: str, value: Any) -> Any:
    if abi_type.endswith("]"):
        inner = abi_type[:abi_type.rindex("[")]
        return [_normalize(inner, v) for v in value]
    if abi_type == "address":
        return _checksum(value)
    return value


@dataclass(frozen=True)
class EventCodec:
    """One event's ABI, ready to decode its logs."""
    name: str
    names: tuple[str, ...]                        # every input, in ABI order
    indexed: tuple[tuple[str, str], ...]          # (name, type) of the topics after the first
    data: tuple[tuple[str, str], ...]             # (name, type) of the data words

    @classmethod
    def from_abi(cls, item: dict) -> "EventCodec":
        inputs = item["inputs"]
        return cls(item["name"], tuple(i["name"] for i in inputs),
                   tuple((i["name"], i["type"]) for i in inputs if i["indexed"]),
                   tuple((i["name"], i["type"]) for i in inputs if not i["indexed"]))

    def args(self, topics: list, data: bytes) -> dict:
        out: dict[str, Any] = {}
        for (name, abi_type), topic in zip(self.indexed, topics[1:]):
            raw = bytes(topic)
            out[name] = raw if _is_dynamic(abi_type) else _normalize(abi_type, eth_abi.decode([abi_type], raw)[0])
        if self.data:
            values = eth_abi.decode([t for _, t in self.data], bytes(data))
            for (name, abi_type), value in zip(self.data, values):
                out[name] = _normalize(abi_type, value)
        return {n: out[n] for n in self.names}


class LogDecoder:
    """(contract address, topic 0) -> codec, for a set of bound web3 contracts."""

    def __init__(self, contracts: Iterable):
        self._codecs: dict[tuple[str, bytes], EventCodec] = {}
        for contract in contracts:
            for item in contract.abi:
                if item["type"] == "event" and not item.get("anonymous"):
                    self._codecs[(contract.address.lower(), event_abi_to_log_topic(item))] = EventCodec.from_abi(item)

    def decode(self, logs: Iterable) -> list[Event]:
        """The logs this decoder knows, decoded, in the order given; others are skipped."""
        out = []
        for log in logs:
            topics = log["topics"]
            if not topics:
                continue
            codec = self._codecs.get((log["address"].lower(), bytes(topics[0])))
            if codec is None:
                continue
            tx = log["transactionHash"]
            out.append(Event(codec.name, codec.args(topics, log["data"]), log["blockNumber"],
                             tx.to_0x_hex() if hasattr(tx, "to_0x_hex") else "0x" + bytes(tx).hex(), log["logIndex"]))
        return out
