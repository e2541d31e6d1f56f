"""The README's benchmark tables, rendered from the committed JSON (`brainnet bench readme`).

The tables between `<!-- bench:start -->` and `<!-- bench:end -->` in README.md are never
typed by hand: `render` turns bench/results/{pipeline,gas,e2e}.json into Markdown and
`update_readme` puts it between the markers. A test checks that the README's block equals
what `render` makes of the committed files, so a rerun benchmark must be followed by
`brainnet bench readme`. A missing file renders as a line saying which command makes it.
"""
from __future__ import annotations

import json
from pathlib import Path

from brainnet.errors import ConfigError

START = "<!-- bench:start -->"
END = "<!-- bench:end -->"
SOURCES = ("pipeline", "gas", "e2e")


def _load(results: Path, name: str) -> dict | None:
    path = results / f"{name}.json"
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except ValueError as exc:
        raise ConfigError(f"{path} is not JSON ({exc}); rerun `brainnet bench {name}`") from exc


def _num(value, fmt: str = "{:,}") -> str:
    if value is None:
        return "—"
    try:
        return fmt.format(value)
    except (ValueError, TypeError):
        return str(value)


def _table(header: list[str], rows: list[list[str]], align: list[str] | None = None) -> list[str]:
    align = align or ["l"] + ["r"] * (len(header) - 1)
    sep = ["---:" if a == "r" else "---" for a in align]
    return ["| " + " | ".join(header) + " |", "| " + " | ".join(sep) + " |"] + ["| " + " | ".join(r) + " |" for r in rows]


def render_pipeline(p: dict | None) -> list[str]:
    out = ["### BRAIN's simulation, reproduced (`brainnet bench pipeline`)", ""]
    if p is None:
        return out + ["Not measured yet: run `brainnet bench pipeline`.", ""]
    b, paper, sd = p["brain_model"], p["paper"], p["brain_model"].get("spread", {})

    def pm(key: str, fmt: str) -> str:
        s = sd.get(key, {}).get("std")
        return _num(b[key if key != "timeouts" else "timeouts_mean"], fmt) + (f" ± {fmt.format(s)}" if s is not None else "")

    lo, hi = paper["timeouts_per_819"]
    out += [f"Q_C = 11, Q_TO = 20, mean ± std over {b['repeats']} seeds, beside the paper's figures:", ""]
    out += _table(["figure", "ours", "BRAIN"], [
        ["two-phase TPS", pm("two_phase_tps", "{:.2f}"), f"≈{paper['two_phase_tps']:g}"],
        ["single-phase TPS", pm("single_phase_tps", "{:.4f}"), f"≈{paper['single_phase_tps']}"],
        ["two-phase / single-phase", pm("ratio", "{:.2f}"), f"{paper['ratio']}"],
        ["timeouts per 819 requests", pm("timeouts", "{:.2f}"), f"≈{lo}–{hi}"],
        ["median latency (blocks)", _num(b["latency_blocks_median"], "{:g}"), f"{paper['latency_blocks_median']}"],
    ])
    sweeps = p.get("sweeps") or []
    if sweeps:
        qtos = sorted({s["qto"] for s in sweeps})
        cells = {(s["qc"], s["qto"]): s for s in sweeps}
        out += ["", "Two-phase TPS / timeouts per 819 requests, by Q_C (rows) and Q_TO (columns):", ""]
        out += _table(["Q_C"] + [f"Q_TO = {q}" for q in qtos],
                      [[str(qc)] + [f"{cells[qc, q]['two_phase_tps']:.1f} / {cells[qc, q]['timeouts_mean']:.1f}"
                                    if (qc, q) in cells else "—" for q in qtos]
                       for qc in sorted({s["qc"] for s in sweeps})])
    if p.get("our_models"):
        be = p.get("break_even_inference_s")
        out += ["", "The same model with our measured inference times"
                + (f" (two-phase wins above {be * 1000:.1f} ms per inference)" if be else "") + ":", ""]
        out += _table(["model", "mean inference", "single-phase TPS", "two-phase / single-phase"],
                      [[r["model"], f"{r['mean_inference_s'] * 1000:.3f} ms", _num(r.get("single_phase_tps"), "{:.1f}"),
                        _num(r["ratio"], "{:.3f}")] for r in p["our_models"]])
    return out + [""]


