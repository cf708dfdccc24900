variable "project_id" {
  description = "Google Cloud project that hosts this environment."
  type        = string
}

variable "region" {
  description = "Region of Cloud Run, Artifact Registry and the migration job (close to the Supabase project)."
  type        = string
  default     = "us-central1"
}

variable "environment" {
  description = "dev, staging or prod. Names every resource, so environments may share a project."
  type        = string

  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "environment must be dev, staging or prod."
  }
}

variable "service_name" {
  description = "Base name of the Cloud Run service, job and image repository; the environment is appended."
  type        = string
  default     = "machinemate-api"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,40}$", var.service_name))
    error_message = "service_name must be lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "image" {
  description = <<-EOT
    Container image the service and the migration job are created with, e.g.
    REGION-docker.pkg.dev/PROJECT/machinemate-api-dev/machinemate-api:GIT_SHA. Only used at
    creation: afterwards the deploy workflow sets the image, and Terraform ignores it.
  EOT
  type        = string
}

variable "github_repository" {
  description = "The GitHub repository (owner/name) whose workflows may deploy, through Workload Identity Federation."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "github_repository must look like owner/name."
  }
}

variable "github_environment" {
  description = "The GitHub Actions environment whose jobs may deploy here (default: the same name as environment)."
  type        = string
  default     = null
}

variable "supabase_url" {
  description = "The Supabase project URL, https://<ref>.supabase.co (JWT issuer and Storage derive from it)."
  type        = string

  validation {
    condition     = can(regex("^https://[^/]+$", trimsuffix(var.supabase_url, "/")))
    error_message = "supabase_url must be an https:// origin such as https://abcd.supabase.co."
  }
}

variable "storage_s3_region" {
  description = "Region of Supabase Storage's S3 endpoint (the Supabase project's region)."
  type        = string
  default     = "us-east-1"
}

variable "optional_secrets" {
  description = <<-EOT
    Environment variables read from Secret Manager besides DATABASE_URL and DATABASE_CA_CERT
    (which always are).
    Each one listed gets a secret, which must hold a version before the service is created.
    Storage needs both STORAGE_S3_* keys. Outside dev, leaving out the storage keys or
    FIREWORKS_API_KEY needs the feature in features_off. Known names:
    STORAGE_S3_ACCESS_KEY_ID, STORAGE_S3_SECRET_ACCESS_KEY, FIREWORKS_API_KEY, SENTRY_DSN,
    SUPABASE_JWT_SECRET (legacy HS256 only), METRICS_TOKEN, SUPABASE_SERVICE_ROLE_KEY
    (account deletion also deletes the Supabase Auth user).
  EOT
  type        = set(string)
  default = [
    "STORAGE_S3_ACCESS_KEY_ID",
    "STORAGE_S3_SECRET_ACCESS_KEY",
    "FIREWORKS_API_KEY",
    "SENTRY_DSN",
    "METRICS_TOKEN",
    "SUPABASE_SERVICE_ROLE_KEY",
  ]

  validation {
    condition = alltrue([for name in var.optional_secrets : contains([
      "STORAGE_S3_ACCESS_KEY_ID", "STORAGE_S3_SECRET_ACCESS_KEY", "FIREWORKS_API_KEY",
      "SENTRY_DSN", "SUPABASE_JWT_SECRET", "METRICS_TOKEN", "SUPABASE_SERVICE_ROLE_KEY",
    ], name)])
    error_message = "optional_secrets may hold only STORAGE_S3_ACCESS_KEY_ID, STORAGE_S3_SECRET_ACCESS_KEY, FIREWORKS_API_KEY, SENTRY_DSN, SUPABASE_JWT_SECRET, METRICS_TOKEN and SUPABASE_SERVICE_ROLE_KEY."
  }
}

variable "features_off" {
  description = <<-EOT
    Features turned off on purpose (the service's FEATURES_OFF): "identification" (no
    FIREWORKS_API_KEY) and "media" (no storage keys). Their routes answer 501 naming the
    setting. Outside dev the service refuses to start without the model or storage
    unless the feature is listed here.
  EOT
  type        = set(string)
  default     = []

  validation {
    condition     = alltrue([for feature in var.features_off : contains(["identification", "media"], feature)])
    error_message = "features_off may hold only \"identification\" and \"media\"."
  }
}

variable "cors_origins" {
  description = "Browser origins allowed by CORS (the native app needs none)."
  type        = list(string)
  default     = []
}

variable "log_filter" {
  description = "RUST_LOG for the service and the migration job."
  type        = string
  default     = "info"
}

