//! The cost of authenticating a request: a verified-token cache hit, and a full ES256
//! verification (signature + claims). Run with `cargo bench --bench auth`.
//!
//! The JWKS is served over real HTTP on loopback and fetched once before measuring, so
//! both figures are steady-state costs on the request path.

use std::net::TcpListener;
use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::{App, HttpResponse, HttpServer, web};
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use machinemate_api::auth::Verifier;
use machinemate_api::config::Settings;
use serde_json::json;

fn bench_auth(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();

    let der = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
        .unwrap()
        .to_pkcs8v1()
        .unwrap();
    let key = EncodingKey::from_ec_der(der.as_ref());
    let mut jwk = Jwk::from_encoding_key(&key, Algorithm::ES256).unwrap();
    jwk.common.key_id = Some("bench".into());
    let jwks = json!({ "keys": [jwk] });

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    rt.spawn(
        HttpServer::new(move || {
            let jwks = jwks.clone();
            App::new().route(
                "/auth/v1/.well-known/jwks.json",
                web::get().to(move || {
                    let jwks = jwks.clone();
                    async move { HttpResponse::Ok().json(jwks) }
                }),
            )
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run(),
    );

    let issuer = format!("http://127.0.0.1:{port}/auth/v1");
    let settings = Settings::from_lookup(|name| match name {
        "DATABASE_URL" => Some("postgres://unused@127.0.0.1/unused".into()),
        "SUPABASE_JWT_ISSUER" => Some(issuer.clone()),
        _ => None,
    })
    .unwrap();
    let verifier = Verifier::from_settings(&settings.supabase, reqwest::Client::new()).unwrap();

    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let claims = json!({
        "iss": issuer, "sub": uuid::Uuid::new_v4(), "aud": "authenticated",
        "exp": now + 3600, "iat": now, "email": "bench@example.com", "phone": "",
        "app_metadata": {"provider": "email", "providers": ["email"]}, "user_metadata": {},
        "role": "authenticated", "aal": "aal1", "amr": [{"method": "password", "timestamp": now}],
        "session_id": uuid::Uuid::new_v4(), "is_anonymous": false
    });
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some("bench".into());
    let token = jsonwebtoken::encode(&header, &claims, &key).unwrap();
    // Warm up: fetch the JWKS and fill the verified-token cache.
    rt.block_on(verifier.verify(&token))
        .expect("the bench token verifies");

    c.bench_function("auth/verified_token_cache_hit", |b| {
        b.iter(|| {
            rt.block_on(verifier.verify(std::hint::black_box(&token)))
                .unwrap()
        })
    });
    c.bench_function("auth/es256_full_verification", |b| {
        b.iter(|| {
            rt.block_on(verifier.verify_uncached(std::hint::black_box(&token)))
                .unwrap()
        })
    });
}

criterion_group!(benches, bench_auth);
criterion_main!(benches);
