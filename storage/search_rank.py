"""The search tiers computed in Python, and the page picked from one ranked window (see storage/search.py).

Reading a few hundred rows' search columns and ranking them here costs less than asking the index once
per tier: an index query whose words are common but whose combination is rare walks long posting lists
to find nothing. The tiers are the same as the index queries of storage/search.py (the columns hold the
words the index holds, one space apart), so both ways give the same order; tests/test_search_large.py
checks that they do.

The window is the newest matches of the widest tier (every tier is a subset of it), ranked. Results
come in tier order, newest first within a tier, so the window decides the page unless a better tier has
too few members in it: then only those better tiers are looked for among the older matches.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any

from storage.folding import PAIR_EXACT, PAIR_FOLDED, fold, pairs

TIERS = 7
Ranked = list[tuple[Hashable, int]]  # (key, tier), newest first


def build_tiers(phrase_e: Any, phrase_f: Any, all_e: Any, any_e: Any, all_f: Any, both: Callable[[Any, Any], Any]
           ) -> list[Any]:
    """The seven tiers, best first (each a subset of the last: every word, folded). Every word spelt exactly
    implies every word folded, so the fifth is asked without the folded words (one posting list less)."""
    return [phrase_e, both(phrase_f, all_e), both(phrase_f, any_e), phrase_f, all_e, both(all_f, any_e), all_f]


def tier_function(q_words: list[str]) -> Callable[[str, str, str], int]:
    """The tier (0 best .. 6) of a document whose folded words hold every folded query word, from its
    exact-lower words, folded words and word pairs (the ``documents`` search columns)."""
    exact_words = [f" {w} " for w in q_words]  # a word: " w " inside the padded column
    folded_words = [fold(w) for w in q_words]
    exact_pairs = [f" {p} " for p in pairs(q_words, PAIR_EXACT)]
    folded_pairs = [f" {p} " for p in pairs(folded_words, PAIR_FOLDED)]
    one = f" {folded_words[0]} " if len(q_words) == 1 else ""

    def tier(lower: str, folded: str, word_pairs: str) -> int:
        exact, pair_padded = f" {lower} ", f" {word_pairs} "
        all_e = all(w in exact for w in exact_words)
        if len(q_words) == 1:
            phrase_e, phrase_f = all_e, one in f" {folded} "
        else:
            phrase_e = all(p in pair_padded for p in exact_pairs)
            phrase_f = phrase_e or all(p in pair_padded for p in folded_pairs)
        if phrase_e:
            return 0
        any_e = all_e or any(w in exact for w in exact_words)
        flags = [phrase_f and all_e, phrase_f and any_e, phrase_f, all_e, any_e]
        return flags.index(True) + 1 if True in flags else 6

    return tier


def better_than(tiers: list[Any], best: int, either: Callable[[Any, Any], Any]) -> Any:
    """The condition of tiers 0..best-1 together, from the tiers' conditions (``build_tiers``): the first
    four are nested (each holds for the one before), and every word spelt exactly implies some are."""
    if best <= 4:
        return tiers[best - 1]
    return either(tiers[3], tiers[4] if best == 5 else tiers[5])


def in_tier_order(ranked: Ranked) -> list[Hashable]:
    """The keys of newest-first ranked rows in result order: tier, then newest first."""
    return [k for k, _ in sorted(ranked, key=lambda r: r[1])]


def reach(ranked: Ranked, want: int) -> int:
    """The worst tier the first ``want`` results reach among ``ranked`` (which holds at least ``want``)."""
    counts = [0] * TIERS
    for _, t in ranked:
        counts[t] += 1
    best, seen = 0, counts[0]
    while seen < want:
        best += 1
        seen += counts[best]
    return best


def page_from_window(window: Ranked, want: int, older_union: Callable[[int], Ranked | None],
                     older_tier: Callable[[int, int], Sequence[Hashable]]) -> list[Hashable] | None:
    """The first ``want`` keys in result order, from the ranked ``window`` (the newest matches; some are
    older), or None when the window has fewer than ``want`` rows (the caller reads tier by tier).

    ``older_union(t)``: every match older than the window in tiers 0..t-1, ranked, or None when there
    are too many to rank; ``older_tier(s, n)``: the newest n matches older than the window of tier s's
    condition (a tier's condition also holds for some rows of better tiers)."""
    if len(window) < want:
        return None
    best = reach(window, want)
    if best == 0:
        return [k for k, t in window if t == 0][:want]
    older = older_union(best)  # better tiers' older members rank before the window's tier ``best``
    if older is not None:
        return in_tier_order(window + older)[:want]  # stable: the window's rows first within a tier
    keys: dict[Hashable, None] = {}
    for s in range(best):
        keys.update((k, None) for k, t in window if t == s)
        keys.update((k, None) for k in older_tier(s, want))
        if len(keys) >= want:
            return list(keys)[:want]
    keys.update((k, None) for k in in_tier_order([r for r in window if r[1] >= best]))
    return list(keys)[:want]
