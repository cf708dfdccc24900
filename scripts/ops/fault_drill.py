#!/usr/bin/env python3
"""The fault drill (scripts/fault-drill): the real binary, JSON logs captured, through
normal traffic and then one fault after another, each followed by its recovery:

  quota      callers spend their daily allowance (an anonymous sign-in, an account)
  fireworks  the Fireworks stand-in answers 503 until the circuit opens
  budget     identifications spend the day's global model budget
  pool       a long transaction holds a table while more requests arrive than the pool
             has connections
  database   PostgreSQL is stopped (a scratch cluster of the drill's own)

Then every log-based metric and alert of terraform/ is held against the lines
(drill_checks.py), and the timeline of each signal (fault, first matching line,
recovery) is printed and written to REPORT/report.json, the lines to REPORT/lines.jsonl.

usage: fault_drill.py --binary PATH/TO/machinemate-api [--report .local/fault-drill]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import drill_checks as checks
import drill_env as env
import terraform_signals as tf

ROOT = Path(__file__).resolve().parents[2]
ENVIRONMENT = "prod"  # whose names (machinemate-api-prod) the filters are read with
METRIC_FAULTS = {
    "identifications": ["quota", "fireworks"], "model-tokens": ["quota"],
    "breaker-transitions": ["fireworks"], "database-unavailable": ["database"],
    "pool-waits": ["pool"], "identification-refusals": ["quota", "budget"],
    "model-budget-thresholds": ["budget"], "slow-requests": ["pool"],
}
ALERT_FAULTS = {
    "availability": ["fireworks", "database"], "latency": ["pool"], "uptime": ["database"],
    "breaker-open": ["fireworks"], "database-unreachable": ["database"], "model-budget": ["budget"],
}
BUDGET_CALLS = 20  # small enough to spend in the drill, above every allowance below


class Drill:
    def __init__(self, binary: str):
        self.binary = binary
        self.epoch = time.monotonic()
        self.lines: list[tuple[float, str]] = []
        self.phases: list[checks.Phase] = []
        self.problems: list[str] = []
        self.work = Path(tempfile.mkdtemp(prefix="mm-drill-"))
        self.pg = env.ScratchPostgres()
        self.fireworks = env.Fireworks()
        port = env.free_port()
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DATABASE_URL": self.pg.url,
            "HOST": "127.0.0.1", "PORT": str(port), "ENVIRONMENT": "development",
            "LOG_FORMAT": "json", "RUST_LOG": "info", "GOOGLE_CLOUD_PROJECT": "drill-project",
            "SUPABASE_URL": f"http://127.0.0.1:{port}", "LOCAL_AUTH": "enabled",
            "LOCAL_AUTH_KEY_FILE": str(self.work / "dev-es256.pk8"),
            "FIREWORKS_API_KEY": "drill-key", "FIREWORKS_BASE_URL": self.fireworks.base_url,
            "FIREWORKS_BREAKER_THRESHOLD": "2", "FIREWORKS_BREAKER_COOLDOWN_SECS": "2",
            "FIREWORKS_DEADLINE_MS": "1500", "IDENTIFY_DAILY_LIMIT": "3",
            "IDENTIFY_ANONYMOUS_USER_DAILY_LIMIT": "2", "IDENTIFY_MODEL_DAILY_CALLS": str(BUDGET_CALLS),
            "DATABASE_MAX_CONNECTIONS": "2",
        }
        subprocess.run([binary, "local-setup"], env=self.env, check=True, capture_output=True)
        self.service = env.Service(binary, self.env, self.lines, self.epoch)
        self.base = self.service.base

    def now(self) -> float:
        return time.monotonic() - self.epoch

    def expect(self, what: str, got, want) -> None:
        if got != want:
            self.problems.append(f"{what}: got {got}, expected {want}")

    def token(self, *extra: str) -> str:
        out = subprocess.run([self.binary, "dev-token", *extra], env={**self.env, "RUST_LOG": "error"},
                             check=True, capture_output=True, text=True)
        return out.stdout.strip().splitlines()[-1]

    def fault(self, name: str, what: str) -> checks.Phase:
        if self.phases:
            self.phases[-1].ended = self.now()
        phase = checks.Phase(name, what, self.now())
        self.phases.append(phase)
        print(f"  {phase.started:6.1f}s  fault {name}: {what}", flush=True)
        return phase

    def recovered(self, phase: checks.Phase, how: str) -> None:
        phase.recovered, phase.recovery = self.now(), how
        print(f"  {phase.recovered:6.1f}s  recovered: {how}", flush=True)

    def normal_traffic(self) -> None:
        user = self.users[0]
        for path in ["/health", "/health/live", "/openapi.json", "/api/v1/machines?page_size=50",
                     "/api/v1/machines/leg_press", "/api/v1/machines/categories/list", "/api/v1/metrics/categories"]:
            self.expect(f"GET {path}", env.get(self.base, path)[0], 200)
        for method, path, body, status in [
            ("GET", "/api/v1/users/me", None, 200), ("PATCH", "/api/v1/users/me", {"display_name": "Drill"}, 200),
            ("POST", "/api/v1/favorites", {"machine_id": "leg_press"}, 201), ("GET", "/api/v1/favorites", None, 200),
            ("POST", "/api/v1/history", {"machine_id": "leg_press", "confidence": 0.9}, 201),
            ("GET", "/api/v1/history", None, 200), ("GET", "/api/v1/sync", None, 200),
            ("DELETE", "/api/v1/favorites/leg_press", None, 200),
        ]:
            self.expect(f"{method} {path}", env.request(self.base, method, path, user, body)[0], status)

    def identify(self, token: str, shade: int) -> tuple[int, dict, dict]:
        return env.identify(self.base, token, shade)

    def run(self) -> None:
        self.users = [self.token() for _ in range(9)]
        anonymous = self.token("--anonymous")
        self.normal_traffic()

        phase = self.fault("quota", "an anonymous sign-in and an account spend their daily allowance")
        got = [self.identify(anonymous, s)[0] for s in (1, 2, 3)] + [self.identify(self.users[1], s)[0] for s in (11, 12, 13, 14)]
        self.expect("identifications past the allowances", got, [200, 200, 429, 200, 200, 200, 429])
        self.expect("another caller, meanwhile", self.identify(self.users[2], 21)[0], 200)
        self.recovered(phase, "other callers are served at once; the refused ones at 00:00 UTC")

        phase = self.fault("fireworks", "the Fireworks stand-in answers 503")
        self.fireworks.failing = True
        got = [self.identify(self.users[3], s)[0] for s in (31, 32, 33)]
        self.expect("identifications while Fireworks fails", got, [503, 503, 503])
        self.fireworks.failing = False
        time.sleep(2.2)  # FIREWORKS_BREAKER_COOLDOWN_SECS
        self.expect("identification once Fireworks answers again", self.identify(self.users[3], 34)[0], 200)
        self.recovered(phase, "Fireworks answers; after the cooldown the trial call closes the circuit")

        phase = self.fault("budget", f"identifications spend the day's model budget ({BUDGET_CALLS} calls)")
        spent = None
        for user in range(4, 9):
            for s in range(3):
                status, headers, body = self.identify(self.users[user], user * 10 + s)
                if status != 200:
                    spent = (status, headers, body)
                    break
            if spent:
                break
        self.expect("the spent budget's answer", spent and (spent[0], spent[2].get("code")), (503, "model_budget_spent"))
        self.expect("its Retry-After", bool(spent and spent[1].get("retry-after")), True)
        self.expect("the catalog while the budget is spent", env.get(self.base, "/api/v1/machines")[0], 200)
        self.expect("a favorite while the budget is spent",
                    env.request(self.base, "POST", "/api/v1/favorites", self.users[8], {"machine_id": "leg_press"})[0], 201)
        self.service.stop()
        self.env["IDENTIFY_MODEL_DAILY_CALLS"] = str(BUDGET_CALLS * 3)
        self.service = env.Service(self.binary, self.env, self.lines, self.epoch)
        self.expect("identification after raising the budget", self.identify(self.users[8], 99)[0], 200)
        self.recovered(phase, "IDENTIFY_MODEL_DAILY_CALLS raised and a new revision started (else 00:00 UTC)")

        phase = self.fault("pool", "a transaction holds public.favorites for 2 s while 12 requests need it (a pool of 2)")
        psql = [*self.pg.as_owner, str(Path(self.pg.bindir, "psql")), self.pg.url, "-qc",
                "begin; lock table public.favorites in access exclusive mode; select pg_sleep(2); commit;"]
        holder = subprocess.Popen(psql, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.3)
        with ThreadPoolExecutor(12) as pool:
            statuses = list(pool.map(lambda u: env.get(self.base, "/api/v1/favorites", self.users[u % 9])[0], range(12)))
        holder.wait()
        self.expect("some requests wait out their deadline (503)", 503 in statuses, True)
        self.expect("favorites once the transaction is gone", env.get(self.base, "/api/v1/favorites", self.users[0])[0], 200)
        self.recovered(phase, "the transaction ends; the next request is served at once")

        phase = self.fault("database", "PostgreSQL stopped")
        self.pg.stop()
        for _ in range(3):
            self.expect("favorites with the database down", env.get(self.base, "/api/v1/favorites", self.users[0])[0], 503)
        self.expect("/health/ready with the database down", env.get(self.base, "/health/ready")[0], 503)
        self.expect("/health/live with the database down", env.get(self.base, "/health/live")[0], 200)
        self.pg.start()
        deadline = time.monotonic() + 30
        while env.get(self.base, "/api/v1/favorites", self.users[0])[0] != 200 and time.monotonic() < deadline:
            time.sleep(0.1)
        self.expect("favorites once PostgreSQL is back", env.get(self.base, "/api/v1/favorites", self.users[0])[0], 200)
        self.recovered(phase, "PostgreSQL started; the next request is served")
        time.sleep(0.5)  # the last lines reach the reader
        self.phases[-1].ended = self.now()

    def close(self) -> None:
        try:
            self.service.stop()
        finally:
            self.pg.remove()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--binary", required=True)
    parser.add_argument("--terraform", default=str(ROOT / "terraform"))
    parser.add_argument("--report", default=str(ROOT / ".local/fault-drill"))
    opts = parser.parse_args()

    terraform = tf.Terraform(Path(opts.terraform), {"environment": ENVIRONMENT})
    metrics, alerts = terraform.log_metrics(), terraform.alerts()
    service_name = terraform.resolve(terraform.locals["name"])
    print(f"fault-drill: {len(metrics)} log-based metrics and {len(alerts)} alerts in terraform/ ({service_name})")
    drill = Drill(opts.binary)
    try:
        drill.run()
    finally:
        drill.close()
    lines = checks.lines_of(drill.lines, drill.phases, service_name)
    verdict = checks.check_all(metrics, alerts, lines, drill.phases, METRIC_FAULTS, ALERT_FAULTS)
    verdict.failures[:0] = drill.problems

    report = Path(opts.report)
    report.mkdir(parents=True, exist_ok=True)
    (report / "lines.jsonl").write_text("".join(json.dumps({"at": l.at, "phase": l.phase, **l.entry}) + "\n" for l in lines))
    (report / "report.json").write_text(json.dumps({"timeline": verdict.timeline, "failures": verdict.failures}, indent=2))
    print(f"\n{'signal':62} {'fault':10} {'1st line':>9} {'recovery':>9} {'lines':>6}")
    for row in verdict.timeline:
        phase = next(p for p in drill.phases if p.fault == row["fault"])
        print(f"{row['signal'][:62]:62} {phase.name:10} {row['first_line_s']:8.2f}s {row['recovery_s'] or 0:8.2f}s {row['lines']:6}")
    print(f"\n{len(lines)} log lines captured; report in {report}/report.json")
    for failure in verdict.failures:
        print(f"  FAIL  {failure}")
    print(f"fault-drill: {'ok' if not verdict.failures else f'{len(verdict.failures)} problem(s)'}")
    return 1 if verdict.failures else 0


if __name__ == "__main__":
    sys.exit(main())
