"""The issuing body read from the number's symbol, for the central bodies whose abbreviation is fixed.

Decree 30 (Appendix I) makes the symbol name the issuer: "/NĐ-CP" is the Government's, "/TTg-CĐS" the
Prime Minister's, "/TTLT-TANDTC-VKSNDTC-BTP" a joint circular of three bodies. Where the header was
not read (a photo that cut the top of the page, a seal over it) the symbol still tells who issued the
document, and a joint document's symbol lists every issuer when the header's side-by-side blocks were
read only in part. Local bodies ("UBND", "SNV") are not in the table: their name needs a locality.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from digitize.document.lines import _Found
from digitize.document.validate import parse_number
from digitize.text.vntext import fold

CENTRAL = {
    "CP": "Chính phủ", "TTG": "Thủ tướng Chính phủ", "VPCP": "Văn phòng Chính phủ", "TTCP": "Thanh tra Chính phủ",
    "BQP": "Bộ Quốc phòng", "BCA": "Bộ Công an", "BNG": "Bộ Ngoại giao", "BNV": "Bộ Nội vụ", "BTP": "Bộ Tư pháp",
    "BTC": "Bộ Tài chính", "BCT": "Bộ Công Thương", "BYT": "Bộ Y tế", "BXD": "Bộ Xây dựng",
    "BGDDT": "Bộ Giáo dục và Đào tạo", "BTTTT": "Bộ Thông tin và Truyền thông", "BKHDT": "Bộ Kế hoạch và Đầu tư",
    "BTNMT": "Bộ Tài nguyên và Môi trường", "BGTVT": "Bộ Giao thông vận tải",
    "BNNPTNT": "Bộ Nông nghiệp và Phát triển nông thôn", "BNNMT": "Bộ Nông nghiệp và Môi trường",
    "BKHCN": "Bộ Khoa học và Công nghệ", "BLDTBXH": "Bộ Lao động - Thương binh và Xã hội",
    "BVHTTDL": "Bộ Văn hóa, Thể thao và Du lịch", "NHNN": "Ngân hàng Nhà nước Việt Nam",
    "KTNN": "Kiểm toán nhà nước", "TANDTC": "Tòa án nhân dân tối cao", "VKSNDTC": "Viện kiểm sát nhân dân tối cao",
    "UBDT": "Ủy ban Dân tộc",
}
JOINT = ("thong tu lien tich", "nghi quyet lien tich")


def bodies_of(symbol: Sequence[str]) -> list[str]:
    """The central bodies a parsed number's symbol names, in its order ("NĐ", "CP") -> ["Chính phủ"]."""
    out = []
    for part in symbol:
        body = CENTRAL.get(fold(part).upper())
        if body is not None and body not in out:
            out.append(body)
    return out


def is_joint(doc_type_name: str | None) -> bool:
    """A type issued jointly by several bodies (thông tư liên tịch, nghị quyết liên tịch)."""
    return bool(doc_type_name) and fold(doc_type_name).startswith(JOINT)


def issuer_by_symbol(issuer: _Found, number: str | None, doc_type_name: str | None) -> _Found:
    """The issuer the number's symbol names, where the header gave none, or gave one of a joint
    document's issuers only."""
    parsed = parse_number(number) if number else None
    bodies = bodies_of(parsed.symbol) if parsed is not None else []
    if not bodies:
        return issuer
    if issuer.value is None:
        return _Found(", ".join(bodies), 0.6, "issuer: not read in the header; named by the number's symbol")
    if is_joint(doc_type_name) and len(bodies) > 1 and issuer.value in bodies:
        return replace(issuer, value=", ".join(bodies), conf=min(issuer.conf, 0.8))
    return issuer


_FUNCTION_WORDS = {"va", "cac", "-", "&"}


def initials(issuer: str) -> str:
    """The body's initials, as its symbol abbreviates it ("Cục Thuế" -> "CT", "Sở Giáo dục và Đào tạo tỉnh
    Bắc Giang" -> "SGDĐT"): its name before the locality, "và" and "các" left out."""
    from digitize.document.issuer import _split_locality

    head = _split_locality(issuer)[0]
    return "".join("Đ" if w[0] in "Đđ" else fold(w[0]).upper() for w in head.split()
                   if fold(w) not in _FUNCTION_WORDS and w[:1].isalpha())


def symbol_by_issuer(number: _Found, issuer: _Found) -> _Found:
    """``number`` with a part of its symbol that is the issuer's initials but for one misread capital ("CI-CS"
    from Cục Thuế: "CT-CS") spelt as the initials, flagged; unchanged otherwise."""
    parsed = parse_number(number.value) if number.value and issuer.value else None
    if parsed is None or parsed.party or not issuer.value:
        return number
    mine = initials(issuer.value)
    if len(mine) < 2 or mine in parsed.symbol:
        return number
    from digitize.text.abbreviations import one_slip

    slips = [i for i, part in enumerate(parsed.symbol) if one_slip(part, mine)]
    if len(slips) != 1:
        return number
    i = slips[0]
    symbol = (*parsed.symbol[:i], mine, *parsed.symbol[i + 1:])
    value = replace(parsed, symbol=symbol).text
    why = f"symbol part {parsed.symbol[i]!r} read as {mine!r}, the issuer's initials"
    reason = f"{number.reason}; {why}" if number.reason else f"number: {why}"
    return replace(number, value=value, conf=min(number.conf, 0.6), reason=reason)
