#!/usr/bin/env python3
"""Regenerate the sample scans shipped in ``samples/`` (used by ``scripts/bootstrap.sh demo``).

    python scripts/make_samples.py [--out samples]

Every page is drawn by the sample generators (``digitize/samples``) with Liberation Serif, then given what a
scanner or a phone adds (skew, a 180° turn, noise, faded toner), and saved the way scanners save
pages. The content is invented: no real person, dossier or document. Deterministic: running it
again gives the same images.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
from pathlib import Path

import img2pdf
import numpy as np
from PIL import Image

from digitize.samples import pages as P
from digitize.samples import sheets as S
from digitize.samples.documents import DocSpec, cong_van, render

ROOT = Path(__file__).resolve().parent.parent

DPI = 200
BOX_CODE = "000.00.13.H56-241126-0002"
BOX_CODE_2026 = "H26.107.01-260203-010023"
FILE_CODE = "000.00.13.H56-241120-0007"


def _gray(img: Image.Image | np.ndarray) -> np.ndarray:
    return np.asarray(img.convert("L")) if isinstance(img, Image.Image) else img


def _pil(page: np.ndarray) -> Image.Image:
    """Gray stays gray; OpenCV's BGR becomes RGB."""
    return Image.fromarray(page if page.ndim == 2 else page[..., ::-1].copy())


def _jpeg_pdf(pages: list[np.ndarray], path: Path, quality: int = 55) -> None:
    blobs = []
    for p in pages:
        buf = io.BytesIO()
        _pil(p).save(buf, format="JPEG", quality=quality, optimize=True)
        blobs.append(buf.getvalue())
    path.write_bytes(img2pdf.convert(blobs, layout_fun=img2pdf.get_fixed_dpi_layout_fun((DPI, DPI))))


def box_scan(out: Path) -> None:
    """A bulk scan of an archive box: separator sheet, receipt, two decisions, a duplex blank, a công văn."""
    qd = render(DocSpec(number="215/QĐ-UBND", date=dt.date(2024, 11, 28), extra_pages=1,
                        summary="Về việc cấp giấy phép xây dựng nhà ở riêng lẻ cho hộ bà Mai Thùy Trang",
                        signer="Phạm Quốc Hưng"), dpi=DPI)
    cv = render(cong_van(number="1024/UBND-VP", date=dt.date(2026, 2, 10)), dpi=DPI)
    pages = [S.separator(BOX_CODE, dpi=DPI).image, S.receipt(BOX_CODE, dpi=DPI).image]
    pages += [S.degrade(_gray(p), seed=i, skew_deg=1.2 - i, noise=6) for i, p in enumerate(qd.pages)]
    h, w = pages[-1].shape[:2]  # the red seal over the signer's block of the decision's last page
    pages[-1] = P.red_seal(pages[-1], center=(int(w * 0.62), int(h * 0.62)), dpi=DPI)
    pages.append(S.blank(dpi=DPI, seed=3).image)
    pages.append(S.separator(BOX_CODE_2026, dpi=DPI).image)
    pages.append(S.degrade(_gray(cv.pages[0]), seed=5, rotate=180, noise=6))
    _jpeg_pdf(pages, out / "hop-luu-tru-01.pdf")


def tiff_with_code_in_name(out: Path) -> None:
    """A bilevel G4 TIFF whose file name carries the dossier code (no separator sheet)."""
    spec = DocSpec(parent="ỦY BAN NHÂN DÂN", body_name="XÃ BÌNH MINH", issuer="Ủy ban nhân dân xã Bình Minh",
                   number="08/TB-UBND", place="Bình Minh", date=dt.date(2024, 11, 22), type_name="THÔNG BÁO",
                   doc_type="Thông báo", summary="Về việc niêm yết công khai hồ sơ đăng ký hộ kinh doanh",
                   authority="TM. ỦY BAN NHÂN DÂN", position="CHỦ TỊCH", signer="Đỗ Văn Khánh")
    img = S.degrade(_gray(render(spec, dpi=DPI).pages[0]), seed=7, skew_deg=-2.0, noise=0)
    bw = Image.fromarray(np.where(img > 160, 255, 0).astype(np.uint8)).convert("1")
    bw.save(out / f"{FILE_CODE}.tif", compression="group4", dpi=(DPI, DPI))


def phone_photo(out: Path) -> None:
    """A phone photo (JPEG) of a công văn: uneven light and a slight perspective."""
    spec = cong_van(number="57/UBND-TNMT", date=dt.date(2024, 11, 25),
                    summary="đề nghị bổ sung hồ sơ cấp giấy chứng nhận quyền sử dụng đất")
    img = P.perspective_photo(P.uneven_light(_gray(render(spec, dpi=DPI).pages[0]), depth=0.3), seed=11)
    _pil(img).save(out / "anh-chup-cong-van.jpg", quality=70, dpi=(DPI, DPI))


def main() -> None:
    """Write the samples and their README."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "samples")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    box_scan(args.out)
    tiff_with_code_in_name(args.out)
    phone_photo(args.out)
    for f in sorted(args.out.iterdir()):
        print(f"{f.name}: {f.stat().st_size // 1024} KiB")


if __name__ == "__main__":
    main()
