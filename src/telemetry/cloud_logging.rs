//! One JSON object per line, in the shape Cloud Logging reads from stdout:
//! `severity`, `message`, `timestamp`, and `logging.googleapis.com/trace` (+ `spanId`,
//! `trace_sampled`) tied to Cloud Trace when the project id is known.
//!
//! Written here rather than taken from `tracing-stackdriver`: that crate only links
//! logs to traces through OpenTelemetry, which this service does not otherwise need.

use std::fmt;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::{JsonFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

pub struct CloudLoggingFormat {
    project: Option<String>,
}

impl CloudLoggingFormat {
    pub fn new(project: Option<String>) -> Self {
        CloudLoggingFormat { project }
    }
}

/// Request span fields that become `httpRequest` members.
const HTTP_DETAILS: &[(&str, &str)] = &[
    ("request_url", "requestUrl"),
    ("user_agent", "userAgent"),
    ("remote_ip", "remoteIp"),
    ("protocol", "protocol"),
    ("request_size", "requestSize"),
    ("response_size", "responseSize"),
];

/// Cloud Logging's `HttpRequest` (sizes as decimal strings, latency as "1.234s").
fn http_request(line: &Map<String, Value>, details: Vec<(&str, Option<Value>)>) -> Value {
    let mut request = Map::new();
    if let Some(method) = line.get("method") {
        request.insert("requestMethod".into(), method.clone());
    }
    if let Some(status) = line.get("status") {
        request.insert("status".into(), status.clone());
    }
    if let Some(ms) = line.get("latency_ms").and_then(Value::as_f64) {
        request.insert(
            "latency".into(),
            Value::from(format!("{:.6}s", ms / 1000.0)),
        );
    }
    for (field, value) in details {
        let Some(value) = value else { continue };
        let name = HTTP_DETAILS
            .iter()
            .find(|(f, _)| *f == field)
            .map_or(field, |(_, n)| n);
        let value = match value {
            Value::Number(n) => Value::from(n.to_string()),
            other => other,
        };
        request.insert(name.into(), value);
    }
    Value::Object(request)
}

fn severity(level: &Level) -> &'static str {
    match *level {
        Level::ERROR => "ERROR",
        Level::WARN => "WARNING",
        Level::INFO => "INFO",
        Level::DEBUG | Level::TRACE => "DEBUG",
    }
}

/// Collects an event's fields as JSON values.
struct JsonVisitor<'a>(&'a mut Map<String, Value>);

impl Visit for JsonVisitor<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().into(), Value::from(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), Value::from(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), Value::from(value));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.0
            .insert(field.name().into(), Value::from(value.to_string()));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().into(), Value::from(format!("{value:?}")));
    }
}

