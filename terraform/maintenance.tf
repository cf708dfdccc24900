# Housekeeping (docs/operations.md, "Housekeeping"): `machinemate-api maintain` as a Cloud
# Run job, run every hour by Cloud Scheduler. Instances get CPU only while serving and
# scale to zero, so no timer inside the service could do it. Each run is bounded and
# idempotent, and a run that finds another one working does nothing.
resource "google_cloud_run_v2_job" "maintain" {
  name                = "${local.name}-maintain"
  location            = var.region
  deletion_protection = local.is_prod

  template {
    task_count  = 1
    parallelism = 1

    template {
      service_account       = google_service_account.runtime.email
      timeout               = "900s"
      max_retries           = 0 # the next hour's run goes on where this one stopped
      execution_environment = "EXECUTION_ENVIRONMENT_GEN2"

      containers {
        name  = "maintain"
        image = var.image
        args  = ["maintain"]

        resources {
          limits = {
            cpu    = "1"
            memory = "512Mi"
          }
        }

        dynamic "env" {
          for_each = local.maintain_env
          content {
            name  = env.key
            value = env.value
          }
        }

        dynamic "env" {
          for_each = local.maintain_secret_env
          content {
            name = env.key
            value_source {
              secret_key_ref {
                secret  = google_secret_manager_secret.secrets[env.value].secret_id
                version = "latest"
              }
            }
          }
        }
      }
    }
  }

  lifecycle {
    # The deploy workflow points the job at each release's image, with the migration job.
    ignore_changes = [
      client,
      client_version,
      template[0].template[0].containers[0].image,
    ]
  }

  depends_on = [
    google_project_service.apis,
    google_secret_manager_secret_iam_member.runtime_access,
  ]
}

# The identity Cloud Scheduler calls the Cloud Run Admin API as: it may run the
# housekeeping job and nothing else.
resource "google_service_account" "scheduler" {
  account_id   = "${local.sa_prefix}-sched"
  display_name = "machinemate-api scheduler (${var.environment})"
  description  = "Runs the housekeeping job of ${local.name} every hour."

  depends_on = [google_project_service.apis]
}

resource "google_cloud_run_v2_job_iam_member" "scheduler_runs_maintain" {
  name     = google_cloud_run_v2_job.maintain.name
  location = google_cloud_run_v2_job.maintain.location
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.scheduler.email}"
}

resource "google_cloud_scheduler_job" "maintain" {
  name             = "${local.name}-maintain"
  region           = var.region
  description      = "Runs machinemate-api maintain (${var.environment}) every hour."
  schedule         = var.maintain_schedule
  time_zone        = "Etc/UTC"
  attempt_deadline = "60s"

  retry_config {
    retry_count = 0 # an hour later the next run comes anyway
  }

  http_target {
    http_method = "POST"
    uri         = "https://run.googleapis.com/v2/projects/${var.project_id}/locations/${var.region}/jobs/${google_cloud_run_v2_job.maintain.name}:run"

    oauth_token {
      service_account_email = google_service_account.scheduler.email
      scope                 = "https://www.googleapis.com/auth/cloud-platform"
    }
  }

  depends_on = [
    google_project_service.apis,
    google_cloud_run_v2_job_iam_member.scheduler_runs_maintain,
  ]
}
