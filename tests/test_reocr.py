"""The second reading of a page region: the stored page image, ink dropout, words in page coordinates."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from digitize.document.reocr import black_ink, make_reocr, page_image, region_words
from digitize.models import PageResult
from digitize.page.pdf import page_pdf
from digitize.samples import pages as P
from digitize.samples.documents import DocSpec, render

DPI = 200


def _page(seal: bool) -> np.ndarray:
    img = np.asarray(render(DocSpec(signer="Nguyễn Thị Thanh Hương"), dpi=DPI).pages[0])
    if not seal:
        return img
    h, w = img.shape
    rows = np.where((img[int(h * 0.45):] < 128).any(axis=1))[0]  # the signer's name is the last line on the right
    name_y = int(h * 0.45) + int(rows.max())
    return P.red_seal(img, center=(int(w * 0.6), name_y - 20), dpi=DPI)


def test_black_ink_drops_red_and_blue_and_keeps_black():
    px = np.array([[[40, 40, 215], [170, 60, 30], [10, 10, 10], [250, 250, 250]]], np.uint8)  # BGR
    out = black_ink(px)
    assert out.shape == (1, 4)
    assert out[0, 0] == 255 and out[0, 1] == 255 and out[0, 3] == 255
    assert out[0, 2] == 10


@pytest.mark.parametrize("color", [False, True])
def test_page_image_round_trips_through_the_page_pdf(color):
    img = _page(seal=color)
    pdf = page_pdf(img, is_color=color, dpi=DPI, text_pdf=None)
    back = page_image(pdf)
    assert back.shape == img.shape
    assert np.mean(np.abs(back.astype(int) - img.astype(int))) < 6  # lossy encoding only


def test_signer_read_under_a_red_seal_in_page_coordinates():
    img = _page(seal=True)
    h, w = img.shape[:2]
    pdf = page_pdf(img, is_color=True, dpi=DPI, text_pdf=None)
    # page results in a different pixel grid than the stored image: coordinates must be mapped back
    result = PageResult(page=3, width=w // 2, height=h // 2, dpi=DPI / 2)
    reocr = make_reocr([result], lambda page: pdf if page == 3 else b"")
    box = (int(result.width * 0.45), int(result.height * 0.45), result.width, result.height)
    words = reocr(3, box)
    text = " ".join(wd.text for wd in words)
    assert "Hương" in text and "Nguyễn" in text
    for wd in words:
        assert box[0] <= wd.left <= box[2] and box[1] <= wd.top <= box[3]


def test_unknown_page_and_tiny_box_give_no_words():
    img = _page(seal=False)
    assert region_words(img, (10, 10, 12, 12)) == ()
    reocr = make_reocr([], lambda page: b"")
    assert reocr(1, (0, 0, 100, 100)) == ()


def test_gray_seal_over_the_name_is_cut_by_the_stricter_ink_threshold():
    img = _page(seal=True)
    # a grayscale scan of a dark seal: the seal comes out mid-gray (~95), darker than the 110 colour cut
    gray = ((cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).astype(int) + img[..., 1]) // 2).astype(np.uint8)
    h, w = gray.shape
    words = region_words(gray, (int(w * 0.45), int(h * 0.45), w, h), dpi=DPI)
    name = [wd for wd in words if wd.text in ("Nguyễn", "Thị", "Thanh", "Hương")]
    assert len(name) == 4 and min(wd.conf for wd in name) > 60


@pytest.mark.parametrize("lang", ["vie", "xqz"])
def test_finishing_a_file_reads_the_signer_again_with_the_run_s_ocr_settings(
        tmp_path, caplog: pytest.LogCaptureFixture, lang: str) -> None:
    from digitize.models import InputKind, SourceFile
    from digitize.page.tesseract.ocr import ocr_page
    from digitize.pipeline.file import finish_file
    from digitize.pipeline.page import OcrOptions, PageOutcome
    from digitize.pipeline.pagestore import save_page
    from storage.index import Index
    from storage.objects import LocalObjectStore

    img = _page(seal=False)
    h, w = img.shape[:2]
    first = ocr_page(img, dpi=DPI)
    name = {"Nguyễn", "Thị", "Thanh", "Hương"}
    # the first reading lost the signer's name (as under a seal): finishing the file must read the block again
    words = tuple(wd for wd in first.words if not (wd.top > 0.45 * h and wd.text in name))
    assert len(words) < len(first.words)
    result = PageResult(page=1, width=w, height=h, dpi=DPI, words=words, text=first.text, mean_conf=first.mean_conf)
    store = LocalObjectStore(tmp_path / "objects")
    index = Index.from_url(f"sqlite:///{tmp_path / 'index.sqlite'}")
    sha = "ab" * 32
    index.upsert_file(sha, source="scan.pdf", size=1, kind="pdf", page_count=1, status="queued")
    save_page(store, index, sha, PageOutcome(result, page_pdf(img, is_color=False, dpi=DPI, text_pdf=None)))
    src = SourceFile(path="scan.pdf", source="scan.pdf", sha256=sha, size=1, kind=InputKind.PDF, page_count=1)
    finish_file(src, [result], index, store, OcrOptions(lang=lang, timeout=60.0))
    [doc] = index.list_documents(sha256=sha)
    if lang == "vie":
        assert doc.metadata.signer.value == "Nguyễn Thị Thanh Hương"
    else:  # the configured language is the one asked for (and its missing model is reported, the page kept)
        assert doc.metadata.signer.value is None
        assert "language data for 'xqz'" in caplog.text


def test_the_line_detector_prints_nothing_of_its_own_on_an_empty_region(capfd: pytest.CaptureFixture[str]) -> None:
    """rapidocr logs "The text detection result is empty" through its own stderr handler: the clerk's terminal
    must not show it (library lines only with -v, through our logging)."""
    from digitize.page.linereader import detect_lines

    assert detect_lines(np.full((100, 300), 255, np.uint8)) == []
    assert detect_lines(np.full((100, 300, 3), 255, np.uint8)) == []
    out, err = capfd.readouterr()
    assert "RapidOCR" not in out + err and "detection result" not in out + err
