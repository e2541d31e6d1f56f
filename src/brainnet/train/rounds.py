"""A federated round loop without a chain, built from per-round pieces the on-chain runner reuses.

`run_federated(config)` runs `config.rounds` rounds and returns an `FLResult`; `brainnet
train --chain none` and `brainnet bench fl` use it. The on-chain runner (`--chain
embedded|anvil`) drives the same pieces through the contracts, so a round computes the
same weights and hashes with or without a chain:

    setup = make_setup(config)                       # data, client shares, behaviours, slices, initial weights
    w = setup.initial                                # the version-0 global weights, hash weights_hash(setup.spec, w)
    for r in range(config.rounds):
        ups = [client_update(setup, c, w, r) for c in range(config.clients)]
                                                     # trainer c: .weights, .weights_hash (update_hash),
                                                     # .trace.digest() (trace_hash), .num_examples
        row = member_scores(setup, m, w, ups)        # committee member m (0..committee-1): its score
                                                     # vector, ints 0..10000, in the order of `ups`
        S = score_matrix(setup, w, ups)              # all members' rows: (committee, len(ups)) int64
        medians = median_scores(S)                   # what Training.vy computes per update (lower median)
        out = aggregate_round(setup, w, ups, S)      # .weights, .weights_hash (the version hash members
                                                     # confirm), .accepted (medians >= threshold for brain)
        w = out.weights
        accuracy(setup, w)                           # test accuracy (reporting only)

Order matters for the hash: pass updates in one fixed order (on chain: the order of the
revealed updates). Updates that were not revealed are simply left out of `ups`.
A client's batch seeds come from `client_seed(config, round, client)`; pass
`base_seed=` to `client_update` to use a seed the chain fixes instead.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from typing import Callable, Sequence

import numpy as np

from brainnet.errors import ConfigError
from brainnet.train import attacks, model
from brainnet.train.data import DATASETS, Dataset, Partition, load_dataset, partition, validation_slice
from brainnet.train.local import LocalConfig, Trace, derive_seed, train_local
from brainnet.train.model import ModelSpec, weights_hash
from brainnet.train.strategy import STRATEGIES, SCORE_NEUTRAL, Strategy, make_strategy, median_scores, score_update

CHAINS = ("none", "embedded", "anvil")


@dataclass(frozen=True)
class FLConfig:
    dataset: str = "digits"          # digits | breast_cancer | wine
    clients: int = 20                # trainers per round (all take part every round)
    byzantine: float = 0.3           # share of clients that follow `attack` (rounded down, chosen by seed)
    attack: str = "sign_flip"        # label_flip | sign_flip | scale | gaussian | free_rider
    rounds: int = 20
    strategy: str = "brain"          # brain | fedavg | fedmedian | trimmed_mean | krum
    source: str = "brainnet"         # brainnet (our functions) | flower (Flower's own)
    alpha: float = 0.5               # Dirichlet concentration of the client split (small = non-IID)
    seed: int = 0                    # client split, byzantine choice, initial model, batch seeds, noise
    committee: int = 5               # scoring committee members (odd: the median is one of the scores)
    hidden: int = 32                 # MLP hidden width
    local: LocalConfig = field(default_factory=LocalConfig)
    threshold: int = SCORE_NEUTRAL   # brain: accept an update if its median score >= threshold
    mix: float = 1.0                 # brain: BRAIN's moving average weight of the new aggregate (1 = none)
    beta: float = 0.2                # trimmed_mean: share cut at each end (Flower's default)
    krum_keep: int = 0               # krum: 0 = plain Krum, m > 0 = multi-Krum over the m best

    def check(self) -> "FLConfig":
        if self.dataset not in DATASETS:
            raise ConfigError(f"--dataset {self.dataset!r}: choose one of {', '.join(DATASETS)}")
        if self.strategy not in STRATEGIES:
            raise ConfigError(f"--strategy {self.strategy!r}: choose one of {', '.join(STRATEGIES)}")
        if self.attack not in attacks.ATTACKS and self.attack != "honest":
            raise ConfigError(f"--attack {self.attack!r}: choose one of {', '.join(attacks.ATTACKS)}")
        if not 0.0 <= self.byzantine < 1.0:
            raise ConfigError(f"--byzantine {self.byzantine}: give a share in [0, 1), e.g. 0.3")
        if self.clients < 1 or self.rounds < 0 or self.committee < 1:
            raise ConfigError("--clients and --committee must be at least 1, --rounds at least 0")
        return self

    @property
    def num_byzantine(self) -> int:
        return int(self.byzantine * self.clients + 1e-9)

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Setup:
    config: FLConfig
    data: Dataset
    part: Partition
    spec: ModelSpec
    behaviours: tuple[str, ...]              # per client
    slices: tuple[np.ndarray, ...]           # per committee member: indices into data.x_train
    initial: np.ndarray                      # (P,) float32, version 0

    def client_data(self, client: int) -> tuple[np.ndarray, np.ndarray]:
        idx = self.part.clients[client]
        return self.data.x_train[idx], self.data.y_train[idx]

    def member_data(self, member: int) -> tuple[np.ndarray, np.ndarray]:
        idx = self.slices[member] if member < len(self.slices) else validation_slice(self.part, member, self.config.seed)
        return self.data.x_train[idx], self.data.y_train[idx]


def make_setup(config: FLConfig) -> Setup:
    config.check()
    data = load_dataset(config.dataset)
    part = partition(data, config.clients, config.alpha, config.seed)
    spec = ModelSpec(data.features, data.classes, config.hidden)
    bad = set(np.random.default_rng([config.seed, 0xB12]).permutation(config.clients)[:config.num_byzantine].tolist())
    behaviours = tuple(config.attack if c in bad else "honest" for c in range(config.clients))
    slices = tuple(validation_slice(part, m, config.seed) for m in range(config.committee))
    return Setup(config, data, part, spec, behaviours, slices, model.init_weights(spec, config.seed))


@dataclass
class ClientUpdate:
    client: int
    behaviour: str
    weights: np.ndarray          # (P,) float32: what the client sends
    num_examples: int
    trace: Trace                 # what it claims it did (fabricated for behaviours that did not train)
    weights_hash: str            # sha256 of the canonical weights bytes (the update_hash)

    @property
    def trace_hash(self) -> str:
        return self.trace.digest()

    @property
    def honest(self) -> bool:
        return self.behaviour == "honest"


def client_seed(config: FLConfig, round_index: int, client: int) -> int:
    """The base of client's batch seeds in a round (the chain may fix its own instead)."""
    return derive_seed("brainnet-train", config.seed, round_index, client)


