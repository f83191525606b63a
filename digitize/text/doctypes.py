"""Document types: Decree 30/2020/NĐ-CP Appendix III and the sector results of one-stop offices.

Appendix III, table I lists the administrative document types with the abbreviation that goes into
the number's symbol ("123/QĐ-UBND"), and the copy forms (SY, TrS, SL). A công văn has no type name
and no type abbreviation: its symbol is "<issuer>-<drafting unit>" ("476/UBND-VP"). "Thư công" is a
type of Article 7 without an abbreviation. The sector results (certificates, permits, civil-status
extracts, certified copies) follow their own forms; their abbreviations are the ones printed on those
forms ("148/GPXD", "43/TLKS"); a household-business certificate carries a "Mã số hộ kinh doanh"
instead of a number.
"""

from __future__ import annotations

from dataclasses import dataclass

from digitize.text.vntext import fold


@dataclass(frozen=True)
class DocType:
    """One document type: its name as printed in the heading and the abbreviation in its number."""

    name: str  # e.g. "Quyết định"
    abbreviation: str | None  # e.g. "QĐ"; None when the type has none (công văn, thư công)
    kind: str  # "legal", "administrative", "cong_van", "copy" or "sector"
    has_summary: bool = True  # a trích yếu line follows the type name
    aliases: tuple[str, ...] = ()  # other printed headings for the same type
    number_label: str = "Số"  # the label in front of the number

    @property
    def folded(self) -> str:
        """Diacritic-free lower-case name, for matching OCR'd headings."""
        return fold(self.name)


CONG_VAN = DocType("Công văn", None, "cong_van")

DOC_TYPES: tuple[DocType, ...] = (
    # Legal documents (Law 80/2015/QH13 on legal documents): the Government's, ministries', joint ones
    DocType("Luật", None, "legal"),
    DocType("Pháp lệnh", None, "legal"),
    DocType("Nghị định", "NĐ", "legal"),
    DocType("Thông tư liên tịch", "TTLT", "legal"),
    DocType("Thông tư", "TT", "legal"),
    DocType("Nghị quyết liên tịch", "NQLT", "legal"),
    DocType("Lệnh", "L", "legal", has_summary=False),
    # Decree 30/2020 Appendix III, I: administrative documents
    DocType("Nghị quyết", "NQ", "administrative"),
    DocType("Quyết định", "QĐ", "administrative"),
    DocType("Chỉ thị", "CT", "administrative"),
    DocType("Quy chế", "QC", "administrative"),
    DocType("Quy định", "QyĐ", "administrative"),
    DocType("Thông cáo", "TC", "administrative"),
    DocType("Thông báo", "TB", "administrative"),
    DocType("Hướng dẫn", "HD", "administrative"),
    DocType("Chương trình", "CTr", "administrative"),
    DocType("Kế hoạch", "KH", "administrative"),
    DocType("Phương án", "PA", "administrative"),
    DocType("Đề án", "ĐA", "administrative"),
    DocType("Dự án", "DA", "administrative"),
    DocType("Báo cáo", "BC", "administrative"),
    DocType("Biên bản", "BB", "administrative"),
    DocType("Tờ trình", "TTr", "administrative"),
    DocType("Hợp đồng", "HĐ", "administrative"),
    DocType("Công điện", "CĐ", "administrative"),
    DocType("Bản ghi nhớ", "BGN", "administrative"),
    DocType("Bản thỏa thuận", "BTT", "administrative"),
    DocType("Giấy ủy quyền", "GUQ", "administrative", has_summary=False),
    DocType("Giấy mời", "GM", "administrative"),
    DocType("Giấy giới thiệu", "GGT", "administrative", has_summary=False),
    DocType("Giấy nghỉ phép", "GNP", "administrative", has_summary=False),
    DocType("Phiếu gửi", "PG", "administrative"),
    DocType("Phiếu chuyển", "PC", "administrative"),
    DocType("Phiếu báo", "PB", "administrative"),
    DocType("Thư công", None, "administrative", has_summary=False),
    CONG_VAN,
    # Decree 30/2020 Appendix III, I: copies
    DocType("Sao y", "SY", "copy", has_summary=False, aliases=("Bản sao y", "Sao y bản chính")),
    DocType("Trích sao", "TrS", "copy", has_summary=False, aliases=("Bản trích sao",)),
    DocType("Sao lục", "SL", "copy", has_summary=False, aliases=("Bản sao lục",)),
    # Sector results handed back at one-stop offices
    DocType("Giấy chứng nhận đăng ký hộ kinh doanh", None, "sector", has_summary=False,
            number_label="Mã số hộ kinh doanh"),
    DocType("Giấy phép xây dựng", "GPXD", "sector", has_summary=False),
    DocType("Giấy xác nhận tình trạng hôn nhân", "XNTTHN", "sector", has_summary=False),
    DocType("Giấy xác nhận", "GXN", "sector"),
    DocType("Giấy chứng nhận kết hôn", "GCNKH", "sector", has_summary=False),
    DocType("Trích lục khai sinh", "TLKS", "sector", has_summary=False),
    DocType("Trích lục kết hôn", "TLKH", "sector", has_summary=False),
    DocType("Trích lục khai tử", "TLKT", "sector", has_summary=False),
    DocType("Trích lục ghi chú ly hôn", "TLGCLH", "sector", has_summary=False),
    DocType("Trích lục thay đổi, cải chính hộ tịch", "TLTĐCCHT", "sector", has_summary=False,
            aliases=("Trích lục thay đổi cải chính hộ tịch", "Trích lục cải chính hộ tịch")),
    DocType("Trích lục đăng ký nhận cha, mẹ, con", "TLNCMC", "sector", has_summary=False,
            aliases=("Trích lục đăng ký nhận cha mẹ con",)),
    DocType("Trích lục đăng ký giám hộ", "TLGH", "sector", has_summary=False),
    DocType("Trích lục hộ tịch", "TLHT", "sector", has_summary=False),
    DocType("Bản sao chứng thực", "SCT", "sector", has_summary=False),
    DocType("Giấy chứng nhận quyền sử dụng đất, quyền sở hữu nhà ở và tài sản khác gắn liền với đất", None,
            "sector", has_summary=False, number_label="Số vào sổ cấp GCN",
            aliases=("Giấy chứng nhận quyền sử dụng đất quyền sở hữu nhà ở và tài sản khác gắn liền với đất",
                     "Giấy chứng nhận quyền sử dụng đất")),
    DocType("Phiếu trình", None, "administrative"),
    DocType("Đơn", None, "administrative", has_summary=False),
)

