#!/usr/bin/env python3
"""MachineMate API benchmark: one command, one table (run it through bench/run).

For each build under test it starts the release binary on the local stack (a private
PostgreSQL with the catalog, 1,000 users with favorites and history; the service's own
local JWKS; a local Fireworks stand-in answering after a fixed delay), drives load with
wrk and prints throughput, p50/p99 latency and errors per scenario, each also as a ratio
of its limit, measured in the same run: the catalog's of the ceiling (an actix server
answering the catalog page from memory, bench/ceiling.rs), the reads of the caller's own
rows of the floor (an actix server asking Postgres one prepared query per request,
bench/floor.rs; beside it the scoped floor, the same server asking the service's own
row-level-security read instead, which bounds how close any such read can come), plus
start-to-ready time and idle memory without and with TLS
to Postgres, peak resident memory and binary size. With --growth (the default) the
favorites and history tables then grow a hundredfold and those two pages (and the floor)
are measured again. Results are also written as JSON under bench/results/.
"""

import argparse
import concurrent.futures
import hashlib
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".local" / "bench"
USERS = 1000
FAVORITES_PER_USER = 5
HISTORY_PER_USER = 20
GROWTH = 100


def log(message):
    print(f"bench: {message}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- the Fireworks stand-in ------------------------------------------------------------

class FireworksStandIn:
    """OpenAI chat-completions wire format; answers "Leg Press" after `delay_ms`."""

    def __init__(self, delay_ms):
        delay = delay_ms / 1000.0
        answer = json.dumps({
            "id": "bench", "object": "chat.completion", "model": "bench",
            "choices": [{"index": 0, "finish_reason": "stop", "message": {
                "role": "assistant",
                "content": json.dumps({"machine": "Leg Press", "confidence": 0.92}),
            }}],
        }).encode()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                self.rfile.read(length)
                time.sleep(delay)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/inference/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


# --- the database ----------------------------------------------------------------------

def psql(url, sql):
    subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-q", "-X", "-c", sql],
                   check=True, stdout=subprocess.DEVNULL)


def settle(url):
    """Vacuums, analyzes and checkpoints after seeding, so that no autovacuum or
    checkpoint of millions of fresh rows runs during a measurement (it did: favorites
    at 100x measured 25% slower while autovacuum worked through the new rows). What is
    measured is the steady state a vacuumed production table is in."""
    psql(url, "vacuum (analyze)")
    psql(url, "checkpoint")


def psql_rows(url, sql):
    out = subprocess.run(["psql", url, "-X", "-At", "-c", sql], check=True,
                         capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if line]


def with_database(url, name):
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


def with_query(url, **params):
    """`url` with `params` set in its query string (the others kept)."""
    parts = urllib.parse.urlsplit(url)
    query = dict(urllib.parse.parse_qsl(parts.query))
    query.update(params)
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def seed_sql(first, last):
    """Users first..last (auth.users; the sign-up trigger makes their profiles), each
    with FAVORITES_PER_USER favorites and HISTORY_PER_USER history entries."""
    return f"""
    insert into auth.users (id, aud, role, email)
    select ('00000000-0000-4000-8000-' || lpad(to_hex(g), 12, '0'))::uuid,
           'authenticated', 'authenticated', 'bench' || g || '@example.com'
    from generate_series({first}, {last}) g;
    with m as (select array_agg(id order by id) ids, count(*)::int n from public.machines),
         u as (select ('00000000-0000-4000-8000-' || lpad(to_hex(g), 12, '0'))::uuid id, g
               from generate_series({first}, {last}) g)
    insert into public.favorites (user_id, machine_id)
    select u.id, m.ids[1 + (u.g * 7 + k * 11) % m.n]
    from u, m, generate_series(0, {FAVORITES_PER_USER - 1}) k;
    with m as (select array_agg(id order by id) ids, count(*)::int n from public.machines),
         u as (select ('00000000-0000-4000-8000-' || lpad(to_hex(g), 12, '0'))::uuid id, g
               from generate_series({first}, {last}) g)
    insert into public.history (user_id, machine_id, confidence, source, taken_at)
    select u.id, m.ids[1 + (u.g * 13 + k * 3) % m.n], 0.9, 'bench',
           now() - k * interval '1 hour'
    from u, m, generate_series(1, {HISTORY_PER_USER}) k;
    """


