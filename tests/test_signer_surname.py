"""The start of a signer's name lost under a signature, read again by the line recogniser."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from digitize.document.lines import _Found, build_lines
from digitize.document.signer_surname import RESTORED, lost_start, restore_surname
from digitize.models import PageResult, Word
from digitize.samples.documents import font


@pytest.mark.parametrize(("read", "kept", "start"), [
    ("Nguyen Van Dieu", ["Văn", "Diệu"], ["Nguyễn"]),
    ("Bùi Văn Hāi", ["Văn", "Hải"], ["Bùi"]),
    ("Nguyen Công Nghiêp", ["Công", "Nghiệp"], ["Nguyễn"]),
    ("Van Dieu", ["Văn", "Diệu"], None),  # nothing before the words read
    ("Xyz Van Dieu", ["Văn", "Diệu"], None),  # no surname before them
    ("Nguyen Van Dieu", ["Văn", "Hải"], None),  # another name: the reading is not of this line
    ("KT. Nguyen Van Dieu", ["Văn", "Diệu"], ["Nguyễn"]),
])
def test_lost_start(read, kept, start):
    assert lost_start(read, kept) == start


def _name_page(scribble: bool) -> tuple[np.ndarray, PageResult]:
    img = Image.new("RGB", (900, 220), (250, 250, 250))
    draw = ImageDraw.Draw(img)
    f = font(44, bold=True)
    draw.text((200, 90), "Nguyễn Văn Diệu", font=f, fill=(10, 10, 10))
    x_van = 200 + round(draw.textlength("Nguyễn ", font=f))
    if scribble:  # a signature's strokes over the surname
        draw.line([(190, 60), (250, 150), (300, 55), (360, 145), (x_van - 10, 70)], fill=(60, 70, 170), width=3)
    w_van, w_dieu = round(draw.textlength("Văn", font=f)), round(draw.textlength("Diệu", font=f))
    words = (Word(text="Văn", left=x_van, top=92, width=w_van, height=46, conf=90),
             Word(text="Diệu", left=x_van + w_van + 14, top=92, width=w_dieu, height=46, conf=90))
    return np.asarray(img)[..., ::-1].copy(), PageResult(page=3, width=900, height=220, words=words)


@pytest.mark.parametrize("scribble", [False, True])
def test_surname_under_a_signature_is_restored_and_flagged(scribble):
    image, page = _name_page(scribble)
    line = build_lines(page, 0)[0]
    found = _Found("Văn Diệu", 0.5, "signer: 'Văn' is not a known surname", line=line)
    seen = []

    def image_of(n: int):
        seen.append(n)
        return image, 1.0

    out = restore_surname(found, image_of, [3])
    assert seen == [3]
    assert out.value == "Nguyễn Văn Diệu" and out.reason == RESTORED and out.conf <= 0.6


def test_a_whole_name_is_left_alone():
    image, page = _name_page(False)
    line = build_lines(page, 0)[0]
    found = _Found("Văn Diệu", 0.9, None, line=line)  # no doubt about it: nothing to do
    assert restore_surname(found, lambda n: (image, 1.0), [3]) is found


def _line(text: str):
    words, x = [], 100
    for t in text.split():
        words.append(Word(text=t, left=x, top=50, width=20 * len(t), height=40, conf=90))
        x += 20 * len(t) + 15
    return build_lines(PageResult(page=1, width=1200, height=300, words=tuple(words)), 0)[0]


@pytest.mark.parametrize(("text", "is_name"), [
    ("Phó Văn Phòng", False), ("Kt Thủ Tướng", False), ("Trưởng Ban", False), ("Đại Diện Tổ Chức", False),
    ("Kcn Đình Trăm", False), ("Tp Bắc Giang", False), ("Nguyễn Văn Phòng", True), ("Trương Văn Ban", True),
])
def test_a_title_or_a_place_is_not_a_signer_name(text, is_name):
    from digitize.document.signer import _looks_like_name

    assert _looks_like_name(_line(text)) is is_name


@pytest.mark.parametrize(("text", "name"), [("Trung tá Ngô Văn Công", "Ngô Văn Công"),
                                            ("Đại úy Trần Văn Bình", "Trần Văn Bình"),
                                            ("PGS.TS Lê Văn An", "Lê Văn An"), ("Nguyễn Thị Lan", "Nguyễn Thị Lan")])
def test_a_rank_or_title_before_the_name_is_not_part_of_it(text, name):
    from digitize.document.signer import _signer_found

    assert _signer_found(_line(text)).value == name


def test_a_signature_block_read_line_by_line():
    """PP-OCR's detector boxes each line of the block; Tesseract reads each alone, so the name under the
    signature's strokes comes out as a line of its own."""
    from digitize.document.reocr import line_words

    img = Image.new("RGB", (1000, 420), (250, 250, 250))
    draw = ImageDraw.Draw(img)
    draw.text((300, 40), "PHÓ TRƯỞNG PHÒNG", font=font(40, bold=True), fill=(10, 10, 10))
    draw.text((330, 300), "Ngô Văn Công", font=font(44, bold=True), fill=(10, 10, 10))
    draw.line([(280, 120), (420, 330), (520, 110), (640, 320), (700, 150)], fill=(40, 60, 170), width=4)
    words = line_words(np.asarray(img)[..., ::-1].copy(), (0, 0, 1000, 420))
    lines: dict[int, list[str]] = {}
    for w in words:
        lines.setdefault(w.line, []).append(w.text)
    texts = [" ".join(v) for v in lines.values()]
    assert "Ngô Văn Công" in texts, texts
    assert any("PHÓ" in t for t in texts)


@pytest.mark.parametrize(("read", "score", "value"), [
    ("Tran Văn Le", 0.84, "Trần Văn Lộc"),  # one letter from "Trần", the rest as Tesseract read it: restored
    ("Tran Văn Le", 0.5, "Tân Văn Lộc"),  # the recogniser too unsure
    ("Nguyen Văn Le", 0.9, "Tân Văn Lộc"),  # "Nguyễn" is far from "Tân": not a misreading of it
    ("Tran Lộc", 0.9, "Tân Văn Lộc"),  # not word for word
])
def test_a_first_word_one_letter_from_a_surname_is_that_surname(read: str, score: float, value: str) -> None:
    from digitize.document.signer_surname import LineText

    img = np.full((220, 900, 3), 250, np.uint8)
    words = tuple(Word(text=t, left=200 + 150 * i, top=92, width=130, height=46, conf=90)
                  for i, t in enumerate(["Tân", "Văn", "Lộc"]))
    page = PageResult(page=1, width=900, height=220, words=words)
    line = build_lines(page)[0]
    found = _Found("Tân Văn Lộc", 0.8, "signer: 'Tân' is not a known surname", line=line)
    out = restore_surname(found, lambda p: (img, 1.0), [1], reader=lambda crop: LineText(read, score))
    assert out.value == value
    assert (out.reason == RESTORED) == (value != "Tân Văn Lộc")
