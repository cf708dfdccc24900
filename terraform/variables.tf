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
    Storage needs both STORAGE_S3_* keys; without them media routes are off. Known names:
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
  description = "More plain (non-secret) environment variables for the service, e.g. { IDENTIFY_DAILY_LIMIT = \"50\" }. Names must be ones the service reads (README, Configuration)."
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
