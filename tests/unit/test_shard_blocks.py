"""Models as blocks: MiniLM's blocks equal the SentenceTransformer, the decoder's KV cache
changes nothing, its generated weights are content-addressed, and SVD/plan behave."""
import hashlib

import pytest
import torch
from torch import nn

from brainnet.errors import ConfigError
from brainnet.models.weights import weights_path
from brainnet.shard.blocks import (DecoderConfig, MiniLMTokenizer, Session, build_decoder_blocks, decoder_weights,
                                   get_model, run_blocks)
from brainnet.shard.client import LocalSequential
from brainnet.shard.svd import (LowRankLinear, block_bytes_at_rank, fit_rank, lowrank_block, plan_range,
                                stored_bytes)

TEXTS = ["Hello world.", "The old fisherman photographed the ancient map near the river during the storm."]
SMALL = DecoderConfig(vocab_size=97, d_model=32, n_heads=4, n_layers=3, max_tokens=64, seed=7)


@pytest.fixture(scope="module")
def minilm():
    return LocalSequential("minilm-l6")


def test_minilm_blocks_equal_the_sentence_transformer(minilm):
    from brainnet.models.minilm import load_sentence_transformer

    st = load_sentence_transformer()
    act = MiniLMTokenizer()(TEXTS)
    assert torch.equal(act["ids"], st.preprocess(TEXTS)["input_ids"])
    with torch.no_grad():
        ours = minilm(act["ids"], act["mask"])
        theirs = st.encode(TEXTS, convert_to_tensor=True)
    assert ours.shape == (2, 384)
    assert torch.allclose(ours, theirs, atol=1e-5)


def test_minilm_is_8_blocks_and_any_split_gives_the_same_output(minilm):
    model = get_model("minilm-l6")
    assert model.n_blocks == 8 and model.block_bytes[-1] == 0
    act = MiniLMTokenizer()(TEXTS)
    whole = minilm.run(dict(act))["out"]
    blocks = list(minilm.blocks)
    mid = run_blocks(blocks[:4], dict(act))
    assert set(mid) == {"h", "mask"} and mid["h"].shape[-1] == 384
    assert torch.equal(run_blocks(blocks[4:], mid)["out"], whole)


def test_decoder_weights_are_generated_once_and_content_addressed(tmp_path):
    digest = decoder_weights(SMALL, cache_dir=tmp_path)
    path = weights_path(digest, tmp_path)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
    assert decoder_weights(SMALL, cache_dir=tmp_path) == digest          # from the pointer file
    other = tmp_path / "other"
    assert decoder_weights(SMALL, cache_dir=other) == digest             # regenerated: the same bytes
    assert decoder_weights(DecoderConfig(**{**SMALL.__dict__, "seed": 8}), cache_dir=other) != digest


def test_default_decoder_has_at_least_24_blocks():
    model = get_model("decoder")
    assert model.n_blocks - 2 >= 24
    assert len(set(model.block_bytes[1:-1])) == 1                        # every layer the same size


def test_decoder_kv_cache_output_equals_no_cache_output(tmp_path):
    blocks = build_decoder_blocks(SMALL, range(SMALL.n_blocks), cache_dir=tmp_path)
    prompt = torch.tensor([[5, 17, 42, 3]])
    session = Session()
    cached = [run_blocks(blocks, {"ids": prompt}, session)["out"]]
    seq = prompt
    for _ in range(10):
        nxt = cached[-1].argmax(-1, keepdim=True)
        seq = torch.cat([seq, nxt], dim=1)
        cached.append(run_blocks(blocks, {"ids": nxt}, session)["out"])
    assert session.pos == seq.shape[1]
    for t, logits in enumerate(cached):                                   # recompute every prefix from scratch
        full = run_blocks(blocks, {"ids": seq[:, :prompt.shape[1] + t]})["out"]
        assert torch.allclose(logits, full, atol=1e-5)
    local = LocalSequential(get_model("decoder"), blocks)
    assert torch.equal(local.generate(prompt, 10, kv=True), local.generate(prompt, 10, kv=False))


def test_lowrank_linear_full_rank_is_the_layer_and_outlier_columns_stay_exact():
    torch.manual_seed(0)
    lin = nn.Linear(48, 20)
    lin.weight.data[:, 7] *= 50                                           # an outlier column
    full = LowRankLinear(lin, rank=48, outlier_fraction=0.05)
    x = torch.randn(5, 48)
    assert torch.allclose(full(x), lin(x), atol=1e-4)
    low = LowRankLinear(lin, rank=2, outlier_fraction=0.05)
    assert 7 in low.dense_cols.tolist()
    only_outlier = torch.zeros(1, 48)
    only_outlier[0, 7] = 1.0
    assert torch.allclose(low(only_outlier), lin(only_outlier), atol=1e-5)


def test_lowrank_error_falls_and_memory_rises_with_rank():
    torch.manual_seed(1)
    lin = nn.Linear(64, 64)
    x = torch.randn(32, 64)
    errors, sizes = [], []
    for rank in (1, 4, 16, 63):
        low = LowRankLinear(lin, rank)
        errors.append(float((low(x) - lin(x)).detach().norm()))
        sizes.append(low.weight_bytes())
    assert errors == sorted(errors, reverse=True) and errors[-1] < 1e-3
    assert sizes == sorted(sizes)


def test_fit_rank_fits_the_budget_exactly(minilm):
    layer = minilm.blocks[3]
    dense = stored_bytes(layer)
    for budget in (dense // 10, dense // 3):
        rank = fit_rank(layer, budget)
        assert block_bytes_at_rank(layer, rank) <= budget < block_bytes_at_rank(layer, rank + 1)
        assert stored_bytes(lowrank_block(layer, rank)) == block_bytes_at_rank(layer, rank)
    assert fit_rank(layer, 1000) is None


def test_plan_range_from_memory():
    model = get_model("decoder")
    layer_mb = model.block_bytes[1] / 2**20
    assert plan_range(model, 10_000).end == model.n_blocks                # everything fits
    two = plan_range(model, 2.5 * layer_mb, start=3)
    assert (two.start, two.end, two.rank) == (3, 5, None)
    small = plan_range(model, 0.5 * layer_mb, start=3)                    # not one dense block: low rank
    assert (small.start, small.end) == (3, 4) and small.rank is not None
    assert small.bytes <= 0.5 * layer_mb * 2**20
    with pytest.raises(ConfigError):
        plan_range(model, 0.001, start=3)
