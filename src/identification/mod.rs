//! Identification: a photo in, a catalog machine out. The handlers (`routes::identify`)
//! speak HTTP; this module owns the steps, in order: the caller's variant, their daily
//! allowance (a ticket given back unless the model was asked), the photo (a bounded
//! number in memory at once), the caller's own recent answers, the model
//! ([`ask::ask`], on a task of its own once it is asked: [`detached`]; or in development
//! without a key the [`stand_in`]), and the record every identification leaves.

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
use crate::config::{FireworksSettings, IdentificationMode, ModelBudget};
use crate::db::Db;
use crate::db::identify::{self as records, QuotaHolder, QuotaTicket};
use crate::error::{ApiError, ApiResult};
use crate::extract::multipart::{HeldPhoto, UploadSlots, read_photo};
use crate::telemetry::metrics;
use crate::vision::fireworks::{BreakerSettings, Fireworks};
use crate::vision::image::{self, MAX_IMAGE_BYTES};
use crate::vision::variants::{self, Variant};
use record::Recorded;

/// Identification's handle (in `AppState`): what answers (the Fireworks client), the
/// experiment's variants, callers' recent answers, the catalog's prompts per catalog
/// version, and the global daily model budget.
pub struct Identification {
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

/// What identification reads and writes besides its own: the database, the catalog,
/// and the turns to hold a photo in memory.
#[derive(Clone, Copy)]
pub struct Around<'a> {
    pub db: &'a Db,
    pub catalog: &'a Catalog,
    pub uploads: &'a UploadSlots,
}

impl Identification {
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
        Identification {
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

    /// Identifies the machine in `photo` for `caller`.
    pub async fn identify(
        &self,
        around: Around<'_>,
        caller: Caller,
        photo: Photo,
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
        let Some(ticket) = records::take(around.db, &caller.holder, caller.limit).await? else {
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
            .prepare_photo(around, &caller, variant, model, photo, started)
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
                .stand_in(around.db, caller, variant, ticket, prepared, started)
                .await
                .map(Outcome::Identified);
        };
        // A call from today's model budget; once it is spent the caller's allowance is
        // given back with the 503.
        let call = match budget::take(around.db, self.budget, vision, &caller, variant.name, model)
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
            db: around.db.clone(),
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

    /// Reads the photo (holding a turn to keep it in memory), answers it from the
    /// caller's own recent photos when it is one, else scales it for the model.
    async fn prepare_photo(
        &self,
        around: Around<'_>,
        caller: &Caller,
        variant: &Variant,
        model: &str,
        photo: Photo,
        started: Instant,
    ) -> ApiResult<Ready> {
        // Large photos hold one of `UPLOADS_IN_MEMORY` turns until they are scaled.
        let held = read(around, caller, photo).await?;
        let (bytes, turn) = (held.bytes, held.turn);
        let format = image::sniff(&bytes)?;
        let size = bytes.len();
        // Keyed by the caller and the variant too: a repeat answered from memory is one's
        // own photo, never a sign that someone else sent the same one.
        let key: [u8; 32] = Sha256::new()
            .chain_update(caller.holder.key().as_bytes())
            .chain_update([0])
            .chain_update(variant.name.as_bytes())
            .chain_update(model.as_bytes())
            .chain_update([0])
            .chain_update(&bytes)
            .finalize()
            .into();
        let recent = self.recent.get(&key).await;
        metrics::cache_lookup(metrics::Cache::Identify, recent.is_some());
        if let Some(answer) = recent {
            let mocked = self.vision().is_none();
            let event = Recorded::new(caller, variant.name, model, &answer, size, started);
            let event = if mocked { event.mocked() } else { event };
            let trace_id = event.cached().save(around.db).await?;
            return Ok(Ready::Cached(Identified {
                trace_id,
                answer,
                mocked,
                upstream: None,
            }));
        }

        let (catalog, prepared) = tokio::join!(
            self.catalog(around.db, around.catalog),
            image::prepare_off_thread(bytes, format)
        );
        drop(turn);
        let prepared =
            prepared.inspect_err(|_| metrics::identification("rejected", variant.name, model))?;
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
            variant.name,
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

/// Reads `caller`'s photo into memory (a large one holds a turn: `UPLOADS_IN_MEMORY`).
async fn read(around: Around<'_>, caller: &Caller, photo: Photo) -> ApiResult<HeldPhoto> {
    read_photo(
        photo.form,
        "image",
        MAX_IMAGE_BYTES,
        photo.size_hint,
        around.uploads,
        &caller.holder.key(),
    )
    .await
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
