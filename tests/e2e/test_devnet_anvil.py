"""e2e on anvil, several processes: `brainnet devnet up --nodes 5` runs in the background,
`brainnet request` from here gets the agreed result; then a committee member is SIGKILLed
right after its commit lands, restarted from its journal, and still reveals, unslashed.

Everything stays on 127.0.0.1 and every wait is bounded. Run alone with `pytest -m anvil`.
"""
from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from brainnet.chain import Contracts, Deployment, Status, open_backend
from brainnet.chain.backends import anvil_binary
from brainnet.errors import ConfigError
from brainnet.models import get_model
from brainnet.node.journal import Journal
from brainnet.protocol import result_hash

pytestmark = pytest.mark.anvil

REPO = Path(__file__).resolve().parents[2]
MODEL = "digits-mlp"
START_TIMEOUT_S = 240      # anvil + deploy + 5 node processes registering
REQUEST_TIMEOUT_S = 180
SETTLE_TIMEOUT_S = 120
KILL_ATTEMPTS = 4
ZERO32 = b"\0" * 32


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as exc:
        return f"(cannot read {path}: {exc})"


class Devnet:
    """The background `brainnet devnet up` process and whatever this test restarted."""

    def __init__(self, folder: Path, proc: subprocess.Popen, out: Path):
        self.dir = folder
        self.proc = proc
        self.out = out
        self.info: dict = {}
        self.restarted: dict[str, subprocess.Popen] = {}   # node name -> process started here

    # -- reading ------------------------------------------------------------------
    @property
    def nodes(self) -> list[dict]:
        return self.info["nodes"]

    def node_by_address(self, address: str) -> dict:
        return next(n for n in self.nodes if n["address"].lower() == address.lower())

    def pid_of(self, node: dict) -> int:
        proc = self.restarted.get(node["name"])
        return proc.pid if proc is not None else node["pid"]

    def contracts(self) -> Contracts:
        return Contracts(open_backend("rpc:" + self.info["rpc"]), Deployment.load(self.info["deployment"]))

    def logs(self) -> str:
        parts = [f"--- devnet up output ({self.out}):\n{_tail(self.out)}"]
        for log in sorted(self.dir.glob("node-*.log")):
            parts.append(f"--- {log.name}:\n{_tail(log)}")
        return "\n".join(parts)

    # -- processes ----------------------------------------------------------------
    def wait_ready(self, timeout_s: float) -> None:
        path = self.dir / "devnet.json"
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"`brainnet devnet up` exited with {self.proc.returncode} before it was ready\n{self.logs()}")
            if path.exists():
                try:
                    self.info = json.loads(path.read_text())
                    return
                except ValueError:
                    pass                       # caught half-written; read it again
            time.sleep(0.5)
        pytest.fail(f"devnet.json did not appear within {timeout_s:.0f} s\n{self.logs()}")

    def restart(self, node: dict) -> subprocess.Popen:
        """Start the node again with the very command devnet used (same key, --home, --port)."""
        env = {**os.environ, "BRAINNET_PASSWORD": self.info["password"]}
        with open(node["log"], "ab") as log:
            log.write(b"\n=== restarted by test_devnet_anvil ===\n")
            log.flush()
            proc = subprocess.Popen(node["cmd"], stdout=log, stderr=subprocess.STDOUT, env=env,
                                    cwd=REPO, start_new_session=True)
        self.restarted[node["name"]] = proc
        return proc

    def close(self) -> None:
        for proc in self.restarted.values():
            _stop(proc, signal.SIGTERM, 15)
        _stop(self.proc, signal.SIGTERM, 30)     # devnet stops its nodes and anvil itself
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)   # anything of its group left behind
        except (ProcessLookupError, PermissionError):
            pass


def _stop(proc: subprocess.Popen, sig: int, timeout_s: float) -> None:
    if proc.poll() is None:
        try:
            proc.send_signal(sig)
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        except ProcessLookupError:
            pass


@pytest.fixture(scope="module")
def devnet(tmp_path_factory):
    try:
        anvil_binary()
    except ConfigError as exc:
        pytest.skip(str(exc))
    root = tmp_path_factory.mktemp("devnet-anvil")
    folder = root / "devnet"
    out = root / "devnet-up.log"
    with open(out, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "brainnet.cli.main", "devnet", "up", "--nodes", "5", "--dir", str(folder)],
            stdout=log, stderr=subprocess.STDOUT, cwd=REPO, start_new_session=True,
            env={**os.environ, "COLUMNS": "200"},
        )
    net = Devnet(folder, proc, out)
    try:
        net.wait_ready(START_TIMEOUT_S)
        yield net
    finally:
        net.close()


@pytest.fixture(scope="module")
def runtime():
    return get_model(MODEL)


def _parse_json_stdout(text: str) -> dict:
    """`brainnet request --json -` prints only the JSON on stdout (status goes to stderr)."""
    return json.loads(text)