# per_task entries that are totals of other operations, not inference tasks (bench/gas_rounds.py)
TOTALS = {"training_round": "training round", "governance_proposal": "governance proposal"}


def render_gas(g: dict | None) -> list[str]:
    out = ["### Gas from real receipts (`brainnet bench gas`)", ""]
    if g is None:
        return out + ["Not measured yet: run `brainnet bench gas`.", ""]
    chain = g.get("notes", {}).get("primary_chain", "anvil")
    rows = []
    for op, row in g["per_op"].items():
        if row is None:
            rows.append([op, "—", "—", "", ""])
            continue
        rows.append([op, _num(row.get("mean")), _num(row.get("max")), _num(row["brain"]) if "brain" in row else "",
                     _num(row.get("ratio_to_brain"), "{:.2f}") if "ratio_to_brain" in row else ""])
    out += [f"Per operation on {chain} (mean and max over the run's receipts); BRAIN's published figure beside it:", ""]
    out += _table(["operation", "mean", "max", "BRAIN", "ours / BRAIN"], rows)
    out += ["", "Per settled task (request + draw + K commits + K reveals + finalize):", ""]
    trows = []
    for key, row in g["per_task"].items():
        if key in TOTALS:
            continue
        un, ba = row.get("unbatched"), row.get("batched")
        trows.append([f"K = {key[1:].replace('_', ' (')}" + (")" if "_" in key else ""), _num((un or {}).get("mean")), _num((ba or {}).get("mean")),
                      _num(row.get("brain") or (un or {}).get("brain") or (g.get("brain_reference", {}).get("per_task_k11")
                                                                          if key == "k11" else None))])
    out += _table(["committee", "unbatched", "batched", "BRAIN"], trows)
    k11 = g["per_task"].get("k11") or {}
    if k11.get("batched"):
        out += ["", f"Batched: {k11['batched'].get('what', '')}."]
    if k11.get("batched_chunk16"):
        out += [f"K = 11 batched with requests, draws and finalizes in chunks of 16 tasks: "
                f"{_num(k11['batched_chunk16'].get('mean'))} gas per task."]
    totals = [(TOTALS[key], g["per_task"][key]) for key in TOTALS if g["per_task"].get(key)]
    if totals:
        out += ["", "Per training round and per governance parameter change (sum of their transactions):", ""]
        out += _table(["operation", "mean", "max", "shape", "what"],
                      [[name, _num(row.get("mean")), _num(row.get("max")),
                        ", ".join(f"{k} {v}" for k, v in (row.get("shape") or {}).items()), row.get("what", "")]
                       for name, row in totals], ["l", "r", "r", "l", "l"])
    return out + [""]


