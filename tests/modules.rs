//! The layer rule: every module of the crate sits in a layer, and a module uses only its
//! own submodules and modules of the layers below its own. A use that points up (or
//! sideways, into another module of the same layer) fails the test, which names it.
//!
//! A use is a path a file names outside its unit tests: `crate::a::b`, `super::x`,
//! `self::x`, or `child::x` through a child module it declares, resolved to the longest
//! module prefix (`crate::db::rls::UserTx` is a use of `db`). Comments and string literals
//! are skipped. `docs/architecture.md` draws the same layers.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The crate's top-level modules, the top layer first.
const LAYERS: &[(&str, &[&str])] = &[
    ("the composition root", &["startup"]),
    ("the OpenAPI document", &["openapi"]),
    ("handlers", &["routes"]),
    ("what handlers share", &["state"]),
    (
        "the HTTP edge: extractors and middleware",
        &["extract", "security", "deadline"],
    ),
    ("services", &["identification", "idempotency", "maintain"]),
    ("services the others use", &["auth", "catalog"]),
    (
        "persistence and outside services",
        &["db", "storage", "vision"],
    ),
    ("types parsed once", &["domain"]),
    ("errors", &["error"]),
    ("telemetry", &["telemetry"]),
    ("configuration", &["config"]),
];

type Module = Vec<String>;

/// Every file of `src/` (but `src/main.rs`, the binary) by its module path.
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

/// A use of one module by another: the file, the path it names, the module it reaches.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Use {
    file: Module,
    path: String,
    target: Module,
}

fn uses(all: &BTreeMap<Module, String>) -> Vec<Use> {
    let resolve = |path: &[String]| -> Option<Module> {
        (1..=path.len())
            .rev()
            .map(|n| path[..n].to_vec())
            .find(|m| all.contains_key(m))
    };
    let mut found = BTreeSet::new();
    for (module, source) in all {
        let code = code(source);
        let children = declared_children(&code);
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
                found.insert(Use {
                    file: module.clone(),
                    path: path.join("::"),
                    target,
                });
            }
        }
    }
    found.into_iter().collect()
}

/// The layer of top-level module `name` (0 is the top), if it has one.
fn layer(name: &str) -> Option<usize> {
    LAYERS
        .iter()
        .position(|(_, modules)| modules.contains(&name))
}

/// Every use that breaks the rule, as a sentence naming it.
fn upward(uses: &[Use]) -> Vec<String> {
    let mut broken = Vec::new();
    for u in uses {
        let (Some(from), Some(to)) = (u.file.first(), u.target.first()) else {
            continue;
        };
        if from == to {
            continue;
        }
        let (Some(a), Some(b)) = (layer(from), layer(to)) else {
            continue;
        };
        if b <= a {
            broken.push(format!(
                "{} uses {} ({from}: {}; {to}: {})",
                u.file.join("::"),
                u.path,
                LAYERS[a].0,
                LAYERS[b].0
            ));
        }
    }
    broken
}

fn crate_modules() -> BTreeMap<Module, String> {
    let root = std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let mut all = BTreeMap::new();
    modules(&Path::new(&root).join("src"), &[], &mut all);
    all
}

#[test]
fn every_module_sits_in_one_layer() {
    let all = crate_modules();
    let top: BTreeSet<&str> = all
        .keys()
        .filter_map(|m| m.first())
        .map(String::as_str)
        .collect();
    let placed: Vec<&str> = LAYERS.iter().flat_map(|(_, m)| m.iter().copied()).collect();
    let unplaced: Vec<&str> = top.iter().copied().filter(|m| layer(m).is_none()).collect();
    assert!(
        unplaced.is_empty(),
        "modules in no layer (add them to LAYERS): {unplaced:?}"
    );
    let gone: Vec<&str> = placed
        .iter()
        .copied()
        .filter(|m| !top.contains(m))
        .collect();
    assert!(gone.is_empty(), "LAYERS names modules src/ lacks: {gone:?}");
    let once: BTreeSet<&str> = placed.iter().copied().collect();
    assert_eq!(once.len(), placed.len(), "a module is in two layers");
}

#[test]
fn no_module_uses_a_module_of_its_own_layer_or_above() {
    let all = crate_modules();
    assert!(all.len() > 50, "the walk found the crate's files");
    let uses = uses(&all);
    let names = |file: &[&str]| file.iter().map(|s| (*s).to_owned()).collect::<Module>();
    assert!(
        uses.iter()
            .any(|u| u.file == names(&["routes", "favorites"])
                && u.target == names(&["db", "favorites"])),
        "paths are resolved (routes::favorites uses db::favorites)"
    );
    let broken = upward(&uses);
    assert!(
        broken.is_empty(),
        "{} uses point up (or sideways) the layers:\n{}",
        broken.len(),
        broken.join("\n")
    );
}

#[test]
fn a_use_that_points_up_is_named() {
    let mut all = BTreeMap::new();
    all.insert(vec!["db".to_owned()], "mod favorites;".to_owned());
    all.insert(
        vec!["db".to_owned(), "favorites".to_owned()],
        "use crate::catalog::{Catalog, pages::Pages};\n\
         // crate::routes is a comment\n\
         fn f() { let _ = \"crate::routes\"; super::super::domain::X }"
            .to_owned(),
    );
    all.insert(vec!["catalog".to_owned()], "mod pages;".to_owned());
    all.insert(
        vec!["catalog".to_owned(), "pages".to_owned()],
        String::new(),
    );
    all.insert(vec!["domain".to_owned()], String::new());
    let broken = upward(&uses(&all));
    assert_eq!(
        broken,
        [
            "db::favorites uses crate::catalog::Catalog (db: persistence and outside services; \
             catalog: services the others use)",
            "db::favorites uses crate::catalog::pages::Pages (db: persistence and outside \
             services; catalog: services the others use)",
        ]
    );
    all.insert(
        vec!["db".to_owned(), "favorites".to_owned()],
        "use crate::domain::X;".to_owned(),
    );
    assert!(upward(&uses(&all)).is_empty());
}
