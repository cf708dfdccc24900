//! A stand-in for Supabase Auth: a JWKS endpoint over real HTTP with keys generated per
//! test run (ES256, RS256), and tokens with Supabase's claim set.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use actix_web::{HttpResponse, web};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, RsaKeyPair};
use base64::Engine;
use jsonwebtoken::jwk::{Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use uuid::Uuid;

use super::StandIn;

pub struct SigningKey {
    pub kid: String,
    pub alg: Algorithm,
    pub encoding: EncodingKey,
    pub jwk: Jwk,
}

impl SigningKey {
    fn es256(kid: &str) -> SigningKey {
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
        let der = pair.to_pkcs8v1().unwrap();
        Self::finish(
            kid,
            Algorithm::ES256,
            EncodingKey::from_ec_der(der.as_ref()),
        )
    }

    fn rs256(kid: &str) -> SigningKey {
        let pair = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
        let der = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&pair).unwrap();
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            base64::engine::general_purpose::STANDARD.encode(der.as_ref())
        );
        Self::finish(
            kid,
            Algorithm::RS256,
            EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap(),
        )
    }

    fn finish(kid: &str, alg: Algorithm, encoding: EncodingKey) -> SigningKey {
        let mut jwk = Jwk::from_encoding_key(&encoding, alg).unwrap();
        jwk.common.key_id = Some(kid.to_owned());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        SigningKey {
            kid: kid.to_owned(),
            alg,
            encoding,
            jwk,
        }
    }

    /// The same private key published under another kid.
    pub fn renamed(&self, kid: &str) -> SigningKey {
        let mut jwk = self.jwk.clone();
        jwk.common.key_id = Some(kid.to_owned());
        SigningKey {
            kid: kid.to_owned(),
            alg: self.alg,
            encoding: self.encoding.clone(),
            jwk,
        }
    }

    /// Signs `claims` with this key, naming `kid` in the header.
    pub fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(self.alg);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).unwrap()
    }
}

/// Keys generated once per test process (RSA generation takes a moment).
pub struct Keys {
    pub es256: SigningKey,
    pub rs256: SigningKey,
    /// A second ES256 key, for rotation and wrong-key tests.
    pub es256_next: SigningKey,
}

pub fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| Keys {
        es256: SigningKey::es256("es256-current"),
        rs256: SigningKey::rs256("rs256-current"),
        es256_next: SigningKey::es256("es256-next"),
    })
}

struct Published {
    jwks: Mutex<Value>,
    down: AtomicBool,
    hanging: AtomicBool,
    fetches: AtomicUsize,
    /// Users deleted through the admin API (`DELETE /auth/v1/admin/users/{id}`).
    deleted: Mutex<Vec<Uuid>>,
    admin_failing: AtomicBool,
}

/// The service-role key the admin API stand-in accepts.
pub const SERVICE_ROLE_KEY: &str = "test-service-role-key";

/// Supabase Auth's admin delete: the service-role key as `apikey` and as bearer; 200 with
/// the user, 404 `user_not_found` once gone.
async fn delete_user(
    p: web::Data<Published>,
    req: actix_web::HttpRequest,
    id: web::Path<Uuid>,
) -> HttpResponse {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    if header("apikey").as_deref() != Some(SERVICE_ROLE_KEY)
        || header("authorization") != Some(format!("Bearer {SERVICE_ROLE_KEY}"))
    {
        return HttpResponse::Unauthorized()
            .json(json!({"code": 401, "error_code": "no_authorization", "msg": "This endpoint requires a valid service role key"}));
    }
    if p.admin_failing.load(Ordering::SeqCst) {
        return HttpResponse::InternalServerError()
            .json(json!({"code": 500, "error_code": "unexpected_failure", "msg": "Database error deleting user"}));
    }
    let mut deleted = p.deleted.lock().unwrap();
    if deleted.contains(&id) {
        return HttpResponse::NotFound()
            .json(json!({"code": 404, "error_code": "user_not_found", "msg": "User not found"}));
    }
    deleted.push(*id);
    HttpResponse::Ok().json(json!({"id": *id, "aud": "authenticated", "role": "authenticated"}))
}

