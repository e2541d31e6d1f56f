"""Does `near` agreement let honest float drift through and stop cheats? Measured on MiniLM.

For each of n generated sentences (task id `seed * 1_000_000 + i + 1`, so every sentence
gets its own projections) the reference output is what `MiniLMRuntime.run` computes: fp32,
one torch thread, batch of one. Each output below is fingerprinted with that task's
256-bit SimHash and compared with the reference's fingerprint.

Honest variants (must be accepted):
    fp32_threads2                  fp32, 2 torch threads, batch 1
    fp32_batch32                   fp32, 1 thread, batches of 32 (padding changes shapes)
    bf16_autocast                  torch.autocast("cpu", bfloat16), 1 thread, batch 1
    bf16_autocast_threads2_batch32 all three changes at once
Cheats (must be rejected):
    other_input                    the cached output of another sentence (a seeded derangement)
    drop_layer_k (k = 0..5)        the model with transformer layer k removed (a cheaper model)
    noise_<s>                      reference + Gaussian noise with per-coordinate std
                                   s * rms(reference), i.e. noise norm ≈ s * |reference|
Diagnostic (reported, never counted):
    nearest_other_input            the output of the most similar other sentence in the set

Honest outputs are also compared with each other (two honest members must agree with
each other, not only with the reference), and each cheat is measured against the closest
honest output on its task.

Tolerance rule: T = floor((honest_max + structural_min) / 2), midway in the gap between
the largest distance between two honest outputs and the smallest distance of a structural
cheat (other input, dropped layer) to an honest output. Noise is a continuum: below some scale it is as close as honest
drift and no tolerance can tell them apart. `noise_scale_limit` is the smallest measured
scale from which on no noise cheat is accepted; smaller scales are reported but left out
of `false_accept_rate` (`false_accept_rate_all` counts them), see "notes".
"""
from __future__ import annotations

import contextlib
import copy
import json
import math
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
from torch import nn

from brainnet.fsutil import atomic_write_bytes
from brainnet.models.minilm import MiniLMRuntime, sample_sentences
from brainnet.protocol.simhash import BITS, fingerprints, projection_seed

DEFAULT_OUT = Path("bench/results/near_agreement.json")
NOISE_SCALES = (0.001, 0.01, 0.03, 0.1, 0.3, 0.5, 1.0)
TASKS_PER_SEED = 1_000_000


@dataclass(frozen=True)
class Variant:
    name: str
    threads: int          # torch.set_num_threads
    batch_size: int       # sentences per forward pass
    bf16: bool            # run under torch.autocast("cpu", dtype=torch.bfloat16)


REFERENCE = Variant("reference", threads=1, batch_size=1, bf16=False)
VARIANTS = (
    Variant("fp32_threads2", threads=2, batch_size=1, bf16=False),
    Variant("fp32_batch32", threads=1, batch_size=32, bf16=False),
    Variant("bf16_autocast", threads=1, batch_size=1, bf16=True),
    Variant("bf16_autocast_threads2_batch32", threads=2, batch_size=32, bf16=True),
)
CHEAT_BATCH = 32          # cheats need no particular settings: run them fast


def task_ids(n: int, seed: int) -> list[int]:
    return [seed * TASKS_PER_SEED + i + 1 for i in range(n)]


def without_layer(runtime: MiniLMRuntime, k: int) -> MiniLMRuntime:
    """A copy of the model with transformer layer k removed (the original is untouched)."""
    module = copy.deepcopy(runtime.module)
    encoder = module[0].auto_model.encoder
    encoder.layer = nn.ModuleList(layer for i, layer in enumerate(encoder.layer) if i != k)
    module[0].auto_model.config.num_hidden_layers = len(encoder.layer)
    return MiniLMRuntime(module, runtime.weights_sha256)


@contextlib.contextmanager
def _dtype(bf16: bool) -> Iterator[None]:
    if bf16:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            yield
    else:
        yield


def _embed(runtime: MiniLMRuntime, texts: list[str], variant: Variant, advance) -> np.ndarray:
    """(n, 384) embeddings under a variant's settings, advancing the progress bar per chunk."""
    chunk = max(variant.batch_size, 32)
    parts = []
    with _dtype(variant.bf16):
        for start in range(0, len(texts), chunk):
            part = texts[start:start + chunk]
            parts.append(runtime.embed(part, batch_size=variant.batch_size, threads=variant.threads))
            advance(len(part))
    return np.concatenate(parts) if parts else np.empty((0, runtime.dim), np.float32)


def _derangement(n: int, rng: np.random.Generator) -> np.ndarray:
    """A permutation with no fixed point (i -> another sentence); identity-free by rejection."""
    if n < 2:
        raise ValueError("other_input needs at least 2 sentences")
    while True:
        perm = rng.permutation(n)
        if not (perm == np.arange(n)).any():
            return perm


