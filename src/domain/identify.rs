//! What identification works with below the service: the catalog as an answer is
//! matched against it, and whose daily allowance an identification spends.

/// A catalog machine as identification sees it: what the prompt lists and what the
/// model's answer is matched against.
#[derive(Debug, Clone)]
pub struct CatalogEntry {
    pub id: String,
    pub name: String,
    pub synonyms: Vec<String>,
    pub visual_cues: Vec<String>,
}

/// Who an identification counts against: a signed-in user, or (when anonymous callers
/// are allowed) a hashed client address.
#[derive(Debug, Clone)]
pub enum QuotaHolder {
    User(uuid::Uuid),
    Address(String),
}

impl QuotaHolder {
    /// The holder's key in its quota table (a user id, or an address hash).
    pub fn key(&self) -> String {
        match self {
            QuotaHolder::User(id) => id.to_string(),
            QuotaHolder::Address(hash) => hash.clone(),
        }
    }
}
