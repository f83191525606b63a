#!/usr/bin/env python3
"""Speed and memory benchmark: digitize against OCRmyPDF and against bare Tesseract, same page images.

    python scripts/bench_speed.py [--corpus ../shared/bench/corpus-dev] [--pages 40] [--jobs 2]
                                  [--memory-pages 300] [--skip-ocrmypdf] [--skip-memory]

1. The page images: every scan image of the corpus' PDFs (``pdfimages``) and its TIFF/JPEG/PNG
   pages, first ``--pages`` of them, each written as a one-page PDF (img2pdf, no re-encoding), so all
   three contenders read the same pixels:
   - ``digitize run`` (embedded, ``--jobs N``) on the one-page PDFs;
   - ``ocrmypdf -l vie --rotate-pages --deskew --jobs N`` with ``OMP_THREAD_LIMIT=1`` on each PDF, one
     after the other (OCRmyPDF parallelises inside a file; output PDF/A-2b like digitize's);
   - bare ``tesseract IMAGE - -l vie``, N at a time (the floor: OCR alone).
   It prints pages/s for each and the ratios ocrmypdf/digitize (target >= 4) and digitize/tesseract
   (target <= 1.15), plus the bytes per page of the two PDF outputs.
2. Memory: a ``--memory-pages`` page scanned PDF (gray 300 dpi JPEG pages, generated) through
   ``digitize run``, sampling the resident memory of the whole process tree (target <= 1 GiB).

OCRmyPDF is a benchmark reference only, not a dependency: ``pip install ocrmypdf`` into the venv.
The machine's other load disturbs wall times: compare the ratios of one run.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from bench import children_cpu, run_measured, time_tesseract  # noqa: E402


def page_images(corpus: Path, limit: int, out: Path) -> list[Path]:
    """Extract up to ``limit`` scan images from the corpus into ``out`` (PDF pages via pdfimages)."""
    from PIL import Image

    out.mkdir(parents=True, exist_ok=True)
    images: list[Path] = []
    for f in sorted(corpus.iterdir()):
        suffix = f.suffix.lower()
        if suffix == ".pdf":
            subprocess.run(["pdfimages", "-all", str(f), str(out / f.stem)], check=True)
        elif suffix in (".tif", ".tiff"):
            with Image.open(f) as im:
                for i in range(getattr(im, "n_frames", 1)):
                    im.seek(i)
                    p = out / f"{f.stem}-t{i:03d}.png"
                    im.save(p, dpi=im.info.get("dpi", (300, 300)))
        elif suffix in (".jpg", ".jpeg", ".png"):
            shutil.copy(f, out / f.name)
    for p in sorted(out.iterdir()):
        if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".jp2"):
            images.append(p)
    return images[:limit]


def as_pdfs(images: list[Path], out: Path) -> list[Path]:
    """One single-page PDF per image, the image bytes embedded as they are (img2pdf)."""
    import img2pdf
    from PIL import Image

    out.mkdir(parents=True, exist_ok=True)
    pdfs = []
    for img in images:
        p = out / (img.stem + ".pdf")
        with Image.open(img) as im:
            dpi = im.info.get("dpi", (0, 0))[0] or 150  # phone photos carry none: A4 at ~150 dpi
        layout = img2pdf.get_fixed_dpi_layout_fun((dpi, dpi))
        p.write_bytes(img2pdf.convert(str(img), layout_fun=layout, rotation=img2pdf.Rotation.ifvalid))
        pdfs.append(p)
    return pdfs


def time_digitize(pdfs: list[Path], jobs: int, tmp: Path) -> tuple[float, int, int]:
    """(seconds, peak tree RSS, output bytes) of ``digitize run`` on the PDFs."""
    exe = shutil.which("digitize", path=str(Path(sys.executable).parent)) or "digitize"
    archive = tmp / "archive"
    secs, rc, peak = run_measured([exe, "--archive", str(archive), "run", "--no-progress", "--jobs", str(jobs),
                                   *map(str, pdfs)], dict(os.environ))
    if rc != 0:
        raise SystemExit(f"digitize run failed (exit {rc})")
    size = sum(p.stat().st_size for p in (archive / "objects" / "documents").rglob("*.pdf"))
    return secs, peak, size


def time_ocrmypdf(pdfs: list[Path], jobs: int, tmp: Path) -> tuple[float, int]:
    """(seconds, output bytes) of ocrmypdf on each PDF in turn."""
    exe = shutil.which("ocrmypdf", path=str(Path(sys.executable).parent)) or shutil.which("ocrmypdf")
    if not exe:
        raise SystemExit("ocrmypdf not found: .venv/bin/pip install ocrmypdf (benchmark reference only)")
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    out = tmp / "ocrmypdf"
    out.mkdir()
    start = time.monotonic()
    for p in pdfs:
        subprocess.run([exe, "-q", "-l", "vie", "--rotate-pages", "--deskew", "--jobs", str(jobs), str(p),
                        str(out / p.name)], env=env, check=False, stdout=subprocess.DEVNULL)
    secs = time.monotonic() - start
    return secs, sum(f.stat().st_size for f in out.iterdir())


def big_scan(path: Path, pages: int) -> None:
    """A ``pages``-page PDF of gray 300-dpi JPEG scans (a few distinct generated pages, repeated)."""
    import cv2
    import img2pdf

    sys.path.insert(0, str(ROOT))
    from digitize.samples import pages as P

    variants = []
    for i in range(4):
        img = P.gaussian_noise(P.skew(P.render_page(300), (-1.5, 0.7, 2.2, -0.4)[i]), 6, seed=i)
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 80])
        assert ok
        variants.append(buf.tobytes())
    layout = img2pdf.get_fixed_dpi_layout_fun((300, 300))
    with open(path, "wb") as f:
        img2pdf.convert([io.BytesIO(variants[i % 4]) for i in range(pages)], layout_fun=layout, outputstream=f)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "bench" / "corpus-dev")
    ap.add_argument("--pages", type=int, default=40, help="page images to time (default 40)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--memory-pages", type=int, default=300)
    ap.add_argument("--skip-ocrmypdf", action="store_true")
    ap.add_argument("--skip-memory", action="store_true")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="digitize-speed-"))
    try:
        images = page_images(args.corpus.resolve(), args.pages, tmp / "images")
        pdfs = as_pdfs(images, tmp / "pdfs")
        n = len(pdfs)
        print(f"pages: {n} scan images from {args.corpus}, jobs={args.jobs}", flush=True)
        c0 = children_cpu()
        d_secs, d_peak, d_bytes = time_digitize(pdfs, args.jobs, tmp)
        d_cpu = children_cpu() - c0
        print(f"digitize run:   wall={d_secs:7.1f}s cpu={d_cpu:6.1f}s pages/s={n / d_secs:.2f} "
              f"peak_rss_tree={d_peak / 2**20:.0f}MiB bytes/page={d_bytes / n:,.0f}", flush=True)
        c0 = children_cpu()
        t_secs = time_tesseract(images, args.jobs)
        t_cpu = children_cpu() - c0
        print(f"tesseract -l vie (floor): wall={t_secs:7.1f}s cpu={t_cpu:6.1f}s pages/s={n / t_secs:.2f}", flush=True)
        if not args.skip_ocrmypdf:
            o_secs, o_bytes = time_ocrmypdf(pdfs, args.jobs, tmp)
            print(f"ocrmypdf:       wall={o_secs:7.1f}s pages/s={n / o_secs:.2f} bytes/page={o_bytes / n:,.0f}")
            print(f"ratio ocrmypdf/digitize = {o_secs / d_secs:.2f}x (target >= 4)")
        print(f"ratio digitize/tesseract = {d_secs / t_secs:.2f}x (target <= 1.15); CPU ratio {d_cpu / t_cpu:.2f}x; "
              f"cores busy: digitize {d_cpu / d_secs:.2f}, tesseract {t_cpu / t_secs:.2f}", flush=True)
        if not args.skip_memory:
            big = tmp / "big" / f"scan-{args.memory_pages}.pdf"
            big.parent.mkdir()
            big_scan(big, args.memory_pages)
            shutil.rmtree(tmp / "archive", ignore_errors=True)
            m_secs, m_peak, _ = time_digitize([big], args.jobs, tmp)
            print(f"memory: {args.memory_pages}-page scanned PDF ({big.stat().st_size / 2**20:.0f} MiB) "
                  f"wall={m_secs:.0f}s pages/s={args.memory_pages / m_secs:.2f} "
                  f"peak_rss_tree={m_peak / 2**20:.0f}MiB (target <= 1024MiB)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
