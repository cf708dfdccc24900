output "service_url" {
  description = "The service's URL."
  value       = google_cloud_run_v2_service.api.uri
}

output "image_repository" {
  description = "Where images are pushed: <repository>/machinemate-api:<git sha>."
  value       = "${google_artifact_registry_repository.images.location}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.images.repository_id}"
}

output "secret_ids" {
  description = "Secret Manager secrets to fill with `gcloud secrets versions add`, by environment variable (the job's DATABASE_URL is the *-migrate one)."
  value = merge(
    local.service_secret_env,
    { "DATABASE_URL (migration job)" = local.job_secret_env.DATABASE_URL },
  )
}

output "github_environment_variables" {
  description = "Variables of the GitHub environment the deploy workflow reads (see terraform/README.md)."
  value = {
    GCP_PROJECT_ID                 = var.project_id
    GCP_REGION                     = var.region
    GCP_WORKLOAD_IDENTITY_PROVIDER = google_iam_workload_identity_pool_provider.github.name
    GCP_DEPLOYER_SERVICE_ACCOUNT   = google_service_account.deployer.email
    CLOUD_RUN_SERVICE              = google_cloud_run_v2_service.api.name
    CLOUD_RUN_MIGRATE_JOB          = google_cloud_run_v2_job.migrate.name
    CLOUD_RUN_MAINTAIN_JOB         = google_cloud_run_v2_job.maintain.name
    IMAGE_REPOSITORY               = "${google_artifact_registry_repository.images.location}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.images.repository_id}"
  }
}

output "dashboard_url" {
  description = "The service's Cloud Monitoring dashboard."
  value       = "https://console.cloud.google.com/monitoring/dashboards/builder/${element(split("/", google_monitoring_dashboard.api.id), 3)}?project=${var.project_id}"
}
