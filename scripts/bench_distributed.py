#!/usr/bin/env python3
"""Benchmark of distributed mode: pages/s with 1 and with N worker processes, and the distributed
path's time per page against embedded ``digitize run --jobs 1`` on the same files.

    python scripts/bench_distributed.py [--corpus ../shared/bench/corpus-dev] [--files 20] [--workers 2]

Starts throwaway servers (redis-server, SeaweedFS S3, PostgreSQL; see workers/localservers.py), then for
each worker count: a fresh bucket and database, ``digitize enqueue`` (not timed), and N
``digitize worker --burst`` processes (timed from their start until the last one exits). Prints
pages/s for each, the scaling (wanted >= 1.8x for 2 workers on 2 free cores) and the per-page
overhead of 1 worker against embedded with one job (wanted <= 10%). Heavy: do not run it on a
machine shared with others' benchmarks.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from workers.localservers import PostgresServer, RedisServer, SeaweedS3, fresh_database  # noqa: E402

SCANS = {".pdf", ".tif", ".tiff", ".jpg", ".jpeg", ".png"}


def pick(corpus: Path, n: int, dest: Path) -> int:
    """Copy the first ``n`` scans of the corpus; return their page count (as the embedded run counts)."""
    files = sorted(p for p in corpus.rglob("*") if p.suffix.lower() in SCANS)[:n]
    for p in files:
        target = dest / p.relative_to(corpus)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(p, target)
    return len(files)


def digitize(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "digitize", *args], env=env, capture_output=True, text=True)


def _count_pages(env: dict[str, str]) -> int:
    from storage.index import Index

    idx = Index.from_url(env["DIGITIZE_INDEX_URL"])
    try:
        return idx.counts()["pages"]
    finally:
        idx.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "bench" / "corpus-dev")
    ap.add_argument("--files", type=int, default=20, help="how many files of the corpus (default 20)")
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="digitize-bench-dist-"))
    batch = tmp / "batch"
    batch.mkdir()
    n = pick(a.corpus, a.files, batch)
    if not n:
        print(f"no scans under {a.corpus}", file=sys.stderr)
        return 2
    base = {k: v for k, v in os.environ.items() if not k.startswith("DIGITIZE_")}
    base["PYTHONPATH"] = str(ROOT)
    try:
        # embedded references: --jobs 1 and --jobs N. Embedded finishes documents (extraction, the
        # signature's second reading, merging) in its main process while the pool OCRs, so --jobs 1 is
        # two busy processes against one worker doing every stage in turn; --jobs N against N workers
        # is the like-for-like comparison once the cores are full.
        embedded: dict[int, float] = {}
        for jobs in sorted({1, a.workers}):
            env = dict(base, DIGITIZE_ARCHIVE=str(tmp / f"embedded-{jobs}"))
            t0 = time.monotonic()
            digitize(["run", "--no-progress", "--jobs", str(jobs), str(batch)], env)
            embedded[jobs] = time.monotonic() - t0
        with RedisServer(tmp / "redis") as redis, SeaweedS3(tmp / "s3") as s3, PostgresServer() as pg:
            rates: dict[int, float] = {}
            for workers in sorted({1, a.workers}):
                with fresh_database(pg.url) as db:
                    ep = s3.endpoint
                    env = dict(base, DIGITIZE_OBJECT_STORE="s3", DIGITIZE_S3_ENDPOINT=ep.endpoint,
                               DIGITIZE_S3_ACCESS_KEY=ep.access_key, DIGITIZE_S3_SECRET_KEY=ep.secret_key,
                               DIGITIZE_S3_BUCKET="b-" + secrets.token_hex(6), DIGITIZE_INDEX_URL=db,
                               DIGITIZE_REDIS_URL=redis.url, DIGITIZE_ARCHIVE=str(tmp / "archive"))
                    digitize(["enqueue", str(batch)], env)
                    t0 = time.monotonic()
                    procs = [subprocess.Popen([sys.executable, "-m", "digitize", "worker", "--burst"],
                                              env=dict(env, DIGITIZE_CACHE_DIR=str(tmp / f"cache-{workers}-{i}")),
                                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                             for i in range(workers)]
                    for p in procs:
                        p.wait()
                    seconds = time.monotonic() - t0
                    pages = _count_pages(env)
                    rates[workers] = pages / seconds
                    print(f"{workers} worker(s): {pages} pages in {seconds:.1f} s = {rates[workers]:.3f} pages/s")
            for jobs, secs in sorted(embedded.items()):
                print(f"embedded --jobs {jobs}: {secs:.1f} s = {pages / secs:.3f} pages/s")
            if a.workers > 1:
                print(f"scaling {a.workers} vs 1 worker: {rates[a.workers] / rates[1]:.2f}x (wanted >= 1.8x)")
            for n in sorted(rates):
                overhead = (pages / rates[n]) / embedded[n] - 1
                print(f"distributed time per page, {n} worker(s) vs embedded --jobs {n}: {overhead:+.1%} "
                      "(wanted <= +10%)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
