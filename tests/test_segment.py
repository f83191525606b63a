"""Segmentation of generated batches into dossiers, receipts and result documents."""

from __future__ import annotations

import pytest

from digitize.document.segment import segment
from digitize.models import Code, PageKind, PageResult, Quality, Word
from digitize.samples import sheets as G

A = "000.00.16.H56-200912-0098"
B = "000.00.14.H56-210922-0032"
C = "H26.107.01-260203-010023"
D = "000.00.15.H56-241126-0222"

_SHEETS: dict[tuple, G.Sheet] = {}


def _sheet(kind: str, *args: object, **kw: object) -> G.Sheet:
    key = (kind, args, tuple(sorted(kw.items())))
    if key not in _SHEETS:
        _SHEETS[key] = getattr(G, kind)(*args, dpi=100, **kw)
    return _SHEETS[key]


def _qr(code: str) -> tuple[Code, ...]:
    return (Code("QRCode", code),)


def _bar(code: str) -> tuple[Code, ...]:
    return (Code("Code128", code),)


def build(spec: list[tuple[str, dict]], *, damage: float = 0.0) -> list[PageResult]:
    """PageResults for a list of (kind, options) in page order; text optionally OCR-damaged."""
    out = []
    for i, (kind, opt) in enumerate(spec, start=1):
        opt = dict(opt)
        codes = opt.pop("codes", ())
        error = opt.pop("error", None)
        sheet = _sheet(kind, *opt.pop("args", ()), **opt)
        text = G.ocr_damage(sheet.text, seed=i, rate=damage) if damage else sheet.text
        out.append(G.page_result(i, sheet, codes=codes, text=text, error=error))
    return out


def summary(seg) -> list[tuple]:  # type: ignore[no-untyped-def]
    return [(p.kind, p.pages, p.dossier_id, p.dossier_source) for p in seg.plans]


@pytest.mark.parametrize("damage", [0.0, 0.35])
def test_batch_with_separators_receipts_and_blanks_splits_exactly(damage: float) -> None:
    spec = [
        ("separator", {"args": (A,), "codes": _qr(A)}),  # 1
        ("blank", {}),  # 2 duplex back of the sheet
        ("document_first", {"number": "12/QĐ-UBND"}),  # 3
        ("continuation", {"args": (2,)}),  # 4
        ("document_first", {"number": "45/TB-UBND", "title": "THÔNG BÁO"}),  # 5
        ("separator", {"args": (B,), "codes": _qr(B)}),  # 6
        ("receipt", {"args": (B,), "codes": _bar(B)}),  # 7 receipt after the sheet: same dossier
        ("document_first", {"number": "7/GPXD"}),  # 8
        ("blank", {"seed": 3}),  # 9
        ("continuation", {"args": (2,)}),  # 10
        ("continuation", {"args": (3,)}),  # 11
        ("receipt", {"args": (D,), "codes": _bar(D)}),  # 12 receipt after documents: a new dossier
        ("document_first", {"number": "9/QĐ-UBND"}),  # 13
        ("document_first", {"number": "10/QĐ-UBND"}),  # 14
        ("document_first", {"number": "11/CV-UBND", "title": "CÔNG VĂN"}),  # 15
        ("separator", {"args": (C,), "codes": _qr(C)}),  # 16
        ("document_first", {"number": "3/GXN"}),  # 17
    ]
    seg = segment(build(spec, damage=damage), filename="batch_07.pdf")
    assert summary(seg) == [
        ("result", (3, 4), A, "separator"),
        ("result", (5,), A, "separator"),
        ("receipt", (7,), B, "separator"),
        ("result", (8, 10, 11), B, "separator"),
        ("receipt", (12,), D, "receipt_barcode"),
        ("result", (13,), D, "receipt_barcode"),
        ("result", (14,), D, "receipt_barcode"),
        ("result", (15,), D, "receipt_barcode"),
        ("result", (17,), C, "separator"),
    ]
    assert all(not p.reasons for p in seg.plans)
    kinds = seg.page_kinds
    assert set(kinds) == set(range(1, 18))
    assert [n for n, k in kinds.items() if k == PageKind.SEPARATOR] == [1, 6, 16]
    assert [n for n, k in kinds.items() if k == PageKind.RECEIPT] == [7, 12]
    assert [n for n, k in kinds.items() if k == PageKind.BLANK] == [2, 9]


