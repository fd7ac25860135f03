"""An OTLP/HTTP endpoint that takes span exports and throws them away,
counting requests and bytes: the far end for measuring what tracing costs
the gateway itself (bench/observability.sh). Prints its port, then runs."""

import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

received = {"requests": 0, "bytes": 0}
lock = threading.Lock()


class Sink(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        length = int(self.headers.get("content-length", "0"))
        self.rfile.read(length)
        with lock:
            received["requests"] += 1
            received["bytes"] += length
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", "0")
        self.end_headers()

    def do_GET(self):
        with lock:
            body = f'{received["requests"]} {received["bytes"]}\n'.encode()
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 0), Sink)
print(server.server_address[1], flush=True)
server.serve_forever()
