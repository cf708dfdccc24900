"""A subset of the Cloud Logging query language, evaluated as Cloud Logging does, and
the log-based metrics' extractors (entries: cloud_run_log.log_entry).

Enough to hold the Terraform's filters, label extractors and Logs Explorer queries
against the lines the real binary writes (scripts/fault-drill). The subset, following
https://cloud.google.com/logging/docs/view/logging-query-language:

* comparisons FIELD OP VALUE with OP one of = != < <= > >= : =~ !~, and FIELD:* (present);
* VALUE a double-quoted string, a number or bare word, or a parenthesised OR/AND of
  values (`route=("/a" OR "/b")` applies the comparison to each);
* NOT (or a leading -), OR and AND, with Cloud Logging's precedence: NOT binds tightest,
  then OR, then AND (`a OR b AND c` is `(a OR b) AND c`); comparisons side by side are
  ANDed; parentheses; `--` comments;
* field paths of LogEntry (severity, logName, trace, resource.*, httpRequest.*, labels.*,
  jsonPayload.*), segments optionally double-quoted;
* types as Cloud Logging infers them: jsonPayload numbers are doubles, strings compare
  ignoring case (NFKC case folding) except in regular expressions, severity compares by
  its LogSeverity rank; a comparison on a missing field is false (so NOT of it is true,
  and != on it is false);
* regular expressions are searched, not anchored, with Python's `re` (RE2 syntax that
  both share: classes, anchors, alternation, repetition);
* extractors EXTRACT(field) and REGEXP_EXTRACT(field, "re") (one capture group).

Anything else (global restrictions, functions such as SEARCH or log_id, timestamp or
duration comparisons) raises Unsupported: a filter outside the subset fails the drill
rather than passing unchecked.
"""

from __future__ import annotations

import json
import re
import unicodedata

SEVERITIES = {"DEFAULT": 0, "DEBUG": 100, "INFO": 200, "NOTICE": 300, "WARNING": 400,
              "ERROR": 500, "CRITICAL": 600, "ALERT": 700, "EMERGENCY": 800}
MISSING = object()


class Unsupported(ValueError):
    """A query outside the subset this module evaluates."""


# --- Tokens and parsing ------------------------------------------------------------

TOKEN = re.compile(r"""
    (?P<ws>\s+|--[^\n]*)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<op>=~|!~|!=|<=|>=|=|<|>|:\*|:)
  | (?P<paren>[()])
  | (?P<comma>,)
  | (?P<word>[^\s()"=<>!:,~]+)
""", re.X)


def tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if not m:
            raise Unsupported(f"cannot read {text[pos:pos + 20]!r}")
        pos = m.end()
        kind = m.lastgroup
        if kind != "ws":
            out.append((kind, m.group()))
    return out


def unquote(text: str) -> str:
    return re.sub(r'\\(.)', lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), text[1:-1])


class Parser:
    """Builds a tree: ("and"|"or", [..]), ("not", x), ("cmp", path, op, value-tree)."""

    def __init__(self, text: str):
        self.toks = tokens(text)
        self.i = 0

    def peek(self, offset=0):
        j = self.i + offset
        return self.toks[j] if j < len(self.toks) else (None, None)

    def take(self):
        tok = self.peek()
        self.i += 1
        return tok

    def parse(self):
        tree = self.conjunction(self.term)
        if self.peek()[0] is not None:
            raise Unsupported(f"unexpected {self.peek()[1]!r}")
        return tree

    def conjunction(self, term):  # AND (explicit or side by side): the loosest
        items = [self.disjunction(term)]
        while self.peek()[0] is not None and self.peek() != ("paren", ")"):
            if self.peek() == ("word", "AND"):
                self.take()
            items.append(self.disjunction(term))
        return items[0] if len(items) == 1 else ("and", items)

    def disjunction(self, term):  # OR binds tighter than AND
        items = [self.negation(term)]
        while self.peek() == ("word", "OR"):
            self.take()
            items.append(self.negation(term))
        return items[0] if len(items) == 1 else ("or", items)

    def negation(self, term):  # NOT binds tightest
        if self.peek() == ("word", "NOT"):
            self.take()
            return ("not", self.negation(term))
        kind, text = self.peek()
        if kind == "word" and text.startswith("-") and len(text) > 1:
            self.toks[self.i] = ("word", text[1:])
            return ("not", self.negation(term))
        return term()

    def group(self, term):
        self.take()
        tree = self.conjunction(term)
        if self.take() != ("paren", ")"):
            raise Unsupported("unbalanced parentheses")
        return tree

    def term(self):
        if self.peek() == ("paren", "("):
            return self.group(self.term)
        kind, path = self.take()
        # A quoted segment (labels."a/b") arrives as a string token after the dot.
        while kind == "word" and path.endswith(".") and self.peek()[0] == "string":
            path += self.take()[1]
        if kind != "word" or self.peek()[0] != "op":
            raise Unsupported(f"only FIELD OP VALUE comparisons are supported (no global "
                              f"restrictions or functions), not {path!r}")
        op = self.take()[1]
        if op == ":*":
            return ("cmp", field_path(path), ":*", None)
        return ("cmp", field_path(path), op, self.value())

    def value(self):
        if self.peek() == ("paren", "("):
            return self.group(self.value)
        kind, text = self.take()
        if kind == "string":
            return ("lit", unquote(text))
        if kind == "word" and text not in ("AND", "OR", "NOT"):
            return ("lit", text)
        raise Unsupported(f"expected a value, found {text!r}")


