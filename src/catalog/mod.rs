//! The machine catalog as the service serves it: the catalog version an instance is on
//! ([`version`]), rendered catalog responses with their `ETag`s ([`pages`]), and values
//! derived from one version ([`PerVersion`]): every machine by id, which favorites and
//! history embed, and identification's prompts.
//!
//! Reading the catalog may take a pooled connection of its own, so it is read before a
//! user's transaction opens, never inside one: handlers read the machine index first and
//! pass it to the functions that embed machines (`db::favorites`, `db::history`).

pub mod pages;
mod per_version;
mod version;

use std::sync::Arc;
use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;

pub use per_version::PerVersion;

use crate::db::Db;
use crate::db::embed::{self, MachineIndex};
use crate::error::ApiResult;
use pages::Pages;
use version::Versions;

pub struct Catalog {
    db: Db,
    versions: Versions,
    pages: Pages,
    machines: PerVersion<MachineIndex>,
}

impl Catalog {
    /// `max_staleness`: `CATALOG_MAX_STALENESS_MS`, the longest a change made on another
    /// instance goes unseen here.
    pub fn new(db: Db, max_staleness: Duration) -> Self {
        Catalog {
            db,
            versions: Versions::new(max_staleness),
            pages: Pages::default(),
            machines: PerVersion::default(),
        }
    }

    /// The catalog version, read from Postgres at most once per staleness bound.
    pub async fn version(&self) -> ApiResult<i64> {
        self.versions.version(&self.db).await
    }

    /// Makes the next request re-read the version (after a change made here).
    pub fn invalidate(&self) {
        self.versions.invalidate();
    }

    /// Answers a catalog request from the rendered pages of the current version, or
    /// renders, keeps and answers it; 304 when `If-None-Match` already names it.
    pub async fn respond<T: Serialize>(
        &self,
        req: &HttpRequest,
        key: &str,
        render: impl AsyncFnOnce() -> ApiResult<T>,
    ) -> ApiResult<HttpResponse> {
        let version = self.version().await?;
        self.pages.respond(version, req, key, render).await
    }

    /// Every machine (active or not) by id, as of a catalog version at most
    /// `CATALOG_MAX_STALENESS_MS` old: favorites and history embed their machines from
    /// here rather than joining and decoding the same catalog rows on every request.
    pub async fn machines(&self) -> ApiResult<Arc<MachineIndex>> {
        self.derived(&self.machines, async || Ok(embed::index(&self.db).await?))
            .await
    }

    /// `per`'s value for the current version, built with `build` when there is none.
    pub async fn derived<T>(
        &self,
        per: &PerVersion<T>,
        build: impl AsyncFnOnce() -> ApiResult<T>,
    ) -> ApiResult<Arc<T>> {
        let version = self.version().await?;
        per.get(version, build).await
    }
}