def user_id(g):
    return f"00000000-0000-4000-8000-{g:012x}"


# --- one running service ---------------------------------------------------------------

class Service:
    def __init__(self, binary, env):
        self.binary, self.env = binary, env
        self.port = int(env["PORT"])
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = None

    def start(self):
        """Starts the binary and returns seconds until /health/ready answers 200."""
        started = time.perf_counter()
        self.process = subprocess.Popen([self.binary, "serve"], env=self.env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while True:
            if self.process.poll() is not None:
                raise SystemExit(f"bench: {self.binary} exited with {self.process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    s.sendall(b"GET /health/ready HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
                    if s.recv(64).startswith(b"HTTP/1.1 200"):
                        return time.perf_counter() - started
            except OSError:
                pass
            if time.perf_counter() - started > 30:
                raise SystemExit("bench: the service was not ready within 30 s")
            time.sleep(0.002)

    def memory_kib(self, field):
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
        return 0

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def get_json(self, path, token):
        request = urllib.request.Request(self.base + path,
                                         headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)


def service_env(database_url, port, fireworks):
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    env.update({
        "DATABASE_URL": database_url,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "ENVIRONMENT": "development",
        "LOG_FORMAT": "json",
        "RUST_LOG": "warn",
        "SUPABASE_URL": f"http://127.0.0.1:{port}",
        "LOCAL_AUTH_KEY_FILE": str(WORK / "dev-es256.pk8"),
        "LOCAL_AUTH": "enabled",
        "FIREWORKS_API_KEY": "bench-not-a-real-key",
        "FIREWORKS_BASE_URL": fireworks.base_url,
        "IDENTIFY_DAILY_LIMIT": "1000000000",
        # The global model budget must cover a caller's allowance, and bound nothing here.
        "IDENTIFY_MODEL_DAILY_CALLS": "1000000000",
        "IDENTIFY_MODEL_DAILY_TOKENS": "1000000000000000",
    })
    return env


# --- wrk --------------------------------------------------------------------------------

def wrk(service, requests, seconds, connections, method="GET", photo=None, timings=None):
    with tempfile.NamedTemporaryFile("w", suffix=".tsv", delete=False) as f:
        for token, path in requests:
            f.write(f"{token}\t{path}\n")
        requests_file = f.name
    env = dict(os.environ, BENCH_REQUESTS=requests_file, BENCH_METHOD=method)
    if photo:
        env["BENCH_PHOTO"] = str(photo)
    if timings:
        env["BENCH_TIMINGS"] = timings
    threads = min(2, connections)
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
         "-s", str(ROOT / "bench" / "wrk.lua"), service.base],
        env=env, check=True, capture_output=True, text=True).stdout
    os.unlink(requests_file)
    line = next(l for l in out.splitlines() if l.startswith("JSON:"))
    raw = json.loads(line[5:])
    errors = sum(raw[k] for k in ("connect_errors", "read_errors", "write_errors",
                                  "status_errors", "timeouts"))
    return {
        "requests": raw["requests"],
        "rps": raw["requests"] / (raw["duration_us"] / 1e6),
        "p50_ms": raw["p50_us"] / 1000.0,
        "p99_ms": raw["p99_us"] / 1000.0,
        "max_ms": raw["max_us"] / 1000.0,
        "errors": errors,
        "connections": connections,
        "seconds": seconds,
    }


def overhead(prefix):
    samples = []
    for path in Path(prefix).parent.glob(Path(prefix).name + ".*"):
        for line in path.read_text().splitlines():
            upstream, total = (float(x) for x in line.split())
            samples.append(total - upstream)
        path.unlink()
    if not samples:
        return {}
    samples.sort()
    pick = lambda q: samples[min(len(samples) - 1, int(q * len(samples)))]
    return {"overhead_p50_ms": pick(0.50), "overhead_p99_ms": pick(0.99),
            "overhead_samples": len(samples)}


