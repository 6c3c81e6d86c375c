#!/usr/bin/python3
"""Turn bulwark-bench results files into docs/performance.md and its plots.

    bench/report.py --results native.json [--results vm.json ...] \
        --analysis bench/analysis.md --out-md docs/performance.md \
        --out-dir docs/performance

Each results file (format: bench/RESULTS-SCHEMA.md) is one run place
(env.where: native | vm). Prints a plain-text summary to stdout, writes the
markdown page, one set of PNG plots per place and a copy of every results
file (results-<where>.json) into --out-dir. Missing keys (older or partial
results) are reported as "not measured", never guessed. Output depends only on
the inputs: no timestamps other than env.date.

Uses the standard library and matplotlib (Agg) only.
"""

import argparse
import json
import math
import os
import re
import shutil
import statistics
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after matplotlib.use)
import matplotlib.patches  # noqa: E402
import matplotlib.ticker  # noqa: E402

WORKLOADS = ("open", "read", "exec")
SCALE_CONFIGS = ("empty", "1k", "100k", "1M")
PEERS = ("auditd", "fapolicyd", "bpftrace")
LINK_KINDS = ("hardlink", "symlink")
LINK_SAFE = ("killed", "denied")
# The read loop touches no hook of bulwark or its peers: its ratios are noise
# around 1.0, so it is shown next to the peers but does not decide the verdict.
JUDGED_PEER_WORKLOADS = ("open", "exec")

TARGET_OPEN = {"lsm": 1.05, "tracepoint": 1.10}
TARGET_EXEC = {"lsm": 1.03}
TARGET_PROG_SCALE = 1.5
TARGET_EVENTS_PER_S = 500_000
TARGET_RELOAD_MS = 250.0

MET, MISSED, NOT_MEASURED, EMULATED = "✅ met", "❌ missed", "— not measured", "— (emulated CPU)"
VERDICT_TEXT = {MET: "met", MISSED: "MISSED", NOT_MEASURED: "not measured", EMULATED: "info (emulated)"}
DASH = "—"

FIGSIZE = (8, 4.5)
DPI = 100
PNG_META = {"Software": None}  # keeps the files identical across matplotlib versions

# --------------------------------------------------------------------------
# tolerant access to the results


