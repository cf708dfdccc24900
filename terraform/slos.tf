# Paging on what users feel: two SLOs over 28 rolling days and multi-window burn-rate
# alerts on each (Google SRE workbook, "Alerting on SLOs"): a page when the last hour
# and the last 5 minutes both burn the error budget 14.4 times too fast (2 % of the
# month's budget in an hour), or the last 6 hours and 30 minutes both 6 times (5 % in
# six hours). The short window lets the page close soon after the burn stops.

resource "google_monitoring_custom_service" "api" {
  service_id   = local.name
  display_name = "MachineMate API (${var.environment})"

  depends_on = [google_project_service.apis]
}

locals {
  # Cloud Run's own count of every request its front end answered (probes excluded),
  # so answers no instance wrote (no instance free, a crash) count too.
  run_requests = join(" AND ", [
    "metric.type=\"run.googleapis.com/request_count\"",
    "resource.type=\"cloud_run_revision\"",
    "resource.label.\"service_name\"=\"${local.name}\"",
  ])

  slos = {
    availability = {
      display_name = "${var.slo_availability_goal * 100} % of requests answer without a 5xx (28 days)"
      goal         = var.slo_availability_goal
      bad          = "${local.run_requests} AND metric.label.\"response_code_class\"=\"5xx\""
    }
    # Slow means slower than the route allows (the slow-requests log-based metric,
    # monitoring.tf): identification waits for the model, so it has 10 s; the rest 1 s.
    latency = {
      display_name = "${var.slo_latency_goal * 100} % of requests are not slow (identification under 10 s, the rest under 1 s; 28 days)"
      goal         = var.slo_latency_goal
      bad          = "metric.type=\"${local.log_metric_type["slow-requests"]}\" AND resource.type=\"cloud_run_revision\""
    }
  }

  # Each SLO's two pages: the long and the short window, and the burn rate both must
  # exceed.
  burn_alerts = {
    availability-fast-burn = { slo = "availability", long = "3600s", short = "300s", rate = 14.4 }
    availability-slow-burn = { slo = "availability", long = "21600s", short = "1800s", rate = 6 }
    latency-fast-burn      = { slo = "latency", long = "3600s", short = "300s", rate = 14.4 }
    latency-slow-burn      = { slo = "latency", long = "21600s", short = "1800s", rate = 6 }
  }
}

resource "google_monitoring_slo" "api" {
  for_each = local.slos

  service             = google_monitoring_custom_service.api.service_id
  slo_id              = each.key
  display_name        = each.value.display_name
  goal                = each.value.goal
  rolling_period_days = 28

  request_based_sli {
    good_total_ratio {
      bad_service_filter   = each.value.bad
      total_service_filter = local.run_requests
    }
  }
}

resource "google_monitoring_alert_policy" "burn_rate" {
  for_each = local.burn_alerts

  display_name          = "${local.name}: ${each.value.slo} SLO burning ${each.value.rate}x"
  combiner              = "AND"
  notification_channels = var.notification_channels
  severity              = "CRITICAL"

  dynamic "conditions" {
    for_each = [each.value.long, each.value.short]
    content {
      display_name = "${each.value.slo} burn rate over ${conditions.value} above ${each.value.rate}"
      condition_threshold {
        filter          = "select_slo_burn_rate(\"${google_monitoring_slo.api[each.value.slo].name}\", \"${conditions.value}\")"
        comparison      = "COMPARISON_GT"
        threshold_value = each.value.rate
        duration        = "0s"
      }
    }
  }

  documentation {
    mime_type = "text/markdown"
    subject   = "${local.name}: ${each.value.slo} SLO burning ${each.value.rate}x"
    content   = local.alert_documentation[each.value.slo]
  }

  alert_strategy {
    auto_close = "1800s"
  }
}
