"""The issuing body: the issuer block, body names and known agencies, localities and their respelling
against the gazetteer."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from digitize.document.fields import _is_stamp, _is_vv, _label_rest
from digitize.document.lines import RECIPIENTS, Line, _Found, _words_conf
from digitize.document.skeleton import Skeleton
from digitize.text.vntext import (
    canonical,
    capitalize_first,
    collapse,
    fold,
    is_upper_text,
    letter_ratio,
    title_case,
)

# Organisation names: a new body starts at one of these heads; other lines continue the previous one. The
# heads as they are spelt (a tone mark lost on the header's capitals is repaired from here), and the
# abbreviations that stand for some of them.
_HEADS = (
    "Ủy ban nhân dân", "Hội đồng nhân dân", "Phòng", "Sở", "Bộ", "Cục", "Chi cục", "Tổng cục", "Ban", "Trung tâm",
    "Văn phòng", "Trường", "Bệnh viện", "Công an", "Bảo hiểm", "Kho bạc", "Chi nhánh", "Đảng ủy", "Thanh tra",
    "Tòa án", "Viện kiểm sát", "Đội", "Hạt", "Trạm", "Ủy ban Mặt trận", "Hội đồng", "Khoa", "Viện", "Học viện",
    "Đại học", "Bộ phận", "Chính phủ", "Thủ tướng", "Tỉnh ủy", "Huyện ủy", "Thành ủy", "Đảng bộ", "Chi bộ",
    "Đoàn Thanh niên", "Công ty", "Tổng công ty", "Hợp tác xã", "Ngân hàng", "Liên đoàn", "Hội Liên hiệp",
    "Quốc hội", "Kiểm toán", "Thư viện", "Bảo tàng",
)
_HEAD_SPELLING = {fold(x): x for x in _HEADS}
# What else a body's name may start with (not used to cut the block into bodies: these words also begin
# the second line of a name). An issuer starting with none of them was misread ("Ủy nhân dân …").
_BODY_HEADS = (*_HEAD_SPELLING, *(fold(x) for x in (
    "Ủy ban", "Hội", "Đài", "Cảng vụ", "Vụ", "Nhà xuất bản", "Báo", "Tạp chí", "Bộ Tư lệnh", "Bộ Chỉ huy",
    "Ban Chỉ huy", "Lữ đoàn", "Sư đoàn", "Trung đoàn", "Cơ quan", "Tập đoàn", "Quỹ", "Nhà văn hóa",
    "Vườn quốc gia", "Mặt trận", "Liên minh", "Tổng Liên đoàn", "Đoàn", "Chi hội", "Phân hiệu", "Xí nghiệp",
    "Nhà máy", "Chủ tịch", "Kiểm lâm", "Hải quan", "Cục Hải quan", "Bưu điện", "Viễn thông", "Điện lực",
    "Cảng", "Trại", "Đồn", "Bộ đội", "Ban Thường vụ", "Ban Chấp hành",
)))
NOT_A_BODY = "issuer: does not start like the name of a body (a word misread or lost?): check it"
_ORG_HEADS = (*_HEAD_SPELLING, "ubnd", "hdnd", "ubmttq")
_UNITS = ("tinh", "thanh pho", "huyen", "quan", "thi xa", "xa", "phuong", "thi tran")
_EXPAND = {"ubnd": "Ủy ban nhân dân", "hdnd": "Hội đồng nhân dân", "tp": "thành phố", "tx": "thị xã",
           "tt": "thị trấn", "kcn": "khu công nghiệp", "kkt": "khu kinh tế", "ccn": "cụm công nghiệp",
           "tw": "Trung ương"}
_NOT_UNIT = {("quan", "ly"), ("xa", "hoi"), ("quan", "doi"), ("quan", "su"), ("tinh", "hinh")}  # quản lý, xã hội …


def _starts_with(folded: str, heads: Sequence[str]) -> str | None:
    for head in sorted(heads, key=len, reverse=True):
        if folded == head or folded.startswith(head + " "):
            return head
    return None


def _org_case(text: str) -> str:
    """"PHÒNG TÀI NGUYÊN VÀ MÔI TRƯỜNG HUYỆN TIỀN HẢI" -> "Phòng Tài nguyên và Môi trường huyện Tiền Hải"."""
    words = re.sub(r"\b(TW)(\d)", r"\1 \2", canonical(text)).split(" ")  # "NGHỊ QUYẾT TW4"
    out: list[str] = []
    i = 0
    cap_next = False
    in_place = False
    while i < len(words):
        w = words[i]
        f = fold(w)
        if f in _EXPAND and w.isupper():
            exp = _EXPAND[f]
            out.append(exp if not out else (exp if f in ("ubnd", "hdnd", "tw") else exp.lower()))
            in_place = f in ("tp", "tx", "tt")
            cap_next = f not in ("ubnd", "hdnd")
            i += 1
            continue
        two = fold(" ".join(words[i : i + 2]))
        unit = next((u for u in _UNITS if two == u or f == u), None) if out else None
        if unit is not None and (f, fold(words[i + 1]) if i + 1 < len(words) else "") in _NOT_UNIT:
            unit = None
        if unit is not None:
            n = len(unit.split())
            out.extend(x.lower() for x in words[i : i + n])
            i += n
            in_place, cap_next = True, True
            continue
        if not out:
            out.append(capitalize_first(w))
        elif in_place or cap_next:
            out.append(capitalize_first(w))
            cap_next = False
        elif f in ("va", "-", ",", "&"):
            out.append(w.lower())
            cap_next = f != ","
        else:
            out.append(w.lower())
        if len(out) == 1 and f in ("phong", "so", "bo", "cuc", "ban", "truong"):
            cap_next = True
        i += 1
    return " ".join(out)


def _respelt_head(name: str) -> str:
    """``name`` with its head noun spelt right ("Hội đông định giá" -> "Hội đồng định giá")."""
    words = name.split(" ")
    for n in (4, 3, 2, 1):
        spelling = _HEAD_SPELLING.get(fold(" ".join(words[:n])))
        if spelling is not None and len(words) >= n:
            return " ".join([spelling, *words[n:]])
    return name


def _trim(name: str) -> str:
    """A header line's name without the marks around it; a closing bracket of "(khóa XI)" is kept."""
    name = re.sub(r"^[^\wÀ-ỹ]+|[^\wÀ-ỹ]+$", "", name)
    return name + ")" if name.count("(") > name.count(")") else name


