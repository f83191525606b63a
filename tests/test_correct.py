"""Post-OCR syllable correction (digitize.text.correct): made-up words, no corpus."""

from __future__ import annotations

import dataclasses
import gzip
from importlib import resources

import pytest

from digitize.models import Word
from digitize.page.tesseract.ocr import words_to_text
from digitize.text import correct as C


def _line(text: str, conf: float = 80.0, line: int = 1) -> list[Word]:
    words = []
    x = 0
    for t in text.split():
        words.append(Word(text=t, left=x, top=100 * line, width=10 * len(t), height=30, conf=conf, line=line))
        x += 10 * len(t) + 10
    return words


def _fix(text: str, conf: float = 80.0) -> str:
    return words_to_text(C.correct_words(_line(text, conf)))


@pytest.mark.parametrize("s,ok", [("nguyễn", True), ("quyền", True), ("giấy", True), ("nghiêng", True),
                                  ("ubnd", False), ("đât", True), ("bắc", True), ("bằc", False),
                                  ("áà", False), ("xyz", False)])
def test_syllable_shape(s: str, ok: bool) -> None:
    assert C.is_syllable_shape(s) is ok


def test_shipped_lexicon_is_sane() -> None:
    lex = C.lexicon()
    assert 3000 < len(lex.uni) < 12000  # tessdata word list + own texts (hunspell-vi, optional, adds ~3,000)
    for s in ("quyền", "sử", "dụng", "đất", "nghị", "ủy", "ban"):
        assert s in lex
    assert "đât" not in lex and "ubnd" not in lex
    assert lex.bi[("quyền", "sử")] > 0
    raw = resources.files("digitize").joinpath("data/lexicon.tsv.gz").read_bytes()
    assert len(raw) < 200_000 and gzip.decompress(raw).startswith(b"#")


