"""What the station says, in Vietnamese: field labels, review reasons (the machine writes them in
English, for logs and the API) and the reason groups of the queue's filter."""

from __future__ import annotations

import re

from digitize.handoff.review import FIELDS

LABELS = {name: label for name, (label, _) in FIELDS.items()}

GROUPS = {  # queue filter: reason group -> label
    **LABELS,
    "dossier": "Mã hồ sơ",
    "pages": "Trang lỗi hoặc cần dựng lại",
    "other": "Lý do khác",
}

_FIELD_WHY: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^missing$"), "chưa đọc được (thiếu)"),
    (re.compile(r"^unreadable$"), "không đọc được"),
    (re.compile(r"^weak OCR \(confidence ([0-9.]+)\)$"), "đọc chưa chắc chắn (độ tin cậy {0})"),
    (re.compile(r"^not in Decree 30 form: (.*)$"), "không đúng dạng Nghị định 30: {0}"),
    (re.compile(r"^(\S+) is in the future$"), "ngày {0} ở tương lai"),
    (re.compile(r"^(\S+) is before 1945$"), "ngày {0} trước năm 1945"),
    (re.compile(r"^(\S+) is before the dossier was received \((\S+)\)$"),
     "ngày {0} trước ngày tiếp nhận hồ sơ ({1})"),
    (re.compile(r"^symbol '(.+)' does not match (.+) \((.+)\)$"), "ký hiệu “{0}” không khớp loại {1} ({2})"),
    (re.compile(r"^symbol has no (.+) for (.+)$"), "ký hiệu thiếu “{0}” của loại {1}"),
    (re.compile(r"^number (\S+) under 10 without its leading zero$"), "số {0} dưới 10 thiếu số 0 ở đầu"),
    (re.compile(r"^number (\S+) has a leading zero$"), "số {0} thừa số 0 ở đầu"),
    (re.compile(r"^not a date: (.*)$"), "không phải ngày: {0}"),
    (re.compile(r"^(.*) is no administrative unit.*$"), "“{0}” không phải đơn vị hành chính"),
]

_DOC_WHY: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^no dossier code found"), "Không tìm thấy mã hồ sơ (không có tờ phân cách, phiếu tiếp nhận "
                                            "hay mã trong tên tệp)"),
    (re.compile(r"^dossier code disagreement"), "Các nguồn cho mã hồ sơ khác nhau"),
    (re.compile(r"carries several dossier codes"), "Có nhiều mã hồ sơ"),
    (re.compile(r"^pdf needs rebuild$"), "Tệp PDF cần dựng lại sau khi sửa cấu trúc"),
    (re.compile(r"^metadata not extracted"), "Chưa trích xuất thông tin (văn bản được tách thủ công)"),
    (re.compile(r"^pages? ([0-9, ]+) failed"), "Trang {0} xử lý lỗi"),
    (re.compile(r"^separator sheet on page (\d+)"), "Tờ phân cách ở trang {0} đọc không chắc chắn"),
    (re.compile(r"^receipt on page (\d+)"), "Không đọc được mã hồ sơ trên phiếu tiếp nhận ở trang {0}"),
    (re.compile(r"^flagged by (.+)$"), "Được {0} đánh dấu cần xem lại"),
    (re.compile(r"^text could not be divided"), "Không chia được văn bản theo trang"),
]


def _translate(table: list[tuple[re.Pattern[str], str]], text: str) -> str | None:
    for pattern, template in table:
        m = pattern.search(text)
        if m:
            return template.format(*(g.replace(".", ",") if re.fullmatch(r"[0-9.]+", g) else g
                                     for g in m.groups()))
    return None


def field_reason(why: str | None) -> str | None:
    """A field's reason ("weak OCR (confidence 0.61); ...") in Vietnamese."""
    if not why:
        return None
    parts = [p.strip() for p in why.split(";") if p.strip()]
    return "; ".join(_translate(_FIELD_WHY, p) or "lý do khác" for p in parts)


def group_of(reason: str) -> str:
    """The queue group of one document reason ("number: ..." -> "number")."""
    head = reason.split(":", 1)[0]
    if head in FIELDS:
        return head
    if "dossier code" in reason:
        return "dossier"
    if reason.startswith(("pdf needs rebuild", "page", "metadata not extracted", "text could not")):
        return "pages"
    return "other"


def doc_reason(reason: str) -> str:
    """One document reason in Vietnamese: "<label>: <why>" for a field, a sentence otherwise."""
    head, _, why = reason.partition(": ")
    if head in FIELDS:
        return f"{LABELS[head]}: {field_reason(why) or ''}"
    return _translate(_DOC_WHY, reason) or "Lý do khác (xem lịch sử văn bản)"


def confidence(value: float) -> str:
    """0.612 -> "0,61" (Vietnamese decimal comma)."""
    return f"{value:.2f}".replace(".", ",")

ACTIONS = {"review": "sửa hoặc duyệt", "assign": "gán mã hồ sơ", "split": "tách văn bản", "merge": "gộp văn bản",
           "remake": "dựng lại PDF", "blank": "đánh dấu trang trắng", "not_blank": "bỏ đánh dấu trang trắng"}
