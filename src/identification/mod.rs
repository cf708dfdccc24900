//! Identification: a photo in, a catalog machine out. The handlers (`routes::identify`)
//! speak HTTP and read the photo; this module owns the steps, in order: the caller's
//! variant, their daily allowance (a ticket given back unless the model was asked), the
//! photo's bytes (awaited only once the allowance is taken), the caller's own recent
//! answers, the model ([`ask::which_machine`], on a task of its own once it is asked:
//! [`detached`]; or in development without a key the [`stand_in`]), and the record every
//! identification leaves.

mod answer;
pub mod ask;
pub mod budget;
mod detached;
pub mod eval;
mod record;
mod request;
pub mod stand_in;

pub use answer::{Answer, Identified, VisionCatalog};
pub use request::{Caller, Photo};

use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::future::Cache;
use sha2::{Digest, Sha256};

use crate::catalog::{Catalog, PerVersion};
use crate::config::variants::Variant;
use crate::config::{FireworksSettings, IdentificationMode, ModelBudget};
use crate::db::Db;
use crate::db::identify::{self as records, QuotaTicket};
use crate::domain::identify::QuotaHolder;
use crate::error::{ApiError, ApiResult};
use crate::telemetry::metrics;
use crate::vision::fireworks::{BreakerSettings, Fireworks};
use crate::vision::image;
use crate::vision::variants;
use record::Recorded;

/// What identifies photos (in `AppState`): what answers (the Fireworks client), the
/// experiment's variants, callers' recent answers, the catalog's prompts per catalog
/// version, and the global daily model budget.
pub struct Identifier {
    model: Model,
    experiment: String,
    variants: Vec<Variant>,
    recent: Cache<[u8; 32], Arc<Answer>>,
    catalogs: PerVersion<VisionCatalog>,
    budget: ModelBudget,
}

/// What answers: the model, the local stand-in, or nothing (identification turned off).
enum Model {
    /// Shared with the task that asks it ([`detached`]), which may outlive the request.
    Fireworks(Arc<Fireworks>),
    StandIn,
    Off,
}

/// The stores identification reads and writes besides its own: the database, and the
/// catalog its prompts are built from.
#[derive(Clone, Copy)]
pub struct Stores<'a> {
    pub db: &'a Db,
    pub catalog: &'a Catalog,
}

impl Identifier {
    pub fn new(
        settings: &FireworksSettings,
        mode: IdentificationMode,
        http: reqwest::Client,
    ) -> Self {
        let model = match (mode, settings.api_key.clone()) {
            (IdentificationMode::Fireworks, Some(key)) => {
                Model::Fireworks(Arc::new(Fireworks::new(
                    http,
                    &settings.base_url,
                    key,
                    settings.model.clone(),
                    settings.deadline,
                    BreakerSettings {
                        threshold: settings.breaker_threshold,
                        cooldown: settings.breaker_cooldown,
                    },
                )))
            }
            (IdentificationMode::StandIn, _) => Model::StandIn,
            _ => Model::Off,
        };
        Identifier {
            model,
            experiment: settings.experiment.clone(),
            variants: settings.variants.clone(),
            recent: Cache::builder()
                .max_capacity(10_000)
                .time_to_live(settings.cache_ttl.max(Duration::from_secs(1)))
                .build(),
            catalogs: PerVersion::default(),
            budget: settings.model_budget,
        }
    }

    /// The Fireworks client, when identification asks Fireworks.
    pub fn vision(&self) -> Option<&Fireworks> {
        match &self.model {
            Model::Fireworks(vision) => Some(vision),
            Model::StandIn | Model::Off => None,
        }
    }

    /// The variant `holder` is dealt for the configured experiment.
    pub fn variant_for(&self, holder: &QuotaHolder) -> &Variant {
        variants::assign(&self.experiment, &holder.key(), &self.variants)
    }

    /// The catalog's entries and prompts, rebuilt when the catalog version changes.
    pub async fn catalog(&self, db: &Db, catalog: &Catalog) -> ApiResult<Arc<VisionCatalog>> {
        catalog
            .derived(&self.catalogs, async || {
                Ok(VisionCatalog::new(records::catalog_entries(db).await?))
            })
            .await
    }

