"""Number and date parsers, Decree 30 checks, dossier dates, personal-ID detection, review reasons."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from digitize.document.validate import (
    check_number_type,
    contains_personal_id,
    date_issues,
    dossier_date,
    number_rule_issues,
    parse_number,
    parse_vn_date,
    review,
)
from digitize.models import Field, Metadata
from digitize.text import doctypes
from digitize.text.vntext import fold

QD = doctypes.by_name("Quyết định")
TB = doctypes.by_name("Thông báo")


# --- numbers --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("printed", "expected"),
    [
        ("123/QĐ-UBND", "123/QĐ-UBND"),
        ("123 / QĐ - UBND", "123/QĐ-UBND"),
        ("123/QĐ–UBND.", "123/QĐ-UBND"),  # en dash, trailing full stop
        ("163/2025/QĐ-CTUBND", "163/2025/QĐ-CTUBND"),
        ("476/UBND-VP", "476/UBND-VP"),
        ("2231/TNMT", "2231/TNMT"),
        ("1O3/TB-UBND", "103/TB-UBND"),  # letter O read for a zero
        ("05/QĐ-UBND", "05/QĐ-UBND"),
    ],
)
def test_parse_number_normalises(printed, expected):
    parsed = parse_number(printed, QD)
    assert parsed is not None
    assert parsed.text == expected


def test_parse_number_repairs_lost_diacritic_when_unambiguous():
    parsed = parse_number("37/QD-UBND")
    assert parsed is not None and parsed.text == "37/QĐ-UBND"
    assert parsed.issues  # the repair is recorded: a clerk may want to look


def test_parse_number_does_not_guess_ambiguous_abbreviations():
    # "DA" is Dự án, "ĐA" is Đề án: without the document type the OCR'd form stays as read
    assert parse_number("12/DA-UBND").symbol[0] == "DA"
    assert parse_number("12/HD-UBND", doctypes.by_name("Hợp đồng")).symbol[0] == "HĐ"
    assert parse_number("12/HD-UBND", doctypes.by_name("Hướng dẫn")).symbol[0] == "HD"


@pytest.mark.parametrize("junk", ["", "QĐ-UBND", "abc/QĐ", "12/", "12/QĐ-", "…/QĐ-UBND", "Số điện thoại"])
def test_parse_number_rejects_non_numbers(junk):
    assert parse_number(junk) is None


def test_number_rules_and_type_agreement():
    assert number_rule_issues(parse_number("5/QĐ-UBND"))  # under 10 without its leading zero
    assert number_rule_issues(parse_number("012/QĐ-UBND"))  # leading zero above 9
    assert not number_rule_issues(parse_number("05/QĐ-UBND"))
    assert not check_number_type(parse_number("12/QĐ-UBND"), QD)
    assert check_number_type(parse_number("12/TB-UBND"), QD)
    assert check_number_type(parse_number("12/QĐ-UBND"), doctypes.CONG_VAN)
    assert not check_number_type(parse_number("12/UBND-VP"), doctypes.CONG_VAN)


_ABBRS = [t.abbreviation for t in doctypes.DOC_TYPES if t.abbreviation and t.kind == "administrative"]
_AGENCY = st.sampled_from(["UBND", "TNMT", "TCKH", "CTUBND", "VP", "TP", "UBND-TNMT"])
_SPACE = st.sampled_from(["", " ", "  "])


@given(st.integers(1, 99999), st.sampled_from(_ABBRS), _AGENCY, _SPACE, _SPACE, st.booleans())
def test_parse_number_roundtrip_property(n, abbr, agency, s1, s2, with_year):
    number = f"{n:02d}"
    head = f"{number}/2024" if with_year else number
    printed = f"{head}{s1}/{s2}{abbr}{s1}-{s2}{agency}"
    parsed = parse_number(printed, doctypes.by_abbreviation(abbr))
    assert parsed is not None
    assert parsed.text == f"{head}/{abbr}-{agency}"
    assert " " not in parsed.text
    assert parsed.number == number and parsed.symbol[0] == abbr
    assert not number_rule_issues(parsed)


# --- dates ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Kiến Xương, ngày 15 tháng 6 năm 2021", dt.date(2021, 6, 15)),
        ("Đông Hưng, ngày 01 tháng 02 năm 2024", dt.date(2024, 2, 1)),
        ("Tiền Hải, ngảy 08 thảng 12 nãm 2018", dt.date(2018, 12, 8)),  # damaged diacritics
        ("Vũ Thư, ngày O9 tháng ll năm 2O22", dt.date(2022, 11, 9)),  # letters read for digits
        ("ngày 31 tháng 2 năm 2024", None),  # no such day
        ("Ngày 10/02/2024, bộ phận một cửa", None),  # not the Decree 30 form
    ],
)
def test_parse_vn_date(text, expected):
    assert parse_vn_date(text) == expected


@given(st.dates(dt.date(1945, 9, 2), dt.date(2099, 12, 31)), st.booleans(), st.booleans())
def test_parse_vn_date_roundtrip_property(d, leading_zero, damaged):
    day = f"{d.day:02d}" if leading_zero or d.day < 10 else str(d.day)
    month = f"{d.month:02d}" if d.month < 3 else str(d.month)  # Decree 30: zero before 1 and 2 only
    text = f"Kiến Xương, ngày {day} tháng {month} năm {d.year}"
    if damaged:
        text = fold(text)  # OCR lost every diacritic
    assert parse_vn_date(text) == d


def test_date_issues():
    today = dt.date(2025, 1, 10)
    assert not date_issues(dt.date(2024, 5, 1), dossier=dt.date(2024, 4, 30), today=today)
    assert any("future" in i for i in date_issues(dt.date(2025, 2, 1), today=today))
    assert any("1945" in i for i in date_issues(dt.date(1900, 1, 1), today=today))
    assert any("dossier" in i for i in date_issues(dt.date(2024, 4, 1), dossier=dt.date(2024, 4, 30), today=today))


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("000.00.13.H56-210615-0001", dt.date(2021, 6, 15)),
        ("38.98.H29-210519-0013", dt.date(2021, 5, 19)),
        ("H26.107.01-260203-010023", dt.date(2026, 2, 3)),
        ("H26.107.01-260203-AB0023", dt.date(2026, 2, 3)),
        ("000.00.13.H56-211345-0001", None),  # month 13
        ("not a code", None),
        (None, None),
    ],
)
def test_dossier_date(code, expected):
    assert dossier_date(code) == expected


# --- personal data --------------------------------------------------------------------------------


def test_personal_id_detection():
    assert contains_personal_id("Số định danh cá nhân: 034210786632")
    assert contains_personal_id("CMND số 151234567 cấp ngày")
    assert contains_personal_id("Số định danh cá nhân: 0342 1078 6632")  # OCR split the digits
    assert not contains_personal_id("Điện thoại: 0996388058")  # 10 digits: a phone number
    assert not contains_personal_id("Vốn kinh doanh: 490.000.000 đồng")
    assert not contains_personal_id("Số: 123/QĐ-UBND ngày 15/06/2021")


# --- review ---------------------------------------------------------------------------------------


def _md(**over):
    base = dict(
        doc_type=Field("Quyết định", 0.95), number=Field("123/QĐ-UBND", 0.95),
        issued_date=Field("2021-06-15", 0.95), issuer=Field("Ủy ban nhân dân huyện Kiến Xương", 0.95),
        place=Field("Kiến Xương", 0.95), summary=Field("Về việc cấp phép", 0.95), signer=Field("Trần Thị Hoa", 0.95),
    )
    base.update(over)
    return Metadata(**base)


def test_review_passes_consistent_metadata():
    md, reasons = review(_md(), dossier_id="000.00.13.H56-210610-0001", today=dt.date(2025, 1, 1), doc_type=QD)
    assert reasons == ()
    assert md.number.reason is None


def test_review_reasons_per_field():
    md, reasons = review(
        _md(number=Field("123/TB-UBND", 0.95), issued_date=Field("2021-06-15", 0.5), signer=Field(None, 0.0)),
        dossier_id="000.00.13.H56-210701-0001", today=dt.date(2025, 1, 1), doc_type=QD,
    )
    fields = {r.split(":", 1)[0] for r in reasons}
    assert fields == {"number", "issued_date", "signer"}
    assert any("weak" in r for r in reasons if r.startswith("issued_date"))
    assert any("dossier" in r for r in reasons if r.startswith("issued_date"))
    assert md.number.reason and "TB" in md.number.reason
    assert md.signer.reason == "missing"


def test_review_summary_required_only_where_the_type_has_one():
    _, reasons = review(_md(summary=Field(None)), today=dt.date(2025, 1, 1), doc_type=QD)
    assert reasons == ("summary: missing",)
    permit = doctypes.by_name("Giấy phép xây dựng")
    _, reasons = review(_md(summary=Field(None), doc_type=Field(permit.name, 0.95), number=Field("148/GPXD", 0.9)),
                        today=dt.date(2025, 1, 1), doc_type=permit)
    assert reasons == ()


def test_doctype_heading_matching_tolerates_ocr_damage():
    assert doctypes.match_heading("QUYẾT ĐỊNH")[0].name == "Quyết định"
    assert doctypes.match_heading("QUYET DINH")[0].name == "Quyết định"
    assert doctypes.match_heading("THÔNG BẢO")[0].name == "Thông báo"
    assert doctypes.match_heading("GIẤY XÁC NHẬN TÌNH TRẠNG HÔN NHÂN")[0].name == "Giấy xác nhận tình trạng hôn nhân"
    assert doctypes.match_heading("TRÍCH LỤC KHAI SINH (BẢN SAO)")[0].name == "Trích lục khai sinh"
    assert doctypes.match_heading("ỦY BAN NHÂN DÂN XÃ NGUYÊN XÁ") is None
    assert doctypes.match_heading("QUYẾT ĐỊNH CỦA CHỦ TỊCH") is None
    assert TB.abbreviation == "TB" and doctypes.by_abbreviation("QyĐ").name == "Quy định"


def test_a_closing_bracket_read_for_a_one_in_a_date() -> None:
    from digitize.document.validate import parse_vn_date

    assert parse_vn_date("Bắc Giang, ngày 14 tháng 1] năm 2012") == dt.date(2012, 11, 14)


def test_a_joint_circular_symbol_one_letter_off_is_repaired_for_its_type() -> None:
    from digitize.document.validate import parse_number
    from digitize.text.doctypes import by_name

    parsed = parse_number("01/2016/TILT-TANDTC-VKSNDTC-BTP", by_name("Thông tư liên tịch"))
    assert parsed is not None and parsed.symbol[0] == "TTLT" and parsed.issues
    assert parse_number("01/2016/TILT-BTP", None).symbol[0] == "TILT"  # no type known: nothing to repair towards


def test_party_numbers_keep_their_notation() -> None:
    from digitize.document.validate import parse_number

    parsed = parse_number("368 - CV/BPTT")
    assert parsed is not None and parsed.party and parsed.text == "368-CV/BPTT"
    assert parsed.number == "368" and parsed.symbol == ("CV", "BPTT") and parsed.code_notation == "CV/BPTT"
    assert parse_number("12-QĐ/TU").text == "12-QĐ/TU"


@pytest.mark.parametrize(("text", "expect"), [("464/TTg-CĐS", "464/TTg-CĐS"), ("12/BCĐ-VP", "12/BCĐ-VP"),
                                              ("5/ubnd-vx", "5/UBND-VX")])
def test_agency_mixed_case_abbreviation_is_kept(text, expect):
    """"TTg" (Thủ tướng Chính phủ) is printed mixed case; only an all-lower reading is upper-cased."""
    parsed = parse_number(text)
    assert parsed is not None and parsed.text == expect


@pytest.mark.parametrize(("text", "expect"), [
    ("01⁄2016/TT-BTP", "01/2016/TT-BTP"), ("01/2016TTLT-BTP", "01/2016/TTLT-BTP"), ("7∕2020/NĐ-CP", "7/2020/NĐ-CP"),
])
def test_slashes_ocr_gives_otherwise_and_a_lost_slash_after_the_year(text, expect):
    parsed = parse_number(text)
    assert parsed is not None and parsed.text == expect


@pytest.mark.parametrize(("text", "number", "year"), [
    ("19.2012/GPXD", "19", "2012"), ("19. 2012/GPXD", "19", "2012"), ("05.2009/QĐ-UBND", "05", "2009"),
])
def test_a_year_joined_to_the_number_by_a_full_stop_is_kept_as_printed(text, number, year):
    """Older papers print "Số: 19.2012/GPXD": the number, its year and the symbol, the stop kept."""
    parsed = parse_number(text)
    assert parsed is not None and (parsed.number, parsed.year) == (number, year)
    assert parsed.text == text.replace(" ", "") and parsed.code_notation.startswith(year + "/")
    assert parse_number("12.5/QĐ") is None  # no year after the stop: not this form


@pytest.mark.parametrize(("text", "expect", "repaired"), [
    ("492/TB-UIBND", "492/TB-UBND", True), ("12/QĐ-UBNlD", "12/QĐ-UBND", True), ("12/QĐ-UBND", "12/QĐ-UBND", False),
    ("12/QĐ-UBNDT", "12/QĐ-UBNDT", False),  # a letter that is no stroke: another body's symbol, left alone
])
def test_a_stroke_read_as_an_extra_letter_of_ubnd_is_repaired_and_said(text, expect, repaired):
    parsed = parse_number(text)
    assert parsed is not None and parsed.text == expect
    assert any("agency abbreviation" in i for i in parsed.issues) is repaired


def test_a_section_sign_in_the_symbol_is_an_eight_by_a_digit_and_an_s_elsewhere() -> None:
    p = parse_number("115/CV-PA§3")
    assert p is not None and p.symbol == ("CV", "PA83") and p.issues
    p = parse_number("12/§TP")
    assert p is not None and p.symbol == ("STP",) and p.issues
