# Container images, tagged by git commit (tags are immutable: a commit's image never changes).
resource "google_artifact_registry_repository" "images" {
  #checkov:skip=CKV_GCP_84:Google-managed encryption is enough for images built from a public Dockerfile with no secrets in them; a KMS key per environment would add cost and a key-rotation duty for no gain
  location      = var.region
  repository_id = local.name
  description   = "machinemate-api images (${var.environment})"
  format        = "DOCKER"

  docker_config {
    immutable_tags = true
  }

  cleanup_policy_dry_run = false

  cleanup_policies {
    id     = "keep-recent"
    action = "KEEP"
    most_recent_versions {
      keep_count = 20
    }
  }

  cleanup_policies {
    id     = "delete-old"
    action = "DELETE"
    condition {
      tag_state  = "ANY"
      older_than = "2592000s" # 30 days, beyond the 20 most recent
    }
  }

  depends_on = [google_project_service.apis]
}
