#!/usr/bin/env python3
"""Open streams, side by side: N streaming chat requests held open at once,
straight to `switchyard simulate`, through nginx as a streaming proxy
(`proxy_buffering off`) and through Switchyard, in one run.

    swift build -c release --product switchyard --product switchyard-loadgen --scratch-path .build-release
    python3 bench/streams.py [--counts 1000,5000,9500] [--seconds 30] [--prompt-bytes 16000] [--json FILE]

Each stream is one connection to the proxy and one from it to the single
simulated upstream host: a chunk every 100 ms (--tokens-per-second 10) for
--seconds. The load comes from `switchyard-loadgen streams` (SwiftNIO, one
thread), which times every server-sent event as it is read.

For each target and N it reports: RSS of the proxy at rest and with every
stream open, and the difference per stream; the proxy's CPU (cores) while
every stream is open, and per relayed chunk; time to first chunk and the gap
between chunks as the client saw them (p50/p99), and what the proxy added to
them over the direct run; errors and streams that did not finish.

A process may hold 20,000 descriptors on the machine this was written on
(`ulimit -Hn`, not raisable in its container): a single process relaying N
streams needs 2·N of them, so N stops at 9,500 there. nginx runs two worker
processes (one per core), each with its own limit.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import tempfile
import time

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024


def processes(pid):
    """The process and its children (nginx's workers)."""
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [pid] + [int(child) for child in children]


def rss_kib(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/statm") as statm:
                total += int(statm.read().split()[1]) * PAGE_KIB
        except FileNotFoundError:
            pass
    return total


def cpu_seconds(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
        except FileNotFoundError:
            pass
    return total


def wait_for_port(log_path, pattern, process, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(open(log_path).read())
        found = re.search(pattern, open(log_path).read())
        if found:
            return int(found.group(1))
        time.sleep(0.05)
    raise RuntimeError(f"no port in {log_path}: {open(log_path).read()}")


def start_simulator(binary, folder, seconds, pace):
    log = os.path.join(folder, "simulate.log")
    process = subprocess.Popen(
        [binary, "simulate", "--listen", "127.0.0.1:0", "--ttft-ms", "200", "--latency-ms", "200",
         "--tokens-per-second", str(pace), "--reply-tokens", str(seconds * pace)],
        stdout=open(log, "w"), stderr=subprocess.STDOUT,
    )
    return process, wait_for_port(log, r"listening on http://[^:]+:(\d+)", process)


NGINX_CONF = """
worker_processes  2;
worker_rlimit_nofile  20000;
pid  {run}/nginx.pid;
error_log  {run}/error.log warn;
events {{ worker_connections  19500; }}
http {{
    access_log  off;
    # Request bodies (prompts) in memory, as the gateway holds them: the
    # default 16k spills larger ones to files the worker user cannot write here.
    client_body_buffer_size  64k;
    client_body_temp_path  {run}/body;
    proxy_temp_path  {run}/proxy;
    fastcgi_temp_path  {run}/fastcgi;
    uwsgi_temp_path  {run}/uwsgi;
    scgi_temp_path  {run}/scgi;
    keepalive_timeout  300s;
    upstream model {{
        server  127.0.0.1:{upstream};
        keepalive  1024;
    }}
    server {{
        listen  127.0.0.1:{port} reuseport backlog=4096;
        location /v1/ {{
            proxy_pass  http://model;
            proxy_http_version  1.1;
            proxy_set_header  Connection  "";
            proxy_buffering  off;
            proxy_read_timeout  300s;
        }}
    }}
}}
"""

SWITCHYARD_CONF = """routes:
  - name: chat-prod
    stable: only
    deployments:
      - name: only
        weight: 100
        model: gpt-4o
        version: "2024-11-20"
        upstream: {{ url: "http://127.0.0.1:{upstream}/v1" }}
"""


def free_port():
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_target(target, binary, folder, upstream):
    """Starts the proxy: (process or None, URL)."""
    if target == "direct":
        return None, f"http://127.0.0.1:{upstream}/v1/chat/completions"
    if target == "nginx":
        run = os.path.join(folder, "nginx")
        os.makedirs(run, exist_ok=True)
        port = free_port()
        conf = os.path.join(run, "nginx.conf")
        with open(conf, "w") as file:
            file.write(NGINX_CONF.format(run=run, upstream=upstream, port=port))
        process = subprocess.Popen([shutil.which("nginx") or "/usr/sbin/nginx", "-p", run, "-c", conf, "-e", f"{run}/error.log", "-g", "daemon off;"])
        time.sleep(1)
        if process.poll() is not None:
            raise RuntimeError(open(f"{run}/error.log").read())
        return process, f"http://127.0.0.1:{port}/v1/chat/completions"
    config = os.path.join(folder, "routes.yaml")
    with open(config, "w") as file:
        file.write(SWITCHYARD_CONF.format(upstream=upstream))
    log = os.path.join(folder, "serve.log")
    process = subprocess.Popen(
        [binary, "serve", "--config", config, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
         "--state", f"sqlite:{folder}/state.sqlite"],
        stdout=open(log, "w"), stderr=subprocess.STDOUT, env=dict(os.environ, SWITCHYARD_ADMIN_TOKEN="streams-bench"),
    )
    port = wait_for_port(log, r"gateway listening on http://[^:]+:(\d+)", process)
    return process, f"http://127.0.0.1:{port}/v1/chat/completions"


def run_load(loadgen, url, count, seconds, pace, proxy, simulator, body=None):
    """Runs the load while sampling the proxy; returns the figures."""
    pids = processes(proxy.pid) if proxy else []
    # Warm up: a handful of streams, so what is measured at rest includes
    # what any first request allocates.
    short = '{"model":"chat-prod","stream":true,"max_tokens":3,"messages":[{"role":"user","content":"hello"}]}'
    subprocess.run([loadgen, "streams", "--url", url, "--count", "8", "--rate", "100", "--body", short], capture_output=True, check=True)
    time.sleep(1)
    rest = rss_kib(pids)
    rate = 2000
    ramp = count / rate
    command = [loadgen, "streams", "--url", url, "--count", str(count), "--rate", str(rate), "--timeout", str(seconds * 4 + 60)]
    if body:
        command += ["--body", body]
    load = subprocess.Popen(
        command,
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    # Every stream is open from the end of the ramp (plus the first chunk)
    # until the first ones end: sample the middle of that.
    window_start = ramp + 2
    window = max(2.0, min(10.0, seconds - ramp - 6))
    time.sleep(window_start)
    proxy_cpu = cpu_seconds(pids)
    simulator_cpu = cpu_seconds([simulator.pid])
    load_cpu = cpu_seconds([load.pid])
    sampled = time.monotonic()
    peak = rest
    while time.monotonic() - sampled < window:
        time.sleep(0.5)
        peak = max(peak, rss_kib(pids))
    elapsed = time.monotonic() - sampled
    proxy_cores = (cpu_seconds(pids) - proxy_cpu) / elapsed
    simulator_cores = (cpu_seconds([simulator.pid]) - simulator_cpu) / elapsed
    load_cores = (cpu_seconds([load.pid]) - load_cpu) / elapsed
    output, _ = load.communicate()
    summary = json.loads(output)
    chunks_per_second = count * pace
    return {
        "count": count,
        "rest_mib": round(rest / 1024, 1),
        "peak_mib": round(peak / 1024, 1),
        "kib_per_stream": round((peak - rest) / count, 1) if proxy else None,
        "proxy_cores": round(proxy_cores, 2),
        "us_per_chunk": round(proxy_cores * 1e6 / chunks_per_second, 1),
        "simulator_cores": round(simulator_cores, 2),
        "loadgen_cores": round(load_cores, 2),
        "load": summary,
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--counts", default="1000,5000,9500")
    parser.add_argument("--seconds", type=int, default=30, help="length of each stream")
    parser.add_argument("--tokens-per-second", type=int, default=10, help="chunks a second in each stream (10: one every 100 ms)")
    parser.add_argument("--targets", default="direct,nginx,switchyard")
    parser.add_argument("--bin", default=".build-release/release/switchyard")
    parser.add_argument("--loadgen", default=".build-release/release/switchyard-loadgen")
    parser.add_argument("--json", help="write the raw figures here")
    parser.add_argument("--prompt-bytes", type=int, default=0,
                        help="pad each request with a system message this long (real prompts are kilobytes)")
    options = parser.parse_args()
    body = None
    if options.prompt_bytes > 0:
        body = json.dumps({"model": "chat-prod", "stream": True, "messages": [
            {"role": "system", "content": "x" * options.prompt_bytes}, {"role": "user", "content": "hello"}]})
    binary = os.path.abspath(options.bin)
    loadgen = os.path.abspath(options.loadgen)
    results = []
    with tempfile.TemporaryDirectory() as folder:
        simulator, upstream = start_simulator(binary, folder, options.seconds, options.tokens_per_second)
        try:
            for count in [int(text) for text in options.counts.split(",")]:
                for target in options.targets.split(","):
                    proxy, url = start_target(target, binary, folder, upstream)
                    try:
                        row = run_load(loadgen, url, count, options.seconds, options.tokens_per_second, proxy, simulator, body)
                    finally:
                        if proxy:
                            proxy.terminate()
                            proxy.wait(timeout=60)
                    row["target"] = target
                    row["tokens_per_second"] = options.tokens_per_second
                    row["prompt_bytes"] = options.prompt_bytes
                    results.append(row)
                    print(f"{target:>10} {count:>6}: {json.dumps(row)}", flush=True)
                    time.sleep(2)
        finally:
            simulator.terminate()
    direct = {row["count"]: row["load"] for row in results if row["target"] == "direct"}
    print()
    print(f"{options.tokens_per_second} chunks a second per stream, {options.seconds} s streams")
    print(f"{'target':>10} {'streams':>7} {'RSS rest':>9} {'RSS open':>9} {'KiB/str':>8} {'cores':>6} {'µs/chunk':>9}"
          f" {'TTFC p50/p99 ms':>16} {'gap p50/p99 ms':>15} {'added gap p99':>14} {'errors':>7}")
    for row in results:
        load = row["load"]
        baseline = direct.get(row["count"])
        added = ""
        if baseline and row["target"] != "direct" and load["gap_ms"] and baseline["gap_ms"]:
            added = f"{load['gap_ms']['p99'] - baseline['gap_ms']['p99']:+.1f}"
            row["added_gap_p99_ms"] = round(load["gap_ms"]["p99"] - baseline["gap_ms"]["p99"], 2)
            row["added_ttfc_p50_ms"] = round(load["first_chunk_ms"]["p50"] - baseline["first_chunk_ms"]["p50"], 2)
        errors = sum(load["errors"].values()) + load["unfinished"]
        ttfc = load["first_chunk_ms"]
        gap = load["gap_ms"]
        print(f"{row['target']:>10} {row['count']:>7} {row['rest_mib']:>8}M {row['peak_mib']:>8}M {row['kib_per_stream'] or '-':>8}"
              f" {row['proxy_cores']:>6} {row['us_per_chunk']:>9} {ttfc.get('p50', 0):>7.1f}/{ttfc.get('p99', 0):<8.1f}"
              f" {gap.get('p50', 0):>6.1f}/{gap.get('p99', 0):<8.1f} {added:>14} {errors:>7}")
    if options.json:
        with open(options.json, "w") as file:
            json.dump(results, file, indent=2)


if __name__ == "__main__":
    main()
