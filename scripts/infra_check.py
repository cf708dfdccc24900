#!/usr/bin/env python3
"""Checks that the Terraform, the Dockerfile and the binary agree (run by scripts/check-infra).

Static, from terraform/*.tf parsed with python-hcl2:
  * the Cloud Run service's startup probe is GET /health/ready and its liveness probe
    GET /health/live, both on the container port, with sane timings;
  * every environment variable Terraform sets on the service or a job is
    one src/config/ reads, none is PORT (Cloud Run sets it), and every variable the
    service treats as a secret comes from Secret Manager, never as a plain value;
  * the service's and the jobs' arguments are subcommands of the binary (a job migrates,
    another runs `maintain`, which Cloud Scheduler triggers);
  * the Dockerfile exposes the container port and runs as a non-root user, and its
    build context (.dockerignore) lets in every file the crate embeds or declares;
  * the binary links only libraries the distroless runtime image has.

Dynamic, with the real binary:
  * started with no PORT, it listens on the container port on 0.0.0.0 (when that port
    is free here), and with PORT set, on that port;
  * the startup probe's path answers 200 once the database answers, within the probe's
    budget, and the liveness path 200; scripts/smoke-test passes against it;
  * with DATABASE_URL pointing at a closed port, the startup path answers 503 within
    the probe's timeout while the liveness path still answers 200;
  * SIGTERM stops it within Cloud Run's 10 seconds.

usage: infra_check.py --binary PATH/TO/machinemate-api --database-url postgres://...
"""

from __future__ import annotations

import argparse
import fnmatch
import glob
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import hcl2

ROOT = Path(__file__).resolve().parent.parent
RESERVED_ENV = {"PORT", "K_SERVICE", "K_REVISION", "K_CONFIGURATION"}
# The local stack's development signing key and its opt-in (src/config/): never in the cloud.
LOCAL_ONLY_ENV = {"LOCAL_AUTH", "LOCAL_AUTH_KEY_FILE"}
# What gcr.io/distroless/cc-debian12 provides: glibc, libgcc_s.
DISTROLESS_CC_LIBS = re.compile(
    r"^(linux-vdso\.so\.\d+|ld-linux-x86-64\.so\.2|lib(c|m|dl|rt|pthread|util|resolv|gcc_s)\.so\.\d+)$"
)
SIGTERM_BUDGET_SECS = 10  # Cloud Run sends SIGKILL 10 s after SIGTERM

failures: list[str] = []


def ok(message: str) -> None:
    print(f"  ok    {message}")


def fail(message: str) -> None:
    failures.append(message)
    print(f"  FAIL  {message}")


def check(condition: bool, message: str) -> bool:
    (ok if condition else fail)(message)
    return condition


# --- HCL helpers -------------------------------------------------------------------