# --- the builds, measured side by side -------------------------------------------------
#
# Every build runs at once on its own port, and each scenario is measured for every build
# before the next scenario starts, the order alternating from one scenario to the next.
# On a shared 2-core machine throughput drifts by tens of percent over minutes; measured
# one build after the other, that drift would be reported as the builds' difference.

class Build:
    def __init__(self, label, binary, database_url, fireworks, tls_database_url=None):
        self.label, self.binary = label, binary
        self.env = service_env(database_url, free_port(), fireworks)
        self.service = Service(binary, self.env)
        # The same service reaching Postgres over TLS with the certificate verified.
        self.tls_service = None
        if tls_database_url:
            self.tls_service = Service(binary, dict(self.env, DATABASE_URL=tls_database_url))
        self.result = {"build": label, "binary": str(binary),
                       "binary_bytes": Path(binary).stat().st_size,
                       "binary_sha256": hashlib.sha256(Path(binary).read_bytes()).hexdigest(),
                       "scenarios": {}}
        self.tokens, self.cursors = [], []

    def cold_starts(self, service, key):
        """Start to ready (the median of five cold starts; the pool connects lazily, so
        this includes the first database connection and round trip) and the resident
        memory a second after the last one is ready."""
        starts = []
        for i in range(5):
            starts.append(service.start())
            if i < 4:
                service.stop()
        time.sleep(1)
        self.result[f"idle_rss{key}_mib"] = service.memory_kib("VmRSS") / 1024
        service.stop()
        self.result[f"start_to_ready{key}_ms"] = statistics.median(starts) * 1000
        self.result[f"start_to_ready{key}_all_ms"] = [round(s * 1000, 1) for s in starts]

    def prepare(self):
        """Cold starts without TLS to Postgres and (when given) with it, then a running
        service with tokens minted and each user's sync cursor taken."""
        self.cold_starts(self.service, "")
        if self.tls_service:
            self.cold_starts(self.tls_service, "_tls")
        self.service.start()
        # The local token issuer is derived from SUPABASE_URL, which holds this build's
        # port: its tokens are valid only on its own service.
        self.tokens = mint_tokens(self.binary, self.env, USERS)
        log(f"[{self.label}] {len(self.tokens)} tokens; initial sync per user for "
            "incremental cursors")
        self.cursors = initial_cursors(self.service, self.tokens)

    def finish(self):
        self.result["peak_rss_mib"] = self.service.memory_kib("VmHWM") / 1024
        self.result["rss_after_load_mib"] = self.service.memory_kib("VmRSS") / 1024
        self.service.stop()


