//! The local development signing key: lets a person call authenticated routes without
//! a Supabase project. The service serves its public half as a JWKS (only when
//! `LOCAL_AUTH_KEY_FILE` is set, which configuration refuses outside development),
//! and `machinemate-api dev-token` signs Supabase-shaped tokens with it.

use crate::db::query::Statements;
use std::path::Path;

use anyhow::Context;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use jsonwebtoken::jwk::{Jwk, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use uuid::Uuid;

use super::identity::Role;

pub struct DevKey {
    encoding: EncodingKey,
    jwk: Jwk,
}

impl DevKey {
    /// Loads the ES256 key (PKCS#8 DER) at `path`, creating it on first use.
    pub fn load_or_create(path: &Path) -> anyhow::Result<Self> {
        let der = match std::fs::read(path) {
            Ok(der) => der,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
                    .map_err(|_| anyhow::anyhow!("generating the development key failed"))?;
                let der = pair
                    .to_pkcs8v1()
                    .map_err(|_| anyhow::anyhow!("encoding the development key failed"))?
                    .as_ref()
                    .to_vec();
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                write_private(path, &der)?;
                der
            }
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let encoding = EncodingKey::from_ec_der(&der);
        let mut jwk = Jwk::from_encoding_key(&encoding, Algorithm::ES256)
            .context("LOCAL_AUTH_KEY_FILE is not an ES256 (P-256) PKCS#8 key")?;
        let thumbprint = jwk.thumbprint(ThumbprintHash::SHA256)?;
        jwk.common.key_id = Some(format!("dev-{}", &thumbprint[..16]));
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        Ok(DevKey { encoding, jwk })
    }

    /// The JWKS document holding the public key.
    pub fn jwks(&self) -> Value {
        json!({ "keys": [self.jwk] })
    }

    pub fn sign(&self, claims: &Value) -> anyhow::Result<String> {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = self.jwk.common.key_id.clone();
        Ok(jsonwebtoken::encode(&header, claims, &self.encoding)?)
    }
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?
        .write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

/// What a development token should say about its user.
pub struct DevUser {
    pub id: Uuid,
    pub email: Option<String>,
    pub role: Role,
    pub is_anonymous: bool,
}

impl DevUser {
    pub fn app_metadata(&self) -> Value {
        let mut meta = json!({"provider": if self.is_anonymous { "anonymous" } else { "email" }});
        meta["providers"] = json!([meta["provider"].clone()]);
        if self.role == Role::Admin {
            meta["role"] = json!("admin");
        }
        meta
    }

    /// Claims shaped like a Supabase Auth access token.
    pub fn claims(&self, issuer: &str, audience: &str, now: i64, ttl_secs: i64) -> Value {
        json!({
            "iss": issuer,
            "sub": self.id,
            "aud": audience,
            "exp": now + ttl_secs,
            "iat": now,
            "email": self.email.clone().unwrap_or_default(),
            "phone": "",
            "app_metadata": self.app_metadata(),
            "user_metadata": {},
            "role": if self.role == Role::ServiceRole { "service_role" } else { "authenticated" },
            "aal": "aal1",
            "amr": [{"method": if self.is_anonymous { "anonymous" } else { "password" }, "timestamp": now}],
            "session_id": Uuid::new_v4(),
            "is_anonymous": self.is_anonymous,
        })
    }
}

/// Signs `user` up in the local `auth.users` (as Supabase Auth would; the sign-up
/// trigger creates the profile) and returns an access token for them.
pub async fn issue_token(
    settings: &crate::config::Settings,
    db: &crate::db::Db,
    user: &DevUser,
    ttl_secs: i64,
) -> anyhow::Result<String> {
    let path = settings.supabase.local_auth_key_file.as_deref().context(
        "LOCAL_AUTH_KEY_FILE must be set (development only): run through scripts/dev-token",
    )?;
    let issuer = settings
        .supabase
        .jwt_issuer
        .as_deref()
        .context("SUPABASE_URL or SUPABASE_JWT_ISSUER must be set")?;
    let key = DevKey::load_or_create(path)?;
    db.with_conn(async |c| db.query(
        "insert into auth.users (id, aud, role, email, raw_app_meta_data, raw_user_meta_data, is_anonymous) \
         values ($1, $2, 'authenticated', $3, $4, '{}'::jsonb, $5) \
         on conflict (id) do update set email = excluded.email, \
           raw_app_meta_data = excluded.raw_app_meta_data, is_anonymous = excluded.is_anonymous, \
           updated_at = now()",
    )
    .bind(user.id)
    .bind(&settings.supabase.jwt_audience)
    .bind(&user.email)
    .bind(user.app_metadata())
    .bind(user.is_anonymous)
    .execute(c).await).await
    .context("signing the user up in the local auth.users")?;
    let now = chrono::Utc::now().timestamp();
    key.sign(&user.claims(issuer, &settings.supabase.jwt_audience, now, ttl_secs))
}