def _locality(name_folded: str) -> str | None:
    """The administrative unit part of a body's name ("... huyen tien hai" -> "huyen tien hai")."""
    words = name_folded.split()
    for i in range(len(words)):
        for u in _UNITS:
            n = len(u.split())
            if " ".join(words[i : i + n]) == u and i + n < len(words):
                return " ".join(words[i:])
    return None


_AGENCIES = (
    "Ủy ban nhân dân", "Hội đồng nhân dân", "Phòng Tài nguyên và Môi trường", "Phòng Tài chính - Kế hoạch",
    "Phòng Tư pháp", "Phòng Kinh tế và Hạ tầng", "Phòng Quản lý đô thị", "Phòng Kinh tế",
    "Phòng Văn hóa và Thông tin", "Phòng Lao động - Thương binh và Xã hội", "Phòng Nội vụ",
    "Phòng Giáo dục và Đào tạo", "Phòng Y tế", "Phòng Nông nghiệp và Phát triển nông thôn", "Phòng Dân tộc",
    "Phòng Nông nghiệp và Môi trường", "Phòng Văn hóa, Khoa học và Thông tin", "Phòng Kinh tế, Hạ tầng và Đô thị",
    "Phòng Tài chính", "Phòng Kế hoạch và Đầu tư", "Thanh tra", "Văn phòng Hội đồng nhân dân và Ủy ban nhân dân",
    "Văn phòng Ủy ban nhân dân", "Văn phòng đăng ký đất đai", "Chi nhánh Văn phòng đăng ký đất đai",
    "Chi cục Thuế", "Chi cục Thống kê", "Công an", "Bảo hiểm xã hội", "Trung tâm Phát triển quỹ đất",
    "Trung tâm Y tế", "Ban Quản lý dự án đầu tư xây dựng", "Sở Tài nguyên và Môi trường", "Sở Kế hoạch và Đầu tư",
    "Sở Tư pháp", "Sở Xây dựng", "Sở Nội vụ", "Sở Tài chính", "Sở Lao động - Thương binh và Xã hội",
    "Sở Giao thông vận tải", "Sở Công Thương", "Sở Y tế", "Sở Giáo dục và Đào tạo",
    "Sở Nông nghiệp và Phát triển nông thôn", "Sở Nông nghiệp và Môi trường", "Sở Văn hóa, Thể thao và Du lịch",
    "Sở Thông tin và Truyền thông", "Sở Khoa học và Công nghệ", "Sở Văn hóa và Thể thao", "Sở Ngoại vụ",
    "Văn phòng", "Ban Quản lý các khu công nghiệp", "Ban Quản lý khu công nghiệp", "Ban Quản lý khu kinh tế",
    "Chính phủ", "Thủ tướng Chính phủ", "Văn phòng Chính phủ", "Thanh tra Chính phủ", "Bộ Quốc phòng", "Bộ Công an",
    "Bộ Ngoại giao", "Bộ Nội vụ", "Bộ Tư pháp", "Bộ Tài chính", "Bộ Công Thương", "Bộ Y tế", "Bộ Xây dựng",
    "Bộ Giáo dục và Đào tạo", "Bộ Thông tin và Truyền thông", "Bộ Kế hoạch và Đầu tư", "Bộ Tài nguyên và Môi trường",
    "Bộ Giao thông vận tải", "Bộ Nông nghiệp và Phát triển nông thôn", "Bộ Nông nghiệp và Môi trường",
    "Bộ Khoa học và Công nghệ", "Bộ Lao động - Thương binh và Xã hội", "Bộ Văn hóa, Thể thao và Du lịch",
    "Ngân hàng Nhà nước Việt Nam", "Kiểm toán nhà nước", "Tòa án nhân dân tối cao", "Viện kiểm sát nhân dân tối cao",
    "Tổng cục Thuế", "Cục Thuế", "Cục Hải quan", "Kho bạc Nhà nước",
    # public security, defence, Party and mass organisations, service centres (provincial and district level)
    "Phòng An ninh chính trị nội bộ", "Phòng An ninh kinh tế", "Phòng An ninh mạng và phòng, chống tội phạm sử dụng "
    "công nghệ cao", "Phòng Cảnh sát hình sự", "Phòng Cảnh sát giao thông", "Phòng Cảnh sát kinh tế",
    "Phòng Cảnh sát quản lý hành chính về trật tự xã hội", "Phòng Cảnh sát phòng cháy, chữa cháy và cứu nạn, cứu hộ",
    "Phòng Cảnh sát điều tra tội phạm về ma túy", "Phòng Quản lý xuất nhập cảnh",
    "Bộ Chỉ huy Quân sự", "Ban Chỉ huy Quân sự", "Bộ Chỉ huy Bộ đội Biên phòng", "Ban Tuyên giáo", "Ban Tổ chức",
    "Ban Dân vận", "Ủy ban Kiểm tra", "Ủy ban Mặt trận Tổ quốc Việt Nam", "Hội Liên hiệp Phụ nữ", "Hội Nông dân",
    "Hội Cựu chiến binh", "Liên đoàn Lao động", "Trung tâm Phục vụ hành chính công", "Trung tâm Hành chính công",
    "Trung tâm Công nghệ thông tin và Truyền thông", "Trung tâm Kiểm soát bệnh tật", "Bệnh viện Đa khoa",
    "Cục Thống kê", "Sở Dân tộc và Tôn giáo", "Sở Du lịch", "Ban Dân tộc",
    "Văn phòng Đoàn đại biểu Quốc hội và Hội đồng nhân dân", "Văn phòng Tỉnh ủy", "Văn phòng Huyện ủy",
    "Phòng Văn hóa - Xã hội", "Phòng Kinh tế - Hạ tầng và Đô thị",
)
_AGENCIES_FOLDED = {fold(a): a for a in _AGENCIES}


