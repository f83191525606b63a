"""Vietnamese text helpers: NFC, old/new tone-mark placement, diacritic folding, case conversion.

OCR output and printed documents mix the old ("hoà", "Uỷ") and new ("hòa", "Ủy") placements of the
tone mark, and OCR often drops or swaps diacritics. Values we store are NFC with the new placement;
matching is done on :func:`fold` (no diacritics, "đ" -> "d", casefolded, single spaces).
"""

from __future__ import annotations

import re
import unicodedata

_TONE_MARKS = "\u0300\u0301\u0303\u0309\u0323"  # grave, acute, tilde, hook above, dot below
_WS = re.compile(r"\s+")


def nfc(text: str) -> str:
    """Unicode NFC (precomposed) form; Vietnamese text is stored and compared in NFC."""
    return unicodedata.normalize("NFC", text)


def collapse(text: str) -> str:
    """NFC with runs of whitespace collapsed to one space and the ends stripped."""
    return _WS.sub(" ", nfc(text)).strip()


def new_tone_style(text: str) -> str:
    """Move tone marks from the old placement to the new one: "hoà" -> "hòa", "Uỷ" -> "Ủy".

    Only the glide + final-vowel syllables that end the word change ("oa", "oe", "uy"); "quà",
    "hoàn" and "thuyền" stay as they are.
    """
    d = unicodedata.normalize("NFD", text)
    # NFD puts the tone mark after the vowel it sits on: "oà" is o, a, grave; new style o, grave, a.
    d = re.sub(
        rf"(?<![qQ])([oOuU])([aAeEyY])([{_TONE_MARKS}])(?![a-zA-Z\u0300-\u036f])",
        lambda m: m.group(1) + m.group(3) + m.group(2),
        d,
    )
    return unicodedata.normalize("NFC", d)


def canonical(text: str) -> str:
    """NFC, new tone placement, collapsed whitespace: the form values are stored in."""
    return collapse(new_tone_style(collapse(text)))


def fold(text: str) -> str:
    """Diacritic-free casefolded form for tolerant matching: "Ủy ban" -> "uy ban", "Đông" -> "dong"."""
    d = unicodedata.normalize("NFD", nfc(text).replace("đ", "d").replace("Đ", "D"))
    stripped = "".join(ch for ch in d if not unicodedata.combining(ch))
    return _WS.sub(" ", stripped.casefold()).strip()


def same_word(a: str, b: str) -> bool:
    """True when two spellings are the same word up to case and tone-mark placement ("Uỷ" == "ủy")."""
    return canonical(a).casefold() == canonical(b).casefold()


def has_diacritics(text: str) -> bool:
    """True when the text carries any Vietnamese diacritic (including "đ")."""
    return fold(text) != collapse(text).casefold()


def diacritic_count(text: str) -> int:
    """Number of combining marks (and "đ") in the text: more marks usually means less OCR loss."""
    d = unicodedata.normalize("NFD", nfc(text))
    return sum(1 for ch in d if unicodedata.combining(ch)) + sum(1 for ch in text if ch in "đĐ")


def is_upper_text(text: str, *, threshold: float = 0.8) -> bool:
    """True when at least ``threshold`` of the letters are upper case (headings, type names)."""
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return False
    return sum(ch.isupper() for ch in letters) / len(letters) >= threshold


def capitalize_first(word: str) -> str:
    """Upper-case the first letter and lower-case the rest ("ĐÔNG" -> "Đông")."""
    word = word.lower()
    for i, ch in enumerate(word):
        if ch.isalpha():
            return word[:i] + ch.upper() + word[i + 1 :]
    return word


def sentence_case(text: str) -> str:
    """ "QUY ĐỊNH QUẢN LÝ ĐẦU TƯ" -> "Quy định quản lý đầu tư" (a heading printed in capitals, as a sentence)."""
    words = collapse(text).lower().split(" ")
    return " ".join([capitalize_first(words[0]), *words[1:]]) if words and words[0] else text


def title_case(text: str) -> str:
    """Every word capitalised, as personal and place names are written: "PHẠM XUÂN" -> "Phạm Xuân"."""
    return " ".join(capitalize_first(w) for w in collapse(text).split(" ") if w)


def letter_ratio(text: str) -> float:
    """Share of non-space characters that are letters (rules, dots and seal noise score low)."""
    chars = [ch for ch in text if not ch.isspace()]
    if not chars:
        return 0.0
    return sum(ch.isalpha() for ch in chars) / len(chars)


# --- personal names -------------------------------------------------------------------------------

SURNAMES: frozenset[str] = frozenset(
    """Nguyễn Trần Lê Phạm Hoàng Huỳnh Phan Vũ Võ Đặng Bùi Đỗ Hồ Ngô Dương Lý Đinh Đoàn Lại Trịnh Tạ Khúc
    Quách Mai Tô Cao Lương Đào Hà Chu Lưu Kiều Tăng Thái Đàm La Lâm Triệu Âu Mạc Nông Hứa Tống Vương Giang
    Tôn Thân Kim Đồng Lục Bạch Hầu Phùng Nghiêm Châu Doãn Ông Lã Lò Quan Diệp Trương Từ Đường Viên Khổng
    Thạch Lạc Ninh Vi Mẫn Khương Hàn Tiêu Đới Cù Nhữ Trình Vòng Sầm Phí Bế Tiết Lữ Đậu Ma Cung Lăng Bành
    Thiều Ứng Quản Dư Lỗ Đổng Giáp Kha Khuất Ôn Nhâm""".split()
)

