"""A fake Anthropic Messages API on a loopback port, for tests and benchmarks that use the real SDK over HTTP.

Routes: POST /v1/messages, POST /v1/messages/count_tokens, GET /v1/models/{model_id}. Requests are validated the way
the API documents it (required fields, message and content-block shapes, system text blocks, `cache_control` with at
most 4 breakpoints, tool names and input schemas, `tool_choice` naming a declared tool, the context window), with
the API's error envelope. Answers are scripted per test:

    fake = FakeAnthropic().start()
    fake.reply(lambda body: {"assessment": "...", "findings": [...]})   # tool input for every call
    fake.push(Failure(529), Failure(529), ToolInput({...}), Text("no tool"))  # one-off answers, in order
    fake.outage = Failure(429, retry_after=0.01)                           # every call fails until cleared
    fake.reply(realistic_answer)          # an answer of realistic size for the hunks in each request
    fake.latency = 0.5                    # every answer takes this long (deadline tests)

An answer longer than the request's `max_tokens` is cut as the API cuts it: `stop_reason: "max_tokens"` and a tool
input holding only what was complete (the leading findings, or nothing).

Token counts are a documented estimate, not a tokenizer: ceil(characters / 3.5) per text (system block, message
text, tool definition as compact JSON), plus 313 tokens of tool-use system prompt when `tool_choice` forces a tool
(346 otherwise, as the API documents for Claude 4 models) and 3 tokens per message. Prompt caching is modelled on
exact prefixes: each `cache_control` breakpoint caches the request up to that block when the prefix has at least
`min_cache_tokens` tokens; a later request with the same prefix reads it (`cache_read_input_tokens`), the rest of a
newly cached prefix is written (`cache_creation_input_tokens`), and `input_tokens` is what remains.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

CHARS_PER_TOKEN = 3.5
FORCED_TOOL_OVERHEAD = 313
AUTO_TOOL_OVERHEAD = 346
PER_MESSAGE_OVERHEAD = 3
MAX_CACHE_BREAKPOINTS = 4
DEFAULT_CONTEXT = 200_000
DEFAULT_MAX_OUTPUT = 64_000
# From this API version on, the Messages API refuses the sampling parameters (temperature, top_p, top_k) outright.
SAMPLING_REMOVED_IN = "2026-10-21"
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")

_MESSAGES_KEYS = {
    "model", "max_tokens", "messages", "system", "tools", "tool_choice", "metadata", "stop_sequences", "stream",
    "temperature", "top_k", "top_p", "thinking", "cache_control", "service_tier", "output_config", "container",
    "inference_geo", "speed", "diagnostics",
}
_COUNT_KEYS = {"model", "messages", "system", "tools", "tool_choice", "thinking", "cache_control", "output_config",
               "speed"}
_BLOCK_TYPES = {"text", "image", "document", "tool_use", "tool_result", "thinking", "redacted_thinking",
                "search_result"}


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN) if text else 0


class ApiError(Exception):
    def __init__(self, status: int, kind: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.kind, self.message, self.headers = status, kind, message, headers or {}


@dataclass
class Failure:
    """An error answer: 429 rate_limit_error, 529 overloaded_error, 500 api_error, ..."""

    status: int
    retry_after: float | None = 0.01
    message: str = ""

    def error(self) -> ApiError:
        kind = {400: "invalid_request_error", 401: "authentication_error", 404: "not_found_error",
                429: "rate_limit_error", 500: "api_error", 529: "overloaded_error"}.get(self.status, "api_error")
        headers: dict[str, str] = {}
        if self.retry_after is not None:
            # retry-after in whole seconds as the API sends it; retry-after-ms (which the SDK prefers) keeps tests fast
            headers["retry-after"] = str(max(1, math.ceil(self.retry_after)))
            headers["retry-after-ms"] = str(int(self.retry_after * 1000))
        return ApiError(self.status, kind, self.message or f"{kind} (fake)", headers)


@dataclass
class ToolInput:
    """A tool_use answer whose `input` is given verbatim (it may be malformed on purpose)."""

    input: Any
    name: str | None = None  # default: the tool named by tool_choice (or the first tool)


@dataclass
class Text:
    """A text-only answer (the model ignored the tool)."""

    text: str
    stop_reason: str = "end_turn"


Step = Failure | ToolInput | Text | Callable[[dict[str, Any]], "Failure | ToolInput | Text"]


@dataclass
class Recorded:
    route: str
    headers: dict[str, str]
    body: Any


@dataclass
class FakeAnthropic:
    context_windows: dict[str, int] = field(default_factory=dict)
    min_cache_tokens: int = 1024
    requests: list[Recorded] = field(default_factory=list)
    outage: Failure | None = None
    # One-off answers consumed in order by POST /v1/messages; count_tokens has its own queue.
    script: deque[Step] = field(default_factory=deque)
    count_script: deque[Failure] = field(default_factory=deque)
    responder: Callable[[dict[str, Any]], Any] | None = None
    cache: dict[str, int] = field(default_factory=dict)
    # Models that think on every turn: the API refuses a forced tool choice for them.
    always_thinking: set[str] = field(default_factory=set)
    latency: float = 0.0  # seconds every POST waits before answering

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""
        self.app = self._build_app()

    # -- scripting -------------------------------------------------------------------------------------------------

    def reply(self, responder: Callable[[dict[str, Any]], Any]) -> None:
        """Answer every call with `responder(request_body)`: a tool input dict, or a Step."""
        self.responder = responder

    def push(self, *steps: Step) -> None:
        self.script.extend(steps)

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.script.clear()
            self.count_script.clear()
            self.cache.clear()
            self.outage = None
            self.latency = 0.0
            self.responder = None
            self.context_windows.clear()
            self.always_thinking.clear()

    def calls(self, route: str = "/v1/messages") -> list[Recorded]:
        return [r for r in self.requests if r.route == route]

    # -- lifecycle -------------------------------------------------------------------------------------------------

    def start(self) -> FakeAnthropic:
        config = uvicorn.Config(self.app, host="127.0.0.1", port=0, log_level="error", access_log=False,
                                lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake Anthropic server did not start")
            time.sleep(0.01)
        port = self._server.servers[0].sockets[0].getsockname()[1]
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)

    # -- the API ---------------------------------------------------------------------------------------------------

    def _build_app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/messages")
        async def messages(request: Request) -> JSONResponse:
            return await self._handle(request, "/v1/messages", self._messages)

        @app.post("/v1/messages/count_tokens")
        async def count_tokens(request: Request) -> JSONResponse:
            return await self._handle(request, "/v1/messages/count_tokens", self._count_tokens)

        @app.get("/v1/models/{model_id}")
        async def model_info(model_id: str, request: Request) -> JSONResponse:
            return await self._handle(request, f"/v1/models/{model_id}", lambda _body: self._model_info(model_id),
                                      has_body=False)

        return app

    async def _handle(self, request: Request, route: str, handler: Callable[[Any], dict[str, Any]],
                      has_body: bool = True) -> JSONResponse:
        request_id = f"req_{uuid.uuid4().hex[:24]}"
        headers = {k.lower(): v for k, v in request.headers.items()}
        body: Any = None
        try:
            if has_body:
                raw = await request.body()
                try:
                    body = json.loads(raw or b"null")
                except json.JSONDecodeError:
                    raise ApiError(400, "invalid_request_error", "request body is not valid JSON") from None
            with self._lock:
                self.requests.append(Recorded(route, headers, body))
            if has_body and self.latency:
                await asyncio.sleep(self.latency)
            if not headers.get("x-api-key") and not headers.get("authorization"):
                raise ApiError(401, "authentication_error", "x-api-key header is required")
            if not headers.get("anthropic-version"):
                raise ApiError(400, "invalid_request_error", "anthropic-version: header is required")
            if self.outage is not None:
                raise self.outage.error()
            if route == "/v1/messages" and headers.get("anthropic-version", "") >= SAMPLING_REMOVED_IN \
                    and isinstance(body, dict):
                for key in ("temperature", "top_p", "top_k"):
                    if key in body:
                        raise ApiError(400, "invalid_request_error", f"{key}: Extra inputs are not permitted")
            payload = handler(body)
        except ApiError as err:
            return JSONResponse(
                {"type": "error", "error": {"type": err.kind, "message": err.message}, "request_id": request_id},
                status_code=err.status, headers={"request-id": request_id, **err.headers})
        return JSONResponse(payload, headers={"request-id": request_id})

    def _window(self, model: str) -> int:
        return self.context_windows.get(model, DEFAULT_CONTEXT)

    def _model_info(self, model: str) -> dict[str, Any]:
        _check_model(model)
        return {"type": "model", "id": model, "display_name": model, "created_at": "2025-09-29T00:00:00Z",
                "lifecycle": "active", "max_input_tokens": self._window(model), "max_tokens": DEFAULT_MAX_OUTPUT}

    def _count_tokens(self, body: Any) -> dict[str, Any]:
        if self.count_script:
            raise self.count_script.popleft().error()
        _validate(body, _COUNT_KEYS, needs_max_tokens=False)
        self._check_thinking(body)
        total, _ = _segments(body)
        return {"input_tokens": total}

    def _messages(self, body: Any) -> dict[str, Any]:
        _validate(body, _MESSAGES_KEYS, needs_max_tokens=True)
        self._check_thinking(body)
        step: Any = self.script.popleft() if self.script else None
        total, segments = _segments(body)
        if total > self._window(body["model"]):
            raise ApiError(400, "invalid_request_error",
                           f"prompt is too long: {total} tokens > {self._window(body['model'])} maximum")
        if step is None:
            step = self.responder(body) if self.responder is not None else _default_answer(body)
        if callable(step):
            step = step(body)
        if isinstance(step, dict):
            step = ToolInput(step)
        if isinstance(step, Failure):
            raise step.error()
        read, write = self._cache_usage(segments)
        if isinstance(step, Text):
            content: list[dict[str, Any]] = [{"type": "text", "text": step.text}]
            stop_reason = step.stop_reason
            output = estimate_tokens(step.text)
        else:
            name = step.name or _forced_tool(body) or (body.get("tools") or [{}])[0].get("name", "tool")
            tool_input, output = step.input, estimate_tokens(json.dumps(step.input)) + 10
            stop_reason = "tool_use"
            if output > int(body["max_tokens"]):
                # The answer does not fit max_tokens: the API stops mid tool call, and the input holds what was
                # complete by then (here: the findings that fit, or nothing).
                tool_input, stop_reason = _cut(step.input, int(body["max_tokens"])), "max_tokens"
            content = [{"type": "tool_use", "id": f"toolu_{uuid.uuid4().hex[:24]}", "name": name,
                        "input": tool_input}]
        return {
            "id": f"msg_{uuid.uuid4().hex[:24]}",
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": {
                "input_tokens": total - read - write,
                "output_tokens": min(output, int(body["max_tokens"])),
                "cache_creation_input_tokens": write,
                "cache_read_input_tokens": read,
            },
        }

    def _check_thinking(self, body: dict[str, Any]) -> None:
        choice = body.get("tool_choice")
        if body["model"] in self.always_thinking and isinstance(choice, dict) and choice.get("type") in ("any", "tool"):
            raise _invalid("tool_choice: forcing tool use is not supported with thinking; use tool_choice "
                           "{\"type\": \"auto\"}")

    def _cache_usage(self, segments: list[tuple[str, int, bool]]) -> tuple[int, int]:
        """(read, write) for a request given its segments (prefix hash, tokens so far, is a breakpoint)."""
        breakpoints = [(key, tokens) for key, tokens, is_bp in segments if is_bp]
        read = 0
        with self._lock:
            for key, tokens in breakpoints:
                if key in self.cache:
                    read = max(read, tokens)
            write = 0
            for key, tokens in breakpoints:
                if tokens >= self.min_cache_tokens and key not in self.cache:
                    self.cache[key] = tokens
                    write = max(write, tokens - read)
        return read, write


def _cut(value: Any, max_tokens: int) -> Any:
    """What a tool input cut at `max_tokens` still holds: the leading complete findings, or an empty object."""
    if not isinstance(value, dict) or not isinstance(value.get("findings"), list):
        return {}
    kept: dict[str, Any] = {k: v for k, v in value.items() if k != "findings"}
    if estimate_tokens(json.dumps(kept)) + 10 > max_tokens:
        return {}
    findings: list[Any] = []
    for item in value["findings"]:
        if estimate_tokens(json.dumps({**kept, "findings": [*findings, item]})) + 10 > max_tokens:
            break
        findings.append(item)
    return {**kept, "findings": findings} if findings else kept


_HUNK = re.compile(r"^### (\S+) \((schema|migration|query)[^)]*\) hunk \d+", re.M)
_ADDED = re.compile(r"^\s*(\d+) \+ (.*)$")
_BODY_WORDS = (
    "This write and the status change that follows it are separate statements, so a failure or a retry between "
    "them leaves the two tables disagreeing; under READ COMMITTED a concurrent run can read the same rows before "
    "either commits. Wrap both in one `prisma.$transaction`, claim the rows first with a conditional `updateMany` "
    "on the old status, and add a unique key so a second run becomes a no-op. On a table of this size, batch the "
    "backfill in chunks of a few thousand rows and verify the count before the old column is dropped."
)


def realistic_answer(body: dict[str, Any]) -> dict[str, Any]:
    """A tool input shaped like a real review of the hunks in the request: about one finding per substantial hunk
    (title ~70 characters, body ~550), an assessment of three sentences. Deterministic: the same request gets the
    same answer, so recorded conversations replay."""
    message = body["messages"][0]["content"]
    if isinstance(message, list):
        message = "\n".join(b.get("text", "") for b in message if isinstance(b, dict))
    findings: list[dict[str, Any]] = []
    heads = list(_HUNK.finditer(message))
    categories = {"schema": "schema-design", "migration": "migration-safety", "query": "transactions"}
    for i, head in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(message)
        added = [m for m in (_ADDED.match(ln) for ln in message[head.end():end].splitlines()) if m]
        substantial = [m for m in added if len(m.group(2).strip()) > 12]
        if len(substantial) < 3 or len(findings) >= 8:
            continue
        pick = substantial[int(hashlib.sha256(head.group(0).encode()).hexdigest(), 16) % len(substantial)]
        subject = " ".join(pick.group(2).split())[:40]
        findings.append({
            "path": head.group(1), "line": int(pick.group(1)), "severity": "warning",
            "category": categories[head.group(2)],
            "title": f"`{subject}` is not safe under concurrent or repeated runs",
            "body": _BODY_WORDS[:540], "confidence": 0.8,
        })
    assessment = ("The change adds a write path whose steps are not atomic and a migration that locks busy tables. "
                  f"{len(findings)} remarks below cover what the rule findings do not: transaction boundaries, "
                  "repeated runs and the deploy order of code and schema. Nothing else stood out.")
    return {"assessment": assessment, "findings": findings}


def _default_answer(body: dict[str, Any]) -> ToolInput:
    return ToolInput({"assessment": "No database risk found in these hunks.", "findings": []})


def _forced_tool(body: dict[str, Any]) -> str | None:
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") == "tool":
        return choice.get("name")
    return None


def _invalid(message: str) -> ApiError:
    return ApiError(400, "invalid_request_error", message)


def _check_model(model: Any) -> None:
    if not isinstance(model, str) or not model:
        raise _invalid("model: Field required")
    if not model.startswith("claude-"):
        raise ApiError(404, "not_found_error", f"model: {model}")


def _check_cache_control(value: Any, where: str) -> int:
    if value is None:
        return 0
    if not isinstance(value, dict) or value.get("type") != "ephemeral":
        raise _invalid(f"{where}.cache_control.type: Input should be 'ephemeral'")
    extra = set(value) - {"type", "ttl"}
    if extra:
        raise _invalid(f"{where}.cache_control.{sorted(extra)[0]}: Extra inputs are not permitted")
    if "ttl" in value and value["ttl"] not in ("5m", "1h"):
        raise _invalid(f"{where}.cache_control.ttl: Input should be '5m' or '1h'")
    return 1


def _check_text_block(block: Any, where: str) -> int:
    if not isinstance(block, dict) or block.get("type") != "text":
        raise _invalid(f"{where}.type: Input should be 'text'")
    if not isinstance(block.get("text"), str) or not block["text"]:
        raise _invalid(f"{where}: text content blocks must be non-empty")
    extra = set(block) - {"type", "text", "cache_control", "citations"}
    if extra:
        raise _invalid(f"{where}.{sorted(extra)[0]}: Extra inputs are not permitted")
    return _check_cache_control(block.get("cache_control"), where)


def _validate(body: Any, allowed: set[str], *, needs_max_tokens: bool) -> None:
    if not isinstance(body, dict):
        raise _invalid("request body must be a JSON object")
    for key in body:
        if key not in allowed:
            raise _invalid(f"{key}: Extra inputs are not permitted")
    _check_model(body.get("model"))
    if needs_max_tokens:
        max_tokens = body.get("max_tokens")
        if not isinstance(max_tokens, int) or isinstance(max_tokens, bool):
            raise _invalid("max_tokens: Field required")
        if max_tokens < 1:
            raise _invalid("max_tokens: Input should be greater than or equal to 1")
        if max_tokens > DEFAULT_MAX_OUTPUT:
            raise _invalid(f"max_tokens: {max_tokens} > {DEFAULT_MAX_OUTPUT}, which is the maximum allowed number "
                           f"of output tokens for {body['model']}")
    breakpoints = _check_cache_control(body.get("cache_control"), "cache_control")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _invalid("messages: at least one message is required")
    for i, message in enumerate(messages):
        where = f"messages.{i}"
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            raise _invalid(f"{where}.role: Input should be 'user' or 'assistant'")
        content = message.get("content")
        if isinstance(content, str):
            if not content:
                raise _invalid(f"{where}: text content blocks must be non-empty")
        elif isinstance(content, list) and content:
            for j, block in enumerate(content):
                if not isinstance(block, dict) or block.get("type") not in _BLOCK_TYPES:
                    raise _invalid(f"{where}.content.{j}.type: unknown content block type")
                if block["type"] == "text":
                    breakpoints += _check_text_block(block, f"{where}.content.{j}")
                else:
                    breakpoints += _check_cache_control(block.get("cache_control"), f"{where}.content.{j}")
        else:
            raise _invalid(f"{where}.content: Input should be a valid string or a non-empty list of content blocks")
    system = body.get("system")
    if system is not None:
        if isinstance(system, list):
            for j, block in enumerate(system):
                breakpoints += _check_text_block(block, f"system.{j}")
        elif not isinstance(system, str):
            raise _invalid("system: Input should be a valid string or a list of text blocks")
    tools = body.get("tools")
    names: list[str] = []
    if tools is not None:
        if not isinstance(tools, list):
            raise _invalid("tools: Input should be a valid list")
        for j, tool in enumerate(tools):
            if not isinstance(tool, dict):
                raise _invalid(f"tools.{j}: Input should be an object")
            name = tool.get("name")
            if not isinstance(name, str) or not _TOOL_NAME.match(name):
                raise _invalid(f"tools.{j}.name: String should match pattern '^[a-zA-Z0-9_-]{{1,128}}$'")
            schema = tool.get("input_schema")
            if not isinstance(schema, dict) or schema.get("type") != "object":
                raise _invalid(f"tools.{j}.custom.input_schema.type: Input should be 'object'")
            if "description" in tool and not isinstance(tool["description"], str):
                raise _invalid(f"tools.{j}.description: Input should be a valid string")
            breakpoints += _check_cache_control(tool.get("cache_control"), f"tools.{j}")
            names.append(name)
        if len(set(names)) != len(names):
            raise _invalid("tools: Tool names must be unique.")
    choice = body.get("tool_choice")
    if choice is not None:
        if not isinstance(choice, dict) or choice.get("type") not in ("auto", "any", "tool", "none"):
            raise _invalid("tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'")
        if not names and choice["type"] != "none":
            raise _invalid("tool_choice: tool_choice may only be specified while providing tools")
        if choice["type"] == "tool" and choice.get("name") not in names:
            raise _invalid(f"tool_choice.name: Tool '{choice.get('name')}' not found in tools")
        if choice["type"] in ("any", "tool") and isinstance(body.get("thinking"), dict) and \
                body["thinking"].get("type") == "enabled":
            raise _invalid("Thinking may not be enabled when tool_choice forces tool use.")
    if breakpoints > MAX_CACHE_BREAKPOINTS:
        raise _invalid(f"A maximum of {MAX_CACHE_BREAKPOINTS} blocks with cache_control may be provided. "
                       f"Found {breakpoints}.")


def _segments(body: dict[str, Any]) -> tuple[int, list[tuple[str, int, bool]]]:
    """Total tokens, and per cacheable block: (hash of the prefix up to it, tokens up to it, has cache_control).

    The cache prefix order is the API's: tools, then system, then messages.
    """
    digest = hashlib.sha256(str(body.get("model")).encode())
    tokens = 0
    segments: list[tuple[str, int, bool]] = []

    def add(obj: Any, text_tokens: int, breakpoint: bool) -> None:
        nonlocal tokens
        canonical = dict(obj) if isinstance(obj, dict) else obj
        if isinstance(canonical, dict):
            canonical.pop("cache_control", None)
        digest.update(json.dumps(canonical, sort_keys=True, separators=(",", ":")).encode())
        tokens += text_tokens
        segments.append((digest.copy().hexdigest(), tokens, breakpoint))

    tools = body.get("tools") or []
    if tools:
        forced = isinstance(body.get("tool_choice"), dict) and body["tool_choice"].get("type") in ("any", "tool")
        tokens += FORCED_TOOL_OVERHEAD if forced else AUTO_TOOL_OVERHEAD
    for tool in tools:
        shown = {k: v for k, v in tool.items() if k != "cache_control"}
        add(tool, estimate_tokens(json.dumps(shown, separators=(",", ":"))), "cache_control" in tool)
    system = body.get("system")
    if isinstance(system, str):
        add({"system": system}, estimate_tokens(system), False)
    elif isinstance(system, list):
        for block in system:
            add(block, estimate_tokens(block.get("text", "")), "cache_control" in block)
    for message in body.get("messages", []):
        tokens += PER_MESSAGE_OVERHEAD
        content = message.get("content")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        for block in blocks:
            text = block.get("text") if block.get("type") == "text" else json.dumps(block, sort_keys=True)
            add({"role": message.get("role"), **block}, estimate_tokens(text or ""), "cache_control" in block)
    return tokens, segments
