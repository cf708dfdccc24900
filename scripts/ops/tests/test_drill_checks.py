"""The drill's verdict: a log-based metric or alert that names a field or label value the
binary never writes, or that matches normal traffic, or misses its fault, fails it."""

import json
import unittest

import drill_checks as checks
from terraform_signals import Alert, LogMetric

SCOPE = 'resource.type="cloud_run_revision" AND resource.labels.service_name="svc"'
# Lines as the binary writes them, with the second they were written at.
CAPTURED = [
    (0.5, {"severity": "INFO", "message": "request completed", "route": "/api/v1/machines",
           "latency_ms": 3.2, "status": 200, "httpRequest": {"status": 200}}),
    (10.4, {"severity": "WARNING", "message": "Fireworks circuit opened", "breaker": "open", "cooldown_secs": 30}),
    (10.6, {"severity": "INFO", "message": "identified", "outcome": "unavailable", "variant": "catalog-v1",
            "model": "m", "tokens": 0}),
    (14.0, {"severity": "INFO", "message": "Fireworks circuit closed", "breaker": "closed"}),
]
PHASES = [checks.Phase("fireworks", "Fireworks fails", started=10.0, recovered=13.0, recovery="it answers")]
FAULTS = {"breaker": ["fireworks"]}


def lines():
    captured = [(at, json.dumps(line)) for at, line in CAPTURED]
    return checks.lines_of(captured, PHASES, "svc")


def breaker(filter_=None, labels=None, value=None):
    return LogMetric(key="breaker", name="svc-breaker",
                     filter=filter_ or f'{SCOPE} AND jsonPayload.message=~"^Fireworks circuit" AND jsonPayload.breaker:*',
                     labels=labels if labels is not None else {"state": "EXTRACT(jsonPayload.breaker)"}, value=value)


def verdict(metrics, alerts=None, alert_faults=None):
    return checks.check_all(metrics, alerts or {}, lines(), PHASES, FAULTS, alert_faults or {})


class Metrics(unittest.TestCase):
    def test_a_metric_drawn_from_what_the_binary_writes_passes_with_its_timeline(self):
        result = verdict([breaker()])
        self.assertEqual(result.failures, [])
        row = result.timeline[0]
        self.assertEqual((row["first_line_s"], row["recovery_s"], row["lines"], row["lines_after_recovery"]),
                         (0.4, 3.0, 2, 1))

    def test_a_filter_naming_a_field_the_binary_never_writes_fails(self):
        result = verdict([breaker(filter_=f'{SCOPE} AND (jsonPayload.breaker:* OR jsonPayload.circuit_state="open")')])
        self.assertTrue(any("jsonPayload.circuit_state" in f and "never wrote" in f for f in result.failures), result.failures)

    def test_a_label_extracting_a_field_the_binary_never_writes_fails(self):
        result = verdict([breaker(labels={"state": "EXTRACT(jsonPayload.state)"})])
        self.assertTrue(any("label state" in f and "never wrote" in f for f in result.failures), result.failures)

    def test_a_label_empty_on_some_matched_lines_fails(self):
        metric = breaker(filter_=f'{SCOPE} AND jsonPayload.message:"Fireworks"', labels={"kind": "EXTRACT(jsonPayload.outcome)"})
        result = checks.check_all([metric], {}, lines(), PHASES, FAULTS, {})
        self.assertTrue(any("yields nothing usable" in f for f in result.failures), result.failures)

    def test_a_value_extractor_must_yield_numbers(self):
        result = verdict([breaker(value="EXTRACT(jsonPayload.breaker)")])
        self.assertTrue(any("value" in f and "nothing usable" in f for f in result.failures), result.failures)

    def test_matching_normal_traffic_or_missing_the_fault_fails(self):
        everything = verdict([breaker(filter_=f'{SCOPE} AND severity>=INFO')])
        self.assertTrue(any("normal traffic" in f for f in everything.failures), everything.failures)
        nothing = verdict([breaker(filter_=f'{SCOPE} AND jsonPayload.breaker="half_open"')])
        self.assertTrue(any("none of the lines of its fault" in f for f in nothing.failures), nothing.failures)

    def test_a_metric_no_fault_produces_fails(self):
        metric = breaker()
        metric.key = "new-signal"
        self.assertIn("no fault of the drill produces it", verdict([metric]).failures[0])

    def test_a_query_outside_the_subset_fails(self):
        result = verdict([breaker(filter_=f'{SCOPE} AND SEARCH("circuit")')])
        self.assertIn("outside the drill's subset", result.failures[0])


class Alerts(unittest.TestCase):
    def alert(self, **changes):
        alert = Alert(key="breaker-open", policies=["symptom[breaker-open]"],
                      query=f'{SCOPE} AND jsonPayload.message=~"^Fireworks"', metric="breaker",
                      label_values={"state": "open"})
        for name, value in changes.items():
            setattr(alert, name, value)
        return {"breaker-open": alert}

    def check(self, alerts):
        return verdict([breaker()], alerts, {"breaker-open": ["fireworks"]})

    def test_an_alert_on_values_the_binary_writes_passes(self):
        self.assertEqual(self.check(self.alert()).failures, [])

    def test_an_alert_counting_a_label_value_never_written_fails(self):
        result = self.check(self.alert(label_values={"state": "tripped"}))
        self.assertTrue(any("'tripped'" in f and "never wrote" in f for f in result.failures), result.failures)

    def test_an_alert_on_a_label_the_metric_lacks_or_a_metric_not_defined_fails(self):
        lacks = self.check(self.alert(label_values={"upstream": "fireworks"}))
        self.assertTrue(any("does not have" in f for f in lacks.failures), lacks.failures)
        undefined = self.check(self.alert(metric="breaker-v2"))
        self.assertTrue(any("does not define" in f for f in undefined.failures), undefined.failures)

    def test_an_alert_query_naming_a_field_never_written_fails(self):
        result = self.check(self.alert(query=f'{SCOPE} AND jsonPayload.upstream="fireworks"'))
        self.assertTrue(any("jsonPayload.upstream" in f for f in result.failures), result.failures)


if __name__ == "__main__":
    unittest.main()
