"""Where a document starts, decided from the layout of the words (as Tesseract gives them on real scans)."""

from __future__ import annotations

from digitize.document.segment import has_number_line, segment
from digitize.models import PageResult, Quality, Word

W, H = 1800, 2550  # an A4 page at about 215 dpi
_LETTER = 34  # letter height in pixels


def _line(text: str, x: int, y: int, block: int, line: int = 1) -> list[Word]:
    """The words of one OCR line starting at (x, y), 20 px per character."""
    words, left = [], x
    for t in text.split():
        width = 20 * len(t)
        words.append(Word(t, left, y, width, _LETTER, 95.0, block=block, par=1, line=line))
        left += width + 14
    return words


def _page(n: int, lines: list[tuple[str, int, int]]) -> PageResult:
    words: list[Word] = []
    for i, (text, x, y) in enumerate(lines, start=1):
        words += _line(text, x, y, block=i)
    text = "\n".join(t for t, _, _ in lines)
    return PageResult(page=n, width=W, height=H, quality=Quality(), text=text, words=tuple(words))


_MOTTO = [("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 820, 180), ("Độc lập - Tự do - Hạnh phúc", 960, 230)]


def first_page(n: int, number: str | None = "47/QĐ-UBND", title: str = "QUYẾT ĐỊNH") -> PageResult:
    """The first page of a document: issuer, motto, number and date, title."""
    lines = [("ỦY BAN NHÂN DÂN", 280, 180), ("HUYỆN KIẾN XƯƠNG", 270, 230), *_MOTTO,
             ("Kiến Xương, ngày 12 tháng 3 năm 2025", 950, 320), (title, 800, 450),
             ("Về việc giao đất ở cho hộ gia đình", 600, 510)]
    if number is not None:
        lines.append((f"Số: {number}" if number else "Số:", 300, 320))
    return _page(n, lines)


def body_page(n: int, first_line: str) -> PageResult:
    """A later page whose first line of running text may cite another document's number."""
    return _page(n, [(first_line, 260, 200), ("về việc phê duyệt kế hoạch sử dụng đất năm 2025 của huyện", 260, 260),
                     ("Điều 2. Tổ chức thực hiện", 340, 330)])


def attachment(n: int, title: str) -> PageResult:
    """An attachment with its own motto and title but no number line (rules, programme, a form)."""
    return _page(n, [("ỦY BAN NHÂN DÂN", 280, 180), *_MOTTO,
                     ("Kiến Xương, ngày 12 tháng 3 năm 2025", 950, 320), (title, 820, 450)])


def pages_of(pages: list[PageResult]) -> list[tuple[int, ...]]:
    return [p.pages for p in segment(pages, filename="box.pdf").plans]


def test_a_number_cited_in_the_body_does_not_start_a_document() -> None:
    cited = "- Căn cứ Quyết định số 147/2009/QĐ-UBND ngày 12/3/2009 của Ủy ban nhân dân tỉnh"
    pages = [first_page(1), body_page(2, cited), body_page(3, "Nghị định số 73/2019/NĐ-CP và Nghị định số")]
    assert not has_number_line(pages[1])
    assert pages_of(pages) == [(1, 2, 3)]


def test_an_attachment_with_the_motto_but_no_number_continues_the_document() -> None:
    pages = [first_page(1), body_page(2, "tiếp theo trang trước"), attachment(3, "THỂ LỆ"),
             attachment(4, "CHƯƠNG TRÌNH")]
    assert pages_of(pages) == [(1, 2, 3, 4)]


def test_a_form_with_a_dotted_number_placeholder_continues_the_document() -> None:
    pages = [first_page(1), first_page(2, number=".........", title="TỜ TRÌNH")]
    assert pages_of(pages) == [(1, 2)]


def test_each_document_with_its_own_number_line_starts_a_document() -> None:
    pages = [first_page(1), body_page(2, "tiếp theo"), first_page(3, number="620/VP-KSTTHC", title="CÔNG VĂN"),
             first_page(4, number="/GM-UBND", title="GIẤY MỜI")]  # the digits handwritten, not read
    assert pages_of(pages) == [(1, 2), (3,), (4,)]


def test_a_number_label_whose_digits_were_all_handwritten_still_starts_a_document() -> None:
    pages = [first_page(1), first_page(2, number="")]
    assert has_number_line(pages[1])
    assert pages_of(pages) == [(1,), (2,)]


def test_the_number_line_beside_the_date_on_the_same_ocr_line_is_found() -> None:
    words = _line("Số: 485/TB-TNMT", 300, 320, block=1) + _line("Đông Hưng, ngày 19 tháng 01 năm 2022", 850, 320,
                                                                  block=1)
    page = PageResult(page=1, width=W, height=H, quality=Quality(), text="", words=tuple(words))
    assert has_number_line(page)


def test_a_copy_mark_page_after_the_copied_document_starts_its_own_document() -> None:
    copy_mark = _page(2, [("8", 1700, 120), ("UBND TỈNH BẮC GIANG", 300, 280), ("SAO LỤC", 1200, 286),
                          ("VĂN PHÒNG", 400, 330), ("Số: 3£ /SL-VP", 320, 425),
                          ("Bắc Giang, ngày 23 tháng 02 năm 2010", 930, 423)])
    assert has_number_line(copy_mark)
    assert pages_of([first_page(1), copy_mark]) == [(1,), (2,)]


def test_an_authentication_block_under_the_last_lines_of_text_does_not_start_a_document() -> None:
    last = _page(2, [("26", 880, 140), ("Điều 37. Trách nhiệm thi hành", 376, 250),
                     ("1. Tổng Tham mưu trưởng, Chủ nhiệm Tổng cục Chính trị, chỉ huy các cơ quan", 300, 307),
                     ("BỘ QUỐC PHÒNG", 400, 678), ("XÁC THỰC VĂN BẢN HỢP NHẤT", 920, 678),
                     ("Số: /VBHN-BQP", 375, 761), ("Hà Nội, ngày 04 tháng 5 năm 2026", 915, 770)])
    assert not has_number_line(last)
    assert pages_of([first_page(1), last]) == [(1, 2)]


def test_a_wide_motto_above_the_number_line_is_not_running_text() -> None:
    page = _page(2, [("UBND TỈNH PHÚ THỌ", 40, 40), ("CỘNG  HÒA  XÃ  HỘI  CHỦ  NGHĨA  VIỆT  NAM  ", 760, 40),
                     ("VĂN PHÒNG", 140, 100), ("Sá: 6/0 /VP-KSTTHC", 40, 210)])
    page = PageResult(page=2, width=W, height=H, quality=Quality(), text=page.text,
                      words=tuple(w if w.text != "VIỆT" else Word("VIỆT", w.left, w.top, 700, w.height, w.conf,
                                                                  w.block, w.par, w.line) for w in page.words))
    assert has_number_line(page)