def num(x):
    """x as a finite float, or None (bools, strings, null, NaN are not numbers)."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def get(obj, *keys):
    """obj[k1][k2]... or None when any level is missing or not a dict."""
    for k in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(k)
    return obj


def as_list(x):
    return x if isinstance(x, list) else []


def as_dict(x):
    return x if isinstance(x, dict) else {}


def cfg_error(cfg):
    err = cfg.get("error")
    if err is None or err is False or err == "":
        return None
    return str(err).strip() or "error"


def workload_median(cfg, w):
    """Median ns/op of workload w, or None when it was not measured."""
    samples = get(cfg, "samples", w)
    if isinstance(samples, list) and not samples:
        return None  # empty sample list: not measured
    med = num(get(cfg, "median", w))
    if med is not None:
        return med
    vals = [v for v in (num(s) for s in as_list(samples)) if v is not None]
    return statistics.median(vals) if vals else None


class Place:
    """One results file."""

    def __init__(self, path, data, key):
        self.path = path
        self.data = data
        self.key = key  # unique, file-name safe; normally env.where
        env = as_dict(data.get("env"))
        self.env = env
        self.where = str(env.get("where") or "unknown")
        self.mode = str(env.get("mode") or "unknown")
        self.configs = [c for c in as_list(data.get("configs")) if isinstance(c, dict)]
        for i, c in enumerate(self.configs):
            if not isinstance(c.get("name"), str) or not c["name"]:
                c["name"] = "config%d" % (i + 1)
        self.by_name = {}
        for c in self.configs:
            self.by_name.setdefault(c["name"], c)
        self.storm = data.get("storm") if isinstance(data.get("storm"), dict) else None

    @property
    def label(self):
        return "%s (%s)" % (self.where, self.mode)

    @property
    def title(self):
        return "%s — %s mode" % (self.where, self.mode)

    def cfg(self, name):
        return self.by_name.get(name)

    def kind(self, cfg):
        k = cfg.get("kind")
        if isinstance(k, str) and k:
            return k
        n = cfg["name"]
        if n == "baseline":
            return "baseline"
        if n in PEERS:
            return "peer"
        if n in SCALE_CONFIGS:
            return "bulwark"
        return "unknown"

    def pooled_baseline(self, w):
        b = self.cfg("baseline")
        return workload_median(b, w) if b else None

    def ratio(self, cfg, w):
        """(ratio, against_pooled) for cfg and workload w; ratio None if not measurable."""
        if cfg_error(cfg):
            return None, False
        m = workload_median(cfg, w)
        if m is None:
            return None, False
        b = num(get(cfg, "baseline_median", w))
        pooled = False
        if b is None:
            b = self.pooled_baseline(w)
            pooled = b is not None
        if not b or b <= 0:
            return None, False
        return m / b, pooled

    def non_baseline(self):
        return [c for c in self.configs if self.kind(c) != "baseline"]

    def bulwark_configs(self):
        return [c for c in self.configs if self.kind(c) == "bulwark"]

    def peers(self):
        return [c for c in self.configs if self.kind(c) == "peer"]

    def reps(self):
        return self.env.get("reps")


def prog_stats(cfg):
    """Normalised prog_stats rows of a config."""
    rows = []
    for p in as_list(cfg.get("prog_stats")):
        if not isinstance(p, dict):
            continue
        cnt = num(p.get("run_cnt"))
        rt = num(p.get("run_time_ns"))
        avg = num(p.get("avg_ns"))
        if avg is None and cnt and rt is not None:
            avg = rt / cnt
        rows.append({
            "program": str(p.get("program") or "?"),
            "type": str(p.get("type") or DASH),
            "workload": str(p.get("workload") or DASH),
            "run_cnt": cnt,
            "run_time_ns": rt,
            "avg_ns": avg,
        })
    return rows


def prog_lookup(cfg):
    """{(program, workload): avg_ns}; duplicates are combined by run time / run count."""
    acc = {}
    for r in prog_stats(cfg):
        acc.setdefault((r["program"], r["workload"]), []).append(r)
    out = {}
    for k, rs in acc.items():
        if len(rs) > 1 and all(r["run_cnt"] and r["run_time_ns"] is not None for r in rs):
            out[k] = sum(r["run_time_ns"] for r in rs) / sum(r["run_cnt"] for r in rs)
        else:
            out[k] = next((r["avg_ns"] for r in rs if r["avg_ns"] is not None), None)
    return out


# The program that checks each workload's operation, by name: the exec hook
# runs once per exec, while sys_exit runs for every syscall the exec loop
# makes (and would win on run_cnt).
HOOK_NAMES = {"open": ("file_open", "sys_exit"), "exec": ("bprm", "tp_exec")}


def main_programs(place):
    """{workload: program} for open and exec: the program that hooks the
    operation (HOOK_NAMES), else the one with the largest run_cnt for that
    workload in "1k" (or, without it, summed over the bulwark configs); ties
    go to the larger run_time_ns."""
    res = {}
    for w in ("open", "exec"):
        counts = {}  # program -> [run_cnt, run_time_ns]
        one_k = place.cfg("1k")
        sources = [one_k] if one_k and any(r["workload"] == w for r in prog_stats(one_k)) \
            else place.bulwark_configs()
        for c in sources:
            for r in prog_stats(c):
                if r["workload"] == w and r["run_cnt"] is not None:
                    acc = counts.setdefault(r["program"], [0.0, 0.0])
                    acc[0] += r["run_cnt"]
                    acc[1] += r["run_time_ns"] or 0.0
        hooks = sorted(p for p in counts if any(h in p for h in HOOK_NAMES[w]))
        if hooks:
            res[w] = hooks[0]
        elif counts:
            # ties (one call per exec for several programs) go to the program that spent the most time
            res[w] = sorted(counts.items(), key=lambda kv: (-kv[1][0], -kv[1][1], kv[0]))[0][0]
    return res


def storm_steps(storm):
    """Normalised storm steps: numeric offered rates ascending, then the "max" steps."""
    steps = []
    for s in as_list(get(storm, "steps")):
        if not isinstance(s, dict):
            continue
        st = {k: num(s.get(k)) for k in ("offered_rate", "caused", "delivered", "lost",
                                         "unaccounted", "seconds", "events_per_s",
                                         "consumer_cpu_s", "sink_cpu_s")}
        if st["events_per_s"] is None and st["delivered"] is not None and st["seconds"]:
            st["events_per_s"] = st["delivered"] / st["seconds"]
        st["achieved"] = (st["caused"] / st["seconds"]
                          if st["caused"] is not None and st["seconds"] else None)
        # What the busier of the two daemon threads sustains per CPU second:
        # the pipeline's own capacity, whatever else competed for the CPUs.
        busiest = max(x for x in (st["consumer_cpu_s"], st["sink_cpu_s"], 0.0) if x is not None)
        st["capacity"] = st["delivered"] / busiest if st["delivered"] and busiest > 0 else None
        steps.append(st)
    numeric = sorted((s for s in steps if s["offered_rate"] is not None),
                     key=lambda s: s["offered_rate"])
    return numeric + [s for s in steps if s["offered_rate"] is None]


# --------------------------------------------------------------------------
# formatting


def f_int(v):
    return DASH if v is None else "{:,.0f}".format(v)


def f_ns(v):
    return f_int(v)


def f_us(v):
    return DASH if v is None else "{:,.1f}".format(v / 1000.0)


def f_fix(v, d=1):
    return DASH if v is None else "{:,.{d}f}".format(v, d=d)


def f_ratio(r, pooled=False):
    if r is None:
        return DASH
    pct = round((r - 1.0) * 100.0, 1) + 0.0  # + 0.0 turns -0.0 into 0.0
    s = "%.3f (%+.1f %%)" % (r, pct)
    return s + "*" if pooled else s


def f_ratio_short(r):
    return DASH if r is None else "%.3f" % r


def f_mib(kib):
    return DASH if kib is None else "%.1f" % (kib / 1024.0)


def f_rate(step):
    if step["offered_rate"] is None:
        return "max"
    return "{:,.0f}/s".format(step["offered_rate"])


def md_cell(x):
    s = DASH if x is None else str(x)
    return s.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def md_table(headers, rows, right=()):
    """Markdown table; columns whose index is in `right` are right-aligned."""
    out = ["| " + " | ".join(md_cell(h) for h in headers) + " |",
           "| " + " | ".join("---:" if i in right else "---" for i in range(len(headers))) + " |"]
    for r in rows:
        out.append("| " + " | ".join(md_cell(c) for c in r) + " |")
    return out


def text_table(headers, rows):
    """Plain-text table; a row given as a string is printed as it is (errors)."""
    cols = list(zip(*([headers] + [[str(c) for c in r] for r in rows if not isinstance(r, str)])))
    widths = [max(len(x) for x in col) for col in cols]
    lines = []
    for i, r in enumerate([headers] + rows):
        if isinstance(r, str):
            lines.append("  " + r)
            continue
        cells = [str(c) for c in r]
        lines.append("  " + "  ".join(
            c.ljust(widths[j]) if j == 0 else c.rjust(widths[j]) for j, c in enumerate(cells)).rstrip())
        if i == 0:
            lines.append("  " + "  ".join("-" * w for w in widths))
    return lines


# --------------------------------------------------------------------------
# targets


def target(text, where, measured, verdict):
    return {"target": text, "where": where, "measured": measured, "verdict": verdict}


def ratio_target(places, cfg_name, w, limits, what):
    out = []
    for mode, limit in limits.items():
        text = "%s: ratio ≤ %.2f in %s mode" % (what, limit, "LSM" if mode == "lsm" else mode)
        hits = [p for p in places if p.mode == mode]
        if not hits:
            out.append(target(text, "%s mode" % mode, "no results file in %s mode" % mode, NOT_MEASURED))
        for p in hits:
            c = p.cfg(cfg_name)
            if c is None:
                out.append(target(text, p.label, 'no config "%s"' % cfg_name, NOT_MEASURED))
                continue
            if cfg_error(c):
                out.append(target(text, p.label, "error: " + cfg_error(c), NOT_MEASURED))
                continue
            r, pooled = p.ratio(c, w)
            if r is None:
                out.append(target(text, p.label, "%s not measured" % w, NOT_MEASURED))
            else:
                out.append(target(text, p.label, f_ratio(r, pooled), MET if r <= limit else MISSED))
    return out


def prog_scale_targets(places):
    text = "per-program cost at 1M entries ≤ %.1f× its cost at 1k" % TARGET_PROG_SCALE
    out = []
    for p in places:
        a, b = p.cfg("1k"), p.cfg("1M")
        if a is None or b is None:
            out.append(target(text, p.label, 'config "1k" or "1M" missing', NOT_MEASURED))
            continue
        la, lb = prog_lookup(a), prog_lookup(b)
        mains = main_programs(p)
        if not mains:
            out.append(target(text, p.label, "no prog_stats", NOT_MEASURED))
            continue
        for w in ("open", "exec"):
            prog = mains.get(w)
            if prog is None:
                out.append(target(text, p.label, "%s: no program ran" % w, NOT_MEASURED))
                continue
            va, vb = la.get((prog, w)), lb.get((prog, w))
            if not va or vb is None:
                out.append(target(text, p.label, "%s / %s: not in both 1k and 1M" % (prog, w), NOT_MEASURED))
                continue
            r = vb / va
            out.append(target(text, p.label,
                              "%s / %s: %.0f → %.0f ns (%.2f×)" % (prog, w, va, vb, r),
                              MET if r <= TARGET_PROG_SCALE else MISSED))
    if not places:
        out.append(target(text, DASH, "no results", NOT_MEASURED))
    return out


def storm_best(p):
    """(best events/s with zero unaccounted, steps with unaccounted > 0, steps) or None."""
    if p.storm is None or cfg_error(p.storm):
        return None
    steps = storm_steps(p.storm)
    ok = [s["events_per_s"] for s in steps if s["unaccounted"] == 0 and s["events_per_s"] is not None]
    bad = [s for s in steps if s["unaccounted"] is not None and s["unaccounted"] > 0]
    return (max(ok) if ok else None), bad, steps


def judged_targets(places, text, measure):
    """Targets judged on native only; other places are shown for information."""
    out = []
    if not any(p.where == "native" for p in places):
        out.append(target(text, "native", "no native results", NOT_MEASURED))
    for p in places:
        value, ok = measure(p)
        if value is None:
            out.append(target(text, p.label, ok, NOT_MEASURED))
        elif p.where != "native":
            out.append(target(text, p.label, value, EMULATED))
        else:
            out.append(target(text, p.label, value, MET if ok else MISSED))
    return out


def measure_storm(p):
    if p.storm is None:
        return None, "storm not measured"
    if cfg_error(p.storm):
        return None, "error: " + cfg_error(p.storm)
    best, bad, steps = storm_best(p)
    if not steps:
        return None, "no storm steps"
    if best is None:
        if all(s["unaccounted"] is None for s in steps):
            return None, "unaccounted losses not recorded"
        return None, "no step without unaccounted losses"
    s = "{:,.0f} events/s end to end".format(best)
    caps = [x["capacity"] for x in steps if x.get("capacity")]
    if caps:
        s += " (pipeline capacity {:,.0f} events per CPU-second of its busier thread)".format(max(caps))
    if bad:
        s += "; %d step(s) with unaccounted losses" % len(bad)
    return s, best >= TARGET_EVENTS_PER_S


def measure_reload(p):
    c = p.cfg("100k")
    if c is None:
        return None, 'no config "100k"'
    if cfg_error(c):
        return None, "error: " + cfg_error(c)
    v = num(c.get("reload_median_ms"))
    if v is None:
        return None, "reload not measured"
    return "%.1f ms" % v, v <= TARGET_RELOAD_MS


def link_summary(cfg):
    lc = as_dict(cfg.get("link_check"))
    return [lc.get(k) if isinstance(lc.get(k), str) else None for k in LINK_KINDS]


def peer_targets(places):
    out = []
    for p in places:
        one_k = p.cfg("1k")
        for peer in p.peers():
            name = peer["name"]
            text = "cheaper than %s on the same workloads" % name
            if name == "bpftrace":
                text = "cheaper than bpftrace (tracepoint + string compare), not fooled by links"
            if one_k is None or cfg_error(one_k):
                why = 'no config "1k"' if one_k is None else "1k error: " + cfg_error(one_k)
                out.append(target(text, p.label, why, NOT_MEASURED))
                continue
            if cfg_error(peer):
                out.append(target(text, p.label, "%s error: %s" % (name, cfg_error(peer)), NOT_MEASURED))
                continue
            parts, verdicts = [], []
            for w in WORKLOADS:
                rb, _ = p.ratio(one_k, w)
                rp, _ = p.ratio(peer, w)
                if rb is None or rp is None:
                    if w in JUDGED_PEER_WORKLOADS:
                        parts.append("%s not measured" % w)
                        verdicts.append(None)
                    continue
                if w in JUDGED_PEER_WORKLOADS:
                    parts.append("%s %.3f vs %.3f" % (w, rb, rp))
                    verdicts.append(rb < rp)
                else:
                    parts.append("%s %.3f vs %.3f (not judged)" % (w, rb, rp))
            if name == "bpftrace":
                bl, pl = link_summary(one_k), link_summary(peer)
                if None in bl:
                    parts.append("bulwark link check not measured")
                    verdicts.append(None)
                else:
                    verdicts.append(all(x in LINK_SAFE for x in bl))
                    fooled = [k for k, v in zip(LINK_KINDS, pl) if v == "allowed"]
                    parts.append("links: bulwark %s; bpftrace %s%s" % (
                        "/".join(bl), "/".join(v or DASH for v in pl),
                        " (fooled by %s)" % " and ".join(fooled) if fooled else ""))
            if False in verdicts:
                v = MISSED
            elif None in verdicts:
                v = NOT_MEASURED
            else:
                v = MET
            out.append(target(text, p.label, "bulwark vs %s: " % name + "; ".join(parts), v))
    seen = {c["name"] for p in places for c in p.peers()}
    for name in PEERS:
        if name not in seen:
            out.append(target("cheaper than %s on the same workloads" % name, DASH,
                              "%s not run in any place" % name, NOT_MEASURED))
    return out


def all_targets(places):
    t = []
    t += ratio_target(places, "1k", "open", TARGET_OPEN, "unmatched open/close loop, 1,000-rule policy")
    t += ratio_target(places, "1k", "exec", TARGET_EXEC, "exec loop, 1,000-rule policy")
    t += prog_scale_targets(places)
    t += judged_targets(places, "≥ {:,} violation events/s into the audit log, zero unaccounted losses"
                        .format(TARGET_EVENTS_PER_S), measure_storm)
    t += judged_targets(places, "100k-entry reload ≤ %.0f ms" % TARGET_RELOAD_MS, measure_reload)
    t += peer_targets(places)
    return t


# --------------------------------------------------------------------------
# plots


def new_fig(*args, **kw):
    fig, ax = plt.subplots(*args, figsize=FIGSIZE, dpi=DPI, **kw)
    return fig, ax


def legend(ax, **kw):
    if ax.get_legend_handles_labels()[0]:
        ax.legend(**kw)


def save(fig, out_dir, name):
    fig.tight_layout()
    fig.savefig(os.path.join(out_dir, name), dpi=DPI, metadata=PNG_META)
    plt.close(fig)
    return name


def plot_hot_path(p, out_dir):
    cfgs = p.non_baseline()
    if not cfgs:
        return None
    ratios = {c["name"]: [p.ratio(c, w)[0] for w in WORKLOADS] for c in cfgs}
    if all(r is None for rs in ratios.values() for r in rs) and not any(cfg_error(c) for c in cfgs):
        return None
    fig, ax = new_fig()
    width = 0.8 / len(WORKLOADS)
    colors = ("tab:blue", "tab:orange", "tab:green")
    handles = []  # proxies: a workload without any bar still gets its colour in the legend
    for j, w in enumerate(WORKLOADS):
        xs, hs = [], []
        for i, c in enumerate(cfgs):
            r = ratios[c["name"]][j]
            if r is not None:
                xs.append(i + (j - 1) * width)
                hs.append(r - 1.0)
        bars = ax.bar(xs, hs, width, bottom=1.0, color=colors[j])
        handles.append(matplotlib.patches.Patch(color=colors[j], label=w))
        for b, h in zip(bars, hs):
            ax.annotate("%.3f" % (h + 1.0), (b.get_x() + b.get_width() / 2, 1.0 + h),
                        xytext=(0, 2 if h >= 0 else -2), textcoords="offset points",
                        ha="center", va="bottom" if h >= 0 else "top", fontsize=6, rotation=90)
    ax.axhline(1.0, color="black", linewidth=0.8)
    if p.mode in TARGET_OPEN:
        handles.append(ax.axhline(TARGET_OPEN[p.mode], color="red", linestyle="--", linewidth=0.8,
                                  label="open target %.2f" % TARGET_OPEN[p.mode]))
    if p.mode in TARGET_EXEC:
        handles.append(ax.axhline(TARGET_EXEC[p.mode], color="purple", linestyle=":", linewidth=0.8,
                                  label="exec target %.2f" % TARGET_EXEC[p.mode]))
    all_r = [r for rs in ratios.values() for r in rs if r is not None] + [1.0, TARGET_OPEN.get(p.mode, 1.0)]
    lo, hi = min(all_r), max(all_r)
    pad = (hi - lo) * 0.15 or 0.05
    ax.set_ylim(min(lo - pad, 0.95), hi + 2.5 * pad)  # room for the value labels and the legend
    for i, c in enumerate(cfgs):
        if cfg_error(c) or all(r is None for r in ratios[c["name"]]):
            ax.text(i, 1.0, "not\nmeasured", ha="center", va="bottom", fontsize=7, color="gray")
    ax.set_xticks(range(len(cfgs)))
    ax.set_xticklabels([c["name"] for c in cfgs])
    ax.set_xlim(-0.6, len(cfgs) - 0.4)
    ax.set_ylabel("median time / baseline")
    ax.set_title("Hot path: ratio vs baseline — %s" % p.title)
    ax.legend(handles=handles, fontsize=7, loc="upper left", ncol=len(handles))
    return save(fig, out_dir, "hot_path_%s.png" % p.key)


def entry_ticks(ax, cfgs):
    """x ticks of a log axis at the configs' entries, labelled with the config names."""
    ticks = {}
    for c in cfgs:
        ticks.setdefault(max(num(c["entries"]), 1.0), c["name"])
    ax.set_xticks(sorted(ticks))
    ax.set_xticklabels([ticks[t] for t in sorted(ticks)])
    ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())


