"""The issuer named by the number's symbol (central bodies), where the header gave none or only part."""

from __future__ import annotations

import pytest

from digitize.document.issuer_symbol import bodies_of, is_joint, issuer_by_symbol
from digitize.document.lines import _Found


@pytest.mark.parametrize(("symbol", "bodies"), [
    (("NĐ", "CP"), ["Chính phủ"]), (("TTg", "CĐS"), ["Thủ tướng Chính phủ"]), (("QĐ", "BTC"), ["Bộ Tài chính"]),
    (("TTLT", "TANDTC", "VKSNDTC", "BTP"), ["Tòa án nhân dân tối cao", "Viện kiểm sát nhân dân tối cao", "Bộ Tư pháp"]),
    (("QĐ", "UBND"), []), (("SNV", "VP"), []), (("TT", "BGDĐT"), ["Bộ Giáo dục và Đào tạo"]),
])
def test_bodies_of(symbol, bodies):
    assert bodies_of(symbol) == bodies


def test_issuer_not_in_the_header_is_named_by_the_symbol_and_flagged():
    out = issuer_by_symbol(_Found(None, 0.0, "issuer: issuer block not found"), "28/2021/NĐ-CP", "Nghị định")
    assert out.value == "Chính phủ" and out.reason and "symbol" in out.reason


def test_a_joint_circular_names_all_its_issuers():
    found = _Found("Bộ Tư pháp", 0.9, None)
    out = issuer_by_symbol(found, "01/2016/TTLT-TANDTC-VKSNDTC-BTP", "Thông tư liên tịch")
    assert out.value == "Tòa án nhân dân tối cao, Viện kiểm sát nhân dân tối cao, Bộ Tư pháp"
    assert is_joint("Nghị quyết liên tịch") and not is_joint("Thông tư")


@pytest.mark.parametrize(("found", "number", "doc_type"), [
    (_Found("Ủy ban nhân dân huyện Kiến Xương", 0.9, None), "12/QĐ-UBND", "Quyết định"),  # a local body
    (_Found("Bộ Tư pháp", 0.9, None), "5/2020/TT-BTP", "Thông tư"),  # header and symbol agree
    (_Found("Văn phòng Chính phủ", 0.9, None), "7/TB-VPCP", "Thông báo"),
    (_Found(None, 0.0, "issuer: issuer block not found"), None, None),
])
def test_a_header_issuer_stands(found, number, doc_type):
    assert issuer_by_symbol(found, number, doc_type) is found


def test_a_party_body_named_after_a_resolution():
    from digitize.document.issuer import _org_case, _trim

    name = _trim("BỘ PHẬN THƯỜNG TRỰC CHỈ ĐẠO THỰC HIỆN NGHỊ QUYẾT TW4 (KHÓA XI")
    assert name.endswith("(KHÓA XI)")  # the closing bracket OCR lost, or the trim took
    assert _org_case(name).casefold() == "bộ phận thường trực chỉ đạo thực hiện nghị quyết trung ương 4 (khóa xi)"


def test_an_agency_abbreviated_in_the_header_is_recognised():
    from digitize.document.issuer import _canonical_agency

    assert _canonical_agency("BAN QUẢN LÝ CÁC KCN")[0] == "Ban Quản lý các khu công nghiệp"
    found = _canonical_agency("BẠN QUAN LÝ CÁC ÁC KCN KC")  # misread as well
    assert found is not None and found[0] == "Ban Quản lý các khu công nghiệp"
