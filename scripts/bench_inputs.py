"""Memory of the worst input files: peak resident memory of decoding and preparing one page of each.

    PYTHONPATH=. python scripts/bench_inputs.py [--max-pixels 200000000] [--run]

Each file's page is loaded (``load_page``: pikepdf or poppler, as the page needs) and preprocessed, in a
fresh child process; the peak RSS of that child (``ru_maxrss``) and of the poppler it runs (the largest
of its children) is printed per file, then the worst. Target: <= 1 GiB whatever the mix (issue 16). OCR
is left out here: Tesseract's memory does not depend on how the page was stored. ``--run`` then runs
``digitize run`` on all the files as one batch (OCR included, into a temporary archive) and prints the
peak RSS of its whole process tree, sampled from /proc.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

CHILD = """
import sys
from pathlib import Path
from digitize.errors import DigitizeError
from digitize.page.ingest import inspect, load_page
from digitize.page.preprocess import preprocess
p = Path(sys.argv[1]); mp = int(sys.argv[2])
import resource
try:
    src = inspect(p, p.name, max_pixels=mp, max_pages=5000, render_dpi=300)
    page = load_page(p, src.kind, 1, render_dpi=300, max_pixels=mp)
    prep = preprocess(page.image, dpi=page.dpi, orientation_check=False)
    out = f"{page.image.shape[1]}x{page.image.shape[0]} px at {page.dpi:.0f} dpi"
except DigitizeError as e:
    out = f"refused: {e}"
# VmHWM: this program's own peak (ru_maxrss would also count what the parent held when it forked)
own = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(own, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, out)
"""



def jpeg_page_with_text(path: Path, jpeg: bytes, side: int, *, drawn: int) -> None:
    """A 2160 pt square page holding a ``side`` px square RGB JPEG drawn ``drawn`` pt wide, and a line of
    text (so the page is not image-only)."""
    import pikepdf

    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(2160, 2160))
    im = pikepdf.Stream(pdf, jpeg, Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image, Width=side, Height=side,
                        ColorSpace=pikepdf.Name.DeviceRGB, BitsPerComponent=8, Filter=pikepdf.Name.DCTDecode)
    pdf.pages[0].Resources = pikepdf.Dictionary(
        XObject=pikepdf.Dictionary(Im0=im),
        Font=pikepdf.Dictionary(F1=pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1,
                                                      BaseFont=pikepdf.Name.Helvetica)))
    draw = f"q {drawn} 0 0 {drawn} 0 0 cm /Im0 Do Q BT /F1 40 Tf 100 100 Td (x) Tj ET"
    pdf.pages[0].Contents = pikepdf.Stream(pdf, draw.encode())
    pdf.save(path)

def make_files(out: Path) -> list[Path]:
    """The worst files: a 9000x9000 RGB JPEG, a 2160-pt PDF page with text over a colour scan, a 35000^2
    bilevel PDF page, a skewed 300-dpi A4 scan, a JBIG2 page rendered by poppler; and pages just under the
    default 200-megapixel limit: a 14000^2 RGB JPEG, a 12000^2 RGB PNG, a 14000^2 CCITT G4 TIFF and a
    2160-pt PDF page painted with a 600-dpi colour image and text (rendered)."""
    import numpy as np
    import pikepdf
    from PIL import Image

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from digitize.samples import pdfs

    files = []
    rng = np.random.default_rng(0)
    big = Image.fromarray(rng.integers(180, 255, (9000, 9000, 3), np.uint8))
    files.append(out / "rgb-9000.jpg")
    big.save(files[-1], quality=80, dpi=(300, 300))
    files.append(out / "page-2160pt-text.pdf")
    buf = out / "tmp.jpg"
    big.resize((3000, 3000)).save(buf, quality=80)
    jpeg_page_with_text(files[-1], buf.read_bytes(), 3000, drawn=2160)
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
    del big
    lines = np.full((14000, 14000), 235, np.uint8)
    lines[::50] = 20
    files.append(out / "rgb-14000.jpg")
    Image.fromarray(lines).convert("RGB").save(files[-1], quality=80, dpi=(300, 300))
    files.append(out / "gray-14000-g4.tif")
    Image.fromarray(lines).convert("1").save(files[-1], compression="group4", dpi=(300, 300))
    colour = np.dstack([lines[:12000, :12000]] * 3)
    colour[::57, :, 2] = 200
    files.append(out / "rgb-12000.png")
    Image.fromarray(colour).save(files[-1], compress_level=1, dpi=(300, 300))
    files.append(out / "page-2160pt-600dpi-text.pdf")
    Image.fromarray(colour[:6000, :6000]).save(buf, quality=80)
    jpeg_page_with_text(files[-1], buf.read_bytes(), 6000, drawn=720)
    buf.unlink()
    return files


def tree_peak(cmd: list[str]) -> tuple[int, float]:
    """Run a command; its exit code and the peak RSS (MiB) of its process tree, sampled from /proc."""
    from bench import watch_peak

    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stop = watch_peak(proc.pid, 0.05)
    _, err = proc.communicate()
    peak = stop()
    if proc.returncode not in (0, 1):
        print(err.decode("utf-8", "replace")[-2000:])
    return proc.returncode, peak / 2**20


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max-pixels", type=int, default=200_000_000)
    ap.add_argument("--run", action="store_true", help="also run `digitize run` on all the files as one batch")
    ap.add_argument("--jobs", type=int, default=2, help="pages at a time in that run (heavy pages run alone)")
    args = ap.parse_args()
    worst = 0.0
    with tempfile.TemporaryDirectory(prefix="bench-inputs-") as tmp:
        inputs = Path(tmp) / "in"
        inputs.mkdir()
        files = make_files(inputs)
        for f in files:
            t = time.monotonic()
            proc = subprocess.run([sys.executable, "-c", CHILD, str(f), str(args.max_pixels)], capture_output=True,
                                  text=True, check=False)
            try:
                own, poppler, out = proc.stdout.strip().split(" ", 2)
                peak, peak_poppler = int(own) / 1024, int(poppler) / 1024  # MiB
            except ValueError:
                peak = peak_poppler = 0.0
                out = "failed: " + (proc.stderr.strip().splitlines() or ["?"])[-1]
            print(f"{f.name:30s} {f.stat().st_size / 2**20:6.1f} MiB  peak {peak:5.0f} MiB (poppler "
                  f"{peak_poppler:4.0f})  {time.monotonic() - t:5.1f}s  {out[:80]}")
            worst = max(worst, peak, peak_poppler)
        print(f"worst peak RSS of one page: {worst:.0f} MiB (target <= 1024 MiB)")
        if args.run:
            t = time.monotonic()
            rc, tree = tree_peak([sys.executable, "-m", "digitize", "run", str(inputs), "--archive",
                                  str(Path(tmp) / "archive"), "--jobs", str(args.jobs), "--no-progress"])
            print(f"digitize run --jobs {args.jobs} on the {len(files)} files (exit {rc}, "
                  f"{time.monotonic() - t:.0f}s): peak RSS of the process tree {tree:.0f} MiB")
            worst = max(worst, tree)
    return 0 if worst <= 1024 else 1


if __name__ == "__main__":
    sys.exit(main())
