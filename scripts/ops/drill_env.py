"""What the fault drill runs the binary against: a scratch PostgreSQL of its own (so
stopping it harms nobody), a Fireworks stand-in speaking the chat-completions wire
format that can be told to fail, the binary itself with its stdout captured line by
line, and a small HTTP client."""

from __future__ import annotations

import json
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ScratchPostgres:
    """initdb in a temporary directory, on a free port; stop() and start() at will."""

    def __init__(self):
        self.bindir = self._bindir()
        self.dir = Path(tempfile.mkdtemp(prefix="mm-drill-pg-"))
        self.port = free_port()
        self.as_owner = []
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            shutil.chown(self.dir, "postgres")
            self.as_owner = ["runuser", "-u", "postgres", "--"]
        self._run("initdb", "-D", str(self.dir / "data"), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale")
        self.start()
        self._run("psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-qc", "create database machinemate")
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/machinemate"

    @staticmethod
    def _bindir() -> str:
        found = shutil.which("pg_config")
        if found:
            bindir = subprocess.run([found, "--bindir"], capture_output=True, text=True).stdout.strip()
            if Path(bindir, "initdb").exists():
                return bindir
        candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
        if not candidates:
            raise SystemExit("fault-drill: PostgreSQL binaries not found (scripts/local-postgres installs them)")
        return str(candidates[-1])

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run([*self.as_owner, str(Path(self.bindir, tool)), *args], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50"
        self._run("pg_ctl", "-D", str(self.dir / "data"), "-l", str(self.dir / "log"), "-w", "-o", options, "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


class Fireworks:
    """OpenAI-style chat completions: a catalog machine with usage, or 503 while failing."""

    def __init__(self, machine: str = "Leg Press"):
        self.failing = False
        self.calls = 0
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                length = int(self.headers.get("content-length", 0))
                request = json.loads(self.rfile.read(length) or b"{}")
                stand_in.calls += 1
                if self.headers.get("authorization") != "Bearer drill-key":
                    return self._send(401, {"error": {"message": "bad key"}})
                if stand_in.failing:
                    return self._send(503, {"error": {"message": "upstream overloaded", "code": 503}})
                system = request["messages"][0]["content"]
                prompt = 850 + len(system) // 4
                self._send(200, {
                    "id": "cmpl-drill", "object": "chat.completion", "created": int(time.time()),
                    "model": request.get("model"),
                    "choices": [{"index": 0, "finish_reason": "stop", "message": {
                        "role": "assistant", "content": json.dumps({"machine": machine, "confidence": 0.92})}}],
                    "usage": {"prompt_tokens": prompt, "completion_tokens": 14, "total_tokens": prompt + 14},
                })

            def _send(self, status: int, body: dict):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/inference/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


class Service:
    """The binary serving, every stdout line kept as (seconds since `epoch`, text)."""

    def __init__(self, binary: str, env: dict[str, str], lines: list, epoch: float):
        self.port = int(env["PORT"])
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen([binary, "serve"], env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        self.reader = threading.Thread(target=self._read, args=(lines, epoch), daemon=True)
        self.reader.start()
        deadline = time.monotonic() + 30
        while get(self.base, "/health/ready")[0] != 200:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise SystemExit("fault-drill: the service did not get ready:\n" + "\n".join(l for _, l in lines[-20:]))
            time.sleep(0.1)

    def _read(self, lines: list, epoch: float) -> None:
        for line in self.proc.stdout:
            lines.append((time.monotonic() - epoch, line.rstrip("\n")))

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=15)
        self.reader.join(timeout=5)


def request(base: str, method: str, path: str, token: str | None = None, body=None,
            content_type: str | None = None, timeout: float = 30) -> tuple[int, dict, dict]:
    """(status, headers, JSON body or {})."""
    headers = {}
    if token:
        headers["authorization"] = f"Bearer {token}"
    if isinstance(body, (dict, list)):
        body, content_type = json.dumps(body).encode(), "application/json"
    if content_type:
        headers["content-type"] = content_type
    req = urllib.request.Request(base + path, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, head, raw = r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        status, head, raw = e.code, dict(e.headers), e.read()
    try:
        return status, {k.lower(): v for k, v in head.items()}, json.loads(raw or b"{}")
    except ValueError:
        return status, head, {}


def get(base: str, path: str, token: str | None = None) -> tuple[int, dict]:
    try:
        status, _, body = request(base, "GET", path, token, timeout=10)
        return status, body
    except OSError:
        return 0, {}


def photo(shade: int) -> bytes:
    """A distinct 64x48 PNG per shade (distinct photos are distinct model calls)."""
    width, height = 64, 48
    row = b"\x00" + bytes([shade % 256, 90, (shade * 7) % 256]) * width
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(row * height)) + chunk(b"IEND", b""))


def identify(base: str, token: str, shade: int) -> tuple[int, dict, dict]:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\ncontent-disposition: form-data; name=\"image\"; filename=\"p.png\"\r\n"
            f"content-type: image/png\r\n\r\n").encode() + photo(shade) + f"\r\n--{boundary}--\r\n".encode()
    return request(base, "POST", "/identify", token, body, f"multipart/form-data; boundary={boundary}")
