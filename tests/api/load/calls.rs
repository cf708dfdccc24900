//! The client's tools: a reproducible random choice, and one HTTP call, timed and
//! checked against the statuses expected (anything else is tallied as an error).

use std::time::Instant;

use reqwest::{Method, StatusCode};
use serde_json::Value;

/// xorshift: reproducible per client, no dependency.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[derive(Default)]
pub struct Tally {
    pub requests: u64,
    pub errors: Vec<String>,
    /// When each answered request started, and how long it took (ms).
    pub latencies_ms: Vec<(Instant, u32)>,
}

pub struct Run<'a> {
    pub http: &'a reqwest::Client,
    pub base: &'a str,
    pub token: &'a str,
    pub tally: Tally,
}

impl Run<'_> {
    pub async fn call(
        &mut self,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, String)],
        expected: &[StatusCode],
    ) -> Option<(StatusCode, reqwest::header::HeaderMap, Value)> {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .bearer_auth(self.token);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let started = Instant::now();
        let result = request.send().await;
        self.tally.requests += 1;
        let response = match result {
            Ok(response) => response,
            Err(e) => {
                // The whole chain (a reset, a timeout, a refused connection) and when.
                let mut chain = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(cause) = source {
                    chain.push_str(&format!(": {cause}"));
                    source = cause.source();
                }
                self.tally.errors.push(format!(
                    "{method} {path}: {chain} (after {:?})",
                    started.elapsed()
                ));
                return None;
            }
        };
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.unwrap_or_default();
        self.tally.latencies_ms.push((
            started,
            started.elapsed().as_millis().min(u32::MAX.into()) as u32,
        ));
        if !expected.contains(&status) {
            self.tally.errors.push(format!(
                "{method} {path}: {status} {}",
                String::from_utf8_lossy(&bytes)
            ));
            return None;
        }
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Some((status, headers, body))
    }
}
