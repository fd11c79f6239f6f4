"""A local Price List endpoint serving recorded ``GetProducts`` answers.

It speaks the API's wire protocol (JSON 1.1, ``X-Amz-Target:
AWSPriceListService.GetProducts``) so the real boto3 ``pricing`` client talks to it:
moto has no Price List service, and boto3 itself is never patched. It applies the
request's TERM_MATCH filters to the recorded documents (``products.json``) the way the
API does (attribute equals value) and pages them ``PAGE_SIZE`` at a time, so paginators
are exercised.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

RECORDED = Path(__file__).resolve().parent / "products.json"
PAGE_SIZE = 2


def matches(doc: dict[str, Any], service: str, filters: list[dict[str, str]]) -> bool:
    if doc["serviceCode"] != service:
        return False
    attrs = {**doc["product"]["attributes"], "productFamily": doc["product"]["productFamily"]}
    return all(attrs.get(f["Field"]) == f["Value"] for f in filters if f["Type"] == "TERM_MATCH")


class PriceListServer:
    def __init__(self, documents: list[dict[str, Any]]) -> None:
        self.documents = documents
        self.requests: list[dict[str, Any]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
                target = self.headers.get("X-Amz-Target", "")
                if target != "AWSPriceListService.GetProducts":
                    self._send(400, {"__type": "InvalidParameterException", "message": target})
                    return
                owner.requests.append(body)
                found = [
                    d
                    for d in owner.documents
                    if matches(d, body["ServiceCode"], body.get("Filters", []))
                ]
                start = int(body.get("NextToken") or 0)
                size = int(body.get("MaxResults") or PAGE_SIZE)
                page = found[start : start + size]
                answer: dict[str, Any] = {
                    "FormatVersion": "aws_v1",
                    "PriceList": [json.dumps(d) for d in page],
                }
                if start + size < len(found):
                    answer["NextToken"] = str(start + size)
                self._send(200, answer)

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.1")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"


@contextmanager
def price_list_server(documents: list[dict[str, Any]] | None = None) -> Iterator[PriceListServer]:
    if documents is None:
        documents = json.loads(RECORDED.read_text(encoding="utf-8"))
    server = PriceListServer(documents)
    thread = threading.Thread(target=server.httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()
