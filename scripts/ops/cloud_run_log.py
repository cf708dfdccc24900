"""What Cloud Run makes of a JSON line its container writes on stdout: a LogEntry whose
severity, httpRequest, timestamp and logging.googleapis.com/* fields are taken out of
the payload, and whose jsonPayload is the rest, `message` included."""

from __future__ import annotations

SPECIAL = {
    "logging.googleapis.com/trace": "trace",
    "logging.googleapis.com/spanId": "spanId",
    "logging.googleapis.com/trace_sampled": "traceSampled",
    "logging.googleapis.com/labels": "labels",
    "logging.googleapis.com/insertId": "insertId",
    "logging.googleapis.com/sourceLocation": "sourceLocation",
}


def log_entry(line: dict, service: str, project: str = "drill-project") -> dict:
    """The LogEntry a JSON stdout line becomes on Cloud Run: severity, httpRequest,
    timestamp and the logging.googleapis.com/* fields leave the payload; the rest
    (message included) is jsonPayload."""
    payload = dict(line)
    entry = {
        "logName": f"projects/{project}/logs/run.googleapis.com%2Fstdout",
        "resource": {"type": "cloud_run_revision", "labels": {
            "service_name": service, "revision_name": f"{service}-00001-drl",
            "configuration_name": service, "location": "us-central1", "project_id": project}},
        "severity": str(payload.pop("severity", "DEFAULT")).upper(),
    }
    for key in ("timestamp", "time"):
        if key in payload:
            entry["timestamp"] = payload.pop(key)
    if isinstance(payload.get("httpRequest"), dict):
        entry["httpRequest"] = payload.pop("httpRequest")
    for key, name in SPECIAL.items():
        if key in payload:
            entry[name] = payload.pop(key)
    entry["jsonPayload"] = payload
    return entry