# Syllables common in Vietnamese middle and given names, as printed (new tone placement).
NAME_SYLLABLES: frozenset[str] = frozenset(
    """An Ánh Anh Bắc Bách Bạch Bảo Bằng Bích Biên Bình Bổng Ca Cảnh Cát Cầm Chánh Châu Chi Chiến Chính Chinh
    Chuẩn Chung Công Cúc Cung Cường Cương Đại Đạm Đan Đang Đăng Đào Đạo Đạt Diễm Diệp Diệu Định Đình Dịu Đoan
    Doanh Đông Đồng Đức Dung Dũng Dương Duy Duyên Gấm Giang Hà Hạ Hải Hân Hằng Hạnh Hào Hảo Hậu Hiền Hiển
    Hiệp Hiếu Hiểu Hinh Hòa Hoa Hoài Hoan Hoàn Hoàng Hồng Hợp Huấn Huế Huệ Hùng Hưng Hương Hường Hữu Huy
    Huyền Huynh Kha Khải Khang Khanh Khánh Khiêm Khoa Khôi Khuê Khương Kiên Kiệt Kiều Kim Kỳ Lài Lâm Lan
    Lành Lễ Liên Liêm Liễu Linh Loan Lộc Lợi Long Luân Lực Lương Lưu Ly Lý Mai Mạnh Mến Miên Minh Mơ Mỹ
    Na Nam Năng Nga Ngà Ngân Nghĩa Nghị Ngọc Nguyên Nguyệt Nhã Nhàn Nhân Nhật Nhi Nhiên Nhung Như Ninh Oanh
    Phát Phong Phú Phúc Phụng Phước Phương Phượng Quân Quang Quảng Quế Quốc Quý Quyên Quyết Quỳnh Sang Sáng
    Sâm Sen Sinh Sơn Sương Tài Tâm Tân Tấn Tầm Thạch Thái Thắm Thăng Thắng Thanh Thành Thảo Thị Thiện Thịnh
    Thoa Thơm Thông Thu Thuận Thục Thùy Thủy Thư Thức Thương Thường Tiến Tiên Tín Tình Toàn Toản Trâm Trang
    Trí Triều Triệu Trinh Trọng Trung Trúc Trực Trường Tú Tuân Tuấn Tuệ Tùng Tuyên Tuyết Tường Uyên Văn Vân
    Việt Vinh Vĩnh Võ Vũ Vương Vy Xuân Yên Yến Bá Cẩm Chí Chiểu Đắc Điệp Hiên Hiệu Hòe Hồ Khắc Khiết
    Lệ Luyến Mẫn Ngạn Nhạn Phấn Sỹ Sĩ Thế Thúy Thụy Trúc Tư Tuyền Ước Vĩ Viễn Xuyến Yên Hưởng Lượng Ánh
    Bảy Ba Tư Năm Sáu Tám Chín Mười Út Cò Dần Mão Thìn Tỵ Ngọ Mùi Thân Dậu Tuất Hợi Tý Sửu Đô Đạt Hiệp Kỷ
    Lạng Lập Tuệ Uy Vượng Ngôn Bền Bội Cần Cao Chương Diên Dự Hàm Hậu Hiên Hoạt Khởi Lãm Lĩnh Lũy Miện Nhẫn
    Phi Phố Phổ Quỳ Quyền Sa Tạo Thảnh Thịnh Thuần Thuyên Toan Tráng Trãi Trình Tuyến Tỉnh Uông Vịnh Xương""".split()
)

_SURNAMES_FOLDED: dict[str, list[str]] = {}
for _s in SURNAMES:
    _SURNAMES_FOLDED.setdefault(fold(_s), []).append(_s)


def repair_surname(word: str) -> str | None:
    """The surname an OCR'd first word stands for ("Đổ" -> "Đỗ"), or None when it is no known surname.

    Exact spellings are kept; a diacritic-damaged one is repaired only when exactly one surname folds
    to it ("Dương" and "Đường" both fold to "duong": such a word is kept as read).
    """
    w = capitalize_first(canonical(word))
    if w in SURNAMES:
        return w
    candidates = _SURNAMES_FOLDED.get(fold(w), [])
    if len(candidates) == 1:
        return candidates[0]
    if candidates:
        return w
    return None


def surname_from_tail(tail: str) -> str | None:
    """The one surname whose first one or two letters were lost to leave ``tail`` ("ùi" -> "Bùi", "ạm" ->
    "Phạm"): the tail must keep the surname's vowel and tone as printed; None when no surname or several
    end so ("ương": Trương, Dương, Lương …)."""
    t = canonical(tail).lower()
    if len(t) < 2 or not t.isalpha():
        return None
    found = [s for s in SURNAMES if 1 <= len(s) - len(t) <= 2 and s.lower().endswith(t)]
    return found[0] if len(found) == 1 else None


def is_name_syllable(word: str) -> bool:
    """True when the word is a known Vietnamese surname or middle/given-name syllable, as spelt."""
    w = capitalize_first(canonical(word))
    return w in NAME_SYLLABLES or w in SURNAMES
