#!/usr/bin/env python3
"""Where a request's CPU goes: the service, Postgres and wrk, in µs per request.

    .local/bench-venv/bin/python bench/cpu_split.py SERVICE_BINARY FLOOR_BINARY DATABASE_URL \\
        [floor|favorites|history|sync|catalog ...]

Run after `bench/run` (which builds the binaries into .local/bench/bin/ and installs
wrk): seeds the bench database as bench/run does, then drives each scenario with wrk for
SECONDS (default 10) and reads, from /proc, the CPU time the service (or the floor),
every process of the database's Postgres instance and wrk used meanwhile, divided by the
requests answered. On a 2-core machine throughput is about 2 s of CPU per second over
the sum of the three, so the split says which side a change must shrink. With
PERF=favorites (a scenario name), `perf record -g` samples the service during it into
/tmp/perf-favorites.data.
"""

import os
import subprocess
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402


def ticks(pids, postmaster=None):
    total = 0
    for pid in pids:
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])
        if pid == postmaster:  # its children that have exited
            total += int(fields[13]) + int(fields[14])
    return total


def main():
    binary, floor_binary, base_url = sys.argv[1:4]
    scenarios = sys.argv[4:] or ["floor", "favorites", "history", "sync", "catalog"]
    seconds = int(os.environ.get("SECONDS_EACH", "10"))
    bench.WORK.mkdir(parents=True, exist_ok=True)
    fireworks = bench.FireworksStandIn(200)
    url = bench.with_query(bench.prepare_database(base_url), sslmode="disable")
    env = bench.service_env(url, bench.free_port(), fireworks)
    subprocess.run([binary, "local-setup"], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    bench.psql(url, bench.seed_sql(1, bench.USERS))
    bench.settle(url)
    service = bench.Service(binary, env)
    service.start()
    tokens = bench.mint_tokens(binary, env, bench.USERS)
    cursors = bench.initial_cursors(service, tokens)
    floor = bench.Floor(floor_binary, url)
    data = bench.psql_rows(url, "show data_directory")[0]
    postmaster = int(open(os.path.join(data, "postmaster.pid")).readline())
    hz = os.sysconf("SC_CLK_TCK")

    def postgres():
        out = subprocess.run(["pgrep", "-P", str(postmaster)], capture_output=True,
                             text=True).stdout
        return [postmaster] + [int(p) for p in out.split()]

    def run(name, target, requests, pid):
        before = (ticks([pid]), ticks(postgres(), postmaster))
        perf = None
        if os.environ.get("PERF") == name:
            perf = subprocess.Popen(["perf", "record", "-F", os.environ.get("PERF_HZ", "2000"), *os.environ.get("PERF_CALL_GRAPH", "-g").split(), "-p", str(pid),
                                     "-o", f"/tmp/perf-{name}.data"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t0 = os.times()
        result = bench.wrk(target, requests, seconds, 32)
        t1 = os.times()
        if perf:
            perf.send_signal(2)
            perf.wait()
        after = (ticks([pid]), ticks(postgres(), postmaster))
        n = result["requests"]
        wrk_cpu = (t1.children_user + t1.children_system
                   - t0.children_user - t0.children_system)
        print(f"| {name} | {result['rps']:,.0f} | {result['p99_ms']:.2f} | "
              f"{(after[0] - before[0]) / hz / n * 1e6:.0f} | "
              f"{(after[1] - before[1]) / hz / n * 1e6:.0f} | {wrk_cpu / n * 1e6:.0f} | "
              f"{result['errors']} |", flush=True)

    print("| scenario | requests/s | p99 ms | service µs/request | Postgres µs/request "
          "| wrk µs/request | errors |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    try:
        for name in scenarios:
            if name == "floor":
                run(name, floor, [("", f"/?user={bench.user_id(g)}")
                                  for g in range(1, bench.USERS + 1)], floor.process.pid)
            elif name == "favorites":
                run(name, service, [(t, "/api/v1/favorites") for t in tokens],
                    service.process.pid)
            elif name == "history":
                run(name, service, [(t, "/api/v1/history?page_size=20") for t in tokens],
                    service.process.pid)
            elif name == "sync":
                run(name, service, [(t, f"/api/v1/sync?since={urllib.parse.quote(c)}")
                                    for t, c in zip(tokens, cursors)], service.process.pid)
            elif name == "catalog":
                run(name, service, [("", "/api/v1/machines?page_size=20")],
                    service.process.pid)
            else:
                raise SystemExit(f"cpu_split: no scenario {name!r}")
    finally:
        service.stop()
        floor.stop()


if __name__ == "__main__":
    main()
