# One dashboard for everything that is watched but does not page: traffic, errors,
# latency, instances, memory (Cloud Run's own metrics), the database pool, upstreams,
# identification and its tokens per prompt variant and model, and the allowances and
# budget (the log-based metrics of monitoring.tf).

locals {
  run_scope = "resource.type=\"cloud_run_revision\" AND resource.label.\"service_name\"=\"${local.name}\""

  # A chart line: a metric filter, how each series is aligned over a minute (or five),
  # and what its series are summed or reduced by.
  chart_lines = {
    requests = [{
      filter = "metric.type=\"run.googleapis.com/request_count\" AND ${local.run_scope}"
      align  = "ALIGN_RATE", reduce = "REDUCE_SUM", by = ["metric.label.\"response_code_class\""], period = "60s"
    }]
    latency = [for p in ["50", "95", "99"] : {
      filter = "metric.type=\"run.googleapis.com/request_latencies\" AND ${local.run_scope}"
      align  = "ALIGN_DELTA", reduce = "REDUCE_PERCENTILE_${p}", by = [], period = "60s"
    }]
    instances = [{
      filter = "metric.type=\"run.googleapis.com/container/instance_count\" AND ${local.run_scope}"
      align  = "ALIGN_MAX", reduce = "REDUCE_SUM", by = ["metric.label.\"state\"", "resource.label.\"revision_name\""], period = "60s"
    }]
    memory = [{
      filter = "metric.type=\"run.googleapis.com/container/memory/utilizations\" AND ${local.run_scope}"
      align  = "ALIGN_DELTA", reduce = "REDUCE_PERCENTILE_99", by = ["resource.label.\"revision_name\""], period = "60s"
    }]
    cpu = [{
      filter = "metric.type=\"run.googleapis.com/container/cpu/utilizations\" AND ${local.run_scope}"
      align  = "ALIGN_DELTA", reduce = "REDUCE_PERCENTILE_99", by = ["resource.label.\"revision_name\""], period = "60s"
    }]
    pool = [
      {
        filter = "metric.type=\"${local.log_metric_type["pool-waits"]}\" AND resource.type=\"cloud_run_revision\""
        align  = "ALIGN_DELTA", reduce = "REDUCE_PERCENTILE_95", by = ["metric.label.\"outcome\""], period = "300s"
      },
      {
        filter = "metric.type=\"${local.log_metric_type["database-unavailable"]}\" AND resource.type=\"cloud_run_revision\""
        align  = "ALIGN_SUM", reduce = "REDUCE_SUM", by = ["metric.label.\"error_kind\""], period = "300s"
      },
    ]
    upstreams = [
      {
        filter = "metric.type=\"${local.log_metric_type["breaker-transitions"]}\" AND resource.type=\"cloud_run_revision\""
        align  = "ALIGN_SUM", reduce = "REDUCE_SUM", by = ["metric.label.\"state\""], period = "300s"
      },
      {
        filter = "metric.type=\"${local.log_metric_type["identifications"]}\" AND resource.type=\"cloud_run_revision\" AND metric.label.\"outcome\"=\"unavailable\""
        align  = "ALIGN_SUM", reduce = "REDUCE_SUM", by = ["metric.label.\"model\""], period = "300s"
      },
    ]
    identifications = [{
      filter = "metric.type=\"${local.log_metric_type["identifications"]}\" AND resource.type=\"cloud_run_revision\""
      align  = "ALIGN_SUM", reduce = "REDUCE_SUM", by = ["metric.label.\"outcome\"", "metric.label.\"variant\"", "metric.label.\"model\""], period = "300s"
    }]
    # Tokens per call; the day's exact total is in identification_model_budget, and
    # GET /api/v1/metrics/identification sums them per variant and model.
    tokens = [for r in ["REDUCE_MEAN", "REDUCE_PERCENTILE_95"] : {
      filter = "metric.type=\"${local.log_metric_type["model-tokens"]}\" AND resource.type=\"cloud_run_revision\""
      align  = "ALIGN_DELTA", reduce = r, by = ["metric.label.\"variant\"", "metric.label.\"model\""], period = "300s"
    }]
    allowances = [
      {
        filter = "metric.type=\"${local.log_metric_type["identification-refusals"]}\" AND resource.type=\"cloud_run_revision\""
        align  = "ALIGN_SUM", reduce = "REDUCE_SUM", by = ["metric.label.\"refused_by\"", "metric.label.\"holder\""], period = "300s"
      },
      {
        filter = "metric.type=\"${local.log_metric_type["model-budget-thresholds"]}\" AND resource.type=\"cloud_run_revision\""
        align  = "ALIGN_SUM", reduce = "REDUCE_SUM", by = ["metric.label.\"budget\"", "metric.label.\"percent\""], period = "300s"
      },
    ]
  }

  chart_titles = {
    requests        = "Requests per second by response class"
    latency         = "Latency at the front end: p50, p95, p99 (ms)"
    instances       = "Instances by state and revision"
    memory          = "Memory utilization p99 by revision"
    cpu             = "CPU utilization p99 by revision"
    pool            = "Database: slow checkouts p95 (ms) and unavailability by kind"
    upstreams       = "Fireworks: circuit transitions and identifications it could not answer"
    identifications = "Identifications by outcome, prompt variant and model (per 5 min)"
    tokens          = "Model tokens per call by variant and model (mean, p95)"
    allowances      = "Refusals (daily quota, model budget) by caller kind; budget marks crossed"
  }

  chart_order = ["requests", "latency", "instances", "memory", "cpu", "pool", "upstreams", "identifications", "tokens", "allowances"]

  dashboard = {
    displayName = "MachineMate API (${var.environment})"
    mosaicLayout = {
      columns = 48
      tiles = [for i, key in local.chart_order : {
        xPos   = (i % 2) * 24
        yPos   = floor(i / 2) * 16
        width  = 24
        height = 16
        widget = {
          title = local.chart_titles[key]
          xyChart = {
            dataSets = [for line in local.chart_lines[key] : {
              plotType = "LINE"
              timeSeriesQuery = {
                timeSeriesFilter = {
                  filter = line.filter
                  aggregation = {
                    alignmentPeriod    = line.period
                    perSeriesAligner   = line.align
                    crossSeriesReducer = line.reduce
                    groupByFields      = line.by
                  }
                }
              }
            }]
          }
        }
      }]
    }
  }
}

resource "google_monitoring_dashboard" "api" {
  dashboard_json = jsonencode(local.dashboard)

  depends_on = [google_project_service.apis]
}