def test_receipt_text_alone_identifies_the_dossier() -> None:
    seg = segment(build([("receipt", {"args": (D,), "barcode": False}), ("document_first", {}),
                         ("continuation", {"args": (2,)})], damage=0.3), filename="scan_0003.pdf")
    assert summary(seg) == [("receipt", (1,), D, "receipt_text"), ("result", (2, 3), D, "receipt_text")]


def test_receipt_barcode_wins_over_its_text_and_disagreement_is_reported() -> None:
    pages = build([("receipt", {"args": (D,), "codes": _bar(A)}), ("document_first", {})])
    seg = segment(pages, filename="x.pdf")
    doc = seg.plans[1]
    assert (doc.dossier_id, doc.dossier_source) == (A, "receipt_barcode")
    assert any(A in r and D in r and "disagree" in r for r in doc.reasons)


def test_filename_code_is_used_and_checked() -> None:
    seg = segment(build([("document_first", {}), ("continuation", {"args": (2,)})]), filename=f"{A}.pdf")
    assert summary(seg) == [("result", (1, 2), A, "filename")]
    assert not seg.plans[0].reasons
    seg = segment(build([("separator", {"args": (B,), "codes": _qr(B)}), ("document_first", {})]),
                  filename=f"{A}.pdf")
    plan = seg.plans[0]
    assert (plan.dossier_id, plan.dossier_source) == (B, "separator")
    assert any(A in r and B in r for r in plan.reasons)


def test_code_line_in_the_document_is_the_last_resort() -> None:
    seg = segment(build([("document_first", {"code_line": f"Mã hồ sơ: {C}"})], damage=0.2), filename="scan.pdf")
    assert summary(seg) == [("result", (1,), C, "text")]


def test_no_code_gives_null_dossier_and_a_reason() -> None:
    seg = segment(build([("document_first", {}), ("document_first", {"number": "2/TB-UBND"})]),
                  filename="scan_0004.pdf")
    assert [p.dossier_id for p in seg.plans] == [None, None]
    assert all(any("no dossier code" in r for r in p.reasons) for p in seg.plans)


def test_qr_that_is_not_a_dossier_code_does_not_split() -> None:
    """A land-use certificate's own QR (a URL) on a page, and an invalid code-like QR, start nothing."""
    spec = [
        ("separator", {"args": (A,), "codes": _qr(A)}),
        ("document_first", {}),
        ("continuation", {"args": (2,), "codes": _qr("https://dichvucong.gov.vn/p/home/dvc-tra-cuu?id=99")}),
        ("continuation", {"args": (3,), "codes": _qr("000.00.16.H56-201332-0098")}),  # month 13
        ("continuation", {"args": (4,), "codes": (Code("Code128", A),)}),  # a barcode, not a QR
    ]
    seg = segment(build(spec), filename="batch.pdf")
    assert summary(seg) == [("result", (2, 3, 4, 5), A, "separator")]
    assert seg.page_kinds[3] == PageKind.DOCUMENT


def test_dossier_code_qr_on_a_titled_document_page_is_no_separator() -> None:
    spec = [("document_first", {"codes": _qr(B)}), ("continuation", {"args": (2,)})]
    seg = segment(build(spec), filename="scan.pdf")
    assert summary(seg) == [("result", (1, 2), B, "text")]
    assert seg.page_kinds[1] == PageKind.DOCUMENT


def test_separator_with_unreadable_qr_is_recognised_by_its_text() -> None:
    spec = [("separator", {"args": (A,)}), ("document_first", {}), ("separator", {"args": (B,)}),
            ("document_first", {})]
    seg = segment(build(spec, damage=0.25), filename="batch.pdf")
    assert summary(seg) == [("result", (2,), A, "separator"), ("result", (4,), B, "separator")]
    assert all(any("QR unreadable" in r for r in p.reasons) for p in seg.plans)


def test_failed_pages_stay_in_their_document_with_a_reason() -> None:
    spec = [("separator", {"args": (A,), "codes": _qr(A)}), ("document_first", {}),
            ("continuation", {"args": (2,), "error": "tesseract timed out"}), ("continuation", {"args": (3,)}),
            ("document_first", {"number": "5/TB-UBND"})]
    seg = segment(build(spec), filename="b.pdf")
    assert summary(seg) == [("result", (2, 3, 4), A, "separator"), ("result", (5,), A, "separator")]
    assert any("page 3" in r and "tesseract timed out" in r for r in seg.plans[0].reasons)
    assert seg.page_kinds[3] == PageKind.FAILED
    assert not seg.plans[1].reasons


