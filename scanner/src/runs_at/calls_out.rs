//! Calls out of a scan: where code that runs at request time or in a worker calls a name
//! imported from another top-level package (`from edx_ace import ace` … `ace.send(msg)` in a
//! view: `edx_ace.send` at request time). A library's function that nothing in its own
//! package calls has an unknown "runs at" in its own scan ([`crate::finding::RunsAtPath`]'s
//! `open_ends`); these calls, from the scans of the code that uses it, say when it runs.
//!
//! Read from text, as the call graph is: an import statement binds names; a bound name
//! followed by attribute names and `(` is a call of the dotted name they spell. It
//! over-approximates (a name in a string or a comment reads as one, a local rebinding is not
//! seen) and misses calls through objects (`client = Client(); client.send()` calls
//! `Client`, not `send`) — the pages say "through other code", never more.

use std::collections::HashMap;

use super::{Graph, Node};
use crate::{
    finding::{CallOut, RunsAt, RunsAtPath},
    prefilter::followed::is_identifier_byte,
    source::{is_test_module, ModuleNamer, SourceFile},
};

/// Calls out a scan keeps at most (the platform makes a few thousand).
pub const MAX_CALLS_OUT: usize = 20_000;

/// Top-level modules of Python's standard library that code calls most: never a scanned
/// target, so their calls are not worth keeping.
const STANDARD_LIBRARY: &[&str] = &[
    "__future__",
    "abc",
    "argparse",
    "ast",
    "asyncio",
    "atexit",
    "base64",
    "binascii",
    "bisect",
    "builtins",
    "calendar",
    "codecs",
    "collections",
    "concurrent",
    "configparser",
    "contextlib",
    "contextvars",
    "copy",
    "csv",
    "ctypes",
    "dataclasses",
    "datetime",
    "decimal",
    "difflib",
    "email",
    "enum",
    "errno",
    "fnmatch",
    "fractions",
    "functools",
    "gc",
    "getpass",
    "gettext",
    "glob",
    "gzip",
    "hashlib",
    "heapq",
    "hmac",
    "html",
    "http",
    "importlib",
    "inspect",
    "io",
    "ipaddress",
    "itertools",
    "json",
    "locale",
    "logging",
    "math",
    "mimetypes",
    "multiprocessing",
    "numbers",
    "operator",
    "os",
    "pathlib",
    "pickle",
    "pkgutil",
    "platform",
    "pprint",
    "queue",
    "random",
    "re",
    "secrets",
    "select",
    "shlex",
    "shutil",
    "signal",
    "socket",
    "ssl",
    "stat",
    "statistics",
    "string",
    "struct",
    "subprocess",
    "sys",
    "tarfile",
    "tempfile",
    "textwrap",
    "threading",
    "time",
    "traceback",
    "types",
    "typing",
    "unicodedata",
    "unittest",
    "urllib",
    "uuid",
    "warnings",
    "weakref",
    "xml",
    "zipfile",
    "zlib",
];

/// Every name this scan's non-test code imports from another top-level package and calls at
/// request time, in a worker, or at a time its package cannot tell (with the open ends that
/// would tell), once per name (request before worker before unknown, then the first found),
/// sorted by name. (A scan computes them with its findings' runs-at:
/// [`super::annotate_and_call_out`].)
pub fn calls_out(files: &[SourceFile], namer: &ModuleNamer, max_file_size: u64) -> Vec<CallOut> {
    super::annotate_and_call_out(files, namer, max_file_size, &mut [], true).unwrap_or_default()
}

/// Of `calls`, the most urgent of each name (then the first found), sorted by name, at most
/// [`MAX_CALLS_OUT`].
pub(super) fn most_urgent(calls: Vec<CallOut>) -> Vec<CallOut> {
    let mut best: HashMap<String, CallOut> = HashMap::new();
    for call in calls {
        match best.get(&call.name) {
            Some(kept) if super::precedence(kept.at) <= super::precedence(call.at) => {}
            _ => {
                best.insert(call.name.clone(), call);
            }
        }
    }
    let mut calls: Vec<CallOut> = best.into_values().collect();
    calls.sort_by(|a, b| a.name.cmp(&b.name));
    calls.truncate(MAX_CALLS_OUT);
    calls
}

