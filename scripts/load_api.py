#!/usr/bin/env python3
"""Load test of the portal API: dossier lookup and search latency on an index of 100,000 documents.

Builds (or reuses) an embedded archive with N synthetic result documents spread over dossiers,
starts ``digitize.api.server.serve`` with uvicorn in a subprocess on a free loopback port, runs a
bounded load with Python threads (httpx, keep-alive) and prints p50/p90/p99 per kind of request.

    .venv/bin/python scripts/load_api.py                      # 100,000 documents in a temp dir
    .venv/bin/python scripts/load_api.py --archive /tmp/la --documents 100000 --lookups 3000

Target (issue 7): p99 <= 50 ms for dossier lookup on a 2-core machine. The client threads run on
the same machine as the server, so the figures include client overhead.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from digitize.models import Document, Field, Metadata  # noqa: E402
from storage import access  # noqa: E402
from storage.folding import fold  # noqa: E402
from storage.index import Index, _doc_row, documents, now  # noqa: E402

AGENCIES = ["000.00.13.H56", "38.98.H29", "000.21.30.H01", "000.00.07.G12", "45.12.H40"]
EIDS = ["H26.107.01", "H26.12.03"]
TYPES = [("Quyết định", "QĐ-UBND"), ("Giấy phép xây dựng", "GPXD"), ("Giấy chứng nhận đăng ký hộ kinh doanh", "GCN"),
         ("Trích lục khai sinh", "TLKS"), ("Giấy xác nhận", "GXN"), ("Thông báo", "TB-UBND"), ("Công văn", "UBND-VP")]
ISSUERS = ["Ủy ban nhân dân huyện Kiến Xương", "Ủy ban nhân dân xã Vũ Tây", "Ủy ban nhân dân phường Kỳ Bá",
           "Ủy ban nhân dân thành phố Thái Bình", "Phòng Tài chính - Kế hoạch huyện Tiền Hải",
           "Ủy ban nhân dân quận Ba Đình", "Sở Xây dựng tỉnh Thái Bình"]
SUBJECTS = ["cấp phép xây dựng nhà ở riêng lẻ", "đăng ký hộ kinh doanh cá thể", "chuyển mục đích sử dụng đất",
            "phê duyệt quy hoạch chi tiết", "khen thưởng tập thể có thành tích",
            "cấp giấy chứng nhận quyền sử dụng đất",
            "điều chỉnh giấy phép kinh doanh", "thu hồi đất để thực hiện dự án", "xác nhận tình trạng hôn nhân"]
SIGNERS = ["Nguyễn Văn An", "Trần Thị Bình", "Lê Hoàng Cường", "Phạm Minh Đức", "Vũ Thị Hạnh", "Đặng Quốc Hùng"]
FILLER = ("Căn cứ Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015; Căn cứ Nghị định số 30/2020/NĐ-CP "
          "ngày 05 tháng 3 năm 2020 của Chính phủ về công tác văn thư; Xét đề nghị của Trưởng phòng Tư pháp; ")
QUERIES = ["quyet dinh cap phep", "Quyết định cấp phép xây dựng", "giay phep xay dung", "ho kinh doanh",
           "trich luc khai sinh", "kien xuong", "thu hoi dat", "Giấy xác nhận hôn nhân", "nguyen van an",
           "quy hoach chi tiet"]


FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Ngô", "Dương", "Lý"]
MIDDLE = ["Văn", "Thị", "Hữu", "Minh", "Quốc", "Thanh", "Ngọc", "Đức", "Thu", "Xuân"]
GIVEN = ["An", "Bình", "Cường", "Dũng", "Hạnh", "Hùng", "Lan", "Mai", "Nam", "Phương", "Quang", "Sơn", "Thảo",
         "Tuấn", "Yến", "Hà", "Long", "Đông", "Trang", "Khánh"]
COMMUNES = ["xã Vũ Tây", "xã Thanh Nê", "xã Quang Trung", "xã Bình Minh", "phường Kỳ Bá", "phường Tiền Phong",
            "xã Đông Hưng", "thị trấn Kiến Xương", "xã Tây Sơn", "xã Hồng Thái", "xã Nam Cao", "xã An Bình"]
SENTENCES = ["Căn cứ Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015;",
             "Căn cứ Nghị định số 30/2020/NĐ-CP ngày 05 tháng 3 năm 2020 của Chính phủ về công tác văn thư;",
             "Căn cứ Luật Đất đai ngày 18 tháng 01 năm 2024;", "Xét đề nghị của Trưởng phòng Tư pháp;",
             "Xét hồ sơ đề nghị của {person}, sinh năm {year}, thường trú tại {commune}, tỉnh Thái Bình;",
             "Giao {person} chịu trách nhiệm thi hành Quyết định này.",
             "Diện tích {area} m2 tại thửa đất số {plot}, tờ bản đồ số {sheet}, {commune}.",
             "Quyết định này có hiệu lực kể từ ngày ký.", "Chánh Văn phòng, Thủ trưởng các cơ quan liên quan thi hành."]


def _person(rng: random.Random) -> str:
    return f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"


def synthetic(i: int, rng: random.Random) -> tuple[str, Document]:
    """The i-th synthetic document and the sha256 of the 'file' it came from (50 documents per file):
    Decree 30 metadata and a few hundred characters of body text; one issuer in twenty typed without
    diacritics (as OCR or a hurried clerk may leave it)."""
    file_no = i // 50
    sha = hashlib.sha256(f"file-{file_no}".encode()).hexdigest()
    page = (i % 50) * 2 + 1
    dossier_no = i * 2 // 5  # 2.5 documents per dossier on average
    day = 1 + dossier_no % 28
    month = 1 + dossier_no // 10000 % 12
    if dossier_no % 4 == 3:  # a quarter in the 2026 form <e-ID>-<yymmdd>-<AA><seq>
        code = f"{EIDS[dossier_no % 2]}-26{month:02d}{day:02d}-01{dossier_no % 10000:04d}"
    else:
        code = f"{AGENCIES[dossier_no % len(AGENCIES)]}-21{month:02d}{day:02d}-{dossier_no % 10000:04d}"
    doc_type, notation = rng.choice(TYPES)
    subject = rng.choice(SUBJECTS)
    issuer = rng.choice(ISSUERS)
    if rng.random() < 0.05:
        issuer = fold(issuer).title()
    year = rng.randint(2015, 2025)
    number = f"{rng.randint(1, 999)}/{notation}"
    md = Metadata(doc_type=Field(doc_type, 0.95), number=Field(number, 0.9),
                  issued_date=Field(f"{year}-{rng.randint(1, 12):02d}-{day:02d}", 0.9),
                  issuer=Field(issuer, 0.9), place=Field("Thái Bình", 0.8),
                  summary=Field(f"Về việc {subject}", 0.8), signer=Field(rng.choice(SIGNERS), 0.9),
                  signer_position=Field("Chủ tịch", 0.9))
    body = " ".join(rng.choice(SENTENCES).format(person=_person(rng), year=rng.randint(1950, 2000),
                                                 commune=rng.choice(COMMUNES), area=rng.randint(40, 900),
                                                 plot=rng.randint(1, 700), sheet=rng.randint(1, 60))
                    for _ in range(rng.randint(3, 6)))
    text = (f"{issuer.upper()}\nSố: {number}\n{doc_type.upper()}\nVề việc {subject}\n{body}\n"
            f"CHỦ TỊCH\n{md.signer.value}")
    doc_id = f"{sha[:16]}-d{page:04d}"
    return sha, Document(doc_id=doc_id, sha256=sha, source=f"box{file_no // 100}/{file_no:05d}.pdf",
                         pages=(page, page + 1), kind="result", dossier_id=code, dossier_source="separator",
                         metadata=md, text=text, needs_review=rng.random() < 0.1, reasons=(),
                         pdf_key=f"documents/{doc_id}/document.pdf", pdf_sha256="0" * 64)


def synthetic_rows(indices: Iterable[int], rng: random.Random) -> list[dict[str, Any]]:
    """Index rows (``documents`` columns, built by the index's own row builder) of synthetic documents."""
    at = now()
    return [_doc_row(doc, at) | {"created_at": at} for _, doc in (synthetic(i, rng) for i in indices)]


def build_index(archive: Path, n: int) -> Index:
    """An index with ``n`` synthetic documents (reused when it already has them)."""
    archive.mkdir(parents=True, exist_ok=True)
    index = Index.from_url(f"sqlite:///{(archive / 'index.sqlite').resolve()}")
    have = index.counts()["documents"]
    if have >= n:
        print(f"index: reusing {have} documents in {archive}")
        return index
    rng = random.Random(7)
    start = time.perf_counter()
    batch: list[Document] = []
    sha = None
    for i in range(n):
        file_sha, doc = synthetic(i, rng)
        if sha is not None and file_sha != sha:
            _flush(index, sha, batch)
            batch = []
        sha = file_sha
        batch.append(doc)
    if batch and sha:
        _flush(index, sha, batch)
    with index.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    print(f"index: {n} documents written in {time.perf_counter() - start:.1f} s")
    return index


def _flush(index: Index, sha: str, docs: list[Document]) -> None:
    """One file's documents in one executemany (Index.replace_documents compiles an INSERT per row, ~5 ms each:
    fine for a run, too slow for 100,000 rows). The rows come from the index's own row builder."""
    index.upsert_file(sha, source=docs[0].source, size=1, kind="pdf", page_count=100, status="done")
    at = now()
    with index.engine.begin() as conn:
        conn.execute(documents.delete().where(documents.c.sha256 == sha))
        conn.execute(documents.insert(), [_doc_row(d, at) | {"created_at": at} for d in docs])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(archive: Path, port: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ, DIGITIZE_ARCHIVE=str(archive), DIGITIZE_INDEX_URL="", DIGITIZE_OBJECT_STORE="local")
    code = ("import logging; logging.basicConfig(level='WARNING'); "
            "from digitize.config import load_settings; from digitize.api.server import serve; "
            f"serve(load_settings(), '127.0.0.1', {port})")
    return subprocess.Popen([sys.executable, "-c", code], env=env, cwd=Path(__file__).resolve().parents[1])


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("server did not become ready")


def run_load(base: str, token: str, name: str, paths: list[str], threads: int) -> list[float]:
    """GET each path once, spread over ``threads`` keep-alive clients; return latencies in ms."""
    import httpx

    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    chunks = [paths[i::threads] for i in range(threads)]

    def worker(mine: list[str]) -> None:
        with httpx.Client(base_url=base, headers={"X-API-Key": token}, timeout=30) as client:
            local = []
            for path in mine:
                t0 = time.perf_counter()
                r = client.get(path)
                local.append((time.perf_counter() - t0) * 1000)
                if r.status_code != 200:
                    with lock:
                        errors.append(f"{r.status_code} {path}")
            with lock:
                latencies.extend(local)

    start = time.perf_counter()
    pool = [threading.Thread(target=worker, args=(c,)) for c in chunks]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    wall = time.perf_counter() - start
    report(name, latencies, wall, threads)
    if errors:
        print(f"  {len(errors)} errors, e.g. {errors[:3]}")
    return latencies


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def report(name: str, lat: list[float], wall: float, threads: int) -> None:
    print(f"{name:<16} n={len(lat):>5} threads={threads}  p50={pct(lat, 50):6.1f} ms  p90={pct(lat, 90):6.1f} ms  "
          f"p99={pct(lat, 99):6.1f} ms  max={max(lat):6.1f} ms  mean={statistics.fmean(lat):6.1f} ms  "
          f"{len(lat) / wall:6.1f} req/s")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--archive", type=Path, help="archive folder (default: a new temp dir)")
    ap.add_argument("--documents", type=int, default=100_000)
    ap.add_argument("--lookups", type=int, default=3000)
    ap.add_argument("--searches", type=int, default=200)
    ap.add_argument("--threads", type=int, default=2, help="concurrent clients the target is judged at")
    ap.add_argument("--sweep", default="1,2,4", help="also measure lookups at these concurrencies")
    ap.add_argument("--target-p99-ms", type=float, default=50.0)
    args = ap.parse_args(argv)

    archive = args.archive or Path(tempfile.mkdtemp(prefix="digitize-load-"))
    index = build_index(archive, args.documents)
    token = access.create_key(index, f"load-{os.getpid()}-{int(time.time())}", "portal")
    import sqlalchemy as sa

    with index.engine.connect() as conn:
        codes = [r[0] for r in conn.execute(sa.select(documents.c.dossier_id).distinct())]
    index.close()
    rng = random.Random(11)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = start_server(archive, port)
    try:
        wait_ready(base, proc)
        print(f"server: {base}, {len(codes)} dossiers, {os.cpu_count()} CPUs (shared machine: figures are noisy)")
        run_load(base, token, "warm-up", [f"/api/v1/dossiers/{rng.choice(codes)}" for _ in range(200)], 2)
        levels = sorted({args.threads, *(int(x) for x in args.sweep.split(",") if x)})
        by_level = {n: run_load(base, token, f"lookup c={n}",
                                [f"/api/v1/dossiers/{rng.choice(codes)}" for _ in range(args.lookups)], n)
                    for n in levels}
        lookups = by_level[args.threads]
        run_load(base, token, "search", [f"/api/v1/search?q={rng.choice(QUERIES)}&limit=20"
                                         for _ in range(args.searches)], max(1, args.threads // 2))
        run_load(base, token, "search+filters", [f"/api/v1/search?q=cap+phep&type=quyet+dinh&from=2020-01-01"
                                                 f"&issuer={rng.choice(['kien xuong', 'vu tay'])}"
                                                 for _ in range(args.searches // 2)], max(1, args.threads // 2))
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    p99 = pct(lookups, 99)
    verdict = "OK" if p99 <= args.target_p99_ms else "ABOVE TARGET"
    print(f"dossier lookup p99 at {args.threads} concurrent clients: {p99:.1f} ms "
          f"(target {args.target_p99_ms:.0f} ms): {verdict}")
    return 0 if p99 <= args.target_p99_ms else 1


if __name__ == "__main__":
    sys.exit(main())