def rate_label(x):
    if x >= 1e6 and x % 1e5 == 0:
        return "%gM" % (x / 1e6)
    if x >= 1e3 and x % 100 == 0:
        return "%gk" % (x / 1e3)
    return "%.0f" % x


def plot_prog_cost(p, out_dir):
    mains = main_programs(p)
    cfgs = [c for c in p.bulwark_configs() if not cfg_error(c) and num(c.get("entries")) is not None]
    if not mains or not cfgs:
        return None
    fig, ax = new_fig()
    drawn = False
    for w, prog in sorted(mains.items()):
        pts = []
        for c in cfgs:
            v = prog_lookup(c).get((prog, w))
            if v is not None:
                pts.append((max(num(c["entries"]), 1.0), v, c["name"]))
        pts.sort()
        if not pts:
            continue
        drawn = True
        ax.plot([x for x, _, _ in pts], [y for _, y, _ in pts], marker="o", label="%s (%s)" % (prog, w))
    if not drawn:
        plt.close(fig)
        return None
    ax.set_xscale("log")
    entry_ticks(ax, cfgs)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("policy (BPF map entries, log)")
    ax.set_ylabel("average run time per call (ns)")
    ax.set_title("Cost per BPF program — %s" % p.title)
    ax.grid(True, which="major", alpha=0.3)
    legend(ax, fontsize=8)
    return save(fig, out_dir, "prog_cost_%s.png" % p.key)


