"""One exception root for everything brainnet raises on purpose.

Each message names the cause and, where there is one, the fix, so the CLI can print it
as it is instead of a traceback.
"""


class BrainnetError(Exception):
    """Root of every error brainnet raises on purpose."""


class ConfigError(BrainnetError):
    """A flag, file or parameter is missing or invalid."""


class ChainError(BrainnetError):
    """The chain could not be reached, or answered something unexpected."""


class ContractRevert(ChainError):
    """A contract call reverted; `reason` is the contract's own revert string."""

    def __init__(self, reason: str, *, function: str = ""):
        self.reason = reason
        self.function = function
        where = f" in {function}" if function else ""
        super().__init__(f"transaction reverted{where}: {reason}")


class BlobError(BrainnetError):
    """A blob is missing, too large, or its content does not match its hash."""


class KeyError_(BrainnetError):
    """A keystore file is missing, malformed, or the password is wrong."""


class ModelError(BrainnetError):
    """A model could not be built, loaded or run, or its weights do not match the chain."""


class TaskFailed(BrainnetError):
    """An inference task was refunded or did not settle in time."""

    def __init__(self, message: str, *, task_id: int | None = None):
        self.task_id = task_id
        super().__init__(message)


class BadBlobHash(BlobError):
    """A blob name is not a sha256 hex digest (64 lowercase hex characters)."""


class BlobNotFound(BlobError):
    """No blob with this hash is stored here, or none of the sources served it."""


class BlobTooLarge(BlobError):
    """A blob is larger than the store accepts."""


class BlobHashMismatch(BlobError):
    """A blob's content does not hash to the name it was given."""


class JournalError(BrainnetError):
    """The node journal refused a write that would lose or contradict a recorded result."""


class SealError(KeyError_):
    """A sealed payload could not be opened: not sealed to this key, or corrupted."""
