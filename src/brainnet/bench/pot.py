"""`brainnet bench pot`: does proof of training catch every cheat, flag no honest trainer,
and cost the verifier at most a tenth of the training?

Each trial: a trainer (a client of digits' standard split) claims a round of local SGD
from the same global model with its own seeded batches; honest trainers run it, cheaters
do one of `pot.CHEATS`. A verifier checks the trace and replays r segments chosen with a
fresh challenge seed (`pot.verify`). Counted: cheats caught (detection rate, per cheat),
honest trainers flagged (false positive rate), and the verifier's time over the honest
trainer's time (`replay_cost_ratio`, summed over the honest trials, hashing included on
both sides), beside the step ratio r*k / steps.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable

import numpy as np

from brainnet.fsutil import atomic_write_bytes
from brainnet.train import pot
from brainnet.train.data import load_dataset, partition
from brainnet.train.local import LocalConfig, derive_seed
from brainnet.train.model import ModelSpec, init_weights
from brainnet.train.rounds import versions_info

DEFAULT_OUT = Path("bench/results/pot.json")
# The trainers' job: 16 epochs of SGD with batches of 16 on ~270 digits samples (~224 steps),
# a weights hash after every step (k = 1).
POT_LOCAL = LocalConfig(epochs=16, batch_size=16, lr=0.1, trace_every=1)
POT_CLIENTS = 5          # digits' pool split into 5 near-IID trainers (alpha 100)


def run_pot_bench(*, trials: int = 200, segments: int = pot.DEFAULT_SEGMENTS, seed: int = 0,
                  local: LocalConfig = POT_LOCAL, dataset: str = "digits", clients: int = POT_CLIENTS,
                  tolerance: float = 0.0, out: Path | None = DEFAULT_OUT,
                  progress: Callable[[int, int, str], None] | None = None) -> dict:
    """Run the trials; write the JSON when `out` is given; `progress(done, total, label)` per trial."""
    start = time.perf_counter()
    ds = load_dataset(dataset)
    part = partition(ds, clients, 100.0, seed)
    spec = ModelSpec(ds.features, ds.classes, 32)
    per_kind = {k: {"trials": 0, "caught": 0, "reasons": {}} for k in pot.KINDS}
    train_s = verify_s = 0.0
    train_steps = replay_steps = 0
    for t in range(trials):
        g = init_weights(spec, derive_seed("pot-global", seed, t) % (2**31))
        me, other = t % clients, (t + 1) % clients
        x, y = ds.x_train[part.clients[me]], ds.y_train[part.clients[me]]
        ox, oy = ds.x_train[part.clients[other]], ds.y_train[part.clients[other]]
        base = derive_seed("pot-trainer", seed, t, me)
        rng = np.random.default_rng([seed, t])
        honest_other = pot.honest_claim(spec, g, ox, oy, local, derive_seed("pot-trainer", seed, t, other))
        for kind in pot.KINDS:
            claim = pot.make_claim(kind, spec, g, x, y, local, base, rng, other_x=ox, other_y=oy,
                                   other_claim=honest_other)
            verdict = pot.verify_claim(spec, g, x, y, local, base, claim, segments=segments,
                                       challenge_seed=derive_seed("pot-challenge", seed, t, kind), tolerance=tolerance)
            row = per_kind[kind]
            row["trials"] += 1
            if not verdict.ok:
                row["caught"] += 1
                row["reasons"][verdict.reason] = row["reasons"].get(verdict.reason, 0) + 1
            if kind == "honest":
                train_s += claim.train_s
                verify_s += verdict.verify_s
                train_steps += claim.trace.steps
                replay_steps += verdict.replayed_steps
        if progress:
            progress(t + 1, trials, "trials")
    cheats = {k: v for k, v in per_kind.items() if k != "honest"}
    caught = sum(v["caught"] for v in cheats.values())
    n_cheat = sum(v["trials"] for v in cheats.values())
    honest = per_kind["honest"]
    report = {
        "detection_rate": caught / n_cheat if n_cheat else None,
        "false_positive_rate": honest["caught"] / honest["trials"] if honest["trials"] else None,
        "replay_cost_ratio": verify_s / train_s if train_s else None,
        "replay_step_ratio": replay_steps / train_steps if train_steps else None,
        "per_cheat": {k: {"trials": v["trials"], "caught": v["caught"], "detection_rate": v["caught"] / v["trials"],
                          "reasons": v["reasons"]} for k, v in cheats.items()},
        "honest": {"trials": honest["trials"], "flagged": honest["caught"], "reasons": honest["reasons"]},
        "targets": {"detection_rate": ">= 0.99", "false_positive_rate": "== 0", "replay_cost_ratio": "<= 0.10"},
        "config": {"dataset": dataset, "trainers": clients, "segments_r": segments, "trace_every_k": local.trace_every,
                   "steps_per_claim_mean": train_steps / max(1, honest["trials"]), "epochs": local.epochs,
                   "batch_size": local.batch_size, "lr": local.lr, "tolerance": tolerance,
                   "fewer_steps_skip": pot.FEWER_STEPS_SKIP, "trials_per_kind": trials, "seed": seed},
        "notes": {
            "replay_cost_ratio": "verifier seconds / honest trainer seconds over all honest trials (both hash their "
                                 "checkpoints); replay_step_ratio is the SGD steps replayed over the steps trained",
            "fewer_steps": f"the cheater skips a contiguous {int(pot.FEWER_STEPS_SKIP * 100)}% of the claimed steps "
                           "at a random place; a random-segment check misses it with probability about "
                           f"0.5^(r-2) when the block touches neither end (r = {segments})",
            "data": "the verifier replays on the trainer's own data share (public here; on a real network the "
                    "trainer commits to its data and reveals the challenged batches)",
        },
        "versions": versions_info(),
        "elapsed_s": round(time.perf_counter() - start, 1),
    }
    if out is not None:
        atomic_write_bytes(Path(out), (json.dumps(report, indent=1) + "\n").encode())
    return report
