"""Model runtimes (pure layer): build, load weights by sha256, run deterministically, canonicalize.

Nothing here talks to the chain or the network; the node fetches blobs and hands bytes in.
"""
from brainnet.models.digits import DigitsConfig, DigitsMLP, ensure_digits_weights, train_digits
from brainnet.models.weights import (
    default_cache_dir, deterministic, read_weights, store_weights, weights_from_bytes,
    weights_path, weights_to_bytes,
)
from brainnet.models.zoo import (   # before minilm: zoo defines ModelRuntime, then imports minilm
    DigitsRuntime, ModelRuntime, add_weights, available_models, canonical_json, get_model,
)
from brainnet.models.minilm import MiniLMRuntime, sample_sentences

__all__ = [
    "DigitsConfig", "DigitsMLP", "ensure_digits_weights", "train_digits",
    "default_cache_dir", "deterministic", "read_weights", "store_weights", "weights_from_bytes",
    "weights_path", "weights_to_bytes",
    "MiniLMRuntime", "sample_sentences",
    "DigitsRuntime", "ModelRuntime", "add_weights", "available_models", "canonical_json", "get_model",
]
