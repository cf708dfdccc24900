//! Identification: a photo in, a catalog machine out. The handlers (`routes::identify`)
//! speak HTTP; this module owns the steps, in order: the caller's variant, their daily
//! allowance (a ticket given back unless the model was asked), the photo (a bounded
//! number in memory at once), the caller's own recent answers, the model
//! ([`ask::ask`], or in development without a key the [`stand_in`]), and the record
//! every identification leaves.

mod answer;
pub mod ask;
pub mod budget;
pub mod eval;
mod record;
mod request;
pub mod stand_in;

pub use answer::{Answer, VisionCatalog};
pub use request::{Caller, Photo};

use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::future::Cache;
use sha2::{Digest, Sha256};

use crate::catalog::{Catalog, PerVersion};
use crate::config::{FireworksSettings, IdentificationMode, ModelBudget};
use crate::db::Db;
use crate::db::identify::{self as records, QuotaHolder};
use crate::error::{ApiError, ApiResult};
use crate::extract::multipart::{UploadSlots, read_field};
use crate::telemetry::metrics;
use crate::vision::fireworks::{BreakerSettings, Fireworks};
use crate::vision::image::{self, MAX_IMAGE_BYTES};
use crate::vision::variants::{self, Variant};
use record::Recorded;

/// Identification's handle (in `AppState`): what answers (the Fireworks client), the
/// experiment's variants, callers' recent answers, and the catalog's prompts per catalog
/// version.
pub struct Identification {
    model: Model,
    experiment: String,
    variants: Vec<Variant>,
    recent: Cache<[u8; 32], Arc<Answer>>,
    catalogs: PerVersion<VisionCatalog>,
    budget: ModelBudget,
}

/// What answers: the model, the local stand-in, or nothing (identification turned off).
#[allow(clippy::large_enum_variant, reason = "one per process")]
enum Model {
    Fireworks(Fireworks),
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
            (IdentificationMode::Fireworks, Some(key)) => Model::Fireworks(Fireworks::new(
                http,
                &settings.base_url,
                key,
                settings.model.clone(),
                settings.deadline,
                BreakerSettings {
                    threshold: settings.breaker_threshold,
                    cooldown: settings.breaker_cooldown,
                },
            )),
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
        let answered = self
            .answer_photo(around, vision, &caller, variant, model, photo, started)
            .await;
        // Given back when the model was never asked: a bad photo, or the model unavailable.
        match answered {
            Ok(identified) => {
                ticket.commit();
                Ok(Outcome::Identified(identified))
            }
            Err(e) => {
                ticket.refund().await?;
                Err(e)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn answer_photo(
        &self,
        around: Around<'_>,
        vision: Option<&Fireworks>,
        caller: &Caller,
        variant: &Variant,
        model: &str,
        photo: Photo,
        started: Instant,
    ) -> ApiResult<Identified> {
        // At most so many photos are held in memory at once (`UPLOADS_IN_MEMORY`).
        let slot = around.uploads.turn().await?;
        let bytes = read_field(photo.form, "image", MAX_IMAGE_BYTES, photo.size_hint).await?;
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
            let event = Recorded::new(caller, variant.name, model, &answer, size, started);
            let event = if vision.is_some() {
                event
            } else {
                event.mocked()
            };
            let trace_id = event.cached().save(around.db).await?;
            return Ok(Identified {
                trace_id,
                answer,
                mocked: vision.is_none(),
                upstream: None,
            });
        }

        let (catalog, prepared) = tokio::join!(
            self.catalog(around.db, around.catalog),
            image::prepare_off_thread(bytes, format)
        );
        drop(slot);
        let prepared =
            prepared.inspect_err(|_| metrics::identification("rejected", variant.name, model))?;
        let catalog = catalog?;
        let asked = match vision {
            Some(vision) => {
                let call =
                    budget::take(around.db, self.budget, vision, caller, variant.name, model)
                        .await?;
                let asked = ask::ask(vision, &catalog, variant, &prepared).await;
                if let Ok(asked) = &asked {
                    budget::spend(around.db, self.budget, call, &asked.answer.usage).await;
                }
                asked
            }
            // The stand-in costs nothing: no budget is taken.
            None => Ok(ask::Asked {
                answer: stand_in::answer(&catalog, &prepared),
                upstream: Duration::ZERO,
            }),
        };
        match asked {
            Ok(asked) => {
                let answer = Arc::new(asked.answer);
                if answer.failure.is_none() {
                    self.recent.insert(key, answer.clone()).await;
                }
                let event = Recorded::new(caller, variant.name, model, &answer, size, started);
                let event = if vision.is_some() {
                    event
                } else {
                    event.mocked()
                };
                let trace_id = event.save(around.db).await?;
                Ok(Identified {
                    trace_id,
                    answer,
                    mocked: vision.is_none(),
                    upstream: vision.is_some().then_some(asked.upstream),
                })
            }
            Err(unavailable) => {
                let answer = Answer::unknown(Some("upstream"), Some(unavailable.why.clone()));
                Recorded::new(caller, variant.name, model, &answer, size, started)
                    .save(around.db)
                    .await?;
                Err(ApiError::Unavailable(unavailable.why))
            }
        }
    }
}

pub struct Identified {
    pub trace_id: String,
    pub answer: Arc<Answer>,
    pub mocked: bool,
    /// Time waiting for Fireworks, when it was asked.
    pub upstream: Option<Duration>,
}

pub enum Outcome {
    Identified(Identified),
    /// The caller's daily allowance is spent (nothing was read).
    AllowanceSpent,
}
