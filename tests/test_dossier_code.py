"""Dossier codes: both forms parse, every malformed shape is refused, OCR text is corrected only into
codes that validate, file names are read exactly."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from digitize.errors import DossierCodeError
from digitize.text import dossier_code as dc


@pytest.mark.parametrize(
    ("code", "agency", "date", "seq", "form", "aa"),
    [
        ("000.00.13.H56-210615-0001", "000.00.13.H56", dt.date(2021, 6, 15), "0001", "legacy", None),
        ("38.98.H29-210519-0013", "38.98.H29", dt.date(2021, 5, 19), "0013", "legacy", None),
        ("000.00.00.G12-200229-12345", "000.00.00.G12", dt.date(2020, 2, 29), "12345", "legacy", None),
        ("H26.107.01-260203-010023", "H26.107.01", dt.date(2026, 2, 3), "0023", "2026", "01"),
        ("H55.242-251231-990001", "H55.242", dt.date(2025, 12, 31), "0001", "2026", "99"),
    ],
)
def test_both_forms_parse(code: str, agency: str, date: dt.date, seq: str, form: str, aa: str | None) -> None:
    p = dc.parse(code)
    assert (p.code, p.agency, p.date, p.seq, p.form, p.aa) == (code, agency, date, seq, form, aa)
    assert dc.is_valid(code)


@pytest.mark.parametrize(
    ("code", "why"),
    [
        ("", "empty"),
        (" 000.00.13.H56-210615-0001", "spaces around"),
        ("000.00.13.H56 -210615-0001", "contains spaces"),
        ("000.00.13.H56-210615", "three parts"),
        ("000.00.13.H56-210615-0001-2", "three parts"),
        ("000.00.13.H56_210615_0001", "three parts"),
        ("H56-210615-0001", "agency part"),  # level-1 group alone is no agency identifier
        ("000.00.13.h56-210615-0001", "agency part"),  # lower-case letter
        ("000.00.13.56-210615-0001", "agency part"),  # no letter group
        ("000.00.13.HH6-210615-0001", "agency part"),
        ("0000.00.13.H56-210615-0001", "agency part"),  # 4-digit group
        ("000.00.13.00.H56-210615-0001", "agency part"),  # five groups
        ("000..00.13.H56-210615-0001", "agency part"),
        ("000.00.13.H56.-210615-0001", "agency part"),
        ("H26.107.01.H56-260203-010023", "agency part"),
        ("000.00.13.H56-21061-0001", "6 digits"),
        ("000.00.13.H56-2106150-0001", "6 digits"),
        ("000.00.13.H56-21O615-0001", "6 digits"),  # letter O in the date
        ("000.00.13.H56-211315-0001", "not a real date"),  # month 13
        ("000.00.13.H56-210631-0001", "not a real date"),  # 31 June
        ("000.00.13.H56-210229-0001", "not a real date"),  # 2021 is no leap year
        ("000.00.13.H56-210600-0001", "not a real date"),
        ("000.00.13.H56-210615-001", "4 to 6 digits"),
        ("000.00.13.H56-210615-0000001", "4 to 6 digits"),
        ("000.00.13.H56-210615-00A1", "4 to 6 digits"),
        ("H26.107.01-260203-0023", "2 digits (AA)"),  # 2026 form without AA
        ("H26.107.01-260203-AB0023", "2 digits (AA)"),
        ("H26.107.01-261303-010023", "not a real date"),
    ],
)
def test_invalid_shapes_are_refused_with_a_reason(code: str, why: str) -> None:
    with pytest.raises(DossierCodeError) as e:
        dc.parse(code)
    assert why in str(e.value)
    assert not dc.is_valid(code)


def test_error_names_the_code() -> None:
    with pytest.raises(DossierCodeError, match=r"'000\.00\.13\.H56-210615-01'"):
        dc.parse("000.00.13.H56-210615-01")


_lower = st.integers(0, 999).map(lambda n: f"{n:03d}") | st.integers(0, 99).map(lambda n: f"{n:02d}")
_letter_group = st.tuples(st.sampled_from("ABGHK"), st.integers(0, 99)).map(lambda t: f"{t[0]}{t[1]:02d}")
_dates = st.dates(dt.date(2000, 1, 1), dt.date(2099, 12, 31))


@given(st.lists(_lower, min_size=1, max_size=3), _letter_group, _dates, st.integers(1, 999999),
       st.sampled_from([4, 5, 6]))
def test_legacy_round_trip(lower: list[str], letter: str, date: dt.date, seq: int, width: int) -> None:
    seq_s = f"{seq % 10**width:0{width}d}"
    agency = ".".join([*lower, letter])
    code = f"{agency}-{date:%y%m%d}-{seq_s}"
    p = dc.parse(code)
    assert (p.form, p.agency, p.date, p.seq) == ("legacy", agency, date, seq_s)


@given(_letter_group, st.lists(st.integers(0, 999).map(str), min_size=1, max_size=3), _dates,
       st.integers(0, 99), st.integers(0, 9999))
def test_2026_round_trip(letter: str, groups: list[str], date: dt.date, aa: int, seq: int) -> None:
    eid = ".".join([letter, *groups])
    code = f"{eid}-{date:%y%m%d}-{aa:02d}{seq:04d}"
    p = dc.parse(code)
    assert (p.form, p.agency, p.date, p.aa, p.seq) == ("2026", eid, date, f"{aa:02d}", f"{seq:04d}")


@given(st.text(alphabet="0123456789.-HGO lI", max_size=40))
def test_parse_never_fails_otherwise(s: str) -> None:
    """Any string either parses to itself or raises DossierCodeError (never another exception)."""
    try:
        assert dc.parse(s).code == s
    except DossierCodeError:
        assert not dc.is_valid(s)


# --- OCR text ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ocr", "expected"),
    [
        ("Mã hồ sơ: 000.00.13.H56-210615-0001", "000.00.13.H56-210615-0001"),
        ("Mã hồ sơ: OOO.OO.l3.H56-2lO6l5-OOOl", "000.00.13.H56-210615-0001"),  # O/0 and l/1
        ("Ma ho so: 000.00.I3.H56-2I06I5-000I", "000.00.13.H56-210615-0001"),  # I/1, no diacritics
        ("Mã hồ sơ: 000.0013.H56-210615-0001", "000.00.13.H56-210615-0001"),  # dropped dot
        ("Mã hồ sơ: 0000013H56-210615-0001", "000.00.13.H56-210615-0001"),  # all dots dropped
        ("Mã hồ sơ: 000..00.13.H56-210615-0001", "000.00.13.H56-210615-0001"),  # doubled dot
        ("Mã hồ sơ: 000.00,13.H56 - 210615 - 0001", "000.00.13.H56-210615-0001"),  # comma, spaces
        ("Mã hồ sơ: 000 . 00 . 13 . H56-210615-0001", "000.00.13.H56-210615-0001"),
        ("Mã hồ sơ: 000.00.13.H56–210615—0001", "000.00.13.H56-210615-0001"),  # en/em dashes
        ("Ma ho so: 38.98.H29-21O5l9-OOl3", "38.98.H29-210519-0013"),
        ("Mã hồ sơ: H26.107.O1-26O2O3-O1OO23", "H26.107.01-260203-010023"),
        ("Mã hồ sơ: H26.107..01-260203-010023", "H26.107.01-260203-010023"),
    ],
)
def test_ocr_confusions_are_corrected(ocr: str, expected: str) -> None:
    assert dc.find_in_text(ocr) == [expected]


@pytest.mark.parametrize(
    "ocr",
    [
        "Mã hồ sơ: OOO.OO.l3.H56-2l13l5-OOOl",  # corrects to month 13: not a code
        "Mã hồ sơ: 000.00.13.H56-210631-0001",  # 31 June
        "Mã hồ sơ: 000.00.13.H56-210615-01",  # number too short
        "Số: 123/QĐ-UBND ngày 15-06-2021",
        "Điện thoại: 0227-3821-456",
        "Mã số hộ kinh doanh: 08A8458760",
    ],
)
def test_text_that_does_not_validate_gives_nothing(ocr: str) -> None:
    assert dc.find_in_text(ocr) == []


def test_labelled_codes_come_first() -> None:
    text = ("Căn cứ hồ sơ 000.00.16.H56-200517-0055 đã nộp;\n"
            "Mã hồ sơ:\n"
            "000.00.15.H56-241126-0222\n"
            "xem thêm 000.00.16.H56-200517-0055")
    assert dc.find_in_text(text) == ["000.00.15.H56-241126-0222", "000.00.16.H56-200517-0055"]
    assert dc.find_labelled(text) == ["000.00.15.H56-241126-0222"]


def test_find_in_text_ignores_trailing_junk_and_keeps_reading_order() -> None:
    text = "a 000.00.13.H56-210615-0001, b 38.98.H29-210519-0013."
    assert dc.find_in_text(text) == ["000.00.13.H56-210615-0001", "38.98.H29-210519-0013"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("000.00.13.H56-210615-0001.pdf", "000.00.13.H56-210615-0001"),
        ("/archive/2021/000.00.13.H56-210615-0001.tif", "000.00.13.H56-210615-0001"),
        ("ho-so_H26.107.01-260203-010023_p2.jpg", "H26.107.01-260203-010023"),
        ("scan_0003.pdf", None),
        ("batch_09.pdf", None),
        ("000.00.13.H56-211315-0001.pdf", None),  # not a real date
        ("OOO.OO.13.H56-210615-0001.pdf", None),  # file names are taken exactly
        ("1000.00.13.H56-210615-0001.pdf", None),
    ],
)
def test_from_filename(name: str, expected: str | None) -> None:
    assert dc.from_filename(name) == expected