def plot_storm(p, out_dir):
    if p.storm is None or cfg_error(p.storm):
        return None
    steps = [s for s in storm_steps(p.storm)
             if (s["offered_rate"] if s["offered_rate"] is not None else s["achieved"])]
    if not steps:
        return None
    xs = [s["offered_rate"] if s["offered_rate"] is not None else s["achieved"] for s in steps]
    fixed = [(x, s) for x, s in zip(xs, steps) if s["offered_rate"] is not None]
    maxed = [(x, s) for x, s in zip(xs, steps) if s["offered_rate"] is None]
    fig, ax = new_fig()
    ev = [(x, s["events_per_s"]) for x, s in fixed if s["events_per_s"] is not None]
    ax.plot([x for x, _ in ev], [y for _, y in ev], marker="o", color="tab:blue", label="delivered events/s")
    evm = [(x, s["events_per_s"]) for x, s in maxed if s["events_per_s"] is not None]
    if evm:
        ax.plot([x for x, _ in evm], [y for _, y in evm], linestyle="none", marker="*", markersize=12,
                color="tab:blue", label="delivered events/s, max step")
    ys = [y for _, y in ev + evm]
    lim = max(xs + ys)
    ax.plot([min(xs), lim], [min(xs), lim], color="gray", linestyle=":", linewidth=0.8, label="delivered = offered")
    if p.where == "native":
        ax.axhline(TARGET_EVENTS_PER_S, color="red", linestyle="--", linewidth=0.8,
                   label="target {:,}/s".format(TARGET_EVENTS_PER_S))
    ax.set_xscale("log")
    ticks = sorted({x for x, _ in fixed})
    ax.set_xticks(ticks)
    ax.set_xticklabels([rate_label(t) for t in ticks])
    ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: rate_label(v) if v else "0"))
    ax.set_xlabel("offered opens/s (log; the max step at the rate it achieved)")
    ax.set_ylabel("delivered events/s")
    ax.set_ylim(bottom=0, top=max(ys + [TARGET_EVENTS_PER_S if p.where == "native" else 0]) * 1.15)
    ax2 = ax.twinx()
    lost = [(x, s["lost"]) for x, s in fixed if s["lost"] is not None]
    ax2.plot([x for x, _ in lost], [y for _, y in lost], marker="s", color="tab:red", label="lost events")
    lostm = [(x, s["lost"]) for x, s in maxed if s["lost"] is not None]
    if lostm:
        ax2.plot([x for x, _ in lostm], [y for _, y in lostm], linestyle="none", marker="*", markersize=12,
                 color="tab:red", label="lost events, max step")
    lost += lostm
    ax2.set_ylabel("lost events", color="tab:red")
    ax2.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax2.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: "{:,.0f}".format(v)))
    ax2.set_ylim(bottom=0, top=max([1] + [y for _, y in lost]) * 1.15)
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, fontsize=7, loc="upper left")
    ax.set_title("Event storm — %s" % p.title)
    return save(fig, out_dir, "storm_%s.png" % p.key)


