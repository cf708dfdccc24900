"""The Logging query language subset behaves as Cloud Logging documents it."""

import unittest

import logging_query as lq
from cloud_run_log import log_entry

# A line as the binary writes it (src/telemetry/cloud_logging.rs), as Cloud Run stores it.
LINE = {
    "timestamp": "2026-12-07T10:00:00.000001Z", "severity": "ERROR", "message": "database unavailable",
    "error_kind": "io", "route": "/api/v1/favorites", "latency_ms": 1503.2, "cached": False,
    "httpRequest": {"requestMethod": "GET", "status": 503, "latency": "1.503200s"},
    "logging.googleapis.com/trace": "projects/p/traces/abc", "target": "machinemate_api::error",
}
ENTRY = log_entry(LINE, "machinemate-api-prod")


def matches(query):
    return lq.matches(query, ENTRY)


class LogEntryShape(unittest.TestCase):
    def test_special_fields_leave_the_payload_and_the_message_stays(self):
        self.assertEqual(ENTRY["severity"], "ERROR")
        self.assertEqual(ENTRY["httpRequest"]["status"], 503)
        self.assertEqual(ENTRY["trace"], "projects/p/traces/abc")
        self.assertEqual(ENTRY["jsonPayload"]["message"], "database unavailable")
        self.assertNotIn("severity", ENTRY["jsonPayload"])
        self.assertNotIn("httpRequest", ENTRY["jsonPayload"])
        self.assertEqual(ENTRY["resource"]["labels"]["service_name"], "machinemate-api-prod")


class Comparisons(unittest.TestCase):
    def test_strings_compare_ignoring_case_but_regular_expressions_do_not(self):
        self.assertTrue(matches('jsonPayload.message="Database Unavailable"'))
        self.assertTrue(matches('jsonPayload.message=~"^database"'))
        self.assertFalse(matches('jsonPayload.message=~"^Database"'))
        self.assertTrue(matches('jsonPayload.message!~"^Database"'))

    def test_has_is_a_substring_match_and_star_tests_presence(self):
        self.assertTrue(matches('jsonPayload.message:"UNAVAIL"'))
        self.assertTrue(matches("jsonPayload.error_kind:*"))
        self.assertFalse(matches("jsonPayload.nothing:*"))

    def test_numbers_compare_as_numbers(self):
        self.assertTrue(matches("jsonPayload.latency_ms>=1000"))
        self.assertFalse(matches("jsonPayload.latency_ms<1000"))
        self.assertTrue(matches('jsonPayload.latency_ms>"999.5"'))
        self.assertTrue(matches("httpRequest.status>=500 httpRequest.status<600"))
        self.assertFalse(matches('jsonPayload.latency_ms="fast"'))

    def test_booleans_and_severity_ranks(self):
        self.assertTrue(matches("jsonPayload.cached=false"))
        self.assertTrue(matches("severity>=WARNING"))
        self.assertTrue(matches("severity=error"))
        self.assertFalse(matches("severity>=CRITICAL"))

    def test_a_missing_field_fails_every_comparison_even_not_equal(self):
        self.assertFalse(matches('jsonPayload.absent="x"'))
        self.assertFalse(matches('jsonPayload.absent!="x"'))
        self.assertTrue(matches('NOT jsonPayload.absent="x"'))
        self.assertTrue(matches('-jsonPayload.absent="x"'))

    def test_a_parenthesised_value_applies_the_comparison_to_each(self):
        self.assertTrue(matches('jsonPayload.route=("/identify" OR "/api/v1/favorites")'))
        self.assertFalse(matches('jsonPayload.route=("/identify" OR "/api/v1/identify")'))
        self.assertTrue(matches('NOT jsonPayload.route=("/identify" OR "/api/v1/identify")'))

    def test_quoted_segments_and_comments(self):
        entry = log_entry({"message": "m", "logging.googleapis.com/labels": {"a/b": "c"}}, "s")
        self.assertTrue(lq.matches('labels."a/b"="c" -- a comment\n', entry))


class Precedence(unittest.TestCase):
    def test_or_binds_tighter_than_and_as_the_documentation_says(self):
        # ("a" OR (NOT "b")) AND ((NOT "c") OR "d"), with a true, b true, c true, d false:
        a, b, c, d = ('severity=ERROR', 'jsonPayload.error_kind="io"',
                      'jsonPayload.route:"favorites"', 'jsonPayload.route:"identify"')
        self.assertFalse(matches(f"{a} OR NOT {b} AND NOT {c} OR {d}"))
        self.assertTrue(matches(f"{d} OR {a} AND {b}"))  # (d OR a) AND b
        self.assertFalse(matches(f"{d} OR ({a} AND {d})"))
        self.assertTrue(matches(f"{a} {b}"))  # side by side: AND


class Subset(unittest.TestCase):
    def test_what_the_subset_does_not_evaluate_is_refused_not_guessed(self):
        for query in ['"free text"', 'SEARCH("x")', 'timestamp>="2026-01-01T00:00:00Z"', "jsonPayload.x=", "thud.x=1"]:
            with self.assertRaises(lq.Unsupported, msg=query):
                lq.parse(query)

    def test_fields_named(self):
        tree = lq.parse('jsonPayload.a="x" AND (httpRequest.status>=500 OR NOT severity=INFO)')
        self.assertEqual(lq.fields_of(tree), {("jsonPayload", "a"), ("httpRequest", "status"), ("severity",)})


class Extractors(unittest.TestCase):
    def test_extract_and_regexp_extract(self):
        self.assertEqual(lq.extract("EXTRACT(jsonPayload.error_kind)", ENTRY), "io")
        self.assertEqual(lq.extract("EXTRACT(jsonPayload.latency_ms)", ENTRY), "1503.2")
        self.assertEqual(lq.extract("EXTRACT(httpRequest.status)", ENTRY), "503")
        self.assertEqual(lq.extract('REGEXP_EXTRACT(jsonPayload.route, "^/api/v1/(\\\\w+)")', ENTRY), "favorites")
        self.assertIsNone(lq.extract("EXTRACT(jsonPayload.absent)", ENTRY))
        with self.assertRaises(lq.Unsupported):
            lq.extract("SUM(jsonPayload.latency_ms)", ENTRY)


if __name__ == "__main__":
    unittest.main()