/// The calls out of one top-level package's non-test files, read from its call graph (which
/// kept every file's text).
pub(super) fn of_package(graph: &Graph, package: &str) -> Vec<CallOut> {
    let mut memo: HashMap<Node, RunsAtPath> = HashMap::new();
    let mut calls = Vec::new();
    for (index, file) in graph.files.iter().enumerate() {
        if is_test_module(&file.path) {
            continue;
        }
        let bytes = &file.bytes;
        let bound = imported_names(bytes, &file.outline.imports, package);
        if bound.is_empty() {
            continue;
        }
        let line_starts: Vec<usize> =
            std::iter::once(0).chain(memchr::memchr_iter(b'\n', bytes).map(|i| i + 1)).collect();
        for (at, name) in call_sites(bytes, &file.outline.imports, &bound) {
            let line = line_starts.partition_point(|&s| s <= at);
            let line_start = line_starts[line - 1];
            // A decorator's call runs when the definition is made, not when it runs.
            if bytes[line_start..at].iter().find(|b| !matches!(b, b' ' | b'\t')) == Some(&b'@') {
                continue;
            }
            let Some(def) = file.outline.innermost(at) else { continue }; // module level: import time
            if file.outline.defs[def].is_class && graph.enclosing_function((index, def)).is_none() {
                continue; // a class body: import time too
            }
            // Under `if <not set yet>:` that sets it, the call runs once per process, on
            // first use, whenever its function runs (`lazy`).
            if graph.lazily_at(&file.path, line as u32).is_some() {
                continue;
            }
            let runs_at = memo.entry((index, def)).or_insert_with(|| graph.runs_at(Some((index, def)), &file.path));
            let known = matches!(runs_at.at, RunsAt::Request | RunsAt::Worker);
            if known || (runs_at.at == RunsAt::Unknown && !runs_at.open_ends.is_empty()) {
                calls.push(CallOut {
                    name,
                    at: runs_at.at,
                    why: runs_at.why.clone(),
                    path: runs_at.path.clone(),
                    file: file.path.clone(),
                    line: line as u32,
                    open_ends: runs_at.open_ends.clone(),
                });
            }
        }
    }
    calls
}

