#!/usr/bin/env python3
"""Fails on any path named in the docs, the scripts or code comments that does not exist.

Run by scripts/check-infra; its rules are unit-tested in scripts/tests/test_path_check.py.

What is read (tracked files and new ones git does not ignore):
  * Markdown (README.md, docs/, the READMEs beside code; not CHANGELOG.md, which names
    paths as they were then): prose, inline code and link text
    are prose; fenced blocks are code. A link's target is taken from the file's own
    folder, as Markdown does, and a #fragment naming a Markdown file must be one of its
    headings (GitHub's anchors).
  * Scripts (scripts/, bench/'s scripts, .ci/run, .github/workflows/, Dockerfile): the
    whole text; comments are prose, the rest is code.
  * Source (src/, tests/, examples/, bench/*.rs, supabase/, terraform/, clients/, the
    TOML and YAML settings): comments only, as prose.

What is a path. Text is split into words at white space, quotes, backticks, brackets,
`|`, `,`, `;` and `=`; a word loses a `::item` or `:line` suffix, a `#fragment`, a
trailing `'s` and the punctuation around it. Then:
  * never a path: a URL; an absolute path (a route such as /api/v1/machines, /tmp/x); an
    option (-x); a word with a placeholder, a glob or a variable in it ({user_id}/...,
    <cursor>, *, $VAR, ..., …) or an @ (npm scopes, model names);
  * a word whose first part is a top-level folder of the repository (src/, tests/,
    bench/, supabase/, terraform/, .github/, clients/, scripts/, docs/, examples/, .ci/,
    .cargo/) or the Dockerfile: it must exist, exactly (file or folder);
  * in prose only, any other word whose last part has a source file's extension (.rs,
    .md, .sql, ...): some file's path must end with it (`db/rls.rs`, `pinning.rs`),
    or, when it starts with ./ or ../, it is taken from the naming file's folder;
  * what git ignores (.local/, target/, bench/results/, clients/typescript/dist/) is
    made at run time: never checked.
Code (fenced blocks, scripts' commands) is held to the top-level rule only: its other
words are file names the commands create, example output, or test data.

usage: path_check.py [--root DIR]      prints FILE:LINE: PATH: why, one a line; exit 1 if any
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import PurePosixPath

from markdown_it import MarkdownIt

TOP_LEVEL = {"src", "tests", "bench", "supabase", "terraform", ".github", "clients",
             "scripts", "docs", "examples", ".ci", ".cargo", "Dockerfile"}
# Extensions of the files this repository holds and its prose names (not data or images:
# photo.jpg, live.dump and state.env in the docs are examples or made at run time).
SOURCE_EXTENSIONS = {"rs", "md", "sql", "py", "sh", "toml", "tf", "json", "ts", "yml",
                     "yaml", "lua", "txt", "tsv", "pem", "hcl", "example", "lock", "mjs"}
SEPARATORS = re.compile(r"[\s`'\"()\[\]|,;=]+")
NOT_A_PATH = re.compile(r"[{}<>*$…@\\%]|\.\.\.|://|^mailto:|^www\.")
STRIP = ".,:;!?)]}*'\"’"
POSSESSIVE = re.compile(r"(\w)['’]s\b")  # scripts/dev's banner
CALL = re.compile(r"[\w.]+\(")  # response.json(): a call, not a file

# Which comments each kind of source file has.
HASH_COMMENTS = {"tf", "py", "toml", "yml", "yaml", "hcl", "sh", "example", "txt"}
SLASH_COMMENTS = {"rs", "ts", "js", "mjs"}
DASH_COMMENTS = {"sql", "lua"}


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    path: str
    why: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.path}: {self.why}"


class Repo:
    """The files and folders that exist, and what git ignores."""

    def __init__(self, files: set[str], ignored=lambda path: False):
        self.files = set(files)
        self.dirs = {str(parent) for f in self.files for parent in PurePosixPath(f).parents
                     if str(parent) != "."}
        self.ignored = ignored

    def exists(self, path: str) -> bool:
        path = path.rstrip("/") if path != "/" else path
        return path in self.files or path in self.dirs

    def ending_with(self, tail: str) -> list[str]:
        tail = tail.rstrip("/")
        return [p for p in self.files | self.dirs if p == tail or p.endswith("/" + tail)]

    @staticmethod
    def from_git(root: str) -> "Repo":
        listed = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=root, check=True, capture_output=True, text=True).stdout
        files = {f for f in listed.split("\0") if f and os.path.exists(os.path.join(root, f))}

        def ignored(path: str) -> bool:
            # A folder's pattern (node_modules/) matches only with the slash.
            return any(subprocess.run(["git", "check-ignore", "-q", "--no-index", p],
                                      cwd=root).returncode == 0 for p in (path, path + "/"))
        return Repo(files, ignored)


def words(text: str):
    """The candidate words of a line, cleaned of the punctuation around them."""
    text = POSSESSIVE.sub(r"\1", CALL.sub("(", text))
    for raw in SEPARATORS.split(text):
        word = raw.lstrip("(['\"*")
        word = word.rstrip(STRIP)
        word = word.split("::", 1)[0]
        word = re.sub(r"(:\d+)+$", "", word)
        if word:
            yield word


def extension(path: str) -> str:
    name = path.rstrip("/").rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[1] if "." in name.strip(".") else ""


def near(naming_file: str, path: str) -> list[str]:
    """`path` taken from the naming file's folder and from each folder above it."""
    folder, found = os.path.dirname(naming_file), []
    while True:
        found.append(os.path.normpath(os.path.join(folder, path)))
        if not folder:
            return found
        folder = os.path.dirname(folder)


