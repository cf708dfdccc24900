//! Supabase's signing keys, fetched from the project's JWKS and kept for at most
//! `SUPABASE_JWKS_CACHE_SECS` (10 minutes).
//!
//! - An unknown `kid` triggers one refetch, at most once per `SUPABASE_JWKS_REFRESH_MIN_SECS`
//!   and single-flight, so a flood of forged tokens cannot hammer Supabase Auth.
//! - When the endpoint is down, the keys already fetched keep working (stale-if-error).
//!   A stale key waits at most `STALE_KEY_WAIT` for its refetch: an endpoint that does
//!   not answer by then counts as down, and the fetch finishes in the background.
//!
//! Held in a small struct rather than a moka cache: moka evicts on expiry, and
//! stale-if-error needs the expired set kept until a refetch succeeds.

use crate::telemetry::metrics::{self, Upstream};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm, PublicKeyUse,
};
use jsonwebtoken::{Algorithm, DecodingKey};
use url::Url;

/// Largest JWKS document accepted.
const MAX_JWKS_BYTES: usize = 256 * 1024;
const FETCH_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a request holding a known but stale key waits for the refetch before using
/// the key it has (well inside the request deadline).
const STALE_KEY_WAIT: Duration = Duration::from_millis(500);

/// A public key and the one algorithm it may verify.
pub struct VerifyingKey {
    pub algorithm: Algorithm,
    pub key: DecodingKey,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    #[error("Unknown signing key")]
    UnknownKey,
    #[error("signing keys are unavailable")]
    Unavailable,
}

#[derive(Default)]
struct KeySet {
    keys: HashMap<String, Arc<VerifyingKey>>,
    fetched_at: Option<Instant>,
    last_attempt: Option<Instant>,
}

pub struct JwksCache {
    inner: Arc<Inner>,
}

/// Shared with the refetch task, which may outlive the request that started it.
struct Inner {
    url: Url,
    client: reqwest::Client,
    max_age: Duration,
    min_refresh: Duration,
    state: RwLock<KeySet>,
    refreshing: tokio::sync::Mutex<()>,
}