def client_update(setup: Setup, client: int, global_w: np.ndarray, round_index: int, *,
                  base_seed: int | None = None, behaviour: str | None = None,
                  keep_checkpoints: bool = False) -> ClientUpdate:
    """Client `client`'s work for a round: local training (per its behaviour) from `global_w`."""
    cfg = setup.config
    behaviour = attacks.check_behaviour(behaviour or setup.behaviours[client])
    base = client_seed(cfg, round_index, client) if base_seed is None else base_seed
    x, y = setup.client_data(client)
    rng = np.random.default_rng([cfg.seed, round_index, client, 0xA77])
    g_hash = weights_hash(setup.spec, global_w)
    if attacks.trains(behaviour):
        trained, trace = train_local(setup.spec, global_w, x, attacks.training_labels(behaviour, y, setup.data.classes),
                                     cfg.local, base, keep_checkpoints=keep_checkpoints)
    else:
        trained = None
        steps = cfg.local.steps(len(x))
        trace = Trace(steps, cfg.local.trace_every, [derive_seed(base, s) for s in range(steps)], [g_hash])
    sent = attacks.tamper(behaviour, global_w, trained, rng)
    h = weights_hash(setup.spec, sent)
    if behaviour != "honest" and behaviour != "label_flip":     # the trace claims the weights it sent
        marks = trace.checkpoint_steps()
        trace.hashes = trace.hashes[:len(marks) - 1] + [h]
        trace.hashes = [g_hash] * (len(marks) - len(trace.hashes)) + trace.hashes
    return ClientUpdate(client, behaviour, sent, len(x), trace, h)


def member_scores(setup: Setup, member: int, global_w: np.ndarray, updates: Sequence[ClientUpdate]) -> list[int]:
    """Committee member `member`'s score vector over `updates` (ints 0..10000, same order)."""
    x, y = setup.member_data(member)
    g_loss = model.loss(setup.spec, global_w, x, y)
    return [score_update(setup.spec, global_w, u.weights, x, y, g_loss) for u in updates]


def score_matrix(setup: Setup, global_w: np.ndarray, updates: Sequence[ClientUpdate],
                 members: Sequence[int] | None = None) -> np.ndarray:
    """(members, updates) int64 scores of the whole committee."""
    members = range(setup.config.committee) if members is None else members
    return np.asarray([member_scores(setup, m, global_w, updates) for m in members], dtype=np.int64).reshape(
        len(members), len(updates))


@dataclass
class RoundOutcome:
    weights: np.ndarray       # (P,) float32 new global weights
    weights_hash: str
    accepted: list[bool]      # per update, in the order given


