//! No import cycle among the crate's modules: a file never uses, directly or through
//! others, a file that uses it. (The review of issue 21 found `db -> deadline -> state
//! -> db` and `db <-> telemetry::metrics` tying 11 files into one loop.)
//!
//! Each file of `src/` is a node. An edge is a path the file names outside its unit
//! tests: `crate::a::b`, `super::x`, `self::x`, or `child::x` through a child module
//! it declares, resolved to the longest module prefix (`crate::db::rls::UserTx` is an
//! edge to `db/rls.rs`). Declaring a child (`mod rls;`) is not an edge: the parent
//! only owns it. Comments and string literals are skipped.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

type Module = Vec<String>;

fn modules(dir: &Path, prefix: &[String], out: &mut BTreeMap<Module, String>) {
    for entry in std::fs::read_dir(dir).expect("src is readable") {
        let path = entry.expect("a directory entry").path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            let mut inner = prefix.to_vec();
            inner.push(name);
            modules(&path, &inner, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let mut module = prefix.to_vec();
            if !matches!(name.as_str(), "mod" | "lib" | "main") {
                module.push(name.clone());
            }
            if name != "main" {
                out.insert(module, std::fs::read_to_string(&path).unwrap());
            }
        }
    }
}

/// The source without comments, string and char literals, and its unit tests.
fn code(source: &str) -> String {
    let source = source
        .split("#[cfg(test)]\nmod tests")
        .next()
        .unwrap_or_default();
    let bytes = source.as_bytes();
    let (mut out, mut i) = (String::with_capacity(source.len()), 0);
    while i < bytes.len() {
        let rest = &source[i..];
        if rest.starts_with("//") {
            i += rest.find('\n').unwrap_or(rest.len());
        } else if rest.starts_with("/*") {
            i += rest.find("*/").map_or(rest.len(), |end| end + 2);
        } else if let Some(hashes) = raw_string_start(rest) {
            let close = format!("\"{}", "#".repeat(hashes));
            let body = 2 + hashes;
            i += body
                + rest[body..]
                    .find(&close)
                    .map_or(rest.len(), |e| e + close.len());
            out.push_str("\"\"");
        } else if bytes[i] == b'"' {
            i += 1;
            while i < bytes.len() && bytes[i] != b'"' {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if bytes[i] == b'\''
            && rest.len() > 2
            && rest[1..].find('\'').is_some_and(|e| e <= 4)
        {
            // A char literal ('a', '\n', '\''); lifetimes ('a) have no closing quote near.
            let end = rest[2..].find('\'').map_or(rest.len(), |e| e + 3);
            i += end;
        } else {
            let c = rest.chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// `r"`, `r#"`, `br"`...: the number of `#`s.
fn raw_string_start(rest: &str) -> Option<usize> {
    let rest = rest.strip_prefix('b').unwrap_or(rest).strip_prefix('r')?;
    let hashes = rest.len() - rest.trim_start_matches('#').len();
    rest[hashes..].starts_with('"').then_some(hashes)
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Every path of two or more segments in `code`, with `a::{b, c::d}` groups expanded.
fn paths(code: &str) -> Vec<Vec<String>> {
    let chars: Vec<char> = code.chars().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let starts =
            is_ident(chars[i]) && (i == 0 || !(is_ident(chars[i - 1]) || chars[i - 1] == ':'));
        if !starts {
            i += 1;
            continue;
        }
        let (path, next) = path_at(&chars, i);
        i = next;
        if chars.get(i..i + 3) == Some(&[':', ':', '{']) {
            let (group, after) = group_at(&chars, i + 3);
            for item in group {
                let mut full = path.clone();
                full.extend(item);
                found.push(full);
            }
            i = after;
        } else if path.len() > 1 {
            found.push(path);
        }
    }
    found
}

fn path_at(chars: &[char], mut i: usize) -> (Vec<String>, usize) {
    let mut path = Vec::new();
    loop {
        let start = i;
        while i < chars.len() && is_ident(chars[i]) {
            i += 1;
        }
        path.push(chars[start..i].iter().collect());
        let more = chars
            .get(i..i + 3)
            .is_some_and(|s| s[0] == ':' && s[1] == ':' && is_ident(s[2]));
        if !more {
            return (path, i);
        }
        i += 2;
    }
}

/// The items of a `{...}` use group starting at `i` (just after the brace).
fn group_at(chars: &[char], mut i: usize) -> (Vec<Vec<String>>, usize) {
    let mut items = Vec::new();
    while i < chars.len() && chars[i] != '}' {
        if is_ident(chars[i]) {
            let (path, next) = path_at(chars, i);
            i = next;
            if chars.get(i..i + 3) == Some(&[':', ':', '{']) {
                let (inner, after) = group_at(chars, i + 3);
                items.extend(inner.into_iter().map(|item| [path.clone(), item].concat()));
                i = after;
            } else {
                items.push(path);
            }
        } else {
            i += 1;
        }
    }
    (items, i + 1)
}

fn declared_children(code: &str) -> BTreeSet<String> {
    code.lines()
        .filter_map(|line| {
            let line = line
                .trim()
                .trim_start_matches("pub ")
                .trim_start_matches("pub(crate) ");
            let name = line.strip_prefix("mod ")?.strip_suffix(';')?;
            Some(name.trim().to_owned())
        })
        .collect()
}

fn edges(all: &BTreeMap<Module, String>) -> BTreeMap<Module, BTreeSet<Module>> {
    let resolve = |path: &[String]| -> Option<Module> {
        (1..=path.len())
            .rev()
            .map(|n| path[..n].to_vec())
            .find(|m| all.contains_key(m))
    };
    let mut graph = BTreeMap::new();
    for (module, source) in all {
        let code = code(source);
        let children = declared_children(&code);
        let mut to = BTreeSet::new();
        for path in paths(&code) {
            let (base, rest): (Module, &[String]) = match path[0].as_str() {
                "crate" => (Vec::new(), &path[1..]),
                "super" => {
                    let ups = path.iter().take_while(|s| *s == "super").count();
                    (
                        module[..module.len().saturating_sub(ups)].to_vec(),
                        &path[ups..],
                    )
                }
                "self" => (module.clone(), &path[1..]),
                child if children.contains(child) => (module.clone(), &path[..]),
                _ => continue,
            };
            if let Some(target) = resolve(&[base, rest.to_vec()].concat())
                && target != *module
            {
                to.insert(target);
            }
        }
        graph.insert(module.clone(), to);
    }
    graph
}

/// A cycle through `graph`, if there is one.
fn cycle(graph: &BTreeMap<Module, BTreeSet<Module>>) -> Option<Vec<Module>> {
    fn visit<'g>(
        node: &'g Module,
        graph: &'g BTreeMap<Module, BTreeSet<Module>>,
        done: &mut BTreeSet<&'g Module>,
        stack: &mut Vec<&'g Module>,
    ) -> Option<Vec<Module>> {
        if let Some(at) = stack.iter().position(|n| *n == node) {
            let mut found: Vec<Module> = stack[at..].iter().map(|m| (*m).clone()).collect();
            found.push(node.clone());
            return Some(found);
        }
        if !done.insert(node) {
            return None;
        }
        stack.push(node);
        for next in graph.get(node).into_iter().flatten() {
            if let Some(found) = visit(next, graph, done, stack) {
                return Some(found);
            }
        }
        stack.pop();
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut done, &mut Vec::new()))
}

#[test]
fn no_module_uses_a_module_that_uses_it() {
    let mut all = BTreeMap::new();
    modules(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &[],
        &mut all,
    );
    let graph = edges(&all);
    assert!(graph.len() > 50, "the walk found the crate's files");
    let name = |m: &Module| {
        if m.is_empty() {
            "lib".to_owned()
        } else {
            m.join("::")
        }
    };
    assert!(
        graph[&vec!["routes".to_owned(), "favorites".to_owned()]]
            .contains(&vec!["db".to_owned(), "favorites".to_owned()]),
        "paths are resolved (routes::favorites uses db::favorites)"
    );
    if let Some(found) = cycle(&graph) {
        let names: Vec<String> = found.iter().map(name).collect();
        panic!("import cycle: {}", names.join(" -> "));
    }
}

#[test]
fn a_cycle_is_found_when_there_is_one() {
    let mut all = BTreeMap::new();
    all.insert(vec!["a".to_owned()], "use crate::b::{B, c::C};".to_owned());
    all.insert(vec!["b".to_owned()], "mod c;\nfn f() { c::g() }".to_owned());
    all.insert(
        vec!["b".to_owned(), "c".to_owned()],
        "// crate::x is a comment\nfn g() { let _ = \"crate::b\"; super::super::a::A }".to_owned(),
    );
    let graph = edges(&all);
    let found = cycle(&graph).expect("a -> b::c -> a");
    assert!(found.contains(&vec!["a".to_owned()]), "{found:?}");
    all.insert(vec!["b".to_owned(), "c".to_owned()], "fn g() {}".to_owned());
    assert_eq!(cycle(&edges(&all)), None);
}
