"""The job history server's HTML: a list of jobs, and a job's stages, counters, tasks and timeline.

Plain HTML with inline CSS and an inline SVG timeline (no script, nothing fetched from
elsewhere). The timeline has one lane per worker and one bar per task attempt, placed by the
worker's clock; a bar's tooltip gives its attempt, duration and records. What a Hadoop user
looks for is marked: a straggler (an attempt much slower than its kind's median) and a skewed
reducer (far more input records than the median reducer).
"""

from __future__ import annotations

import statistics
import time
from html import escape
from typing import Any
from urllib.parse import quote

from hiveish.history.archive import ArchivedJob

__all__ = ["job_page", "jobs_page", "message_page"]

STRAGGLER_FACTOR = 1.5  # an attempt this many times its kind's median duration (and 1 s more) is a straggler
SKEW_FACTOR = 2.0  # a reducer with this many times the median reducer's input records is skewed
INPUT_COUNTER = {"MAP": "MAP_INPUT_RECORDS", "REDUCE": "REDUCE_INPUT_RECORDS"}
OUTPUT_COUNTER = {"MAP": "MAP_OUTPUT_RECORDS", "REDUCE": "REDUCE_OUTPUT_RECORDS"}

_CSS = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em 2em; color: #222; }
h1 { font-size: 1.4em; margin: 0 0 .6em; } h2 { font-size: 1.1em; margin: 1.4em 0 .5em; }
a { color: #1558b0; text-decoration: none; } a:hover { text-decoration: underline; }
table { border-collapse: collapse; margin: .3em 0; }
th, td { border-bottom: 1px solid #ddd; padding: 3px 10px 3px 0; text-align: left; vertical-align: top; }
th { font-weight: 600; border-bottom: 2px solid #bbb; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
code, .mono { font-family: ui-monospace, monospace; font-size: 12.5px; }
.status { font-weight: 600; } .SUCCEEDED { color: #1a7f37; } .FAILED { color: #c62828; }
.KILLED { color: #8a5a00; } .RUNNING { color: #1558b0; }
.query { max-width: 60em; white-space: pre-wrap; background: #f6f8fa; padding: .5em .7em; border-radius: 4px; }
.note { background: #fff8e1; padding: .3em .6em; border-left: 3px solid #f2b600; margin: .3em 0; }
.flag { color: #c62828; font-weight: 600; } .muted { color: #777; }
.stages a.current { font-weight: 700; color: #222; }
svg.timeline text { font: 11px ui-monospace, monospace; fill: #333; }
svg.timeline .lane { fill: #f4f6f8; } svg.timeline .grid { stroke: #d0d7de; stroke-width: 1; }
svg.timeline rect.attempt { stroke: #fff; stroke-width: .5; }
svg.timeline rect.kind-MAP { fill: #4a90d9; } svg.timeline rect.kind-REDUCE { fill: #e8912d; }
svg.timeline rect.kind-SAMPLE { fill: #9aa5b1; }
svg.timeline rect.status-FAILED, svg.timeline rect.status-KILLED { fill: #d9534f; fill-opacity: .75; }
svg.timeline rect.straggler { stroke: #222; stroke-width: 2; }
.legend span { display: inline-block; margin-right: 1.2em; }
.legend i { display: inline-block; width: 12px; height: 12px; vertical-align: -1px; margin-right: 4px; }
"""


def _page(title: str, body: str) -> str:
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{escape(title)}</title>"
            f"<style>{_CSS}</style></head><body>\n{body}\n</body></html>\n")


def _when(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) if t else ""


def _status(s: str) -> str:
    return f'<span class="status {escape(s)}">{escape(s)}</span>'


def _job_link(job_id: str) -> str:
    return f'<a href="/job/{quote(job_id)}" class="mono">{escape(job_id)}</a>'


def message_page(title: str, text: str) -> str:
    return _page(title, f'<p><a href="/">&larr; all jobs</a></p><h1>{escape(title)}</h1><p>{escape(text)}</p>')


def jobs_page(jobs: list[ArchivedJob], archive: str) -> str:
    """Every job kept, newest first."""
    rows = []
    for j in jobs:
        query = " ".join(j.query.split())
        rows.append(
            f"<tr class=\"job\" data-job=\"{escape(j.job_id)}\"><td>{_job_link(j.job_id)}</td><td>{escape(j.stage)}</td>"
            f"<td>{_status(j.status)}</td><td>{escape(j.user)}</td><td>{_when(j.submitted)}</td>"
            f"<td class=n>{j.elapsed:.2f} s</td><td class=n>{j.maps}</td><td class=n>{j.reduces}</td>"
            f"<td class=mono title=\"{escape(query)}\">{escape(query[:90] + ('…' if len(query) > 90 else ''))}</td></tr>")
    table = ("<table><tr><th>Job</th><th>Stage</th><th>Status</th><th>User</th><th>Submitted</th><th>Elapsed</th>"
             "<th>Maps</th><th>Reduces</th><th>Query</th></tr>" + "".join(rows) + "</table>") if rows else \
        "<p class=muted>No jobs archived yet.</p>"
    return _page("hiveish job history", f"<h1>MapReduce jobs</h1><p class=muted>{len(jobs)} job(s) in "
                 f"<code>{escape(archive)}</code>, newest first.</p>{table}")


def _duration(a: dict[str, Any]) -> float:
    return max(0.0, float(a["finished"]) - float(a["started"]))


def _flags(attempts: list[dict[str, Any]]) -> tuple[set[str], set[str]]:
    """(straggler attempt ids, skewed reduce attempt ids) among the succeeded attempts."""
    stragglers: set[str] = set()
    skewed: set[str] = set()
    for kind in ("MAP", "REDUCE"):
        done = [a for a in attempts if a["kind"] == kind and a["status"] == "SUCCEEDED"]
        if len(done) < 2:
            continue
        med = statistics.median(_duration(a) for a in done)
        stragglers |= {a["attempt_id"] for a in done if _duration(a) > STRAGGLER_FACTOR * med + 1.0}
        if kind == "REDUCE":
            inputs = [a["counters"].get("REDUCE_INPUT_RECORDS", 0) for a in done]
            mid = statistics.median(inputs)
            skewed |= {a["attempt_id"] for a, n in zip(done, inputs) if n > max(SKEW_FACTOR * mid, mid + 1000)}
    return stragglers, skewed


def _task_summary(attempts: list[dict[str, Any]]) -> str:
    rows = []
    for kind in ("MAP", "REDUCE", "SAMPLE"):
        mine = [a for a in attempts if a["kind"] == kind]
        if not mine:
            continue
        done = [a for a in mine if a["status"] == "SUCCEEDED"]
        d = [_duration(a) for a in done] or [0.0]
        key = INPUT_COUNTER.get(kind)
        inputs = [a["counters"].get(key, 0) for a in done] if key else []
        recs = (f"{min(inputs)} / {int(statistics.median(inputs))} / {max(inputs)}" if inputs else "")
        rows.append(f"<tr><td>{kind}</td><td class=n>{len({a['task'] for a in mine})}</td><td class=n>{len(mine)}</td>"
                    f"<td class=n>{len(mine) - len(done)}</td><td class=n>{min(d):.2f} / {statistics.median(d):.2f} / "
                    f"{max(d):.2f} s</td><td class=n>{recs}</td></tr>")
    return ("<table><tr><th>Kind</th><th>Tasks</th><th>Attempts</th><th>Not succeeded</th>"
            "<th>Duration min / median / max</th><th>Input records min / median / max</th></tr>"
            + "".join(rows) + "</table>")


def _timeline(job: ArchivedJob, stragglers: set[str], skewed: set[str]) -> str:
    """An SVG: one lane per worker, one bar per attempt, x in seconds since the job started."""
    attempts = [a for a in job.attempts if a["finished"] >= a["started"] > 0]
    if not attempts:
        return "<p class=muted>No task attempts recorded.</p>"
    lanes: list[str] = []
    for a in attempts:  # in start order: a worker's lane comes when it first ran something
        w = a["worker"] or "(lost worker)"
        if w not in lanes:
            lanes.append(w)
    t0 = min([job.submitted] + [a["started"] for a in attempts]) if job.submitted else min(a["started"] for a in attempts)
    t1 = max(a["finished"] for a in attempts)
    span = max(t1 - t0, 1e-3)
    label_w, plot_w, lane_h, top = 190, 820, 22, 22
    height = top + lane_h * len(lanes) + 8

    def x(t: float) -> float:
        return label_w + (t - t0) / span * plot_w

    parts = [f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" width="{label_w + plot_w + 20}" '
             f'height="{height}" role="img" aria-label="task attempts per worker over time">']
    step = _tick_step(span)
    n = 0
    while n * step <= span + 1e-9:
        tx = x(t0 + n * step)
        parts.append(f'<line class="grid" x1="{tx:.1f}" y1="{top - 4}" x2="{tx:.1f}" y2="{height - 4}"/>'
                     f'<text x="{tx:.1f}" y="{top - 8}" text-anchor="middle">{n * step:g}s</text>')
        n += 1
    for i, w in enumerate(lanes):
        y = top + i * lane_h
        parts.append(f'<rect class="lane" x="{label_w}" y="{y}" width="{plot_w}" height="{lane_h - 4}"/>'
                     f'<text class="worker" x="{label_w - 6}" y="{y + lane_h / 2 + 2}" text-anchor="end">'
                     f'{escape(w[-28:])}</text>')
    for a in attempts:
        y = top + lanes.index(a["worker"] or "(lost worker)") * lane_h
        ax, aw = x(a["started"]), max(2.0, _duration(a) / span * plot_w)
        classes = f"attempt kind-{a['kind']} status-{a['status']}"
        if a["attempt_id"] in stragglers:
            classes += " straggler"
        if a["attempt_id"] in skewed:
            classes += " skewed"
        key = INPUT_COUNTER.get(a["kind"])
        recs = f", {a['counters'].get(key, 0)} input records" if key and a["counters"] else ""
        tip = (f"{a['attempt_id']} {a['kind']} {a['status']} {_duration(a):.3f} s on {a['worker'] or 'a lost worker'} "
               f"(host {a['host'] or '?'}){recs}" + (f": {a['error']}" if a["error"] else ""))
        parts.append(f'<rect class="{classes}" data-attempt="{escape(a["attempt_id"])}" '
                     f'data-worker="{escape(a["worker"])}" x="{ax:.1f}" y="{y}" width="{aw:.1f}" '
                     f'height="{lane_h - 4}"><title>{escape(tip)}</title></rect>')
    parts.append("</svg>")
    legend = ('<p class="legend"><span><i style="background:#4a90d9"></i>map</span>'
              '<span><i style="background:#e8912d"></i>reduce</span><span><i style="background:#9aa5b1"></i>sample'
              '</span><span><i style="background:#d9534f"></i>failed / killed</span>'
              '<span><i style="border:2px solid #222;width:9px;height:9px"></i>straggler</span></p>')
    return legend + "".join(parts)


def _tick_step(span: float) -> float:
    for step in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600):
        if span / step <= 10:
            return step
    return 7200


def job_page(job: ArchivedJob, stages: list[ArchivedJob]) -> str:
    """One job: summary, the statement's stages, counters, task summary, timeline, attempts."""
    from executors.mapreduce.runner import COUNTER_ORDER

    stragglers, skewed = _flags(job.attempts)
    stage_links = " ".join(
        f'<a href="/job/{quote(s.job_id)}"{" class=current" if s.job_id == job.job_id else ""}>{escape(s.stage)}</a> '
        f"{_status(s.status)}" for s in stages)
    summary = (f"<table><tr><th>Status</th><td>{_status(job.status)}</td></tr>"
               f"<tr><th>Stage</th><td>{escape(job.stage)}</td></tr>"
               f"<tr><th>User</th><td>{escape(job.user)}</td></tr>"
               f"<tr><th>Driver</th><td class=mono>{escape(job.host)} (pid {job.pid}), runner {escape(job.runner)}</td></tr>"
               f"<tr><th>Submitted</th><td>{_when(job.submitted)}</td></tr>"
               f"<tr><th>Elapsed</th><td>{job.elapsed:.3f} s</td></tr>"
               f"<tr><th>Map tasks</th><td>{job.maps_done} / {job.maps}</td></tr>"
               f"<tr><th>Reduce tasks</th><td>{job.reduces_done} / {job.reduces}</td></tr></table>")
    keys = [k for k in COUNTER_ORDER if k in job.counters] + sorted(k for k in job.counters if k not in COUNTER_ORDER)
    counters = "<table>" + "".join(f"<tr><td class=mono>{escape(k)}</td><td class=n>{job.counters[k]}</td></tr>"
                                   for k in keys) + "</table>" if keys else "<p class=muted>None.</p>"
    notes = "".join(f'<div class="note">{escape(n)}</div>' for n in job.notes)
    flagged = ""
    if stragglers or skewed:
        items = [f"<li><code>{escape(a)}</code> is a straggler (over {STRAGGLER_FACTOR}× its kind's median "
                 "duration)</li>" for a in sorted(stragglers)]
        items += [f"<li><code>{escape(a)}</code> is a skewed reducer (over {SKEW_FACTOR}× the median reducer's input "
                  "records)</li>" for a in sorted(skewed)]
        flagged = f'<div class="flag"><ul>{"".join(items)}</ul></div>'
    rows = []
    t0 = job.submitted or min((a["started"] for a in job.attempts), default=0.0)
    for a in job.attempts:
        ik, ok = INPUT_COUNTER.get(a["kind"]), OUTPUT_COUNTER.get(a["kind"])
        mark = (" <span class=flag>straggler</span>" if a["attempt_id"] in stragglers else "") + \
               (" <span class=flag>skewed</span>" if a["attempt_id"] in skewed else "")
        rows.append(
            f"<tr class=\"attempt-row\"><td class=mono>{escape(a['attempt_id'])}{mark}</td><td>{a['kind']}</td>"
            f"<td>{_status(a['status'])}</td><td class=mono>{escape(a['worker'] or '(lost)')}</td>"
            f"<td class=n>{max(0.0, a['started'] - t0):.3f}</td><td class=n>{_duration(a):.3f}</td>"
            f"<td class=n>{a['counters'].get(ik, '') if ik else ''}</td>"
            f"<td class=n>{a['counters'].get(ok, '') if ok else ''}</td><td>{escape(a['error'])}</td></tr>")
    attempts = ("<table><tr><th>Attempt</th><th>Kind</th><th>Status</th><th>Worker</th><th>Start (s)</th>"
                "<th>Duration (s)</th><th>Input records</th><th>Output records</th><th>Error</th></tr>"
                + "".join(rows) + "</table>")
    failures = ("<h2>Failed attempts</h2><ul>" + "".join(f"<li class=mono>{escape(f)}</li>" for f in job.failures)
                + "</ul>") if job.failures else ""
    body = (f'<p><a href="/">&larr; all jobs</a></p><h1>Job <span class="mono">{escape(job.job_id)}</span></h1>'
            f'<div class="query mono">{escape(job.query)}</div>'
            f'<p class="stages">Stages of this statement: {stage_links}</p>{summary}{notes}'
            f"<h2>Timeline of task attempts per worker</h2>{_timeline(job, stragglers, skewed)}{flagged}"
            f"<h2>Tasks</h2>{_task_summary(job.attempts)}<h2>Counters</h2>{counters}{failures}"
            f"<h2>Attempts</h2>{attempts}")
    return _page(f"{job.job_id} - hiveish job history", body)
