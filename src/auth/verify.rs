//! Access-token verification: signature against the pinned key, then `exp`, `nbf`,
//! `iat`, `iss`, `aud` and `sub`. Verified tokens are remembered (by SHA-256, never
//! the token itself) until they expire or the key cache bound passes, whichever is first.

use crate::telemetry::metrics;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use moka::Expiry;
use moka::future::Cache;
use secrecy::ExposeSecret;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::identity::{Claims, Identity, Role};
use super::jwks::{JwksCache, KeyError};
use crate::config::SupabaseSettings;

/// Longer than any Supabase access token; anything bigger is refused unread.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;
const VERIFIED_CACHE_CAPACITY: u64 = 50_000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// A 401: the token is not acceptable, and the message says why.
    #[error("{0}")]
    Invalid(&'static str),
    /// A 503: no signing keys could be had at all.
    #[error("Authentication is unavailable: signing keys could not be fetched")]
    Unavailable,
}

fn invalid(e: &jsonwebtoken::errors::Error) -> AuthError {
    AuthError::Invalid(match e.kind() {
        ErrorKind::ExpiredSignature => "Token has expired",
        ErrorKind::ImmatureSignature => "Token is not valid yet",
        ErrorKind::InvalidIssuer => "Invalid token issuer",
        ErrorKind::InvalidAudience => "Invalid token audience",
        ErrorKind::InvalidSignature => "Invalid token signature",
        ErrorKind::InvalidAlgorithm | ErrorKind::UnsupportedAlgorithm => {
            "Unsupported token algorithm"
        }
        ErrorKind::MissingRequiredClaim(claim) if claim == "sub" => "Token has no subject",
        ErrorKind::MissingRequiredClaim(_) => "Token is missing a required claim",
        _ => "Malformed token",
    })
}

/// Cache entries live until the token expires, and never longer than `bound`.
struct UntilExpiry {
    bound: Duration,
}

impl Expiry<[u8; 32], Arc<Identity>> for UntilExpiry {
    fn expire_after_create(
        &self,
        _: &[u8; 32],
        identity: &Arc<Identity>,
        _: Instant,
    ) -> Option<Duration> {
        let left = identity.claims.exp.saturating_sub(unix_now()).max(0) as u64;
        Some(Duration::from_secs(left).min(self.bound))
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

pub struct Verifier {
    jwks: Option<JwksCache>,
    hs256: Option<DecodingKey>,
    issuer: String,
    audience: String,
    leeway: u64,
    verified: Cache<[u8; 32], Arc<Identity>>,
}

impl Verifier {
    /// `None` when no way to verify tokens is configured.
    pub fn from_settings(settings: &SupabaseSettings, client: reqwest::Client) -> Option<Self> {
        let issuer = settings.jwt_issuer.clone()?;
        let jwks = settings.jwks_url.clone().map(|url| {
            JwksCache::new(
                url,
                client,
                settings.jwks_cache_ttl,
                settings.jwks_min_refresh,
            )
        });
        let hs256 = settings
            .jwt_secret
            .as_ref()
            .map(|s| DecodingKey::from_secret(s.expose_secret().as_bytes()));
        if jwks.is_none() && hs256.is_none() {
            return None;
        }
        Some(Verifier {
            jwks,
            hs256,
            issuer,
            audience: settings.jwt_audience.clone(),
            leeway: settings.jwt_leeway_secs,
            verified: Cache::builder()
                .max_capacity(VERIFIED_CACHE_CAPACITY)
                .expire_after(UntilExpiry {
                    bound: settings.jwks_cache_ttl,
                })
                .build(),
        })
    }

    /// Verifies a bearer token and says who sent it.
    pub async fn verify(&self, token: &str) -> Result<Arc<Identity>, AuthError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(AuthError::Invalid("Token is too large"));
        }
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some(identity) = self.verified.get(&digest).await
            && identity.claims.exp > unix_now()
        {
            metrics::cache_lookup(metrics::Cache::Token, true);
            return Ok(identity);
        }
        metrics::cache_lookup(metrics::Cache::Token, false);
        let identity = Arc::new(self.verify_uncached(token).await?);
        self.verified.insert(digest, identity.clone()).await;
        Ok(identity)
    }