def _canonical_agency(text: str) -> tuple[str, float] | None:
    """A known body name the OCR'd text stands for ("PHÒNG TÀI NGUYEN VÀ MÔI TRƯỜNG"), with similarity."""
    from rapidfuzz import fuzz, process

    key = re.sub(r"[^a-z0-9 ,-]", " ", fold(text))
    key = re.sub(r"^ubnd\b", "uy ban nhan dan", re.sub(r"^hdnd\b", "hoi dong nhan dan", key.strip()))
    key = " ".join(fold(_EXPAND[t]) if t in _EXPAND and t not in ("tp", "tx", "tt") else t
                   for t in key.replace(" - ", " ").replace("-", " ").split())  # "KCN": khu công nghiệp
    choices = {" ".join(k.replace("-", " ").split()): v for k, v in _AGENCIES_FOLDED.items()}
    hit = process.extractOne(key, list(choices), scorer=fuzz.ratio)
    if hit is None or hit[1] < 85:
        return None
    return choices[hit[0]], hit[1] / 100.0


_UNIT_WORDS = {"tinh": "tỉnh", "thanh pho": "thành phố", "huyen": "huyện", "quan": "quận", "thi xa": "thị xã",
               "xa": "xã", "phuong": "phường", "thi tran": "thị trấn", "tp": "thành phố", "tx": "thị xã",
               "tt": "thị trấn"}


