"""An OTLP/HTTP sink for the tracing benchmark: takes ``POST /v1/traces`` as a collector would, counts the spans
(protobuf decoded, so that a dropped span shows) and throws them away; ``GET /count`` gives the count.

Run as a script by ``harness/tracing_cost.py``: ``python bench/harness/otlp_sink.py --port N``.
"""

from __future__ import annotations

import argparse
import gzip

from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

ANSWER = ExportTraceServiceResponse().SerializeToString()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    port = parser.parse_args().port
    counted = {"spans": 0, "posts": 0}

    async def traces(request: web.Request) -> web.Response:
        body = await request.read()
        if request.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        export = ExportTraceServiceRequest()
        export.ParseFromString(body)
        counted["posts"] += 1
        counted["spans"] += sum(len(s.spans) for r in export.resource_spans for s in r.scope_spans)
        return web.Response(body=ANSWER, content_type="application/x-protobuf")

    async def count(request: web.Request) -> web.Response:
        return web.json_response(counted)

    app = web.Application()
    app.router.add_post("/v1/traces", traces)
    app.router.add_get("/count", count)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


if __name__ == "__main__":
    main()