def check_word(word: str, prose: bool, naming_file: str, repo: Repo) -> str | None:
    """Why `word` names a path that does not exist, or None (not a path, or it exists)."""
    if NOT_A_PATH.search(word) or word.startswith(("/", "-", "~")):
        return None
    path = word.split("#", 1)[0]
    if not path or path in (".", ".."):
        return None
    first = path.split("/", 1)[0]
    top_level = first in TOP_LEVEL and (first == path.rstrip("/") or "/" in path)
    if first == "Dockerfile" and path != "Dockerfile":
        return None
    if not top_level and not (prose and (path.startswith(("./", "../"))
                                         or extension(path) in SOURCE_EXTENSIONS)):
        return None
    candidates = near(naming_file, path)
    if any(c.startswith("..") for c in candidates[:1]) and all(c.startswith("..") for c in candidates):
        return "outside the repository"
    candidates = [c for c in candidates if not c.startswith("..")]
    if any(repo.exists(c) for c in candidates):
        return None
    partial = not top_level and not path.startswith(("./", "../"))
    matches = repo.ending_with(path) if partial else []
    if len(matches) == 1 or any(repo.ignored(c) for c in candidates):
        return None
    if not partial:
        return "no such file or folder"
    if not matches:
        return "no file's path ends so"
    return "ambiguous (" + ", ".join(sorted(matches)[:3]) + "): name more of its path"


def check_lines(lines, prose: bool, naming_file: str, repo: Repo):
    """lines: (line number, text) pairs."""
    for number, text in lines:
        for word in words(text):
            why = check_word(word, prose, naming_file, repo)
            if why:
                yield Problem(naming_file, number, word, why)


# --- Markdown ------------------------------------------------------------------------

def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def parse_markdown(text: str):
    return MarkdownIt("commonmark").enable("table").parse(text)


def anchors(text: str) -> set[str]:
    tokens = parse_markdown(text)
    found, seen = set(), {}
    for i, token in enumerate(tokens):
        if token.type == "heading_open":
            title = "".join(c.content for c in tokens[i + 1].children or []
                            if c.type in ("text", "code_inline"))
            base = slug(title)
            n = seen.get(base, 0)
            seen[base] = n + 1
            found.add(base if n == 0 else f"{base}-{n}")
    return found


def check_link(target: str, naming_file: str, line: int, repo: Repo, read):
    if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith("/"):
        return
    path, _, fragment = target.partition("#")
    if path:
        resolved = os.path.normpath(os.path.join(os.path.dirname(naming_file), path))
        if resolved.startswith(".."):
            yield Problem(naming_file, line, target, "outside the repository")
            return
        if not repo.exists(resolved):
            yield Problem(naming_file, line, target, "no such file or folder")
            return
    else:
        resolved = naming_file
    if fragment and resolved.endswith(".md") and fragment not in anchors(read(resolved)):
        yield Problem(naming_file, line, target, "no such heading")


