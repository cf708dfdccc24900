# The API. Public ingress: the Expo app calls it directly; every user route checks a
# Supabase bearer token itself.
resource "google_cloud_run_v2_service" "api" {
  name                = local.name
  location            = var.region
  description         = "MachineMate API (${var.environment})"
  ingress             = "INGRESS_TRAFFIC_ALL"
  deletion_protection = local.is_prod

  template {
    service_account                  = google_service_account.runtime.email
    max_instance_request_concurrency = var.concurrency
    timeout                          = "${var.request_timeout_seconds}s"
    execution_environment            = "EXECUTION_ENVIRONMENT_GEN2"

    scaling {
      min_instance_count = var.min_instances
      max_instance_count = var.max_instances
    }

    containers {
      name  = "api"
      image = var.image
      args  = ["serve"]

      ports {
        name           = "http1"
        container_port = local.container_port
      }

      resources {
        limits = {
          cpu    = var.cpu
          memory = var.memory
        }
        cpu_idle          = true # CPU only while serving requests (request-based billing)
        startup_cpu_boost = true
      }

      dynamic "env" {
        for_each = merge(local.service_env, var.extra_env)
        content {
          name  = env.key
          value = env.value
        }
      }

      dynamic "env" {
        for_each = local.service_secret_env
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

      # An instance takes traffic only once its database answers: /health/ready is 200
      # then, and 503 within about a second otherwise. 15 tries 4 s apart: about 60 s.
      startup_probe {
        initial_delay_seconds = 0
        period_seconds        = 4
        timeout_seconds       = 3
        failure_threshold     = 15
        http_get {
          path = "/health/ready"
          port = local.container_port
        }
      }

      # Liveness never depends on the database: a database outage must not restart
      # every instance, only make /health/ready say 503.
      liveness_probe {
        initial_delay_seconds = 0
        period_seconds        = 15
        timeout_seconds       = 3
        failure_threshold     = 3
        http_get {
          path = "/health/live"
          port = local.container_port
        }
      }
    }
  }

  traffic {
    type    = "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST"
    percent = 100
  }

  lifecycle {
    # The deploy workflow owns the image and the traffic split (it deploys a revision
    # without traffic, smoke-tests it, then moves traffic or rolls back).
    ignore_changes = [
      client,
      client_version,
      template[0].containers[0].image,
      traffic,
    ]

    precondition {
      condition     = contains(var.optional_secrets, "STORAGE_S3_ACCESS_KEY_ID") == contains(var.optional_secrets, "STORAGE_S3_SECRET_ACCESS_KEY")
      error_message = "optional_secrets must hold both STORAGE_S3_ACCESS_KEY_ID and STORAGE_S3_SECRET_ACCESS_KEY, or neither."
    }

    # What the service itself refuses at start-up (src/config/features.rs), said at plan time.
    precondition {
      condition     = var.environment == "dev" || contains(var.optional_secrets, "FIREWORKS_API_KEY") || contains(var.features_off, "identification")
      error_message = "Outside dev, identification needs FIREWORKS_API_KEY in optional_secrets, or \"identification\" in features_off to turn it off on purpose."
    }

    precondition {
      condition     = var.environment == "dev" || local.storage_on || contains(var.features_off, "media")
      error_message = "Outside dev, media needs the STORAGE_S3_* keys in optional_secrets, or \"media\" in features_off to turn it off on purpose."
    }

    precondition {
      condition     = length(setintersection(keys(var.extra_env), keys(local.secret_env_all))) == 0
      error_message = "extra_env must not set a secret variable: secrets come from Secret Manager (optional_secrets)."
    }

    # The service refuses to start on a budget one caller's allowance could spend alone.
    precondition {
      condition = var.model_daily_calls >= max(
        tonumber(lookup(var.extra_env, "IDENTIFY_DAILY_LIMIT", "50")),
        tonumber(lookup(var.extra_env, "IDENTIFY_ANONYMOUS_USER_DAILY_LIMIT", "0")),
        tonumber(lookup(var.extra_env, "IDENTIFY_ANONYMOUS_DAILY_LIMIT", "0")),
      )
      error_message = "model_daily_calls must be at least every daily allowance extra_env sets (IDENTIFY_DAILY_LIMIT, default 50, and the anonymous ones)."
    }
  }

  depends_on = [
    google_project_service.apis,
    google_secret_manager_secret_iam_member.runtime_access,
  ]
}

# Anyone may call it: the app signs requests with users' Supabase tokens, not Google
# identities.
resource "google_cloud_run_v2_service_iam_member" "public" {
  name     = google_cloud_run_v2_service.api.name
  location = google_cloud_run_v2_service.api.location
  role     = "roles/run.invoker"
  member   = "allUsers"
}

# `machinemate-api migrate`: applies the embedded supabase/migrations. The deploy
# workflow points it at the new image and runs it before deploying a revision.
resource "google_cloud_run_v2_job" "migrate" {
  name                = "${local.name}-migrate"
  location            = var.region
  deletion_protection = local.is_prod

  template {
    task_count  = 1
    parallelism = 1

    template {
      service_account       = google_service_account.runtime.email
      timeout               = "600s"
      max_retries           = 1
      execution_environment = "EXECUTION_ENVIRONMENT_GEN2"

      containers {
        name  = "migrate"
        image = var.image
        args  = ["migrate"]

        resources {
          limits = {
            cpu    = "1"
            memory = "512Mi"
          }
        }

        dynamic "env" {
          for_each = local.job_env
          content {
            name  = env.key
            value = env.value
          }
        }

        dynamic "env" {
          for_each = local.job_secret_env
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
