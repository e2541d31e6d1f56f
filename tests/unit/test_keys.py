"""Keys: keystore v3 files and sealed payloads to a node's X25519 key."""
from __future__ import annotations

import json
import os
import stat

import pytest
from eth_account import Account

from brainnet.errors import KeyError_, SealError
from brainnet.node.keys import load_key, new_key, seal, unseal, x25519_private, x25519_public

FAST = 2 ** 4   # scrypt n for tests


def test_new_and_load(tmp_path):
    path = tmp_path / "node.json"
    address = new_key(path, "secret", iterations=FAST)
    account = load_key(path, "secret")
    assert account.address == address
    keystore = json.loads(path.read_text())
    assert keystore["version"] == 3 and keystore["crypto"]["kdf"] == "scrypt"
    assert keystore["crypto"]["kdfparams"]["n"] == FAST
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert not [p for p in tmp_path.iterdir() if p.name != "node.json"]   # no temp files left


def test_keystore_is_readable_by_eth_account(tmp_path):
    path = tmp_path / "node.json"
    key = bytes(range(1, 33))
    address = new_key(path, "pw", iterations=FAST, private_key=key)
    assert Account.decrypt(json.loads(path.read_text()), "pw") == key
    assert Account.from_key(key).address == address


def test_refuses_to_overwrite(tmp_path):
    path = tmp_path / "node.json"
    new_key(path, "a", iterations=FAST)
    before = path.read_bytes()
    with pytest.raises(KeyError_, match="refusing to overwrite"):
        new_key(path, "b", iterations=FAST)
    assert path.read_bytes() == before


def test_wrong_password(tmp_path):
    path = tmp_path / "node.json"
    new_key(path, "right", iterations=FAST)
    with pytest.raises(KeyError_, match="wrong password or corrupted keystore"):
        load_key(path, "wrong")


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(KeyError_, match="no keystore at"):
        load_key(tmp_path / "nope.json", "pw")
    with pytest.raises(KeyError_, match="folder"):
        load_key(tmp_path, "pw")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(KeyError_, match="not a keystore v3"):
        load_key(bad, "pw")
    bad.write_text(json.dumps({"version": 1}))
    with pytest.raises(KeyError_, match="not a keystore v3"):
        load_key(bad, "pw")
    with pytest.raises(KeyError_, match="invalid private key"):
        new_key(tmp_path / "k.json", "pw", iterations=FAST, private_key=b"short")


def test_corrupted_ciphertext(tmp_path):
    path = tmp_path / "node.json"
    new_key(path, "pw", iterations=FAST)
    keystore = json.loads(path.read_text())
    ct = keystore["crypto"]["ciphertext"]
    keystore["crypto"]["ciphertext"] = ("0" if ct[0] != "0" else "1") + ct[1:]
    path.write_text(json.dumps(keystore))
    with pytest.raises(KeyError_, match="wrong password or corrupted"):
        load_key(path, "pw")


def test_x25519_is_derived_from_the_account(tmp_path):
    path = tmp_path / "node.json"
    new_key(path, "pw", iterations=FAST)
    a, b = load_key(path, "pw"), load_key(path, "pw")
    assert x25519_public(a) == x25519_public(b) and len(x25519_public(a)) == 32
    assert x25519_public(Account.create()) != x25519_public(a)
    assert bytes(x25519_private(a).public_key) == x25519_public(a)


def test_seal_and_unseal():
    alice, mallory = Account.create(), Account.create()
    sealed = seal(x25519_public(alice), b'{"pixels":[0]}')
    assert b"pixels" not in sealed
    assert unseal(alice, sealed) == b'{"pixels":[0]}'
    with pytest.raises(SealError, match="not sealed to this node"):
        unseal(mallory, sealed)
    tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(SealError):
        unseal(alice, tampered)
    with pytest.raises(SealError, match="32 bytes"):
        seal(b"short", b"x")
    assert isinstance(SealError("x"), KeyError_)
