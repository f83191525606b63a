#!/usr/bin/env python3
"""Search and dossier-lookup latency at 1,000,000 documents, on SQLite (FTS5) and PostgreSQL (tsvector).

Generates N synthetic result documents (Vietnamese metadata and a few hundred characters of text,
some issuers typed without diacritics as OCR or a clerk may leave them), bulk-loads them into a
throwaway SQLite archive and a throwaway PostgreSQL cluster (started by workers/localservers.py, on a
free loopback port, stopped at the end) at schema v2, then opens them with ``Index`` so the v3 and v4
migrations build the full-text index over the existing rows (their time is printed; PostgreSQL's
``search_rows`` is then vacuumed, as autovacuum would), and measures
``Index.search`` and ``Index.dossier_documents`` p50/p99 with the query plans of the lookup.

    .venv/bin/python scripts/bench_search.py                       # 1,000,000 documents, both back-ends
    .venv/bin/python scripts/bench_search.py --documents 100000 --backend sqlite
    .venv/bin/python scripts/bench_search.py --reuse /tmp/bench1m     # load once, measure again and again

With ``--reuse DIR`` the loaded, migrated SQLite archive and PostgreSQL cluster are kept in DIR and a
later run with the same DIR (and ``--documents``) measures them again without loading.

Targets (issue 15): search p99 <= 100 ms, dossier lookup p99 <= 20 ms, on both back-ends.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa  # noqa: E402

from scripts.load_api import synthetic_rows  # noqa: E402
from storage.index import Index  # noqa: E402
from storage.schema import MIGRATIONS, documents, schema_version  # noqa: E402
from storage.search import SearchQuery  # noqa: E402

QUERIES = ["quyet dinh cap phep", "Quyết định cấp phép xây dựng", "giay phep xay dung", "hộ kinh doanh",
           "trich luc khai sinh", "kien xuong", "Kiến Xương", "thu hồi đất", "Giấy xác nhận hôn nhân",
           "nguyen van an", "quy hoach chi tiet", "Vũ Tây", "chuyển mục đích sử dụng đất", "Nguyễn Thị Lan Đông Hưng",
           "Thanh Nê", "xa Quang Trung", "123/QĐ-UBND", "khen thuong tap the"]
CHUNK = 20_000


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def line(name: str, lat: list[float]) -> str:
    return (f"  {name:<22} n={len(lat):>5}  p50={pct(lat, 50):7.1f} ms  p90={pct(lat, 90):7.1f} ms  "
            f"p99={pct(lat, 99):7.1f} ms  max={max(lat):7.1f} ms  mean={statistics.fmean(lat):6.1f} ms")


def chunks(n: int) -> Iterator[list[dict[str, Any]]]:
    """The synthetic rows, CHUNK at a time (the same rows for both back-ends: seeded)."""
    rng = random.Random(7)
    for start in range(0, n, CHUNK):
        yield synthetic_rows(range(start, min(n, start + CHUNK)), rng)


def create_v2(url: str) -> sa.Engine:
    """An empty index at schema v2 (before the full-text index), so loading is a plain bulk insert."""
    engine = sa.create_engine(url, future=True)
    with engine.begin() as conn:
        schema_version.create(conn, checkfirst=True)
        for version, step in enumerate(MIGRATIONS[:2], start=1):
            step(conn)
            conn.execute(schema_version.insert().values(version=version))
    return engine


def load_sqlite(path: Path, n: int) -> float:
    import sqlite3

    engine = create_v2(f"sqlite:///{path}")
    engine.dispose()
    cols = [c.name for c in documents.c if c.name != "search_rowid"]
    sql = f"INSERT INTO documents ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
    t0 = time.perf_counter()
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    for rows in chunks(n):
        con.executemany(sql, [tuple(_sqlite_value(r[c]) for c in cols) for r in rows])
        con.commit()
    con.close()
    return time.perf_counter() - t0


def _sqlite_value(v: Any) -> Any:
    return v.isoformat(sep=" ") if isinstance(v, dt.datetime) else v


def load_postgres(url: str, n: int) -> float:
    import psycopg

    engine = create_v2(url)
    engine.dispose()
    cols = [c.name for c in documents.c if c.name != "search_rowid"]
    t0 = time.perf_counter()
    dsn = sa.engine.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as con, con.cursor() as cur:
        for rows in chunks(n):
            with cur.copy(f"COPY documents ({', '.join(cols)}) FROM STDIN") as copy:
                for r in rows:
                    copy.write_row([r[c] for c in cols])
            con.commit()
    return time.perf_counter() - t0


def timed(fn: Callable[[], Any], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def measure(index: Index, codes: list[str], args: argparse.Namespace) -> dict[str, list[float]]:
    rng = random.Random(11)
    queries: list[SearchQuery] = []
    for _ in range(args.searches):
        q = rng.choice(QUERIES)
        kind = rng.random()
        if kind < 0.6:
            queries.append(SearchQuery(q=q, cleared_only=rng.random() < 0.5))
        elif kind < 0.8:
            queries.append(SearchQuery(q=q, doc_type=rng.choice(["Quyết định", "giay phep xay dung"]),
                                       issuer=rng.choice(["kien xuong", "Vũ Tây", "Thái Bình"]),
                                       date_from=dt.date(2020, 1, 1)))
        else:
            queries.append(SearchQuery(q=q, offset=rng.choice([20, 40, 100])))
    for q in queries[:20]:  # warm the caches
        index.search(q)
    search_lat = []
    by_query: dict[str, list[float]] = {}
    for q in queries:
        t0 = time.perf_counter()
        index.search(q)
        ms = (time.perf_counter() - t0) * 1000
        search_lat.append(ms)
        by_query.setdefault(q.q or "", []).append(ms)
    worst = max(by_query.items(), key=lambda kv: pct(kv[1], 99))
    print(f"  slowest query kind: {worst[0]!r} p99 {pct(worst[1], 99):.1f} ms")
    if args.breakdown:
        slow = sorted(zip(search_lat, queries, strict=True), key=lambda t: -t[0])[:args.breakdown]
        for ms, q in slow:
            print(f"    {ms:7.1f} ms  {describe(q)}")
    lookups = [rng.choice(codes) for _ in range(args.lookups)]
    for code in lookups[:50]:
        index.dossier_documents(code)
    lookup_lat = []
    for code in lookups:
        t0 = time.perf_counter()
        docs = index.dossier_documents(code)
        lookup_lat.append((time.perf_counter() - t0) * 1000)
        assert docs, code
    return {"search": search_lat, "dossier lookup": lookup_lat}


def describe(q: SearchQuery) -> str:
    """A query in one line (only what is set)."""
    parts = [f"q={q.q!r}"]
    parts += [f"{k}={v!r}" for k, v in (("type", q.doc_type), ("issuer", q.issuer), ("from", q.date_from))
              if v is not None]
    parts += ["cleared"] * q.cleared_only + [f"offset={q.offset}"] * bool(q.offset)
    return " ".join(parts)


def show_ranking(index: Index) -> None:
    for q in ("Kiến Xương", "kien xuong"):
        found = index.search(SearchQuery(q=q, limit=3))
        total = f"{found.total}{'' if found.total_is_exact else '+'}"
        print(f"  {q!r}: {total} matches, first issuers {[d.metadata.issuer.value for d in found.items]}")


def lookup_plan(index: Index, code: str) -> str:
    q = (sa.select(documents.c.doc_id).where(documents.c.dossier_id == code, documents.c.kind == "result")
         .order_by(documents.c.source, documents.c.first_page))
    with index.engine.connect() as conn:
        sql = str(q.compile(conn, compile_kwargs={"literal_binds": True}))
        prefix = "EXPLAIN QUERY PLAN " if conn.dialect.name == "sqlite" else "EXPLAIN "
        rows = conn.exec_driver_sql(prefix + sql).fetchall()
    return " | ".join(str(r[-1]).strip() for r in rows)


def bench(name: str, url: str, load: Callable[[], float] | None, args: argparse.Namespace
          ) -> dict[str, list[float]]:
    """Load (unless ``load`` is None: a kept database), migrate, and measure one back-end."""
    if load is None:
        print(f"{name}: reusing the loaded documents")
        index = Index.from_url(url)
    else:
        print(f"{name}: loading {args.documents:,} documents")
        secs = load()
        print(f"  bulk load (schema v2): {secs:.0f} s")
        t0 = time.perf_counter()
        index = Index.from_url(url)
        print(f"  migration to v{len(MIGRATIONS)} (builds the full-text index): {time.perf_counter() - t0:.0f} s")
        with index.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
        if index.engine.dialect.name == "postgresql":
            # what autovacuum does within minutes of the v4 migration: search_rows' pages marked
            # all-visible, so the walk for the newest matches is an index-only scan
            with index.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM search_rows")
    with index.engine.connect() as conn:
        codes = [r[0] for r in conn.execute(sa.select(documents.c.dossier_id).distinct().limit(200_000))]
    print(f"  lookup plan: {lookup_plan(index, codes[0])}")
    show_ranking(index)
    out = measure(index, codes, args)
    for kind, lat in out.items():
        print(line(kind, lat))
    index.close()
    return out


def bench_postgres(workdir: Path | None) -> Any:
    """A PostgreSQL server tuned for the benchmark: throwaway, or kept in ``workdir`` (started again on the
    cluster a previous run left there)."""
    from workers.localservers import PostgresServer

    class BenchPostgres(PostgresServer):
        def _initdb(self) -> None:
            if not (self.data_dir / "PG_VERSION").exists():
                super()._initdb()

        def argv(self) -> list[str]:
            return [*super().argv(), "-c", "shared_buffers=1GB", "-c", "maintenance_work_mem=512MB",
                    "-c", "work_mem=32MB", "-c", "max_wal_size=4GB", "-c", "effective_cache_size=8GB"]

    return BenchPostgres(workdir)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--documents", type=int, default=1_000_000)
    ap.add_argument("--searches", type=int, default=1000)
    ap.add_argument("--lookups", type=int, default=3000)
    ap.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument("--workdir", type=Path, help="where the throwaway SQLite archive goes (default: a temp dir)")
    ap.add_argument("--keep", action="store_true", help="keep the SQLite archive (its path is printed)")
    ap.add_argument("--reuse", type=Path, help="keep the loaded databases in this directory, or measure the ones "
                                               "a previous run kept there")
    ap.add_argument("--breakdown", type=int, default=0, help="print the N slowest searches")
    args = ap.parse_args(argv)
    results: dict[str, dict[str, list[float]]] = {}
    if args.reuse:
        work = args.reuse
        work.mkdir(parents=True, exist_ok=True)
        args.keep = True
    else:
        work = Path(tempfile.mkdtemp(prefix="digitize-bench-search-", dir=args.workdir))
    try:
        if args.backend in ("sqlite", "both"):
            path = work / "index.sqlite"
            done = work / "sqlite.loaded"
            results["SQLite"] = bench("SQLite (FTS5)", f"sqlite:///{path}",
                                      None if done.exists() else lambda: load_sqlite(path, args.documents), args)
            if args.reuse:
                done.touch()
        if args.backend in ("postgresql", "both"):
            with bench_postgres(work / "pg" if args.reuse else None) as pg:
                url = pg.url
                done = work / "pg.loaded"
                results["PostgreSQL"] = bench("PostgreSQL (tsvector, GIN)", url,
                                              None if done.exists() else lambda: load_postgres(url, args.documents),
                                              args)
                if args.reuse:
                    done.touch()
    finally:
        if args.keep:
            print(f"kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    ok = True
    print(f"\nat {args.documents:,} documents (targets: search p99 <= 100 ms, lookup p99 <= 20 ms):")
    for name, out in results.items():
        s, lk = pct(out["search"], 99), pct(out["dossier lookup"], 99)
        good = s <= 100 and lk <= 20
        ok &= good
        print(f"  {name:<11} search p50 {pct(out['search'], 50):6.1f} p99 {s:6.1f} ms   "
              f"lookup p50 {pct(out['dossier lookup'], 50):5.1f} p99 {lk:5.1f} ms   {'OK' if good else 'ABOVE TARGET'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
