"""The page picked from one ranked window (storage/search_rank.py), against ranking every match.

Matches are numbered newest first (0 is the newest); each has a tier. The window is the newest few;
the page must be what sorting every match by (tier, age) gives, whatever is asked of the older ones.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Hashable
from typing import Any

import pytest

from storage.search_rank import TIERS, better_than, build_tiers, page_from_window, tier_function


def expected(tiers: list[int], want: int) -> list[int]:
    return sorted(range(len(tiers)), key=lambda i: (tiers[i], i))[:want]


def pick(tiers: list[int], size: int, want: int, union_limit: int, asked: list[str]) -> list[Hashable] | None:
    window = [(i, t) for i, t in enumerate(tiers[:size])]

    def older_union(best: int) -> list[tuple[Hashable, int]] | None:
        asked.append(f"union<{best}")
        got = [(i, t) for i, t in enumerate(tiers) if i >= size and t < best]
        return got if len(got) < union_limit else None

    def older_tier(s: int, n: int) -> list[Hashable]:
        asked.append(f"tier{s}")  # a tier's condition holds for better tiers' rows too
        return [i for i, t in enumerate(tiers) if i >= size and t <= s][:n]

    return page_from_window(window, want, older_union, older_tier)


@pytest.mark.parametrize("union_limit", [1000, 1])
def test_page_from_window_is_the_full_ranking(union_limit: int) -> None:
    rng = random.Random(5)
    for _ in range(300):
        tiers = [rng.choice([0, 1, 3, 6, 6, 6, 4]) for _ in range(rng.randint(5, 60))]
        size, want = rng.randint(1, len(tiers)), rng.randint(1, 12)
        got = pick(tiers, size, want, union_limit, [])
        assert got == (None if size < want else expected(tiers, want))


def test_only_the_thin_better_tiers_are_asked_for_older_rows() -> None:
    asked: list[str] = []
    tiers = [0] * 25 + [1] * 5
    assert pick(tiers, 20, 20, 1000, asked) == list(range(20)) and asked == []  # the best tier fills the page
    tiers = [2] * 15 + [0] * 3 + [5] * 10 + [0] * 4  # 3 of tier 0 in the window, 4 more older
    assert pick(tiers, 20, 10, 1000, asked) == [15, 16, 17, 28, 29, 30, 31, 0, 1, 2] and asked == ["union<2"]
    asked.clear()
    assert pick(tiers, 20, 10, 1, asked) == [15, 16, 17, 28, 29, 30, 31, 0, 1, 2]
    assert asked == ["union<2", "tier0", "tier1"]  # too many to rank at once: tier by tier


def test_tier_function_orders_spellings() -> None:
    tier = tier_function(["kiến", "xương"])
    assert tier("kiến xương", "kien xuong", "kiếnǂxương kienǁxuong") == 0  # the phrase spelt exactly
    assert tier("kiến xướng", "kien xuong", "kiếnǂxướng kienǁxuong") == 2  # folded phrase, one word exact
    assert tier("kien xuong", "kien xuong", "kienǂxuong kienǁxuong") == 3  # folded phrase only
    assert tier("xương kiến", "xuong kien", "xươngǂkiến xuongǁkien") == 4  # every word, not as the phrase
    assert tier("xuong kien", "xuong kien", "xuongǂkien xuongǁkien") == 6


def test_better_tiers_together_is_the_union_of_their_conditions() -> None:
    """``better_than(tiers, best)`` holds exactly for the documents of tiers 0..best-1 (every consistent
    combination of a document's facts: the exact phrase implies the folded one and every exact word)."""
    facts = ["phrase_e", "phrase_f", "all_e", "any_e"]

    def has(name: str) -> Callable[[dict[str, bool]], bool]:
        return lambda d: d[name]

    def both(a: Callable[[dict[str, bool]], bool], b: Callable[[dict[str, bool]], bool]) -> Any:
        return lambda d: a(d) and b(d)

    def either(a: Callable[[dict[str, bool]], bool], b: Callable[[dict[str, bool]], bool]) -> Any:
        return lambda d: a(d) or b(d)

    tiers = build_tiers(has("phrase_e"), has("phrase_f"), has("all_e"), has("any_e"), lambda d: True, both)
    for bits in itertools.product([False, True], repeat=len(facts)):
        d = dict(zip(facts, bits, strict=True))
        if (d["phrase_e"] and not (d["phrase_f"] and d["all_e"])) or (d["all_e"] and not d["any_e"]):
            continue  # not a possible document
        tier = next(i for i, t in enumerate(tiers) if t(d))
        for best in range(1, TIERS):
            assert better_than(tiers, best, either)(d) == (tier < best), (d, best)
