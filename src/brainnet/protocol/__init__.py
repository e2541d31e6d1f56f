"""Pure mirror of the contracts' rules: commitments, committee sampling, agreement.

No I/O here: nodes, tests and simulations compute locally exactly what the contracts
check on-chain.
"""
from brainnet.protocol.commitment import commitment, keccak, model_key, near_result, result_hash, task_seed
from brainnet.protocol.committee import sample_committee
from brainnet.protocol.agreement import Outcome, decide

__all__ = [
    "commitment", "keccak", "model_key", "near_result", "result_hash", "task_seed",
    "sample_committee", "Outcome", "decide",
]