def unquote(value):
    """python-hcl2 keeps string literals quoted ("x") and expressions as ${...}."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


class Terraform:
    def __init__(self, directory: Path):
        self.resources: dict[tuple[str, str], dict] = {}
        self.locals: dict = {}
        self.variables: dict[str, dict] = {}
        self.tfvars: dict[str, dict] = {}
        files = sorted(directory.glob("*.tf"))
        if not files:
            raise SystemExit(f"no .tf files in {directory}")
        for path in files:
            with path.open() as f:
                doc = hcl2.load(f)
            for block in doc.get("resource", []):
                for rtype, named in block.items():
                    for name, body in named.items():
                        self.resources[(unquote(rtype), unquote(name))] = body
            for block in doc.get("locals", []):
                self.locals.update({k: v for k, v in block.items() if not k.startswith("__")})
            for block in doc.get("variable", []):
                for name, body in block.items():
                    self.variables[unquote(name)] = body
        for path in sorted((directory / "environments").glob("*.tfvars*")):
            if path.name.endswith(".backend.hcl.example"):
                continue
            with path.open() as f:
                self.tfvars[path.name] = {
                    k: v for k, v in hcl2.load(f).items() if not k.startswith("__")
                }
        self.files = files

    def of_type(self, rtype: str) -> dict[str, dict]:
        return {name: body for (t, name), body in self.resources.items() if t == rtype}

    def scalar(self, value):
        """A literal, or a bare reference to a literal local (e.g. ${local.container_port})."""
        value = unquote(value)
        if isinstance(value, str):
            m = re.fullmatch(r"\$\{local\.(\w+)\}", value)
            if m and m.group(1) in self.locals:
                return self.scalar(self.locals[m.group(1)])
        return value

    def variable_values(self, name: str) -> list:
        """The variable's default and every value the committed tfvars examples give it."""
        values = []
        body = self.variables.get(name, {})
        if "default" in body:
            values.append(body["default"])
        for tfvars in self.tfvars.values():
            if name in tfvars:
                values.append(tfvars[name])
        return values

    def names_in(self, expr, seen=None) -> set[str]:
        """Every map key or list element reachable from an expression's local./var.
        references: a superset of the names a `for_each` over it can yield."""
        seen = set() if seen is None else seen
        names: set[str] = set()

        def collect(value) -> None:
            if isinstance(value, dict):
                names.update(unquote(k) for k in value if not k.startswith("__"))
            elif isinstance(value, list):
                names.update(unquote(v) for v in value if isinstance(v, str))
            elif isinstance(value, str):
                names.update(self.names_in(value, seen))

        for kind, ref in re.findall(r"\b(local|var)\.(\w+)", str(expr)):
            if (kind, ref) in seen:
                continue
            seen.add((kind, ref))
            if kind == "local":
                if ref not in self.locals:
                    fail(f"terraform: local.{ref} is referenced but not defined")
                    continue
                collect(self.locals[ref])
            else:
                for value in self.variable_values(ref):
                    if isinstance(value, (dict, list)):
                        collect(value)
        return names


def env_of(container: dict, terraform: Terraform) -> dict[str, list[str]]:
    """Environment variable name => how each setting of it is made ('plain' or 'secret')."""
    env: dict[str, list[str]] = {}

    def kind_of(body: dict) -> str:
        return "secret" if body.get("value_source") else "plain"

    for body in container.get("env", []):
        env.setdefault(unquote(body["name"]), []).append(kind_of(body))
    for dynamic in container.get("dynamic", []):
        for label, body in dynamic.items():
            if unquote(label) != "env":
                continue
            content = body["content"][0]
            names = terraform.names_in(body["for_each"])
            if not names:
                fail(f"terraform: cannot tell which variables `for_each = {body['for_each']}` sets")
            for name in names:
                env.setdefault(name, []).append(kind_of(content))
    return env


# --- src/config/ -------------------------------------------------------------------


def config_variables(config_rs: Path) -> tuple[set[str], set[str]]:
    """(every variable the service reads, those it holds as secrets).

    `config_rs` is the configuration module: one file, or a directory of them
    (src/config/), whose unit tests (`tests.rs`, `#[cfg(test)]` blocks) are left out."""
    files = sorted(config_rs.rglob("*.rs")) if config_rs.is_dir() else [config_rs]
    files = [f for f in files if f.name != "tests.rs"]
    check(bool(files), f"{config_rs}: no Rust sources found")
    source = "\n".join(f.read_text().split("#[cfg(test)]")[0] for f in files)
    read = set(re.findall(r"vars\s*\.\s*(?:get|parsed|ranged|required|url|secret)\(\s*\"([A-Z][A-Z0-9_]*)\"", source))
    read |= set(re.findall(r"std::env::var(?:_os)?\(\s*\"([A-Z][A-Z0-9_]*)\"", source))
    secret = set(re.findall(r"vars\s*\.\s*secret\(\s*\"([A-Z][A-Z0-9_]*)\"", source))
    secret |= set(re.findall(r"SecretString::from\(\s*vars\s*\.\s*required\(\s*\"([A-Z][A-Z0-9_]*)\"", source))
    # Doc comments mark the others, e.g. "/// `DATABASE_URL`: ... (secret)."
    for line in source.splitlines():
        line = line.strip()
        if line.startswith("///") and re.search(r"\bsecret\b", line, re.I):
            secret |= set(re.findall(r"`([A-Z][A-Z0-9_]*)`", line)) & read
    return read, secret