def plot_reload(p, out_dir):
    cfgs = [c for c in p.bulwark_configs() if not cfg_error(c) and num(c.get("entries")) is not None]
    if not cfgs:
        return None
    cfgs.sort(key=lambda c: num(c["entries"]))
    xs = [max(num(c["entries"]), 1.0) for c in cfgs]
    rel = [(x, num(c.get("reload_median_ms")), c) for x, c in zip(xs, cfgs)]
    rel = [r for r in rel if r[1] is not None and r[1] > 0]
    mem = {key: [(x, num(get(c, "memory", key))) for x, c in zip(xs, cfgs)]
           for key in ("rss_kib", "hwm_kib", "bpf_map_kib")}
    mem = {k: [(x, v / 1024.0) for x, v in pts if v is not None and v > 0] for k, pts in mem.items()}
    if not rel and not any(mem.values()):
        return None
    fig, (a1, a2) = new_fig(1, 2)
    if rel:
        a1.plot([x for x, _, _ in rel], [y for _, y, _ in rel], marker="o", label="reload (median)")
        for x, c in zip(xs, cfgs):
            pts = [v for v in (num(s) for s in as_list(c.get("reload_ms"))) if v is not None and v > 0]
            if pts:
                a1.scatter([x] * len(pts), pts, s=8, color="tab:blue", alpha=0.3)
    st = [(x, num(c.get("startup_ms"))) for x, c in zip(xs, cfgs)]
    st = [(x, y) for x, y in st if y is not None and y > 0]
    if st:
        a1.plot([x for x, _ in st], [y for _, y in st], marker="^", linestyle="--", label="startup")
    if p.where == "native":
        a1.plot([100_000], [TARGET_RELOAD_MS], linestyle="none", marker="_", markersize=20, markeredgewidth=2,
                color="red", label="100k target %.0f ms" % TARGET_RELOAD_MS)
    a1.set_xscale("log")
    entry_ticks(a1, cfgs)
    a1.set_yscale("log")
    a1.set_ylabel("ms")
    a1.set_title("reload / startup", fontsize=9)
    a1.grid(True, which="major", alpha=0.3)
    legend(a1, fontsize=7)
    if not rel and not st:
        a1.text(0.5, 0.5, "not measured", transform=a1.transAxes, ha="center", color="gray")
    names = {"rss_kib": "RSS", "hwm_kib": "peak RSS", "bpf_map_kib": "BPF maps"}
    for k, pts in mem.items():
        if pts:
            a2.plot([x for x, _ in pts], [y for _, y in pts], marker="o", label=names[k])
    a2.set_xscale("log")
    entry_ticks(a2, cfgs)
    a2.set_yscale("log")
    a2.set_ylabel("MiB")
    a2.set_title("memory", fontsize=9)
    a2.grid(True, which="major", alpha=0.3)
    legend(a2, fontsize=7)
    if not any(mem.values()):
        a2.text(0.5, 0.5, "not measured", transform=a2.transAxes, ha="center", color="gray")
    a1.set_xlabel("policy (BPF map entries, log)")
    a2.set_xlabel("policy (BPF map entries, log)")
    fig.suptitle("Reload and memory — %s" % p.title, fontsize=11)
    return save(fig, out_dir, "reload_%s.png" % p.key)