_GLUED_UNIT = re.compile(r"^(ubnd|uybannhandan|hdnd|hoidongnhandan)(thanhpho|thitran|thixa|huyen|tinh|xa|phuong|quan)"
                         r"([a-z]{3,})$")


def _split_locality(text: str) -> tuple[str, str | None, str | None]:
    """ "ỦY BAN NHÂN DÂN HUYỆN ĐÔNG HƯNG" -> ("ỦY BAN NHÂN DÂN", "huyện", "ĐÔNG HƯNG").

    OCR that lost the spaces ("UBNDHUYỆNTIỀNHẢI") gives the locality without its spaces; the caller
    restores them from the document's own spelling.
    """
    words = [w for w in collapse(text).split(" ") if any(ch.isalpha() for ch in w)]
    folded = [fold(w).strip(".,;:-_'\"") for w in words]
    for i in range(1, len(words)):
        for u in sorted(_UNIT_WORDS, key=len, reverse=True):
            n = len(u.split())
            if (folded[i], folded[i + 1] if i + 1 < len(folded) else "") in _NOT_UNIT:
                continue
            if " ".join(folded[i : i + n]) == u and i + n < len(words):
                return " ".join(words[:i]), _UNIT_WORDS[u], " ".join(words[i + n :]).strip(" .,;:-_'\"")
    glued = _GLUED_UNIT.match(re.sub(r"[^a-z]", "", "".join(folded)))
    if glued:
        unit = {"thanhpho": "thanh pho", "thitran": "thi tran", "thixa": "thi xa"}.get(glued.group(2), glued.group(2))
        return glued.group(1), _UNIT_WORDS[unit], glued.group(3)
    return " ".join(words), None, None


def _place_names(pages_lines: Sequence[Sequence[Line]]) -> list[tuple[str, str]]:
    """Every "<unit> <Name>" the document prints in mixed case ("huyện Đông Hưng"): (unit, name)."""
    out: list[tuple[str, str]] = []
    for lines in pages_lines:
        for ln in lines:
            words = [w.strip(".,;:()") for w in ln.text.split(" ")]
            folded = [fold(w) for w in words]
            for i in range(len(folded)):
                for u in ("thanh pho", "thi tran", "thi xa", "huyen", "tinh", "xa", "phuong", "quan"):
                    n = len(u.split())
                    if " ".join(folded[i : i + n]) != u or not words[i][:1].islower():
                        continue
                    name: list[str] = []
                    for w in words[i + n : i + n + 4]:
                        if not w or not w[:1].isupper() or w.isupper() and len(w) > 1:
                            break
                        name.append(w)
                    if name:
                        out.append((_UNIT_WORDS[u], " ".join(name)))
                    break
    return out


def _best_spelling(name: str, known: Sequence[str]) -> str:
    """The document's own spelling of a place name OCR read in capitals (or damaged): majority vote
    over the mixed-case spellings that match it without diacritics and spaces (one slip allowed)."""
    from collections import Counter

    from rapidfuzz.distance import Levenshtein

    from digitize.text.vntext import diacritic_count

    key = fold(name).replace(" ", "")
    votes: Counter[str] = Counter()
    for k in known:
        kk = fold(k).replace(" ", "")
        if kk == key or (len(key) >= 6 and Levenshtein.distance(kk, key) <= 1):
            votes[canonical(k)] += 1
    if not votes:
        return title_case(canonical(name))
    return max(votes, key=lambda v: (votes[v], diacritic_count(v)))


