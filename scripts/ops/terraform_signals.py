"""What terraform/ asks Cloud Logging and Cloud Monitoring to watch, read with
python-hcl2 for the fault drill: every log-based metric's filter and extractors, every
alert policy's documentation (its Logs Explorer query), and the label values the
symptom alerts count.

HCL is read, not run: string literals are unescaped and `${...}` references to locals,
variables, `each.key` and `each.value.*` are resolved; any other expression raises, so
a construct this reader does not follow fails the drill instead of being skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import hcl2

REF = re.compile(r"\$\{([^{}]+)\}")


class Unreadable(ValueError):
    """An HCL expression this reader does not evaluate."""


@dataclass
class LogMetric:
    key: str
    name: str
    filter: str
    labels: dict[str, str]
    value: str | None


@dataclass
class Alert:
    key: str  # the alert_docs key its documentation comes from
    policies: list[str] = field(default_factory=list)
    query: str = ""
    metric: str | None = None  # a symptom alert's log-based metric
    label_values: dict[str, str] = field(default_factory=dict)


def literal(text):
    """An HCL string literal as python-hcl2 leaves it ('"a \\"b\\""'), unescaped."""
    if isinstance(text, str) and len(text) >= 2 and text[0] == text[-1] == '"':
        return re.sub(r'\\(.)', lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), text[1:-1])
    return text


class Terraform:
    def __init__(self, directory: Path, variables: dict[str, str]):
        self.locals: dict = {}
        self.variables: dict = {}
        self.resources: dict[tuple[str, str], dict] = {}
        for path in sorted(directory.glob("*.tf")):
            with path.open() as f:
                doc = hcl2.load(f)
            for block in doc.get("locals", []):
                self.locals.update({k: v for k, v in block.items() if not k.startswith("__")})
            for block in doc.get("variable", []):
                for name, body in block.items():
                    if "default" in body:
                        self.variables[literal(name)] = body["default"]
            for block in doc.get("resource", []):
                for rtype, named in block.items():
                    for name, body in named.items():
                        self.resources[(literal(rtype), literal(name))] = body
        self.variables.update(variables)

    def value(self, path: str, each: tuple[str, dict] | None = None):
        """`local.a["k"].b`, `var.x`, `each.key`, `each.value.y`."""
        parts = re.findall(r'\["([^"]+)"\]|\.?([A-Za-z_][\w-]*)', path.strip())
        names = [quoted or bare for quoted, bare in parts]
        if names[0] == "local":
            node, rest = self.locals, names[1:]
        elif names[0] == "var":
            node, rest = self.variables, names[1:]
        elif names[0] == "each" and each is not None:
            if names[1:] == ["key"]:
                return each[0]
            node, rest = each[1], names[2:]
        else:
            raise Unreadable(f"cannot evaluate ${{{path}}}")
        for name in rest:
            if not isinstance(node, dict) or name not in node:
                raise Unreadable(f"${{{path}}}: no {name}")
            node = node[name]
        return self.resolve(node, each)

    def resolve(self, text, each=None):
        """A literal with its `${...}` references replaced (a lone reference keeps its type)."""
        if not isinstance(text, str):
            return text
        whole = REF.fullmatch(text)
        if whole:
            return self.value(whole.group(1), each)
        return REF.sub(lambda m: str(self.value(m.group(1), each)), literal(text))

    def of_type(self, rtype: str):
        return {name: body for (t, name), body in self.resources.items() if t == rtype}

    def instances(self, body: dict):
        """(each, body) for every instance of a resource: its for_each entries, or one."""
        if "for_each" not in body:
            return [(None, body)]
        entries = self.resolve(body["for_each"])
        if not isinstance(entries, dict):
            raise Unreadable(f"for_each = {body['for_each']} is not a map")
        return [((key, value), body) for key, value in entries.items()]

    def log_metrics(self) -> list[LogMetric]:
        out = []
        for name, body in self.of_type("google_logging_metric").items():
            for each, b in self.instances(body):
                key = each[0] if each else name
                labels = self.resolve(b.get("label_extractors", {}), each) or {}
                out.append(LogMetric(
                    key=key,
                    name=self.resolve(b["name"], each),
                    filter=self.resolve(b["filter"], each),
                    labels={k: self.resolve(v, each) for k, v in labels.items()},
                    value=self.resolve(b.get("value_extractor"), each),
                ))
        return out

    def alerts(self) -> dict[str, Alert]:
        """Alert documentation keys => the policies using it, its query, and (for a
        symptom alert) the log-based metric and label values it counts. A policy
        without documentation from local.alert_documentation raises."""
        docs = self.locals.get("alert_docs", {})
        alerts = {key: Alert(key=key, query=self.resolve(doc["query"])) for key, doc in docs.items()}
        for name, body in self.of_type("google_monitoring_alert_policy").items():
            for each, b in self.instances(body):
                content = (b.get("documentation") or [{}])[0].get("content", "")
                m = re.fullmatch(r"\$\{local\.alert_documentation\[(.+)\]\}", str(content))
                if not m:
                    raise Unreadable(f"alert policy {name} has no documentation from local.alert_documentation")
                ref = m.group(1)
                key = literal(ref) if ref.startswith('"') else self.value(ref, each)
                if key not in alerts:
                    raise Unreadable(f"alert policy {name}: no alert_docs entry {key!r}")
                alert = alerts[key]
                alert.policies.append(f"{name}[{each[0]}]" if each else name)
                if each and "each.value.metric" in str(b) and isinstance(each[1], dict):
                    alert.metric = self.resolve(each[1].get("metric"))
                    alert.label_values = {k: self.resolve(v) for k, v in (each[1].get("labels") or {}).items()}
        return alerts