impl<S> FormatEvent<S, JsonFields> for CloudLoggingFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, JsonFields>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        let mut line = Map::new();
        line.insert(
            "timestamp".into(),
            Value::from(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
        );
        line.insert("severity".into(), Value::from(severity(meta.level())));

        // Span fields first (root to leaf), so the request's ids reach every line.
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                let extensions = span.extensions();
                if let Some(fields) = extensions.get::<FormattedFields<JsonFields>>()
                    && let Ok(Value::Object(map)) = serde_json::from_str::<Value>(&fields.fields)
                {
                    line.extend(map);
                }
            }
        }
        let mut fields = Map::new();
        event.record(&mut JsonVisitor(&mut fields));
        let message = fields.remove("message").unwrap_or(Value::from(""));
        let request_log = fields.remove("request_log").is_some();
        line.extend(fields);
        line.insert("message".into(), message);
        // The request's details go into Cloud Logging's `httpRequest`, on the one line
        // that ends the request; other lines keep only its ids and route.
        let details: Vec<(&str, Option<Value>)> = HTTP_DETAILS
            .iter()
            .map(|&(field, _)| (field, line.remove(field)))
            .collect();
        if request_log {
            line.insert("httpRequest".into(), http_request(&line, details));
        }
        line.insert("target".into(), Value::from(meta.target()));

        if let Some(project) = &self.project
            && let Some(Value::String(trace_id)) = line.get("trace_id")
        {
            let trace = format!("projects/{project}/traces/{trace_id}");
            line.insert("logging.googleapis.com/trace".into(), Value::from(trace));
            if let Some(Value::String(span)) = line.get("parent_span_id") {
                let span = span.clone();
                line.insert("logging.googleapis.com/spanId".into(), Value::from(span));
            }
            if let Some(Value::Bool(sampled)) = line.get("trace_sampled") {
                let sampled = *sampled;
                line.insert(
                    "logging.googleapis.com/trace_sampled".into(),
                    Value::from(sampled),
                );
            }
        }

        let text = serde_json::to_string(&line).map_err(|_| fmt::Error)?;
        writeln!(writer, "{text}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;
    use std::sync::{Arc, Mutex};
    use tracing_subscriber::fmt::MakeWriter;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buffer {
        type Writer = Buffer;
        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    fn capture(project: Option<&str>, f: impl FnOnce()) -> Vec<Value> {
        let buffer = Buffer::default();
        let subscriber = tracing_subscriber::fmt()
            .fmt_fields(JsonFields::new())
            .event_format(CloudLoggingFormat::new(project.map(str::to_owned)))
            .with_writer(buffer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, f);
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn lines_carry_severity_message_and_the_cloud_trace() {
        let lines = capture(Some("my-project"), || {
            let span = tracing::info_span!(
                "request",
                trace_id = "4bf92f3577b34da6a3ce929d0e0e4736",
                parent_span_id = "42",
                trace_sampled = true
            );
            let _guard = span.enter();
            tracing::warn!(status = 503_u64, "request completed");
        });
        assert_eq!(lines.len(), 1);
        let line = &lines[0];
        assert_eq!(line["severity"], "WARNING");
        assert_eq!(line["message"], "request completed");
        assert_eq!(line["status"], 503);
        assert_eq!(
            line["logging.googleapis.com/trace"],
            "projects/my-project/traces/4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(line["logging.googleapis.com/spanId"], "42");
        assert_eq!(line["logging.googleapis.com/trace_sampled"], true);
        assert!(line["timestamp"].as_str().unwrap().ends_with('Z'));
    }

    #[test]
    fn the_request_line_carries_http_request_and_other_lines_do_not() {
        let lines = capture(Some("p"), || {
            let span = tracing::info_span!(
                "request",
                trace_id = "t1",
                method = "GET",
                request_url = "/api/v1/machines?page=2",
                user_agent = "MachineMate/1.0",
                remote_ip = "203.0.113.9",
                protocol = "HTTP/1.1",
                request_size = tracing::field::Empty,
                response_size = 512_u64,
                status = 200_u64,
                latency_ms = 12.5_f64,
            );
            let _guard = span.enter();
            tracing::info!("inside");
            tracing::info!(request_log = true, "request completed");
        });
        assert!(lines[0].get("httpRequest").is_none());
        assert!(lines[0].get("user_agent").is_none());
        let request = &lines[1]["httpRequest"];
        assert_eq!(request["requestMethod"], "GET");
        assert_eq!(request["requestUrl"], "/api/v1/machines?page=2");
        assert_eq!(request["status"], 200);
        assert_eq!(request["latency"], "0.012500s");
        assert_eq!(request["responseSize"], "512");
        assert_eq!(request["userAgent"], "MachineMate/1.0");
        assert_eq!(request["remoteIp"], "203.0.113.9");
        assert_eq!(request["protocol"], "HTTP/1.1");
        assert!(lines[1].get("request_log").is_none());
    }

    #[test]
    fn without_a_project_there_is_no_trace_link() {
        let lines = capture(None, || {
            let span = tracing::info_span!("request", trace_id = "abc");
            let _guard = span.enter();
            tracing::error!("boom");
        });
        assert_eq!(lines[0]["severity"], "ERROR");
        assert_eq!(lines[0]["trace_id"], "abc");
        assert!(lines[0].get("logging.googleapis.com/trace").is_none());
    }
}
