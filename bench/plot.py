#!/usr/bin/env python3
"""Draws the sizing curves in docs/performance.md from the benchmarks' JSON.

    python3 -m venv .venv-bench && .venv-bench/bin/pip install -r bench/requirements.txt
    .venv-bench/bin/python bench/plot.py [--streams bench/results/streams.json] [--routes bench/results/routes.json]

Writes docs/images/scale-streams-every-100ms.png and -every-1000ms.png
(memory, CPU and chunk gaps against open streams, Switchyard beside nginx,
from bench/streams.py's JSON at each pace) and docs/images/scale-routes.png (memory and start
time against routes).
"""

import argparse
import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLOURS = {"switchyard": "#1f77b4", "nginx": "#2ca02c", "direct": "#7f7f7f"}


def plot_streams(path, out):
    rows = json.load(open(path))
    pace = rows[0].get("tokens_per_second", 10)
    direct = {row["count"]: row["load"]["gap_ms"].get("p99", 0) for row in rows if row["target"] == "direct"}
    figure, (memory, cpu, gap) = plt.subplots(1, 3, figsize=(15, 4.2))
    for target in ("switchyard", "nginx"):
        mine = sorted((row for row in rows if row["target"] == target), key=lambda row: row["count"])
        if not mine:
            continue
        counts = [row["count"] for row in mine]
        memory.plot(counts, [row["peak_mib"] for row in mine], "o-", color=COLOURS[target], label=target)
        cpu.plot(counts, [row["proxy_cores"] for row in mine], "o-", color=COLOURS[target], label=target)
        added = [row["load"]["gap_ms"].get("p99", 0) - direct.get(row["count"], 0) for row in mine]
        gap.plot(counts, added, "o-", color=COLOURS[target], label=target)
    memory.set(title="Memory with every stream open", xlabel="open streams", ylabel="RSS, MiB")
    cpu.set(title=f"Proxy CPU, a chunk every {1000 // pace} ms per stream", xlabel="open streams", ylabel="cores (of 2)")
    gap.set(title="Added gap between chunks, p99 (proxy − direct)", xlabel="open streams", ylabel="ms")
    for axes in (memory, cpu, gap):
        axes.grid(alpha=0.3)
        axes.legend()
    memory.set_ylim(bottom=0)
    cpu.set_ylim(bottom=0)
    figure.tight_layout()
    figure.savefig(out, dpi=110)
    print(f"wrote {out}")


def plot_routes(path, out):
    rows = sorted(json.load(open(path)), key=lambda row: row["routes"])
    counts = [row["routes"] for row in rows]
    figure, (memory, start, change) = plt.subplots(1, 3, figsize=(15, 4.2))
    colour = COLOURS["switchyard"]
    memory.plot(counts, [row["rssMiB"] for row in rows], "o-", color=colour)
    memory.set(title="Memory at rest, routes × 4 deployments", xlabel="routes", ylabel="RSS, MiB", xscale="log")
    start.plot(counts, [row["startSeconds"] for row in rows], "o-", color=colour)
    start.set(title="Start (launch → every route served)", xlabel="routes", ylabel="seconds", xscale="log")
    change.plot(counts, [row["changeP50Ms"] for row in rows], "o-", color=colour, label="p50")
    change.plot(counts, [row["changeP99Ms"] for row in rows], "s--", color="#ff7f0e", label="p99")
    change.set(title="A weight change, durable and in effect", xlabel="routes", ylabel="ms", xscale="log")
    change.legend()
    for axes in (memory, start, change):
        axes.grid(alpha=0.3)
        axes.set_ylim(bottom=0)
    figure.tight_layout()
    figure.savefig(out, dpi=110)
    print(f"wrote {out}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--streams", nargs="*", default=[os.path.join(ROOT, "bench/results/streams.json"), os.path.join(ROOT, "bench/results/streams-pace1.json")])
    parser.add_argument("--routes", default=os.path.join(ROOT, "bench/results/routes.json"))
    options = parser.parse_args()
    images = os.path.join(ROOT, "docs/images")
    for path in options.streams:
        if os.path.exists(path):
            pace = json.load(open(path))[0].get("tokens_per_second", 10)
            plot_streams(path, os.path.join(images, f"scale-streams-every-{1000 // pace}ms.png"))
    if os.path.exists(options.routes):
        plot_routes(options.routes, os.path.join(images, "scale-routes.png"))


if __name__ == "__main__":
    main()
