# The few symptom pages besides the SLOs' (slos.tf): the readiness probe failing from
# outside, the Fireworks circuit open, the database unreachable, the model budget
# nearly spent. Everything else is on the dashboard (dashboard.tf), not a page.

resource "google_monitoring_uptime_check_config" "ready" {
  display_name = "${local.name} /health/ready"
  timeout      = "10s"
  period       = "60s"
  checker_type = "STATIC_IP_CHECKERS"

  http_check {
    path         = "/health/ready"
    port         = 443
    use_ssl      = true
    validate_ssl = true

    accepted_response_status_codes {
      status_value = 200
    }
  }

  monitored_resource {
    type = "uptime_url"
    labels = {
      project_id = var.project_id
      host       = trimprefix(google_cloud_run_v2_service.api.uri, "https://")
    }
  }

  depends_on = [google_project_service.apis]
}

resource "google_monitoring_alert_policy" "uptime" {
  display_name          = "${local.name}: /health/ready failing"
  combiner              = "OR"
  notification_channels = var.notification_channels
  severity              = "CRITICAL"

  conditions {
    display_name = "/health/ready fails from more than one checker region for 5 minutes"
    condition_threshold {
      filter          = "metric.type=\"monitoring.googleapis.com/uptime_check/check_passed\" AND resource.type=\"uptime_url\" AND metric.label.\"check_id\"=\"${google_monitoring_uptime_check_config.ready.uptime_check_id}\""
      comparison      = "COMPARISON_GT"
      threshold_value = 1
      duration        = "300s"

      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_NEXT_OLDER"
        cross_series_reducer = "REDUCE_COUNT_FALSE"
        group_by_fields      = ["resource.label.project_id", "resource.label.host"]
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    subject   = "${local.name}: /health/ready failing"
    content   = local.alert_documentation["uptime"]
  }

  alert_strategy {
    auto_close = "1800s"
  }
}

locals {
  # Pages drawn from log-based metrics (monitoring.tf): the metric, the label values
  # that count, and more than how many in 5 minutes.
  symptom_alerts = {
    breaker-open = {
      title     = "Fireworks circuit open"
      metric    = "breaker-transitions"
      labels    = { state = "open" }
      threshold = 0
      severity  = "ERROR"
    }
    database-unreachable = {
      title     = "database unreachable"
      metric    = "database-unavailable"
      labels    = {}
      threshold = 5 # one blip (a pooler restart) is not a page
      severity  = "CRITICAL"
    }
    model-budget = {
      title     = "model budget nearly spent"
      metric    = "model-budget-thresholds"
      labels    = {}
      threshold = 0
      severity  = "WARNING"
    }
  }
}

resource "google_monitoring_alert_policy" "symptom" {
  for_each = local.symptom_alerts

  display_name          = "${local.name}: ${each.value.title}"
  combiner              = "OR"
  notification_channels = var.notification_channels
  severity              = each.value.severity

  conditions {
    display_name = "${each.value.title}: more than ${each.value.threshold} in 5 minutes"
    condition_threshold {
      filter = join(" AND ", concat(
        ["metric.type=\"${local.log_metric_type[each.value.metric]}\"", "resource.type=\"cloud_run_revision\""],
        [for label, value in each.value.labels : "metric.label.\"${label}\"=\"${value}\""],
      ))
      comparison      = "COMPARISON_GT"
      threshold_value = each.value.threshold
      duration        = "0s"

      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }

      trigger {
        count = 1
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    subject   = "${local.name}: ${each.value.title}"
    content   = local.alert_documentation[each.key]
  }

  alert_strategy {
    auto_close = "3600s"
  }
}
