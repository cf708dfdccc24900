"""The rollout gate's decisions on recorded Cloud Monitoring answers (timeSeries.list
of Cloud Run's request_count by response class and request_latencies' p95, per
revision), in tests/monitoring/<case>/."""

import contextlib
import io
import json
import unittest
from pathlib import Path

import rollout_gate as gate

RECORDED = Path(__file__).parent / "monitoring"
WINDOW = ["--since", "2026-12-07T10:05:00Z", "--baseline-since", "2026-12-07T09:05:00Z",
          "--until", "2026-12-07T10:15:00Z"]
EXPECTED = {
    "healthy-at-5-percent": ("promote", gate.PROMOTE),
    "healthy-at-100-percent-paged": ("promote", gate.PROMOTE),
    "slightly-slower-at-50-percent": ("promote", gate.PROMOTE),
    "first-deploy": ("promote", gate.PROMOTE),
    "errors-at-5-percent": ("rollback", gate.ROLLBACK),
    "slow-at-50-percent": ("rollback", gate.ROLLBACK),
    "quiet-but-failing-at-5-percent": ("rollback", gate.ROLLBACK),
    "quiet-at-5-percent": ("wait", gate.WAIT),
    "no-data-yet": ("wait", gate.WAIT),
}


def replay(case: str, *extra: str) -> tuple[int, dict]:
    revisions = json.loads((RECORDED / case / "revisions.json").read_text())
    args = ["--replay", str(RECORDED / case), "--service", "machinemate-api-prod",
            "--candidate", revisions["candidate"], *WINDOW, *extra]
    if "previous" in revisions:
        args += ["--previous", revisions["previous"]]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = gate.main(args)
    return code, json.loads(out.getvalue())


class Decisions(unittest.TestCase):
    def test_every_recorded_case_is_decided_as_expected(self):
        self.assertEqual(sorted(p.name for p in RECORDED.iterdir()), sorted(EXPECTED))
        for case, (decision, code) in EXPECTED.items():
            with self.subTest(case):
                got_code, report = replay(case)
                self.assertEqual((report["decision"], got_code), (decision, code), report["reasons"])

    def test_errors_are_judged_against_the_previous_revision_plus_the_margin(self):
        _, report = replay("errors-at-5-percent")
        self.assertEqual((report["candidate"]["requests"], report["candidate"]["errors"]), (640, 41))
        self.assertIn("above 1.20% (previous 0.20% + 1.00%)", report["reasons"][0])
        # A looser margin lets the same answers through.
        code, _ = replay("errors-at-5-percent", "--max-error-increase", "0.10")
        self.assertEqual(code, gate.PROMOTE)

    def test_latency_is_judged_by_factor_or_slack_whichever_allows_more(self):
        _, slow = replay("slow-at-50-percent")
        self.assertIn("p95 latency 871 ms is above 277 ms", slow["reasons"][0])
        # 240 ms against 177 ms: above 1.25x (221 ms) but within + 100 ms (277 ms).
        code, _ = replay("slightly-slower-at-50-percent")
        self.assertEqual(code, gate.PROMOTE)
        code, _ = replay("slightly-slower-at-50-percent", "--latency-slack-ms", "20")
        self.assertEqual(code, gate.ROLLBACK)

    def test_a_few_requests_wait_unless_their_errors_are_evidence_enough(self):
        _, quiet = replay("quiet-at-5-percent")
        self.assertIn("12 requests so far", quiet["reasons"][0])
        code, failing = replay("quiet-but-failing-at-5-percent")
        self.assertEqual((code, failing["candidate"]["errors"]), (gate.ROLLBACK, 6))

    def test_a_first_deploy_is_held_to_the_absolute_bounds(self):
        code, report = replay("first-deploy")
        self.assertNotIn("previous", report)
        self.assertIn("within 2000 ms", report["reasons"][0])
        code, report = replay("first-deploy", "--max-p95-ms", "200")
        self.assertEqual(code, gate.ROLLBACK)

    def test_paged_answers_are_read_to_the_last_page(self):
        _, report = replay("healthy-at-100-percent-paged")
        self.assertEqual((report["candidate"]["requests"], report["candidate"]["errors"]), (23368, 52))


class Queries(unittest.TestCase):
    def test_each_revision_is_read_as_one_point_over_its_window(self):
        q = gate.queries("svc", "svc-00007-abc", "2026-12-07T10:05:00Z", "2026-12-07T10:15:00Z", 600)
        counts, latency = q["counts"], q["latency"]
        self.assertIn('metric.type="run.googleapis.com/request_count"', counts["filter"])
        self.assertIn('resource.labels.revision_name="svc-00007-abc"', counts["filter"])
        self.assertEqual(counts["aggregation.groupByFields"], "metric.label.response_code_class")
        self.assertEqual((counts["aggregation.perSeriesAligner"], counts["aggregation.crossSeriesReducer"]),
                         ("ALIGN_DELTA", "REDUCE_SUM"))
        self.assertEqual(latency["aggregation.crossSeriesReducer"], "REDUCE_PERCENTILE_95")
        self.assertEqual(latency["aggregation.alignmentPeriod"], "600s")

    def test_int64_values_arrive_as_strings_and_4xx_are_not_errors(self):
        series = [{"metric": {"labels": {"response_code_class": c}}, "points": [{"value": {"int64Value": n}}]}
                  for c, n in (("2xx", "90"), ("4xx", "7"), ("5xx", "3"))]
        figures = gate.figures(series, [{"points": [{"value": {"doubleValue": 12.5}}]}])
        self.assertEqual((figures.requests, figures.errors, figures.p95_ms), (100, 3, 12.5))

    def test_without_a_token_the_gate_refuses_to_guess(self):
        with contextlib.redirect_stderr(io.StringIO()):
            self.assertEqual(gate.main(["--service", "s", "--candidate", "c", "--since", "2026-12-07T10:00:00Z"]), 2)


if __name__ == "__main__":
    unittest.main()
