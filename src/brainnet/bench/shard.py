"""`brainnet bench shard`: sharded inference measured with real node processes on 127.0.0.1.

One run, side by side:
* MiniLM-L6 local (this process, 1 thread) vs sharded over 3 node processes (blocks 0:3,
  3:6, 6:8, 1 thread each): latency per request, requests interleaved (local, sharded,
  local, ...) so that both see the same machine load; medians and their ratio.
  The same with 8 sentences per request (20 requests), where the per-hop cost is shared.
* bytes on the wire per request (every hop's request and reply bodies) and the cosine of
  the final embedding to the local one, for fp32 / fp16 / int8 activations (cosine: the
  minimum over the requests; the mean is beside it).
* SVD: each MiniLM layer alone replaced by its mixed low-rank form at several ranks:
  memory of the layer vs cosine of the final embedding to the dense model.
* decoder: greedy generation of 32 tokens after a 64-token prompt, sharded over 5 node processes with different
  `--memory-mb` (each serves the longest range its memory holds; one too small for a dense
  block serves a low-rank one), with the KV cache and without (the prefix recomputed at
  every step); tokens per second, and the same in this process for reference.
* failover: a stream of MiniLM requests over 3 nodes plus a spare; the middle node of the
  route is killed (SIGKILL) while a request is in flight (after its first hop, before its
  second); requests completed.
* routing: the planner vs greedy first-fit on seeded 20-node synthetic swarms
  (`brainnet.shard.route.swarm_comparison`).
"""
from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import httpx
import torch
import torch.nn.functional as F

from brainnet.errors import BrainnetError
from brainnet.fsutil import atomic_write_bytes

MINILM_RANGES = ((0, 3), (3, 6), (6, 8))
DECODER_MEMORY_MB = (30.0, 20.0, 2.5, 25.0, 40.0)   # node i starts where node i-1 stopped
SVD_RANKS = (8, 32, 64, 128, 256)
START_TIMEOUT_S = 180.0
INT8_BLOCKS = (32, 64, 128, 256)
SWEEP_REQUESTS = 10
DECODER_PROMPT_TOKENS = 64            # the prefix a generation without KV cache recomputes at every step
BATCH, BATCH_REQUESTS = 8, 20         # the batched latency variant


@dataclass
class NodeProcess:
    """One `brainnet shard serve` process and what it announced on stdout."""

    proc: subprocess.Popen
    info: dict[str, Any]
    log: Path

    @property
    def endpoint(self) -> str:
        return self.info["endpoint"]

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


def start_nodes(specs: Sequence[Sequence[str]], logdir: Path) -> list[NodeProcess]:
    """Start one `brainnet shard serve` process per spec (extra CLI args) and wait until all are ready."""
    procs = []
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    for i, args in enumerate(specs):
        log = logdir / f"node{i}-{time.monotonic_ns()}.log"
        cmd = [sys.executable, "-m", "brainnet.cli.main", "shard", "serve", "--port", "0", *args]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log.open("wb"), env=env, text=True)
        procs.append((proc, log))
    nodes = []
    try:
        for proc, log in procs:
            line = _readline(proc, START_TIMEOUT_S)
            if not line:
                raise BrainnetError(f"shard node {proc.args} did not start; its log says: "
                                    f"{log.read_text()[-800:]!r}")
            nodes.append(NodeProcess(proc, json.loads(line), log))
    except BaseException:
        for proc, _ in procs:
            if proc.poll() is None:
                proc.kill()
        raise
    return nodes


