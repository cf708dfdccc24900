#!/usr/bin/env python3
"""The rollout gate of the deploy workflow (scripts/rollout): reads the candidate
revision's and the previous revision's 5xx ratio and p95 latency from Cloud Monitoring
(Cloud Run's run.googleapis.com/request_count and request_latencies) and decides.

  promote   the candidate is not worse than the previous revision by the margins
  rollback  it is: more 5xx (at least --min-errors of them, and a ratio more than
            --max-error-increase above the previous one's), or, with at least
            --min-requests requests, a p95 above both --latency-factor times and
            --latency-slack-ms more than the previous one's
  wait      too few requests yet to judge latency, and no error evidence

With no previous revision (a first deploy) or no traffic on it, the candidate is held
to absolute bounds instead: a 5xx ratio of at most --max-error-increase and a p95 of at
most --max-p95-ms.

Prints one JSON line (the decision, its reasons, the figures) and exits 0 (promote),
1 (rollback), 3 (wait) or 2 (the figures could not be read). The access token comes
from GCP_ACCESS_TOKEN (`gcloud auth print-access-token`). --replay DIR decides on
recorded timeSeries.list answers instead (DIR/{candidate,previous}_{counts,latency}.json),
as the unit tests do.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

API = "https://monitoring.googleapis.com/v3/projects/{project}/timeSeries"
PROMOTE, ROLLBACK, WAIT = 0, 1, 3


@dataclass
class Figures:
    requests: int
    errors: int  # 5xx
    p95_ms: float | None

    @property
    def error_ratio(self) -> float:
        return self.errors / self.requests if self.requests else 0.0


def queries(service: str, revision: str, start: str, end: str, period: int) -> dict[str, dict]:
    """timeSeries.list parameters: the revision's requests by response class, and its
    p95 latency, each as one point over [start, end]."""
    scope = (f'resource.type="cloud_run_revision" AND resource.labels.service_name="{service}" '
             f'AND resource.labels.revision_name="{revision}"')
    common = {"interval.startTime": start, "interval.endTime": end,
              "aggregation.alignmentPeriod": f"{period}s", "aggregation.perSeriesAligner": "ALIGN_DELTA"}
    return {
        "counts": {**common, "filter": f'metric.type="run.googleapis.com/request_count" AND {scope}',
                   "aggregation.crossSeriesReducer": "REDUCE_SUM",
                   "aggregation.groupByFields": "metric.label.response_code_class"},
        "latency": {**common, "filter": f'metric.type="run.googleapis.com/request_latencies" AND {scope}',
                    "aggregation.crossSeriesReducer": "REDUCE_PERCENTILE_95"},
    }


def number(value: dict) -> float:
    for key in ("int64Value", "doubleValue"):
        if key in value:
            return float(value[key])  # int64 comes as a JSON string
    raise ValueError(f"not a number: {value}")


def figures(counts: list[dict], latency: list[dict]) -> Figures:
    """Sums the count series' points (one series per response class); takes the largest
    p95 point if the window came back as more than one."""
    requests = errors = 0
    for series in counts:
        total = sum(number(p["value"]) for p in series.get("points", []))
        requests += int(total)
        if series.get("metric", {}).get("labels", {}).get("response_code_class") == "5xx":
            errors += int(total)
    p95 = [number(p["value"]) for s in latency for p in s.get("points", [])]
    return Figures(requests, errors, max(p95) if p95 else None)


def decide(candidate: Figures, previous: Figures | None, opts) -> tuple[int, list[str]]:
    reasons = []
    judged_against = previous if previous is not None and previous.requests > 0 else None
    allowed = (judged_against.error_ratio if judged_against else 0.0) + opts.max_error_increase
    if candidate.errors >= opts.min_errors and candidate.error_ratio > allowed:
        reasons.append(f"5xx ratio {candidate.error_ratio:.2%} ({candidate.errors} of {candidate.requests}) is above "
                       f"{allowed:.2%}" + (f" (previous {judged_against.error_ratio:.2%} + {opts.max_error_increase:.2%})"
                                           if judged_against else " (no previous traffic: the absolute bound)"))
        return ROLLBACK, reasons
    if candidate.requests < opts.min_requests or candidate.p95_ms is None:
        reasons.append(f"{candidate.requests} requests so far, fewer than {opts.min_requests} to judge latency; "
                       f"{candidate.errors} 5xx")
        return WAIT, reasons
    if judged_against and judged_against.p95_ms is not None and judged_against.requests >= opts.min_requests:
        bound = max(judged_against.p95_ms * opts.latency_factor, judged_against.p95_ms + opts.latency_slack_ms)
        basis = f"previous {judged_against.p95_ms:.0f} ms x {opts.latency_factor} or + {opts.latency_slack_ms:.0f} ms"
    else:
        bound, basis = opts.max_p95_ms, "no previous figures: the absolute bound"
    if candidate.p95_ms > bound:
        reasons.append(f"p95 latency {candidate.p95_ms:.0f} ms is above {bound:.0f} ms ({basis})")
        return ROLLBACK, reasons
    reasons.append(f"5xx {candidate.error_ratio:.2%} within {allowed:.2%}; p95 {candidate.p95_ms:.0f} ms within {bound:.0f} ms")
    return PROMOTE, reasons


def paged(get_page):
    """timeSeries.list's series over every page (`nextPageToken`)."""
    def fetch(params: dict) -> list[dict]:
        series, page = [], None
        while True:
            body = get_page(dict(params, **({"pageToken": page} if page else {})))
            series += body.get("timeSeries", [])
            page = body.get("nextPageToken")
            if not page:
                return series
    return fetch