_BY_NAME = {fold(t.name): t for t in DOC_TYPES}
for _t in DOC_TYPES:
    for _a in _t.aliases:
        _BY_NAME.setdefault(fold(_a), _t)


def by_name(name: str | None) -> DocType | None:
    """The type whose name (or alias) this is, ignoring case and diacritics."""
    if not name:
        return None
    return _BY_NAME.get(fold(name))


def by_abbreviation(abbreviation: str) -> DocType | None:
    """The type with exactly this abbreviation ("QĐ", "TTr"); case and diacritics must match."""
    for t in DOC_TYPES:
        if t.abbreviation == abbreviation:
            return t
    return None


def abbreviations() -> tuple[str, ...]:
    """Every known type abbreviation."""
    return tuple(t.abbreviation for t in DOC_TYPES if t.abbreviation)


def repair_abbreviation(token: str, doc_type: DocType | None = None) -> str | None:
    """The type abbreviation an OCR'd symbol part stands for, or None when it is none or ambiguous.

    Exact matches win ("QĐ"). Otherwise the token is compared without diacritics and case
    ("QD" -> "QĐ", "Qyd" -> "QyĐ"); when several abbreviations fold alike ("DA" is Dự án, "ĐA" is
    Đề án; "HD" is Hướng dẫn, "HĐ" is Hợp đồng) the document's own type decides, else None.
    """
    key = fold(token)
    if doc_type is not None and doc_type.abbreviation and fold(doc_type.abbreviation) == key:
        return doc_type.abbreviation
    exact = by_abbreviation(token)
    if exact is not None:
        return exact.abbreviation
    candidates = [t for t in DOC_TYPES if t.abbreviation and fold(t.abbreviation) == key]
    if len(candidates) == 1:
        return candidates[0].abbreviation
    if doc_type is not None and doc_type in candidates:
        return doc_type.abbreviation
    if doc_type is not None and doc_type.abbreviation and len(doc_type.abbreviation) >= 4 and by_abbreviation(
            token.upper()) is None:
        from rapidfuzz.distance import Levenshtein

        if Levenshtein.distance(key, fold(doc_type.abbreviation)) == 1:  # "TILT" under a THÔNG TƯ LIÊN TỊCH
            return doc_type.abbreviation
    return None


def match_heading(text: str) -> tuple[DocType, float] | None:
    """The document type a heading line names, with a match score in 0..1, or None.

    The heading must start with the type name (longest name wins, so "Giấy xác nhận tình trạng hôn
    nhân" beats "Giấy xác nhận"); trailing words are allowed only for the sector types whose printed
    headings carry more ("TRÍCH LỤC KHAI SINH (BẢN SAO)"). Missing or wrong diacritics are tolerated
    through :func:`fold`, and one damaged letter per word through an edit-distance check.
    """
    from rapidfuzz.distance import Levenshtein

    key = fold(text).strip(" .:;-_")
    key = " ".join(key.replace(",", " , ").split())
    if not key:
        return None
    best: tuple[DocType, float] | None = None
    for t in DOC_TYPES:
        for name in (t.name, *t.aliases):
            target = " ".join(fold(name).replace(",", " , ").split())
            n = len(target.split(" "))
            head = " ".join(key.split(" ")[:n])
            rest = key.split(" ")[n:]
            if rest and rest[0] not in ("(",) and not rest[0].startswith("(") and t.kind != "sector":
                continue  # "QUYẾT ĐỊNH CHỦ TỊCH ..." is not a heading; "QUYẾT ĐỊNH:" is handled by the caller
            dist = Levenshtein.distance(head, target)
            allowed = max(1, n // 2) if len(target) >= 6 else 0
            if dist > allowed:
                continue
            score = 1.0 - dist / max(len(target), 1)
            better = best is None or (len(target), score) > (len(fold(best[0].name)), best[1])
            if better:
                best = (t, score)
    return best
