"""A node's keys: an Ethereum account in a keystore v3 file, and an X25519 key for sealed payloads.

The account signs the node's transactions (stake, commit, reveal); it lives on disk only
encrypted with a password (scrypt + AES, the format geth and every wallet read). Payloads
meant for one node only (private inputs) are sealed to its X25519 public key, which the
node publishes in `Registry`. That key is derived from the account key, so one keystore
file is the whole identity to back up.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import nacl.exceptions
import nacl.public
from eth_account import Account
from eth_account.signers.local import LocalAccount

from brainnet.errors import KeyError_, SealError
from brainnet.fsutil import create_new_file

# scrypt work factor. 2**14 (16 MiB, ~50 ms) suits a node that restarts unattended;
# wallets use 2**18. Pass iterations= to choose; tests use 2**4.
DEFAULT_SCRYPT_N = 2 ** 14
X25519_DOMAIN = b"brainnet-x25519"


def new_key(path: Path | str, password: str, *, iterations: int = DEFAULT_SCRYPT_N,
            private_key: bytes | None = None) -> str:
    """Create a keystore v3 file at `path` (never overwriting one); return its checksum address."""
    path = Path(path)
    if path.exists():
        raise KeyError_(f"{path} already exists; refusing to overwrite a key. Choose another path, "
                        "or move the old file away if you really mean to replace it")
    try:
        account = Account.from_key(private_key) if private_key is not None else Account.create()
    except (ValueError, TypeError) as exc:
        raise KeyError_(f"invalid private key: {exc}; expected 32 bytes") from None
    keystore = Account.encrypt(account.key, password, kdf="scrypt", iterations=iterations)
    data = json.dumps(keystore, sort_keys=True, indent=2).encode()
    try:
        create_new_file(path, data, mode=0o600)
    except FileExistsError:
        raise KeyError_(f"{path} already exists; refusing to overwrite a key. Choose another path") from None
    return account.address


def load_key(path: Path | str, password: str) -> LocalAccount:
    """Decrypt a keystore v3 file; KeyError_ says whether the file or the password is the problem."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise KeyError_(f"no keystore at {path}: create one with new_key() (or the CLI's key command), "
                        "or point to the right file") from None
    except IsADirectoryError:
        raise KeyError_(f"{path} is a folder, not a keystore file") from None
    try:
        keystore = json.loads(raw)
        if not isinstance(keystore, dict) or keystore.get("version") != 3 or not ("crypto" in keystore or "Crypto" in keystore):
            raise ValueError("not a version 3 keystore")
    except ValueError as exc:
        raise KeyError_(f"{path} is not a keystore v3 JSON file ({exc})") from None
    try:
        key = Account.decrypt(keystore, password)
    except ValueError as exc:
        if "MAC" in str(exc):
            raise KeyError_(f"wrong password or corrupted keystore: {path}") from None
        raise KeyError_(f"cannot decrypt keystore {path}: {exc}") from None
    except (KeyError, TypeError) as exc:
        raise KeyError_(f"corrupted keystore {path}: missing or malformed field {exc}") from None
    return Account.from_key(key)


def x25519_private(account: LocalAccount) -> nacl.public.PrivateKey:
    """The account's X25519 key: sha256(b"brainnet-x25519" + account private key)."""
    return nacl.public.PrivateKey(hashlib.sha256(X25519_DOMAIN + bytes(account.key)).digest())


def x25519_public(account: LocalAccount) -> bytes:
    """32-byte X25519 public key a node publishes so others can seal payloads to it."""
    return bytes(x25519_private(account).public_key)


def seal(pubkey32: bytes, data: bytes) -> bytes:
    """Encrypt `data` so that only the holder of `pubkey32`'s private key can read it."""
    if len(pubkey32) != 32:
        raise SealError(f"X25519 public key must be 32 bytes, got {len(pubkey32)}")
    return nacl.public.SealedBox(nacl.public.PublicKey(bytes(pubkey32))).encrypt(bytes(data))


def unseal(account: LocalAccount, data: bytes) -> bytes:
    """Open a payload sealed to this account's X25519 key."""
    try:
        return nacl.public.SealedBox(x25519_private(account)).decrypt(bytes(data))
    except nacl.exceptions.CryptoError:
        raise SealError("sealed payload could not be opened: it was not sealed to this node's key, "
                        "or it was corrupted in transit") from None


__all__ = ["DEFAULT_SCRYPT_N", "new_key", "load_key", "x25519_private", "x25519_public", "seal", "unseal"]