# --------------------------------------------------------------------------
# markdown sections


def cfg_label(c):
    d = c.get("description")
    return "**%s** — %s" % (c["name"], d) if isinstance(d, str) and d else "**%s**" % c["name"]


def img(rel_dir, name, alt):
    return ["", "![%s](%s/%s)" % (alt, rel_dir, name)] if name else []


def intro(places):
    reps = sorted({str(p.reps()) for p in places if p.reps() is not None})
    if len(reps) == 1:
        rep_text = "the median of %s samples" % reps[0]
    elif reps:
        rep_text = "the median of `env.reps` samples (%s, see [Machine](#machine))" % " / ".join(reps)
    else:
        rep_text = "the median of `env.reps` samples"
    where = ", ".join("**%s** (%s mode)" % (p.where, p.mode) for p in places) or "no place"
    return [
        "# Performance",
        "",
        "What bulwark costs the machine it guards: the time an unmatched open/close loop, "
        "a read loop and an exec loop take under policies from empty to 1M map entries "
        "(and under auditd, fapolicyd and a bpftrace script doing the same job), what each "
        "BPF program costs per call, how many violation events per second reach the audit "
        "log, and how long a reload takes and how much memory it holds. "
        "Every number is %s; every ratio compares a configuration with a baseline measured "
        "right before it in the same run. Measured in: %s.%s" % (
            rep_text, where,
            emulation_text(places)),
        "",
        "Regenerate this page with `sudo bench/run.sh` (options: [bench/README.md](../bench/README.md)).",
    ]


def emulation_text(places):
    """How much slower the emulated vm is than native, from the two baselines."""
    if not any(p.where == "vm" for p in places):
        return ""
    text = (" The vm runs under software emulation (qemu without KVM), so its absolute times are "
            "slower than native")
    vm = next((p for p in places if p.where == "vm"), None)
    nat = next((p for p in places if p.where == "native"), None)
    factors = []
    for w in ("open", "exec"):
        a = num(as_dict(get(nat.cfg("baseline"), "median")).get(w)) if nat and nat.cfg("baseline") else None
        b = num(as_dict(get(vm.cfg("baseline"), "median")).get(w)) if vm.cfg("baseline") else None
        if a and b:
            factors.append("%.0f× for %s" % (b / a, w))
    if factors:
        text += " (here: " + ", ".join(factors) + ")"
    return text + "; only ratios compare across places."


def section_targets(targets):
    out = ["", "## Targets", ""]
    out += md_table(["target", "where", "measured", "met?"],
                    [[t["target"], t["where"], t["measured"], t["verdict"]] for t in targets])
    return out


def section_machine(places, copies):
    out = ["", "## Machine", ""]
    if not places:
        return out + ["Not measured."]
    rows = []
    fields = [("where", lambda p: p.where), ("mode", lambda p: p.mode),
              ("kernel", lambda p: p.env.get("kernel")), ("cpus", lambda p: p.env.get("cpus")),
              ("date", lambda p: p.env.get("date")), ("reps", lambda p: p.env.get("reps")),
              ("ops per sample", lambda p: ", ".join("%s %s" % (k, f_int(num(v)) if num(v) is not None else v)
                                                     for k, v in as_dict(p.env.get("ops")).items()) or None),
              ("unmatched file", lambda p: "`%s`" % p.env["file"] if p.env.get("file") else None),
              ("results", lambda p: "[%s](%s)" % (copies[p.key][1], copies[p.key][0]))]
    for name, fn in fields:
        rows.append([name] + [fn(p) if fn(p) not in (None, "") else DASH for p in places])
    out += md_table([""] + [p.label for p in places], rows)
    for p in places:
        notes = [n for n in as_list(p.env.get("notes")) if isinstance(n, str) and n.strip()]
        if notes:
            out += ["", "Notes (%s):" % p.label, ""] + ["- " + n for n in notes]
    return out


def hot_rows(p):
    rows = []
    base = p.cfg("baseline")
    if base is not None:
        if cfg_error(base):
            rows.append([cfg_label(base) + " (pooled)", "not measured: " + cfg_error(base)] + [""] * 5)
        else:
            rows.append([cfg_label(base) + " (pooled)",
                         f_ns(workload_median(base, "open")), "",
                         f_ns(workload_median(base, "read")), "",
                         f_us(workload_median(base, "exec")), ""])
    pooled_used = False
    for c in p.non_baseline():
        if cfg_error(c):
            rows.append([cfg_label(c), "not measured: " + cfg_error(c)] + [""] * 5)
            continue
        row = [cfg_label(c)]
        for w in WORKLOADS:
            m = workload_median(c, w)
            r, pooled = p.ratio(c, w)
            pooled_used |= pooled
            row += [f_us(m) if w == "exec" else f_ns(m), f_ratio(r, pooled)]
        rows.append(row)
    return rows, pooled_used


def per_place(title, intro, places, body):
    """A section with one subsection per place; body(p) gives its lines."""
    out = ["", "## " + title, "", intro]
    for p in places:
        out += ["", "### %s" % p.title, ""] + body(p)
    return out


def section_hot_path(places, rel_dir, pngs):
    def body(p):
        rows, pooled_used = hot_rows(p)
        if not rows:
            return ["Not measured."]
        out = md_table(["config", "open ns", "ratio", "read ns", "ratio", "exec µs", "ratio"], rows,
                       right=(1, 2, 3, 4, 5, 6))
        if pooled_used:
            out += ["", "\\* no per-configuration baseline recorded; ratio against the pooled baseline."]
        return out + img(rel_dir, pngs.get(("hot", p.key)), "hot path ratios, " + p.title)

    return per_place("Hot path",
                     "Median time per operation on the unmatched file; the baseline row is the pooled "
                     "baseline of the run, every ratio is against the baseline measured right before "
                     "that configuration.", places, body)


