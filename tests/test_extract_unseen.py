"""Extraction on layouts and types the first fixtures did not have (classes met on real archives):
legal document types, copy marks, bodies with two- and three-line issuer blocks, unit words that are not
place names ("Ban Quản lý", "Xã hội"), and number lines whose digits were handwritten and not read."""

from __future__ import annotations

import pytest

from tests.gen.ocr_words import LEFT, RIGHT, Sheet, body, footer, run

BODY = [
    "Căn cứ Luật Tổ chức Chính phủ ngày 19 tháng 6 năm 2015;",
    "Căn cứ Nghị định số 73/2019/NĐ-CP ngày 05 tháng 9 năm 2019 của Chính phủ;",
    "Điều 1. Phạm vi điều chỉnh và đối tượng áp dụng của văn bản này.",
]


def page(*, issuer: tuple[str, ...], number: str | None, title: str | None, summary: str | None,
         date_line: str = "Hà Nội, ngày 26 tháng 01 năm 2026", vv: str | None = None,
         motto: str = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM") -> Sheet:
    s = Sheet()
    s.line(motto, 230, cx=RIGHT)
    s.line("Độc lập - Tự do - Hạnh phúc", 290, cx=RIGHT)
    for i, ln in enumerate(issuer):
        s.line(ln, 230 + 58 * i, cx=LEFT)
    y = 230 + 58 * len(issuer) + 70
    if number is not None:
        s.line(f"Số: {number}" if number else "Số:", y, cx=LEFT)
    s.line(date_line, y, cx=RIGHT)
    if vv:
        s.line(vv, y + 70, cx=LEFT, size=40)
    y += 200
    if title:
        s.line(title, y, size=56)
        if summary:
            s.line(summary, y + 88, size=46)
    y = body(s, y + 260, BODY)
    footer(s, y + 120, authority=("TM. CHÍNH PHỦ", "THỦ TƯỚNG"), name="Nguyễn Chí Dũng")
    return s


def test_a_decree_of_the_government() -> None:
    md, _ = run(page(issuer=("CHÍNH PHỦ",), number="45/2026/NĐ-CP", title="NGHỊ ĐỊNH",
                     summary="Quy định quản lý đầu tư ứng dụng công nghệ thông tin").page())
    assert md.doc_type.value == "Nghị định"
    assert md.number.value == "45/2026/NĐ-CP"
    assert md.issuer.value == "Chính phủ"
    assert md.summary.value == "Quy định quản lý đầu tư ứng dụng công nghệ thông tin"
    assert md.issued_date.value == "2026-01-26"


def test_a_joint_circular_is_not_a_circular() -> None:
    md, _ = run(page(issuer=("BỘ TƯ PHÁP",), number="01/2016/TTLT-BTP", title="THÔNG TƯ LIÊN TỊCH",
                     summary="Hướng dẫn thi hành một số quy định của Luật hôn nhân và gia đình").page())
    assert md.doc_type.value == "Thông tư liên tịch"
    assert md.number.value == "01/2016/TTLT-BTP"


def test_a_copy_mark_is_named_as_printed() -> None:
    md, _ = run(page(issuer=("UBND TỈNH BẮC GIANG", "VĂN PHÒNG"), number="32/SL-VP", title="SAO LỤC",
                     summary=None, date_line="Bắc Giang, ngày 03 tháng 02 năm 2010").page())
    assert md.doc_type.value == "Sao lục"
    assert md.issuer.value.startswith("Văn phòng")


def test_the_issuing_body_is_the_lowest_line_of_the_header() -> None:
    md, _ = run(page(issuer=("UBND TỈNH BẮC GIANG", "HỘI ĐỒNG ĐỊNH GIÁ"), number="10/TTr-HĐ", title="TỜ TRÌNH",
                     summary="Phê duyệt giá trị còn lại của tài sản",
                     date_line="Bắc Giang, ngày 08 tháng 11 năm 2012").page())
    assert md.issuer.value is not None and md.issuer.value.startswith("Hội đồng định giá")


def test_unit_words_inside_a_body_name_are_not_localities() -> None:
    md, _ = run(page(issuer=("UBND TỈNH BẮC GIANG", "BAN QUẢN LÝ CÁC KCN"), number="107/TB-KCN",
                     title="THÔNG BÁO", summary="Kết quả kiểm tra môi trường",
                     date_line="Bắc Giang, ngày 14 tháng 11 năm 2012").page())
    assert md.issuer.value in ("Ban Quản lý các khu công nghiệp", "Ban Quản lý các khu công nghiệp tỉnh Bắc Giang")


def test_a_number_line_with_handwritten_digits_is_not_read_into_the_issuer() -> None:
    md, reasons = run(page(issuer=("UỶ BAN NHÂN DÂN", "TỈNH BẮC GIANG"), number="/GM-UBND", title="GIẤY MỜI",
                           summary="Dự hội nghị chuyên đề", date_line="Bắc Giang, ngày tháng 4 năm 2012").page())
    assert md.issuer.value == "Ủy ban nhân dân tỉnh Bắc Giang"
    assert md.place.value == "Bắc Giang"
    assert md.number.value is None
    assert any(r.startswith("number:") for r in reasons)


def test_a_decree_summary_printed_in_capitals_is_read_as_a_sentence() -> None:
    s = page(issuer=("CHÍNH PHỦ",), number="45/2026/NĐ-CP", title="NGHỊ ĐỊNH",
             summary="QUY ĐỊNH QUẢN LÝ ĐẦU TƯ ỨNG DỤNG CÔNG NGHỆ THÔNG TIN SỬ DỤNG")
    s.line("NGUỒN VỐN NGÂN SÁCH NHÀ NƯỚC", 734, size=46)
    md, _ = run(s.page())
    assert md.summary.value == ("Quy định quản lý đầu tư ứng dụng công nghệ thông tin sử dụng nguồn vốn ngân sách "
                                "nhà nước")


def test_a_cong_van_summary_written_out_as_ve_viec() -> None:
    md, _ = run(page(issuer=("UBND TỈNH PHÚ THỌ", "VĂN PHÒNG"), number="620/VP-KSTTHC", title=None, summary=None,
                     vv="Về việc hướng dẫn rà soát thủ tục hành chính",
                     date_line="Phú Thọ, ngày 07 tháng 12 năm 2011").page())
    assert md.doc_type.value == "Công văn"
    assert md.summary.value == "Về việc hướng dẫn rà soát thủ tục hành chính"


def test_an_incoming_stamp_under_the_vv_lines_is_not_part_of_the_summary() -> None:
    s = page(issuer=("UBND TỈNH BẮC GIANG", "SỞ CÔNG THƯƠNG"), number="682/SCT-QLĐN", title=None, summary=None,
             vv="V/v Tổng kết 6 năm thực hiện chính sách", date_line="Bắc Giang, ngày 12 tháng 10 năm 2012")
    s.line("hỗ trợ thành lập mới hợp tác xã", 542, cx=LEFT, size=40)
    s.line("SỞ KẾ HOẠCH VÀ ĐẦU TƯ", 598, cx=LEFT, size=40)
    s.line("ĐẾN Số: 2", 654, cx=LEFT, size=40)
    md, _ = run(s.page())
    assert md.summary.value == "V/v Tổng kết 6 năm thực hiện chính sách hỗ trợ thành lập mới hợp tác xã"


def party_page() -> Sheet:
    """A Party committee's công văn: "ĐẢNG CỘNG SẢN VIỆT NAM" where the motto stands, "Số 368-CV/BPTT"."""
    s = Sheet()
    s.line("TỈNH ỦY BẮC GIANG", 190, cx=LEFT)
    s.line("ĐẢNG CỘNG SẢN VIỆT NAM", 190, cx=RIGHT)
    s.line("BAN TUYÊN GIÁO", 250, cx=LEFT)
    s.line("Bắc Giang, ngày 15 tháng 10 năm 2012", 310, x=1380)
    s.line("Số 368-CV/BTG", 420, cx=LEFT)
    s.line("V/v tăng cường công tác tuyên truyền", 490, cx=LEFT, size=40)
    s.line("Kính gửi: Các đồng chí Ủy viên Ban Thường vụ Tỉnh ủy", 640, x=700)
    y = body(s, 760, BODY)
    footer(s, y + 120, authority=("K/T TRƯỞNG BAN", "PHÓ TRƯỞNG BAN"), name="Thân Văn Khoa")
    return s


def test_a_party_document_with_its_own_number_notation() -> None:
    md, _ = run(party_page().page())
    assert md.number.value == "368-CV/BTG"
    assert md.doc_type.value == "Công văn"
    assert md.issued_date.value == "2012-10-15"
    assert md.summary.value == "V/v tăng cường công tác tuyên truyền"


def test_a_party_header_starts_a_document() -> None:
    from digitize.document.segment import has_title_block
    from digitize.models import PageResult

    p = party_page().page()
    first = PageResult(page=1, width=p.width, height=p.height, words=p.words, text=p.text)
    assert has_title_block(first)


def test_the_signer_is_read_where_the_document_ends_not_on_an_annex_form() -> None:
    main = page(issuer=("CHÍNH PHỦ",), number="45/2026/NĐ-CP", title="NGHỊ ĐỊNH",
                summary="Quy định quản lý đầu tư ứng dụng công nghệ thông tin").page(1)
    form = Sheet()
    form.line("Mẫu số 01", 200, x=1800)
    form.line("CƠ QUAN TRÌNH", 300, cx=LEFT)
    form.line("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 300, cx=RIGHT)
    form.line("TỜ TRÌNH", 600, size=56)
    body(form, 800, BODY)
    form.line("THỦ TRƯỞNG CƠ QUAN", 2300, cx=RIGHT)
    form.line("Trần Văn Bình", 2600, cx=RIGHT)
    md, _ = run(main, form.page(2))
    assert md.signer.value == "Nguyễn Chí Dũng"


def _addressed(number: str, vv: str | None = None) -> Sheet:
    """A page with no type heading, sent to addressees (a giấy mời or a công văn in the same form)."""
    s = page(issuer=("UBND TỈNH BẮC GIANG",), number=number, title=None, summary=None, vv=vv,
             date_line="Bắc Giang, ngày 04 tháng 4 năm 2012")
    s.line("Kính gửi: Các sở, ban, ngành thuộc tỉnh", 560, cx=RIGHT, size=40)
    return s


def test_an_invitation_without_a_heading_is_named_by_its_symbol() -> None:
    md, _ = run(_addressed("74/GM-UBND").page())
    assert md.doc_type.value == "Giấy mời" and md.doc_type.reason and "symbol" in md.doc_type.reason


def test_a_cong_van_whose_issuer_abbreviation_spells_a_type_stays_a_cong_van() -> None:
    md, _ = run(_addressed("2191/CT-CS").page())  # CT: Cục Thuế here, not Chỉ thị
    assert md.doc_type.value == "Công văn"


def test_v_v_read_as_v_w_is_the_trich_yeu() -> None:
    md, _ = run(_addressed("464/TTg-CĐS", vv="V/w triển khai các Nghị quyết cắt giảm").page())
    assert md.doc_type.value == "Công văn"
    assert md.summary.value == "V/v triển khai các Nghị quyết cắt giảm"
    assert md.issuer.value  # from the header


def test_a_cong_van_whose_v_v_was_not_read_takes_the_lines_under_its_number() -> None:
    md, _ = run(_addressed("298/STTTT-CNTT", vv="Tổ chức Hội thi Tin học cho cán bộ công chức").page())
    assert md.doc_type.value == "Công văn"
    assert md.summary.value == "Tổ chức Hội thi Tin học cho cán bộ công chức"
    assert md.summary.reason and "V/v" in md.summary.reason  # flagged: a clerk checks it


def test_the_place_of_a_date_line_whose_day_was_not_read_stands_respelt() -> None:
    md, _ = run(page(issuer=("BỘ TÀI CHÍNH",), number="12/QĐ-BTC", title="QUYẾT ĐỊNH",
                     summary="Về việc khen thưởng", date_line="Hà Nói, ngày tháng 4 năm 2012").page())
    assert md.issued_date.value is None  # the day was written by pen: not read here
    assert md.place.value == "Hà Nội"  # the place is print; its diacritic slip repaired


def test_a_trich_yeu_line_cut_into_segments_with_a_speck_is_joined() -> None:
    """OCR may give a centred trích yếu line as pieces at slightly different heights, a stamp's speck among
    them (a real scan: "Về việc giao" 419-647, "Ộ" 456-463, "bổ" 663-705, "sung kinh phí …" 719-1438):
    they are joined into one line, the speck left out."""
    from digitize.document.fields import _joined_rows
    from digitize.document.lines import Line
    from digitize.models import Word

    def seg(spec: list[tuple[str, int, int]], top: int, h: int = 40) -> Line:
        return Line(page=0, words=tuple(Word(text=t, left=x, top=top, width=w, height=h, conf=90) for t, x, w in spec),
                    page_width=1900, page_height=2600)

    pieces = [seg([("bổ", 663, 42)], 508), seg([("Ộ", 456, 7)], 509, 30),
              seg([("Về", 419, 50), ("việc", 480, 80), ("giao", 570, 77)], 517),
              seg([("sung", 719, 80), ("kinh", 810, 80), ("phí", 900, 60)], 517),
              seg([("phát", 420, 80), ("triển", 510, 90)], 560)]
    rows = _joined_rows(pieces)
    assert [r.text for r in rows] == ["Về việc giao bổ sung kinh phí", "phát triển"]


def test_v_v_read_with_a_dot_and_a_speck_after_the_trich_yeu() -> None:
    md, _ = run(_addressed("2191/CT-CS", vv="V.v chính sách thuế thu nhập doanh nghiệp ị").page())
    assert md.summary.value == "V/v chính sách thuế thu nhập doanh nghiệp"


def test_a_garbled_motto_still_splits_the_header_columns() -> None:
    """"HÒA XÃ" read as one garbled word ("ÒAXÃ"), the motto on one row with the issuer's first line: the
    national title column is still found, so the issuer, the number and the trích yếu are
    read from the left column."""
    s = page(issuer=("", "SỞ CÔNG THƯƠNG"), number="682/SCT-QLĐN", title=None, summary=None, motto="",
             vv="V/v Tổng kết 6 năm thực hiện chính sách hỗ trợ", date_line="Bắc Giang, ngày 12 tháng 10 năm 2012")
    s.line("UBND TỈNH BẮC GIANG", 226, x=LEFT - 300)  # ends at x=875
    s.line("CỘNG ÒAXÃ CHỦ NGHĨA VIỆT NAM", 226, x=930)  # read by Tesseract as the same line
    s.line("Kính gửi: Sở Kế hoạch và Đầu tư", 560, cx=RIGHT, size=40)
    md, _ = run(s.page())
    assert md.issuer.value in ("Sở Công Thương", "Sở Công Thương tỉnh Bắc Giang")
    assert md.number.value == "682/SCT-QLĐN"
    assert md.summary.value == "V/v Tổng kết 6 năm thực hiện chính sách hỗ trợ"
    assert md.doc_type.value == "Công văn"


@pytest.mark.parametrize("read_as", ["Ví:", "%w", "V/w", "V.v"])
def test_v_v_misread_still_makes_a_cong_van_and_its_trich_yeu(read_as: str) -> None:
    """No heading and no "Kính gửi" line: the "V/v" under the number, however misread, says công văn."""
    s = page(issuer=("UBND TỈNH BẮC GIANG", "BAN QUẢN LÝ CÁC KCN"), number="406/KCN-QHMT", title=None, summary=None,
             vv=f"{read_as} Triển khai kế hoạch quan trắc môi trường", date_line="Bắc Giang, ngày 8 tháng 11 năm 2012")
    md, _ = run(s.page())
    assert md.doc_type.value == "Công văn"
    assert md.summary.value == "V/v Triển khai kế hoạch quan trắc môi trường"


def test_a_trich_yeu_a_little_off_the_headings_centre_is_read() -> None:
    """The heading and the trích yếu under it centred on slightly different middles (4 % of the page)."""
    s = page(issuer=("UBND TỈNH BẾN TRE", "SỞ THÔNG TIN VÀ TRUYỀN THÔNG"), number="666/TB-STTTT", title="THÔNG BÁO",
             summary=None, date_line="Bến Tre, ngày 20 tháng 12 năm 2011")
    s.line("Về việc giới thiệu chức danh và chữ ký", 718, cx=1240 - 100, size=46)
    s.line("Phó Giám đốc Sở Thông tin và Truyền thông", 806, cx=1240 - 20, size=46)
    md, _ = run(s.page())
    assert md.summary.value == "Về việc giới thiệu chức danh và chữ ký Phó Giám đốc Sở Thông tin và Truyền thông"


def test_a_trich_yeu_in_brackets_under_the_heading() -> None:
    md, _ = run(page(issuer=("ĐẠI HỌC QUỐC GIA TP.HCM", "TRƯỜNG ĐẠI HỌC CÔNG NGHỆ THÔNG TIN"), number="01/TB-BGH",
                     title="THÔNG BÁO", summary="(V/v Tăng cường giám sát trong phòng thi)").page())
    assert md.summary.value == "(V/v Tăng cường giám sát trong phòng thi)"


def test_a_cong_van_trich_yeu_goes_on_past_a_speck_and_stops_at_a_stamp() -> None:
    s = _addressed("390/VP-TH", vv="V/v Thông báo kết quả nhận chương")
    s.line("Ì", 478, x=560, size=16, conf=40)  # the trích yếu's first line is at y=428
    s.line("trình, báo cáo tháng 10/2012", 500, cx=LEFT, size=40)
    s.line("tulLÝ tắt túi PẤC BÌNH", 548, cx=LEFT, size=40, conf=30)  # an incoming-mail stamp under it
    md, _ = run(s.page())
    assert md.summary.value == "V/v Thông báo kết quả nhận chương trình, báo cáo tháng 10/2012"


def test_a_cong_van_trich_yeu_on_a_row_with_a_note_in_the_right_column() -> None:
    """Tesseract glued the trích yếu's first line and a note beside it into one line (a word space apart)."""
    from digitize.document.skeleton import skeleton

    s = _addressed("1595/SGDĐT-CTrTT")
    split = skeleton(s.page()).col_split
    vv = "V/v bảo đảm an toàn giao thông"
    probe = Sheet()
    probe.line(vv, 0, x=0)
    width = max(w.left + w.width for w in probe.words)
    s.line(vv + " 1. Trưởng phòng gửi văn bản đến các đơn vị", 486, x=int(split) + 5 - width - 16)
    assert any(w.text == "1." and w.left > split for w in s.words)
    md, _ = run(s.page())
    assert md.summary.value == vv


@pytest.mark.parametrize(("date_line", "place"), [
    ("Thành phố Hô Chí Minh, ngày 29 tháng 6 năm 2026", "Thành phố Hồ Chí Minh"),  # the unit word kept as printed
    ("Up. Hô Chí Minh, ngày22tháng 01 năm 2013", "Tp. Hồ Chí Minh"),  # "Tp." misread, the day glued to its labels
    ("Ty. Hô Chí Minh, ngày 22 tháng 01 năm 2013", "Tp. Hồ Chí Minh"),
    ("Tp. Hồ Chí Minh, ngày 03 tháng 01 năm 2014", "Tp. Hồ Chí Minh"),
    ("TP. Hồ Chí Minh, ngày 03 tháng 01 năm 2014", "TP. Hồ Chí Minh"),
    ("Hà Nói, ngày 26 tháng 01 năm 2026", "Hà Nội"),
])
def test_the_place_keeps_its_unit_word_and_is_respelt(date_line: str, place: str) -> None:
    md, _ = run(page(issuer=("ĐẠI HỌC QUỐC GIA", "TRƯỜNG ĐẠI HỌC CÔNG NGHỆ THÔNG TIN"), number="01/TB-BGH",
                     title="THÔNG BÁO", summary="Về việc tăng cường giám sát", date_line=date_line).page())
    assert md.place.value == place
    assert md.issued_date.value is not None


def test_a_date_cited_in_the_body_is_never_the_documents_date() -> None:
    """No date line under the motto (a consolidated text): a date after a cited document's number is that
    document's, not this one's; another date in running text is given only with a field-level reason."""
    from digitize.document.fields import BODY_DATE

    s = page(issuer=("BỘ QUỐC PHÒNG",), number=None, title="THÔNG TƯ", summary="Quy định lễ tang", date_line="")
    s.line("Thông tư số 86/2016/TT-BQP ngày 20 tháng 6 năm 2016 của Bộ trưởng", 1500, x=1000)
    md, reasons = run(s.page())
    assert md.issued_date.value is None and any("issued_date" in r for r in reasons)
    s.line("Hôm nay ngày 12 tháng 3 năm 2024 tại trụ sở", 1700, x=1000)
    md, reasons = run(s.page())
    body = BODY_DATE.split(": ", 1)[1]
    assert md.issued_date.value == "2024-03-12" and body in (md.issued_date.reason or "")
    assert any(body in r for r in reasons)


def test_a_consolidated_text_takes_its_header_from_the_authentication_block_at_its_end() -> None:
    """A văn bản hợp nhất opens like the circular it consolidates (heading, trích yếu, no issuer block, no number)
    and is authenticated on its last page by a header-like block: body, number, place and date are read there."""
    first = Sheet()
    first.line("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 230, cx=RIGHT)
    first.line("Độc lập - Tự do - Hạnh phúc", 290, cx=RIGHT)
    first.line("THÔNG TƯ", 500, size=56)
    first.line("Quy định và hướng dẫn tổ chức lễ tang", 588, size=46)
    body(first, 800, BODY)
    last = Sheet()
    body(last, 300, BODY)
    last.line("BỘ QUỐC PHÒNG", 1200, cx=LEFT)
    last.line("XÁC THỰC VĂN BẢN HỢP NHẤT", 1200, cx=RIGHT)
    last.line("Số: 46/VBHN-BQP", 1290, cx=LEFT)
    last.line("Hà Nội, ngày 04 tháng 5 năm 2026", 1290, cx=RIGHT)
    footer(last, 1400, authority=("KT. BỘ TRƯỞNG", "THỨ TRƯỞNG"), name="Nguyễn Văn Gấu")
    md, _ = run(first.page(1), last.page(2))
    assert md.doc_type.value == "Thông tư"
    assert md.number.value == "46/VBHN-BQP"
    assert md.issued_date.value == "2026-05-04"
    assert md.place.value == "Hà Nội"
    assert md.issuer.value == "Bộ Quốc phòng"


def test_the_second_look_at_a_moved_block_reads_the_page_where_the_block_was() -> None:
    """The authentication block is read as if at the top of a page: the pen reader's boxes and image follow it."""
    import numpy as np

    from digitize.document.consolidated import shifted_reocr
    from digitize.models import Word

    asked: list[tuple[int, tuple[int, int, int, int]]] = []

    def reocr(page: int, box: tuple[int, int, int, int]) -> list[Word]:
        asked.append((page, box))
        return [Word("46", box[0], box[1] + 5, 40, 30, 90.0)]

    image = np.arange(1000 * 10, dtype=np.uint8).reshape(1000, 10) % 251
    reocr.image_of = lambda page: (image, 2.0)  # type: ignore[attr-defined]
    reocr.lang, reocr.timeout = "vie", 30.0  # type: ignore[attr-defined]
    moved = shifted_reocr(reocr, 300)
    words = moved(26, (10, 20, 200, 60))
    assert asked == [(26, (10, 320, 200, 360))]
    assert words[0].top == 25  # back in the moved block's coordinates
    img, scale = moved.image_of(26)
    assert scale == 2.0 and img.shape == (400, 10) and (img[0] == image[600]).all()
    assert (moved.lang, moved.timeout) == ("vie", 30.0)


def test_the_issuing_bodys_head_noun_is_spelt_right() -> None:
    """A tone mark lost on the header's capitals ("HỘI ĐÔNG ĐỊNH GIÁ"): the head noun of the body is respelt."""
    md, _ = run(page(issuer=("UBND TỈNH BẮC GIANG", "HỘI ĐÔNG ĐỊNH GIÁ"), number="10/TTr-HĐ", title="TỜ TRÌNH",
                     summary="Phê duyệt giá trị còn lại", date_line="Bắc Giang, ngày 2 tháng 3 năm 2012").page())
    assert md.issuer.value.startswith("Hội đồng định giá")


def test_a_stamps_strokes_read_as_tall_words_do_not_pull_the_trich_yeu_into_the_stamp() -> None:
    """An incoming-mail stamp just left of the trích yếu: its strokes, read as three-line-tall "words" of low
    confidence, would chain the trích yếu's first words onto the stamp's row; they are marks, not text. Quotes
    around the whole trích yếu are typography, not part of it."""
    from digitize.models import Word

    s = page(issuer=("ỦY BAN NHÂN DÂN", "TỈNH BẮC GIANG"), number="2668/KH-UBND", title="KẾ HOẠCH", summary=None,
             date_line="Bắc Giang, ngày 26 tháng 11 năm 2010")
    first = ["“Ứng", "dụng", "và", "phát", "triển", "công", "nghệ", "thông", "tin", "trong", "cơ", "quan"]
    x = 590  # the row centred under the heading
    for i, t in enumerate(first):
        tall = i == 0  # the opening word touches the stamp's ink: its box is taller
        s.words.append(Word(t, x, 700 if tall else 720, 22 * len(t) + 10, 79 if tall else 44, 89.0 if tall else 96.0))
        x += 22 * len(t) + 26
    s.line("nhà nước tỉnh Bắc Giang giai đoạn 2011-2015”", 800, size=44)
    s.words += [Word(")EN", 280, 655, 60, 69, 62.0), Word("Lạy", 340, 660, 60, 133, 0.0),
                Word("vấn", 400, 640, 80, 158, 31.0), Word("đa", 490, 650, 60, 154, 53.0)]
    md, _ = run(s.page())
    assert md.summary.value == ("Ứng dụng và phát triển công nghệ thông tin trong cơ quan nhà nước tỉnh Bắc Giang "
                                "giai đoạn 2011-2015")


def test_a_police_department_with_a_word_lost_is_named_from_the_list_of_bodies() -> None:
    s = page(issuer=("CÔNG AN THÀNH PHỐ ĐÀ NẴNG", "PHÒNG AN CHÍNH TRỊ NỘI BỘ"), number="115/CV-PA83", title=None,
             summary=None, vv="V/v thông báo hoạt động", date_line="Đà Nẵng, ngày 5 tháng 3 năm 2018")
    s.line("Kính gửi: Công an các quận, huyện", 560, cx=RIGHT, size=40)
    md, _ = run(s.page())
    assert md.issuer.value.startswith("Phòng An ninh chính trị nội bộ")
