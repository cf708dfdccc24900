-- What an Idempotency-Key record may cost.
--
-- Each record kept the whole first answer (`response_body`), even when the request added
-- nothing: one account filled about 530 KiB per history batch, within its rate limit.
-- A record now keeps what the answer names (`kept`: its entry ids, or a favorite's
-- machine id), at most 8 KiB, and a replay reads those rows back; records written
-- before keep their `response_body` until they expire. Keys count toward a per-user
-- limit (src/idempotency.rs), and expired records are purged by
-- `machinemate-api maintain` rather than only when the same key comes again.

alter table public.idempotency_keys
  add column kept jsonb check (octet_length(kept::text) <= 8192);
comment on column public.idempotency_keys.kept is
  'What the first answer names (ids), read back on a replay; response_body is only in records written before.';

-- A user's live keys, counted before a new one is taken.
-- Indexes without CONCURRENTLY (squawk's require-concurrent-index-creation): no production
-- database holds rows here yet. Production gets this schema at the cutover, which runs
-- every migration in one transaction (where CONCURRENTLY cannot run) before any row is
-- copied; dev and staging tables are small, built well within migrate's lock_timeout.
-- squawk-ignore require-concurrent-index-creation
create index idempotency_keys_user_created_idx on public.idempotency_keys (user_id, created_at);
