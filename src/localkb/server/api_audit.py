"""``/api/audit``: what the open KB's embedding model confuses (``kb.audit()``; the web page's audit panel)."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from .context import ctx

router = APIRouter(prefix="/api", tags=["knowledge base"])


@router.get("/audit", summary="Colliding near-miss terms (IBE/OBE) and near-duplicates from different sources")
async def audit(request: Request, duplicates: bool = True) -> dict[str, Any]:
    kb = ctx(request).kb
    report = await run_in_threadpool(kb.audit, duplicates=duplicates)
    return report.to_dict()
