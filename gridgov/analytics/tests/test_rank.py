"""Ranking: best score first, ties share a place, rows without a score last, movement since before."""

from gridgov.analytics.kpis import Row, rank


def row(key: str, score: float | None, name: str = "") -> Row:
    return Row("area", key, name or key, score=score)


def places(rows) -> list[tuple[str, int | None, int | None]]:
    return [(r.key, r.rank, r.movement) for r in rows]


def test_equal_scores_share_a_place_and_the_next_place_is_skipped():
    ranked = rank([row("d", 70), row("b", 80), row("a", 90), row("c", 80)])
    assert [(r.key, r.rank) for r in ranked] == [("a", 1), ("b", 2), ("c", 2), ("d", 4)]
    three_way = rank([row("x", 50), row("y", 50), row("z", 50), row("w", 10)])
    assert [r.rank for r in three_way] == [1, 1, 1, 4]


def test_ties_are_listed_by_name_then_key():
    ranked = rank([row("2", 80, "b"), row("1", 80, "b"), row("3", 80, "a")])
    assert [r.key for r in ranked] == ["3", "1", "2"]
    assert {r.rank for r in ranked} == {1}


def test_rows_without_a_score_come_last_unranked_by_name():
    ranked = rank([row("n2", None, "b"), row("s1", 40), row("n1", None, "a"), row("s2", 60)])
    assert places(ranked) == [("s2", 1, None), ("s1", 2, None), ("n1", None, None), ("n2", None, None)]


def test_movement_is_the_previous_place_minus_this_place():
    previous = [row("a", 50), row("b", 90), row("c", 70), row("d", None)]  # b 1, c 2, a 3; d unranked
    current = [row("a", 95), row("b", 60), row("c", 70), row("d", 80), row("e", 10), row("f", None)]
    # a: 3 → 1 gained 2; d: 3rd now (80), unranked before: no movement; c: 2 → 2; b: 1 → 4 lost 3;
    # e is new; f has no score.
    assert places(rank(current, previous)) == [("a", 1, 2), ("d", 2, None), ("c", 3, -1), ("b", 4, -3),
                                               ("e", 5, None), ("f", None, None)]


def test_movement_with_shared_places():
    previous = [row("a", 80), row("b", 80), row("c", 60)]  # 1, 1, 3
    current = [row("a", 70), row("b", 90), row("c", 90)]  # b 1, c 1, a 3
    assert places(rank(current, previous)) == [("b", 1, 0), ("c", 1, 2), ("a", 3, -2)]


def test_no_previous_period_means_no_movement():
    assert places(rank([row("a", 1)], [])) == [("a", 1, None)]
    assert places(rank([row("a", 1)])) == [("a", 1, None)]
    assert rank([]) == []