def strategy_of(config: FLConfig) -> Strategy:
    return make_strategy(config.strategy, num_malicious=config.num_byzantine, threshold=config.threshold,
                         mix=config.mix, beta=config.beta, to_keep=config.krum_keep, source=config.source)


def aggregate_round(setup: Setup, global_w: np.ndarray, updates: Sequence[ClientUpdate],
                    scores: np.ndarray | None = None, strategy: Strategy | None = None) -> RoundOutcome:
    """The new global model from the updates (in the order given) and, for brain, the scores."""
    strategy = strategy or strategy_of(setup.config)
    if not updates:
        w = np.asarray(global_w, dtype=np.float32).copy()
        return RoundOutcome(w, weights_hash(setup.spec, w), [])
    if strategy.needs_scores and scores is None:
        scores = score_matrix(setup, global_w, updates)
    out = strategy.aggregate(global_w, [(u.weights, u.num_examples) for u in updates], scores)
    return RoundOutcome(out.weights, weights_hash(setup.spec, out.weights), out.accepted)


def accuracy(setup: Setup, weights: np.ndarray) -> float:
    """Test-split accuracy of a global model (reporting only)."""
    return model.accuracy(setup.spec, weights, setup.data.x_test, setup.data.y_test)


@dataclass
class FLResult:
    config: FLConfig
    final_accuracy: float
    initial_accuracy: float
    accuracy_per_round: list[float]
    accepted_byzantine: int          # Byzantine updates that entered an aggregate, summed over rounds
    rejected_honest: int             # honest updates left out of an aggregate, summed over rounds
    versions: list[dict]             # {"version", "round", "weights_hash", "parent"}
    elapsed_s: float

    def to_json(self) -> dict:
        return {
            "final_accuracy": self.final_accuracy, "initial_accuracy": self.initial_accuracy,
            "accuracy_per_round": self.accuracy_per_round, "accepted_byzantine": self.accepted_byzantine,
            "rejected_honest": self.rejected_honest, "rounds": self.config.rounds, "versions": self.versions,
            "strategy": self.config.strategy, "source": self.config.source, "elapsed_s": self.elapsed_s,
        }


def run_federated(config: FLConfig, progress: Callable[[int, float], None] | None = None,
                  setup: Setup | None = None, *, honest_only: bool = False) -> FLResult:
    """All rounds without a chain; `progress(round, accuracy)` after each. `honest_only` drops
    the Byzantine clients before aggregating: the ceiling of any filter, for reference."""
    start = time.perf_counter()
    setup = setup or make_setup(config)
    if setup.config != config:
        setup = replace(setup, config=config)
    strategy = strategy_of(config)
    w = setup.initial
    h = weights_hash(setup.spec, w)
    versions = [{"version": 0, "round": None, "weights_hash": h, "parent": None}]
    initial = accuracy(setup, w)
    per_round: list[float] = []
    acc_byz = rej_honest = 0
    for r in range(config.rounds):
        ups = [client_update(setup, c, w, r) for c in range(config.clients)
               if not honest_only or setup.behaviours[c] == "honest"]
        scores = score_matrix(setup, w, ups) if strategy.needs_scores else None
        out = aggregate_round(setup, w, ups, scores, strategy)
        acc_byz += sum(1 for u, ok in zip(ups, out.accepted) if ok and not u.honest)
        rej_honest += sum(1 for u, ok in zip(ups, out.accepted) if not ok and u.honest)
        versions.append({"version": r + 1, "round": r, "weights_hash": out.weights_hash, "parent": h})
        w, h = out.weights, out.weights_hash
        per_round.append(accuracy(setup, w))
        if progress is not None:
            progress(r, per_round[-1])
    return FLResult(config, per_round[-1] if per_round else initial, initial, per_round, acc_byz, rej_honest,
                    versions, round(time.perf_counter() - start, 3))


def clean_config(config: FLConfig) -> FLConfig:
    """The reference run: same data, split, model and seeds, no attackers, our FedAvg."""
    return replace(config, byzantine=0.0, strategy="fedavg", source="brainnet")


def versions_info() -> dict:
    import platform

    import torch

    from brainnet.train.flower import flower_version

    return {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
            "flwr": flower_version()}


def train_report(config: FLConfig, progress: Callable[[int, float], None] | None = None,
                 gas_per_round: list | None = None) -> dict:
    """`brainnet train --chain none`'s JSON: the run, beside the clean FedAvg run on the same seeds."""
    result = run_federated(config, progress)
    clean = run_federated(clean_config(config))
    out = result.to_json()
    out.update({"clean_accuracy": clean.final_accuracy, "clean_accuracy_per_round": clean.accuracy_per_round,
                "gas_per_round": gas_per_round or [], "chain": "none", "config": config.to_json(),
                "library_versions": versions_info()})
    return out
