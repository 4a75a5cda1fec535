"""Webhook load test for the GitHub App, on loopback only, bounded in count and time.

Starts the real App (uvicorn, one process, consumer threads inside) with a no-op review job, sends N signed
`pull_request` deliveries at a fixed rate (open loop: each request leaves at its scheduled time, whatever the
previous ones are doing), a share of them redeliveries of earlier ids, and reports:

    ack latency p50 / p99 / max, deliveries/s actually sent, reviews completed, lost and duplicated.

    python bench/webhook_load.py                                   # SQLite store + SQLite queue, 2,000 at 200/s
    python bench/webhook_load.py --queue redis://127.0.0.1:6379/0  # SQLite store + Redis queue
    python bench/webhook_load.py --rate 0                          # as fast as 32 connections go (max rate)

"Lost" = a new delivery whose review never ran; "duplicated" = a review that ran more than once, or a redelivery
that started a second review. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SECRET = "bench-secret-not-used-anywhere-else"


# -- server side (a subprocess of this script) ---------------------------------------------------------------


def serve(port: int, workers: int) -> int:
    from bot.app.jobs import ReviewOutcome, ReviewRequest
    from bot.app.logs import configure_logging
    from bot.app.runtime import Runtime
    from bot.app.settings import load_settings
    from bot.app.web import create_app

    settings = load_settings()
    configure_logging("WARNING", settings.secrets())
    ran = Path(os.environ["DBREVIEW_DATA_DIR"]) / "ran.txt"
    lock = threading.Lock()

    def no_op_review(request: ReviewRequest) -> ReviewOutcome:
        with lock, ran.open("a") as fh:
            fh.write(f"{request.review_id}\n")
        return ReviewOutcome(head_sha=request.head_sha, findings_total=0, comments_posted=0)

    class NoGitHub:
        def react(self, *a: object) -> None: ...
        def reply(self, *a: object) -> None: ...
        def author_may_command(self, *a: object) -> bool:
            return False
        def report_failure(self, *a: object) -> None: ...

    import uvicorn

    runtime = Runtime(settings, review_fn=no_op_review, ops=NoGitHub())
    if port == 0:  # consumer process only (--split)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        runtime.start_workers(workers, embedded=True)
        while not stop.wait(0.5):
            pass
        runtime.close()
        return 0
    app = create_app(runtime, workers=workers)
    uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)).run()
    runtime.close()
    return 0


# -- load generator ------------------------------------------------------------------------------------------


def _payload(number: int) -> bytes:
    repo = "bench/shop"
    return json.dumps({
        "action": "opened", "number": number,
        "pull_request": {"number": number, "state": "open", "draft": False, "user": {"login": "alice"},
                         "head": {"sha": uuid.uuid4().hex + "00000000", "ref": "f"},
                         "base": {"sha": "b" * 40, "ref": "main"}},
        "repository": {"full_name": repo, "name": "shop", "owner": {"login": "bench"}},
        "installation": {"id": 1}, "sender": {"login": "alice", "type": "User"},
    }).encode()


class _Connection:
    """A bare keep-alive HTTP/1.1 connection: httpx's per-request CPU cost on this 2-core box would otherwise be
    the bottleneck and measure the client instead of the App."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        head = [f"POST {path} HTTP/1.1", f"Host: {self.host}:{self.port}", f"Content-Length: {len(body)}"]
        head += [f"{k}: {v}" for k, v in headers.items()]
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        await self.writer.drain()
        assert self.reader is not None
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        length = 0
        for line in lines[1:]:
            if line.lower().startswith("content-length:"):
                length = int(line.split(":", 1)[1])
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def _drive(port: int, count: int, rate: float, redeliver: float, seed: int, connections: int) -> dict:
    from bot.app.signature import sign

    rng = random.Random(seed)
    sent: list[tuple[str, bytes]] = []
    plan: list[tuple[str, bytes]] = []
    for i in range(count):
        if sent and rng.random() < redeliver:
            plan.append(rng.choice(sent))
        else:
            item = (str(uuid.uuid4()), _payload(i + 1))
            sent.append(item)
            plan.append(item)
    signed = [(d, b, sign(SECRET, b)) for d, b in plan]
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    results: dict[str, int] = {}
    pool: asyncio.Queue[_Connection] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(_Connection("127.0.0.1", port))

    async def one(scheduled: float, delivery: str, body: bytes, signature: str) -> None:
        conn = await pool.get()
        if rate <= 0:
            scheduled = time.perf_counter()  # closed loop (max rate): latency of the request itself
        try:
            status, data = await conn.post("/webhook", body, {
                "X-GitHub-Event": "pull_request", "X-GitHub-Delivery": delivery, "X-Hub-Signature-256": signature,
                "Content-Type": "application/json"})
        finally:
            pool.put_nowait(conn)
        # Measured from when the delivery was due, so time spent waiting for a free connection counts too.
        latencies.append(time.perf_counter() - scheduled)
        statuses[status] = statuses.get(status, 0) + 1
        result = json.loads(data).get("result", "?")
        results[result] = results.get(result, 0) + 1

    tasks = []
    start = time.perf_counter()
    for i, (delivery, body, signature) in enumerate(signed):
        due = start + i / rate if rate > 0 else time.perf_counter()
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(due, delivery, body, signature)))
        if rate <= 0 and len(tasks) % connections == 0:
            await asyncio.sleep(0)
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    while not pool.empty():
        pool.get_nowait().close()
    return {"latencies": latencies, "statuses": statuses, "results": results, "elapsed": elapsed,
            "unique": len(sent), "redeliveries": count - len(sent)}


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="dbreview-bench-") as tmp:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        queue_name = f"bench-{uuid.uuid4().hex[:8]}"
        env = {**os.environ, "DBREVIEW_WEBHOOK_SECRET": SECRET, "DBREVIEW_DATA_DIR": tmp,
               "DBREVIEW_QUEUE_URL": args.queue, "DBREVIEW_QUEUE_NAME": queue_name, "DBREVIEW_POLL_MAX_DELAY": "0.5"}
        if args.database_url:
            env["DATABASE_URL"] = args.database_url
        web_workers = 0 if args.split else args.workers
        server = subprocess.Popen([sys.executable, __file__, "--serve", "--port", str(port),
                                   "--workers", str(web_workers)], env=env, cwd=ROOT)
        consumer = None
        if args.split:
            consumer = subprocess.Popen([sys.executable, __file__, "--serve", "--port", "0",
                                         "--workers", str(args.workers)], env=env, cwd=ROOT)
        url = f"http://127.0.0.1:{port}"
        try:
            import httpx

            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    print("server did not start", file=sys.stderr)
                    return 1
                time.sleep(0.1)
            cpu_before = _cpu_seconds(server.pid)
            out = asyncio.run(_drive(port, args.count, args.rate, args.redeliver, args.seed, args.connections))
            server_cpu = _cpu_seconds(server.pid) - cpu_before
            # Reviews run behind the acks; wait (bounded) for the queue to drain.
            ran_path = Path(tmp) / "ran.txt"
            drain_start = time.perf_counter()
            ran: list[str] = []
            while time.perf_counter() - drain_start < args.drain_timeout:
                ran = ran_path.read_text().split() if ran_path.exists() else []
                if len(ran) >= out["unique"]:
                    break
                time.sleep(0.2)
            time.sleep(0.5)  # catch any late duplicate
            ran = ran_path.read_text().split() if ran_path.exists() else []
            drained = time.perf_counter() - drain_start
        finally:
            if consumer is not None:
                consumer.send_signal(signal.SIGTERM)
                consumer.wait(timeout=20)
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
            if args.queue.startswith("redis"):
                import redis

                client = redis.Redis.from_url(args.queue)
                keys = list(client.scan_iter(match=f"*{queue_name.replace('-', '')}*"))
                if keys:
                    client.delete(*keys)
    lat_ms = [v * 1000 for v in out["latencies"]]
    distinct = set(ran)
    lost = out["unique"] - len(distinct)
    duplicated = len(ran) - len(distinct)
    accepted = out["results"].get("queued", 0)
    backend = args.queue.split("://")[0] if args.queue else "sqlite"
    print(f"webhook load: {args.count} deliveries ({out['unique']} new, {out['redeliveries']} redeliveries) "
          f"at target {args.rate or 'max'}/s; store {'postgresql' if args.database_url else 'sqlite'}, "
          f"queue {backend}, {args.workers} worker threads")
    print(f"  sent in {out['elapsed']:.2f} s = {args.count / out['elapsed']:.0f} deliveries/s; App CPU "
          f"{server_cpu / args.count * 1000:.1f} ms per delivery (web + queue + reviews, while sending)")
    print(f"  ack latency ms: p50 {_pct(lat_ms, 50):.1f}  p99 {_pct(lat_ms, 99):.1f}  max {max(lat_ms):.1f}  "
          f"mean {statistics.mean(lat_ms):.1f}")
    print(f"  statuses {dict(sorted(out['statuses'].items()))}  results {dict(sorted(out['results'].items()))}")
    print(f"  reviews completed {len(distinct)} of {out['unique']} (queue drained {drained:.1f} s after the last ack)"
          f"; lost {lost}, duplicated {duplicated}, redeliveries that queued work "
          f"{max(0, accepted - out['unique'])}")
    ok = lost == 0 and duplicated == 0 and accepted == out["unique"] and out["statuses"].get(202) == out["unique"]
    print("  OK: none lost, none duplicated" if ok else "  FAILED: lost or duplicated work")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=200.0, help="deliveries per second (0 = as fast as possible)")
    parser.add_argument("--redeliver", type=float, default=0.05, help="share of deliveries that are redeliveries")
    parser.add_argument("--queue", default="", help="DBREVIEW_QUEUE_URL (default: SQLite in the data dir)")
    parser.add_argument("--database-url", default="", help="DATABASE_URL (default: SQLite in the data dir)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32, help="keep-alive connections of the load client")
    parser.add_argument("--split", action="store_true",
                        help="web process with --workers 0 plus a separate consumer process (dbreview worker)")
    parser.add_argument("--drain-timeout", type=float, default=120.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.count > 20_000:
        parser.error("--count is capped at 20,000 (a bounded load test)")
    if args.serve:
        return serve(args.port, args.workers)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