# --- Dockerfile and its build context ---------------------------------------------


def dockerignore_excludes(patterns: list[str], path: str) -> bool:
    """Docker's rule: the last pattern that matches the path or a parent of it wins."""
    excluded = False
    parts = path.split("/")
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern[1:] if negate else pattern
        pattern = pattern.strip("/")
        if pattern.startswith("**/"):
            hit = any(fnmatch.fnmatch("/".join(parts[i:]), pattern[3:]) for i in range(len(parts)))
        else:
            hit = any(fnmatch.fnmatch("/".join(parts[: i + 1]), pattern) for i in range(len(parts)))
        if hit:
            excluded = not negate
    return excluded


def build_inputs() -> set[str]:
    """Files `cargo build` reads besides src/: manifests, declared targets, embedded files."""
    needed = {"Cargo.toml", "Cargo.lock", "src/main.rs", "src/lib.rs"}
    # Build-time settings (.cargo/config.toml's [env]) change what is compiled.
    if (ROOT / ".cargo/config.toml").exists():
        needed.add(".cargo/config.toml")
    manifest = (ROOT / "Cargo.toml").read_text()
    for section, default_dir in (("test", "tests"), ("bench", "benches"), ("example", "examples")):
        for block in re.findall(rf"\[\[{section}\]\]\n((?:[^\[\n].*\n?)*)", manifest):
            name = re.search(r'name\s*=\s*"([^"]+)"', block)
            path = re.search(r'path\s*=\s*"([^"]+)"', block)
            if path:
                needed.add(path.group(1))
            elif name:
                needed.add(f"{default_dir}/{name.group(1)}.rs")
    for rs in glob.glob(str(ROOT / "src/**/*.rs"), recursive=True):
        text = Path(rs).read_text()
        for rel in re.findall(r'include_(?:str|bytes)!\(\s*"([^"]+)"', text):
            needed.add(os.path.relpath(os.path.normpath(os.path.join(os.path.dirname(rs), rel)), ROOT))
        for rel in re.findall(r'sqlx::migrate!\(\s*"([^"]+)"', text):
            needed.add(os.path.normpath(rel))
    return needed


def check_dockerfile(port: int) -> None:
    text = (ROOT / "Dockerfile").read_text()
    final = re.split(r"(?im)^FROM\s", text)[-1]
    exposed = re.findall(r"(?im)^EXPOSE\s+(\d+)", final)
    check(exposed == [str(port)], f"Dockerfile: the runtime stage exposes {port} (found {exposed})")
    users = re.findall(r"(?im)^USER\s+(\S+)", final)
    check(
        bool(users) and users[-1].split(":")[0] not in ("root", "0"),
        f"Dockerfile: the runtime stage runs as a non-root user ({users[-1] if users else 'none'})",
    )
    check(
        bool(re.search(r"(?im)^ENTRYPOINT\s+\[\"/usr/local/bin/machinemate-api\"\]", final)),
        "Dockerfile: the entrypoint is /usr/local/bin/machinemate-api",
    )
    check(not re.search(r"(?im)^(ARG|ENV)\s+\S*(SECRET|TOKEN|PASSWORD|KEY)", text),
          "Dockerfile: no secret passes through ARG or ENV")

    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    needed = sorted(build_inputs())
    let_out = [p for p in needed if dockerignore_excludes(patterns, p)]
    check(not let_out, f".dockerignore: the build context holds all {len(needed)} build inputs"
          + (f"; missing {let_out}" if let_out else ""))
    for leaked in ("target/debug/x", ".local/x", ".git/HEAD", "terraform/environments/prod.tfvars", ".env"):
        if not dockerignore_excludes(patterns, leaked):
            fail(f".dockerignore: {leaked.split('/')[0]} would be sent to the image build")


# --- The binary --------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("0.0.0.0", port))
            return True
        except OSError:
            return False


