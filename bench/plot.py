#!/usr/bin/env python3
"""Draws the sizing curves in docs/performance.md from the benchmarks' JSON.

    python3 -m venv .venv-bench && .venv-bench/bin/pip install -r bench/requirements.txt
    .venv-bench/bin/python bench/plot.py [--streams bench/results/streams.json] [--routes bench/results/routes.json]

Writes docs/images/scale-streams.png (memory and CPU against open streams,
Switchyard beside nginx) and docs/images/scale-routes.png (memory and start
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
    figure, (memory, cpu, gap) = plt.subplots(1, 3, figsize=(15, 4.2))
    for target in ("switchyard", "nginx"):
        mine = sorted((row for row in rows if row["target"] == target), key=lambda row: row["count"])
        if not mine:
            continue
        counts = [row["count"] for row in mine]
        memory.plot(counts, [row["peak_mib"] for row in mine], "o-", color=COLOURS[target], label=target)
        cpu.plot(counts, [row["proxy_cores"] for row in mine], "o-", color=COLOURS[target], label=target)
        gap.plot(counts, [row["load"]["gap_ms"].get("p99", 0) for row in mine], "o-", color=COLOURS[target], label=target)
    direct = sorted((row for row in rows if row["target"] == "direct"), key=lambda row: row["count"])
    if direct:
        gap.plot([row["count"] for row in direct], [row["load"]["gap_ms"].get("p99", 0) for row in direct], "o--", color=COLOURS["direct"], label="direct (no proxy)")
    memory.set(title="Memory with every stream open", xlabel="open streams", ylabel="RSS, MiB")
    cpu.set(title="Proxy CPU while they flow", xlabel="open streams", ylabel="cores (of 2)")
    gap.set(title="Gap between chunks, p99 (sent every 100 ms)", xlabel="open streams", ylabel="ms")
    for axes in (memory, cpu, gap):
        axes.grid(alpha=0.3)
        axes.legend()
        axes.set_ylim(bottom=0)
    figure.tight_layout()
    figure.savefig(out, dpi=110)
    print(f"wrote {out}")


def plot_routes(path, out):
    rows = sorted(json.load(open(path)), key=lambda row: row["routes"])
    counts = [row["routes"] for row in rows]
    figure, (memory, start) = plt.subplots(1, 2, figsize=(10, 4.2))
    memory.plot(counts, [row["rssMiB"] for row in rows], "o-", color=COLOURS["switchyard"])
    memory.set(title="Memory at rest, routes × 4 deployments", xlabel="routes", ylabel="RSS, MiB", xscale="log")
    start.plot(counts, [row["startSeconds"] for row in rows], "o-", color=COLOURS["switchyard"], label="start")
    start.plot(counts, [row["changeP99Ms"] / 1000 for row in rows], "s--", color="#ff7f0e", label="weight change p99")
    start.set(title="Start, and a weight change in effect", xlabel="routes", ylabel="seconds", xscale="log")
    for axes in (memory, start):
        axes.grid(alpha=0.3)
        axes.set_ylim(bottom=0)
    start.legend()
    figure.tight_layout()
    figure.savefig(out, dpi=110)
    print(f"wrote {out}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--streams", default=os.path.join(ROOT, "bench/results/streams.json"))
    parser.add_argument("--routes", default=os.path.join(ROOT, "bench/results/routes.json"))
    options = parser.parse_args()
    images = os.path.join(ROOT, "docs/images")
    if os.path.exists(options.streams):
        plot_streams(options.streams, os.path.join(images, "scale-streams.png"))
    if os.path.exists(options.routes):
        plot_routes(options.routes, os.path.join(images, "scale-routes.png"))


if __name__ == "__main__":
    main()