class Limit:
    """A reference server on its own port, measured before and after the scenarios (the
    mean is what rows are set against; the runs show how much the machine drifted)."""

    name = ""

    def __init__(self, argv, check, env=None):
        self.port = free_port()
        self.process = subprocess.Popen([str(a) for a in argv(self.port)],
                                        env=dict(os.environ, **(env or {})),
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.time() + 10
        while True:
            try:
                if check(self.base):
                    break
            except OSError:
                pass
            if self.process.poll() is not None or time.time() > deadline:
                raise SystemExit(f"bench: the {self.name} server did not start")
            time.sleep(0.02)
        self.runs = []

    def result(self):
        rps = [r["rps"] for r in self.runs]
        return {"rps": statistics.mean(rps), "runs": self.runs}

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait()


class Ceiling(Limit):
    """bench/ceiling.rs answering the catalog page's bytes from memory: no route of the
    service can be cheaper. The catalog scenarios are set against it."""

    name = "ceiling"

    def __init__(self, binary, body):
        self.body_file = WORK / "ceiling-body.json"
        self.body_file.write_bytes(body)

        def check(base):
            with urllib.request.urlopen(base + "/", timeout=1) as response:
                return response.read() == body
        super().__init__(lambda port: [binary, port, self.body_file], check)

    def measure(self, seconds, connections):
        log("[ceiling] catalog page bytes from memory")
        self.runs.append(wrk(self, [("", "/api/v1/machines?page_size=20")], seconds,
                             connections))

    def result(self):
        return super().result() | {"body_bytes": self.body_file.stat().st_size}


class Floor(Limit):
    """bench/floor.rs: one prepared query per request (a user's favorite ids) through a
    pool of the service's default size; no auth, no RLS, no transaction. A read of the
    caller's rows must make that round trip, so the user-data scenarios are set against
    it. Measured again at 100x rows, against which the grown scenarios are set."""

    name = "floor"
    what = "one prepared query per request: a user's favorite ids"

    def __init__(self, binary, database_url, env=None):
        def check(base):
            with urllib.request.urlopen(f"{base}/?user={user_id(1)}", timeout=1) as response:
                return response.status == 200 and len(json.load(response)) > 0
        super().__init__(lambda port: [binary, port, database_url], check, env)

    def measure(self, seconds, connections):
        log(f"[{self.name}] {self.what}")
        self.runs.append(wrk(self, [("", f"/?user={user_id(g)}") for g in range(1, USERS + 1)],
                             seconds, connections))


class ScopedFloor(Floor):
    """bench/floor.rs with FLOOR_QUERY=scoped: the service's own favorites read
    (machinemate_read_favorites: the deleted-account check, the role, the claims, the read
    under row level security) as its one prepared query, and nothing else. How close to
    the floor a service that keeps that read could come; not a limit rows are set
    against."""

    name = "scoped floor"
    what = "the service's scoped read (row level security) as the one query"

    def __init__(self, binary, database_url):
        super().__init__(binary, database_url, {"FLOOR_QUERY": "scoped"})


def interleaved(builds, scenarios, into):
    """Runs each scenario on every build, alternating the order; `scenarios` holds
    (name, run) pairs, where run(build) returns the measurement."""
    for i, (name, run) in enumerate(scenarios):
        for build in (builds if i % 2 == 0 else builds[::-1]):
            log(f"[{build.label}] {name}")
            build.result[into][name] = run(build)


def measure(builds, database_url, args, photo, ceiling_binary, floor_binary):
    for build in builds:
        build.prepare()
    machines = psql_rows(database_url, "select id from public.machines where is_active")
    seconds, conns = args.seconds, args.connections
    page = urllib.request.urlopen(builds[0].service.base + "/api/v1/machines?page_size=20",
                                  timeout=10).read()
    ceiling = Ceiling(ceiling_binary, page)
    floor = Floor(floor_binary, database_url)
    scoped = ScopedFloor(floor_binary, database_url)
    # Before the scenarios and after them: the means are what every row is set against,
    # the two runs of each show how much the machine drifted meanwhile.
    ceiling.measure(seconds, conns)
    floor.measure(seconds, conns)
    scoped.measure(seconds, conns)

    def paths(make):
        return lambda b: wrk(b.service, make(b), seconds, conns)

    prefix = str(WORK / "timings")

    def identify(b):
        out = wrk(b.service, [(t, "/identify") for t in b.tokens[:50]], seconds,
                  args.identify_connections, method="POST", photo=photo, timings=prefix)
        out.update(overhead(prefix))
        return out

    interleaved(builds, [
        ("catalog list", paths(lambda b: [("", "/api/v1/machines?page_size=20")])),
        ("machine detail", paths(lambda b: [("", f"/api/v1/machines/{m}") for m in machines])),
        ("favorites list", paths(lambda b: [(t, "/api/v1/favorites") for t in b.tokens])),
        ("history page", paths(lambda b: [(t, "/api/v1/history?page_size=20")
                                          for t in b.tokens])),
        ("sync (incremental)", paths(lambda b: [
            (t, f"/api/v1/sync?since={urllib.parse.quote(c)}")
            for t, c in zip(b.tokens, b.cursors)])),
        (f"identify (1 MB photo, Fireworks {args.fireworks_delay_ms} ms)", identify),
    ], "scenarios")
    scoped.measure(seconds, conns)
    floor.measure(seconds, conns)
    ceiling.measure(seconds, conns)
    ceiling.stop()
    floor.stop()
    scoped.stop()
    for build in builds:
        build.finish()
    return {"ceiling": ceiling.result(), "floor": floor.result(),
            "scoped_floor": scoped.result()}


def measure_growth(builds, args, database_url, floor_binary):
    floor = Floor(floor_binary, database_url)
    floor.measure(args.seconds, args.connections)
    for build in builds:
        build.result["growth"] = {}
        build.service.start()
    interleaved(builds, [
        (name, lambda b, path=path: wrk(b.service, [(t, path) for t in b.tokens],
                                        args.seconds, args.connections))
        for name, path in (("favorites list", "/api/v1/favorites"),
                           ("history page", "/api/v1/history?page_size=20"))
    ], "growth")
    for build in builds:
        build.service.stop()
    floor.measure(args.seconds, args.connections)
    floor.stop()
    return floor.result()


def mint_tokens(binary, env, count):
    """One token per user. The token is the last line `dev-token` prints: on a loaded
    machine a "slow database checkout" warning can come before it."""
    def one(g):
        return subprocess.run([binary, "dev-token", "--sub", user_id(g), "--ttl-secs", "7200"],
                              env=env, check=True, capture_output=True,
                              text=True).stdout.strip().splitlines()[-1]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, range(1, count + 1)))


