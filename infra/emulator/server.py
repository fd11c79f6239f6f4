"""The emulator process: moto's WSGI app behind our middleware, plus the scheduler.

The middleware answers the control API, injects faults, and runs every moto call
under the emulator lock, so the scheduler thread never sees moto's dicts mid-change.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wsgi import get_input_stream

from . import acm, control, ecr_cache, patches
from .faults import error_response, operation_of
from .front import HttpsFront
from .profiles import PROFILE_NAMES, Profile
from .scheduler import Scheduler
from .state import EmulatorState

log = logging.getLogger("infra.emulator")

StartResponse = Callable[..., Any]


def _read_body(environ: dict[str, Any]) -> bytes:
    """Read the request body and put it back, so moto can read it again."""
    raw = get_input_stream(environ).read()
    environ["wsgi.input"] = io.BytesIO(raw)
    environ["CONTENT_LENGTH"] = str(len(raw))
    environ["wsgi.input_terminated"] = False
    return bytes(raw)


class _QuietRequestHandler(MotoRequestHandler):
    """No access log line per request: the emulator logs what it does, not every call."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class EmulatorApp:
    """WSGI middleware in front of moto: control API, injected faults, one lock."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self.moto = DomainDispatcherApplication(create_backend_app)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_emulator/"):
            status, payload = control.handle(
                self.state, environ["REQUEST_METHOD"], path, _read_body(environ)
            )
            body = (json.dumps(payload, default=str) + "\n").encode()
            start_response(
                f"{status} {'OK' if status == 200 else 'Error'}",
                [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
            )
            return [body]
        if self.state.faults:
            raw = _read_body(environ)
            with self.state.lock:
                fault = self.state.faults.take(operation_of(environ, raw))
            if fault is not None:
                log.info("fault: %s answered with %s", fault.operation, fault.code)
                status_line, headers, body = error_response(fault, environ)
                start_response(status_line, headers)
                return [body]
        return self._moto(environ, start_response, path)

    def _moto(
        self, environ: dict[str, Any], start_response: StartResponse, path: str
    ) -> list[bytes]:
        captured: list[Any] = []
        chunks: list[bytes] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured[:] = [status, headers, exc_info]
            return chunks.append

        with self.state.lock:
            result = self.moto(environ, capture)
            try:
                chunks.extend(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
            if path.rstrip("/") == "/moto-api/reset" and environ["REQUEST_METHOD"] == "POST":
                patches.pin_task_states()  # a moto reset forgets the pin
                self.state.reset()
        start_response(*captured)
        return [b"".join(chunks)]


class EmulatorServer:
    """The emulator in this process: HTTP server thread plus scheduler thread.

    moto's backends are process-global, so run one per process.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        profile: str = "instant",
        time_scale: float = 1.0,
        *,
        https_port: int = 0,
        ca_file: str | None = None,
    ) -> None:
        self.state = EmulatorState(Profile(profile, time_scale))  # type: ignore[arg-type]
        self._host = host
        self._port = port
        # The meeting's https:// as browsers would reach it through the NLB.
        self.front = HttpsFront(self.state, host, https_port, ca_file)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._scheduler: Scheduler | None = None

    @property
    def url(self) -> str:
        """``http://host:port`` once started (the real port when 0 was asked)."""
        if self._server is None:
            raise RuntimeError("the emulator is not started")
        return f"http://{self._host}:{self._server.server_port}"

    def start(self) -> None:
        """Bind, serve and schedule in background threads; returns once listening."""
        patches.install(self.state)
        acm.install(self.state)
        ecr_cache.install()
        self._server = make_server(
            self._host,
            self._port,
            EmulatorApp(self.state),
            threaded=True,
            request_handler=_QuietRequestHandler,
        )
        # moto builds some URLs (queues, presigned S3) from MOTO_PORT.
        os.environ.setdefault("MOTO_PORT", str(self._server.server_port))
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="emulator-http", daemon=True
        )
        self._thread.start()
        self._scheduler = Scheduler(self.state)
        self._scheduler.start()
        self.front.start()
        self.state.https_front = {"address": self.front.address, "ca_file": self.front.ca_file}
        log.debug("emulator listening on %s", self.url)

    def stop(self) -> None:
        """Stop serving and scheduling; idempotent."""
        self.front.stop()
        if self._scheduler is not None:
            self._scheduler.stop()
            self._scheduler = None
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> EmulatorServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    """``python -m infra.emulator``: serve until SIGTERM/SIGINT; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m infra.emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--profile", choices=PROFILE_NAMES, default="instant")
    parser.add_argument("--time-scale", type=float, default=1.0)
    parser.add_argument(
        "--https-port", type=int, default=0, help="the HTTPS front's port (0: any free one)"
    )
    parser.add_argument("--ca-file", default=None, help="where to write the front's CA (PEM)")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s"
    )

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        server = EmulatorServer(
            args.host,
            args.port,
            args.profile,
            args.time_scale,
            https_port=args.https_port,
            ca_file=args.ca_file,
        )
        server.start()
    except (OSError, ValueError) as exc:
        print(f"emulator: cannot start: {exc}", file=sys.stderr)
        return 1
    print(
        f"emulator listening on {server.url} "
        f"(profile {args.profile}, time scale {args.time_scale:g})",
        flush=True,
    )
    print(f"HTTPS front on {server.front.address}, CA in {server.front.ca_file}", flush=True)
    while not stop.wait(0.5):
        pass
    server.stop()
    log.info("emulator stopped")
    return 0
