terraform {
  required_version = ">= 1.6"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 6.0"
    }
  }

  # State lives in a GCS bucket, one prefix per environment. The bucket and prefix are
  # given at init: terraform init -backend-config=environments/<env>.backend.hcl
  backend "gcs" {}
}

provider "google" {
  project = var.project_id
  region  = var.region

  default_labels = {
    app         = "machinemate-api"
    environment = var.environment
    managed-by  = "terraform"
  }
}
