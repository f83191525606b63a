"""Layout-aware extraction from OCR words, per field, on real-looking OCR output.

The fixtures are word lists as Tesseract gives them for Decree 30 pages (300 dpi A4): boxes, confidences
and block/line ids, with the two header columns interleaved line by line, other documents' numbers and
dates cited in the body, incoming-mail stamps, e-signature boxes, seal noise around the signer and
damaged diacritics. A slow test renders a page with Liberation Serif and OCRs it with tesseract.
"""

from __future__ import annotations

import shutil

import pytest

from digitize.document.extract import extract_metadata, official_metadata
from digitize.document.lines import build_lines
from digitize.document.signer import signer_region
from digitize.models import PageResult, Word
from digitize.text.vntext import fold
from tests.gen.ocr_words import LEFT, RIGHT, TODAY, H, Sheet, W, body, footer, header, run

QD_BODY = [
    "Căn cứ Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015;",
    "Căn cứ Nghị định số 43/2014/NĐ-CP ngày 15 tháng 5 năm 2014 của Chính",
    "phủ quy định chi tiết thi hành một số điều của Luật Đất đai;",
    "Xét đề nghị của Trưởng phòng Tài nguyên và Môi trường huyện Kiến Xương.",
    "Điều 1. Giao đất ở cho hộ ông Nguyễn Văn Bình tại xã Vũ Ninh, huyện Kiến",
    "Xương theo Thông báo số 12/TB-UBND ngày 02 tháng 3 năm 2021.",
    "Điều 2. Ủy ban nhân dân huyện Kiến Xương giao Phòng Tài nguyên và Môi",
    "trường hướng dẫn thực hiện Quyết định này./.",
]


def decision(*, number="2631/QĐ-UBND", date_line="Kiến Xương, ngày 15 tháng 6 năm 2021",
             parent="ỦY BAN NHÂN DÂN", body_name="HUYỆN KIẾN XƯƠNG", title="QUYẾT ĐỊNH",
             name: str | None = "Phạm Xuân Công Tùng", stamp: bool = False, esign: bool = False) -> Sheet:
    s = Sheet()
    if stamp:  # incoming-mail stamp in the top margin
        s.line("CÔNG VĂN ĐẾN", 40, x=300, size=34)
        s.line("Số: 456/2024", 84, x=300, size=34)
        s.line("Ngày: 14/06/2021", 128, x=300, size=34)
    y = header(s, parent=parent, body=body_name, number=number, date_line=date_line)
    s.line(title, y, size=56)
    s.line("Về việc giao đất ở cho hộ gia đình, cá nhân tại xã Vũ Ninh", y + 88, size=46)
    s.line("ỦY BAN NHÂN DÂN HUYỆN KIẾN XƯƠNG", y + 220, size=46)
    y = body(s, y + 320, QD_BODY)
    s.line("QUYẾT ĐỊNH:", 1300, size=50)
    footer(s, y + 120, authority=("TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"), name=name)
    if esign:
        s.line("Ký bởi: Ủy ban nhân dân huyện Kiến Xương", y + 700, x=1300, size=30)
        s.line("Thời gian ký: 16.06.2021 09:15:22 +07:00", y + 740, x=1300, size=30)
    return s


# --- one document, field by field -----------------------------------------------------------------


def test_decision_fields():
    md, reasons = run(decision().page())
    assert md.doc_type.value == "Quyết định"
    assert md.number.value == "2631/QĐ-UBND"
    assert md.issued_date.value == "2021-06-15"
    assert md.issuer.value == "Ủy ban nhân dân huyện Kiến Xương"
    assert md.place.value == "Kiến Xương"
    assert md.summary.value == "Về việc giao đất ở cho hộ gia đình, cá nhân tại xã Vũ Ninh"
    assert md.signer.value == "Phạm Xuân Công Tùng"
    assert md.signer_position.value == "Phó chủ tịch"
    assert reasons == ()
    assert all(getattr(md, f).confidence >= 0.8 for f in ("doc_type", "number", "issued_date", "signer"))


