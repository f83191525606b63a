"""Administrative-unit names: exact, respelled, ambiguous, unknown."""

from digitize.text.gazetteer import lookup


def test_exact_names_of_each_level():
    assert lookup("Thái Bình", "tỉnh").status == "exact"
    assert lookup("Kiến Xương", "huyện").status == "exact"
    assert lookup("ĐÔNG HƯNG", "huyện").name == "Đông Hưng"
    assert lookup("Hà Nội", "thành phố").status == "exact"


def test_wrong_or_missing_diacritics_are_respelled_when_one_unit_matches():
    assert lookup("Đồng Hưng", "huyện") == lookup("Dong Hung", "huyện")
    assert lookup("Đồng Hưng", "huyện").status == "corrected"
    assert lookup("Đồng Hưng", "huyện").name == "Đông Hưng"


def test_several_spellings_are_ambiguous_and_nothing_is_unknown():
    assert lookup("Foo Bar", "huyện").status == "unknown"
    amb = lookup("Binh Minh")  # any unit type: many communes and towns of different spellings
    assert amb.status in ("ambiguous", "corrected") and "Bình Minh" in amb.candidates
