# pragma version ~=0.4.3
"""
@title BlockHash (test helper)
@notice Reads `blockhash(n)` so tests can recompute the committee seed the contracts used.
"""


@external
@view
def at(n: uint256) -> bytes32:
    return blockhash(n)