def test_word_order_does_not_matter():
    """Tesseract may interleave the header columns in any order: only the boxes count."""
    first, _ = run(decision().page())
    shuffled, _ = run(decision().page(shuffle=7))
    assert shuffled.values() == first.values()


def test_header_columns_are_separated_not_read_across():
    lines = build_lines(decision().page())
    texts = [ln.text for ln in lines]
    assert "Số: 2631/QĐ-UBND" in texts
    assert "Kiến Xương, ngày 15 tháng 6 năm 2021" in texts
    assert not any("UBND Kiến" in t for t in texts)


def test_citations_stamp_and_esignature_are_not_taken():
    md, reasons = run(decision(stamp=True, esign=True).page())
    assert md.number.value == "2631/QĐ-UBND"  # not the stamp's 456/2024, not the cited 43/2014/NĐ-CP
    assert md.issued_date.value == "2021-06-15"  # not 2014-05-15 from the body, not the e-signature time
    assert md.signer.value == "Phạm Xuân Công Tùng"
    assert reasons == ()


def test_damaged_diacritics_are_repaired_where_the_document_says_so():
    s = decision(number="37/QD-UBND", date_line="Kien Xuong, ngay 15 thang 6 nam 2021",
                 parent="UY BAN NHAN DAN", body_name="HUYEN KIEN XUONG", title="QUYET DINH")
    md, reasons = run(s.page())
    assert md.doc_type.value == "Quyết định"
    assert md.number.value == "37/QĐ-UBND"
    assert md.issued_date.value == "2021-06-15"
    # the body prints "huyện Kiến Xương" in mixed case: its spelling wins over the damaged capitals
    assert md.issuer.value == "Ủy ban nhân dân huyện Kiến Xương"
    assert md.place.value == "Kiến Xương"
    assert any(r.startswith("number:") for r in reasons)  # the QD -> QĐ repair is worth a look


def test_parent_body_locality_completes_the_issuer():
    s = Sheet()
    y = header(s, parent="UBND HUYỆN TIỀN HẢI", body="PHÒNG TÀI NGUYÊN", number="302/TB-TNMT",
               date_line="Tiền Hải, ngày 16 tháng 9 năm 2019")
    s.line("VÀ MÔI TRƯỜNG", 350, cx=LEFT)
    s.line("THÔNG BÁO", y, size=56)
    s.line("Về việc thu hồi đất để thực hiện dự án xây dựng công trình công", y + 88, size=46)
    s.line("cộng tại xã Nam Thịnh", y + 150, size=46)
    y = body(s, y + 280, ["Phòng Tài nguyên và Môi trường huyện Tiền Hải thông báo thu hồi đất như sau:",
                          "1. Lý do thu hồi đất: thực hiện dự án xây dựng công trình công cộng."])
    footer(s, y + 100, authority=("KT. TRƯỞNG PHÒNG", "PHÓ TRƯỞNG PHÒNG"), name="Đinh Thị Hạnh")
    md, reasons = run(s.page())
    assert md.issuer.value == "Phòng Tài nguyên và Môi trường huyện Tiền Hải"
    assert md.summary.value == ("Về việc thu hồi đất để thực hiện dự án xây dựng công trình công cộng tại xã "
                                "Nam Thịnh")
    assert md.number.value == "302/TB-TNMT" and md.doc_type.value == "Thông báo"
    assert md.signer.value == "Đinh Thị Hạnh"
    assert reasons == ()