@pytest.mark.parametrize("read,printed", [
    ("Giấy chứng nhận quyền sử đụng đât", "Giấy chứng nhận quyền sử dụng đất"),
    ("thời điểm bát đầu sử dụng", "thời điểm bắt đầu sử dụng"),
    ("CÔNG HÒA XÃ HỘI CHỦ NGHĨA", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA"),
    ("ỦY BẠN NHÂN ĐÂN HUYEN", "ỦY BAN NHÂN DÂN HUYỆN"),
    ("có hiệu lực kế từ ngày ký", "có hiệu lực kể từ ngày ký"),
])
def test_fixes_diacritics_from_context(read: str, printed: str) -> None:
    assert _fix(read) == printed


def test_numbers_codes_and_abbreviations_are_never_touched() -> None:
    text = "Số: 123/QĐ-UBND ngày 15/06/2021 Lưu: VT, TNMT. 1.500.000 đồng m2 TC-KH"
    assert _fix(text, conf=10) == text


def test_sure_words_and_names_stay() -> None:
    # a real syllable read with high confidence stays when it makes a word with a neighbour, or when no
    # single diacritic variant does; Tesseract is as sure of a lost mark ("kê hoạch", 96.8 on a real
    # scan), so a sure syllable making no word is swapped for the one variant that makes one
    lex = C.Lexicon.from_lines(["S\tbát\t2", "S\tbắt\t5", "S\tbạt\t1", "S\tđầu\t5", "S\tnước\t3",
                                "S\tngàn\t1", "B\tbắt đầu\t4", "B\tbát nước\t2", "B\tbạt ngàn\t1"])
    assert C.best_syllable("bát", right="đầu", conf=99, lex=lex) == "bắt"
    assert C.best_syllable("bát", right="nước", conf=99, lex=lex) == "bát"  # the reading makes a word
    assert C.best_syllable("bát", left="đầu", conf=99, lex=lex) == "bát"  # no variant makes one either
    assert _fix("thời điểm bát đầu", conf=99) == "thời điểm bắt đầu"
    # a capitalised name is not respelled into a common word
    assert _fix("ông Trần Đình Phương", conf=60) == "ông Trần Đình Phương"
    assert _fix("ông Trần Đình Phương", conf=99) == "ông Trần Đình Phương"


def test_case_is_kept() -> None:
    assert _fix("Giây xác nhận") == "Giấy xác nhận"
    assert _fix("GIÂY XÁC NHẬN") == "GIẤY XÁC NHẬN"


def test_noise_marks_are_dropped_bullets_kept() -> None:
    words = _line("- Như Điều 3; | ` ⁄ ~") + _line("_„PHÓ CHỦ TỊCH", line=2)
    out = C.correct_words(words)
    assert words_to_text(out) == "- Như Điều 3;\nPHÓ CHỦ TỊCH"


def test_boxes_and_confidences_are_kept() -> None:
    words = _line("quyền sử đụng đât")
    out = C.correct_words(words)
    assert [(w.left, w.top, w.width, w.conf) for w in out] == [(w.left, w.top, w.width, w.conf) for w in words]


def test_the_next_line_of_a_paragraph_is_running_text_other_blocks_are_not() -> None:
    """A trích yếu wrapped over two lines reads on across the break ("thời điểm / bát đầu" is "bắt đầu" after
    "điểm"); a line of another block (the other header column) is no neighbour."""
    assert _fix("điểm bát nước") == "điểm bắt nước"
    words = _line("thời điểm") + _line("bát nước", line=2)
    assert words_to_text(C.correct_words(words)) == "thời điểm\nbắt nước"
    words = _line("thời điểm") + [dataclasses.replace(w, block=2) for w in _line("bát nước", line=2)]
    assert words_to_text(C.correct_words(words)) == "thời điểm\nbát nước"


def test_words_with_no_candidate_stay() -> None:
    assert _fix("Xiaomi Bluetooth") == "Xiaomi Bluetooth"


def test_custom_lexicon() -> None:
    lex = C.Lexicon.from_lines(["S\tsử\t3", "S\tdụng\t3", "S\tđụng\t1", "B\tsử dụng\t5"])
    assert C.best_syllable("đụng", left="sử", conf=50, lex=lex) == "dụng"
    assert C.best_syllable("dụnq", left="sử", conf=50, lex=lex) == "dụng"


@pytest.mark.parametrize("read,printed", [
    ("giáo dục công nam 2026", "giáo dục công năm 2026"), ("Nghị quyết sô 29-NQ/TW", "Nghị quyết số 29-NQ/TW"),
    ("NĂM 2012", "NĂM 2012"), ("Sở 12 phòng", "Số 12 phòng"), ("ông Nam 30 tuổi", "ông Nam 30 tuổi"),
])
def test_year_and_number_formulas(read, printed):
    assert _fix(read, conf=97) == printed


def test_a_lone_tilde_or_em_dash_read_surely_between_words_is_an_en_dash() -> None:
    def line(*items: tuple[str, float]) -> list[Word]:
        return [Word(t, 100 * i, 0, 90, 40, c, 1, 1, 1) for i, (t, c) in enumerate(items)]

    out = C.correct_words(line(("Công", 97), ("nghiệp", 93), ("~", 71), ("Dịch", 97), ("vụ", 96)))
    assert [w.text for w in out] == ["Công", "nghiệp", "–", "Dịch", "vụ"]
    out = C.correct_words(line(("Công", 97), ("nghiệp", 93), ("—", 80), ("Dịch", 97)))
    assert [w.text for w in out] == ["Công", "nghiệp", "–", "Dịch"]
    out = C.correct_words(line(("Công", 97), ("nghiệp", 93), ("~", 30), ("Dịch", 97)))  # a speck
    assert [w.text for w in out] == ["Công", "nghiệp", "Dịch"]
    out = C.correct_words(line(("~", 90), ("Dịch", 97), ("vụ", 97)))  # not between two words
    assert "–" not in [w.text for w in out]


def test_a_rare_syllable_with_a_letter_lost_is_the_common_one_its_neighbours_attest() -> None:
    """"Nộ" is a syllable (phẫn nộ) but rare; read unsurely between "ngành" and "vụ", the common "Nội" a letter
    away makes a pair on both sides: it was printed. A sure reading stays."""
    def line(conf: float) -> list[Word]:
        return [Word(t, 100 * i, 0, 90, 40, conf, 1, 1, 1) for i, t in enumerate(["ngành", "Nộ", "vụ", "năm"])]

    lex = C.lexicon()
    assert lex.uni.get("nộ", 0) <= C.RARE and ("nội", "vụ") in lex.bi and ("ngành", "nội") in lex.bi
    assert [w.text for w in C.correct_words(line(80))] == ["ngành", "Nội", "vụ", "năm"]
    assert [w.text for w in C.correct_words(line(96))] == ["ngành", "Nộ", "vụ", "năm"]


def test_a_pair_on_one_side_does_not_outweigh_a_variant_attested_many_times_more() -> None:
    """"hỗ trợ thanh lập": "trợ thanh" is a pair (from "hỗ trợ thanh niên"), but "thành lập" is attested far
    more: the diacritic slipped. Where the variant is not far more attested, the reading stays."""
    lex = C.Lexicon.from_lines(["S\tthanh\t9", "S\tthành\t9", "S\ttrợ\t9", "S\tlập\t9", "S\tniên\t9", "S\thội\t9",
                                "S\tthánh\t2", "S\tđức\t3", "B\ttrợ thanh\t2", "B\tthành lập\t40",
                                "B\tthanh niên\t30", "B\thội thanh\t8", "B\thội thánh\t3"])
    assert C.best_syllable("thanh", left="trợ", right="lập", conf=96, lex=lex) == "thành"
    assert C.best_syllable("thanh", left="trợ", right="niên", conf=96, lex=lex) == "thanh"
    assert C.best_syllable("thanh", left="hội", right="đức", conf=96, lex=lex) == "thanh"  # 3 is not far more