/// The names `imports` (statement ranges of `bytes`) bind to other top-level packages than
/// `own` (not relative imports, not the standard library): local name → dotted name.
fn imported_names(bytes: &[u8], imports: &[std::ops::Range<usize>], own: &str) -> HashMap<String, String> {
    let mut bound = HashMap::new();
    let foreign = |module: &str| {
        let top = module.split('.').next().unwrap_or("");
        !top.is_empty() && top != own && !STANDARD_LIBRARY.contains(&top)
    };
    for range in imports {
        let statement = flatten(&bytes[range.clone()]);
        let words: Vec<&str> = statement.split_whitespace().collect();
        match words.as_slice() {
            ["from", module, "import", names @ ..] if !module.starts_with('.') && foreign(module) => {
                for part in names.join(" ").split(',') {
                    match part.split_whitespace().collect::<Vec<_>>().as_slice() {
                        [name, "as", alias] => bound.insert((*alias).to_owned(), format!("{module}.{name}")),
                        [name] if *name != "*" => bound.insert((*name).to_owned(), format!("{module}.{name}")),
                        _ => None,
                    };
                }
            }
            ["import", names @ ..] => {
                for part in names.join(" ").split(',') {
                    match part.split_whitespace().collect::<Vec<_>>().as_slice() {
                        [module, "as", alias] if foreign(module) => {
                            bound.insert((*alias).to_owned(), (*module).to_owned());
                        }
                        // `import a.b` binds `a`: the text then spells the rest (`a.b.f()`).
                        [module] if foreign(module) => {
                            let top = module.split('.').next().unwrap_or(module);
                            bound.insert(top.to_owned(), top.to_owned());
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    bound
}

/// An import statement on one line: comments, brackets and line continuations removed.
fn flatten(statement: &[u8]) -> String {
    let text = String::from_utf8_lossy(statement);
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let code = line.split('#').next().unwrap_or("");
        out.push_str(code.trim_end().trim_end_matches('\\'));
        out.push(' ');
    }
    out.replace(['(', ')'], " ")
}

/// Where a bound name is called, directly or through attributes (`ace.send(`), outside the
/// import statements, with the dotted name called.
fn call_sites(
    bytes: &[u8],
    imports: &[std::ops::Range<usize>],
    bound: &HashMap<String, String>,
) -> Vec<(usize, String)> {
    let mut sites = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        if !is_identifier_byte(bytes[at]) {
            at += 1;
            continue;
        }
        let start = at;
        while at < bytes.len() && is_identifier_byte(bytes[at]) {
            at += 1;
        }
        // An attribute of something else, or a number.
        if (start > 0 && bytes[start - 1] == b'.') || bytes[start].is_ascii_digit() {
            continue;
        }
        let Ok(word) = std::str::from_utf8(&bytes[start..at]) else { continue };
        let Some(target) = bound.get(word) else { continue };
        let in_import =
            imports.partition_point(|r| r.start <= start).checked_sub(1).is_some_and(|i| imports[i].contains(&start));
        if in_import {
            continue;
        }
        // The attributes that follow: `ace.send` → `.send`.
        let mut name = target.clone();
        let mut end = at;
        while end + 1 < bytes.len() && bytes[end] == b'.' && is_identifier_byte(bytes[end + 1]) {
            let attribute_start = end + 1;
            end = attribute_start;
            while end < bytes.len() && is_identifier_byte(bytes[end]) {
                end += 1;
            }
            name.push('.');
            name.push_str(&String::from_utf8_lossy(&bytes[attribute_start..end]));
        }
        let next = bytes[end..].iter().find(|b| !matches!(b, b' ' | b'\t'));
        if next == Some(&b'(') {
            sites.push((start, name));
        }
        at = end;
    }
    sites
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(files: &[(&str, &str)]) -> Vec<CallOut> {
        let sources: Vec<SourceFile> = files
            .iter()
            .map(|(path, text)| SourceFile {
                path: (*path).into(),
                contents: Ok(text.as_bytes().to_vec()),
                on_disk: None,
            })
            .collect();
        let namer = ModuleNamer::new(sources.iter().map(|f| f.path.as_str()));
        calls_out(&sources, &namer, u64::MAX)
    }

    #[test]
    fn a_call_that_fills_a_lazy_guard_runs_once_and_is_no_call_out() {
        let views = "from django.http import HttpResponse\nimport mailer\n\nclass Outbox:\n    client = None\n\n    @classmethod\n    def get(cls):\n        if cls.client is None:\n            cls.client = mailer.Client()\n        return cls.client\n\ndef notify(request):\n    Outbox.get().send(request.user)\n    mailer.flush()\n    return HttpResponse()\n";
        let calls = scan(&[("lms/__init__.py", ""), ("lms/views.py", views)]);
        let names: Vec<(&str, u32)> = calls.iter().map(|c| (c.name.as_str(), c.line)).collect();
        assert_eq!(
            names,
            [("django.http.HttpResponse", 16), ("mailer.flush", 15)],
            "mailer.Client() is made once, on the first request"
        );
    }

    #[test]
    fn a_view_calling_a_librarys_function_is_a_call_out_at_request_time() {
        let views = "from django.http import HttpResponse\nfrom edx_ace import ace\nfrom edx_ace.message import Message as M\nimport crum\nimport os\n\ndef notify(request):\n    ace.send(M(request.user))\n    os.getcwd()\n    return helper()\n\ndef helper():\n    return crum.get_current_user()\n\n@ace.cached\ndef later():\n    ace.forget()\n";
        let calls = scan(&[("lms/__init__.py", ""), ("lms/views.py", views)]);
        let names: Vec<(&str, RunsAt, u32)> = calls.iter().map(|c| (c.name.as_str(), c.at, c.line)).collect();
        // The standard library is left out, and the decorator (it runs at import); `ace.forget`
        // runs from a function nothing in the package calls: unknown, with that function.
        assert_eq!(
            names,
            [
                ("crum.get_current_user", RunsAt::Request, 13),
                ("edx_ace.ace.forget", RunsAt::Unknown, 17),
                ("edx_ace.ace.send", RunsAt::Request, 8),
                ("edx_ace.message.Message", RunsAt::Request, 8),
            ]
        );
        assert_eq!(calls[1].open_ends, ["lms.views.later"]);
        assert!(calls[2].open_ends.is_empty());
        let send = &calls[2];
        assert_eq!(
            (send.why.as_str(), send.path.as_slice()),
            ("a view (it takes the request)", &["lms.views.notify".to_owned()][..])
        );
        assert_eq!(calls[0].path, ["lms.views.notify", "lms.views.helper"]);
    }

    #[test]
    fn calls_within_the_package_and_in_tasks() {
        let tasks = "from celery import shared_task\nfrom lms import models\nfrom edx_ace import (\n    ace,  # sends\n)\n\n@shared_task\ndef nightly():\n    models.save()\n    ace.send(1)\n";
        let calls = scan(&[("lms/__init__.py", ""), ("lms/tasks.py", tasks)]);
        let names: Vec<(&str, RunsAt)> = calls.iter().map(|c| (c.name.as_str(), c.at)).collect();
        assert_eq!(names, [("edx_ace.ace.send", RunsAt::Worker)]);
    }
}