def _progress(enabled: bool):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description:<34}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), disable=not enabled)


def measure_near_agreement(n_sentences: int = 500, seed: int = 0, out: Path | None = DEFAULT_OUT, *,
                           runtime: MiniLMRuntime | None = None, show_progress: bool = True) -> dict:
    """Measure honest drift and cheat distances in SimHash bits; write and return the report."""
    if n_sentences < 2:
        raise ValueError(f"need at least 2 sentences, got {n_sentences}")
    started = time.perf_counter()
    if runtime is None:
        from brainnet.models import get_model

        runtime = get_model("minilm-l6")
    texts = sample_sentences(n_sentences, seed)
    tasks = task_ids(n_sentences, seed)
    rng = np.random.default_rng(seed)
    layers = len(runtime.module[0].auto_model.encoder.layer)

    outputs: dict[str, np.ndarray] = {}       # name -> (n, 384) float32
    with _progress(show_progress) as progress:
        def run(name: str, rt: MiniLMRuntime, variant: Variant) -> np.ndarray:
            bar = progress.add_task(name, total=n_sentences)
            return _embed(rt, texts, variant, lambda k: progress.advance(bar, k))

        reference = run("reference (fp32, 1 thread, batch 1)", runtime, REFERENCE)
        for v in VARIANTS:
            outputs[v.name] = run(v.name, runtime, v)
        cheat_settings = Variant("cheat", threads=1, batch_size=CHEAT_BATCH, bf16=False)
        for k in range(layers):
            outputs[f"drop_layer_{k}"] = run(f"drop_layer_{k}", without_layer(runtime, k), cheat_settings)
        outputs["other_input"] = reference[_derangement(n_sentences, rng)]
        sims = reference.astype(np.float64) @ reference.astype(np.float64).T
        np.fill_diagonal(sims, -np.inf)
        outputs["nearest_other_input"] = reference[sims.argmax(axis=1)]
        rms = np.sqrt((reference.astype(np.float64) ** 2).mean(axis=1, keepdims=True))   # (n, 1)
        for s in NOISE_SCALES:
            noise = rng.standard_normal(reference.shape) * (s * rms)
            outputs[f"noise_{s:g}"] = (reference + noise).astype(np.float32)

        honest = ["reference"] + [v.name for v in VARIANTS]
        outputs = {"reference": reference, **outputs}
        names = list(outputs)
        fp = {name: [0] * n_sentences for name in names}      # name -> fingerprint per task, as uint256
        bar = progress.add_task("fingerprints", total=n_sentences)
        for i, task_id in enumerate(tasks):
            seed_i = projection_seed(task_id, runtime.model_id)
            stack = np.stack([outputs[name][i] for name in names])         # (names, 384)
            for name, f in zip(names, fingerprints(stack, seed_i, BITS)):
                fp[name][i] = int.from_bytes(f, "big")
            progress.advance(bar)

    def distances(a: str, b: str) -> np.ndarray:
        return np.array([(x ^ y).bit_count() for x, y in zip(fp[a], fp[b])], dtype=np.int64)

    # honest variants: distance to the reference; honest pairs: every two honest outputs;
    # cheats: distance to the closest honest output (the one most likely to accept it)
    dist = {name: distances(name, "reference") for name in honest[1:]}
    pair_max = max(int(distances(a, b).max()) for j, a in enumerate(honest) for b in honest[j + 1:])
    for name in names:
        if name not in honest:
            dist[name] = np.min([distances(name, h) for h in honest], axis=0)

    report = _report(dist, pair_max, n_sentences, seed, layers)
    report["elapsed_s"] = round(time.perf_counter() - started, 1)
    if out is not None:
        out = Path(out)
        atomic_write_bytes(out, (json.dumps(report, indent=2) + "\n").encode())
    return report


