//! Identification: a photo in, a catalog machine out. The handlers (`routes::identify`)
//! speak HTTP; this module owns the steps, in order: the caller's variant, their daily
//! allowance (a ticket given back unless the model was asked), the photo (a bounded
//! number in memory at once), the caller's own recent answers, the model
//! ([`ask::ask`]), and the record every identification leaves.

pub mod ask;
pub mod eval;

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_multipart::Multipart;
use moka::future::Cache;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::catalog_cache::{CatalogCache, PerVersion};
use crate::config::FireworksSettings;
use crate::db::Db;
use crate::db::identify::{self as records, NewEvent, QuotaHolder};
use crate::error::{ApiError, ApiResult};
use crate::extract::multipart::read_field;
use crate::state::AppState;
use crate::telemetry::metrics;
use crate::vision::fireworks::{BreakerSettings, Fireworks, Usage};
use crate::vision::image::{self, MAX_IMAGE_BYTES};
use crate::vision::matching::{Candidate, CatalogEntry};
use crate::vision::variants::{self, BUILDERS, Variant};

/// The catalog as identification needs it, for one catalog version: its entries, and
/// every variant's system prompt built from them.
pub struct VisionCatalog {
    pub entries: Vec<CatalogEntry>,
    prompts: Vec<(&'static str, String)>,
}

impl VisionCatalog {
    pub fn new(entries: Vec<CatalogEntry>) -> Self {
        let prompts = BUILDERS
            .iter()
            .map(|b| (b.name, b.system_prompt(&entries)))
            .collect();
        VisionCatalog { entries, prompts }
    }

    /// `variant`'s system prompt (empty for a name this build does not know).
    pub fn prompt(&self, variant: &str) -> &str {
        self.prompts
            .iter()
            .find(|(name, _)| *name == variant)
            .map_or("", |(_, prompt)| prompt.as_str())
    }
}

/// What an identification concluded, as recorded and as kept for repeats of the photo.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The catalog machine's id; `None` for "Unknown".
    pub machine_id: Option<String>,
    /// The catalog machine's name, or "Unknown".
    pub machine: String,
    pub confidence: f32,
    /// The closest catalog machines, best first.
    pub candidates: Vec<Candidate>,
    pub raw_text: Option<String>,
    pub raw_machine: Option<String>,
    pub match_score: Option<f32>,
    /// Why the model's answer was not usable (`vision::fireworks::Failure`), or
    /// `upstream` when the model could not be asked.
    pub failure: Option<&'static str>,
    pub error: Option<String>,
    pub usage: Usage,
}

impl Answer {
    pub fn unknown(failure: Option<&'static str>, error: Option<String>) -> Self {
        Answer {
            machine_id: None,
            machine: "Unknown".into(),
            confidence: 0.0,
            candidates: Vec::new(),
            raw_text: None,
            raw_machine: None,
            match_score: None,
            failure,
            error,
            usage: Usage::default(),
        }
    }
}

/// What [`AppState`] holds for identification: the Fireworks client, the recent answers,
/// and the catalog's prompts per catalog version.
pub struct Identification {
    vision: Option<Fireworks>,
    recent: Cache<[u8; 32], Arc<Answer>>,
    catalogs: PerVersion<VisionCatalog>,
}

impl Identification {
    pub fn new(settings: &FireworksSettings, http: reqwest::Client) -> Self {
        Identification {
            vision: settings.api_key.clone().map(|key| {
                Fireworks::new(
                    http,
                    &settings.base_url,
                    key,
                    settings.model.clone(),
                    settings.deadline,
                    BreakerSettings {
                        threshold: settings.breaker_threshold,
                        cooldown: settings.breaker_cooldown,
                    },
                )
            }),
            recent: Cache::builder()
                .max_capacity(10_000)
                .time_to_live(settings.cache_ttl.max(Duration::from_secs(1)))
                .build(),
            catalogs: PerVersion::default(),
        }
    }

    /// The Fireworks client, when a key is configured.
    pub fn vision(&self) -> Option<&Fireworks> {
        self.vision.as_ref()
    }

    /// The catalog's entries and prompts, rebuilt when the catalog version changes.
    pub async fn catalog(&self, db: &Db, versions: &CatalogCache) -> ApiResult<Arc<VisionCatalog>> {
        let version = versions.version(db).await?;
        self.catalogs
            .get(version, async || {
                Ok(VisionCatalog::new(records::catalog_entries(db).await?))
            })
            .await
    }
}

/// Who asks: whose allowance it spends, their user id when signed in, and the trace id
/// the answer will carry.
pub struct Caller {
    pub holder: QuotaHolder,
    pub limit: i32,
    pub user_id: Option<Uuid>,
    pub trace_id: String,
}

/// The photo, still unread: the multipart form and the body length it declared.
pub struct Photo {
    pub form: Multipart,
    pub size_hint: usize,
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

/// The variant a caller is dealt for the configured experiment.
pub fn variant_for<'a>(settings: &'a FireworksSettings, holder: &QuotaHolder) -> &'a Variant {
    variants::assign(&settings.experiment, &holder.key(), &settings.variants)
}