def test_cong_van_summary_is_the_vv_lines_under_the_number():
    s = Sheet()
    y = header(s, parent="ỦY BAN NHÂN DÂN", body="HUYỆN ĐÔNG HƯNG", number="1122/UBND-TP",
               date_line="Đông Hưng, ngày 20 tháng 5 năm 2020",
               vv=("V/v trả lời đơn đề nghị của ông", "Đặng Đức Cường"))
    s.line("Kính gửi: Ông Đặng Đức Cường", y + 60, cx=1300)
    y = body(s, y + 160, ["Ủy ban nhân dân huyện Đông Hưng nhận được đơn của ông Đặng Đức Cường",
                          "đề nghị cấp đổi Giấy chứng nhận quyền sử dụng đất theo Quyết định số",
                          "2631/QĐ-UBND ngày 19 tháng 01 năm 2020./."])
    footer(s, y + 100, authority=("TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH"), name="Trần Văn Huy")
    md, reasons = run(s.page(), dossier_id="000.00.13.H56-200515-0001")
    assert md.doc_type.value == "Công văn"
    assert md.number.value == "1122/UBND-TP"
    assert md.summary.value == "V/v trả lời đơn đề nghị của ông Đặng Đức Cường"
    assert md.issued_date.value == "2020-05-20"
    assert reasons == ()