def initial_cursors(service, tokens):
    def one(token):
        cursor = None
        while True:
            path = "/api/v1/sync" + (f"?since={urllib.parse.quote(cursor)}" if cursor else "")
            body = service.get_json(path, token)
            cursor = body["cursor"]
            if not body.get("has_more"):
                return cursor
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        return list(pool.map(one, tokens))


# --- setup and report -------------------------------------------------------------------

def make_photo(path):
    """A photo-like 2000x1500 JPEG of about 1 MB (noise compresses like a real photo)."""
    if path.exists():
        return path
    from PIL import Image
    rng = random.Random(7)
    width, height = 2000, 1500
    noise = bytes(rng.getrandbits(5) for _ in range(width * height))
    pixels = bytearray(width * height * 3)
    for y in range(height):
        row = y * width
        for x in range(width):
            n = noise[row + x]
            i = (row + x) * 3
            pixels[i] = (x // 8 + n) & 255
            pixels[i + 1] = (y // 6 + n) & 255
            pixels[i + 2] = 128 + n // 2
    Image.frombytes("RGB", (width, height), bytes(pixels)).save(path, "JPEG", quality=80)
    return path


def prepare_database(base_url):
    name = "machinemate_bench"
    admin = with_database(base_url, "postgres")
    psql(admin, f"drop database if exists {name} with (force)")
    psql(admin, f"create database {name}")
    url = with_database(base_url, name)
    return url


# The scenarios that read the caller's own rows, set against the floor; the catalog's
# against the ceiling (identification waits on the Fireworks stand-in: against neither).
USER_DATA = {"favorites list", "history page", "sync (incremental)"}


def ratio(name, s, limits, grown=False):
    """The scenario's requests/s as a ratio of its limit, e.g. "0.72x floor"."""
    if name in USER_DATA:
        limit = limits["floor_grown" if grown else "floor"]
        return f"{s['rps'] / limit['rps']:.2f}x floor"
    if name.startswith("identify"):
        return ""  # bound by the Fireworks stand-in's delay, not by either limit
    return f"{s['rps'] / limits['ceiling']['rps']:.2f}x ceiling"


def fmt_row(label, name, s, limits, grown=False):
    extra = ""
    if "overhead_p99_ms" in s:
        extra = (f" (own share p50 {s['overhead_p50_ms']:.1f} ms, "
                 f"p99 {s['overhead_p99_ms']:.1f} ms)")
    return (f"| {label} | {s['rps']:,.0f} | {ratio(name, s, limits, grown)} | "
            f"{s['rps'] / limits['ceiling']['rps']:.3f}x | "
            f"{s['p50_ms']:.2f} | {s['p99_ms']:.2f} | {s['errors']} |{extra}")


def runs_of(limit):
    return ", ".join(f"{r['rps']:,.0f}" for r in limit["runs"])


def report(results, limits):
    ceiling, floor = limits["ceiling"], limits["floor"]
    lines = [f"Ceiling (bench/ceiling.rs: the {ceiling['body_bytes']:,}-byte catalog page "
             f"from memory): {ceiling['rps']:,.0f} requests/s (mean of {runs_of(ceiling)}, "
             "before and after the scenarios)", "",
             f"Floor (bench/floor.rs: one prepared query per request, a user's favorite ids, "
             f"pool of 10): {floor['rps']:,.0f} requests/s (mean of {runs_of(floor)})"]
    if "floor_grown" in limits:
        grown = limits["floor_grown"]
        lines[-1] += (f"; at {GROWTH}x rows {grown['rps']:,.0f} requests/s "
                      f"(mean of {runs_of(grown)})")
    if "scoped_floor" in limits:
        scoped = limits["scoped_floor"]
        lines += ["", f"Scoped floor (bench/floor.rs with FLOOR_QUERY=scoped: the service's own "
                      f"favorites read under row level security as the one query): "
                      f"{scoped['rps']:,.0f} requests/s (mean of {runs_of(scoped)}), "
                      f"{scoped['rps'] / floor['rps']:.2f}x of the floor"]
    lines.append("")
    for r in results:
        lines.append(f"### {r['build']}")
        lines.append("")
        lines.append("| scenario | requests/s | of its limit | of ceiling | p50 ms | p99 ms "
                     "| errors |")
        lines.append("|---|---:|---:|---:|---:|---:|---:|")
        for name, s in r["scenarios"].items():
            lines.append(fmt_row(name, name, s, limits))
        for name, s in r.get("growth", {}).items():
            base = r["scenarios"][name]["rps"]
            lines.append(fmt_row(f"{name} at {GROWTH}x rows ({s['rps'] / base:.0%} of base)",
                                 name, s, limits, grown=True))
        lines.append("")
        lines.append(f"- start to ready: {r['start_to_ready_ms']:.0f} ms without TLS "
                     f"(median of 5: {r['start_to_ready_all_ms']})")
        if "start_to_ready_tls_ms" in r:
            lines.append(f"- start to ready over TLS (verify-full): "
                         f"{r['start_to_ready_tls_ms']:.0f} ms (median of 5: "
                         f"{r['start_to_ready_tls_all_ms']})")
        tls_idle = (f", idle over TLS {r['idle_rss_tls_mib']:.1f} MiB"
                    if "idle_rss_tls_mib" in r else "")
        lines.append(f"- resident memory: idle {r['idle_rss_mib']:.1f} MiB{tls_idle}, peak "
                     f"{r['peak_rss_mib']:.1f} MiB, after load {r['rss_after_load_mib']:.1f} MiB")
        lines.append(f"- release binary: {r['binary_bytes'] / 1e6:.1f} MB "
                     f"(sha256 {r['binary_sha256'][:12]})")
        lines.append("")
    if len(results) == 2:
        a, b = results
        lines.append(f"### {b['build']} against {a['build']} (requests/s, p99)")
        lines.append("")
        lines.append(f"| scenario | {a['build']} | {b['build']} | change |")
        lines.append("|---|---:|---:|---:|")
        for name in a["scenarios"]:
            sa, sb = a["scenarios"][name], b["scenarios"][name]
            lines.append(f"| {name} | {sa['rps']:,.0f} ({ratio(name, sa, limits)}) / "
                         f"{sa['p99_ms']:.2f} ms | {sb['rps']:,.0f} "
                         f"({ratio(name, sb, limits)}) / {sb['p99_ms']:.2f} ms | "
                         f"{sb['rps'] / sa['rps'] - 1:+.0%} |")
        for name in a.get("growth", {}):
            sa, sb = a["growth"][name], b["growth"][name]
            lines.append(f"| {name} at {GROWTH}x rows | {sa['rps']:,.0f} "
                         f"({ratio(name, sa, limits, True)}) / {sa['p99_ms']:.2f} ms"
                         f" | {sb['rps']:,.0f} ({ratio(name, sb, limits, True)}) / "
                         f"{sb['p99_ms']:.2f} ms | {sb['rps'] / sa['rps'] - 1:+.0%} |")
        lines.append(f"| start to ready | {a['start_to_ready_ms']:.0f} ms | "
                     f"{b['start_to_ready_ms']:.0f} ms | |")
        if "start_to_ready_tls_ms" in a:
            lines.append(f"| start to ready over TLS | {a['start_to_ready_tls_ms']:.0f} ms | "
                         f"{b['start_to_ready_tls_ms']:.0f} ms | |")
        lines.append(f"| idle memory | {a['idle_rss_mib']:.1f} MiB | {b['idle_rss_mib']:.1f} MiB | |")
        if "idle_rss_tls_mib" in a:
            lines.append(f"| idle memory over TLS | {a['idle_rss_tls_mib']:.1f} MiB | "
                         f"{b['idle_rss_tls_mib']:.1f} MiB | |")
        lines.append(f"| peak memory | {a['peak_rss_mib']:.1f} MiB | {b['peak_rss_mib']:.1f} MiB | |")
        lines.append("")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", action="append", nargs=2, metavar=("LABEL", "BINARY"),
                        required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--tls-database-url",
                        help="the same Postgres over TLS, certificate verified "
                             "(scripts/local-postgres tls-url): start and idle measured too")
    parser.add_argument("--ceiling", required=True, help="bench/ceiling.rs, built")
    parser.add_argument("--floor", required=True, help="bench/floor.rs, built")
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--identify-connections", type=int, default=4)
    parser.add_argument("--fireworks-delay-ms", type=int, default=200)
    parser.add_argument("--no-growth", action="store_true")
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    photo = make_photo(WORK / "photo-1mb.jpg")
    fireworks = FireworksStandIn(args.fireworks_delay_ms)

    # Load runs without TLS, as all earlier results did; TLS is measured at start-up.
    url = with_query(prepare_database(args.database_url), sslmode="disable")
    tls_url = (with_database(args.tls_database_url, "machinemate_bench")
               if args.tls_database_url else None)
    first_binary = args.build[0][1]
    setup_env = service_env(url, free_port(), fireworks)
    subprocess.run([first_binary, "local-setup"], env=setup_env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # Each later build's own migrations too (a newer build may need one the first lacks;
    # an older build runs on a newer schema, as during a rolling deploy).
    for _, binary in args.build[1:]:
        subprocess.run([binary, "migrate"], env=setup_env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    log(f"seeding {USERS} users with {FAVORITES_PER_USER} favorites and "
        f"{HISTORY_PER_USER} history entries each")
    psql(url, seed_sql(1, USERS))
    settle(url)

    builds = [Build(label, binary, url, fireworks, tls_url) for label, binary in args.build]
    try:
        limits = measure(builds, url, args, photo, args.ceiling, args.floor)
        if not args.no_growth:
            log(f"growing favorites and history {GROWTH}x ({USERS * GROWTH:,} users)")
            started = time.time()
            step = 20000
            for first in range(USERS + 1, USERS * GROWTH + 1, step):
                psql(url, seed_sql(first, min(first + step - 1, USERS * GROWTH)))
            settle(url)
            counts = psql_rows(url, "select (select count(*) from public.favorites), "
                                    "(select count(*) from public.history)")
            log(f"grown in {time.time() - started:.0f}s: favorites, history = {counts[0]}")
            limits["floor_grown"] = measure_growth(builds, args, url, args.floor)
            for build in builds:
                build.result["growth_rows"] = counts[0]
    finally:
        for build in builds:
            build.service.stop()
    results = [build.result for build in builds]

    table = report(results, limits)
    print(table)
    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    document = {"when": stamp, "machine": {"cpus": os.cpu_count()},
                "settings": vars(args) | {"build": args.build}, "limits": limits,
                "results": results}
    for path in (out_dir / f"{stamp}.json", out_dir / "latest.json"):
        path.write_text(json.dumps(document, indent=2))
    (out_dir / "latest.md").write_text(table + "\n")
    log(f"results: bench/results/{stamp}.json (and latest.json, latest.md)")
    failed = [(r["build"], name) for r in results
              for name, s in list(r["scenarios"].items()) + list(r.get("growth", {}).items())
              if s["errors"]]
    if failed:
        log(f"ERRORS in {failed}: these figures do not count")
        sys.exit(1)


if __name__ == "__main__":
    main()