/// Identifies the machine in `photo` for `caller`.
pub async fn identify(state: &AppState, caller: Caller, photo: Photo) -> ApiResult<Outcome> {
    let started = Instant::now();
    let settings = &state.settings.fireworks;
    let variant = variant_for(settings, &caller.holder);
    let Some(vision) = state.identification.vision() else {
        // No model configured (local quick start): say so, as the original did.
        let _slot = state.upload_slot().await?;
        let bytes = read_field(photo.form, "image", MAX_IMAGE_BYTES, photo.size_hint).await?;
        image::sniff(&bytes)?;
        let answer = Arc::new(Answer::unknown(None, None));
        let event = Recorded::new(&caller, variant.name, "none", &answer, bytes.len(), started);
        metrics::identification("mocked", variant.name, "none");
        let trace_id = event.mocked().save(&state.db).await?;
        return Ok(Outcome::Identified(Identified {
            trace_id,
            answer,
            mocked: true,
            upstream: None,
        }));
    };
    let model = vision.model_for_variant(variant).to_owned();

    // The allowance first: a caller who has spent it costs no body read and no decode.
    let Some(ticket) = records::take(&state.db, &caller.holder, caller.limit).await? else {
        metrics::quota_refusal(match caller.holder {
            QuotaHolder::User(_) => "user",
            QuotaHolder::Address(_) => "address",
        });
        return Ok(Outcome::AllowanceSpent);
    };
    let answered = answer_photo(state, vision, &caller, variant, &model, photo, started).await;
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

async fn answer_photo(
    state: &AppState,
    vision: &Fireworks,
    caller: &Caller,
    variant: &Variant,
    model: &str,
    photo: Photo,
    started: Instant,
) -> ApiResult<Identified> {
    // At most so many photos are held in memory at once (`UPLOADS_IN_MEMORY`).
    let slot = state.upload_slot().await?;
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
    let recent = state.identification.recent.get(&key).await;
    metrics::cache_lookup(metrics::Cache::Identify, recent.is_some());
    if let Some(answer) = recent {
        metrics::identification("cached", variant.name, model);
        let event = Recorded::new(caller, variant.name, model, &answer, size, started);
        let trace_id = event.cached().save(&state.db).await?;
        return Ok(Identified {
            trace_id,
            answer,
            mocked: false,
            upstream: None,
        });
    }

    let (catalog, prepared) = tokio::join!(
        state.identification.catalog(&state.db, &state.catalog),
        image::prepare_off_thread(bytes, format)
    );
    drop(slot);
    let prepared =
        prepared.inspect_err(|_| metrics::identification("rejected", variant.name, model))?;
    let catalog = catalog?;
    match ask::ask(vision, &catalog, variant, &prepared).await {
        Ok(asked) => {
            let answer = Arc::new(asked.answer);
            if answer.failure.is_none() {
                state
                    .identification
                    .recent
                    .insert(key, answer.clone())
                    .await;
            }
            let outcome = if answer.machine_id.is_some() {
                "matched"
            } else {
                "unknown"
            };
            metrics::identification(outcome, variant.name, model);
            let event = Recorded::new(caller, variant.name, model, &answer, size, started);
            let trace_id = event.save(&state.db).await?;
            Ok(Identified {
                trace_id,
                answer,
                mocked: false,
                upstream: Some(asked.upstream),
            })
        }
        Err(unavailable) => {
            metrics::identification("unavailable", variant.name, model);
            let answer = Answer::unknown(Some("upstream"), Some(unavailable.why.clone()));
            Recorded::new(caller, variant.name, model, &answer, size, started)
                .save(&state.db)
                .await?;
            Err(ApiError::Unavailable(unavailable.why))
        }
    }
}

/// The record an identification leaves (`identification_events`).
struct Recorded(NewEvent);

impl Recorded {
    fn new(
        caller: &Caller,
        variant: &str,
        model: &str,
        answer: &Answer,
        image_bytes: usize,
        started: Instant,
    ) -> Self {
        Recorded(NewEvent {
            trace_id: caller.trace_id.clone(),
            user_id: caller.user_id,
            machine_id: answer.machine_id.clone(),
            machine_name: answer.machine.clone(),
            confidence: answer.confidence,
            mocked: false,
            cached: false,
            raw_text: answer.raw_text.clone(),
            raw_machine: answer.raw_machine.clone(),
            match_score: answer.match_score,
            unmapped: answer.machine_id.is_none(),
            model: Some(model.to_owned()),
            prompt: None,
            prompt_variant: Some(variant.to_owned()),
            error: answer.error.clone(),
            failure: answer.failure.map(str::to_owned),
            prompt_tokens: answer.usage.prompt_tokens.map(|t| t as i32),
            completion_tokens: answer.usage.completion_tokens.map(|t| t as i32),
            latency_ms: started.elapsed().as_millis() as i32,
            image_bytes: image_bytes as i32,
            top_candidates: serde_json::to_value(&answer.candidates).unwrap_or_default(),
        })
    }

    fn cached(mut self) -> Self {
        self.0.cached = true;
        // The model was not asked: what it cost was counted the first time.
        self.0.prompt_tokens = None;
        self.0.completion_tokens = None;
        self
    }

    fn mocked(mut self) -> Self {
        self.0.mocked = true;
        self.0.model = None;
        self
    }

    async fn save(self, db: &Db) -> ApiResult<String> {
        let trace_id = records::record(db, &self.0).await?;
        tracing::info!(
            trace_id = %trace_id,
            machine = %self.0.machine_name,
            confidence = self.0.confidence,
            variant = self.0.prompt_variant.as_deref().unwrap_or_default(),
            cached = self.0.cached,
            mocked = self.0.mocked,
            latency_ms = self.0.latency_ms,
            "identified"
        );
        Ok(trace_id)
    }
}