def render_e2e(e: dict | None) -> list[str]:
    out = ["### The real network on anvil (`brainnet bench e2e`)", ""]
    if e is None:
        return out + ["Not measured yet: run `brainnet bench e2e`.", ""]
    cfg = e["config"]
    out += [f"{cfg['nodes']} node processes, {cfg['clients']} concurrent clients, {cfg['tasks']} digits-MLP tasks per "
            f"run; efficiency = tasks/s ÷ (ceiling ÷ transactions per task). Headline ({e['headline']['mode']}, "
            f"K = {e['headline']['k']}): {_num(e['tasks_per_s'], '{:g}')} tasks/s, efficiency "
            f"{_num(e['efficiency'], '{:g}')}, two-phase / single-phase {_num(e['two_phase_over_single_phase'], '{:g}')}.",
            "",
            "The gas bound is the efficiency a chain limited by gas per second allows whatever the nodes do: "
            f"a ceiling transfer costs {_num(e.get('transfer_gas'), '{:,}')} gas, so tasks/s can be at most "
            "ceiling × transfer gas ÷ gas per task.", ""]
    rows = []
    for mode, pm in e["per_mode"].items():
        rows.append([mode, "ceiling: plain token transfers", "", _num(pm["ceiling_tx_per_s"], "{:,.0f} tx/s"), "1", "",
                     "", "", "", "", ""])
        single = e["runs"][mode]["single_phase"]
        rows.append([mode, "single-phase emulation", f"{single.get('settled', '—')}/{single.get('tasks', '—')}",
                     _num(pm["single_phase_tasks_per_s"], "{:g}"), "1", "", "", "",
                     "0 / 0", f"{_num(single['latency_s']['median'], '{:g}')} / {_num(single['latency_s']['p95'], '{:g}')}",
                     ""])
        for key, runs in pm.items():
            if not isinstance(runs, dict):
                continue
            for b, m in runs.items():
                if m is None:
                    rows.append([mode, f"two-phase K = {key[1:]}, {b}", "not run", "", "", "", "", "", "", "", ""])
                    continue
                rows.append([mode, f"two-phase K = {key[1:]}, {b}", f"{m.get('settled', '—')}/{m.get('tasks', '—')}",
                             _num(m["tasks_per_s"], "{:g}"),
                             _num(m["txs_per_task"], "{:g}"), _num(m["efficiency"], "{:g}"),
                             _num(m.get("gas_per_task"), "{:,}"), _num(m.get("efficiency_gas_bound"), "{:g}"),
                             f"{_num(m['latency_blocks']['median'], '{:g}')} / {_num(m['latency_blocks']['p95'], '{:g}')}",
                             f"{_num(m['latency_s']['median'], '{:g}')} / {_num(m['latency_s']['p95'], '{:g}')}",
                             _num(m.get("two_phase_over_single_phase"), "{:g}")])
    out += _table(["chain", "run", "settled", "tasks/s", "txs/task", "efficiency", "gas/task", "gas bound",
                   "latency blocks (median / p95)", "latency s (median / p95)", "two-phase / single-phase"],
                  rows, ["l", "l"] + ["r"] * 9)
    out += ["", f"A run stops after {_num(cfg.get('phase_cap_s'), '{:g}')} s with what settled by then (settled < tasks)."]
    if e.get("notes", {}).get("batched"):
        out += ["", f"Note: {e['notes']['batched']}."]
    plots = e.get("plots") or []
    if plots:
        out += [""] + [f"![{Path(p).stem}](bench/results/{Path(p).name})" for p in plots]
    return out + [""]


def render(results: Path) -> str:
    """The Markdown block (without the markers) for the JSON files in `results`."""
    parts = ["<!-- generated by `brainnet bench readme` from bench/results/*.json; do not edit by hand -->", ""]
    parts += render_pipeline(_load(results, "pipeline"))
    parts += render_gas(_load(results, "gas"))
    parts += render_e2e(_load(results, "e2e"))
    return "\n".join(parts).rstrip() + "\n"


def readme_block(text: str) -> str:
    """What stands between the markers of a README."""
    if START not in text or END not in text:
        raise ConfigError(f"README has no {START} … {END} block; add both markers where the tables go")
    return text.split(START, 1)[1].split(END, 1)[0].lstrip("\n")


def update_readme(readme: Path, results: Path) -> bool:
    """Write the rendered block between the markers; returns whether the README changed."""
    text = readme.read_text()
    old = readme_block(text)
    new = render(results)
    if old == new:
        return False
    head, rest = text.split(START, 1)
    tail = rest.split(END, 1)[1]
    readme.write_text(f"{head}{START}\n{new}{END}{tail}")
    return True
