"""A page that is not Vietnamese (an English investment certificate) is read with English added."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from digitize.page.tesseract.ocr import FOREIGN_LANG, ocr_page, vietnamese_share
from digitize.samples.documents import font
from digitize.samples.pages import render_page

ENGLISH = ("INVESTMENT REGISTRATION CERTIFICATE", "This certificate is issued to the company named below,",
           "which is established under the laws of Singapore and has its",
           "registered office at 12 Marina Boulevard, Singapore.",
           "The investor shall carry out the project in accordance with",
           "the law and the provisions of this certificate.")


def _english_page() -> np.ndarray:
    img = Image.new("L", (1654, 800), 255)
    d = ImageDraw.Draw(img)
    for i, line in enumerate(ENGLISH):
        d.text((150, 100 + i * 70), line, font=font(36), fill=0)
    return np.asarray(img).copy()


def test_english_page_is_read_with_english() -> None:
    vie_only = ocr_page(_english_page(), dpi=200, lang="vie+vie")  # "vie+vie": the Vietnamese model, no detection
    assert "This certificate is issued" not in vie_only.text or "CERTIFICATE" not in vie_only.text
    out = ocr_page(_english_page(), dpi=200, lang="vie")
    assert out.lang == FOREIGN_LANG
    text = " ".join(out.text.split())
    for phrase in ("INVESTMENT REGISTRATION CERTIFICATE", "This certificate is issued to the company",
                   "the provisions of this certificate"):
        assert phrase in text


def test_vietnamese_page_stays_vietnamese() -> None:
    out = ocr_page(render_page(200)[:1000].copy(), dpi=200, lang="vie")
    assert out.lang == "vie"
    assert vietnamese_share(out.words) == pytest.approx(1.0, abs=0.05)
    assert "Giấy chứng nhận quyền sử dụng đất" in " ".join(out.text.split())


def test_too_few_words_say_nothing() -> None:
    assert vietnamese_share(()) is None