def test_failed_first_page_still_makes_a_document() -> None:
    seg = segment(build([("document_first", {"error": "corrupt page"}), ("continuation", {"args": (2,)})]),
                  filename=f"{A}.pdf")
    assert summary(seg) == [("result", (1, 2), A, "filename")]


def test_pages_are_taken_in_page_order_and_all_get_a_kind() -> None:
    pages = build([("separator", {"args": (A,), "codes": _qr(A)}), ("document_first", {}), ("blank", {})])
    seg = segment(list(reversed(pages)), filename="b.pdf")
    assert summary(seg) == [("result", (2,), A, "separator")]
    assert seg.page_kinds == {1: PageKind.SEPARATOR, 2: PageKind.DOCUMENT, 3: PageKind.BLANK}


def test_title_block_is_searched_in_the_top_of_the_page_when_word_boxes_are_known() -> None:
    """With word boxes, a motto quoted at the bottom of a continuation page does not start a document."""
    def words(lines: list[tuple[int, str]]) -> tuple[Word, ...]:
        out = []
        for i, (top, text) in enumerate(lines):
            out += [Word(w, 100 + 60 * j, top, 50, 30, 90.0, 1, 1, i) for j, w in enumerate(text.split())]
        return tuple(out)

    first = [(100, "ỦY BAN NHÂN DÂN"), (100, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"), (160, "Số: 1/QĐ-UBND")]
    later = [(100, "Điều 2. Quyết định có hiệu lực"), (2500, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")]
    pages = [PageResult(page=1, width=2480, height=3508, words=words(first), text="\n".join(t for _, t in first)),
             PageResult(page=2, width=2480, height=3508, words=words(later), text="\n".join(t for _, t in later),
                        quality=Quality())]
    seg = segment(pages, filename=f"{A}.pdf")
    assert summary(seg) == [("result", (1, 2), A, "filename")]


@pytest.mark.slow
def test_rendered_batch_with_rotated_pages_splits_exactly() -> None:
    """Render a batch, damage it (skew, noise, faded toner, pages upside down), read the codes from the
    images with read_codes, and segment: every page must land where it belongs."""
    from digitize.page.codes import read_codes

    dpi = 150
    batch = [  # (sheet, rotation applied by the scanner)
        (G.separator(A, dpi), 180),
        (G.blank(dpi, seed=1), 0),
        (G.document_first(dpi, number="12/QĐ-UBND"), 0),
        (G.separator(B, dpi), 0),
        (G.receipt(B, dpi), 180),
        (G.document_first(dpi, number="7/GPXD"), 180),
        (G.continuation(2, dpi), 0),
        (G.blank(dpi, seed=2), 0),
        (G.receipt(D, dpi, code_text=False), 0),
        (G.document_first(dpi, number="3/TB-UBND", qr_payload="https://example.gov.vn/verify?id=7"), 0),
        (G.document_first(dpi, number="4/QĐ-UBND"), 0),
        (G.continuation(2, dpi), 180),
        (G.continuation(3, dpi), 0),
    ]
    pages = []
    for i, (sheet, rot) in enumerate(batch, start=1):
        scanned = G.degrade(sheet.image, seed=i, rotate=rot, skew_deg=(-1) ** i * 2.0, noise=10, faded=i % 3 == 0)
        codes = read_codes(scanned)
        pages.append(G.page_result(i, sheet, codes=codes, text=G.ocr_damage(sheet.text, seed=i, rate=0.3)))
    seg = segment(pages, filename="batch_21.pdf")
    assert summary(seg) == [
        ("result", (3,), A, "separator"),
        ("receipt", (5,), B, "separator"),
        ("result", (6, 7), B, "separator"),
        ("receipt", (9,), D, "receipt_barcode"),
        ("result", (10,), D, "receipt_barcode"),
        ("result", (11, 12, 13), D, "receipt_barcode"),
    ]
    assert all(not p.reasons for p in seg.plans)
    assert [k.value for _, k in sorted(seg.page_kinds.items())] == [
        "separator", "blank", "document", "separator", "receipt", "document", "document", "blank", "receipt",
        "document", "document", "document", "document"]
