"""brainnet.chain.inference_state: decoding Inference's stored words (the contract's own
reads are checked against it by every contract test that reads a task through it)."""
from __future__ import annotations

from brainnet.chain.inference_state import Level, Seat, Status, Terms, TaskView

K = 11


def _word(header: int, seats: list[tuple[int, bool, int]]) -> int:
    word = header
    for i, (index, committed, value) in enumerate(seats):
        word |= (index | (committed << 11) | (value << 12)) << (40 + 19 * i)
    return word


def test_level_decodes_header_and_seats_in_draw_order():
    seats = [(i + 1, i % 2 == 0, (i % 3)) for i in range(K)]
    head = 1234 | (7 << 32) | (2 << 249)                       # deadline, commits, 2 values stored
    lv = Level.decode(0, K, [_word(head, seats)], [b"a" * 32, b"b" * 32])
    assert (lv.deadline, lv.commits, lv.near, lv.drawn) == (1234, 7, False, True)
    assert lv.seats == tuple(Seat(i, c, v) for i, c, v in seats)
    assert lv.reveals == sum(1 for _i, _c, v in seats if v)
    assert lv.value_of(lv.seats[1]) == b"a" * 32 and lv.value_of(lv.seats[0]) is None


def test_a_level_of_23_spans_three_words_and_an_undrawn_level_is_empty():
    seats = [(100 + i, True, 1) for i in range(23)]
    words = [_word(50, seats[:11]), _word(0, seats[11:22]), _word(0, seats[22:])]
    lv = Level.decode(1, 23, words, [b"v" * 32])
    assert [s.index for s in lv.seats] == list(range(100, 123)) and lv.reveals == 23
    assert not Level.decode(0, K, [0], []).drawn


def test_center_exact_counts_seats_and_near_counts_agreement_ties_to_the_earliest():
    exact = Level.decode(0, 5, [_word(1, [(1, True, 1), (2, True, 2), (3, True, 2), (4, True, 1), (5, True, 0)])],
                         [b"x" * 32, b"y" * 32])
    assert exact.center(0) == (2, 0)                           # 2 each: the first stored value wins
    a, b, far = bytes(32), bytes(31) + b"\x01", b"\xff" * 32
    near = Level.decode(0, 3, [_word(1 | (1 << 39), [(1, True, 1), (2, True, 2), (3, True, 3)])], [far, a, b])
    assert near.near and near.center(1) == (2, 1)               # a and b agree within 1 bit


def test_terms_and_status():
    packed = 11 | (6 << 16) | (1 << 32) | (40 << 48) | (30 << 88) | (7 << 128)
    assert Terms.decode(packed) == Terms(11, 6, 1, 40, 30)
    assert Status(4) == Status.SETTLED and Status(0) == Status.NONE


def test_finalizable_follows_the_contract_rules():
    base = dict(task_id=1, requester="0x" + "00" * 20, model_id=b"", fee=1, request_block=1, commit_deadline=10,
                reveal_deadline=20, commits=3, reveals=2, top_result=b"", top_count=0, result=b"", final_block=0,
                level=0, seed_block=2, mode=0, tolerance=0, challenge_deadline=30, challenger="", bond=0, challenged=b"")
    drawn = TaskView(status=Status.DRAWN, **base)
    assert not drawn.finalizable(20, 3) and drawn.finalizable(21, 3) and drawn.finalizable(5, 2)
    assert TaskView(status=Status.PROVISIONAL, **base).finalizable(31, 3)
    assert TaskView(status=Status.REQUESTED, **base).finalizable(2 + 257, 3)
