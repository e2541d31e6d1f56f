"""Activation codec: round-trip error bounds (Hypothesis), the byte-exact wire format, and
malformed messages refused with CodecError."""
import math
import struct

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from brainnet.shard import codec

finite = st.floats(min_value=-1e4, max_value=1e4, allow_nan=False, allow_infinity=False, width=32)
shapes = st.lists(st.integers(1, 40), min_size=1, max_size=3)
tensors = shapes.flatmap(lambda s: arrays(np.float32, s, elements=finite))


@settings(max_examples=150, deadline=None)
@given(x=tensors, block=st.integers(1, 130))
def test_int8_error_is_within_half_a_step_of_each_block(x, block):
    y = codec.roundtrip(torch.from_numpy(x), "int8", block).numpy()
    bound = codec.int8_bound(x, block)
    assert y.shape == x.shape
    # half a quantization step (absmax / 254) of x's own block, plus float rounding
    assert np.all(np.abs(y - x) <= bound * (1 + 1e-5) + 1e-30)


@settings(max_examples=100, deadline=None)
@given(x=tensors)
def test_fp16_error_is_relative_half_ulp_and_fp32_is_exact(x):
    t = torch.from_numpy(x)
    assert torch.equal(codec.roundtrip(t, "fp32"), t)
    y = codec.roundtrip(t, "fp16").numpy()
    # fp16 normal numbers: relative error <= 2^-11; below 2^-14 an absolute 2^-25 (subnormal half step)
    assert np.all(np.abs(y - x) <= np.maximum(np.abs(x) * 2.0 ** -11, 2.0 ** -25) * (1 + 1e-6))


@settings(max_examples=50, deadline=None)
@given(ids=arrays(np.int64, st.tuples(st.integers(1, 4), st.integers(1, 30)), elements=st.integers(0, 2**31 - 1)))
def test_integer_tensors_travel_exactly_whatever_the_codec(ids):
    for name in codec.CODECS:
        msg = codec.decode(codec.encode({"ids": torch.from_numpy(ids)}, name))
        assert torch.equal(msg.tensors["ids"], torch.from_numpy(ids))


def test_wire_format_is_byte_exact():
    x = torch.tensor([[1.0, -2.0, 0.5], [0.0, 4.0, -4.0]])
    data = codec.encode({"h": x, "mask": torch.tensor([[1, 1, 0]])}, "int8", block=4, meta={"session": "s"})
    assert data[:4] == b"BNA1"
    (hlen,) = struct.unpack_from("<I", data, 4)
    header = data[8:8 + hlen]
    assert header == (b'{"session":"s","tensors":[{"block":4,"codec":"int8","name":"h","shape":[2,3]},'
                      b'{"codec":"i32","name":"mask","shape":[1,3]}]}')
    body = data[8 + hlen:]
    scales = np.frombuffer(body[:8], "<f4")            # ceil(6 / 4) = 2 blocks
    assert np.allclose(scales, [2.0 / 127, 4.0 / 127])
    q = np.frombuffer(body[8:14], np.int8)
    assert q.tolist() == [64, -127, 32, 0, 127, -127]   # 1 / (2/127) = 63.5 rounds to even 64
    assert np.frombuffer(body[14:], "<i4").tolist() == [1, 1, 0]
    assert codec.encode({"h": x, "mask": torch.tensor([[1, 1, 0]])}, "int8", block=4, meta={"session": "s"}) == data


@pytest.mark.parametrize("name,per_value", [("fp32", 4), ("fp16", 2), ("int8", 1)])
def test_body_sizes(name, per_value):
    x = torch.randn(1, 10, 384)
    data = codec.encode({"h": x}, name)
    (hlen,) = struct.unpack_from("<I", data, 4)
    scales = 4 * math.ceil(x.numel() / 64) if name == "int8" else 0
    assert len(data) - 8 - hlen == per_value * x.numel() + scales


def test_int8_is_almost_four_times_smaller_than_fp32():
    x = torch.randn(1, 64, 384)
    ratio = len(codec.encode({"h": x}, "fp32")) / len(codec.encode({"h": x}, "int8"))
    assert 3.7 < ratio < 4.0          # 1 byte per value + a 4-byte scale per 64 values: at most 64/17 = 3.76x


@pytest.mark.parametrize("data", [
    b"", b"XXXX\x00\x00\x00\x00", b"BNA1\xff\xff\x00\x00{}", b"BNA1\x02\x00\x00\x00{}",
    b'BNA1\x0c\x00\x00\x00{"tensors":1',
])
def test_malformed_messages_raise_codec_error(data):
    with pytest.raises(codec.CodecError):
        codec.decode(data)


def _with_header(header: bytes, body: bytes = b"") -> bytes:
    return b"BNA1" + struct.pack("<I", len(header)) + header + body


@pytest.mark.parametrize("header,body", [
    (b'{"tensors":[{"name":"h","codec":"int9","shape":[1]}]}', b"\x00" * 4),
    (b'{"tensors":[{"name":"h","codec":"fp32","shape":[2]}]}', b"\x00" * 4),          # short body
    (b'{"tensors":[{"name":"h","codec":"fp32","shape":[1]}]}', b"\x00" * 5),          # trailing byte
    (b'{"tensors":[{"name":"h","codec":"fp32","shape":[-1]}]}', b""),
    (b'{"tensors":[{"name":"h","codec":"int8","shape":[1],"block":0}]}', b"\x00" * 5),
    (b'{"tensors":[{"name":"h","codec":"fp32","shape":[1]},{"name":"h","codec":"fp32","shape":[1]}]}', b"\x00" * 8),
    (b'{"tensors":[{"name":"h","codec":"fp32","shape":[1]}]}', struct.pack("<f", float("nan"))),
])
def test_bad_tensor_specs_raise_codec_error(header, body):
    with pytest.raises(codec.CodecError):
        codec.decode(_with_header(header, body))


def test_encode_refuses_what_cannot_travel():
    with pytest.raises(codec.CodecError):
        codec.encode({"h": torch.tensor([float("inf")])}, "int8")
    with pytest.raises(codec.CodecError):
        codec.encode({"h": torch.tensor([1e6])}, "fp16")
    with pytest.raises(codec.CodecError):
        codec.encode({"h": torch.zeros(2)}, "int4")
