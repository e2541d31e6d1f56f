"""Governance end to end on the real stack: a token vote changes the committee size and the
next task is judged by a committee of the new size; settled work earns emission rewards.
Then the same change through the CLI (`brainnet propose/vote/execute/params`) on anvil."""
from __future__ import annotations

import json
import subprocess
import sys

from brainnet.chain import Status
from brainnet.chain.params import lookup
from brainnet.sim.local import LocalNetwork, NetworkConfig

GOV = {"voting_period": 5, "timelock_blocks": 2, "grace_blocks": 100, "epoch_blocks": 400}


def _solve(net, sub):
    result = net.client.wait(sub, timeout_s=240)
    assert net.contracts.task(sub.task_id).status == Status.SETTLED
    return result


def test_a_proposal_changes_the_committee_size_for_the_next_task():
    config = NetworkConfig(nodes=7, committee=3, quorum=2, faulty=0, max_in_flight=2, params=GOV)
    with LocalNetwork(config) as net:
        c = net.contracts
        inputs = net.runtime.sample_inputs(2, seed=3)
        first = net.client.submit(config.model, inputs[0], config.fee)
        _solve(net, first)
        assert len(c.committee(first.task_id)) == 3

        boss = c.as_(net.backend.funder)              # the genesis holder: enough votes for quorum
        spec = lookup("inference.committee_size")
        net.backend.mine(1)
        proposal_id, _ = boss.propose(c.inference.address, spec.param_id, 5)
        boss.vote(proposal_id, True)
        p = c.governance.functions.proposals(proposal_id).call()
        net.backend.mine(p[6] - c.block_number())      # to the first block after the timelock
        assert c.governance.functions.state(proposal_id).call() == 4
        boss.execute(proposal_id)
        assert c.inference.functions.committee_size().call() == 5
        assert c.inference.functions.quorum().call() == 3

        second = net.client.submit(config.model, inputs[1], config.fee)
        result = _solve(net, second)
        assert len(c.committee(second.task_id)) == 5
        assert len(result.agreeing) == 5

        # the winning sides of both tasks were reported to Emission; after the epoch they claim
        e = c.emission
        epoch = e.functions.current_epoch().call()
        members = set(c.members(first.task_id)) | set(c.members(second.task_id))
        units = {m: e.functions.work(epoch, 1, m).call() for m in members}
        assert sum(units.values()) == 3 + 5
        end = e.functions.genesis_block().call() + (epoch + 1) * e.functions.epoch_blocks().call()
        net.backend.mine(end - c.block_number())
        node = max(net.nodes, key=lambda n: units.get(n.account.address, 0))      # sat on both if anyone did
        before = c.balance(node.account.address)
        node.daemon.actor.claim_rewards([epoch])
        earned = c.balance(node.account.address) - before
        pool = e.functions.pools(epoch, 1).call()
        assert earned == pool * units[node.account.address] // 8 > 0


def brainnet(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "brainnet.cli.main", *args], capture_output=True, text=True,
                          timeout=180)


def test_cli_propose_vote_execute_params(tmp_path):
    from brainnet.chain import AnvilBackend, DeployParams, deploy
    from brainnet.models import get_model

    with AnvilBackend() as backend:
        dep = deploy(backend, DeployParams(**GOV), {"digits-mlp": get_model("digits-mlp").weights_hash})
        path = dep.save(tmp_path / "deployment.json")
        d = ["--deployment", str(path)]
        before = brainnet("params", *d, "--json", "-")
        assert before.returncode == 0, before.stderr
        values = json.loads(before.stdout)["params"]
        assert values["inference.committee_size"] == 5 and values["emission.decay_bps"] == 100
        assert values["registry.slash_burn_bps"] == 5000
        assert values["training.committee_size"] == 5 and values["training.confirm_quorum"] == 3
        assert values["training.emission"] == dep.addresses["Emission"]
        # Training: governed by Governance (one of its targets) and Emission's training work source
        from brainnet.chain.compile import compile_all

        abis = compile_all()
        at = {n: backend.w3.eth.contract(address=dep.addresses[n], abi=abis[n].abi)
              for n in ("Training", "Emission", "Governance")}
        assert at["Training"].functions.governance().call() == dep.addresses["Governance"]
        assert at["Governance"].functions.targets(dep.addresses["Training"]).call()
        assert at["Emission"].functions.sources(dep.addresses["Training"]).call() == 2
        out = brainnet("propose", "inference.committee_size", "3", *d, "--json", "-")
        assert out.returncode == 0, out.stderr
        info = json.loads(out.stdout)
        assert info["state"] == "active" and info["param"] == "inference.committee_size"
        pid = str(info["proposal_id"])
        voted = brainnet("vote", pid, *d, "--json", "-")
        assert voted.returncode == 0, voted.stderr
        assert json.loads(voted.stdout)["votes_for"] > 0
        early = brainnet("execute", pid, *d)
        assert early.returncode == 1 and "executable from block" in early.stderr and "Traceback" not in early.stderr
        backend.mine(info["eta"] - backend.w3.eth.block_number)
        done = brainnet("execute", pid, *d, "--json", "-")
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["state"] == "executed"
        after = json.loads(brainnet("params", *d, "--json", "-").stdout)["params"]
        assert after["inference.committee_size"] == 3 and after["inference.quorum"] == 2
        shown = brainnet("params", *d)
        assert shown.returncode == 0 and "inference.committee_size" in shown.stdout
        bad = brainnet("propose", "inference.nope", "3", *d)
        assert bad.returncode == 1 and "unknown parameter" in bad.stderr
        twice = brainnet("vote", pid, *d)
        assert twice.returncode == 1 and "Traceback" not in twice.stderr