    /// Verifies without consulting or filling the verified-token cache.
    pub async fn verify_uncached(&self, token: &str) -> Result<Identity, AuthError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| header_error(token))?;
        // RFC 7515 4.1.11: extensions listed in `crit` must be understood by the
        // recipient, or the token rejected. This service understands none (Supabase
        // never sends `crit`), and an empty list is itself invalid.
        if header.crit.is_some() {
            return Err(AuthError::Invalid("Token has critical header parameters"));
        }
        // The header names the algorithm, but only the key decides which one is accepted:
        // HS256 only ever checks against the configured secret, and an asymmetric key
        // verifies only the algorithm of its own type.
        let (key, algorithm) = match header.alg {
            Algorithm::HS256 => match &self.hs256 {
                Some(secret) => (KeyRef::Secret(secret), Algorithm::HS256),
                None => return Err(AuthError::Invalid("Unsupported token algorithm")),
            },
            Algorithm::HS384 | Algorithm::HS512 => {
                return Err(AuthError::Invalid("Unsupported token algorithm"));
            }
            alg => {
                let jwks = self
                    .jwks
                    .as_ref()
                    .ok_or(AuthError::Invalid("Unsupported token algorithm"))?;
                let kid = header
                    .kid
                    .as_deref()
                    .ok_or(AuthError::Invalid("Token has no key id"))?;
                let key = jwks.key(kid).await.map_err(|e| match e {
                    KeyError::UnknownKey => AuthError::Invalid("Unknown signing key"),
                    KeyError::Unavailable => AuthError::Unavailable,
                })?;
                if key.algorithm != alg {
                    return Err(AuthError::Invalid("Token algorithm does not match its key"));
                }
                (KeyRef::Jwk(key), alg)
            }
        };

        let mut validation = Validation::new(algorithm);
        validation.leeway = self.leeway;
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
        let data = jsonwebtoken::decode::<Map<String, Value>>(token, key.get(), &validation)
            .map_err(|e| invalid(&e))?;

        let claims_json = Value::Object(data.claims);
        let claims: Claims = serde_json::from_value(claims_json.clone())
            .map_err(|_| AuthError::Invalid("Invalid token claims"))?;
        let claims_json = storable(claims_json);
        if claims
            .iat
            .is_some_and(|iat| iat > unix_now() + self.leeway as i64)
        {
            return Err(AuthError::Invalid("Token is issued in the future"));
        }
        let role = Role::of(&claims).ok_or(AuthError::Invalid("Token role is not allowed"))?;
        Ok(Identity {
            id: claims.sub,
            role,
            claims,
            claims_json: claims_json.to_string().into(),
        })
    }
}

/// The claims as Postgres can hold them (`request.jwt.claims` is read as jsonb, which
/// has no NUL character): NULs are dropped from every key and string. A user can put
/// one in their own `user_metadata`; kept, it made every request of theirs a 422.
fn storable(value: Value) -> Value {
    match value {
        Value::String(s) if s.contains('\0') => Value::String(s.replace('\0', "")),
        Value::Array(items) => Value::Array(items.into_iter().map(storable).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k.replace('\0', ""), storable(v)))
                .collect(),
        ),
        other => other,
    }
}

/// Why a header did not parse: an algorithm we do not accept (`none`, ...) is named as
/// such; anything else is malformed.
fn header_error(token: &str) -> AuthError {
    use base64::Engine;
    let named_alg = token
        .split('.')
        .next()
        .and_then(|h| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(h)
                .ok()
        })
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
        .is_some_and(|header| header.get("alg").is_some_and(Value::is_string));
    if named_alg {
        AuthError::Invalid("Unsupported token algorithm")
    } else {
        AuthError::Invalid("Malformed token")
    }
}

enum KeyRef<'a> {
    Secret(&'a DecodingKey),
    Jwk(Arc<super::jwks::VerifyingKey>),
}

impl KeyRef<'_> {
    fn get(&self) -> &DecodingKey {
        match self {
            KeyRef::Secret(key) => key,
            KeyRef::Jwk(key) => &key.key,
        }
    }
}