def section_prog_cost(places, rel_dir, pngs):
    def body(p):
        rows = []
        for c in p.configs:
            for r in prog_stats(c):
                rows.append([c["name"], "`%s`" % r["program"], r["type"], r["workload"],
                             f_int(r["run_cnt"]), f_fix(r["avg_ns"], 1)])
        if not rows:
            return ["Not measured."]
        out = md_table(["config", "program", "type", "workload", "run_cnt", "avg ns"], rows, right=(4, 5))
        a, b = p.cfg("1k"), p.cfg("1M")
        if a is not None and b is not None:
            la, lb = prog_lookup(a), prog_lookup(b)
            common = sorted(k for k in la if k in lb and la[k] and lb[k] is not None)
            if common:
                mains = main_programs(p)
                out += ["", "1M against 1k, every program that ran in both (main program of a "
                        "workload in bold):", ""]
                out += md_table(["program", "workload", "avg ns 1k", "avg ns 1M", "1M / 1k"],
                                [["**`%s`**" % k[0] if mains.get(k[1]) == k[0] else "`%s`" % k[0],
                                  k[1], f_fix(la[k], 1), f_fix(lb[k], 1), "%.2f×" % (lb[k] / la[k])]
                                 for k in common], right=(2, 3, 4))
        return out + img(rel_dir, pngs.get(("prog", p.key)), "BPF program cost vs entries, " + p.title)

    return per_place("Cost per BPF program",
                     "From `kernel.bpf_stats` during one extra sample of each workload: how often each "
                     "program ran and its average run time per call.", places, body)


def section_peers(places):
    out = ["", "## Peers", ""]
    any_peer = False
    for p in places:
        peers = p.peers()
        if not peers:
            continue
        any_peer = True
        out += ["### %s" % p.title, ""]
        rows = []
        for c in ([p.cfg("1k")] if p.cfg("1k") else []) + peers:
            name = "bulwark 1k" if c["name"] == "1k" else c["name"]
            rules = f_int(num(c.get("rules")))
            if cfg_error(c):
                rows.append([name, rules, "not measured: " + cfg_error(c), "", "", "", ""])
                continue
            links = link_summary(c)
            rows.append([name, rules] + [f_ratio(p.ratio(c, w)[0], p.ratio(c, w)[1]) for w in WORKLOADS]
                        + [v or DASH for v in links])
        out += md_table(["config", "rules", "open ratio", "read ratio", "exec ratio", "hardlink", "symlink"],
                        rows, right=(1, 2, 3, 4))
        out += [""]
    if not any_peer:
        out.append("Not measured.")
    elif out[-1] == "":
        out.pop()
    out += ["", "Links: opening a hard link or symlink to a kill-on-open file; `killed`/`denied` "
            "mean the rule held, `allowed` means the tool was fooled."] if any_peer else []
    return out


def losses_line(steps):
    for s in steps:
        if s["lost"] is not None and s["lost"] > 0:
            if s["offered_rate"] is None:
                return "Losses start at the max rate ({} caused/s achieved).".format(f_int(s["achieved"]))
            return "Losses start at {} offered.".format(f_rate(s))
    known = [s for s in steps if s["lost"] is not None]
    if not known:
        return "Losses not measured."
    top = known[-1]
    if top["offered_rate"] is None:
        return "No losses up to the max rate ({} caused/s achieved).".format(f_int(top["achieved"]))
    return "No losses up to {} offered.".format(f_rate(top))


def section_storm(places, rel_dir, pngs):
    def body(p):
        if p.storm is None:
            return ["Not measured."]
        if cfg_error(p.storm):
            return ["Not measured: %s" % cfg_error(p.storm)]
        out = []
        setup = [("processes", p.storm.get("processes")), ("ring buffer KiB", p.storm.get("ring_kib")),
                 ("audit flush", p.storm.get("audit_flush"))]
        setup = ["%s %s" % (k, v) for k, v in setup if v is not None]
        if setup:
            out += ["Setup: " + ", ".join(setup) + ".", ""]
        steps = storm_steps(p.storm)
        if not steps:
            return out + ["No steps measured."]
        out += md_table(["offered", "caused", "delivered", "lost", "unaccounted", "seconds", "events/s",
                         "consumer CPU s", "sink CPU s", "capacity/s"],
                        [[f_rate(s), f_int(s["caused"]), f_int(s["delivered"]), f_int(s["lost"]),
                          f_int(s["unaccounted"]), f_fix(s["seconds"], 2), f_int(s["events_per_s"]),
                          f_fix(s["consumer_cpu_s"], 2), f_fix(s["sink_cpu_s"], 2), f_int(s.get("capacity"))]
                         for s in steps],
                        right=tuple(range(1, 10)))
        out += ["", "capacity/s: delivered events per CPU second of the busier daemon thread "
                "(`bw-consumer` or `bw-sink`), i.e. what the pipeline sustains when it has a core to itself; "
                "events/s is end to end, with the producers competing for the same CPUs."]
        out += ["", losses_line(steps)]
        bad = [s for s in steps if s["unaccounted"] is not None and s["unaccounted"] > 0]
        if bad:
            out[-1] += " Unaccounted events at: %s." % ", ".join(
                "%s (%s)" % (f_rate(s), f_int(s["unaccounted"])) for s in bad)
        return out + img(rel_dir, pngs.get(("storm", p.key)), "event storm, " + p.title)

    return per_place("Event pipeline",
                     "Producers open a watched file at an offered rate (`max` = as fast as they can); "
                     "`caused` violations, `delivered` audit-log lines, `lost` counted by the daemon, "
                     "`unaccounted` = neither delivered nor counted as lost. `seconds` runs from the "
                     "first open to the last audit line.", places, body)


