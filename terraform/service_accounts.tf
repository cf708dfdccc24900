# The identity the service and the migration job run as. It holds no project-wide role:
# only access to its own secrets (secrets.tf). Cloud Run writes its stdout to Cloud
# Logging without any role on this account.
resource "google_service_account" "runtime" {
  account_id   = "${local.sa_prefix}-run"
  display_name = "machinemate-api runtime (${var.environment})"
  description  = "Runs the Cloud Run service and migration job of ${local.name}."

  depends_on = [google_project_service.apis]
}

# The identity GitHub Actions deploys as, through Workload Identity Federation (wif.tf):
# it pushes images, updates and runs the migration job, and deploys revisions.
resource "google_service_account" "deployer" {
  account_id   = "${local.sa_prefix}-deploy"
  display_name = "machinemate-api deployer (${var.environment})"
  description  = "Used by the deploy workflow of ${var.github_repository} for ${local.name}."

  depends_on = [google_project_service.apis]
}

# Push images to this environment's repository only.
resource "google_artifact_registry_repository_iam_member" "deployer_writer" {
  location   = google_artifact_registry_repository.images.location
  repository = google_artifact_registry_repository.images.name
  role       = "roles/artifactregistry.writer"
  member     = "serviceAccount:${google_service_account.deployer.email}"
}

# Deploy revisions, move traffic, update and execute the job. Granted on the project
# because listing revisions and reading job executions are checked there; the
# deployer cannot change IAM with it.
resource "google_project_iam_member" "deployer_run" {
  project = var.project_id
  role    = "roles/run.developer"
  member  = "serviceAccount:${google_service_account.deployer.email}"
}

# Deploying a revision that runs as the runtime account requires acting as it: on
# that one account only, not on the project's other service accounts.
resource "google_service_account_iam_member" "deployer_acts_as_runtime" {
  service_account_id = google_service_account.runtime.name
  role               = "roles/iam.serviceAccountUser"
  member             = "serviceAccount:${google_service_account.deployer.email}"
}

# The deploy workflow's rollout gate reads each revision's 5xx ratio and p95 latency
# from Cloud Monitoring (scripts/ops/rollout_gate.py): read-only, project-wide (metrics are
# read at the project).
resource "google_project_iam_member" "deployer_monitoring" {
  project = var.project_id
  role    = "roles/monitoring.viewer"
  member  = "serviceAccount:${google_service_account.deployer.email}"
}
