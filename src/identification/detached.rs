//! The model's part of an identification, on a task of its own. Once the photo is sent
//! to Fireworks the call costs money whatever the caller does next, so it must count:
//! the caller going away (the handler dropped) neither stops the task nor gives the
//! allowance back, and the identification is recorded, marked `abandoned` when nobody
//! was left to answer. Only a model that could not be asked gives the allowance back.

use std::sync::Arc;
use std::time::Instant;

use moka::future::Cache;
use tokio::sync::oneshot;

use super::answer::{Answer, Identified, VisionCatalog};
use super::ask;
use super::budget;
use super::record::Recorded;
use super::request::Caller;
use crate::config::ModelBudget;
use crate::config::variants::Variant;
use crate::db::Db;
use crate::db::identify::QuotaTicket;
use crate::db::identify::budget::ModelCall;
use crate::error::{ApiError, ApiResult};
use crate::vision::fireworks::Fireworks;
use crate::vision::image;

/// A photo ready for the model, with what its answer is matched against and kept under.
pub(super) struct Prepared {
    pub catalog: Arc<VisionCatalog>,
    pub photo: image::Prepared,
    pub cache_key: [u8; 32],
    /// Bytes of the photo as sent.
    pub size: usize,
}

/// Everything the task needs, owned: it may outlive the request.
pub(super) struct Question {
    pub vision: Arc<Fireworks>,
    pub db: Db,
    pub recent: Cache<[u8; 32], Arc<Answer>>,
    pub variant: Variant,
    pub model: String,
    pub caller: Caller,
    pub ticket: QuotaTicket,
    /// The day's model budget, and the call taken from it (none while the circuit is
    /// open): the answer's tokens are added to it here, so an abandoned call counts too.
    pub budget: ModelBudget,
    pub call: Option<ModelCall>,
    pub started: Instant,
    pub photo: Prepared,
}

/// Asks the model on a task of its own and waits for its answer.
pub(super) async fn ask(question: Question) -> ApiResult<Identified> {
    let (answer, answered) = oneshot::channel();
    tokio::spawn(async move {
        let outcome = question.run(&answer).await;
        // Nobody waiting: the caller went away; the record says so.
        let _ = answer.send(outcome);
    });
    answered.await.map_err(|_| {
        ApiError::Internal(anyhow::anyhow!(
            "the identification's task ended without an answer"
        ))
    })?
}

impl Question {
    async fn run(self, waiting: &oneshot::Sender<ApiResult<Identified>>) -> ApiResult<Identified> {
        let Question {
            vision,
            db,
            recent,
            variant,
            model,
            caller,
            ticket,
            budget,
            call,
            started,
            photo,
        } = self;
        let name = variant.name();
        match ask::which_machine(&vision, &photo.catalog, &variant, &photo.photo).await {
            Ok(asked) => {
                ticket.commit();
                budget::spend(&db, budget, call, &asked.answer.usage).await;
                let answer = Arc::new(asked.answer);
                if answer.failure.is_none() {
                    recent.insert(photo.cache_key, answer.clone()).await;
                }
                let event = Recorded::new(&caller, name, &model, &answer, photo.size, started);
                let trace_id = event.abandoned(waiting.is_closed()).save(&db).await?;
                Ok(Identified {
                    trace_id,
                    answer,
                    mocked: false,
                    upstream: Some(asked.upstream),
                })
            }
            Err(unavailable) => {
                // The model could not be asked (refused, failing, circuit open).
                ticket.refund().await?;
                let answer = Answer::unknown(Some("upstream"), Some(unavailable.why.clone()));
                Recorded::new(&caller, name, &model, &answer, photo.size, started)
                    .abandoned(waiting.is_closed())
                    .save(&db)
                    .await?;
                Err(ApiError::Unavailable(unavailable.why))
            }
        }
    }
}
