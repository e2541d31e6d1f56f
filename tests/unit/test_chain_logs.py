"""`brainnet.chain.logs` decodes every event the contracts emit exactly as web3's
`process_log` does (same names, same values, same Python types), on the logs of a real
demo run on the embedded chain: draws, commits, reveals, slashes, settlements, emission."""
from __future__ import annotations

import pytest
from web3.utils import event_abi_to_log_topic

from brainnet.sim.local import LocalNetwork, NetworkConfig, run_demo


@pytest.fixture(scope="module")
def logs_and_contracts():
    config = NetworkConfig(nodes=5, committee=3, quorum=2, faulty=1)
    with LocalNetwork(config) as net:
        # committees come from block hashes, which follow the clock: with 3 tasks the faulty
        # node sat on none of them (no MemberSlashed) in about one run in 16; with 8, one in 1,500
        run_demo(config, tasks=8, network=net)
        c = net.contracts
        logs = c.w3.eth.get_logs({"fromBlock": 0, "toBlock": "latest", "address": [x.address for x in c._all()]})
        web3_events = {}
        for contract in c._all():
            for item in contract.abi:
                if item["type"] == "event":
                    web3_events[(contract.address.lower(), event_abi_to_log_topic(item))] = contract.events[item["name"]]()
        expected = []
        for log in logs:
            ev = web3_events[(log["address"].lower(), bytes(log["topics"][0]))].process_log(log)
            expected.append((ev["event"], dict(ev["args"]), log["blockNumber"], log["logIndex"]))
        yield c, c.decode(logs), expected


def test_same_events_as_web3(logs_and_contracts):
    _c, ours, expected = logs_and_contracts
    assert len(ours) == len(expected) > 50
    names = set()
    for ev, (name, args, block, index) in zip(ours, expected):
        assert (ev.name, ev.block, ev.log_index) == (name, block, index)
        assert ev.args == args
        assert [type(v) for v in ev.args.values()] == [type(v) for v in args.values()], name
        names.add(name)
    # the run covered the protocol's events, not just transfers
    assert {"TaskRequested", "CommitteeDrawn", "CommitBatch", "RevealBatch", "TaskSettled", "MemberSlashed"} <= names


def test_unknown_logs_are_skipped(logs_and_contracts):
    c, ours, _ = logs_and_contracts
    assert all(ev.tx_hash.startswith("0x") and len(ev.tx_hash) == 66 for ev in ours)
    known = c.w3.eth.get_logs({"fromBlock": 0, "toBlock": "latest", "address": c.inference.address})[0]
    stranger = {**known, "address": "0x" + "11" * 20}                 # same topic, another contract
    anonymous = {**known, "topics": []}
    unknown_topic = {**known, "topics": [b"\x00" * 32] + list(known["topics"][1:])}
    assert c.decode([stranger, anonymous, unknown_topic]) == []
    assert [e.log_index for e in c.decode([stranger, known])] == [known["logIndex"]]
