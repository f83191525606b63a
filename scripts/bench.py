#!/usr/bin/env python3
"""Benchmark: run ``digitize run`` (embedded) on a corpus, score the export, print the figures.

    python scripts/bench.py [--corpus ../shared/bench/corpus-dev] [--jobs 2] [--keep DIR]
                            [--baseline-tesseract] [--details]

Prints score.py's report per field and per input group (its last line is the summary to quote; with
--details also each wrong field), a count of the wrong fields and how many of them the manifest marks as
handwritten, the wall time, pages/s, and the peak memory of the whole process tree. Works on any corpus
with a manifest, e.g. ``--corpus ../shared/bench/realdev`` (files in sub-folders). With
--baseline-tesseract it also times bare ``tesseract -l vie`` on the same page images two at a time
(the floor) and prints the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _tree_rss(pid: int) -> int:
    """Resident memory (bytes) of a process and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            ppid, pages = int(fields[1]), int(fields[21])
        except (OSError, IndexError, ValueError):
            continue  # the process ended while we looked
        children.setdefault(ppid, []).append(int(entry))
        rss[int(entry)] = pages * os.sysconf("SC_PAGE_SIZE")
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        total += rss.get(p, 0)
        stack.extend(children.get(p, []))
    return total


def run_measured(cmd: list[str], env: dict[str, str]) -> tuple[float, int, int]:
    """Run a command; return (seconds, exit code, peak RSS of its process tree in bytes)."""
    start = time.monotonic()
    proc = subprocess.Popen(cmd, env=env)
    stop = watch_peak(proc.pid, 0.2)
    rc = proc.wait()
    return time.monotonic() - start, rc, stop()


def watch_peak(pid: int, step: float) -> Callable[[], int]:
    """Sample the resident memory of ``pid``'s process tree every ``step`` seconds in a thread; the
    function returned stops the sampling and gives the peak (bytes)."""
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss(pid))
            done.wait(step)

    t = threading.Thread(target=sample, daemon=True)
    t.start()

    def stop() -> int:
        done.set()
        t.join()
        return peak

    return stop


def wrong_fields_summary(details: str, manifest_path: Path) -> str:
    """How many fields score.py --details lists as wrong, per field, and how many of them the manifest
    marks as handwritten on the page (a number or date filled in by pen)."""
    import re
    from collections import Counter

    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    handwritten = {d["doc_key"]: set(d.get("handwritten") or []) for f in manifest["files"] for d in f["documents"]}
    wrong: Counter[str] = Counter()
    by_hand: Counter[str] = Counter()
    for line in details.splitlines():
        key = line.strip().split(" ", 1)[0]
        if key not in handwritten:
            continue
        for name in re.findall(r"(?:^|; |: )([a-z_]+): gt=", line):
            wrong[name] += 1
            by_hand[name] += name in handwritten[key]
    per_field = ", ".join(f"{k} {wrong[k]} ({by_hand[k]} handwritten)" for k in sorted(wrong))
    return f"wrong fields: {sum(wrong.values())}, handwritten {sum(by_hand.values())}: {per_field}"


def count_pages(corpus: Path) -> int:
    """Pages in the corpus according to its manifest."""
    manifest = json.loads((corpus / "manifest.json").read_text(encoding="utf-8"))
    return sum(f.get("page_count", f.get("pages", 0)) for f in manifest["files"])  # realdev says "pages"


def tesseract_floor(corpus: Path, jobs: int, tmp: Path) -> float:
    """Seconds for bare `tesseract -l vie` on every page image of the corpus, `jobs` at a time."""
    images: list[Path] = []
    img_dir = tmp / "pages"
    img_dir.mkdir()
    for f in sorted(corpus.iterdir()):
        if f.suffix.lower() == ".pdf":
            subprocess.run(["pdfimages", "-png", str(f), str(img_dir / f.stem)], check=True)
        elif f.suffix.lower() in (".tif", ".tiff", ".jpg", ".jpeg", ".png"):
            images.append(f)
    images += sorted(img_dir.iterdir())
    return time_tesseract(images, jobs)


def children_cpu() -> float:
    """CPU seconds (user + system) of the finished child processes of this one, and of theirs."""
    import resource

    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def time_tesseract(images: list[Path], jobs: int) -> float:
    """Seconds for bare ``tesseract -l vie`` on the images, ``jobs`` at a time (one thread each)."""
    from concurrent.futures import ThreadPoolExecutor

    env = dict(os.environ, OMP_THREAD_LIMIT="1")

    def ocr(img: Path) -> None:
        subprocess.run(["tesseract", str(img), "-", "-l", "vie"], env=env, check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    start = time.monotonic()
    with ThreadPoolExecutor(jobs) as pool:
        list(pool.map(ocr, images))
    return time.monotonic() - start


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "bench" / "corpus-dev")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--keep", type=Path, help="keep the archive in this folder (default: a temp folder)")
    ap.add_argument("--baseline-tesseract", action="store_true", help="also time bare tesseract (the floor)")
    ap.add_argument("--details", action="store_true", help="print score.py's list of wrong fields too")
    args = ap.parse_args()

    corpus = args.corpus.resolve()
    score = corpus.parent / "score.py"
    digitize = shutil.which("digitize", path=str(Path(sys.executable).parent)) or "digitize"
    tmp = Path(tempfile.mkdtemp(prefix="digitize-bench-"))
    archive = args.keep or tmp / "archive"
    if archive.exists():
        shutil.rmtree(archive)
    out = tmp / "out.jsonl"
    env = dict(os.environ)
    pages = count_pages(corpus)

    # the scans, in one folder given to `digitize run`, so each source is its path in the corpus (as the
    # manifest names it, sub-folders included); the manifest and the README are not scans
    scans = tmp / "corpus"
    shutil.copytree(corpus, scans, ignore=lambda d, names: [n for n in names if Path(d) == corpus
                                                            and n in ("manifest.json", "README.md")])
    secs, rc, peak = run_measured([digitize, "--archive", str(archive), "run", "--no-progress", "--jobs",
                                   str(args.jobs), str(scans)], env)
    subprocess.run([digitize, "--archive", str(archive), "export", "--jsonl", str(out)], check=True, env=env)
    cmd = [sys.executable, str(score), "--manifest", str(corpus / "manifest.json"), "--records", str(out),
           "--details"]
    report = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    print(report if args.details else "\n".join(ln for ln in report.splitlines() if not ln.startswith("  ")))
    print(wrong_fields_summary(report, corpus / "manifest.json"))
    print(f"run: exit={rc} wall={secs:.1f}s pages={pages} pages/s={pages / secs:.2f} jobs={args.jobs} "
          f"peak_rss_tree={peak / 2**20:.0f}MiB")
    if args.baseline_tesseract:
        floor = tesseract_floor(corpus, args.jobs, tmp)
        print(f"tesseract floor: wall={floor:.1f}s pages/s={pages / floor:.2f}  digitize/floor={secs / floor:.2f}x")
    if not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
