#!/usr/bin/env python3
"""Check that both drivers and ``reindex`` give the same export of a corpus, byte for byte.

    python scripts/check_same_export.py CORPUS [--jobs 2] [--workers 2] [--keep]

Four exports of the same files, compared line by line (the JSONL records, each with its ``pdf_sha256``):

1. embedded: ``digitize run --jobs N`` into a fresh archive (SQLite, a local folder);
2. that archive reindexed: its objects copied alone, ``digitize reindex``;
3. distributed: throwaway redis-server, SeaweedFS (S3) and PostgreSQL on free loopback ports
   (:mod:`workers.localservers`), ``digitize enqueue``, then N ``digitize worker --burst``;
4. that cluster reindexed into a fresh database.

Prints one line per export (records, documents with a PDF) and, when they differ, the first differing
record. Exit 0 when all four are identical, 1 otherwise, 2 on a step that failed. Heavy: OCR of the
whole corpus twice.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from workers.localservers import PostgresServer, RedisServer, SeaweedS3, fresh_database


class StepFailed(RuntimeError):
    """A ``digitize`` command of the check failed (its output is in the message)."""


def digitize(args: list[str], env: dict[str, str]) -> str:
    """Run ``digitize ARGS`` with ``env``; its stdout (StepFailed with its stderr on a failure)."""
    res = subprocess.run([sys.executable, "-m", "digitize", *args], env=env, capture_output=True, text=True)
    if res.returncode not in (0, 1):  # 1: some input files failed, which the exports must agree on too
        raise StepFailed(f"digitize {' '.join(args)} exited {res.returncode}:\n{res.stderr[-3000:]}")
    return res.stdout


def export(env: dict[str, str], out: Path) -> list[str]:
    """The archive's export, as its lines."""
    digitize(["export", "--jsonl", str(out)], env)
    return out.read_text(encoding="utf-8").splitlines()


def describe(name: str, lines: list[str]) -> str:
    """One line: the records and how many carry a PDF."""
    pdfs = sum(1 for line in lines if json.loads(line).get("pdf_sha256"))
    return f"{name:<24} {len(lines):4d} records, {pdfs:4d} with a PDF"


def first_difference(a: list[str], b: list[str]) -> str | None:
    """Where two exports differ first (None when they are identical)."""
    if a == b:
        return None
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            rx, ry = json.loads(x), json.loads(y)
            keys = sorted(k for k in set(rx) | set(ry) if rx.get(k) != ry.get(k))
            return (f"record {i + 1} ({rx.get('source')} pages {rx.get('pages')}): differs in {keys}: "
                    f"{ {k: rx.get(k) for k in keys} } vs { {k: ry.get(k) for k in keys} }")
    return f"{len(a)} records against {len(b)}"


def run_embedded(corpus: Path, work: Path, base: dict[str, str], jobs: int) -> tuple[list[str], list[str]]:
    """Exports of the embedded archive and of the same archive reindexed from its objects."""
    env = dict(base, DIGITIZE_ARCHIVE=str(work / "embedded"))
    digitize(["run", "--no-progress", "--jobs", str(jobs), str(corpus)], env)
    embedded = export(env, work / "embedded.jsonl")
    shutil.copytree(work / "embedded" / "objects", work / "reindexed" / "objects")
    env = dict(base, DIGITIZE_ARCHIVE=str(work / "reindexed"))
    digitize(["reindex"], env)
    return embedded, export(env, work / "embedded-reindexed.jsonl")


def run_distributed(corpus: Path, work: Path, base: dict[str, str], workers: int) -> tuple[list[str], list[str]]:
    """Exports of a distributed run and of its objects reindexed into a fresh database."""
    with RedisServer(work / "redis") as redis, SeaweedS3(work / "s3") as s3, PostgresServer() as pg:
        ep = s3.endpoint
        with fresh_database(pg.url) as db:
            env = dict(base, DIGITIZE_OBJECT_STORE="s3", DIGITIZE_S3_ENDPOINT=ep.endpoint,
                       DIGITIZE_S3_ACCESS_KEY=ep.access_key, DIGITIZE_S3_SECRET_KEY=ep.secret_key,
                       DIGITIZE_S3_BUCKET="check-" + secrets.token_hex(6), DIGITIZE_INDEX_URL=db,
                       DIGITIZE_REDIS_URL=redis.url, DIGITIZE_ARCHIVE=str(work / "distributed"))
            digitize(["enqueue", str(corpus)], env)
            procs = [subprocess.Popen([sys.executable, "-m", "digitize", "worker", "--burst"],
                                      env=dict(env, DIGITIZE_CACHE_DIR=str(work / f"cache-{i}")),
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                     for i in range(workers)]
            codes = [p.wait() for p in procs]
            if any(codes):
                raise StepFailed(f"digitize worker --burst exited {codes}")
            distributed = export(env, work / "distributed.jsonl")
            with fresh_database(pg.url) as db2:
                env2 = dict(env, DIGITIZE_INDEX_URL=db2)
                digitize(["reindex"], env2)
                reindexed = export(env2, work / "distributed-reindexed.jsonl")
    return distributed, reindexed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--jobs", type=int, default=2, help="embedded page processes (default 2)")
    ap.add_argument("--workers", type=int, default=2, help="distributed worker processes (default 2)")
    ap.add_argument("--keep", action="store_true", help="keep the work folder (printed)")
    a = ap.parse_args()
    if not a.corpus.is_dir():
        print(f"{a.corpus}: no such folder", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="digitize-same-export-"))
    base = {k: v for k, v in os.environ.items() if not k.startswith("DIGITIZE_")}
    try:
        embedded, embedded_again = run_embedded(a.corpus, work, base, a.jobs)
        distributed, distributed_again = run_distributed(a.corpus, work, base, a.workers)
    except StepFailed as e:
        print(f"check_same_export: {e}", file=sys.stderr)
        return 2
    finally:
        if a.keep:
            print(f"work folder: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    exports = {"embedded": embedded, "embedded, reindexed": embedded_again, "distributed": distributed,
               "distributed, reindexed": distributed_again}
    same = True
    for name, lines in exports.items():
        diff = first_difference(embedded, lines)
        print(describe(name, lines) + ("  identical to embedded" if diff is None else f"  DIFFERS: {diff}"))
        same = same and diff is None
    print("same export: " + ("yes" if same else "NO"))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
