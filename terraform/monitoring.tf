# Signals without a sidecar. Cloud Run gives CPU only while serving (cpu_idle), so
# nothing in the instance can be scraped between requests: the service's own signals
# are log-based metrics drawn from its structured log lines (src/telemetry), beside
# Cloud Run's request metrics (run.googleapis.com/...). Every filter and label
# extractor here is checked against the lines the real binary writes, in a fault drill
# that produces each signal (scripts/fault-drill, docs/operations.md).

locals {
  # This service's own stdout lines, on Cloud Run.
  log_scope = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${local.name}\""

  # Each log-based metric: the lines it counts (by the `message` the binary writes), its
  # labels (all STRING) and their extractors, and, for a distribution, the extractor of
  # the number it measures. Written out whole, so the fault drill reads exactly what
  # Cloud Logging will be given.
  log_metrics = {
    identifications = {
      description = "Identifications by outcome (matched, unknown, cached, mocked, unavailable), prompt variant and model."
      filter      = "${local.log_scope} AND jsonPayload.message=\"identified\""
      labels = {
        outcome = "EXTRACT(jsonPayload.outcome)"
        variant = "EXTRACT(jsonPayload.variant)"
        model   = "EXTRACT(jsonPayload.model)"
      }
      value = null
      unit  = "1"
    }
    model-tokens = {
      description = "Tokens (prompt and completion) each identification that reached the model cost, by prompt variant and model."
      filter      = "${local.log_scope} AND jsonPayload.message=\"identified\" AND jsonPayload.tokens>0"
      labels = {
        variant = "EXTRACT(jsonPayload.variant)"
        model   = "EXTRACT(jsonPayload.model)"
      }
      value = "EXTRACT(jsonPayload.tokens)"
      unit  = "1"
    }
    breaker-transitions = {
      description = "Fireworks circuit breaker transitions, by the state entered (open, half_open, closed)."
      filter      = "${local.log_scope} AND jsonPayload.message=~\"^Fireworks circuit \" AND jsonPayload.breaker:*"
      labels = {
        state = "EXTRACT(jsonPayload.breaker)"
      }
      value = null
      unit  = "1"
    }
    database-unavailable = {
      description = "Requests answered 503 because Postgres could not be reached, by how (pool_timed_out, io, tls, protocol, ...)."
      filter      = "${local.log_scope} AND jsonPayload.message=\"database unavailable\""
      labels = {
        error_kind = "EXTRACT(jsonPayload.error_kind)"
      }
      value = null
      unit  = "1"
    }
    pool-waits = {
      description = "Waits of 100 ms or more for a pooled database connection (milliseconds), by whether one was had (acquired, failed)."
      filter      = "${local.log_scope} AND jsonPayload.message=\"slow database checkout\""
      labels = {
        outcome = "EXTRACT(jsonPayload.outcome)"
      }
      value = "EXTRACT(jsonPayload.wait_ms)"
      unit  = "ms"
    }
    identification-refusals = {
      description = "Identifications refused before the model was asked: by a caller's daily quota (429) or the spent global model budget (503), by kind of caller (user, anonymous_user, address)."
      filter      = "${local.log_scope} AND jsonPayload.message=\"identification refused\""
      labels = {
        refused_by = "EXTRACT(jsonPayload.refused_by)"
        holder     = "EXTRACT(jsonPayload.holder)"
      }
      value = null
      unit  = "1"
    }
    model-budget-thresholds = {
      description = "The global daily model budget crossing 80 % or 100 % of its calls or tokens (once each per UTC day)."
      filter      = "${local.log_scope} AND jsonPayload.message=\"model budget threshold crossed\""
      labels = {
        budget  = "EXTRACT(jsonPayload.budget)"
        percent = "EXTRACT(jsonPayload.percent)"
      }
      value = null
      unit  = "1"
    }
    slow-requests = {
      description = "Requests slower than their route allows (identification: 10 s, any other route: 1 s), by route: the bad events of the latency SLO."
      filter      = "${local.log_scope} AND jsonPayload.message=\"request completed\" AND ((jsonPayload.route=(\"/identify\" OR \"/api/v1/identify\") AND jsonPayload.latency_ms>=10000) OR (NOT jsonPayload.route=(\"/identify\" OR \"/api/v1/identify\") AND jsonPayload.latency_ms>=1000))"
      labels = {
        route = "EXTRACT(jsonPayload.route)"
      }
      value = null
      unit  = "1"
    }
  }
}

resource "google_logging_metric" "signal" {
  for_each = local.log_metrics

  name        = "${local.name}-${each.key}"
  description = each.value.description
  filter      = each.value.filter

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = each.value.value == null ? "INT64" : "DISTRIBUTION"
    unit         = each.value.unit
    display_name = "${local.name} ${each.key}"

    dynamic "labels" {
      for_each = each.value.labels
      content {
        key        = labels.key
        value_type = "STRING"
      }
    }
  }

  label_extractors = each.value.labels
  value_extractor  = each.value.value

  dynamic "bucket_options" {
    for_each = each.value.value == null ? [] : [1]
    content {
      exponential_buckets {
        num_finite_buckets = 24
        growth_factor      = 2
        scale              = 1
      }
    }
  }

  depends_on = [google_project_service.apis]
}

# The metric types alerts, SLOs and the dashboard name.
locals {
  log_metric_type = { for key, metric in google_logging_metric.signal : key => "logging.googleapis.com/user/${metric.name}" }
}
