#!/usr/bin/python3
"""Prints the time per operator of a LibTorch profiler trace (the Chrome trace JSON that
torch::autograd::profiler::RecordProfile writes, e.g. bench_vae --profile FILE): self time (the
operator's own, without the operators it called), total time and calls, most self time first.

Usage: scripts/bench/profile_summary.py TRACE.json [--top N]
"""
import argparse
import collections
import json


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("trace")
    ap.add_argument("--top", type=int, default=20)
    args = ap.parse_args()
    with open(args.trace) as f:
        data = json.load(f)
    events = data["traceEvents"] if isinstance(data, dict) else data
    spans = collections.defaultdict(list)  # per thread: (start, end, name)
    for e in events:
        if e.get("ph") == "X" and "dur" in e:
            spans[e.get("tid", 0)].append((float(e["ts"]), float(e["ts"]) + float(e["dur"]), e["name"]))
    self_us = collections.Counter()
    total_us = collections.Counter()
    calls = collections.Counter()
    for thread in spans.values():
        # outer spans first; a stack of open spans gives each span its direct parent
        thread.sort(key=lambda s: (s[0], -s[1]))
        stack = []
        for start, end, name in thread:
            while stack and stack[-1][1] <= start:
                stack.pop()
            dur = end - start
            total_us[name] += dur
            self_us[name] += dur
            calls[name] += 1
            if stack:
                self_us[stack[-1][2]] -= dur
            stack.append((start, end, name))
    wall = sum(self_us.values())
    print(f"{'operator':40s} {'self s':>9s} {'self %':>7s} {'total s':>9s} {'calls':>8s}")
    for name, us in self_us.most_common(args.top):
        print(f"{name[:40]:40s} {us / 1e6:9.3f} {100 * us / wall:6.1f}% {total_us[name] / 1e6:9.3f} {calls[name]:8d}")
    print(f"{'all operators':40s} {wall / 1e6:9.3f}")


if __name__ == "__main__":
    main()