def check_markdown(naming_file: str, text: str, repo: Repo, read):
    for token in parse_markdown(text):
        if token.map is None:
            continue
        first = token.map[0] + 1
        if token.type in ("fence", "code_block"):
            body = token.content.splitlines()
            start = first + (1 if token.type == "fence" else 0)
            yield from check_lines(enumerate(body, start), False, naming_file, repo)
        elif token.type == "inline":
            line = first
            for child in token.children or []:
                if child.type in ("softbreak", "hardbreak"):
                    line += 1
                elif child.type == "link_open":
                    yield from check_link(child.attrs.get("href", ""), naming_file, line, repo, read)
                elif child.type in ("text", "code_inline"):
                    yield from check_lines([(line, child.content)], True, naming_file, repo)


# --- Scripts and source --------------------------------------------------------------

def comment_start(line: str, kind: str) -> int:
    """Where a line's comment begins, or -1."""
    if kind == "hash":
        m = re.search(r"(^|\s)#", line)
        return m.end() - 1 if m else -1
    marker = "//" if kind == "slash" else "--"
    quote = '"' if kind == "slash" else "'"
    inside = False
    i = 0
    while i < len(line):
        c = line[i]
        if c == "\\" and inside:
            i += 2
            continue
        if c == quote:
            inside = not inside
        elif not inside and line.startswith(marker, i) and (kind != "slash" or line[i - 1:i] != ":"):
            return i
        i += 1
    return -1


def comment_kind(path: str) -> str | None:
    name = path.rsplit("/", 1)[-1]
    ext = extension(path)
    if ext in SLASH_COMMENTS:
        return "slash"
    if ext in DASH_COMMENTS:
        return "dash"
    if ext in HASH_COMMENTS or name == "Dockerfile" or not ext:
        return "hash"
    return None


def is_script(path: str) -> bool:
    return (path.startswith(("scripts/", ".github/workflows/")) or path in (".ci/run", "Dockerfile")
            or (path.startswith("bench/") and extension(path) != "rs"))


def check_source(naming_file: str, text: str, repo: Repo):
    kind = comment_kind(naming_file)
    if kind is None:
        return
    script = is_script(naming_file)
    for number, line in enumerate(text.splitlines(), 1):
        at = comment_start(line, kind)
        code, comment = (line, "") if at < 0 else (line[:at], line[at:])
        if script and code:
            yield from check_lines([(number, code)], False, naming_file, repo)
        if comment:
            yield from check_lines([(number, comment)], True, naming_file, repo)


# Generated files and data; CHANGELOG.md, which names paths as they were then; and this
# checker's tests, which name missing paths on purpose.
SKIP = re.compile(r"(^|/)(package-lock\.json|schema\.d\.ts|Cargo\.lock)$|^tests/snapshots/"
                  r"|^CHANGELOG\.md$|^scripts/tests/test_path_check\.py$")


def in_scope(path: str) -> bool:
    if SKIP.search(path):
        return False
    if path.endswith(".md") or is_script(path):
        return True
    roots = ("src/", "tests/", "examples/", "bench/", "supabase/", "terraform/", "clients/", ".cargo/")
    settings = ("Cargo.toml", "build.rs", "clippy.toml", ".squawk.toml", ".checkov.yaml")
    return path.startswith(roots) or path in settings


def check_file(path: str, text: str, repo: Repo, read):
    if path.endswith(".md"):
        yield from check_markdown(path, text, repo, read)
    else:
        yield from check_source(path, text, repo)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--root", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    args = parser.parse_args(argv)
    repo = Repo.from_git(args.root)

    def read(path: str) -> str:
        with open(os.path.join(args.root, path), encoding="utf-8", errors="replace") as f:
            return f.read()

    problems = []
    for path in sorted(p for p in repo.files if in_scope(p)):
        problems.extend(check_file(path, read(path), repo, read))
    for problem in problems:
        print(problem)
    checked = sum(1 for p in repo.files if in_scope(p))
    print(f"path_check: {checked} files read, {len(problems)} paths that do not exist")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