def field_path(text: str) -> tuple[str, ...]:
    parts = re.findall(r'"((?:[^"\\]|\\.)*)"|([^."]+)', text)
    path = tuple(unquote(f'"{q}"') if q else w for q, w in parts)
    if not path or path[0] not in ("severity", "logName", "trace", "spanId", "resource", "httpRequest",
                                   "labels", "jsonPayload", "timestamp", "insertId"):
        raise Unsupported(f"not a LogEntry field: {text}")
    if path[0] == "timestamp":
        raise Unsupported("timestamp comparisons are not supported")
    return path


def fields_of(tree) -> set[tuple[str, ...]]:
    """Every field path a parsed query names."""
    if tree[0] in ("and", "or"):
        return set().union(*(fields_of(t) for t in tree[1]))
    if tree[0] == "not":
        return fields_of(tree[1])
    return {tree[1]}


def parse(text: str):
    return Parser(text).parse()


# --- Evaluation --------------------------------------------------------------------

def lookup(entry: dict, path: tuple[str, ...]):
    value = entry
    for part in path:
        if not isinstance(value, dict) or part not in value:
            return MISSING
        value = value[part]
    return value


def fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def compare(field, path, op: str, rhs: str) -> bool:
    if field is MISSING or field is None:
        return False
    if op in ("=~", "!~"):
        found = re.search(rhs, field if isinstance(field, str) else json.dumps(field)) is not None
        return found if op == "=~" else not found
    if path == ("severity",):
        left = SEVERITIES.get(str(field).upper(), 0)
        right = SEVERITIES.get(rhs.upper()) if not rhs.lstrip("-").isdigit() else int(rhs)
        if right is None:
            return False
    elif isinstance(field, bool):
        if rhs.lower() not in ("true", "false"):
            return False
        left, right = field, rhs.lower() == "true"
    elif isinstance(field, (int, float)):
        try:
            left, right = float(field), float(rhs)
        except ValueError:
            return False
    elif isinstance(field, str):
        left, right = fold(field), fold(rhs)
    else:
        return False  # objects and arrays: outside the subset's values
    if op == ":":
        return right in left if isinstance(left, str) else left == right
    return {"=": left == right, "!=": left != right, "<": left < right, "<=": left <= right,
            ">": left > right, ">=": left >= right}[op]


def evaluate(tree, entry: dict) -> bool:
    kind = tree[0]
    if kind == "and":
        return all(evaluate(t, entry) for t in tree[1])
    if kind == "or":
        return any(evaluate(t, entry) for t in tree[1])
    if kind == "not":
        return not evaluate(tree[1], entry)
    _, path, op, value = tree
    field = lookup(entry, path)
    if op == ":*":
        return field is not MISSING
    return values_match(value, lambda rhs: compare(field, path, op, rhs))


def values_match(value, test) -> bool:
    if value[0] == "lit":
        return test(value[1])
    if value[0] == "and":
        return all(values_match(v, test) for v in value[1])
    if value[0] == "or":
        return any(values_match(v, test) for v in value[1])
    if value[0] == "not":
        return not values_match(value[1], test)
    raise Unsupported(f"value {value!r}")


def matches(query: str, entry: dict) -> bool:
    return evaluate(parse(query), entry)


# --- Extractors --------------------------------------------------------------------

EXTRACTOR = re.compile(r'^\s*(EXTRACT|REGEXP_EXTRACT)\(\s*([^,\s)]+)\s*(?:,\s*("(?:[^"\\]|\\.)*")\s*)?\)\s*$')


def extractor_field(extractor: str) -> tuple[str, ...]:
    m = EXTRACTOR.match(extractor)
    if not m:
        raise Unsupported(f"not an extractor: {extractor}")
    return field_path(m.group(2))


def extract(extractor: str, entry: dict):
    """The extractor's value for `entry` as a string, or None when it yields nothing."""
    m = EXTRACTOR.match(extractor)
    if not m:
        raise Unsupported(f"not an extractor: {extractor}")
    field = lookup(entry, field_path(m.group(2)))
    if field is MISSING or field is None:
        return None
    if isinstance(field, bool):
        text = "true" if field else "false"
    elif isinstance(field, float) and field.is_integer():
        text = str(int(field))
    else:
        text = field if isinstance(field, str) else json.dumps(field)
    if m.group(1) == "REGEXP_EXTRACT":
        pattern = re.compile(unquote(m.group(3)))
        if pattern.groups != 1:
            raise Unsupported("REGEXP_EXTRACT needs exactly one capture group")
        found = pattern.search(text)
        return found.group(1) if found else None
    return text
