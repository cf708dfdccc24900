#!/usr/bin/env python3
"""How long `GET /api/v1/metrics/identification` takes at a million identifications
(run it through bench/quality; docs/performance.md holds the method and the figures).

Seeds a fresh database with 10,000 users and 1,000,000 identification events spread
evenly over the last 90 days (three prompt variants, one per user by user number; 5%
unknown, 1% unusable answers, 0.5% upstream errors; confidences spread over 0..1) and a
correction for one event in seven; vacuums and checkpoints; starts the release binary;
then asks for windows of 7, 30 and 90 days as an admin, six times each, and prints the
median of the last five (the first warms the caches).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone

from bench import WORK, free_port, psql, psql_rows, settle, with_database

USERS = 10_000
EVENTS = 1_000_000
DAYS = 90

SEED = f"""
select setseed(0.2026);
insert into auth.users (id, aud, role, email)
select ('00000000-0000-4000-9000-' || lpad(to_hex(g), 12, '0'))::uuid,
       'authenticated', 'authenticated', 'quality' || g || '@example.com'
from generate_series(1, {USERS}) g;

create temporary table catalog as
select row_number() over (order by id) as n, id, name from public.machines;

insert into public.identification_events
  (trace_id, user_id, machine_id, machine_name, confidence, unmapped, model,
   prompt_variant, latency_ms, created_at, failure, prompt_tokens, completion_tokens)
select 'quality-' || e.g,
       ('00000000-0000-4000-9000-' || lpad(to_hex(e.u), 12, '0'))::uuid,
       case when e.unknown then null else c.id end,
       case when e.unknown then 'Unknown' else c.name end,
       case when e.unknown then 0 else round((0.3 + 0.7 * random())::numeric, 3) end,
       e.unknown,
       'accounts/fireworks/models/qwen2p5-vl-32b-instruct',
       (array['catalog-v1', 'catalog-v2', 'cues-v1'])[1 + e.u % 3],
       400 + (random() * 2500)::int,
       now() - interval '{DAYS} days' + (e.g::float8 / {EVENTS}) * interval '{DAYS} days',
       case when e.r < 0.005 then 'upstream' when e.r < 0.015 then 'unparseable' end,
       1200 + (random() * 400)::int,
       20 + (random() * 20)::int
from (select g, 1 + (g::bigint * 7919) % {USERS} as u, random() as r,
             random() < 0.05 as unknown,
             1 + floor(random() * (select count(*) from catalog))::int as m
      from generate_series(1, {EVENTS}) g) e
join catalog c on c.n = e.m;

insert into public.identification_corrections
  (trace_id, user_id, machine_id, source, time_to_correction_ms, created_at)
select e.trace_id, e.user_id, c.id,
       (array['picker', 'favorites', 'history'])[1 + (random() * 2)::int],
       (2000 + random() * 60000)::int,
       e.created_at + interval '20 seconds'
from public.identification_events e
join catalog c on c.n = 1 + (hashtext(e.trace_id) & 1023) % (select count(*) from catalog)
where e.trace_id like 'quality-%' and random() < 1.0 / 7
  and c.id is distinct from e.machine_id;
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="a server's URL; a database "
                        "machinemate_quality is created on it afresh")
    parser.add_argument("--binary", required=True)
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)

    admin_url = with_database(args.database_url, "postgres")
    psql(admin_url, "drop database if exists machinemate_quality with (force)")
    psql(admin_url, "create database machinemate_quality")
    url = with_database(args.database_url, "machinemate_quality")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    env.update({
        "DATABASE_URL": url, "HOST": "127.0.0.1", "PORT": str(port),
        "ENVIRONMENT": "development", "LOG_FORMAT": "json", "RUST_LOG": "warn",
        "SUPABASE_URL": f"http://127.0.0.1:{port}",
        "LOCAL_AUTH_KEY_FILE": str(WORK / "dev-es256.pk8"), "LOCAL_AUTH": "enabled",
    })
    subprocess.run([args.binary, "local-setup"], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    started = time.time()
    print(f"seeding {EVENTS:,} identifications of {USERS:,} users over {DAYS} days",
          file=sys.stderr)
    psql(url, SEED)
    settle(url)
    events, corrections = psql_rows(url, "select (select count(*) from "
                                    "public.identification_events), (select count(*) "
                                    "from public.identification_corrections)")[0].split("|")
    print(f"seeded {int(events):,} events and {int(corrections):,} corrections in "
          f"{time.time() - started:.0f} s", file=sys.stderr)

    token = subprocess.run([args.binary, "dev-token", "--role", "admin"], env=env,
                           check=True, capture_output=True, text=True).stdout.strip()
    service = subprocess.Popen([args.binary], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/health/ready", timeout=1)
                break
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        now = datetime.now(timezone.utc).replace(microsecond=0)
        to = (now + timedelta(minutes=1)).isoformat().replace("+00:00", "Z")
        print("| window | identifications in it | median | runs (ms) |")
        print("|---|---|---|---|")
        for days in (7, 30, DAYS):
            since = (now - timedelta(days=days) + timedelta(minutes=1))
            path = (f"/api/v1/metrics/identification?from="
                    f"{since.isoformat().replace('+00:00', 'Z')}&to={to}")
            times, body = [], None
            for _ in range(6):
                request = urllib.request.Request(
                    base + path, headers={"Authorization": f"Bearer {token}"})
                t = time.perf_counter()
                with urllib.request.urlopen(request, timeout=60) as response:
                    body = json.load(response)
                times.append((time.perf_counter() - t) * 1000)
            n = sum(v["identifications"] for v in body["variants"])
            print(f"| {days} days | {n:,} | {statistics.median(times[1:]):,.0f} ms | "
                  f"{', '.join(f'{t:.0f}' for t in times)} |")
    finally:
        service.terminate()
        service.wait()


if __name__ == "__main__":
    main()
