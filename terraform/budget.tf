# A bounded bill, twice: the service stops asking the model once the day's budget is
# spent (IDENTIFY_MODEL_DAILY_*, main.tf), and this budget tells people when the whole
# project's spend (Cloud Run, logging, monitoring, registry) heads past the month's
# amount. A budget alerts; it never stops anything by itself.
#
# Made only with billing_account_id set: it needs roles/billing.costsManager (or
# billing.admin) on the billing account, which the person applying may not have.

data "google_project" "this" {
  project_id = var.project_id
}

resource "google_billing_budget" "project" {
  count = var.billing_account_id == null ? 0 : 1

  billing_account = var.billing_account_id
  display_name    = "${local.name} monthly"

  budget_filter {
    projects               = ["projects/${data.google_project.this.number}"]
    credit_types_treatment = "INCLUDE_ALL_CREDITS"
  }

  amount {
    specified_amount {
      currency_code = var.budget_currency
      units         = tostring(var.monthly_budget)
    }
  }

  threshold_rules {
    threshold_percent = 0.5
  }
  threshold_rules {
    threshold_percent = 0.9
  }
  threshold_rules {
    threshold_percent = 1.0
  }
  threshold_rules {
    threshold_percent = 1.0
    spend_basis       = "FORECASTED_SPEND"
  }

  all_updates_rule {
    monitoring_notification_channels = var.notification_channels
    disable_default_iam_recipients   = false
  }

  depends_on = [google_project_service.apis]
}
