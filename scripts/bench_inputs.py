"""Memory of the worst input files: peak resident memory of decoding and preparing one page of each.

    PYTHONPATH=. python scripts/bench_inputs.py [--max-pixels 200000000]

Each file's page is loaded (``load_page``: pikepdf or poppler, as the page needs) and preprocessed, in a
fresh child process; the peak RSS of that child and of the poppler it runs (``ru_maxrss`` of the
children) is printed per file, then the worst. Target: <= 1 GiB whatever the mix (issue 16). OCR is
left out: Tesseract's memory does not depend on how the page was stored.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = """
import sys
from pathlib import Path
from digitize.errors import DigitizeError
from digitize.page.ingest import inspect, load_page
from digitize.page.preprocess import preprocess
p = Path(sys.argv[1]); mp = int(sys.argv[2])
try:
    src = inspect(p, p.name, max_pixels=mp, max_pages=5000, render_dpi=300)
    page = load_page(p, src.kind, 1, render_dpi=300, max_pixels=mp)
    prep = preprocess(page.image, dpi=page.dpi, orientation_check=False)
    print(f"{page.image.shape[1]}x{page.image.shape[0]} px at {page.dpi:.0f} dpi")
except DigitizeError as e:
    print(f"refused: {e}")
"""


def make_files(out: Path) -> list[Path]:
    """The worst files: a 9000x9000 RGB JPEG, a 2160-pt PDF page with text over a colour scan, a 35000^2
    bilevel PDF page, a skewed 300-dpi A4 scan, a JBIG2 page rendered by poppler."""
    import numpy as np
    import pikepdf
    from PIL import Image

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.gen import pdfs

    files = []
    rng = np.random.default_rng(0)
    big = Image.fromarray(rng.integers(180, 255, (9000, 9000, 3), np.uint8))
    files.append(out / "rgb-9000.jpg")
    big.save(files[-1], quality=80, dpi=(300, 300))
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(2160, 2160))
    files.append(out / "page-2160pt-text.pdf")
    buf = out / "tmp.jpg"
    big.resize((3000, 3000)).save(buf, quality=80)
    im = pikepdf.Stream(pdf, buf.read_bytes(), Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image, Width=3000,
                        Height=3000, ColorSpace=pikepdf.Name.DeviceRGB, BitsPerComponent=8,
                        Filter=pikepdf.Name.DCTDecode)
    pdf.pages[0].Resources = pikepdf.Dictionary(
        XObject=pikepdf.Dictionary(Im0=im),
        Font=pikepdf.Dictionary(F1=pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1,
                                                      BaseFont=pikepdf.Name.Helvetica)))
    pdf.pages[0].Contents = pikepdf.Stream(pdf, b"q 2160 0 0 2160 0 0 cm /Im0 Do Q BT /F1 40 Tf 100 100 Td (x) Tj ET")
    pdf.save(files[-1])
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(35000 * 72 / 300, 35000 * 72 / 300))
    bits = pikepdf.Stream(pdf, b"", Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image, Width=35000,
                          Height=35000, ColorSpace=pikepdf.Name.DeviceGray, BitsPerComponent=1)
    pdf.pages[0].Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=bits))
    pdf.pages[0].Contents = pikepdf.Stream(pdf, b"q 8400 0 0 8400 0 0 cm /Im0 Do Q")
    files.append(out / "bilevel-35000.pdf")
    pdf.save(files[-1])
    a4 = np.asarray(Image.fromarray(np.repeat(np.pad(pdfs.reference(), ((0, 1339), (0, 0)), constant_values=255),
                                              1, axis=0)).resize((2480, 3508)))
    for placement, enc in (("ctm-skew3", "dct"), ("page-rotate90", "jbig2"), ("soft-mask", "flate")):
        files.append(out / f"a4-300dpi-{placement}-{enc}.pdf")
        pdfs.write_pdf(files[-1], placement, enc, ref=a4)
    return files


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max-pixels", type=int, default=200_000_000)
    args = ap.parse_args()
    worst = 0.0
    with tempfile.TemporaryDirectory(prefix="bench-inputs-") as tmp:
        for f in make_files(Path(tmp)):
            t = time.monotonic()
            proc = subprocess.run([sys.executable, "-c", CHILD, str(f), str(args.max_pixels)], capture_output=True,
                                  text=True, check=False)
            peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # MiB, the largest child so far
            out = (proc.stdout.strip() or proc.stderr.strip().splitlines()[-1])[:90]
            print(f"{f.name:36s} {f.stat().st_size / 2**20:7.1f} MiB  peak<={peak:6.0f} MiB  "
                  f"{time.monotonic() - t:5.1f}s  {out}")
            worst = max(worst, peak)
    print(f"worst peak RSS of one page: {worst:.0f} MiB (target <= 1024 MiB)")
    return 0 if worst <= 1024 else 1


if __name__ == "__main__":
    sys.exit(main())
