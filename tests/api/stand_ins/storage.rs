//! A real S3-compatible server for tests: the store `scripts/dev` runs too
//! (`examples/local_storage/service.rs`: s3s-fs checking SigV4 signatures, headers and
//! presigned URLs) over a temporary folder, with its own access key.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use actix_web::{HttpResponse, web};

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;

use super::StandIn;

#[path = "../../../examples/local_storage/service.rs"]
mod service;

pub const ACCESS_KEY: &str = "machinemate-test-access";
pub const SECRET_KEY: &str = "machinemate-test-secret-key-0123456789";

pub struct StorageServer {
    pub endpoint: String,
    pub root: PathBuf,
}

impl Drop for StorageServer {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

impl StorageServer {
    pub async fn start() -> StorageServer {
        let root = std::env::temp_dir().join(format!("mm-s3-{}", uuid::Uuid::new_v4().simple()));
        let service = service::s3_service(&root, ACCESS_KEY, SECRET_KEY).unwrap();
        let server = StandIn::tcp(move |socket| {
            let service = service.clone();
            async move {
                let _ = ConnBuilder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(socket), service)
                    .await;
            }
        })
        .await;
        let endpoint = server.url("");
        StorageServer { endpoint, root }
    }

    /// The environment that points the app at this server.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("STORAGE_S3_ENDPOINT", self.endpoint.clone()),
            ("STORAGE_S3_REGION", "us-east-1".into()),
            ("STORAGE_S3_ACCESS_KEY_ID", ACCESS_KEY.into()),
            ("STORAGE_S3_SECRET_ACCESS_KEY", SECRET_KEY.into()),
        ]
    }

    pub fn object_exists(&self, bucket: &str, path: &str) -> bool {
        self.root.join(bucket).join(path).exists()
    }
}

/// An S3 endpoint that answers every call with a 503 (a storage outage behind a live load
/// balancer), counting the calls.
pub struct FailingStorage {
    pub endpoint: String,
    calls: Arc<AtomicUsize>,
}

impl FailingStorage {
    pub fn start() -> FailingStorage {
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = calls.clone();
        let server = StandIn::http(1, move |cfg| {
            let counted = counted.clone();
            cfg.default_service(web::to(move || {
                counted.fetch_add(1, Ordering::SeqCst);
                async {
                    HttpResponse::ServiceUnavailable()
                        .content_type("application/xml")
                        .body("<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>")
                }
            }));
        });
        FailingStorage {
            endpoint: server.url(""),
            calls,
        }
    }

    /// The calls that reached it.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}
