"""report.html: every experiment of a lab folder with its verdicts, tables, figures and configuration.

The report is rebuilt from the ``results.json`` files alone, so ``gradkit lab report DIR`` works on any
folder of runs (also one gathered from several machines)."""
from __future__ import annotations

import html
import json
import os

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:1150px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;
font-size:14px}th{background:#f3f3f3}.PASS{color:#17702a;font-weight:bold}.FAIL{color:#b00020;font-weight:bold}
img{max-width:100%;border:1px solid #eee;margin:.4em 0}section{border-top:2px solid #ddd;margin-top:2em}
code,pre{background:#f6f6f6;font-size:13px}pre{padding:.5em;overflow-x:auto}
"""


def load_runs(folder: str) -> list[dict]:
    """The results.json records under ``folder`` (one per experiment sub-folder), in the lab's order."""
    from . import registry
    from ..errors import FileError, MissingFileError
    if not os.path.isdir(folder):
        raise MissingFileError(f"{folder}: no such folder" if not os.path.exists(folder) else f"{folder} is not a folder")
    records = []
    for entry in sorted(os.listdir(folder)):
        path = os.path.join(folder, entry, "results.json")
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as f:
                try:
                    records.append(json.load(f))
                except json.JSONDecodeError as err:
                    raise FileError(f"{path} is not valid JSON ({err}); rerun that experiment") from None
    order = {name: i for i, name in enumerate(registry.names())}
    return sorted(records, key=lambda r: (order.get(r.get("experiment"), len(order)), r.get("experiment", "")))


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return html.escape(str(value))


def _table(columns, rows) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _colour(table: str) -> str:
    return table.replace("<td>PASS</td>", '<td class="PASS">PASS</td>').replace("<td>FAIL</td>", '<td class="FAIL">FAIL</td>')


def _status_of(seed_entry: dict, claim: str) -> str:
    return next((v["status"] for v in seed_entry.get("verdicts", []) if v["claim"] == claim), "absent")


def _section(record: dict) -> str:
    name = record["experiment"]
    verdicts = record.get("verdicts", [])
    status = "PASS" if all(v["status"] == "PASS" for v in verdicts) else "FAIL"
    seeds = record.get("seeds")
    seed_text = (f"seeds {', '.join(str(s['seed']) for s in seeds)} ({record.get('rule', '')})" if seeds
                 else f"seed {record.get('seed')}")
    parts = [f'<section id="{html.escape(name)}"><h2>{html.escape(record.get("title", name))} '
             f'<span class="{status}">{status}</span></h2>',
             f'<p><code>{html.escape(name)}</code>, {html.escape(record.get("size", ""))} run, {html.escape(seed_text)}, '
             f'{record.get("seconds", 0):.1f} s. Source: {html.escape(record.get("source", ""))}</p>']
    if record.get("summary"):
        parts.append(f"<p>{html.escape(record['summary'])}</p>")
    if seeds:
        parts.append(_colour(_table(["verdict", "claim", "held in seeds", "measured over the seeds", "expected"],
                                    [[v["status"], v["claim"], ", ".join(map(str, v.get("held", []))) or "none",
                                      v["measured"], v["expected"]] for v in verdicts])))
        parts.append("<h3>each seed's own check</h3>" + _colour(_table(
            ["claim"] + [f"seed {s['seed']}" for s in seeds],
            [[v["claim"]] + [_status_of(s, v["claim"]) for s in seeds] for v in verdicts])))
    else:
        parts.append(_colour(_table(["verdict", "claim", "measured", "expected"],
                                    [[f"{v['status']}", v["claim"], v["measured"], v["expected"]] for v in verdicts])))
    if record.get("figures_show"):
        parts.append(f"<p>Figures: {html.escape(record['figures_show'])}.</p>")
    for table in record.get("results", {}).get("tables", []):
        parts.append(f"<h3>{html.escape(table.get('title', ''))}</h3>" + _table(table["columns"], table["rows"]))
    for figure in record.get("figures", []):
        src = html.escape(f"{name}/{figure}")
        parts.append(f'<p><a href="{src}"><img src="{src}" alt="{html.escape(figure)}"></a></p>')
    config = json.dumps(record.get("config", {}), indent=1)
    parts.append(f"<details><summary>configuration</summary><pre>{html.escape(config)}</pre></details></section>")
    return "\n".join(parts)


def render(records: list[dict]) -> str:
    """The whole HTML page for ``records``."""
    summary_rows = []
    for r in records:
        verdicts = r.get("verdicts", [])
        passed = sum(v["status"] == "PASS" for v in verdicts)
        status = "PASS" if passed == len(verdicts) else "FAIL"
        summary_rows.append(f'<tr><td><a href="#{html.escape(r["experiment"])}">{html.escape(r["experiment"])}</a></td>'
                            f'<td>{html.escape(r.get("title", ""))}</td><td class="{status}">{status}</td>'
                            f'<td>{passed}/{len(verdicts)}</td><td>{r.get("seconds", 0):.1f} s</td></tr>')
    total = sum(r.get("seconds", 0) for r in records)
    all_pass = sum(all(v["status"] == "PASS" for v in r.get("verdicts", [])) for r in records)
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>gradkit lab report</title>"
            f"<style>{_STYLE}</style></head><body><h1>gradkit lab report</h1>"
            f"<p>{all_pass} of {len(records)} experiments pass every check; {total:.0f} s of computing.</p>"
            f"<table><tr><th>experiment</th><th>title</th><th>status</th><th>checks</th><th>time</th></tr>"
            f"{''.join(summary_rows)}</table>" + "\n".join(_section(r) for r in records) + "</body></html>")


def write_report(folder: str) -> str:
    """Write ``folder/report.html`` from the runs found in ``folder``; returns its path."""
    from ..data.atomic import atomic_write
    records = load_runs(folder)
    if not records:
        from ..errors import MissingFileError
        raise MissingFileError(f"no experiment results (*/results.json) in {folder}")
    path = os.path.join(folder, "report.html")
    with atomic_write(path) as f:
        f.write(render(records).encode("utf-8"))
    return path


def _markdown_table(columns, rows) -> str:
    cell = lambda v: (f"{v:.4g}" if isinstance(v, float) else str(v)).replace("|", "/")
    lines = ["| " + " | ".join(map(str, columns)) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def render_markdown(record: dict, heading: str = "##") -> str:
    """One run's verdicts and tables as Markdown (for docs/lab pages), from its results.json record."""
    verdicts = record.get("verdicts", [])
    passed = sum(v["status"] == "PASS" for v in verdicts)
    seeds = record.get("seeds")
    if seeds:
        parts = [f"{heading} {record.get('size', '')} run, seeds {', '.join(str(s['seed']) for s in seeds)}: "
                 f"{passed}/{len(verdicts)} claims PASS ({record.get('seconds', 0):.0f} s over all seeds)", "",
                 f"Rule: {record.get('rule', '')}. Figures: {record.get('figures_show', '')}.", "",
                 _markdown_table(["claim", "decision", "held in seeds", "measured over the seeds"],
                                 [[v["claim"], v["status"], ", ".join(map(str, v.get("held", []))) or "none",
                                   v["measured"]] for v in verdicts])]
    else:
        parts = [f"{heading} {record.get('size', '')} run, seed {record.get('seed')}: {passed}/{len(verdicts)} verdicts "
                 f"PASS ({record.get('seconds', 0):.0f} s)", "",
                 _markdown_table(["verdict", "status", "measured"], [[v["claim"], v["status"], v["measured"]] for v in verdicts])]
    for table in record.get("results", {}).get("tables", []):
        parts += ["", f"{table.get('title', '')}:", "", _markdown_table(table["columns"], table["rows"])]
    return "\n".join(parts) + "\n"
