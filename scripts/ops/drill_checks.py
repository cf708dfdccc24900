"""The fault drill's verdict on the Terraform's signals, from the lines the binary wrote:
each log-based metric and each alert's Logs Explorer query matches the lines of the
fault that should raise it and none of normal traffic's; every field they name is one
the binary writes; every label extractor yields a value on every line matched; every
label value a symptom alert counts was written. And the timeline, per signal: fault,
first matching line, recovery."""

from __future__ import annotations

from dataclasses import dataclass, field

import cloud_run_log
import logging_query as lq


@dataclass
class Phase:
    name: str
    fault: str
    started: float  # seconds since the drill began: the fault injected
    recovered: float | None = None
    recovery: str = ""
    ended: float = float("inf")


@dataclass
class Line:
    at: float
    phase: str
    entry: dict


@dataclass
class Verdict:
    failures: list[str] = field(default_factory=list)
    timeline: list[dict] = field(default_factory=list)

    def fail(self, message: str) -> None:
        self.failures.append(message)


def lines_of(captured: list[tuple[float, str]], phases: list[Phase], service: str) -> list[Line]:
    """The JSON lines, each as the LogEntry Cloud Run makes of it, tagged with the phase
    it was written in (before the first fault: `normal`)."""
    import json
    out = []
    for at, text in captured:
        try:
            line = json.loads(text)
        except ValueError:
            continue
        if not isinstance(line, dict):
            continue
        phase = "normal"
        for p in phases:
            if p.started <= at < p.ended:
                phase = p.name
        out.append(Line(at, phase, cloud_run_log.log_entry(line, service)))
    return out


def written(lines: list[Line], path: tuple[str, ...]) -> bool:
    return any(lq.lookup(l.entry, path) is not lq.MISSING for l in lines)


def check_query(verdict: Verdict, what: str, query: str, lines: list[Line], phases: list[str],
                by_name: dict[str, Phase]) -> list[Line]:
    """Parses `query`, checks the fields it names are written, that it matches each of
    `phases` and nothing of normal traffic; adds timeline rows; returns its matches."""
    try:
        tree = lq.parse(query)
    except lq.Unsupported as e:
        verdict.fail(f"{what}: its query is outside the drill's subset of the Logging query language ({e}): {query}")
        return []
    for path in sorted(lq.fields_of(tree)):
        if not written(lines, path):
            verdict.fail(f"{what}: names {'.'.join(path)}, which the binary never wrote in the drill")
    matched = [l for l in lines if lq.evaluate(tree, l.entry)]
    normal = [l for l in matched if l.phase == "normal"]
    if normal:
        verdict.fail(f"{what}: matches {len(normal)} line(s) of normal traffic, e.g. {normal[0].entry.get('jsonPayload')}")
    for name in phases:
        phase = by_name[name]
        mine = [l for l in matched if l.phase == name]
        if not mine:
            verdict.fail(f"{what}: matches none of the lines of its fault ({phase.fault})")
            continue
        after = [l for l in mine if phase.recovered is not None and l.at > phase.recovered]
        verdict.timeline.append({
            "signal": what, "fault": phase.fault,
            "first_line_s": round(mine[0].at - phase.started, 2),
            "lines": len(mine),
            "recovery_s": None if phase.recovered is None else round(phase.recovered - phase.started, 2),
            "recovery": phase.recovery, "lines_after_recovery": len(after),
        })
    return matched


def check_metric(verdict: Verdict, metric, lines, phases, by_name) -> dict[str, set[str]]:
    """Checks one log-based metric; returns the values each label took."""
    what = f"log-based metric {metric.key}"
    matched = check_query(verdict, what, metric.filter, lines, phases, by_name)
    values: dict[str, set[str]] = {label: set() for label in metric.labels}
    extractors = [(f"label {label}", ex) for label, ex in metric.labels.items()]
    if metric.value:
        extractors.append(("value", metric.value))
    for name, extractor in extractors:
        try:
            path = lq.extractor_field(extractor)
        except lq.Unsupported as e:
            verdict.fail(f"{what}: {name}: {e}")
            continue
        if not written(lines, path):
            verdict.fail(f"{what}: {name} extracts {'.'.join(path)}, which the binary never wrote in the drill")
            continue
        empty = 0
        for line in matched:
            value = lq.extract(extractor, line.entry)
            if name == "value":
                try:
                    float(value)
                except (TypeError, ValueError):
                    empty += 1
            elif value in (None, ""):
                empty += 1
            else:
                values[name.removeprefix("label ")].add(value)
        if empty:
            verdict.fail(f"{what}: {name} ({extractor}) yields nothing usable on {empty} of {len(matched)} lines")
    return values


def check_all(metrics, alerts, lines: list[Line], phases: list[Phase],
              metric_faults: dict[str, list[str]], alert_faults: dict[str, list[str]]) -> Verdict:
    verdict = Verdict()
    by_name = {p.name: p for p in phases}
    label_values: dict[str, dict[str, set[str]]] = {}
    for metric in metrics:
        if metric.key not in metric_faults:
            verdict.fail(f"log-based metric {metric.key}: no fault of the drill produces it (add one to scripts/ops/fault_drill.py)")
            continue
        label_values[metric.key] = check_metric(verdict, metric, lines, metric_faults[metric.key], by_name)
    for key, alert in alerts.items():
        if key not in alert_faults:
            verdict.fail(f"alert {key}: no fault of the drill raises it (add one to scripts/ops/fault_drill.py)")
            continue
        if not alert.policies:
            verdict.fail(f"alert documentation {key} is used by no alert policy")
        check_query(verdict, f"alert {key} (its Logs Explorer query)", alert.query, lines, alert_faults[key], by_name)
        if alert.metric is None:
            continue
        if alert.metric not in label_values:
            verdict.fail(f"alert {key}: counts log-based metric {alert.metric}, which terraform/ does not define")
            continue
        for label, value in alert.label_values.items():
            seen = label_values[alert.metric].get(label)
            if seen is None:
                verdict.fail(f"alert {key}: filters on label {label}, which metric {alert.metric} does not have")
            elif value not in seen:
                verdict.fail(f"alert {key}: counts {label}={value!r}, a value the binary never wrote (saw {sorted(seen)})")
    return verdict