def get(port: int, path: str, timeout: float = 5.0) -> tuple[int, float]:
    """(status, seconds taken); status 0 when nothing answered."""
    started = time.monotonic()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
            return r.status, time.monotonic() - started
    except urllib.error.HTTPError as e:
        return e.code, time.monotonic() - started
    except (urllib.error.URLError, OSError):
        return 0, time.monotonic() - started


class Server:
    """The binary, started as Cloud Run would start it, in a clean environment."""

    def __init__(self, binary: str, args: list[str], env: dict[str, str]):
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [binary, *args],
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.started = time.monotonic()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def listening(self, timeout: float = 30.0) -> dict | None:
        """The JSON log line that says where it listens."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            for line in list(self.lines):
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if record.get("message") == "listening":
                    return record
            time.sleep(0.05)
        return None

    def stop(self) -> float | None:
        """SIGTERM; seconds until it exited, or None when it had to be killed."""
        if self.proc.poll() is not None:
            return 0.0
        sent = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=SIGTERM_BUDGET_SECS)
            return time.monotonic() - sent
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None

    def log_tail(self) -> str:
        return "\n".join("        " + line for line in self.lines[-15:])


def wait_for(port: int, path: str, status: int, budget: float) -> tuple[int, float]:
    deadline = time.monotonic() + budget
    while True:
        code, _ = get(port, path, timeout=2)
        if code == status or time.monotonic() >= deadline:
            return code, time.monotonic()
        time.sleep(0.1)


def check_binary(binary: str, database_url: str, service: dict, job_args: list[list[str]]) -> None:
    port = service["port"]
    startup, liveness = service["startup"], service["liveness"]
    # The probes do not depend on the model or storage: turned off, the binary needs neither.
    base_env = {"ENVIRONMENT": "production", "LOG_FORMAT": "json", "RUST_LOG": "info",
                "FEATURES_OFF": "identification,media"}

    for args in [service["args"], *job_args]:
        result = subprocess.run([binary, *args, "--help"], capture_output=True, text=True,
                                env={"PATH": os.environ.get("PATH", "")})
        check(result.returncode == 0, f"binary: `{' '.join(args)}` is a subcommand")

    # 1. As Cloud Run runs it, with a database that answers.
    default_port = port_is_free(port)
    env = {**base_env, "DATABASE_URL": database_url}
    if default_port:
        listen_port = port  # no PORT: the service's own default must be the container port
    else:
        listen_port = free_port()
        env["PORT"] = str(listen_port)
        print(f"  note  port {port} is in use here: the default-port check is skipped, PORT={listen_port}")
    server = Server(binary, startup["args"], env)
    try:
        record = server.listening()
        if not check(record is not None, "binary: starts and logs where it listens"):
            print(server.log_tail())
            return
        check(str(record.get("port")) == str(listen_port),
              f"binary: listens on {listen_port}" + (" without PORT set (the container port is the default)" if default_port else " (PORT)"))
        check(record.get("host") == "0.0.0.0", f"binary: listens on all interfaces (host {record.get('host')})")
        budget = startup["budget"]
        code, at = wait_for(listen_port, startup["path"], 200, budget)
        check(code == 200, f"startup probe: GET {startup['path']} answers 200 with the database up "
              f"({at - server.started:.1f}s after start; Terraform allows {budget:.0f}s)")
        code, took = get(listen_port, liveness["path"])
        check(code == 200, f"liveness probe: GET {liveness['path']} answers 200 ({took * 1000:.0f} ms)")
        smoke = subprocess.run([str(ROOT / "scripts/smoke-test"), f"http://127.0.0.1:{listen_port}"],
                               capture_output=True, text=True, env={**os.environ, "SMOKE_TEST_TIMEOUT_SECS": "10"})
        check(smoke.returncode == 0, "scripts/smoke-test (the deploy workflow's) passes against it"
              + ("" if smoke.returncode == 0 else f": {smoke.stderr.strip()}"))
    finally:
        took = server.stop()
    check(took is not None, f"binary: SIGTERM stops it within {SIGTERM_BUDGET_SECS}s"
          + (f" ({took:.1f}s)" if took is not None else ""))

    # 2. The database unreachable: not ready, still alive.
    listen_port, closed = free_port(), free_port()
    env = {**base_env, "PORT": str(listen_port),
           "DATABASE_URL": f"postgres://postgres@127.0.0.1:{closed}/postgres"}
    server = Server(binary, startup["args"], env)
    try:
        record = server.listening()
        if not check(record is not None, "binary: starts with the database unreachable"):
            print(server.log_tail())
            return
        check(str(record.get("port")) == str(listen_port), f"binary: listens on PORT={listen_port}")
        code, took = get(listen_port, startup["path"], timeout=startup["timeout"] + 3)
        check(code == 503, f"startup probe: GET {startup['path']} answers 503 with the database down (got {code})")
        check(took < startup["timeout"],
              f"startup probe: that 503 comes within the probe's {startup['timeout']}s timeout ({took:.2f}s)")
        code, took = get(listen_port, liveness["path"])
        check(code == 200, f"liveness probe: GET {liveness['path']} still answers 200 with the database down")
    finally:
        server.stop()


# --- Terraform checks --------------------------------------------------------------


def probe_of(container: dict, kind: str, terraform: Terraform) -> dict | None:
    blocks = container.get(kind, [])
    if not blocks:
        fail(f"terraform: the service has no {kind}")
        return None
    probe = blocks[0]
    http = (probe.get("http_get") or [{}])[0]
    period = int(terraform.scalar(probe.get("period_seconds", 10)))
    threshold = int(terraform.scalar(probe.get("failure_threshold", 3)))
    delay = int(terraform.scalar(probe.get("initial_delay_seconds", 0)))
    timeout = int(terraform.scalar(probe.get("timeout_seconds", 1)))
    return {
        "path": unquote(http.get("path", "/")),
        "port": terraform.scalar(http["port"]) if "port" in http else None,
        "period": period,
        "timeout": timeout,
        "budget": delay + period * threshold,
    }


def check_terraform(terraform: Terraform, config_rs: Path) -> tuple[dict, list[list[str]]]:
    read, secret = config_variables(config_rs)
    check(len(read) >= 10, f"src/config/: {len(read)} variables read ({len(secret)} held as secrets)")
    print(f"        secrets: {', '.join(sorted(secret))}")

    services = terraform.of_type("google_cloud_run_v2_service")
    jobs = terraform.of_type("google_cloud_run_v2_job")
    if not check(len(services) == 1, f"terraform: one Cloud Run service ({', '.join(services) or 'none'})"):
        raise SystemExit(1)
    check(len(jobs) >= 1, f"terraform: a Cloud Run job ({', '.join(jobs) or 'none'})")
    service = next(iter(services.values()))
    containers = service["template"][0]["containers"]
    check(len(containers) == 1, "terraform: the service has one container")
    container = containers[0]

    ports = container.get("ports", [])
    port = int(terraform.scalar(ports[0]["container_port"])) if ports else 8080
    check(bool(ports), f"terraform: the service's container port is {port}")

    startup = probe_of(container, "startup_probe", terraform)
    liveness = probe_of(container, "liveness_probe", terraform)
    if startup and liveness:
        check(startup["path"] == "/health/ready", f"terraform: startup probe path {startup['path']} is /health/ready")
        check(liveness["path"] == "/health/live", f"terraform: liveness probe path {liveness['path']} is /health/live")
        for name, probe in (("startup", startup), ("liveness", liveness)):
            check(probe["port"] in (None, port), f"terraform: {name} probe port {probe['port'] or '(default)'} is the container port {port}")
            check(probe["timeout"] < probe["period"], f"terraform: {name} probe timeout {probe['timeout']}s is under its period {probe['period']}s")
        check(30 <= startup["budget"] <= 240,
              f"terraform: the startup probe allows {startup['budget']}s for the database to answer (30-240)")
        service_args = [unquote(a) for a in container.get("args", [])] or ["serve"]
        startup["args"] = service_args

    for owner, body, boxes in (
        [("service", service, containers)]
        + [(f"job {name}", job, job["template"][0]["template"][0]["containers"]) for name, job in jobs.items()]
    ):
        env: dict[str, list[str]] = {}
        for box in boxes:
            for name, kinds in env_of(box, terraform).items():
                env.setdefault(name, []).extend(kinds)
        unknown = sorted(n for n in env if n not in read)
        reserved = sorted(n for n in env if n in RESERVED_ENV)
        plain_secrets = sorted(n for n, kinds in env.items() if "plain" in kinds and n in secret)
        twice = sorted(n for n, kinds in env.items() if len(kinds) > 1)
        bad_names = sorted(n for n in env if not re.fullmatch(r"[A-Z][A-Z0-9_]*", n))
        check(not unknown and not bad_names,
              f"terraform: the {owner}'s {len(env)} variables are all read by the service"
              + (f"; not read: {unknown + bad_names}" if unknown or bad_names else ""))
        check(not reserved, f"terraform: the {owner} sets no reserved variable (PORT is Cloud Run's)"
              + (f"; sets {reserved}" if reserved else ""))
        local_only = sorted(n for n in env if n in LOCAL_ONLY_ENV)
        check(not local_only, f"terraform: the {owner} sets none of the local stack's variables "
              f"({', '.join(sorted(LOCAL_ONLY_ENV))})" + (f"; sets {local_only}" if local_only else ""))
        check(not plain_secrets, f"terraform: the {owner}'s secrets come from Secret Manager"
              + (f"; plain: {plain_secrets}" if plain_secrets else ""))
        check(not twice, f"terraform: the {owner} sets each variable once"
              + (f"; more than once (plain extra_env over a secret?): {twice}" if twice else ""))
        listed = ", ".join(n + ("*" if "secret" in k else "") for n, k in sorted(env.items()))
        print(f"        {owner} (* from Secret Manager): {listed}")

    job_args = []
    for name, job in jobs.items():
        for box in job["template"][0]["template"][0]["containers"]:
            args = [unquote(a) for a in box.get("args", [])]
            job_args.append(args)
            check(args[:1] in (["migrate"], ["maintain"]), f"terraform: job {name} runs `machinemate-api {' '.join(args)}`")
    check(any(args[:1] == ["maintain"] for args in job_args),
          "terraform: a Cloud Run job runs `machinemate-api maintain` (housekeeping)")
    schedules = terraform.of_type("google_cloud_scheduler_job")
    runs_maintain = [
        name for name, body in schedules.items()
        if any(re.search(r"jobs/\$\{google_cloud_run_v2_job\.(\w+)\.name\}:run", unquote(t.get("uri", "")))
               and "maintain" in unquote(t.get("uri", "")) for t in body.get("http_target", []))
    ]
    check(bool(runs_maintain), f"terraform: Cloud Scheduler runs the housekeeping job ({', '.join(runs_maintain) or 'no trigger'})")

    return {"port": port, "startup": startup, "liveness": liveness,
            "args": startup["args"] if startup else ["serve"]}, job_args


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--binary", required=True)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--terraform", default=str(ROOT / "terraform"))
    parser.add_argument("--config-rs", default=str(ROOT / "src/config"))
    opts = parser.parse_args()
    if not opts.database_url:
        parser.error("--database-url or DATABASE_URL is required (a reachable PostgreSQL)")

    terraform = Terraform(Path(opts.terraform))
    ok(f"terraform: parsed {len(terraform.files)} files and {len(terraform.tfvars)} variables files "
       f"({len(terraform.resources)} resources)")
    service, job_args = check_terraform(terraform, Path(opts.config_rs))
    check_dockerfile(service["port"])

    ldd = subprocess.run(["ldd", opts.binary], capture_output=True, text=True)
    libs = sorted({line.split()[0].rsplit("/", 1)[-1] for line in ldd.stdout.splitlines() if line.strip()})
    foreign = [lib for lib in libs if not DISTROLESS_CC_LIBS.match(lib)]
    check(ldd.returncode == 0 and not foreign,
          f"binary: links only what distroless/cc has ({', '.join(libs)})" + (f"; also {foreign}" if foreign else ""))

    if service["startup"] and service["liveness"]:
        check_binary(opts.binary, opts.database_url, service, job_args)

    if failures:
        print(f"infra_check: {len(failures)} problem(s)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
