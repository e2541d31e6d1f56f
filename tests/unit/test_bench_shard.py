"""`brainnet bench shard` on a tiny configuration (real node processes): the JSON has the
keys the issue names, with sane values. No timing thresholds."""
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_shard_tiny_writes_the_report(tmp_path):
    out = tmp_path / "shard.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    cmd = [sys.executable, "-m", "brainnet.cli.main", "bench", "shard", "--requests", "3", "--new-tokens", "3",
           "--svd-sentences", "2", "--svd-rank", "16", "--failover-requests", "4",
           *[a for m in ("30", "20", "25", "40") for a in ("--decoder-memory-mb", m)], "--json", str(out)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(out.read_text())
    m = report["minilm"]
    assert {"local_ms", "sharded_ms", "latency_ratio", "bytes", "cosine"} <= set(m)
    assert set(m["bytes"]) == set(m["cosine"]) == {"fp32", "fp16", "int8"}
    assert m["local_ms"] > 0 and m["sharded_ms"] > 0 and m["hops"] == 3
    assert m["bytes"]["fp32"] > m["bytes"]["fp16"] > m["bytes"]["int8"] > 0
    assert m["cosine"]["fp32"] > 0.99999 and m["cosine"]["int8"] > 0.999
    assert len(report["svd"]) == 6 and {"layer", "rank", "memory_mb", "cosine"} <= set(report["svd"][0])
    assert all(row["memory_mb"] < row["dense_memory_mb"] for row in report["svd"])
    d = report["decoder"]
    assert d["nodes"] == 4 and d["tokens_per_s_kv"] > 0 and d["tokens_per_s_no_kv"] > 0 and d["kv_equals_no_kv"]
    ranges = [tuple(map(int, s["blocks"].split(":"))) for s in d["shards"]]
    assert ranges[0][0] == 0 and ranges[-1][1] == 26 and all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))
    f = report["failover"]
    assert f["requests"] == 4 and f["completed"] == 4 and f["failovers"] == 1
    assert f["killed"] in f["route_before"] and f["killed"] not in f["route_after"]
    assert report["routing"]["rows"]
