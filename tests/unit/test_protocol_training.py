"""`brainnet.protocol.training`: the round's rules in plain Python (the contract's mirror).

Against the contract they are checked by tests/contracts/test_training_*.py and
tests/stateful/test_training_state.py; here, the rules themselves: the pool is always paid
out to the wei, rewards follow the medians, the ABI encoding of a score vector."""
from __future__ import annotations

from eth_abi import encode
from hypothesis import given, settings, strategies as st

from brainnet.protocol.training import encode_scores, lower_median, seat_reward, settle_scores

MEMBERS = [f"0x{i:040x}" for i in range(1, 8)]


def test_encode_scores_is_the_abi_encoding_of_a_uint256_array():
    for scores in ([], [7], [0, 10_000, 5_000]):
        assert encode_scores(scores) == encode(["uint256[]"], [scores])


@settings(max_examples=200, deadline=None)
@given(
    pool=st.integers(1, 10**27), threshold=st.integers(0, 10_000), bps=st.integers(0, 10_000),
    k=st.integers(1, 7), data=st.data(),
)
def test_settlement_pays_the_pool_to_the_wei(pool, threshold, bps, k, data):
    n = data.draw(st.integers(0, 32))
    revealed = data.draw(st.lists(st.booleans(), min_size=n, max_size=n))
    committee = MEMBERS[:k]
    scorers = data.draw(st.lists(st.sampled_from(committee), unique=True))
    rows = {m: data.draw(st.lists(st.integers(0, 10_000), min_size=n, max_size=n)) for m in scorers}
    out = settle_scores(pool, threshold, bps, committee, k, revealed, rows)
    assert out.trainer_paid + sum(out.committee_paid.values()) + out.refund == pool
    assert out.refund >= 0
    assert set(out.committee_paid) == set(scorers) and set(out.silent_members) == set(committee) - set(scorers)
    assert all(v == seat_reward(pool, bps, k) for v in out.committee_paid.values())
    for s in range(n):
        if not revealed[s] or not rows:
            assert not out.accepted[s] and out.rewards[s] == 0
            continue
        assert out.medians[s] == lower_median([r[s] for r in rows.values()])
        assert out.accepted[s] == (out.medians[s] >= threshold)
    # a larger median never earns less
    paid = sorted((m, r) for m, r, ok in zip(out.medians, out.rewards, out.accepted) if ok)
    assert all(a[1] <= b[1] for a, b in zip(paid, paid[1:]))
    # dust: less than one wei per accepted update, plus the unearned seats
    unearned = seat_reward(pool, bps, k) * (k - len(scorers))
    trainer_pool = pool - seat_reward(pool, bps, k) * k
    if any(out.accepted) and sum(m for m, ok in zip(out.medians, out.accepted) if ok) > 0:
        assert out.refund - unearned < sum(out.accepted)
    else:
        assert out.refund == unearned + trainer_pool


def test_credits_add_up_per_account():
    out = settle_scores(100, 5_000, 1_000, MEMBERS[:3], 3, [True, True], {MEMBERS[0]: [6000, 9000],
                                                                          MEMBERS[1]: [7000, 9000]})
    # seat = 100 * 1000 // 10000 // 3 = 3; trainer pool 91; medians 6000, 9000 -> 36, 54; refund 1 + 3
    assert out.seat_reward == 3 and out.rewards == [36, 54] and out.refund == 4
    credits = out.credits([MEMBERS[0], "0xowner"], "0xowner")
    assert credits == {MEMBERS[0]: 36 + 3, "0xowner": 54 + 4, MEMBERS[1]: 3}