/// `GET /auth/v1/.well-known/jwks.json`: the published keys (counted), or a failure.
async fn publish_jwks(p: web::Data<Published>) -> HttpResponse {
    p.fetches.fetch_add(1, Ordering::SeqCst);
    if p.hanging.load(Ordering::SeqCst) {
        tokio::time::sleep(std::time::Duration::from_secs(60)).await;
    }
    if p.down.load(Ordering::SeqCst) {
        return HttpResponse::ServiceUnavailable().body("upstream connect error");
    }
    let body = p.jwks.lock().unwrap().clone();
    HttpResponse::Ok()
        .insert_header(("cache-control", "public, max-age=600"))
        .json(body)
}

pub struct AuthServer {
    pub issuer: String,
    pub jwks_url: String,
    published: Arc<Published>,
}

pub const AUDIENCE: &str = "authenticated";

impl AuthServer {
    pub async fn start(keys: &[&SigningKey]) -> AuthServer {
        let published = Arc::new(Published {
            jwks: Mutex::new(jwks(keys)),
            down: AtomicBool::new(false),
            hanging: AtomicBool::new(false),
            fetches: AtomicUsize::new(0),
            deleted: Mutex::new(Vec::new()),
            admin_failing: AtomicBool::new(false),
        });
        let data = web::Data::from(published.clone());
        let server = StandIn::http(1, move |cfg| {
            cfg.app_data(data.clone())
                .route("/auth/v1/admin/users/{id}", web::delete().to(delete_user))
                .route(
                    "/auth/v1/.well-known/jwks.json",
                    web::get().to(publish_jwks),
                );
        });
        AuthServer {
            issuer: server.url("/auth/v1"),
            jwks_url: server.url("/auth/v1/.well-known/jwks.json"),
            published,
        }
    }

    /// Replaces the published key set.
    pub fn publish(&self, keys: &[&SigningKey]) {
        *self.published.jwks.lock().unwrap() = jwks(keys);
    }

    pub fn set_down(&self, down: bool) {
        self.published.down.store(down, Ordering::SeqCst);
    }

    /// The endpoint accepts connections and never answers.
    pub fn set_hanging(&self, hanging: bool) {
        self.published.hanging.store(hanging, Ordering::SeqCst);
    }

    /// Users deleted through the admin API, in order.
    pub fn deleted_users(&self) -> Vec<Uuid> {
        self.published.deleted.lock().unwrap().clone()
    }

    /// The admin API answers 500 while set.
    pub fn set_admin_failing(&self, failing: bool) {
        self.published
            .admin_failing
            .store(failing, Ordering::SeqCst);
    }

    /// The environment that gives the app the admin API (project URL and service key).
    pub fn admin_env(&self) -> Vec<(&'static str, String)> {
        vec![
            (
                "SUPABASE_URL",
                self.issuer.trim_end_matches("/auth/v1").to_owned(),
            ),
            ("SUPABASE_SERVICE_ROLE_KEY", SERVICE_ROLE_KEY.into()),
        ]
    }

    pub fn fetches(&self) -> usize {
        self.published.fetches.load(Ordering::SeqCst)
    }

    /// The environment that points the app at this server.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("SUPABASE_JWT_ISSUER", self.issuer.clone()),
            ("SUPABASE_JWT_JWKS_URL", self.jwks_url.clone()),
        ]
    }

    /// Claims exactly as Supabase Auth issues them, for a signed-in email user.
    pub fn claims(&self, user: Uuid) -> Value {
        let now = chrono::Utc::now().timestamp();
        json!({
            "iss": self.issuer,
            "sub": user,
            "aud": AUDIENCE,
            "exp": now + 3600,
            "iat": now,
            "email": format!("{}@example.com", &user.simple().to_string()[..8]),
            "phone": "",
            "app_metadata": {"provider": "email", "providers": ["email"]},
            "user_metadata": {"email_verified": true},
            "role": "authenticated",
            "aal": "aal1",
            "amr": [{"method": "password", "timestamp": now}],
            "session_id": Uuid::new_v4(),
            "is_anonymous": false
        })
    }

    /// A valid token for `user`, with `changes` merged into the claims (`null` removes one).
    pub fn token(&self, key: &SigningKey, user: Uuid, changes: Value) -> String {
        let mut claims = self.claims(user);
        for (k, v) in changes.as_object().unwrap() {
            if v.is_null() {
                claims.as_object_mut().unwrap().remove(k);
            } else {
                claims[k] = v.clone();
            }
        }
        key.sign(&claims)
    }
}

fn jwks(keys: &[&SigningKey]) -> Value {
    json!({ "keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>() })
}

/// Base64url without padding, as JWTs use it.
pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