def test_building_permit_number_under_the_heading_and_no_summary():
    s = Sheet()
    s.line("ỦY BAN NHÂN DÂN", 230, cx=LEFT)
    s.line("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 230, cx=RIGHT)
    s.line("HUYỆN VŨ THƯ", 290, cx=LEFT)
    s.line("Độc lập - Tự do - Hạnh phúc", 290, cx=RIGHT)
    s.line("Vũ Thư, ngày 13 tháng 12 năm 2024", 420, cx=RIGHT)
    s.line("GIẤY PHÉP XÂY DỰNG", 560, size=56)
    s.line("Số: 148/GPXD", 640)
    s.line("(Sử dụng cho nhà ở riêng lẻ)", 710)
    y = body(s, 800, ["1. Cấp cho: Ông Trần Ngọc Nghĩa", "3. Giấy chứng nhận quyền sử dụng đất số CS 668738 do Ủy",
                      "ban nhân dân huyện Vũ Thư cấp ngày 07/04/2017."])
    footer(s, y + 100, authority=("TM. ỦY BAN NHÂN DÂN", "KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"), name="Khúc Bích Thơm")
    md, reasons = run(s.page())
    assert (md.doc_type.value, md.number.value, md.summary.value) == ("Giấy phép xây dựng", "148/GPXD", None)
    assert md.issuer.value == "Ủy ban nhân dân huyện Vũ Thư"
    assert md.issued_date.value == "2024-12-13"
    assert reasons == ()


def test_birth_extract_date_above_the_signer_and_personal_id_flag():
    s = Sheet()
    header(s, parent="ỦY BAN NHÂN DÂN", body="XÃ SONG LÃNG", number="43/TLKS", date_line=None)
    s.line("TRÍCH LỤC KHAI SINH", 560, size=56)
    s.line("(BẢN CHÍNH)", 640)
    y = body(s, 740, ["Họ, chữ đệm, tên: TRỊNH VĂN QUANG BÌNH", "Ngày, tháng, năm sinh: 22/03/2010",
                      "Ghi bằng chữ: Ngày hai mươi hai, tháng ba, năm hai nghìn không trăm mười",
                      "Số định danh cá nhân: 034210786632", "Nơi đăng ký khai sinh: Ủy ban nhân dân xã Song Lãng",
                      "Ngày, tháng, năm đăng ký: 09/04/2010"])
    s.line("Song Lãng, ngày 09 tháng 9 năm 2022", y + 80, cx=RIGHT)
    for i, a in enumerate(("KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH")):
        s.line(a, y + 150 + 70 * i, cx=RIGHT)
    s.line("Vũ Đình Khánh", y + 600, cx=RIGHT)
    md, reasons = run(s.page())
    assert md.doc_type.value == "Trích lục khai sinh"
    assert md.number.value == "43/TLKS"
    assert md.issued_date.value == "2022-09-09"  # not the birth or registration date
    assert md.place.value == "Song Lãng"
    assert md.summary.value is None
    assert md.contains_personal_id
    assert md.issuer.value == "Ủy ban nhân dân xã Song Lãng"
    assert reasons == ()


def test_household_business_certificate_number_is_its_code():
    s = Sheet()
    s.line("UBND HUYỆN VŨ THƯ", 230, cx=LEFT)
    s.line("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 230, cx=RIGHT)
    s.line("PHÒNG TÀI CHÍNH - KẾ HOẠCH", 290, cx=LEFT)
    s.line("Độc lập - Tự do - Hạnh phúc", 290, cx=RIGHT)
    s.line("GIẤY CHỨNG NHẬN ĐĂNG KÝ HỘ KINH DOANH", 480, size=52)
    s.line("Mã số hộ kinh doanh: 08A8458760", 583, x=356)
    y = body(s, 653, ["Đăng ký lần đầu: ngày 09 tháng 11 năm 2022", "1. Tên hộ kinh doanh: QUÁN CÀ PHÊ THÀNH ĐẠT",
                      "2. Địa chỉ: thôn Thượng Phúc, xã Tam Quang, huyện Vũ Thư, tỉnh Thái Bình"])
    s.line("Vũ Thư, ngày 09 tháng 11 năm 2022", y + 60, cx=RIGHT)
    s.line("TRƯỞNG PHÒNG", y + 130, cx=RIGHT)
    s.line("Đỗ Phương Thu Lan", y + 450, cx=RIGHT)
    md, reasons = run(s.page())
    assert md.doc_type.value == "Giấy chứng nhận đăng ký hộ kinh doanh"
    assert md.number.value == "08A8458760"
    assert md.issuer.value == "Phòng Tài chính - Kế hoạch huyện Vũ Thư"
    assert md.issued_date.value == "2022-11-09"
    assert md.signer.value == "Đỗ Phương Thu Lan" and md.signer_position.value == "Trưởng phòng"
    assert reasons == ()


# --- doubts become reasons, never confident guesses -----------------------------------------------


def test_unreadable_signer_is_null_with_a_reason():
    md, reasons = run(decision(name=None).page())
    assert md.signer.value is None
    assert any(r.startswith("signer:") for r in reasons)


def test_second_look_at_the_signature_block():
    page = decision(name=None).page()
    asked = []

    def reocr(index, box):
        asked.append((index, box))
        s = Sheet()
        s.line("Phạm Xuân Công Tùng", box[1] + 540, cx=RIGHT)
        return s.words

    md, reasons = run(page, reocr=reocr)
    assert asked and asked[0][0] == page.page
    assert box_contains(asked[0][1], RIGHT, 2100)
    assert md.signer.value == "Phạm Xuân Công Tùng"
    assert reasons == ()


def box_contains(box, x, y):
    return box[0] <= x <= box[2] and box[1] <= y <= box[3]


def test_signer_region_is_the_bottom_right_block():
    lines = build_lines(decision().page())
    box = signer_region(lines)
    assert box is not None and box[0] >= 0.4 * W and box[1] > 0.4 * H


def test_name_partly_hidden_by_the_seal_is_flagged():
    md, reasons = run(decision(name="anh Đình Nam").page())
    assert md.signer.value == "Đình Nam"
    assert any(r.startswith("signer:") for r in reasons)


@pytest.mark.parametrize(("read", "value", "completed"), [
    ("ùi Đình Nam", "Bùi Đình Nam", True),  # only "Bùi" ends in "ùi": completed, flagged
    ("guyễn Văn Hải", "Nguyễn Văn Hải", True),
    ("ương Đình Nam", "Đình Nam", False),  # Trương, Dương, Lương, Vương: left unread, flagged
])
def test_a_surname_that_lost_its_first_letters_is_completed_from_its_end(read, value, completed):
    from digitize.document.signer import SURNAME_COMPLETED

    md, reasons = run(decision(name=read).page())
    assert md.signer.value == value
    assert (f"signer: {SURNAME_COMPLETED.split(': ', 1)[1]}" in reasons) is completed
    assert any(r.startswith("signer:") for r in reasons) and md.signer.confidence <= 0.6


def test_second_look_reads_the_signed_page_before_an_annex_after_it():
    """A plan signed on page 1 with annex tables after it: the signature block looked at again is page 1's
    (the page with "Nơi nhận:"), not the annex's empty bottom."""
    first = decision(name=None)
    annex = Sheet()
    annex.line("PHỤ LỤC", 300, size=50)
    annex.line("Danh mục nhiệm vụ năm 2021", 380, size=40)
    asked = []

    def reocr(index, box):
        asked.append(index)
        s = Sheet()
        if index == 1:
            s.line("Phạm Xuân Công Tùng", box[1] + 540, cx=RIGHT)
        return s.words

    assert signer_region(build_lines(annex.page(2))) is not None  # the annex offers a region of its own
    md, _ = run(first.page(1), annex.page(2), reocr=reocr)
    assert asked and asked[0] == 1
    assert md.signer.value == "Phạm Xuân Công Tùng"


@pytest.mark.parametrize(("parent", "flagged"), [("ỦY NHÂN DÂN", True), ("ỦY BAN NHÂN DÂN", False),
                                               ("HỘI NÔNG DÂN", False)])
def test_an_issuer_that_does_not_start_like_a_body_is_flagged(parent, flagged):
    """"ỦY NHÂN DÂN" (the word "BAN" lost under a fold) names no kind of body: never a confident value."""
    from digitize.document.issuer import NOT_A_BODY

    md, reasons = run(decision(parent=parent).page())
    assert md.issuer.value is not None
    assert (NOT_A_BODY in reasons) is flagged
    assert (md.issuer.confidence <= 0.6) is flagged


def test_weak_ocr_number_is_flagged():
    s = decision()
    s.words = [Word(w.text, w.left, w.top, w.width, w.height, 31.0 if w.text == "2631/QĐ-UBND" else w.conf,
                    w.block, w.par, w.line) for w in s.words]
    s.words = [w if not w.text.startswith("Số:") else Word(w.text, w.left, w.top, w.width, w.height, 40.0)
               for w in s.words]
    md, reasons = run(s.page())
    assert md.number.value == "2631/QĐ-UBND"
    assert md.number.confidence < 0.8
    assert any(r.startswith("number: weak") for r in reasons)


def test_hand_written_number_left_blank_is_null():
    md, reasons = run(decision(number="……/QĐ-UBND").page())
    assert md.number.value is None
    assert any(r.startswith("number:") for r in reasons)


def test_number_symbol_disagreeing_with_type_is_flagged():
    md, reasons = run(decision(number="2631/TB-UBND").page())
    assert md.number.value == "2631/TB-UBND"
    assert any("TB" in r for r in reasons if r.startswith("number:"))


def test_date_before_the_dossier_is_flagged():
    md, reasons = run(decision().page(), dossier_id="000.00.13.H56-210701-0007")
    assert md.issued_date.value == "2021-06-15"
    assert any("dossier" in r for r in reasons)
    _, reasons = run(decision().page(), dossier_id="H26.107.01-210610-010023")
    assert reasons == ()


def test_future_date_is_flagged():
    md, reasons = run(decision(date_line="Kiến Xương, ngày 15 tháng 6 năm 2031").page())
    assert any("future" in r for r in reasons if r.startswith("issued_date"))


def test_signer_on_the_last_page_of_a_two_page_document():
    first = decision(name=None)
    first.words = [w for w in first.words if w.top < 1900]  # the body continues on page 2
    second = Sheet()
    y = body(second, 300, ["Điều 3. Chánh Văn phòng Hội đồng nhân dân và Ủy ban nhân dân huyện chịu",
                           "trách nhiệm thi hành Quyết định này./."])
    footer(second, y + 100, authority=("TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH"), name="Phan Quang Hải")
    md, reasons = run(first.page(1), second.page(2))
    assert md.signer.value == "Phan Quang Hải" and md.signer_position.value == "Chủ tịch"
    assert md.number.value == "2631/QĐ-UBND"
    assert reasons == ()


def test_no_text_at_all():
    md, reasons = run(PageResult(page=1, width=W, height=H))
    assert md.values() == {k: None for k in md.values()}
    assert {r.split(":")[0] for r in reasons} >= {"doc_type", "number", "issued_date", "issuer", "signer"}


def test_official_metadata_names():
    md, _ = run(decision().page())
    official = official_metadata(md, page_amount=2, dossier_id="000.00.13.H56-210610-0001")
    assert official == {
        "DossierCode": "000.00.13.H56-210610-0001", "TypeName": "Quyết định", "CodeNumber": "2631",
        "CodeNotation": "QĐ-UBND", "IssuedDate": "2021-06-15", "OrganName": "Ủy ban nhân dân huyện Kiến Xương",
        "Subject": "Về việc giao đất ở cho hộ gia đình, cá nhân tại xã Vũ Ninh", "PageAmount": 2,
        "Position": "Phó chủ tịch", "FullName": "Phạm Xuân Công Tùng",
    }


def test_personal_id_is_not_logged(caplog):
    s = decision()
    s.line("Số định danh cá nhân: 034210786632", 1250, x=355)
    with caplog.at_level("DEBUG", logger="digitize"):
        md, _ = run(s.page())
    assert md.contains_personal_id
    assert "034210786632" not in caplog.text


# --- real OCR -------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract is not installed")
@pytest.mark.parametrize("kind", ["decision", "cong_van"])
def test_rendered_and_ocred_page(kind):
    import numpy as np

    from digitize.page.tesseract.ocr import ocr_page
    from digitize.samples.documents import DocSpec, cong_van, render

    spec = DocSpec() if kind == "decision" else cong_van()
    rendered = render(spec)
    pages = []
    for i, img in enumerate(rendered.pages, start=1):
        out = ocr_page(np.array(img), dpi=300)
        pages.append(PageResult(page=i, width=img.width, height=img.height, words=out.words, text=out.text,
                                mean_conf=out.mean_conf))
    md, reasons = extract_metadata(pages, today=TODAY)
    expected = dict(rendered.fields)
    if kind == "cong_van":
        expected["summary"] = "V/v " + expected["summary"]
    got = md.values()
    for name, value in expected.items():
        assert fold(got[name] or "") == fold(value or ""), name
    assert got["number"] == expected["number"]


def test_places_named_in_the_summary_are_respelled():
    from digitize.document.issuer import respell_places

    assert respell_places("cung cấp thông tin thửa đất tại thị trân Đồng Hưng") == (
        "cung cấp thông tin thửa đất tại thị trấn Đông Hưng")
    assert respell_places("tại thi tran Dong Hung; huyện Kiến Xương.") == "tại thị trấn Đông Hưng; huyện Kiến Xương."
    unchanged = "Về việc xa xôi Quá Khứ tại xã Không Có Thật"
    assert respell_places(unchanged) == unchanged


def test_signature_block_lost_entirely_is_looked_for_below_the_last_line():
    s = Sheet()
    y = header(s, parent="ỦY BAN NHÂN DÂN", body="THỊ TRẤN VŨ THƯ", number="153/TLKS",
               date_line=None)
    s.line("TRÍCH LỤC KHAI SINH", y, size=56)
    last = body(s, y + 120, QD_BODY[:4])
    s.line("Vũ Thư, ngày 22 tháng 3 năm 2025", last, cx=RIGHT)  # the block under it was not read at all
    page = s.page()
    box = signer_region(build_lines(page))
    assert box is not None and box[1] > last and box[0] >= 0.4 * W
    asked = []

    def reocr(n, region):
        asked.append(region)
        again = Sheet()
        again.line("NGƯỜI KÝ TRÍCH LỤC", region[1] + 40, cx=RIGHT)
        again.line("Vũ Quang Sơn", region[1] + 400, cx=RIGHT)
        return again.words

    md, _reasons = run(page, reocr=reocr)
    assert asked and md.signer.value == "Vũ Quang Sơn"


def test_no_room_below_the_last_line_means_no_signature_region():
    s = Sheet()
    s.line("một dòng cuối trang", H - 200, x=355)
    assert signer_region(build_lines(s.page())) is None


def test_a_place_printed_glued_after_its_abbreviated_unit_keeps_its_printing():
    """"Tp.Hồ Chí Minh" is printed with no space; Tesseract cuts it at the full stop into two words whose boxes
    overlap. Words with a gap between them keep their space; so do overlapping words with no full stop."""
    from digitize.document.fields import _first_words

    def line(*boxes: tuple[str, int, int]):
        words = tuple(Word(t, x, 100, w, 40, 90.0, 1, 1, 1) for t, x, w in boxes)
        return build_lines(PageResult(page=1, width=2000, height=2800, words=words), 0)[0]

    assert _first_words(line(("Tp.", 880, 80), ("Hồ", 930, 32), ("Chí", 975, 48), ("Minh,", 1030, 75)), 4) \
        == "Tp.Hồ Chí Minh,"
    assert _first_words(line(("Tp.", 880, 60), ("Hồ", 960, 40), ("Chí", 1010, 48)), 3) == "Tp. Hồ Chí"
    assert _first_words(line(("Hà", 880, 60), ("Nội,", 930, 60)), 2) == "Hà Nội,"


def test_a_continuation_page_in_a_file_of_its_own_names_its_sender_in_the_closing_sentence():
    """Page 2 of a letter scanned into a file of its own: no header, but the closing sentence says who writes.
    The issuer is taken from it, flagged; a body sentence that only mentions a body proves nothing."""
    from digitize.document.issuer import CLOSING_FORMULA

    page = Sheet()
    y = body(page, 300, ["viên, báo cáo về Sở Giáo dục và Đào tạo những tình huống đặc biệt để kịp thời",
                         "phối hợp, hướng dẫn xử lý.",
                         "Sở Giáo dục và Đào tạo yêu cầu thủ trưởng các đơn vị, trường học khẩn",
                         "trương triển khai thực hiện./."])
    footer(page, y + 100, authority=("KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC"), name="Lê Thị Bích Thuận")
    md, reasons = run(page.page(1))
    assert md.issuer.value == "Sở Giáo dục và Đào tạo"
    assert CLOSING_FORMULA in reasons and md.issuer.confidence <= 0.6
    other = Sheet()
    y = body(other, 300, ["viên, báo cáo về Sở Giáo dục và Đào tạo những tình huống đặc biệt để kịp thời",
                          "phối hợp, hướng dẫn xử lý./."])
    footer(other, y + 100, authority=("KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC"), name="Lê Thị Bích Thuận")
    md, _ = run(other.page(1))
    assert md.issuer.value is None


@pytest.mark.parametrize(("number", "issuer", "value", "flagged"), [
    ("2191/CI-CS", "Cục Thuế", "2191/CT-CS", True),  # "CT", Cục Thuế's initials, with its T read as I
    ("45/SGDDT-VP", "Sở Giáo dục và Đào tạo tỉnh Bắc Giang", "45/SGDĐT-VP", True),
    ("12/QĐ-UBND", "Ủy ban nhân dân tỉnh Bắc Giang", "12/QĐ-UBND", False),  # the initials are there
    ("77/KH-CS", "Cục Thuế", "77/KH-CS", False),  # no part one slip from "CT"
])
def test_a_symbol_part_one_slip_from_the_issuer_s_initials_is_spelt_as_them(number, issuer, value, flagged):
    from digitize.document.issuer_symbol import symbol_by_issuer
    from digitize.document.lines import _Found

    got = symbol_by_issuer(_Found(number, 0.95), _Found(issuer, 0.9))
    assert got.value == value
    assert (got.reason is not None and "issuer's initials" in got.reason) is flagged
    assert (got.conf <= 0.6) is flagged