    /// Identifies the machine in `photo` for `caller`. `photo` is awaited only once the
    /// caller's allowance is taken: a caller who has spent it costs no body read.
    pub async fn identify<Hold>(
        &self,
        stores: Stores<'_>,
        caller: Caller,
        photo: impl Future<Output = ApiResult<Photo<Hold>>>,
    ) -> ApiResult<Outcome> {
        let started = Instant::now();
        let variant = self.variant_for(&caller.holder);
        // The local stand-in (development without a key) takes every step but the call.
        let vision = match &self.model {
            Model::Fireworks(vision) => Some(vision),
            Model::StandIn => None,
            Model::Off => {
                return Err(ApiError::FeatureOff(
                    "Identification is turned off on this server (FEATURES_OFF=identification)"
                        .into(),
                ));
            }
        };
        let model = vision.map_or(stand_in::MODEL, |v| v.model_for_variant(variant));

        // The allowance first: a caller who has spent it costs no body read and no decode.
        let Some(ticket) = records::take(stores.db, &caller.holder, caller.limit).await? else {
            metrics::quota_refusal(caller.holder_kind);
            tracing::info!(
                refused_by = "daily_quota",
                holder = caller.holder_kind,
                limit = caller.limit,
                "identification refused"
            );
            return Ok(Outcome::AllowanceSpent);
        };
        let prepared = match self
            .prepare_photo(stores, &caller, variant, model, photo, started)
            .await
        {
            Ok(Ready::Cached(identified)) => {
                ticket.commit();
                return Ok(Outcome::Identified(identified));
            }
            Ok(Ready::ToAsk(prepared)) => prepared,
            // Given back: the model was never asked (a bad photo, storage of the photo).
            Err(e) => {
                ticket.refund().await?;
                return Err(e);
            }
        };
        let Some(vision) = vision else {
            return self
                .stand_in(stores.db, caller, variant, ticket, prepared, started)
                .await
                .map(Outcome::Identified);
        };
        // A call from today's model budget; once it is spent the caller's allowance is
        // given back with the 503.
        let call = match budget::take(
            stores.db,
            self.budget,
            vision,
            &caller,
            variant.name(),
            model,
        )
        .await
        {
            Ok(call) => call,
            Err(e) => {
                ticket.refund().await?;
                return Err(e);
            }
        };
        // From here the model is asked: on a task of its own, which the caller going
        // away does not stop, so the identification counts and is recorded either way.
        detached::ask(detached::Question {
            vision: vision.clone(),
            db: stores.db.clone(),
            recent: self.recent.clone(),
            variant: variant.clone(),
            model: model.to_owned(),
            caller,
            ticket,
            budget: self.budget,
            call,
            started,
            photo: prepared,
        })
        .await
        .map(Outcome::Identified)
    }

    /// Awaits the photo, answers it from the caller's own recent photos when it is one,
    /// else scales it for the model.
    async fn prepare_photo<Hold>(
        &self,
        stores: Stores<'_>,
        caller: &Caller,
        variant: &Variant,
        model: &str,
        photo: impl Future<Output = ApiResult<Photo<Hold>>>,
        started: Instant,
    ) -> ApiResult<Ready> {
        // A large photo's place in memory is held until it is scaled.
        let Photo { bytes, hold } = photo.await?;
        let format = image::sniff(&bytes)?;
        let size = bytes.len();
        // Keyed by the caller and the variant too: a repeat answered from memory is one's
        // own photo, never a sign that someone else sent the same one. Hashed on the
        // blocking pool: a 10 MB photo is tens of milliseconds of SHA-256, which on a
        // worker thread would stall every other request that worker serves (a burst of
        // large photos stalled the rest into their turn waits; tests/api/uploads.rs).
        let hasher = Sha256::new()
            .chain_update(caller.holder.key().as_bytes())
            .chain_update([0])
            .chain_update(variant.name().as_bytes())
            .chain_update(model.as_bytes())
            .chain_update([0]);
        let hashed = bytes.clone();
        let key: [u8; 32] =
            tokio::task::spawn_blocking(move || hasher.chain_update(&hashed).finalize().into())
                .await
                .map_err(|e| ApiError::Internal(anyhow::anyhow!("hashing the photo: {e}")))?;
        let recent = self.recent.get(&key).await;
        metrics::cache_lookup(metrics::Cache::Identify, recent.is_some());
        if let Some(answer) = recent {
            let mocked = self.vision().is_none();
            let event = Recorded::new(caller, variant.name(), model, &answer, size, started);
            let event = if mocked { event.mocked() } else { event };
            let trace_id = event.cached().save(stores.db).await?;
            return Ok(Ready::Cached(Identified {
                trace_id,
                answer,
                mocked,
                upstream: None,
            }));
        }

        let (catalog, prepared) = tokio::join!(
            self.catalog(stores.db, stores.catalog),
            image::prepare_off_thread(bytes, format)
        );
        drop(hold);
        let prepared =
            prepared.inspect_err(|_| metrics::identification("rejected", variant.name(), model))?;
        Ok(Ready::ToAsk(detached::Prepared {
            catalog: catalog?,
            photo: prepared,
            cache_key: key,
            size,
        }))
    }

    /// The local stand-in's answer: a catalog machine chosen by the photo, recorded as
    /// mocked. It costs nothing, so no model budget is taken.
    async fn stand_in(
        &self,
        db: &Db,
        caller: Caller,
        variant: &Variant,
        ticket: QuotaTicket,
        prepared: detached::Prepared,
        started: Instant,
    ) -> ApiResult<Identified> {
        let answer = Arc::new(stand_in::answer(&prepared.catalog, &prepared.photo));
        self.recent.insert(prepared.cache_key, answer.clone()).await;
        let event = Recorded::new(
            &caller,
            variant.name(),
            stand_in::MODEL,
            &answer,
            prepared.size,
            started,
        );
        let trace_id = event.mocked().save(db).await?;
        ticket.commit();
        Ok(Identified {
            trace_id,
            answer,
            mocked: true,
            upstream: None,
        })
    }
}

/// A photo read and made ready: answered from the cache, or for the model to see.
enum Ready {
    Cached(Identified),
    ToAsk(detached::Prepared),
}

pub enum Outcome {
    Identified(Identified),
    /// The caller's daily allowance is spent (nothing was read).
    AllowanceSpent,
}
