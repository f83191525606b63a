"""``GET /api/v1/reports``: the office report's numbers for the portal team (the counting of ``digitize report``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from digitize.api.auth import audit, require
from digitize.api.context import ApiContext, ctx
from digitize.handoff import report
from storage.access import ApiKey

router = APIRouter(prefix="/api/v1")


@router.get("/reports", tags=["reports"], summary="Counts of a period in the office's terms")
async def get_report(request: Request,
                     period: str | None = Query(None, description="2026-Q3, 2026-07 or 2026", examples=["2026-Q3"]),
                     from_: str | None = Query(None, alias="from", description="first day, YYYY-MM-DD"),
                     to: str | None = Query(None, description="last day (included), YYYY-MM-DD"),
                     by: str | None = Query(None, pattern="^(issuer|type|dossier|batch|clerk)$",
                                            description="one row per issuer, type, dossier, batch or clerk"),
                     key: ApiKey = Depends(require("read")), c: ApiContext = Depends(ctx)) -> dict[str, Any]:
    """Files and pages received, documents made, linked, needing review, reviewed (by whom), signed,
    published, failed, rescans pending; per group and in total (see ``digitize/handoff/report.py``)."""
    p = report.parse_period(period, from_, to)
    rep = await run_in_threadpool(report.build, c.index, p, by)
    audit(request, key, "report", p.label, 200, {"by": by})
    return rep.as_dict()
