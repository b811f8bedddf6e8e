//! Links between GitHub issues / pull requests and Unthread's findings and targets, derived
//! from what GitHub says:
//!
//! - `explicit`: the title or body names a finding by its Unthread URL (`.../findings/123`);
//! - `mention`: the title or body names a finding's file path and its symbol's last part
//!   (`lms/djangoapps/courseware/views.py` ... `RequestCache`), in the issue's own repository
//!   or in a target the text names;
//! - `mention` too: the title or body holds a GitHub permalink to a tracked repository's
//!   file (`https://github.com/openedx/XBlock/blob/<sha>/xblock/runtime.py#L1189-L1226`):
//!   linked to the findings in those lines (the whole file when no lines are given), fixed
//!   ones included — a permalink names a place at a commit, which a later fix does not undo;
//! - `path`: a pull request changes the file of a finding of its repository;
//! - `sub_issue`: an issue under an epic belongs to a tracked repository: linked to that
//!   target;
//! - `mention` of a dependency: inline code in the text (`` `crum` ``) names a tracked
//!   dependency, a package it provides or its import package: linked to that target (the item
//!   is about the dependency as a whole, e.g. "Ensure that crum … is async-safe").
//!
//! Derivation only adds links; a link a maintainer removed stays removed (its row is kept,
//! marked removed, and blocks the same link from coming back), and manual links are kept.
//! The statements are in [`db::models::links`].

use db::models::links::{self, GitHubSide};
use std::sync::LazyLock;

use regex::Regex;
use sqlx::PgConnection;

/// A finding's address in Unthread: `/findings/<id>` (any host).
static FINDING_URL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"/findings/([0-9]{1,18})\b").expect("valid pattern"));

/// A GitHub permalink to a file, with an optional line range: repository, path, lines.
static PERMALINK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"https://github\.com/([A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+)/blob/[0-9a-f]{7,40}/([^\s#?)\]>]+)(?:#L([0-9]{1,7})(?:-L([0-9]{1,7}))?)?",
    )
    .expect("valid pattern")
});

fn permalinks(text: &str) -> Vec<links::Permalink> {
    PERMALINK
        .captures_iter(text)
        .map(|c| {
            let line = |i| c.get(i).and_then(|m| m.as_str().parse::<i32>().ok());
            let first = line(3);
            links::Permalink {
                repository: c[1].to_owned(),
                path: c[2].to_owned(),
                lines: first.map(|first| (first, line(4).unwrap_or(first).max(first))),
            }
        })
        .collect()
}

/// Inline code spans (`` `name` ``) that could name a package: lower-cased, at most 64
/// characters of letters, digits, `_`, `-` and `.`.
static CODE_SPAN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"`([A-Za-z][A-Za-z0-9_.-]{0,63})`").expect("valid pattern"));

fn code_span_names(text: &str) -> Vec<String> {
    let mut names: Vec<String> = CODE_SPAN.captures_iter(text).map(|c| c[1].to_lowercase()).collect();
    names.sort_unstable();
    names.dedup();
    names
}

fn explicit_finding_ids(text: &str) -> Vec<i64> {
    let mut ids: Vec<i64> = FINDING_URL.captures_iter(text).filter_map(|c| c[1].parse().ok()).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Adds the links `item` (in `repository`, with `title` and `body`) implies. Returns how many
/// were new.
pub async fn link_text(
    db: &mut PgConnection,
    item: GitHubSide,
    repository: &str,
    title: &str,
    body: Option<&str>,
) -> sqlx::Result<u64> {
    let text = format!("{title}\n{}", body.unwrap_or(""));
    let explicit = links::add_explicit(&mut *db, item, &explicit_finding_ids(&text)).await?;
    // A permalink says exactly which lines it means: its path must not also count as a
    // mention of every finding in that file.
    let without_permalinks = PERMALINK.replace_all(&text, "");
    let mentioned = links::add_mentions(&mut *db, item, repository, &without_permalinks).await?;
    let pointed = links::add_permalinks(&mut *db, item, &permalinks(&text)).await?;
    let dependencies = links::add_named_dependencies(&mut *db, item, &code_span_names(&text)).await?;
    Ok(explicit + mentioned + pointed + dependencies)
}

#[cfg(test)]
mod tests {
    use super::{code_span_names, explicit_finding_ids, permalinks};

    #[test]
    fn inline_code_names_packages() {
        let text = "We still [rely on `crum`](https://github.com/search?q=crum) and `django-crum`, \
                    not `sync_to_async(f)` or ``; `Django`.";
        assert_eq!(code_span_names(text), ["crum", "django", "django-crum"]);
    }
    use db::models::links::Permalink;

    #[test]
    fn permalinks_to_files_and_lines() {
        let text = "Not async-safe:\n\nhttps://github.com/openedx/XBlock/blob/77bfe4d7b72bcd09565c41595f6b8fa20c6d7087/xblock/runtime.py#L1189-L1226\n\
                    and (https://github.com/openedx/edx-ace/blob/045b563/edx_ace/utils/once.py), \
                    https://github.com/o/r/blob/abcdef1/a.py#L7, https://github.com/o/r/blob/abcdef1/b.py#L9-L3, \
                    not https://github.com/o/r/issues/5 nor https://github.com/o/r/blob/main/c.py#L1";
        let found = permalinks(text);
        let expect =
            |repository: &str, path: &str, lines| Permalink { repository: repository.into(), path: path.into(), lines };
        assert_eq!(
            found,
            [
                expect("openedx/XBlock", "xblock/runtime.py", Some((1189, 1226))),
                expect("openedx/edx-ace", "edx_ace/utils/once.py", None),
                expect("o/r", "a.py", Some((7, 7))),
                expect("o/r", "b.py", Some((9, 9))),
            ]
        );
    }

    #[test]
    fn finding_urls() {
        let text = "Fixes https://unthread.example.org/findings/42 and /findings/7, not /findings/x or findings/9";
        assert_eq!(explicit_finding_ids(text), [7, 42]);
    }
}
