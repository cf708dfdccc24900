//! The S3-compatible store that stands in for Supabase Storage, in the tests
//! (`tests/api/stand_ins/storage.rs`) and in `scripts/dev` (`main.rs` beside this file):
//! s3s-fs over a folder, one folder per bucket, checking SigV4 signatures (headers and
//! presigned URLs) against one access key. As on Supabase, objects of the public bucket
//! `machines` can be read without a signature; everything else needs one.

use std::path::Path;

use s3s::access::{S3Access, S3AccessContext};
use s3s::auth::SimpleAuth;
use s3s::path::S3Path;
use s3s::service::{S3Service, S3ServiceBuilder};
use s3s::{S3Result, s3_error};

use machinemate_api::storage::{BUCKETS, bucket};

/// The store over `root` (its bucket folders made when missing), accepting requests
/// signed with `access_key` and `secret_key`.
pub fn s3_service(root: &Path, access_key: &str, secret_key: &str) -> std::io::Result<S3Service> {
    for rules in BUCKETS {
        std::fs::create_dir_all(root.join(rules.name))?;
    }
    let fs = s3s_fs::FileSystem::new(root).map_err(|e| std::io::Error::other(format!("{e:?}")))?;
    let mut builder = S3ServiceBuilder::new(fs);
    builder.set_auth(SimpleAuth::from_single(access_key, secret_key));
    builder.set_access(PublicReads);
    Ok(builder.build())
}

/// Signed requests may do anything; unsigned ones may only read the public buckets'
/// objects (what a public URL does).
struct PublicReads;

#[async_trait::async_trait]
impl S3Access for PublicReads {
    async fn check(&self, cx: &mut S3AccessContext<'_>) -> S3Result<()> {
        if cx.credentials().is_some() {
            return Ok(());
        }
        let public = match cx.s3_path() {
            S3Path::Object { bucket: name, .. } => bucket(name).is_some_and(|b| b.public),
            _ => false,
        };
        let read = matches!(cx.s3_op().name(), "GetObject" | "HeadObject");
        if public && read {
            Ok(())
        } else {
            Err(s3_error!(AccessDenied, "Signature is required"))
        }
    }
}