impl JwksCache {
    pub fn new(
        url: Url,
        client: reqwest::Client,
        max_age: Duration,
        min_refresh: Duration,
    ) -> Self {
        JwksCache {
            inner: Arc::new(Inner {
                url,
                client,
                max_age,
                min_refresh: min_refresh.min(max_age),
                state: RwLock::new(KeySet::default()),
                refreshing: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// The key with this id, refetching the set when it is stale or lacks the id.
    pub async fn key(&self, kid: &str) -> Result<Arc<VerifyingKey>, KeyError> {
        let this = &self.inner;
        let (found, fresh, may_refetch, attempt) = {
            let state = this.state.read().expect("jwks lock");
            let fresh = state.fetched_at.is_some_and(|t| t.elapsed() < this.max_age);
            let may_refetch = state
                .last_attempt
                .is_none_or(|t| t.elapsed() >= this.min_refresh);
            (
                state.keys.get(kid).cloned(),
                fresh,
                may_refetch,
                state.last_attempt,
            )
        };
        match (&found, fresh) {
            (Some(key), true) => return Ok(key.clone()),
            _ if may_refetch => {
                let inner = this.clone();
                let refetch = tokio::spawn(async move { inner.refresh(attempt).await });
                if found.is_some() {
                    // Stale but known: the endpoint gets a moment, not the request's
                    // whole deadline (stale-if-error covers a hanging endpoint too).
                    let _ = tokio::time::timeout(STALE_KEY_WAIT, refetch).await;
                } else {
                    // Unknown key or none at all: nothing to fall back on.
                    let _ = refetch.await;
                }
            }
            _ => {}
        }
        let state = this.state.read().expect("jwks lock");
        match state.keys.get(kid) {
            Some(key) => Ok(key.clone()),
            None if state.keys.is_empty() && state.fetched_at.is_none() => {
                Err(KeyError::Unavailable)
            }
            None => Err(KeyError::UnknownKey),
        }
    }
}

impl Inner {
    /// Fetches the set unless another task did so since `seen_attempt`.
    async fn refresh(&self, seen_attempt: Option<Instant>) {
        let _single_flight = self.refreshing.lock().await;
        if self.state.read().expect("jwks lock").last_attempt != seen_attempt {
            return;
        }
        let result = self.fetch().await;
        let mut state = self.state.write().expect("jwks lock");
        state.last_attempt = Some(Instant::now());
        match result {
            Ok(keys) => {
                tracing::info!(keys = keys.len(), "signing keys fetched");
                state.keys = keys;
                state.fetched_at = Some(Instant::now());
            }
            Err(e) => {
                tracing::warn!(error = %e, cached_keys = state.keys.len(), "JWKS fetch failed; keeping cached keys");
            }
        }
    }

    async fn fetch(&self) -> anyhow::Result<HashMap<String, Arc<VerifyingKey>>> {
        let started = Instant::now();
        let fetched = self.fetch_uncounted().await;
        metrics::upstream_call(Upstream::Jwks, started, fetched.is_ok());
        fetched
    }

    async fn fetch_uncounted(&self) -> anyhow::Result<HashMap<String, Arc<VerifyingKey>>> {
        let response = self
            .client
            .get(self.url.clone())
            .timeout(FETCH_TIMEOUT)
            .send()
            .await?
            .error_for_status()?;
        if response
            .content_length()
            .is_some_and(|l| l > MAX_JWKS_BYTES as u64)
        {
            anyhow::bail!("JWKS document is too large");
        }
        // Counted while reading: a chunked answer states no length, and an endless one
        // must not be held whole before the check.
        let mut response = response;
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            if body.len() + chunk.len() > MAX_JWKS_BYTES {
                anyhow::bail!("JWKS document is too large");
            }
            body.extend_from_slice(&chunk);
        }
        let set: JwkSet = serde_json::from_slice(&body)?;
        Ok(set
            .keys
            .iter()
            .filter_map(|jwk| {
                let kid = jwk.common.key_id.clone()?;
                let key = verifying_key(jwk)?;
                Some((kid, Arc::new(key)))
            })
            .collect())
    }
}

/// The algorithm a JWK may verify, from its key type (never from a token header);
/// a stated `alg` must agree. Symmetric keys and encryption keys are ignored.
fn verifying_key(jwk: &Jwk) -> Option<VerifyingKey> {
    if matches!(&jwk.common.public_key_use, Some(u) if *u != PublicKeyUse::Signature) {
        return None;
    }
    let stated = jwk.common.key_algorithm;
    let algorithm = match &jwk.algorithm {
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => Algorithm::ES256,
            EllipticCurve::P384 => Algorithm::ES384,
            _ => return None,
        },
        AlgorithmParameters::RSA(_) => match stated {
            None | Some(KeyAlgorithm::RS256) => Algorithm::RS256,
            Some(KeyAlgorithm::RS384) => Algorithm::RS384,
            Some(KeyAlgorithm::RS512) => Algorithm::RS512,
            Some(KeyAlgorithm::PS256) => Algorithm::PS256,
            Some(KeyAlgorithm::PS384) => Algorithm::PS384,
            Some(KeyAlgorithm::PS512) => Algorithm::PS512,
            Some(_) => return None,
        },
        AlgorithmParameters::OctetKeyPair(okp) if okp.curve == EllipticCurve::Ed25519 => {
            Algorithm::EdDSA
        }
        _ => return None,
    };
    // A stated `alg` must name the same algorithm (compared by its JWA name).
    if let Some(stated) = stated {
        let name = serde_json::to_value(stated).ok()?;
        if name.as_str().and_then(|n| n.parse::<Algorithm>().ok()) != Some(algorithm) {
            return None;
        }
    }
    let key = DecodingKey::from_jwk(jwk).ok()?;
    Some(VerifyingKey { algorithm, key })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn jwk(value: serde_json::Value) -> Jwk {
        serde_json::from_value(value).unwrap()
    }

    const X: &str = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
    const Y: &str = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";

    #[test]
    fn the_algorithm_comes_from_the_key_type() {
        let ec = jwk(json!({"kty": "EC", "crv": "P-256", "x": X, "y": Y, "kid": "a"}));
        assert_eq!(verifying_key(&ec).unwrap().algorithm, Algorithm::ES256);
        // An EC key claiming an RSA or HMAC algorithm is not trusted at all.
        let lying = jwk(json!({"kty": "EC", "crv": "P-256", "x": X, "y": Y, "alg": "RS256"}));
        assert!(verifying_key(&lying).is_none());
        let hmac = jwk(json!({"kty": "oct", "k": "c2VjcmV0", "alg": "HS256"}));
        assert!(verifying_key(&hmac).is_none());
        let encryption = jwk(json!({"kty": "EC", "crv": "P-256", "x": X, "y": Y, "use": "enc"}));
        assert!(verifying_key(&encryption).is_none());
    }
}
