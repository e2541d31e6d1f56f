"""Client behaviours: what an honest or Byzantine trainer sends back for a round.

    honest      trains on its own data and sends the result
    label_flip  trains on its own data with every label y replaced by (classes - 1 - y)
    sign_flip   trains honestly, then sends global - update (the update's direction reversed)
    scale       trains honestly, then sends global - 10 * update (update x -10)
    gaussian    sends global + N(0, sigma^2) noise per weight (sigma = GAUSSIAN_SIGMA)
    free_rider  sends the global model unchanged (no work done)

"update" is the trained weights minus the global weights. A behaviour has two hooks: the
labels it trains on, and how it tampers with the weights it trained (seeded, so a run
is reproducible).
"""
from __future__ import annotations

import numpy as np

from brainnet.errors import ConfigError

ATTACKS = ("label_flip", "sign_flip", "scale", "gaussian", "free_rider")
BEHAVIOURS = ("honest",) + ATTACKS
SCALE_FACTOR = -10.0
GAUSSIAN_SIGMA = 1.0


def check_behaviour(name: str) -> str:
    if name not in BEHAVIOURS:
        raise ConfigError(f"unknown client behaviour {name!r}: choose one of {', '.join(BEHAVIOURS)}")
    return name


def trains(behaviour: str) -> bool:
    """Whether the behaviour runs local training at all."""
    return behaviour not in ("gaussian", "free_rider")


def training_labels(behaviour: str, y: np.ndarray, classes: int) -> np.ndarray:
    """The labels the client trains on."""
    if behaviour == "label_flip":
        return (classes - 1 - np.asarray(y)).astype(np.int64)
    return np.asarray(y, dtype=np.int64)


def tamper(behaviour: str, global_w: np.ndarray, trained_w: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
    """The weights the client sends, given the global weights and what it trained (None if it did not)."""
    g = np.asarray(global_w, dtype=np.float32)
    if behaviour in ("honest", "label_flip"):
        return np.asarray(trained_w, dtype=np.float32)
    if behaviour == "sign_flip":
        return (g - (trained_w - g)).astype(np.float32)
    if behaviour == "scale":
        return (g + SCALE_FACTOR * (trained_w - g)).astype(np.float32)
    if behaviour == "gaussian":
        return (g + rng.normal(0.0, GAUSSIAN_SIGMA, size=g.shape)).astype(np.float32)
    if behaviour == "free_rider":
        return g.copy()
    raise ConfigError(f"unknown client behaviour {behaviour!r}: choose one of {', '.join(BEHAVIOURS)}")
