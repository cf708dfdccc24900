locals {
  # One name per environment, so dev, staging and prod may share a project.
  name    = "${var.service_name}-${var.environment}"
  is_prod = var.environment == "prod"

  # The service's ENVIRONMENT value for each of ours.
  app_environment = {
    dev     = "development"
    staging = "staging"
    prod    = "production"
  }[var.environment]

  github_environment = coalesce(var.github_environment, var.environment)
  github_owner       = split("/", var.github_repository)[0]
  github_repo        = split("/", var.github_repository)[1]

  # Service account ids are at most 30 characters: "<prefix>-run", "<prefix>-deploy".
  sa_prefix = trimsuffix(substr(local.name, 0, 23), "-")

  # The port the container listens on. Cloud Run passes it to the process as PORT (a
  # reserved variable, never set here); 8080 is also the service's own default.
  container_port = 8080

  supabase_url = trimsuffix(var.supabase_url, "/")
  storage_on   = contains(var.optional_secrets, "STORAGE_S3_ACCESS_KEY_ID")

  # Plain environment of the service (every name here is one src/config/ reads;
  # scripts/check-infra verifies it). Empty values count as unset in the service.
  service_env = {
    ENVIRONMENT              = local.app_environment
    LOG_FORMAT               = "json"
    RUST_LOG                 = var.log_filter
    GOOGLE_CLOUD_PROJECT     = var.project_id
    DATABASE_POOL_MODE       = "transaction" # Supabase's pooler (Supavisor) on port 6543
    DATABASE_MAX_CONNECTIONS = tostring(var.database_max_connections)
    SUPABASE_URL             = local.supabase_url
    SUPABASE_JWT_ISSUER      = "${local.supabase_url}/auth/v1"
    STORAGE_S3_ENDPOINT      = local.storage_on ? "${local.supabase_url}/storage/v1/s3" : ""
    STORAGE_S3_REGION        = var.storage_s3_region
    CORS_ORIGINS             = join(",", var.cors_origins)
    FEATURES_OFF             = join(",", sort(var.features_off))
    SHUTDOWN_TIMEOUT_SECS    = "8" # Cloud Run sends SIGKILL 10 s after SIGTERM
    # The global daily model budget (a bounded bill): exact across instances.
    IDENTIFY_MODEL_DAILY_CALLS  = tostring(var.model_daily_calls)
    IDENTIFY_MODEL_DAILY_TOKENS = tostring(var.model_daily_tokens)
  }

  # Secret environment variables => Secret Manager secret ids. Values are never in
  # Terraform: `gcloud secrets versions add` puts them in (terraform/README.md).
  secret_env_all = {
    DATABASE_URL                 = "${local.name}-database-url"
    DATABASE_CA_CERT             = "${local.name}-database-ca-cert"
    STORAGE_S3_ACCESS_KEY_ID     = "${local.name}-storage-access-key-id"
    STORAGE_S3_SECRET_ACCESS_KEY = "${local.name}-storage-secret-access-key"
    FIREWORKS_API_KEY            = "${local.name}-fireworks-api-key"
    SENTRY_DSN                   = "${local.name}-sentry-dsn"
    SUPABASE_JWT_SECRET          = "${local.name}-supabase-jwt-secret"
    METRICS_TOKEN                = "${local.name}-metrics-token"
    SUPABASE_SERVICE_ROLE_KEY    = "${local.name}-supabase-service-role-key"
  }
  service_secret_env = {
    for name, secret in local.secret_env_all : name => secret
    if name == "DATABASE_URL" || name == "DATABASE_CA_CERT" || contains(var.optional_secrets, name)
  }

  # The migration job: a session-mode URL (direct connection or the pooler's port
  # 5432), since migrations take an advisory lock that transaction pooling breaks.
  job_env = {
    ENVIRONMENT        = local.app_environment
    LOG_FORMAT         = "json"
    RUST_LOG           = var.log_filter
    DATABASE_POOL_MODE = "session"
  }
  # Both check the database's certificate against DATABASE_CA_CERT (Supabase's CA):
  # on Cloud Run the service refuses a connection that would not (src/config/database_tls.rs).
  job_secret_env = {
    DATABASE_URL     = "${local.name}-database-url-migrate"
    DATABASE_CA_CERT = "${local.name}-database-ca-cert"
  }

  # The housekeeping job (maintenance.tf): the migration job's session-mode connection
  # (it holds an advisory lock for its run) and, when storage is on, storage to sweep.
  maintain_only_env = {
    STORAGE_S3_ENDPOINT           = local.storage_on ? "${local.supabase_url}/storage/v1/s3" : ""
    STORAGE_S3_REGION             = var.storage_s3_region
    IDENTIFICATION_RETENTION_DAYS = tostring(var.identification_retention_days)
    SYNC_TOMBSTONE_RETENTION_DAYS = tostring(var.sync_tombstone_retention_days)
  }
  maintain_env = merge(local.job_env, local.maintain_only_env)
  maintain_secret_env = merge(local.job_secret_env, {
    for name, secret in local.secret_env_all : name => secret
    if local.storage_on && (name == "STORAGE_S3_ACCESS_KEY_ID" || name == "STORAGE_S3_SECRET_ACCESS_KEY")
  })

  secret_ids = toset(concat(
    values(local.service_secret_env),
    values(local.job_secret_env),
    values(local.maintain_secret_env),
  ))
}

resource "google_project_service" "apis" {
  for_each = toset([
    "artifactregistry.googleapis.com",
    "billingbudgets.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "cloudscheduler.googleapis.com",
    "iam.googleapis.com",
    "iamcredentials.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "sts.googleapis.com",
  ])

  service            = each.value
  disable_on_destroy = false
}
