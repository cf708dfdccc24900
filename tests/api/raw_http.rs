//! HTTP/1.1 spoken over a raw socket: for requests an HTTP client would change (dot
//! segments, missing headers, slow or broken bodies) and for sending exactly the headers
//! another client sends (the shipped app's, in `app_compat/`).

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{ErrorAnswer, TestApp};

/// A response read off a raw socket: status, lower-cased head, body.
pub struct Raw {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
}

impl Raw {
    /// The JSON error envelope (`helpers::ErrorAnswer::check`) with this status and code.
    pub fn assert_envelope(&self, status: u16, code: &str) -> ErrorAnswer {
        assert_eq!(self.status, status, "{}", self.head);
        let mut headers = HeaderMap::new();
        for line in self.head.lines().skip(1) {
            if let Some((name, value)) = line.split_once(':') {
                headers.append(
                    HeaderName::from_bytes(name.trim().as_bytes()).unwrap(),
                    HeaderValue::from_bytes(value.trim().as_bytes()).unwrap(),
                );
            }
        }
        let answer = ErrorAnswer::check(self.status, headers, &self.body);
        assert_eq!(answer.code, code, "{}", answer.body);
        answer
    }
}

/// Sends `request` as raw bytes and reads the answer (the server closes or sends
/// Content-Length; both are handled).
pub async fn raw(app: &TestApp, request: &[u8]) -> Raw {
    let addr = app.address.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).await.unwrap();
    // The server may answer (and close) before the whole request is written.
    let _ = stream.write_all(request).await;
    read_response(&mut stream).await
}

pub async fn read_response<R: AsyncRead + Unpin>(stream: &mut R) -> Raw {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = tokio::time::timeout(Duration::from_secs(15), stream.read(&mut chunk))
            .await
            .expect("the server answers")
            .unwrap_or(0);
        assert!(
            n > 0,
            "connection closed without an answer: {:?}",
            String::from_utf8_lossy(&buffer)
        );
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).to_lowercase();
    let status = head[9..12].parse().unwrap();
    let mut body = buffer[head_end + 4..].to_vec();
    let mut read_more = async |body: &mut Vec<u8>| {
        let n = tokio::time::timeout(Duration::from_secs(15), stream.read(&mut chunk))
            .await
            .expect("the body arrives")
            .unwrap();
        assert!(n > 0, "body cut short");
        body.extend_from_slice(&chunk[..n]);
    };
    if head.contains("\r\ntransfer-encoding: chunked") {
        while !body.ends_with(b"0\r\n\r\n") {
            read_more(&mut body).await;
        }
        body = dechunk(&body);
    } else {
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .map_or(0, |v| v.trim().parse().unwrap());
        while body.len() < length {
            read_more(&mut body).await;
        }
    }
    Raw { status, head, body }
}

/// The payload of a chunked body (chunk extensions and trailers are not expected).
fn dechunk(mut chunked: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = chunked
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("a chunk size line");
        let size = usize::from_str_radix(std::str::from_utf8(&chunked[..line_end]).unwrap(), 16)
            .expect("a hexadecimal chunk size");
        if size == 0 {
            return out;
        }
        let start = line_end + 2;
        out.extend_from_slice(&chunked[start..start + size]);
        chunked = &chunked[start + size + 2..];
    }
}
