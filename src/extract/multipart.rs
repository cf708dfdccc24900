//! Reading one file field of a multipart body, with its size limit enforced while
//! reading (413), and a missing or empty field answered as a located 422.

use actix_multipart::Multipart;
use actix_web::web::{Bytes, BytesMut};
use futures_util::StreamExt;

use crate::error::{ApiError, ApiResult, ValidationIssue};

fn malformed(e: impl std::fmt::Display) -> ApiError {
    ApiError::BadRequest(format!("Malformed multipart body: {e}"))
}

/// The bytes of field `name` (other fields are drained and ignored).
pub async fn read_field(mut form: Multipart, name: &str, max_bytes: usize) -> ApiResult<Bytes> {
    let issue = |kind: &str, msg: String| {
        ApiError::Validation(vec![ValidationIssue::new(
            vec!["body".into(), name.into()],
            kind,
            msg,
        )])
    };
    while let Some(field) = form.next().await {
        let mut field = field.map_err(malformed)?;
        let wanted = field.name() == Some(name);
        let mut buffer = BytesMut::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(malformed)?;
            if wanted {
                if buffer.len() + chunk.len() > max_bytes {
                    return Err(ApiError::PayloadTooLarge(format!(
                        "The {name} is larger than {max_bytes} bytes"
                    )));
                }
                buffer.extend_from_slice(&chunk);
            }
        }
        if wanted {
            if buffer.is_empty() {
                return Err(issue("empty_file", format!("The {name} is empty")));
            }
            return Ok(buffer.freeze());
        }
    }
    Err(issue("missing", "Field required".into()))
}