def monitoring_fetch(project: str, token: str):
    def get_page(params: dict) -> dict:
        url = API.format(project=project) + "?" + urllib.parse.urlencode(params)
        req = urllib.request.Request(url, headers={"authorization": f"Bearer {token}"})
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.load(r)
    return paged(get_page)


def replay_fetch(directory: Path):
    """Recorded answers: DIR/<who>_<kind>.json (who: candidate or previous, as
    DIR/revisions.json names them; kind: counts or latency), chosen by the query's
    revision and metric. A file holding a list is a paged answer, served page by page."""
    names = json.loads((directory / "revisions.json").read_text())

    def get_page(params: dict) -> dict:
        who = next(w for w, rev in names.items() if f'revision_name="{rev}"' in params["filter"])
        kind = "latency" if "request_latencies" in params["filter"] else "counts"
        answer = json.loads((directory / f"{who}_{kind}.json").read_text())
        if not isinstance(answer, list):
            return answer
        tokens = [None] + [page.get("nextPageToken") for page in answer]
        return answer[tokens.index(params.get("pageToken"))]
    return paged(get_page)


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def gate(fetch, opts) -> tuple[int, dict]:
    until = parse_time(opts.until) if opts.until else datetime.now(timezone.utc)
    since = parse_time(opts.since)
    baseline = parse_time(opts.baseline_since) if opts.baseline_since else since - timedelta(hours=1)
    found = {}
    for who, revision, start in (("candidate", opts.candidate, since), ("previous", opts.previous, baseline)):
        if not revision:
            continue
        period = max(60, int((until - start).total_seconds()))
        q = queries(opts.service, revision, rfc3339(until - timedelta(seconds=period)), rfc3339(until), period)
        found[who] = figures(fetch(q["counts"]), fetch(q["latency"]))
    decision, reasons = decide(found["candidate"], found.get("previous"), opts)
    return decision, {
        "decision": {PROMOTE: "promote", ROLLBACK: "rollback", WAIT: "wait"}[decision], "reasons": reasons,
        **{who: vars(f) | {"error_ratio": round(f.error_ratio, 5)} for who, f in found.items()},
    }


def arguments(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--project")
    p.add_argument("--service", required=True)
    p.add_argument("--candidate", required=True)
    p.add_argument("--previous", default="")
    p.add_argument("--since", required=True, help="when the candidate got this step's traffic (RFC 3339)")
    p.add_argument("--baseline-since", help="start of the previous revision's window (default: an hour before --since)")
    p.add_argument("--until", help="end of both windows (default: now)")
    p.add_argument("--max-error-increase", type=float, default=0.01, help="5xx ratio points over the previous (0.01)")
    p.add_argument("--min-errors", type=int, default=3, help="5xx needed before errors count as evidence (3)")
    p.add_argument("--min-requests", type=int, default=50, help="requests needed to judge latency (50)")
    p.add_argument("--latency-factor", type=float, default=1.25, help="p95 allowed over the previous, as a factor (1.25)")
    p.add_argument("--latency-slack-ms", type=float, default=100, help="... or in milliseconds, whichever is more (100)")
    p.add_argument("--max-p95-ms", type=float, default=2000, help="p95 bound without previous figures (2000)")
    p.add_argument("--replay", help="decide on recorded answers in this directory")
    return p.parse_args(argv)


def main(argv=None) -> int:
    opts = arguments(argv)
    if opts.replay:
        fetch = replay_fetch(Path(opts.replay))
    else:
        token = os.environ.get("GCP_ACCESS_TOKEN")
        if not (token and opts.project):
            print("rollout_gate: --project and GCP_ACCESS_TOKEN are required", file=sys.stderr)
            return 2
        fetch = monitoring_fetch(opts.project, token)
    try:
        decision, report = gate(fetch, opts)
    except (OSError, ValueError, KeyError) as e:
        print(json.dumps({"decision": "unknown", "reasons": [f"could not read Cloud Monitoring: {e}"]}))
        return 2
    print(json.dumps(report))
    return decision


if __name__ == "__main__":
    sys.exit(main())
