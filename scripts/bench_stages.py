#!/usr/bin/env python3
"""Where the time goes: CPU seconds per pipeline stage, one process, one page after the other.

    python scripts/bench_stages.py [--corpus ../shared/bench/corpus-dev] [--pages 80]

Takes the same page images as ``bench_speed.py`` (every scan image of the corpus as a one-page PDF),
runs each stage of ``digitize.pipeline.page`` on them in this process and sums the CPU seconds of each
stage (``time.process_time`` for the work in this process, Tesseract's own when it runs in-process,
plus the CPU of any tesseract commands, from ``RUSAGE_CHILDREN``), then bare ``tesseract IMAGE - -l vie``
on the same images. Wall times are not used: the ratios hold on a busy machine. The end-to-end ratio
of ``bench_speed.py`` also pays process start-up, storage and the parallel schedule; this script says
which stage to attack. ``--per-page N`` lists the N pages furthest above bare tesseract.
"""

from __future__ import annotations

import argparse
import collections
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench import children_cpu  # noqa: E402
from bench_speed import as_pdfs, page_images  # noqa: E402


def cpu() -> float:
    """CPU seconds of this process and of its finished children (tesseract commands)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    return me.ru_utime + me.ru_stime + children_cpu()


class Stages:
    """Accumulates exclusive CPU seconds per stage: a wrapped call nested in another is counted
    under its own label and taken out of the caller's."""

    def __init__(self) -> None:
        self.cpu: collections.Counter[str] = collections.Counter()
        self.calls: collections.Counter[str] = collections.Counter()
        self._stack: list[str] = []

    def wrap(self, module: Any, name: str, label: str) -> None:
        """Count ``module.name``'s CPU under ``label``."""
        fn: Callable[..., Any] = getattr(module, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            self._stack.append(label)
            start = cpu()
            try:
                return fn(*args, **kwargs)
            finally:
                spent = cpu() - start
                self._stack.pop()
                self.cpu[label] += spent
                self.calls[label] += 1
                if self._stack:
                    self.cpu[self._stack[-1]] -= spent

        setattr(module, name, timed)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "bench" / "corpus-dev")
    ap.add_argument("--pages", type=int, default=80)
    ap.add_argument("--per-page", type=int, default=0, metavar="N",
                    help="also list the N pages whose CPU is furthest above bare tesseract's")
    args = ap.parse_args()
    os.environ["OMP_THREAD_LIMIT"] = "1"
    import cv2

    cv2.setNumThreads(1)
    from digitize.document import extract, reocr
    from digitize.models import InputKind, SourceFile
    from digitize.page import codes, ingest, pdf, preprocess
    from digitize.page.tesseract import ocr
    from digitize.pipeline import page as pipeline
    from digitize.text import correct

    correct.lexicon()  # loaded once per worker in the product: not a per-page cost
    st = Stages()
    st.wrap(ingest, "load_page", "decode page")
    st.wrap(preprocess, "preprocess", "preprocess")
    st.wrap(codes, "read_codes", "read codes")
    st.wrap(ocr, "ocr_page", "OCR (tesseract run)")
    st.wrap(correct, "correct_words", "OCR correction")
    st.wrap(pdf, "page_pdf", "page PDF")
    st.wrap(reocr, "region_words", "signature re-reading")
    st.wrap(extract, "extract_metadata", "metadata extraction")
    st.wrap(pdf, "merge_pages", "document PDF")

    tmp = Path(tempfile.mkdtemp(prefix="digitize-stages-"))
    try:
        images = page_images(args.corpus.resolve(), args.pages, tmp / "images")
        pdfs = as_pdfs(images, tmp / "pdfs")
        start = cpu()
        per_page: list[tuple[str, float, float, int]] = []  # name, pipeline CPU, OCR CPU, OCR calls
        for path in pdfs:
            p0, o0, c0 = cpu(), st.cpu["OCR (tesseract run)"], st.calls["OCR (tesseract run)"]
            out = pipeline.process_page(pipeline.PageTask(path=str(path), kind=InputKind.PDF, page=1))
            src = SourceFile(path=str(path), source=path.name, sha256="0" * 64, size=1, kind=InputKind.PDF,
                             page_count=1)
            seg = pipeline.plan_file(src, [out.result])
            redo = reocr.make_reocr([out.result], lambda _page, pdf_bytes=out.pdf: pdf_bytes or b"")
            for plan in seg.plans:
                pipeline.make_document(src, plan, [out.result], reocr=redo)
                if out.pdf is not None:
                    pdf.merge_pages([out.pdf], title=None)
            per_page.append((path.stem, cpu() - p0, st.cpu["OCR (tesseract run)"] - o0,
                             st.calls["OCR (tesseract run)"] - c0))
        total = cpu() - start
        t0 = cpu()
        env = dict(os.environ, OMP_THREAD_LIMIT="1")
        bare: list[float] = []
        for img in images:
            b0 = cpu()
            subprocess.run(["tesseract", str(img), "-", "-l", "vie"], env=env, check=False,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            bare.append(cpu() - b0)
        floor = cpu() - t0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    n = len(pdfs)
    print(f"pages: {n}; CPU seconds, one process ({time.strftime('%Y-%m-%d %H:%M')})")
    rows = dict(st.cpu)
    for label, secs in sorted(rows.items(), key=lambda kv: -kv[1]):
        print(f"  {label:<22} {secs:7.1f} s  {secs / n * 1000:6.0f} ms/page  {secs / floor:6.1%} of the floor"
              f"  ({st.calls[label]} calls)")
    other = total - sum(rows.values())
    print(f"  {'other':<22} {other:7.1f} s")
    if args.per_page:
        print("pages furthest above bare tesseract (CPU s): page, digitize, of which OCR (runs), bare")
        rows_pp = sorted(zip(per_page, bare, strict=True), key=lambda r: r[1] - r[0][1])[: args.per_page]
        for (name, spent, ocr_s, runs), b in rows_pp:
            print(f"  {name[:40]:<40} {spent:6.2f} {ocr_s:6.2f} ({runs}) {b:6.2f}")
    print(f"digitize stages total: {total:.1f} s CPU; bare tesseract -l vie: {floor:.1f} s CPU; "
          f"ratio {total / floor:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
