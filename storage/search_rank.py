"""The search tiers computed in Python, for a small complete set of matches (see storage/search.py).

When every match of a query is known and there are few of them, reading their search columns and
ranking them here costs less than asking the index once per tier: an index query whose words are
common but whose combination is rare walks long posting lists to find nothing. The tiers are the
same as the index queries of storage/search.py (the columns hold the words the index holds, one space
apart), so both paths give the same order; tests/test_search_large.py checks that they do.
"""

from __future__ import annotations

from storage.folding import PAIR_EXACT, PAIR_FOLDED, fold, pairs


def tier_of(q_words: list[str], lower: str, folded: str, word_pairs: str) -> int:
    """The tier (0 best .. 6) of a document whose folded words hold every folded query word, from its
    exact-lower words, folded words and word pairs (the ``documents`` search columns)."""
    exact, folded_padded, pair_padded = f" {lower} ", f" {folded} ", f" {word_pairs} "  # a word: " w " inside
    folded_words = [fold(w) for w in q_words]
    all_e = all(f" {w} " in exact for w in q_words)
    any_e = any(f" {w} " in exact for w in q_words)
    if len(q_words) == 1:
        phrase_e, phrase_f = all_e, f" {folded_words[0]} " in folded_padded
    else:
        phrase_e = all(f" {p} " in pair_padded for p in pairs(q_words, PAIR_EXACT))
        phrase_f = all(f" {p} " in pair_padded for p in pairs(folded_words, PAIR_FOLDED))
    flags = [phrase_e, phrase_f and all_e, phrase_f and any_e, phrase_f, all_e, any_e, True]
    return flags.index(True)