def test_request_gets_the_agreed_result(devnet, runtime):
    info = devnet.info
    cmd = [sys.executable, "-m", "brainnet.cli.main", "request", "--deployment", info["deployment"],
           "--key", info["requester_key"], "--password", info["password"], "--sample", "0", "--json", "-"]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=REQUEST_TIMEOUT_S, cwd=REPO)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"brainnet request did not finish within {REQUEST_TIMEOUT_S} s: {exc.stdout}\n{devnet.logs()}")
    assert done.returncode == 0, f"brainnet request failed:\n{done.stdout}\n{done.stderr}\n{devnet.logs()}"
    result = _parse_json_stdout(done.stdout)

    label = runtime.run(runtime.sample_inputs(1, seed=0)[0])      # the trusted local answer
    canonical = runtime.canonical(label)
    assert result["value"] == label
    assert result["result_hash"] == hashlib.sha256(canonical).hexdigest() == result_hash(canonical).hex()
    addresses = {n["address"] for n in devnet.nodes}
    assert len(result["committee"]) == info["committee"] == 5
    assert len(set(result["committee"])) == len(result["committee"])
    assert set(result["committee"]) <= addresses
    assert len(result["agreeing"]) >= info["quorum"]
    assert set(result["agreeing"]) <= set(result["committee"])
    assert all(result["reveals"][m] == result["result_hash"] for m in result["agreeing"])

    c = devnet.contracts()
    task = c.task(result["task_id"])
    assert task.status == Status.SETTLED
    assert task.result.hex() == result["result_hash"]


def _first_committer(c: Contracts, task_id: int, timeout_s: float) -> str | None:
    """Poll fast until some committee member's commitment is on the chain; return it."""
    deadline = time.monotonic() + timeout_s
    committee: list[str] = []
    while time.monotonic() < deadline:
        if not committee:
            committee = c.committee(task_id)
        for member in committee:
            if c.has_committed(task_id, member):
                return member
        time.sleep(0.05)
    return None


def _wait_blocks(c: Contracts, blocks: int, timeout_s: float = 15.0) -> None:
    target = c.block_number() + blocks
    deadline = time.monotonic() + timeout_s
    while c.block_number() < target and time.monotonic() < deadline:
        time.sleep(0.2)


def test_node_killed_after_commit_reveals_after_restart(devnet, runtime):
    from brainnet.sdk import Client

    info = devnet.info
    c = devnet.contracts()
    client = Client.from_deployment(info["deployment"], key=info["requester_key"], password=info["password"])
    inputs = runtime.sample_inputs(KILL_ATTEMPTS + 1, seed=0)[1:]
    tried = []
    for attempt in range(KILL_ATTEMPTS):
        data = inputs[attempt]
        sub = client.submit(MODEL, data)
        victim = _first_committer(c, sub.task_id, timeout_s=60)
        assert victim is not None, f"task {sub.task_id}: no member committed within 60 s\n{devnet.logs()}"
        node = devnet.node_by_address(victim)
        os.kill(devnet.pid_of(node), signal.SIGKILL)
        if node["name"] in devnet.restarted:
            devnet.restarted[node["name"]].wait(timeout=10)
        assert c.has_committed(sub.task_id, victim)
        revealed_at_kill = c.revealed_result(sub.task_id, victim)
        _wait_blocks(c, 2)                            # a reveal sent just before the kill lands by now
        revealed_before_restart = c.revealed_result(sub.task_id, victim)
        proc = devnet.restart(node)
        tried.append((sub.task_id, node["name"], revealed_at_kill, revealed_before_restart))
        if revealed_at_kill is None and revealed_before_restart is None:
            break                                     # killed between commit and reveal: the case we want
    else:
        pytest.fail(f"never caught a member between commit and reveal in {KILL_ATTEMPTS} tries: {tried}")

    print(f"killed {node['name']} after its commit on task {sub.task_id} (tries: {tried})")
    # the restarted node finds its salt in the journal and reveals; the task settles
    result = client.wait(sub, timeout_s=SETTLE_TIMEOUT_S)
    assert proc.poll() is None, f"restarted {node['name']} exited with {proc.returncode}\n{devnet.logs()}"

    label = runtime.run(data)
    canonical = runtime.canonical(label)
    task = c.task(sub.task_id)
    assert task.status == Status.SETTLED
    assert task.result == result_hash(canonical)
    assert result.value == label
    assert result.result_hash == result_hash(canonical).hex()

    assert c.revealed_result(sub.task_id, victim) == task.result, f"{node['name']} did not reveal\n{devnet.logs()}"
    assert victim in result.agreeing
    assert c.node(victim).slashes == 0
    assert c.node(victim).active and not c.node(victim).jailed
    assert all(c.node(m).slashes == 0 for m in result.committee)     # every member honest: nobody slashed

    journal = Journal(Path(node["home"]) / "journal.sqlite")
    try:
        entry = journal.get(sub.task_id)
    finally:
        journal.close()
    assert entry is not None and entry.committed and entry.revealed, entry
    assert entry.result == task.result
    assert (entry.reveal_tx or "").startswith("0x"), entry     # sent by the restarted process, not "recovered"
    assert entry.canonical == canonical
