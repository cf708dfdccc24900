# syntax=docker/dockerfile:1
#
# The machinemate-api image: a release build in a Rust image, run from distroless.
#
#   docker build -t machinemate-api .
#   docker run --rm -p 8080:8080 -e DATABASE_URL=postgres://... machinemate-api
#
# Stages: `chef` (toolchain + build tools) -> `planner` (dependency recipe) -> `builder`
# (dependencies cooked in their own layer, so a source-only change rebuilds only the
# crate) -> the runtime image (glibc, libgcc, CA certificates, the binary; no shell, no
# package manager, no build tools, non-root).
#
# Base images are pinned by tag. Pin them by digest too (FROM image:tag@sha256:...) where
# a registry can be queried; this repository's own machines cannot reach one.

FROM rust:1.95-slim-bookworm AS chef
# cmake, nasm, g++, make: libjpeg-turbo (the turbojpeg crate) is built from source and
# linked statically; pkg-config for -sys crates. Builder stage only: none of this reaches
# the runtime image, and the Debian release pins the versions.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends cmake nasm g++ make pkg-config \
    && rm -rf /var/lib/apt/lists/*
RUN cargo install cargo-chef --version 0.1.78 --locked
WORKDIR /app

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
COPY --from=planner /app/recipe.json recipe.json
# Dependencies only: cached until Cargo.toml or Cargo.lock change.
RUN cargo chef cook --release --locked --recipe-path recipe.json --bin machinemate-api
COPY . .
# Migrations, the seed and the local bootstrap are embedded in the binary at build time
# (src/db/migrate/), so the runtime image needs no supabase/ directory. No sqlx
# query macros are used, so no database or offline query data is needed here.
RUN cargo build --release --locked --bin machinemate-api \
    && cp target/release/machinemate-api /machinemate-api

# glibc + libgcc + CA certificates (reqwest and the S3 client verify TLS against the
# system roots). The `nonroot` variant's user is uid/gid 65532.
FROM gcr.io/distroless/cc-debian12:nonroot
#checkov:skip=CKV_DOCKER_2:Cloud Run probes /health/ready (startup) and /health/live (liveness), see terraform/cloud_run.tf; distroless has no shell or curl to run a HEALTHCHECK with
COPY --from=builder /machinemate-api /usr/local/bin/machinemate-api
USER 65532:65532
# Cloud Run sets PORT (8080 here, terraform/cloud_run.tf); 8080 is also the default.
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/machinemate-api"]
CMD ["serve"]
