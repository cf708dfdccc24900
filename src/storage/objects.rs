//! What housekeeping and upload checks ask of storage besides the basics: a server-side
//! copy, an object's first bytes, and pages of a bucket's keys.

use aws_sdk_s3::types::MetadataDirective;
use chrono::DateTime;

use super::{Counted, Listed, Storage, unavailable};
use crate::error::ApiError;

impl Storage {
    /// Copies `from` to `to` inside `bucket` on the server (no bytes pass through the
    /// service), recording `content_type` on the copy.
    pub async fn copy(
        &self,
        bucket: &str,
        from: &str,
        to: &str,
        content_type: &str,
    ) -> Result<(), ApiError> {
        self.client
            .copy_object()
            .bucket(bucket)
            .copy_source(format!("{bucket}/{from}"))
            .key(to)
            .metadata_directive(MetadataDirective::Replace)
            .content_type(content_type)
            .send()
            .counted()
            .await
            .map_err(|e| unavailable(aws_sdk_s3::error::DisplayErrorContext(e)))?;
        Ok(())
    }

    /// Up to `len` first bytes of an object (empty when it has none).
    pub async fn first_bytes(
        &self,
        bucket: &str,
        key: &str,
        len: usize,
    ) -> Result<Vec<u8>, ApiError> {
        let out = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .range(format!("bytes=0-{}", len.max(1) - 1))
            .send()
            .counted()
            .await
            .map_err(|e| unavailable(aws_sdk_s3::error::DisplayErrorContext(e)))?;
        let bytes = out
            .body
            .collect()
            .await
            .map_err(|e| unavailable(format!("reading an object: {e}")))?;
        let mut bytes = bytes.into_bytes().to_vec();
        bytes.truncate(len);
        Ok(bytes)
    }

    /// Up to `max` keys of `bucket` after `start_after`, in key order.
    pub async fn list_after(
        &self,
        bucket: &str,
        start_after: Option<&str>,
        max: i32,
    ) -> Result<Vec<Listed>, ApiError> {
        let page = self
            .client
            .list_objects_v2()
            .bucket(bucket)
            .set_start_after(start_after.map(str::to_owned))
            .max_keys(max)
            .send()
            .counted()
            .await
            .map_err(|e| unavailable(aws_sdk_s3::error::DisplayErrorContext(e)))?;
        Ok(page
            .contents()
            .iter()
            .filter_map(|object| {
                Some(Listed {
                    key: object.key()?.to_owned(),
                    last_modified: object
                        .last_modified()
                        .and_then(|t| DateTime::from_timestamp(t.secs(), t.subsec_nanos())),
                })
            })
            .collect())
    }
}
