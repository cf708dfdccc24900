//! Object storage (Supabase Storage's S3 endpoint, or any S3-compatible store) through
//! aws-sdk-s3: presigned PUT/GET URLs so large files never pass through Cloud Run, plus
//! the few direct calls the service needs (HEAD, small PUTs, deletes). Built once at
//! start-up with path-style addressing, checksums only when required (S3-compatible
//! stores reject the SDK's default CRC32 headers) and short timeouts.

use std::time::Instant;

use crate::telemetry::metrics::{self, Upstream};
use std::time::{Duration, SystemTime};

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;

use crate::config::StorageSettings;
use crate::error::ApiError;

mod buckets;
mod objects;

pub use buckets::{
    BUCKETS, BucketRules, MACHINES, TUTORIALS, USER_UPLOADS, bucket, extension, own_folder_key,
    own_upload_key, staging_key,
};

/// One stored object, as a listing names it.
pub struct Listed {
    pub key: String,
    pub last_modified: Option<DateTime<Utc>>,
}

pub struct PresignedUrl {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub expires_at: DateTime<Utc>,
}

pub struct ObjectInfo {
    pub size: i64,
    pub content_type: Option<String>,
}

pub struct Storage {
    client: Client,
    public_base: String,
    signed_url_ttl: Duration,
}

fn unavailable(e: impl std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "storage call failed");
    ApiError::Unavailable("Storage is unavailable".into())
}

impl Storage {
    pub fn new(settings: &StorageSettings) -> Self {
        let credentials = Credentials::new(
            settings.access_key_id.clone(),
            settings.secret_access_key.expose_secret().to_owned(),
            None,
            None,
            "machinemate-config",
        );
        let timeouts = aws_sdk_s3::config::timeout::TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(3))
            .operation_attempt_timeout(Duration::from_secs(10))
            .operation_timeout(Duration::from_secs(20))
            .build();
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(settings.region.clone()))
            .endpoint_url(settings.endpoint.as_str().trim_end_matches('/'))
            .credentials_provider(credentials)
            .force_path_style(true)
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            .timeout_config(timeouts)
            .build();
        Storage {
            client: Client::from_conf(config),
            public_base: settings.public_url.trim_end_matches('/').to_owned(),
            signed_url_ttl: settings.signed_url_ttl,
        }
    }

    pub fn signed_url_ttl(&self) -> Duration {
        self.signed_url_ttl
    }

    fn presigning(&self) -> Result<(PresigningConfig, DateTime<Utc>), ApiError> {
        let now = SystemTime::now();
        let config = PresigningConfig::builder()
            .start_time(now)
            .expires_in(self.signed_url_ttl)
            .build()
            .map_err(|e| ApiError::Internal(e.into()))?;
        Ok((config, DateTime::<Utc>::from(now + self.signed_url_ttl)))
    }

    /// A URL that lets its holder PUT exactly this object, with this content type, until
    /// it expires.
    pub async fn presign_put(
        &self,
        bucket: &str,
        key: &str,
        content_type: &str,
    ) -> Result<PresignedUrl, ApiError> {
        let (config, expires_at) = self.presigning()?;
        let request = self
            .client
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type(content_type)
            .presigned(config)
            .await
            .map_err(|e| ApiError::Internal(e.into()))?;
        Ok(PresignedUrl {
            url: request.uri().to_owned(),
            headers: request
                .headers()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            expires_at,
        })
    }

    /// A short-lived URL to GET the object.
    pub async fn presign_get(&self, bucket: &str, key: &str) -> Result<PresignedUrl, ApiError> {
        let (config, expires_at) = self.presigning()?;
        let request = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .presigned(config)
            .await
            .map_err(|e| ApiError::Internal(e.into()))?;
        Ok(PresignedUrl {
            url: request.uri().to_owned(),
            headers: Vec::new(),
            expires_at,
        })
    }

    /// The plain URL of an object in a public bucket.
    pub fn public_url(&self, bucket: &str, key: &str) -> String {
        format!("{}/{bucket}/{key}", self.public_base)
    }

    /// Size and type of an object, or `None` when it does not exist.
    pub async fn head(&self, bucket: &str, key: &str) -> Result<Option<ObjectInfo>, ApiError> {
        let started = Instant::now();
        let found = self
            .client
            .head_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await;
        let missing =
            matches!(&found, Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()));
        metrics::upstream_call(Upstream::Storage, started, found.is_ok() || missing);
        match found {
            Ok(out) => Ok(Some(ObjectInfo {
                size: out.content_length().unwrap_or(0),
                content_type: out.content_type().map(str::to_owned),
            })),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(None),
            Err(e) => Err(unavailable(aws_sdk_s3::error::DisplayErrorContext(e))),
        }
    }

    pub async fn put(
        &self,
        bucket: &str,
        key: &str,
        body: actix_web::web::Bytes,
        content_type: &str,
    ) -> Result<(), ApiError> {
        self.client
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(body))
            .send()
            .counted()
            .await
            .map_err(|e| unavailable(aws_sdk_s3::error::DisplayErrorContext(e)))?;
        Ok(())
    }

    /// Deletes an object; deleting one that is not there succeeds.
    pub async fn delete(&self, bucket: &str, key: &str) -> Result<(), ApiError> {
        self.client
            .delete_object()
            .bucket(bucket)
            .key(key)
            .send()
            .counted()
            .await
            .map_err(|e| unavailable(aws_sdk_s3::error::DisplayErrorContext(e)))?;
        Ok(())
    }

    /// Deletes every object under `prefix` (an account's folder).
    pub async fn delete_prefix(&self, bucket: &str, prefix: &str) -> Result<usize, ApiError> {
        let mut deleted = 0;
        let mut token = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(bucket)
                .prefix(prefix)
                .set_continuation_token(token)
                .send()
                .counted()
                .await
                .map_err(|e| unavailable(aws_sdk_s3::error::DisplayErrorContext(e)))?;
            for object in page.contents() {
                if let Some(key) = object.key() {
                    self.delete(bucket, key).await?;
                    deleted += 1;
                }
            }
            match page.next_continuation_token() {
                Some(next) if page.is_truncated().unwrap_or(false) => token = Some(next.to_owned()),
                _ => return Ok(deleted),
            }
        }
    }
}

/// Counts an S3 call in the upstream metrics.
trait Counted: Future<Output = Result<Self::Ok, Self::Err>> + Sized {
    type Ok;
    type Err;
    async fn counted(self) -> Result<Self::Ok, Self::Err> {
        let started = Instant::now();
        let result = self.await;
        metrics::upstream_call(Upstream::Storage, started, result.is_ok());
        result
    }
}

impl<F: Future<Output = Result<T, E>>, T, E> Counted for F {
    type Ok = T;
    type Err = E;
}
