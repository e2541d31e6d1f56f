"""A node's small HTTP API: blobs by content hash, health, Prometheus metrics.

Other nodes and clients fetch inputs, outputs and updates here by the sha256 the chain
names, and push blobs they want a node to hold. Everything a caller sends is untrusted:
the hash in the path is validated before it touches the disk, uploads are streamed and cut
off at the store's size limit, and content must hash to its name. Every bad request is
answered 4xx with `{"detail": "<cause>"}`, never 5xx.

`serve_in_thread` runs the app under uvicorn on a background thread (tests, the
in-process demo); a node process runs the same app.
"""
from __future__ import annotations

import math
import re
import socket
import threading
import time
from typing import Callable

import uvicorn
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from brainnet.errors import BadBlobHash, BrainnetError, BlobError, BlobHashMismatch, BlobNotFound, BlobTooLarge
from brainnet.node.blobs import BlobStore, check_sha

_DIGITS = re.compile(r"[0-9]{1,20}")
_STATUS = {BadBlobHash: 400, BlobHashMismatch: 400, BlobNotFound: 404, BlobTooLarge: 413}


def _error(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)


def _blob_status(exc: BlobError) -> int:
    for cls, status in _STATUS.items():
        if isinstance(exc, cls):
            return status
    return 400


def create_app(store: BlobStore, health: Callable[[], dict] | None = None) -> FastAPI:
    """The node API over `store`; `health()` supplies the node's own status (JSON-able dict)."""
    app = FastAPI(title="brainnet node", docs_url=None, redoc_url=None, openapi_url=None)
    health = health or (lambda: {})
    counters = {"get": 0, "put": 0, "error": 0}
    lock = threading.Lock()

    def count(name: str) -> None:
        with lock:
            counters[name] += 1

    @app.exception_handler(BlobError)
    async def _on_blob_error(request: Request, exc: BlobError) -> JSONResponse:
        count("error")
        return _error(_blob_status(exc), str(exc))

    @app.exception_handler(RequestValidationError)
    async def _on_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = [f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', 'invalid')}" for e in exc.errors()]
        return _error(422, "invalid request: " + "; ".join(parts))

    @app.get("/blobs/{sha256}")
    def get_blob(sha256: str) -> Response:
        data = store.get(check_sha(sha256))
        count("get")
        return Response(data, media_type="application/octet-stream",
                        headers={"ETag": f'"{sha256}"', "Cache-Control": "public, max-age=31536000, immutable"})

    @app.put("/blobs/{sha256}")
    async def put_blob(sha256: str, request: Request) -> JSONResponse:
        check_sha(sha256)
        declared = request.headers.get("content-length")
        if declared is not None:
            if not _DIGITS.fullmatch(declared):
                count("error")
                return _error(400, f"bad Content-Length header {declared[:40]!r}")
            if int(declared) > store.max_bytes:          # refuse before reading a byte
                count("error")
                return _error(413, f"blob is {declared} bytes; this node accepts at most {store.max_bytes}")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > store.max_bytes:               # chunked upload: stop at the limit
                count("error")
                return _error(413, f"blob is larger than {store.max_bytes} bytes, the most this node accepts")
        created = await run_in_threadpool(store.put_new, sha256, bytes(body))   # disk I/O off the loop
        count("put")
        return JSONResponse({"sha256": sha256, "size": len(body)}, status_code=201 if created else 200)

    @app.get("/health")
    def get_health() -> JSONResponse:
        try:
            report = jsonable_encoder(dict(health()))
        except Exception as exc:  # noqa: BLE001 - a failing probe is reported, not raised
            return _error(503, f"health check failed: {type(exc).__name__}: {exc}")
        return JSONResponse(report)

    @app.get("/metrics")
    def get_metrics() -> PlainTextResponse:
        blobs, size = store.stats()
        lines = [
            "# HELP brainnet_blobs_stored Blobs held in this node's store.",
            "# TYPE brainnet_blobs_stored gauge",
            f"brainnet_blobs_stored {blobs}",
            "# HELP brainnet_blob_bytes Bytes held in this node's store.",
            "# TYPE brainnet_blob_bytes gauge",
            f"brainnet_blob_bytes {size}",
            "# HELP brainnet_blob_requests_total Blob requests served, by outcome.",
            "# TYPE brainnet_blob_requests_total counter",
        ]
        with lock:
            snapshot = dict(counters)
        lines += [f'brainnet_blob_requests_total{{outcome="{k}"}} {v}' for k, v in sorted(snapshot.items())]
        try:
            report, up = dict(health()), 1
        except Exception:  # noqa: BLE001 - reported as brainnet_health_up 0
            report, up = {}, 0
        lines += ["# HELP brainnet_health_up 1 when the node's health probe answers.",
                  "# TYPE brainnet_health_up gauge", f"brainnet_health_up {up}"]
        for name, value in sorted(_numeric(report).items()):
            lines += [f"# TYPE {name} gauge", f"{name} {value}"]
        return PlainTextResponse("\n".join(lines) + "\n", media_type="text/plain; version=0.0.4")

    return app


def _numeric(report: dict, prefix: str = "brainnet_node") -> dict[str, str]:
    """Flatten the numeric leaves of a health dict into Prometheus names and values."""
    out: dict[str, str] = {}
    for key, value in report.items():
        name = f"{prefix}_{re.sub(r'[^a-zA-Z0-9_]', '_', str(key))}"
        if isinstance(value, dict):
            out.update(_numeric(value, name))
        elif isinstance(value, bool):
            out[name] = "1" if value else "0"
        elif isinstance(value, int):
            out[name] = str(value)
        elif isinstance(value, float):
            out[name] = "NaN" if math.isnan(value) else ("+Inf" if value > 0 else "-Inf") if math.isinf(value) else repr(value)
    return out


class ThreadedServer:
    """uvicorn serving an app from a daemon thread; `stop()` shuts it down cleanly."""

    def __init__(self, app: FastAPI, host: str = "127.0.0.1", port: int = 0):
        self.host = host
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.port: int = self._sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False, ws="none")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self._sock]},
                                       name=f"brainnet-api-{self.port}", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> "ThreadedServer":
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise BrainnetError(f"the node API did not start on {self.url}; is the port free?")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self.server.should_exit = True
        if self.thread.is_alive():
            self.thread.join(timeout)
        self._sock.close()

    def __enter__(self) -> "ThreadedServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_in_thread(app: FastAPI, host: str = "127.0.0.1", port: int = 0) -> tuple[ThreadedServer, int]:
    """Start `app` on a background thread, bound to `host:port` (0 = a free port).

    Returns (server, bound port); call `server.stop()` when done.
    """
    server = ThreadedServer(app, host, port).start()
    return server, server.port
