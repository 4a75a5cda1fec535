"""The FastAPI app: POST /webhook (verify, dedupe, enqueue; never review in the request), /healthz, /readyz,
/metrics."""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.concurrency import run_in_threadpool

from bot.app import metrics
from bot.app.events import Decision, decide
from bot.app.logs import log_context
from bot.app.metrics import COUNTERS
from bot.app.runtime import Runtime
from bot.app.signature import verify

log = logging.getLogger("dbreview.app.web")

_UNVERIFIED = {"too-large", "bad-signature"}
# GitHub does not deliver payloads over 25 MB; anything larger is not from GitHub.
MAX_BODY = 25 * 1024 * 1024


def create_app(rt: Runtime, *, workers: int = 0) -> FastAPI:
    """The web app over a runtime; with `workers` > 0 the queue consumer runs inside this process."""

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if workers > 0:
            rt.start_workers(workers, embedded=True)
        log.info("dbreview app ready (store %s, queue %s, %d worker thread(s))",
                 rt.store.engine.dialect.name, rt.settings.queue_backend, workers)
        try:
            yield
        finally:
            await run_in_threadpool(rt.stop_workers)

    app = FastAPI(title="dbreview", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.runtime = rt

    @app.post("/webhook")
    async def webhook(request: Request) -> JSONResponse:
        started = time.perf_counter()
        event = request.headers.get("x-github-event", "")
        delivery = request.headers.get("x-github-delivery", "")
        with log_context(delivery=delivery[:64] or None, event=event[:64] or None):
            status, body = await _webhook(rt, request, event, delivery)
        if body.get("result") in _UNVERIFIED:
            # Headers of a request nobody signed are not worth a metric label or a log field each: a stream of
            # made-up event names must not grow the metrics without bound.
            event, delivery = "unverified", ""
        with log_context(delivery=delivery[:64] or None, event=event[:64] or None):
            COUNTERS.inc("dbreview_webhooks_total", event=event[:64] or "none", result=body.get("result", "error"))
            log.info("webhook %s %s -> %d %s", event[:64], body.get("action", ""), status, body.get("result"),
                     extra={"ms": round((time.perf_counter() - started) * 1000, 2), **_where(body)})
            return JSONResponse(body, status_code=status)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        checks: dict[str, str] = {}
        for name, probe in (("store", rt.store.ping), ("queue", rt.queue_depth)):
            try:
                await run_in_threadpool(probe)
                checks[name] = "ok"
            except Exception as exc:
                checks[name] = f"error: {type(exc).__name__}"
        ok = all(v == "ok" for v in checks.values())
        return JSONResponse({"status": "ok" if ok else "unavailable", **checks}, status_code=200 if ok else 503)

    @app.get("/metrics")
    async def metrics_endpoint() -> PlainTextResponse:
        text = await run_in_threadpool(render_metrics, rt)
        return PlainTextResponse(text, media_type="text/plain; version=0.0.4; charset=utf-8")

    return app


def _where(body: dict[str, Any]) -> dict[str, Any]:
    return {k: body[k] for k in ("repo", "pr", "review_id") if body.get(k) is not None}


async def _read_body(request: Request) -> bytes | None:
    """The raw body, or None when it is over the limit (checked on the header first, then while reading)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def _webhook(rt: Runtime, request: Request, event: str, delivery: str) -> tuple[int, dict[str, Any]]:
    raw = await _read_body(request)
    if raw is None:
        return 413, {"result": "too-large", "error": "payload over 25 MB"}
    # Nothing is parsed, logged or stored before the signature checks out.
    if not verify(rt.settings.webhook_secret, raw, request.headers.get("x-hub-signature-256")):
        return 401, {"result": "bad-signature", "error": "missing or invalid X-Hub-Signature-256"}
    if not event or not delivery or len(delivery) > 64:
        return 400, {"result": "bad-request", "error": "missing X-GitHub-Event or X-GitHub-Delivery"}
    try:
        payload = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return 400, {"result": "bad-json", "error": "body is not JSON"}
    except RecursionError:  # validly signed `[[[[…`: no GitHub event nests this deep
        return 400, {"result": "bad-json", "error": "body is nested too deeply"}
    if not isinstance(payload, dict):
        return 400, {"result": "bad-json", "error": "body is not a JSON object"}
    try:
        decision = decide(event, payload, rt.settings.app_slug)
    except Exception:  # decide() is total over JSON objects; this is the last net for a signed-but-odd payload
        log.warning("payload of %s could not be routed", event[:40], exc_info=True)
        return 400, {"result": "bad-payload", "error": "unexpected payload shape"}
    with log_context(repo=decision.repo or None, pr=decision.number):
        return await run_in_threadpool(_handle, rt, decision, delivery)


def _handle(rt: Runtime, d: Decision, delivery: str) -> tuple[int, dict[str, Any]]:
    """Store and queue work for one verified delivery (runs in a thread: the store is synchronous)."""
    where = {"action": d.action, "repo": d.repo or None, "pr": d.number}
    store = rt.store
    if d.kind == "ping":
        return 200, {"result": "pong"}
    if d.kind == "ignore":
        fresh = store.record_delivery(delivery, d.event, d.action, "ignored", repo=d.repo, number=d.number,
                                      installation_id=d.installation_id)
        return 200, {"result": "ignored" if fresh else "duplicate", "reason": d.reason, **where}
    if d.kind == "installation":
        if not store.record_delivery(delivery, d.event, d.action, "recorded", installation_id=d.installation_id):
            return 200, {"result": "duplicate", **where}
        store.upsert_installation(d.installation_id or 0, **d.installation)
        return 200, {"result": "recorded", **where}
    if d.kind == "review":
        assert d.number is not None
        accepted = store.accept_pull_request(
            delivery, d.event, d.action, d.repo, d.number, d.installation_id, d.head_sha
        )
        if accepted.duplicate:
            return 200, {"result": "duplicate", **where}
        if accepted.result != "queued":
            return 200, {"result": accepted.result, "review_id": accepted.review_id, **where}
        assert accepted.review_id is not None
        try:
            rt.review_task(accepted.review_id)
        except Exception as exc:
            # The review is durable in the store; the sweeper re-queues reviews left `queued` for too long.
            log.error("queue unavailable (%s); review %s stays queued in the store for the sweeper",
                      type(exc).__name__, accepted.review_id)
        return 202, {"result": "queued", "review_id": accepted.review_id, **where}
    if d.kind == "rerun":
        assert d.number is not None
        if not store.record_delivery(delivery, d.event, d.action, "queued", repo=d.repo, number=d.number,
                                     installation_id=d.installation_id):
            return 200, {"result": "duplicate", **where}
        review_id = store.request_review(d.repo, d.number, d.installation_id, trigger="rerun", full=False,
                                         requested_by=d.login[:100] or None, delivery_id=delivery, head_sha=d.head_sha)
        store.set_delivery_result(delivery, "queued", review_id)
        try:
            rt.review_task(review_id)
        except Exception as exc:
            log.error("queue unavailable (%s); review %s stays queued in the store for the sweeper",
                      type(exc).__name__, review_id)
        return 202, {"result": "queued", "review_id": review_id, **where}
    if d.kind == "command":
        assert d.command is not None
        if not store.record_delivery(delivery, d.event, d.action, "queued", repo=d.repo, number=d.number,
                                     installation_id=d.installation_id):
            return 200, {"result": "duplicate", **where}
        try:
            rt.command_task({
                "delivery": delivery, "repo": d.repo, "number": d.number, "installation_id": d.installation_id,
                "comment_id": d.comment_id, "login": d.login, "association": d.association,
                "pr_author": d.pr_author, "command": d.command.name, "arg": d.command.arg,
                "text": d.command.text, "in_reply_to": d.in_reply_to, "comment_url": d.comment_url,
                "review_comment": d.event == "pull_request_review_comment",
            })
        except Exception as exc:
            # A command lives only in the queue: forget the delivery so GitHub's redelivery can bring it back.
            log.error("queue unavailable (%s); command not queued", type(exc).__name__)
            store.forget_delivery(delivery)
            return 503, {"result": "queue-unavailable", **where}
        return 202, {"result": "queued", "command": d.command.name, **where}
    return 200, {"result": "ignored", **where}


def render_metrics(rt: Runtime) -> str:
    lines = COUNTERS.render()
    try:
        depth = rt.queue_depth()
        lines += metrics.gauge("dbreview_queue_depth", "Jobs waiting in the queue (pending + scheduled)",
                               [({}, depth)])
    except Exception:
        log.warning("queue depth unavailable", exc_info=True)
    try:
        stats = rt.store.stats()
    except Exception:
        log.warning("store stats unavailable", exc_info=True)
        return "\n".join(lines) + "\n"
    lines += metrics.gauge("dbreview_reviews", "Reviews in the store by status",
                           [({"status": k}, v) for k, v in sorted(stats["reviews_by_status"].items())])
    lines += metrics.gauge("dbreview_deliveries", "Deliveries in the store by result",
                           [({"result": k}, v) for k, v in sorted(stats["deliveries_by_result"].items())])
    lines += metrics.histogram("dbreview_review_latency_seconds",
                               "Time from request to finished review (last 10,000 done reviews)",
                               stats["review_latencies"])
    lines += metrics.gauge("dbreview_llm_tokens", "LLM tokens used by reviews",
                           [({"kind": "input"}, stats["llm_input_tokens"]),
                            ({"kind": "output"}, stats["llm_output_tokens"])])
    lines += metrics.gauge("dbreview_llm_cost_usd", "LLM cost of reviews in US dollars",
                           [({}, round(stats["llm_cost_usd"], 6))])
    try:
        lines += feedback_metrics(rt)
    except Exception:
        log.warning("feedback figures unavailable", exc_info=True)
    return "\n".join(lines) + "\n"


def feedback_metrics(rt: Runtime) -> list[str]:
    """Per repository and rule: what became of dbreview's inline comments, and the acceptance rate."""
    from bot.app.store.feedback import FeedbackStore

    stats = FeedbackStore(rt.store).rule_stats()
    comments, reactions, acceptance = [], [], []
    for (repo, rule), s in sorted(stats.items()):
        labels = {"repo": repo, "rule": rule}
        comments += [({**labels, "outcome": "posted"}, s.posted), ({**labels, "outcome": "fixed"}, s.fixed),
                     ({**labels, "outcome": "dismissed"}, s.dismissed)]
        reactions += [({**labels, "content": "+1"}, s.thumbs_up), ({**labels, "content": "-1"}, s.thumbs_down)]
        if s.acceptance is not None:
            acceptance.append((labels, round(s.acceptance, 4)))
    return [
        *metrics.gauge("dbreview_feedback_comments", "Inline comments by repository, rule and what became of them "
                       "(posted, fixed, dismissed)", comments),
        *metrics.gauge("dbreview_feedback_reactions", "Reactions on inline comments by repository, rule and content",
                       reactions),
        *metrics.gauge("dbreview_feedback_acceptance_ratio", "Fixed / (fixed + dismissed) inline comments by "
                       "repository and rule", acceptance),
    ]