def _readline(proc: subprocess.Popen, timeout: float) -> str:
    box: list[str] = []
    reader = threading.Thread(target=lambda: box.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return box[0].strip() if box else ""


def _cos(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return F.cosine_similarity(a.float(), b.float(), dim=-1)


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return (time.perf_counter() - t0) * 1000.0, out


def bench_minilm(endpoints: Sequence[str], sentences: Sequence[str], *, warmup: int = 3,
                 progress: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Local vs sharded latency (int8), and bytes/cosine per codec, over `sentences`."""
    from brainnet.shard.blocks import MiniLMTokenizer
    from brainnet.shard.client import LocalSequential, RemoteSequential, discover

    tok = MiniLMTokenizer()
    local = LocalSequential("minilm-l6")
    nodes = discover(endpoints)
    inputs = [tok([s]) for s in sentences]
    with torch.no_grad():
        ref = [local(x["ids"], x["mask"])[0] for x in inputs]
    remotes = {c: RemoteSequential("minilm-l6", nodes, codec_name=c) for c in ("fp32", "fp16", "int8")}
    try:
        for x in inputs[:warmup]:
            local(x["ids"], x["mask"])
            remotes["int8"](x["ids"], x["mask"])
        local_ms, sharded_ms, node_ms = [], [], []
        progress("minilm latency")
        for x in inputs:                                # interleaved: both see the same load
            dt, _ = _timed(lambda: local(x["ids"], x["mask"]))
            local_ms.append(dt)
            dt, _ = _timed(lambda: remotes["int8"](x["ids"], x["mask"]))
            sharded_ms.append(dt)
            node_ms.append(remotes["int8"].stats.node_ms)
        progress(f"minilm latency, {BATCH} sentences per request")
        batch_local, batch_sharded = [], []
        for i in range(BATCH_REQUESTS):
            x = tok(list(sentences[i * BATCH % len(sentences):][:BATCH]))
            dt, _ = _timed(lambda: local(x["ids"], x["mask"]))
            batch_local.append(dt)
            dt, _ = _timed(lambda: remotes["int8"](x["ids"], x["mask"]))
            batch_sharded.append(dt)
        bytes_, cos_min, cos_mean, hops = {}, {}, {}, 0
        for name, remote in remotes.items():
            progress(f"minilm {name}")
            sizes, sims = [], []
            for x, r in zip(inputs, ref):
                out = remote(x["ids"], x["mask"])[0]
                sizes.append(remote.stats.bytes)
                hops = remote.stats.hops
                sims.append(float(_cos(out, r)))
            bytes_[name] = round(statistics.mean(sizes), 1)
            if name == "fp32":
                fp32_sweep = statistics.mean(sizes[:SWEEP_REQUESTS])
            cos_min[name], cos_mean[name] = min(sims), statistics.mean(sims)
        progress("minilm int8 block sizes")
        blocks_sweep = []
        for block in INT8_BLOCKS:
            remote = RemoteSequential("minilm-l6", nodes, codec_name="int8", block=block)
            sizes, sims = [], []
            for x, r in zip(inputs[:SWEEP_REQUESTS], ref):
                out = remote(x["ids"], x["mask"])[0]
                sizes.append(remote.stats.bytes)
                sims.append(float(_cos(out, r)))
            remote.close()
            blocks_sweep.append({"block": block, "bytes": round(statistics.mean(sizes), 1), "cosine": min(sims)})
    finally:
        for remote in remotes.values():
            remote.close()
    local_med, sharded_med = statistics.median(local_ms), statistics.median(sharded_ms)
    return {
        "local_ms": round(local_med, 3), "sharded_ms": round(sharded_med, 3),
        "latency_ratio": round(sharded_med / local_med, 3),
        # where the sharded time goes: inside the nodes (decode, blocks, encode) vs the rest
        # (HTTP on loopback, client-side codec, waiting to be scheduled on a busy machine)
        "sharded_node_ms": round(statistics.median(node_ms), 3),
        "bytes": bytes_, "cosine": cos_min,
        "cosine_mean": cos_mean,
        "requests": len(inputs), "hops": hops, "latency_codec": "int8",
        "node_ping_ms": [round(n.ping_ms, 3) for n in nodes],
        # the same comparison with BATCH sentences per request: the per-hop cost is shared by more work
        "batched": {"sentences_per_request": BATCH, "requests": BATCH_REQUESTS,
                    "local_ms": round(statistics.median(batch_local), 3),
                    "sharded_ms": round(statistics.median(batch_sharded), 3),
                    "latency_ratio": round(statistics.median(batch_sharded) / statistics.median(batch_local), 3)},
        "int8_bytes_ratio": round(bytes_["fp32"] / bytes_["int8"], 3),
        # the same requests with other int8 block sizes (first SWEEP_REQUESTS requests; fp32 bytes
        # scaled to them): a 4-byte scale per block caps the ratio at 4 * block / (block + 4)
        "int8_blocks": [{**row, "bytes_ratio": round(fp32_sweep / row["bytes"], 3)} for row in blocks_sweep],
        "tokens_mean": round(statistics.mean(int(x["mask"].sum()) for x in inputs), 1),
    }


def bench_svd(sentences: Sequence[str], ranks: Sequence[int] = SVD_RANKS,
              progress: Callable[[str], None] = lambda _: None) -> list[dict[str, Any]]:
    """Per MiniLM layer and rank: that layer's memory when low-rank, and the embedding's cosine to dense."""
    from brainnet.shard.blocks import MiniLMTokenizer
    from brainnet.shard.client import LocalSequential
    from brainnet.shard.svd import lowrank_block, stored_bytes

    tok = MiniLMTokenizer()
    local = LocalSequential("minilm-l6")
    act = tok(list(sentences))
    with torch.no_grad():
        ref = local(act["ids"], act["mask"])
    rows = []
    blocks = list(local.blocks)
    for layer in range(1, len(blocks) - 1):
        dense_mb = stored_bytes(blocks[layer]) / 2**20
        progress(f"svd layer {layer}")
        for rank in ranks:
            low = lowrank_block(blocks[layer], rank)
            swapped = LocalSequential("minilm-l6", blocks[:layer] + [low] + blocks[layer + 1:])
            with torch.no_grad():
                out = swapped(act["ids"], act["mask"])
            sims = _cos(out, ref)
            rows.append({"layer": layer - 1, "block": layer, "rank": rank,
                         "memory_mb": round(stored_bytes(low) / 2**20, 4), "dense_memory_mb": round(dense_mb, 4),
                         "cosine": round(float(sims.mean()), 6), "cosine_min": round(float(sims.min()), 6)})
    return rows


def decoder_specs(memory_mb: Sequence[float]) -> list[list[str]]:
    """CLI args of decoder nodes: node i serves from where node i-1 stopped, as much as its memory holds."""
    from brainnet.shard.blocks import get_model
    from brainnet.shard.svd import plan_range

    model = get_model("decoder")
    specs, start = [], 0
    for mem in memory_mb:
        if start >= model.n_blocks:
            break
        p = plan_range(model, mem, start)
        specs.append(["--model", "decoder", "--blocks", f"{p.start}:{p.end}", "--memory-mb", str(mem)])
        start = p.end
    if start < model.n_blocks:
        raise BrainnetError(f"decoder nodes with memory {list(memory_mb)} MiB cover blocks 0:{start} of "
                            f"{model.n_blocks}; give them more memory")
    return specs


def bench_decoder(endpoints: Sequence[str], new_tokens: int, prompt_tokens: int = DECODER_PROMPT_TOKENS,
                  progress: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Greedy generation tokens/s over the decoder nodes, with and without the KV cache."""
    from brainnet.shard.client import LocalSequential, RemoteSequential, discover

    nodes = discover(endpoints)
    remote = RemoteSequential("decoder", nodes, codec_name="fp32")
    prompt = torch.arange(1, prompt_tokens + 1).unsqueeze(0)
    try:
        remote.generate(prompt, 2, kv=True)                       # warm-up (connections, sessions)
        progress("decoder with KV cache")
        kv_s, kv_ids = _timed(lambda: remote.generate(prompt, new_tokens, kv=True))
        progress("decoder without KV cache")
        nokv_s, nokv_ids = _timed(lambda: remote.generate(prompt, new_tokens, kv=False))
        route = remote.route().node_ids
    finally:
        remote.close()
    progress("decoder in this process")
    local = LocalSequential("decoder")
    local_kv_s, _ = _timed(lambda: local.generate(prompt, new_tokens, kv=True))
    local_nokv_s, _ = _timed(lambda: local.generate(prompt, new_tokens, kv=False))
    shards = [{"endpoint": n.endpoint, "blocks": f"{n.start}:{n.end}", "memory_mb": n.memory_mb,
               "throughput": n.throughput} for n in nodes]
    ranks = {n.endpoint: httpx.get(f"{n.endpoint}/shard/info", timeout=5).json().get("rank") for n in nodes}
    for s in shards:
        s["rank"] = ranks[s["endpoint"]]
    return {
        "nodes": len(nodes), "route_hops": len(route), "new_tokens": new_tokens, "prompt_tokens": prompt_tokens,
        "tokens_per_s_kv": round(new_tokens / (kv_s / 1000), 3),
        "tokens_per_s_no_kv": round(new_tokens / (nokv_s / 1000), 3),
        "kv_speedup": round(nokv_s / kv_s, 3),
        "local_tokens_per_s_kv": round(new_tokens / (local_kv_s / 1000), 3),
        "local_tokens_per_s_no_kv": round(new_tokens / (local_nokv_s / 1000), 3),
        "kv_equals_no_kv": bool(torch.equal(kv_ids, nokv_ids)),
        "shards": shards,
    }


def bench_failover(endpoints: Sequence[str], victim: Callable[[str], None], sentences: Sequence[str],
                   kill_after: int, progress: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Stream requests; kill the route's middle node after `kill_after` of them; count completions."""
    from brainnet.shard.blocks import MiniLMTokenizer
    from brainnet.shard.client import LocalSequential, RemoteSequential, discover

    tok = MiniLMTokenizer()
    local = LocalSequential("minilm-l6")
    nodes = discover(endpoints)
    remote = RemoteSequential("minilm-l6", nodes, codec_name="int8", timeout=5.0)
    killed: list[str] = []
    routes: list[tuple[str, ...]] = []
    completed, failovers, worst = 0, 0, 1.0
    armed = {"now": False}
    post = remote._post

    def post_and_maybe_kill(hop, act, meta):
        # the request in flight has finished its first hop: kill the node of its second
        if armed["now"] and hop.start > 0:
            armed["now"] = False
            killed.append(hop.endpoint)
            victim(hop.endpoint)
        return post(hop, act, meta)

    remote._post = post_and_maybe_kill
    try:
        for i, s in enumerate(sentences):
            x = tok([s])
            armed["now"] = i == kill_after
            try:
                out = remote(x["ids"], x["mask"])[0]
            except BrainnetError:
                continue
            completed += 1
            failovers += remote.stats.failovers
            routes.append(remote.stats.routes[-1])
            worst = min(worst, float(_cos(out, local(x["ids"], x["mask"])[0])))
    finally:
        remote.close()
    progress("failover done")
    return {"requests": len(sentences), "completed": completed, "failovers": failovers,
            "killed": killed[0] if killed else None, "kill_at_request": kill_after,
            "route_before": list(routes[0]) if routes else [], "route_after": list(routes[-1]) if routes else [],
            "cosine_min": round(worst, 6)}


def run_shard_bench(*, requests: int = 60, new_tokens: int = 32, svd_sentences: int = 32,
                    svd_ranks: Sequence[int] = SVD_RANKS, failover_requests: int = 40,
                    decoder_memory_mb: Sequence[float] = DECODER_MEMORY_MB, seed: int = 0,
                    out: Path | None = None, progress: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """The whole benchmark (see the module docstring); writes JSON to `out` when given."""
    from brainnet.models.minilm import sample_sentences
    from brainnet.shard.blocks import decoder_weights

    t0 = time.perf_counter()
    torch.set_num_threads(1)
    sentences = sample_sentences(max(requests, failover_requests, svd_sentences) + 3, seed)
    report: dict[str, Any] = {}
    phases: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="brainnet-shard-") as tmp, ExitStack() as stack:
        logdir = Path(tmp)
        progress("starting 3 MiniLM nodes and a spare")
        specs = [["--model", "minilm-l6", "--blocks", f"{a}:{b}", "--memory-mb", "128"] for a, b in MINILM_RANGES]
        spare = ["--model", "minilm-l6", "--blocks", "3:6", "--memory-mb", "128"]
        minilm = start_nodes(specs + [spare], logdir)
        phases["start_minilm_nodes"] = time.perf_counter()
        stack.callback(lambda: [n.stop() for n in minilm])
        report["minilm"] = bench_minilm([n.endpoint for n in minilm[:3]], sentences[:requests + 3], progress=progress)
        by_endpoint = {n.endpoint: n for n in minilm}
        report["failover"] = bench_failover([n.endpoint for n in minilm], lambda ep: by_endpoint[ep].kill(),
                                            sentences[:failover_requests], kill_after=failover_requests // 3,
                                            progress=progress)
        phases["minilm_and_failover"] = time.perf_counter()
        for n in minilm:
            n.stop()
        progress("svd table")
        report["svd"] = bench_svd(sentences[:svd_sentences], svd_ranks, progress=progress)
        phases["svd"] = time.perf_counter()
        decoder_weights()                               # generate once, before the nodes load it
        specs = decoder_specs(decoder_memory_mb)
        progress(f"starting {len(specs)} decoder nodes")
        decoder = start_nodes(specs, logdir)
        phases["start_decoder_nodes"] = time.perf_counter()
        stack.callback(lambda: [n.stop() for n in decoder])
        report["decoder"] = bench_decoder([n.endpoint for n in decoder], new_tokens, progress=progress)
        phases["decoder"] = time.perf_counter()
    from brainnet.shard.route import swarm_comparison

    report["routing"] = swarm_comparison()             # planner vs greedy first-fit, 20-node synthetic swarms
    report["machine"] = {"cpus": os.cpu_count(), "torch_threads": 1, "host": "127.0.0.1",
                         "load_avg_1m": round(os.getloadavg()[0], 2)}
    report["targets"] = {
        "latency_ratio_le_1_3": report["minilm"]["latency_ratio"] <= 1.3,
        "int8_4x_fewer_bytes": report["minilm"]["int8_bytes_ratio"] >= 4.0,
        "int8_cosine_ge_0_999": report["minilm"]["cosine"]["int8"] >= 0.999,
        "failover_all_completed": report["failover"]["completed"] == report["failover"]["requests"],
    }
    marks = [t0, *phases.values()]
    report["phases_s"] = {k: round(b - a, 1) for k, a, b in zip(phases, marks, marks[1:])}
    report["elapsed_s"] = round(time.perf_counter() - t0, 1)
    if out is not None:
        atomic_write_bytes(Path(out), (json.dumps(report, indent=2) + "\n").encode())
    return report
