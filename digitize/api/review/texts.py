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
    (re.compile(r"^number is zero$"), "số văn bản bằng 0"),
    (re.compile(r"^digits repaired in '(.*)'$"), "đã sửa chữ số đọc nhầm trong “{0}”"),
    (re.compile(r"^type abbreviation '(.*)' read as '(.*)'$"), "chữ viết tắt loại văn bản “{0}” đọc thành “{1}”"),
    (re.compile(r"^agency abbreviation '(.*)' read as '(.*)'$"), "chữ viết tắt cơ quan “{0}” đọc thành “{1}”"),
    (re.compile(r"^symbol part '(.*)' read as '(.*)', the issuer's initials$"),
     "phần ký hiệu “{0}” đọc thành “{1}” (chữ viết tắt tên cơ quan ban hành)"),
    (re.compile(r"^'§' in the symbol read as a digit or a letter$"),
     "dấu “§” trong ký hiệu được đọc thành chữ số hoặc chữ"),
    (re.compile(r"^symbol '(.+)' names a document type but the document is a (.+)$"),
     "ký hiệu “{0}” là tên một loại văn bản nhưng văn bản là {1}"),
    # what extraction writes when it could not read a field, or read it in a way a clerk should check
    (re.compile(r"^not found$"), "không tìm thấy"),
    (re.compile(r"^not readable$"), "không đọc được"),
    (re.compile(r"^no heading$"), "không có tiêu đề loại văn bản"),
    (re.compile(r"^no type heading found$"), "không tìm thấy tiêu đề loại văn bản"),
    (re.compile(r"^no heading, inferred from the number's symbol$"),
     "không có tiêu đề; loại văn bản suy ra từ ký hiệu số văn bản"),
    (re.compile(r"^no heading, read as công văn$"), "không có tiêu đề; coi là công văn"),
    (re.compile(r"^blank or hand-written$"), "để trống hoặc viết tay"),
    (re.compile(r"^handwritten digits not read$"), "chữ số viết tay chưa đọc được"),
    (re.compile(r"^handwritten digits uncertain$"), "chữ số viết tay đọc chưa chắc chắn"),
    (re.compile(r"^handwritten day not read$"), "ngày viết tay chưa đọc được"),
    (re.compile(r"^handwritten day uncertain$"), "ngày viết tay đọc chưa chắc chắn"),
    (re.compile(r"^separators lost, rebuilt$"), "mất dấu phân cách, đã dựng lại"),
    (re.compile(r"^unreadable \((\d+) characters\)$"), "không đọc được ({0} ký tự)"),
    (re.compile(r"^read from the body text, not from the date line under the motto$"),
     "lấy từ nội dung văn bản, không phải từ dòng địa danh, ngày tháng dưới quốc hiệu"),
    (re.compile(r"^issuer block not found$"), "không tìm thấy tên cơ quan ban hành ở đầu văn bản"),
    (re.compile(r"^not read in the header$"), "không đọc được ở đầu văn bản"),
    (re.compile(r"^named by the number's symbol$"), "xác định theo ký hiệu số văn bản"),
    (re.compile(r"^'(.+)' is not the name of any (.+)$"), "“{0}” không phải tên {1} nào"),
    (re.compile(r"^unreadable, taken from the issuer's locality$"),
     "không đọc được; lấy theo địa danh của cơ quan ban hành"),
    (re.compile(r"^'V/v' not read$"), "không đọc được chữ “V/v”"),
    (re.compile(r"^the lines under the number$"), "lấy các dòng dưới số văn bản"),
    (re.compile(r"^V/v line not found$"), "không tìm thấy dòng “V/v”"),
    (re.compile(r"^document type unknown$"), "chưa biết loại văn bản"),
    (re.compile(r"^signature block not found$"), "không tìm thấy phần chữ ký"),
    (re.compile(r"^name under the signature unreadable$"), "họ tên dưới chữ ký không đọc được"),
    (re.compile(r"^only two words read$"), "chỉ đọc được hai chữ"),
    (re.compile(r"^read line by line under the signature$"), "đọc lại từng dòng dưới chữ ký"),
    (re.compile(r"^start of the name read through the signature, without diacritics: check it$"),
     "phần đầu họ tên đọc xuyên qua nét chữ ký, không có dấu: cần kiểm tra"),
    (re.compile(r"^the surname's first letters lost under the signature, completed from its end: check it$"),
     "chữ đầu của họ bị nét chữ ký che mất, đã điền theo phần còn lại: cần kiểm tra"),
    (re.compile(r"^does not start like the name of a body \(a word misread or lost\?\): check it$"),
     "phần đầu không giống tên một cơ quan (đọc nhầm hoặc mất chữ?): cần kiểm tra"),
    (re.compile(r"^no header on these pages, named by the closing sentence: check it$"),
     "không có phần đầu văn bản; lấy theo câu kết của văn bản: cần kiểm tra"),
    (re.compile(r"^start of the name unreadable"), "phần đầu họ tên không đọc được (con dấu hoặc chữ ký đè lên?)"),
    (re.compile(r"^unusual name syllable (.+)$"), "tên có âm tiết ít gặp: {0}"),
    (re.compile(r"^'(.+)' is not a known surname$"), "“{0}” không phải họ thường gặp"),
    (re.compile(r"^(.+) unreadable$"), "{0}: không đọc được"),
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