def _report(dist: dict[str, np.ndarray], pair_max: int, n: int, seed: int, layers: int) -> dict:
    variants = [v.name for v in VARIANTS]
    structural = ["other_input"] + [f"drop_layer_{k}" for k in range(layers)]
    noise = [f"noise_{s:g}" for s in NOISE_SCALES]
    cheats = structural + noise

    honest_max = max(pair_max, *(int(dist[v].max()) for v in variants))
    structural_min = min(int(dist[c].min()) for c in structural)
    tolerance = (honest_max + structural_min) // 2

    accepted = {c: int((dist[c] <= tolerance).sum()) for c in cheats + ["nearest_other_input"]}
    limit = None                              # smallest scale from which on nothing is accepted
    for s, name in zip(reversed(NOISE_SCALES), reversed(noise)):
        if accepted[name]:
            break
        limit = s
    hidden = [name for s, name in zip(NOISE_SCALES, noise) if limit is None or s < limit]
    counted = [c for c in cheats if c not in hidden]
    rejects = sum(int((dist[v] > tolerance).sum()) for v in variants)
    honest_mean = max(float(dist[v].mean()) for v in variants)
    return {
        "tolerance": int(tolerance),
        "sentences": n,
        "false_reject_rate": rejects / (len(variants) * n),
        "false_accept_rate": sum(accepted[c] for c in counted) / (len(counted) * n),
        "per_variant": {v: {"max_hamming": int(dist[v].max()), "mean_hamming": round(float(dist[v].mean()), 3)}
                        for v in variants},
        "per_cheat": {c: {"min_hamming": int(dist[c].min()), "accepted": accepted[c]} for c in cheats},
        "false_accept_rate_all": sum(accepted[c] for c in cheats) / (len(cheats) * n),
        "honest_pair_max_hamming": pair_max,
        "structural_cheat_min_hamming": structural_min,
        "noise_scale_limit": limit,
        "indistinguishable_cheats": hidden,
        "cheat_mean_hamming": {c: round(float(dist[c].mean()), 3) for c in cheats},
        "diagnostics": {
            "nearest_other_input": {
                "min_hamming": int(dist["nearest_other_input"].min()),
                "mean_hamming": round(float(dist["nearest_other_input"].mean()), 3),
                "accepted": accepted["nearest_other_input"],
                "note": "the output of the most cosine-similar other sentence of the set; not counted in "
                        "the rates: inputs that mean nearly the same have nearly the same embedding, "
                        "which no check on outputs can tell apart",
            },
        },
        "bits": BITS,
        "seed": seed,
        "model": "minilm-l6",
        "reference": "fp32, 1 torch thread, batch 1 (MiniLMRuntime.run)",
        "distance_definition": "per_variant: hamming to the reference's fingerprint on the same task; "
                               "per_cheat: hamming to the closest honest fingerprint (reference or any "
                               "honest variant) on the same task; honest_pair_max_hamming: largest "
                               "hamming between any two honest outputs",
        "threshold_rule": "tolerance = floor((honest_max + structural_min) / 2), honest_max = largest hamming "
                          "between two honest outputs, structural_min = smallest hamming of other_input "
                          "and drop_layer_* to an honest output",
        "accepted_definition": "per_cheat.accepted: number of sentences on which the cheat is within "
                               "tolerance of an honest output; false_accept_rate counts the structural "
                               "cheats and noise scales >= noise_scale_limit, false_accept_rate_all all cheats",
        "noise_definition": "noise_<s>: reference + N(0, (s * rms(reference))^2) per coordinate, so "
                            "|noise| ~ s * |reference| and the angle to the reference ~ atan(s); "
                            "expected hamming ~ 256 * atan(s) / pi",
        "notes": _notes(tolerance, limit, hidden, honest_mean,
                        {name: float(dist[name].mean()) for name in noise},
                        structural_ok=all(accepted[c] == 0 for c in structural)),
        "torch": torch.__version__,
        "machine": f"{platform.machine()}, {torch.get_num_threads()} torch threads",
    }


def _notes(tolerance: int, limit: float | None, hidden: list[str], honest_mean: float,
           noise_mean: dict[str, float], *, structural_ok: bool) -> str:
    bound = math.pi * tolerance / BITS
    text = (f"Two fingerprints within {tolerance} of {BITS} bits put the outputs at an estimated angle of at "
            f"most {bound:.3f} rad (cosine >= {math.cos(bound):.4f}). ")
    if not structural_ok:
        text += "Some structural cheats (other input, dropped layer) ARE accepted: this tolerance is unsafe. "
    if not hidden:
        return text + "No measured noise scale is accepted on any sentence."
    scales = {name: float(name.removeprefix("noise_")) for name in hidden}
    inside = [n for n in hidden if noise_mean[n] <= honest_mean]
    beyond = [n for n in hidden if n not in inside]
    text += (f"Noise below scale {limit} ({', '.join(hidden)}) is accepted on some sentences: SimHash "
             f"cannot resolve angles much below pi/{BITS} per bit, and the tolerance must stay above "
             f"honest drift. ")
    if inside:
        text += (f"At {', '.join(inside)} the output moves less than honest hardware moves it (mean hamming "
                 f"<= {honest_mean:.2f}, that of the worst honest variant): such an output is as good as an honest one. ")
    if beyond:
        worst = max(scales[n] for n in beyond)
        text += (f"At {', '.join(beyond)} the output moves beyond honest drift yet stays at cosine >= "
                 f"{1 / math.sqrt(1 + worst ** 2):.4f} to the true embedding. ")
    text += ("This is harmless: adding noise needs the honest embedding first, so the cheat saves no work "
             "and earns nothing an honest run would not, and what it can make a committee accept is "
             "bounded by the tolerance angle above.")
    if structural_ok:
        text += (" The cheats that save work (a model with a layer dropped, the cached output of another "
                 "input) are all rejected.")
    return text