def section_reload(places, rel_dir, pngs):
    def body(p):
        cfgs = p.bulwark_configs()
        if not cfgs:
            return ["Not measured."]
        rows = []
        for c in cfgs:
            if cfg_error(c):
                rows.append([c["name"], f_int(num(c.get("entries"))), "not measured: " + cfg_error(c),
                             "", "", "", "", ""])
                continue
            m = as_dict(c.get("memory"))
            ph = as_dict(c.get("reload_phases_median_ms"))
            phases = " / ".join(f_fix(num(ph.get(k)), 0) for k in ("parse", "compile", "maps")) if ph else DASH
            rows.append([c["name"], f_int(num(c.get("entries"))), f_fix(num(c.get("startup_ms")), 1),
                         f_fix(num(c.get("reload_median_ms")), 1), phases, f_mib(num(m.get("rss_kib"))),
                         f_mib(num(m.get("hwm_kib"))), f_mib(num(m.get("bpf_map_kib")))])
        out = md_table(["config", "entries", "startup ms", "reload median ms", "parse / compile / maps ms",
                        "RSS MiB", "peak RSS MiB", "BPF maps MiB"], rows, right=(1, 2, 3, 4, 5, 6, 7))
        return out + img(rel_dir, pngs.get(("reload", p.key)), "reload time and memory, " + p.title)

    return per_place("Reload and memory",
                     "Startup: daemon start to READY=1. Reload: compile and switch, as the daemon "
                     "reports it (median). Memory after loading the policy.", places, body)


def section_analysis(path):
    out = ["", "## Analysis", ""]
    text = None
    if path:
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except FileNotFoundError:
            text = None
    if text is None or not text.strip():
        return out + ["(no analysis written)"]
    return out + [text.rstrip("\n")]


# --------------------------------------------------------------------------
# stdout


def print_summary(places, targets):
    w = sys.stdout.write
    for p in places:
        w("== %s: kernel %s, %s cpus, %s reps, %s ==\n" % (
            p.label, p.env.get("kernel", "?"), p.env.get("cpus", "?"), p.env.get("reps", "?"), p.env.get("date", "?")))
        rows = []
        for c in p.configs:
            if cfg_error(c):
                rows.append("%s: not measured: %s" % (c["name"], cfg_error(c)))
                continue
            base = p.kind(c) == "baseline"
            row = [c["name"]]
            for wl in WORKLOADS:
                m = workload_median(c, wl)
                r, pooled = (None, False) if base else p.ratio(c, wl)
                row += [f_us(m) if wl == "exec" else f_ns(m), "" if base else f_ratio(r, pooled)]
            rows.append(row)
        if rows:
            for line in text_table(["config", "open ns", "ratio", "read ns", "ratio", "exec us", "ratio"], rows):
                w(line + "\n")
        else:
            w("  hot path: not measured\n")
        if p.storm is None:
            w("  storm: not measured\n")
        elif cfg_error(p.storm):
            w("  storm: ERROR: %s\n" % cfg_error(p.storm))
        else:
            best, bad, steps = storm_best(p)
            w("  storm: %d steps; best with 0 unaccounted: %s events/s; %s%s\n" % (
                len(steps), f_int(best), losses_line(steps).rstrip(".").lower(),
                "; %d step(s) with unaccounted losses" % len(bad) if bad else ""))
        rel = ["%s %s" % (c["name"], f_fix(num(c.get("reload_median_ms")), 1) + " ms"
                          if num(c.get("reload_median_ms")) is not None else DASH)
               for c in p.bulwark_configs() if not cfg_error(c)]
        w("  reload (median): %s\n\n" % (", ".join(rel) if rel else "not measured"))
    w("== targets ==\n")
    for t in targets:
        w("  [%-15s] %s @ %s: %s\n" % (VERDICT_TEXT[t["verdict"]], t["target"], t["where"], t["measured"]))


# --------------------------------------------------------------------------


def load_places(paths):
    places, used = [], {}
    for path in paths:
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except (OSError, ValueError) as e:
            sys.exit("report.py: %s: %s" % (path, e))
        if not isinstance(data, dict):
            sys.exit("report.py: %s: not a JSON object" % path)
        if data.get("schema") not in (None, 1):
            print("report.py: %s: schema %r, expected 1; reading what is there" % (path, data.get("schema")),
                  file=sys.stderr)
        where = str(get(data, "env", "where") or "unknown")
        key = re.sub(r"[^A-Za-z0-9_.-]+", "_", where)
        used[key] = used.get(key, 0) + 1
        if used[key] > 1:
            key = "%s-%d" % (key, used[key])
        places.append(Place(path, data, key))
    return places


def main(argv=None):
    ap = argparse.ArgumentParser(description="Write docs/performance.md and its plots from bulwark-bench results.")
    ap.add_argument("--results", action="append", required=True, metavar="FILE",
                    help="a results file (bench/RESULTS-SCHEMA.md); repeat for each run place")
    ap.add_argument("--analysis", metavar="FILE", help="hand-written markdown included verbatim under ## Analysis")
    ap.add_argument("--out-md", required=True, metavar="FILE", help="the markdown page to write")
    ap.add_argument("--out-dir", required=True, metavar="DIR", help="where the PNGs and results copies go")
    args = ap.parse_args(argv)

    places = load_places(args.results)
    os.makedirs(args.out_dir, exist_ok=True)
    md_dir = os.path.dirname(os.path.abspath(args.out_md))
    os.makedirs(md_dir, exist_ok=True)
    rel_dir = os.path.relpath(os.path.abspath(args.out_dir), md_dir).replace(os.sep, "/")

    copies = {}
    for p in places:
        name = "results-%s.json" % p.key
        dst = os.path.join(args.out_dir, name)
        if os.path.abspath(p.path) != os.path.abspath(dst):
            shutil.copyfile(p.path, dst)
        copies[p.key] = ("%s/%s" % (rel_dir, name), name)

    pngs = {}
    for p in places:
        pngs[("hot", p.key)] = plot_hot_path(p, args.out_dir)
        pngs[("prog", p.key)] = plot_prog_cost(p, args.out_dir)
        pngs[("storm", p.key)] = plot_storm(p, args.out_dir)
        pngs[("reload", p.key)] = plot_reload(p, args.out_dir)

    targets = all_targets(places)
    lines = intro(places)
    lines += section_targets(targets)
    lines += section_machine(places, copies)
    lines += section_hot_path(places, rel_dir, pngs)
    lines += section_prog_cost(places, rel_dir, pngs)
    lines += section_peers(places)
    lines += section_storm(places, rel_dir, pngs)
    lines += section_reload(places, rel_dir, pngs)
    lines += section_analysis(args.analysis)
    with open(args.out_md, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")

    print_summary(places, targets)
    return 0


if __name__ == "__main__":
    sys.exit(main())