_SYMBOL = re.compile(r"(^|\s)\S{0,6}[/(]\s?[a-z]{1,8}[-–][a-z]")  # "/QĐ-UBND", "(Qd-cdktkt", "./stttt-vp"


def _looks_like_number_line(ln: Line) -> bool:
    """A header line that is the document's number line: its label ("Số:", "Sá:") or a symbol
    ("/KCN-VP") whose digits were handwritten and not read."""
    f = ln.fold.strip()
    return bool(re.match(r"^\W{0,2}s[oa06]\s*[:;.,]", f)) or bool(_SYMBOL.search(f))


def find_issuer(sk: Skeleton, number_line: Line | None, pages_lines: Sequence[Sequence[Line]]) -> _Found:
    """Issuing body from the issuer block, completed with its parent's locality where printed."""
    stop = number_line.top if number_line is not None and number_line.cx < sk.col_split else sk.header_bottom
    for ln in sk.lines:  # the block ends at the number line, even one whose digits were not read
        if (sk.motto is None or ln.top > sk.motto.top) and ln.top < stop and ln.cx < sk.col_split \
                and _looks_like_number_line(ln) and not _is_stamp(ln, sk.lines):
            stop = float(ln.top)
            break
    block = [
        ln for ln in sk.lines
        if ln.page == 0 and ln.bottom <= stop + 0.3 * ln.height and ln.cx < sk.col_split and ln.right < sk.col_split
        + 0.08 * ln.page_width and ln.top < 0.35 * ln.page_height and ln.conf >= 0.2
        and letter_ratio(ln.text) > 0.6 and _label_rest(ln.text) is None and not _is_stamp(ln, sk.lines)
        and not _is_vv(ln.fold)
    ]
    block = [ln for ln in block if is_upper_text(ln.text, threshold=0.6)]
    if not block:
        return _Found(None, 0.0, "issuer: issuer block not found")
    units: list[list[Line]] = []
    for ln in block:
        if not units or _starts_with(ln.fold.lstrip("-_.,'\" "), _ORG_HEADS):
            units.append([ln])
        else:
            units[-1].append(ln)
    names = [_trim(collapse(" ".join(ln.text for ln in u))) for u in units]
    head, unit, locality = _split_locality(names[-1])
    if unit is None:
        for parent in reversed(names[:-1]):
            _h, unit, locality = _split_locality(parent)
            if unit is not None:
                break
    known_places = _place_names(pages_lines)
    agency = _canonical_agency(head)
    body = agency[0] if agency else _respelt_head(_org_case(head))
    value = body
    if unit is not None and locality:
        spelling = _best_spelling(locality, [n for u, n in known_places if u == unit])
        value = f"{body} {unit} {spelling}"
    used = [w for ln in units[-1] for w in ln.words]
    conf = _words_conf(used)
    if agency is not None:
        conf = max(conf, min(agency[1], 0.95))
    if len(value) < 8:
        return _Found(None, conf, "issuer: unreadable")
    if agency is None and _starts_with(fold(value), _BODY_HEADS) is None:
        return _Found(value, min(conf, 0.6), NOT_A_BODY, line=units[-1][0])
    return _Found(value, conf, line=units[-1][0])


# "<body> yêu cầu / đề nghị / trân trọng …": the sentence a letter closes with names its sender
_CLOSING_VERB = re.compile(r"\s(yeu cau|de nghi|kinh de nghi|tran trong|thong bao)\b")
CLOSING_FORMULA = "issuer: no header on these pages, named by the closing sentence: check it"


def issuer_from_closing(pages_lines: Sequence[Sequence[Line]]) -> _Found | None:
    """The sender a headerless document names in its closing sentence ("Sở Giáo dục và Đào tạo yêu cầu thủ
    trưởng các đơn vị …"): a continuation page scanned into a file of its own has no issuer block, but its
    last paragraph before "Nơi nhận:" says who writes. Flagged; None when no line reads so."""
    for lines in reversed(pages_lines):
        end = next((i for i, ln in enumerate(lines) if ln.fold.startswith(RECIPIENTS)), len(lines))
        for ln in reversed(lines[:end]):
            head = _starts_with(ln.fold.lstrip("-_.,'\" "), _ORG_HEADS)
            m = _CLOSING_VERB.search(ln.fold)
            if head is None or m is None:
                continue
            n = len(ln.fold[: m.start()].split())
            name = " ".join(collapse(ln.text).split(" ")[:n]).strip(" ,.;:")
            if not 2 <= n <= 12 or letter_ratio(name) < 0.85:
                continue
            agency = _canonical_agency(name)
            value = agency[0] if agency else _respelt_head(_org_case(name))
            return _Found(value, min(ln.conf, 0.6), CLOSING_FORMULA, line=ln)
    return None


