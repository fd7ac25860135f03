"""A small OTLP/HTTP trace receiver: decodes the protobuf export requests a
real exporter (swift-otel in `switchyard serve`) posts to /v1/traces, and
keeps every span as a plain dict for tests to look at."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.trace.v1 import trace_pb2


def _value(any_value):
    kind = any_value.WhichOneof("value")
    return getattr(any_value, kind) if kind else None


class OTLPReceiver:
    def __init__(self):
        self.spans = []
        self.resources = []
        self.requests = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                if self.path != "/v1/traces":
                    self.send_response(404)
                    self.end_headers()
                    return
                request = trace_service_pb2.ExportTraceServiceRequest()
                request.ParseFromString(body)
                receiver._take(request, self.headers.get("content-type"))
                reply = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    def _take(self, request, content_type):
        with self.lock:
            self.requests += 1
            for resource_spans in request.resource_spans:
                resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
                self.resources.append(resource)
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        self.spans.append({
                            "name": span.name,
                            "trace_id": span.trace_id.hex(),
                            "span_id": span.span_id.hex(),
                            "parent_span_id": span.parent_span_id.hex(),
                            "kind": trace_pb2.Span.SpanKind.Name(span.kind),
                            "attributes": {a.key: _value(a.value) for a in span.attributes},
                            "status": trace_pb2.Status.StatusCode.Name(span.status.code),
                            "start": span.start_time_unix_nano,
                            "end": span.end_time_unix_nano,
                            "content_type": content_type,
                            "resource": resource,
                        })

    def snapshot(self):
        with self.lock:
            return list(self.spans)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
