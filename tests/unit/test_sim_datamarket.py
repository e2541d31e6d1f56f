"""`brainnet sim datamarket` on a tiny configuration: the JSON report is well formed, the
plot is written, the chain agrees with the Python mirror, and the embedded chain and
titanoboa play the same run to the same numbers. Also: the pure mirror's rules."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from brainnet.protocol.datamarket import MarketMirror, MarketRuleError, NearestCentroid, Perceptron, deposit
from brainnet.sim.datamarket import SimConfig, simulate

KEYS = {"days", "baseline_accuracy", "final_accuracy", "accuracy_per_day", "bad_agent", "good_agent", "paper",
        "explanation"}


def brainnet(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "brainnet.cli.main", *args], capture_output=True, text=True,
                          timeout=600)


def test_cli_writes_json_and_plot(tmp_path):
    path = tmp_path / "dm.json"
    out = brainnet("sim", "datamarket", "--days", "1.5", "--json", str(path), "--plot")
    assert out.returncode == 0, out.stderr
    data = json.loads(path.read_text())
    assert KEYS <= set(data)
    assert data["days"] == 1.5 and len(data["accuracy_per_day"]) == 3          # day 0, 1, 2 (partial)
    assert set(data["bad_agent"]) == {"start", "end", "drained_day"} and set(data["good_agent"]) == {"start", "end"}
    assert data["bad_agent"]["start"] == data["good_agent"]["start"] == 10_000
    assert 0 < data["baseline_accuracy"] <= 1 and 0 < data["final_accuracy"] <= 1
    assert data["mirror_mismatches"] == 0
    assert data["transactions"]["add_good"] > data["transactions"]["add_bad"] > 0
    assert data["transactions"]["refund"] > 0                                  # the refund wait (1 day) passed
    t = data["tokens_moved"]
    assert t["refunded"] + t["reported"] + t["taken"] + t["held_at_end"] == t["deposited"]
    assert data["paper"]["baseline_accuracy"] == pytest.approx(0.7945)
    assert (tmp_path / "dm.png").read_bytes()[:4] == b"\x89PNG"
    assert "sim datamarket" in data["command"]


def test_embedded_and_boa_agree():
    a = simulate(SimConfig(days=1.2, model="perceptron", chain="embedded")).summary
    b = simulate(SimConfig(days=1.2, model="perceptron", chain="boa")).summary
    for key in ("accuracy_per_day", "balances_per_day", "transactions", "tokens_moved", "bad_agent", "good_agent"):
        assert a[key] == b[key], key
    assert a["mirror_mismatches"] == b["mirror_mismatches"] == 0


def test_bad_flags_are_explained():
    out = brainnet("sim", "datamarket", "--model", "forest", "--days", "1")
    assert out.returncode == 1 and "use perceptron or centroid" in out.stderr and "Traceback" not in out.stderr
    out = brainnet("sim", "datamarket", "--chain", "anvil", "--days", "1")
    assert out.returncode == 1 and "use embedded" in out.stderr


def test_deposit_rule():
    assert deposit(1, 1) == 60 and deposit(1, 4) == 30 and deposit(1, 600) == 2 and deposit(1, 3_600) == 1
    assert deposit(1, 10**9) == 1 and deposit(0, 5) == 1 and deposit(10, 99) == 600 // 9
    with pytest.raises(MarketRuleError):
        deposit(1, 0)


def test_mirror_market_rules():
    m = MarketMirror(Perceptron(4, 1, [1, 1, -3, -3]), 1, 10, 100, deployed_at=0)
    cid = m.add_data("a", [0, 1], 1, now=1)
    assert m.contributions[cid].initial_deposit == 60
    with pytest.raises(MarketRuleError, match="wait at least one second"):
        m.add_data("b", [2], 0, now=1)
    bad = m.add_data("b", [2, 3], 1, now=5)                 # wrong label: model says 0
    with pytest.raises(MarketRuleError, match="refund wait not over"):
        m.refund("a", cid, now=9)
    assert m.refund("a", cid, now=11) == 60 and m.good_count == {"a": 1}
    assert m.report("a", bad, now=20) == 30                 # a holds every good contribution
    with pytest.raises(MarketRuleError, match="nothing left"):
        m.take("c", bad, now=200)
    assert m.paid_out == 90 and m.deposits_held == 0


def test_nearest_centroid_mirror_matches_float_distances():
    import random

    rng = random.Random(3)
    nc = NearestCentroid(12)
    for _ in range(60):
        nc.update(sorted(rng.sample(range(12), rng.randint(0, 6))), rng.randint(0, 1))
    for _ in range(200):
        x = sorted(rng.sample(range(12), rng.randint(0, 12)))
        d = []
        for c in (0, 1):
            mean = [s / nc.counts[c] for s in nc.sums[c]]
            d.append(sum(((1.0 if j in x else 0.0) - mean[j]) ** 2 for j in range(12)))
        if abs(d[0] - d[1]) > 1e-9:
            assert nc.predict(x) == (1 if d[1] < d[0] else 0)
