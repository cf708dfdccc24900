//! What a caller brings to an identification: who they are, and the photo.

use actix_multipart::Multipart;
use uuid::Uuid;

use crate::db::identify::QuotaHolder;

/// Who asks: whose allowance it spends (and how much it holds), their user id when
/// signed in, and the trace id the answer will carry.
#[derive(Clone)]
pub struct Caller {
    pub holder: QuotaHolder,
    /// What kind of caller `holder` is, for logs and metrics: `user`, `anonymous_user`
    /// (a Supabase anonymous sign-in) or `address` (no token at all).
    pub holder_kind: &'static str,
    pub limit: i32,
    pub user_id: Option<Uuid>,
    pub trace_id: String,
}

/// The photo, still unread: the multipart form and the body length it declared.
pub struct Photo {
    pub form: Multipart,
    pub size_hint: usize,
}