def respell_places(text: str) -> str:
    """Respell the administrative units a sentence names ("tại thị trân Đồng Hưng" -> "tại thị trấn
    Đông Hưng") when the unit word and the name, read without diacritics, match exactly one unit of
    that type. Anything else is left as read."""
    from digitize.text import gazetteer

    tokens = text.split(" ")
    out: list[str] = []
    i = 0
    while i < len(tokens):
        done = False
        for n_unit in (2, 1):
            unit_key = fold(" ".join(tokens[i : i + n_unit])).strip(",.;:")
            unit = _UNIT_WORDS.get(unit_key) if len(unit_key) > 2 else None
            if unit is None:
                continue
            for n_name in (3, 2, 1):
                name = list(tokens[i + n_unit : i + n_unit + n_name])
                tail = name[-1][len(name[-1].rstrip(",.;:)")):] if name else ""
                if tail:
                    name[-1] = name[-1][: -len(tail)]
                if len(name) < n_name or not all(w[:1].isupper() and w.isalpha() for w in name):
                    continue
                found = gazetteer.lookup(" ".join(name), unit)
                if found.status not in ("exact", "corrected"):
                    continue
                read = " ".join(tokens[i : i + n_unit])
                if canonical(read).lower() == unit:
                    unit_text = read  # spelled right: keep its case ("Thị Trấn")
                else:
                    unit_text = unit if read[:1].islower() else capitalize_first(unit)
                out += [*unit_text.split(" "), *found.name.split(" ")]
                out[-1] += tail
                i += n_unit + n_name
                done = True
                break
            if done:
                break
        if not done:
            out.append(tokens[i])
            i += 1
    return " ".join(out)


def check_issuer_locality(issuer: _Found) -> _Found:
    """Check the issuer's locality against the list of administrative units: a name that OCR spelled
    wrongly but whose letters match exactly one unit of that type is respelled ("huyện Đồng Hưng" ->
    "huyện Đông Hưng"); a name that matches no unit at all is kept, doubtful, with a reason."""
    from digitize.text import gazetteer

    if not issuer.value:
        return issuer
    _head, unit, loc = _split_locality(issuer.value)
    words = loc.split() if loc else []
    if not unit or not loc or not 1 <= len(words) <= 4 or not all(w.isalpha() for w in words):
        return issuer  # not a plain "<unit> <Name>" (a branch office, a glued reading): nothing to check
    found = gazetteer.lookup(loc, unit)
    if found.status == "corrected" and issuer.value.endswith(loc):
        return replace(issuer, value=issuer.value[: -len(loc)] + found.name)
    if found.status == "unknown":
        why = issuer.reason or f"issuer: '{loc}' is not the name of any {unit}"
        return replace(issuer, conf=min(issuer.conf, 0.6), reason=why)
    return issuer


def _agree_place_issuer(place: _Found, issuer: _Found, pages_lines: Sequence[Sequence[Line]]) -> _Found:
    """The place is the issuing body's locality on these documents: repair a damaged or partly read
    place with the locality's spelling ("Đố Hưng" -> "Đông Hưng", "Thư" -> "Vũ Thư"), and fall back
    on the locality, flagged, when the date line's place could not be read."""
    from rapidfuzz.distance import Levenshtein

    if not issuer.value:
        return place
    _head, unit, loc = _split_locality(issuer.value)
    if not unit or not loc:
        return place
    if not place.value:
        return _Found(loc, min(issuer.conf, 0.6), "place: unreadable, taken from the issuer's locality")
    a, b = fold(place.value).replace(" ", ""), fold(loc).replace(" ", "")
    if a == b and canonical(place.value) == loc:
        return place
    close = a == b or (len(b) >= 5 and Levenshtein.distance(a, b) <= 2) or (len(a) >= 2 and b.endswith(a))
    if not close:
        return place
    return _Found(loc, max(place.conf, min(issuer.conf, 0.85)), place.reason, line=place.line)
