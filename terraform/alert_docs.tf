# What each page says: what it means, the first three things to check, and the Logs
# Explorer query that shows its lines. docs/operations.md has one runbook section per
# alert (the anchor below); the fault drill checks every query against the lines of
# the fault that raises the alert.

locals {
  runbook = "https://github.com/${var.github_repository}/blob/main/docs/operations.md"

  alert_docs = {
    availability = {
      meaning = "Requests are answering 5xx fast enough to spend the availability SLO's 28-day error budget early."
      checks = [
        "The Cloud Run revision serving: did a deploy just move traffic (`gcloud run services describe ${local.name}`)? A bad release is rolled back by `gcloud run services update-traffic ${local.name} --to-revisions PREVIOUS=100`.",
        "The 5xx by route in the query below: one route (identification: Fireworks; user data: the database) or all of them (the database, the instances).",
        "The dashboard's upstream and database tiles: the Fireworks circuit, database unavailability, pool waits.",
      ]
      query   = "${local.log_scope} AND httpRequest.status>=500"
      section = "availability-slo-burning"
    }
    latency = {
      meaning = "Too many requests are slower than their route allows (identification 10 s, the rest 1 s): the latency SLO's error budget is burning early."
      checks = [
        "Which routes are slow (query below, `jsonPayload.route`): identification alone points at Fireworks; every route at the database or the instances.",
        "Pool waits and instance count on the dashboard: waits for a connection mean the pool (DATABASE_MAX_CONNECTIONS x instances) is too small for the load or Postgres is slow.",
        "Supabase's database health (CPU, connections) and a recent deploy, as for availability.",
      ]
      query   = local.log_metrics["slow-requests"].filter
      section = "latency-slo-burning"
    }
    uptime = {
      meaning = "GET /health/ready has failed from several checker regions: the service cannot reach its database, or no instance answers."
      checks = [
        "Open /health/ready yourself: 503 `database_unavailable` is the database (Supabase status, the connection pooler, the DATABASE_URL secret); no answer at all is Cloud Run (revision status, startup probe failures).",
        "The errors in the query below: `database unavailable` lines and their `error_kind` (io, tls, pool_timed_out) say how it fails.",
        "A secret rotated or the database CA changed (`*-database-url`, `*-database-ca-cert` versions) just before it began.",
      ]
      query   = "${local.log_scope} AND severity>=ERROR"
      section = "healthready-failing"
    }
    breaker-open = {
      meaning = "Fireworks failed several calls in a row and the circuit breaker opened: identification answers 503 at once (the app falls back to its on-device flow) until a trial call succeeds."
      checks = [
        "Fireworks' status page and the answers it gave (the query below: `Fireworks asked to retry` with its status, `Fireworks refused the request`, timeouts).",
        "A 401/403 from Fireworks means the FIREWORKS_API_KEY secret is wrong or revoked; a 404 a model name (FIREWORKS_MODEL, IDENTIFY_PROMPT_VARIANTS) Fireworks no longer serves.",
        "Whether it closes again (`Fireworks circuit closed`): the breaker tries one call every FIREWORKS_BREAKER_COOLDOWN_SECS.",
      ]
      query   = "${local.log_scope} AND jsonPayload.message=~\"^Fireworks\""
      section = "fireworks-circuit-open"
    }
    database-unreachable = {
      meaning = "Requests are answered 503 `Database unavailable`: the service cannot get a working connection to Postgres."
      checks = [
        "`error_kind` in the lines below: `io` (refused or reset: Supabase down, paused or restarting), `tls` (certificate: DATABASE_CA_CERT), `pool_timed_out` (every pooled connection busy: see pool waits).",
        "Supabase's project status and its connection pooler's limits (max client connections against instances x DATABASE_MAX_CONNECTIONS).",
        "Whether /health/ready fails too (the uptime check): Cloud Run then stops sending traffic to new instances until the database answers.",
      ]
      query   = "${local.log_scope} AND (jsonPayload.message=\"database unavailable\" OR jsonPayload.message=\"slow database checkout\")"
      section = "database-unreachable"
    }
    model-budget = {
      meaning = "The day's global model budget (IDENTIFY_MODEL_DAILY_CALLS or _TOKENS) has crossed 80 % or 100 %. At 100 % identification answers 503 until 00:00 UTC; everything else keeps working."
      checks = [
        "Who spends it: identifications by caller kind and variant on the dashboard, and the refusals by `holder` (a surge of anonymous sign-ins, one address, a new variant's longer prompt).",
        "Whether the spending is real use: if so, raise model_daily_calls / model_daily_tokens (Terraform) and deploy; if abuse, lower the per-caller allowances (IDENTIFY_ANONYMOUS_USER_DAILY_LIMIT, IDENTIFY_ANONYMOUS_DAILY_LIMIT).",
        "The billing budget's last e-mail and Fireworks' own usage page, against the tokens the service counted (`identification_model_budget`).",
      ]
      query   = "${local.log_scope} AND (jsonPayload.message=\"model budget threshold crossed\" OR jsonPayload.refused_by=\"model_budget\")"
      section = "model-budget-nearly-spent"
    }
  }

  alert_documentation = {
    for key, doc in local.alert_docs : key => join("\n", concat(
      [doc.meaning, "", "**First checks**", ""],
      [for i, check in doc.checks : "${i + 1}. ${check}"],
      ["", "**Logs Explorer**", "", "```", doc.query, "```", "", "Runbook: ${local.runbook}#${doc.section}"],
    ))
  }
}