variable "extra_env" {
  description = "More plain (non-secret) environment variables for the service, e.g. { IDENTIFY_DAILY_LIMIT = \"50\" }. Names must be ones the service reads (docs/configuration.md)."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for name in keys(var.extra_env) : can(regex("^[A-Z][A-Z0-9_]*$", name)) && name != "PORT"])
    error_message = "extra_env names must be upper-case variable names; PORT is set by Cloud Run."
  }
}

variable "min_instances" {
  description = "Instances kept warm (0 lets the service scale to zero)."
  type        = number
  default     = 0
}

variable "max_instances" {
  description = "Upper bound on instances; with database_max_connections it bounds connections to the Supabase pooler."
  type        = number
  default     = 10
}

variable "concurrency" {
  description = "Requests one instance serves at once."
  type        = number
  default     = 80
}

variable "cpu" {
  description = "vCPUs per instance."
  type        = string
  default     = "1"
}

variable "memory" {
  description = "Memory per instance."
  type        = string
  default     = "512Mi"
}

variable "request_timeout_seconds" {
  description = "Longest a request may run (identification has a 20 s deadline; the app waits 30 s)."
  type        = number
  default     = 60
}

variable "database_max_connections" {
  description = "DATABASE_MAX_CONNECTIONS: pool size per instance."
  type        = number
  default     = 10
}

# --- Operations: the model budget, paging, the bill (monitoring.tf, alerts.tf, budget.tf) ---

variable "model_daily_calls" {
  description = "IDENTIFY_MODEL_DAILY_CALLS: model calls all instances together may make per UTC day; then identification answers 503 until 00:00 UTC. At least the largest per-caller daily allowance (the service refuses to start otherwise)."
  type        = number
  default     = 5000

  validation {
    condition     = var.model_daily_calls >= 1
    error_message = "model_daily_calls must be at least 1."
  }
}

variable "model_daily_tokens" {
  description = "IDENTIFY_MODEL_DAILY_TOKENS: prompt and completion tokens all instances together may spend per UTC day."
  type        = number
  default     = 25000000

  validation {
    condition     = var.model_daily_tokens >= 1
    error_message = "model_daily_tokens must be at least 1."
  }
}

variable "notification_channels" {
  description = "Cloud Monitoring notification channel ids (projects/P/notificationChannels/N) that the alerts page and the billing budget notifies. Empty: alerts open incidents in the console only."
  type        = list(string)
  default     = []
}

variable "slo_availability_goal" {
  description = "Share of requests (as Cloud Run's front end counts them) that must not answer 5xx, over 28 rolling days."
  type        = number
  default     = 0.995

  validation {
    condition     = var.slo_availability_goal > 0.9 && var.slo_availability_goal < 1
    error_message = "slo_availability_goal must be between 0.9 and 1 (exclusive)."
  }
}

variable "slo_latency_goal" {
  description = "Share of requests that must not be slow (identification: 10 s or more; any other route: 1 s or more), over 28 rolling days."
  type        = number
  default     = 0.99

  validation {
    condition     = var.slo_latency_goal > 0.9 && var.slo_latency_goal < 1
    error_message = "slo_latency_goal must be between 0.9 and 1 (exclusive)."
  }
}

variable "billing_account_id" {
  description = "Billing account (XXXXXX-XXXXXX-XXXXXX) for the project's budget alert; null: no budget is made (the deployer may lack billing rights)."
  type        = string
  default     = null
}

variable "monthly_budget" {
  description = "The project's monthly budget in budget_currency: e-mails (to billing admins) and notification_channels at 50 %, 90 % and 100 % spent, and at 100 % forecast."
  type        = number
  default     = 200
}

variable "budget_currency" {
  description = "Currency of monthly_budget: the billing account's own (ISO 4217)."
  type        = string
  default     = "USD"
}

variable "maintain_schedule" {
  description = "When Cloud Scheduler runs `machinemate-api maintain` (cron, UTC): hourly by default, off the hour."
  type        = string
  default     = "17 * * * *"
}

variable "identification_retention_days" {
  description = "IDENTIFICATION_RETENTION_DAYS of the housekeeping job: identifications and corrections older than this are removed (docs/operations.md gives the reason for 180)."
  type        = number
  default     = 180
}

variable "sync_tombstone_retention_days" {
  description = "SYNC_TOMBSTONE_RETENTION_DAYS of the housekeeping job: deletions kept for devices syncing from a cursor; older cursors sync from the start."
  type        = number
  default     = 30
}
