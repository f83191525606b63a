"""Vietnamese text helpers: NFC, tone-mark placement, folding, names."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from digitize.text.vntext import (
    canonical,
    capitalize_first,
    fold,
    has_diacritics,
    is_name_syllable,
    is_upper_text,
    new_tone_style,
    nfc,
    repair_surname,
    same_word,
    title_case,
)


def test_nfc_composes_decomposed_input():
    decomposed = unicodedata.normalize("NFD", "Quyết định")
    assert decomposed != "Quyết định"
    assert nfc(decomposed) == "Quyết định"


def test_old_tone_placement_becomes_new():
    assert new_tone_style("Uỷ ban") == "Ủy ban"
    assert new_tone_style("xã Tân Hoà") == "xã Tân Hòa"
    assert new_tone_style("thuỷ lợi") == "thủy lợi"
    assert new_tone_style("khoẻ") == "khỏe"
    assert new_tone_style("HOÀ") == "HÒA"


def test_tone_placement_leaves_other_syllables_alone():
    for word in ("quà", "hoàn", "thuyền", "Quý", "huế", "hoặc", "Nguyễn"):
        assert new_tone_style(word) == word


def test_same_word_ignores_tone_placement_and_case():
    assert same_word("Uỷ", "ủy")
    assert same_word("hoà", "HÒA")
    assert not same_word("hòa", "hóa")


def test_fold_drops_diacritics_and_d_stroke():
    assert fold("Ủy ban nhân dân huyện Đông Hưng") == "uy ban nhan dan huyen dong hung"
    assert fold("  QUYẾT   ĐỊNH ") == "quyet dinh"
    assert fold("Uỷ") == fold("Ủy") == "uy"


def test_canonical_is_nfc_new_style_single_spaced():
    text = unicodedata.normalize("NFD", "Uỷ  ban\tnhân dân")
    assert canonical(text) == "Ủy ban nhân dân"


def test_case_helpers():
    assert capitalize_first("ĐÔNG") == "Đông"
    assert title_case("PHẠM XUÂN CÔNG TÙNG") == "Phạm Xuân Công Tùng"
    assert is_upper_text("QUYẾT ĐỊNH")
    assert not is_upper_text("Về việc giao đất")
    assert has_diacritics("Hưng") and not has_diacritics("Hung")


def test_surname_repair_only_when_unambiguous():
    assert repair_surname("Đổ") == "Đỗ"  # OCR swapped the tone: only one surname folds to "do"
    assert repair_surname("PHẠM") == "Phạm"
    assert repair_surname("Dương") == "Dương"  # "Dương" and "Đường" both fold to "duong": kept as read
    assert repair_surname("Ng") is None
    assert is_name_syllable("Hữu") and not is_name_syllable("Hưu")


_VI = st.text(alphabet="aăâeêioôơuưyđAĂÂEÊIOÔƠUƯYĐàáảãạòóỏõọùúủũụỳýỷỹỵ hqnt", max_size=30)


@given(_VI)
def test_fold_is_idempotent_and_ascii(text):
    folded = fold(text)
    assert fold(folded) == folded
    assert all(ord(ch) < 128 for ch in folded)


@given(_VI)
def test_new_tone_style_is_idempotent_and_keeps_letters(text):
    once = new_tone_style(text)
    assert new_tone_style(once) == once
    assert fold(once) == fold(text)


@pytest.mark.parametrize(("tail", "surname"), [
    ("ùi", "Bùi"), ("ạm", "Phạm"), ("guyễn", "Nguyễn"), ("rần", "Trần"),
    ("ương", None), ("ê", None), ("ăn", None), ("hết", None), ("Bùi", None),
])
def test_a_surname_from_its_end(tail, surname):
    """The one surname that ends so, one or two letters longer; None when none or several do."""
    from digitize.text.vntext import surname_from_tail

    assert surname_from_tail(tail) == surname
