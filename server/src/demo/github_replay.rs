//! A fixed set of GitHub REST objects served over HTTP on a loopback port, so the demo's
//! GitHub state goes through the real sync ([`crate::github::sync`]) instead of being
//! written into tables: the epic, its sub-issues, the other items filed for it and their
//! pull requests, as `server/demo/github/` holds them (see its `README.unthread.md`).
//!
//! It answers the requests the sync makes — an issue, an issue's sub-issues and timeline, a
//! repository's issue list, a pull request and its files — with ETags (so a second sync is
//! all 304s, as against GitHub), and 404 with GitHub's body for anything else.

use std::{collections::BTreeMap, sync::Arc};

use anyhow::{bail, Context};
use axum::{
    extract::State,
    http::{header, HeaderMap, StatusCode, Uri},
    response::{IntoResponse, Response},
};
use serde_json::Value;

use crate::github::model::IssueRef;

/// `(repository, number)`; repository names compared lower-cased, as GitHub does.
type Key = (String, i32);

fn key(repository: &str, number: i32) -> Key {
    (repository.to_lowercase(), number)
}

/// The objects served.
#[derive(Debug, Default)]
pub struct GitHubFixtures {
    epic: Option<(IssueRef, Value)>,
    /// Issue objects (pull requests' issue views included), by repository and number.
    issues: BTreeMap<Key, Value>,
    /// The epic's sub-issues, in their order.
    sub_issues: Vec<Value>,
    pulls: BTreeMap<Key, Value>,
    pull_files: BTreeMap<Key, Value>,
    timelines: BTreeMap<Key, Value>,
}

/// The demo's set, built into the binary.
const BUNDLED: &[(&str, &str)] = &[
    ("epic.json", include_str!("../../demo/github/epic.json")),
    ("sub_issues.json", include_str!("../../demo/github/sub_issues.json")),
    ("issues/openedx+XBlock+918.json", include_str!("../../demo/github/issues/openedx+XBlock+918.json")),
    ("issues/openedx+XBlock+934.json", include_str!("../../demo/github/issues/openedx+XBlock+934.json")),
    ("issues/openedx+edx-ace+379.json", include_str!("../../demo/github/issues/openedx+edx-ace+379.json")),
    (
        "issues/openedx+edx-django-utils+537.json",
        include_str!("../../demo/github/issues/openedx+edx-django-utils+537.json"),
    ),
    (
        "issues/openedx+edx-django-utils+538.json",
        include_str!("../../demo/github/issues/openedx+edx-django-utils+538.json"),
    ),
    (
        "issues/openedx+edx-django-utils+539.json",
        include_str!("../../demo/github/issues/openedx+edx-django-utils+539.json"),
    ),
    (
        "issues/openedx+event-tracking+411.json",
        include_str!("../../demo/github/issues/openedx+event-tracking+411.json"),
    ),
    (
        "issues/openedx+openedx-platform+38698.json",
        include_str!("../../demo/github/issues/openedx+openedx-platform+38698.json"),
    ),
    (
        "issues/openedx+openedx-platform+38701.json",
        include_str!("../../demo/github/issues/openedx+openedx-platform+38701.json"),
    ),
    (
        "issues/openedx+openedx-platform+38703.json",
        include_str!("../../demo/github/issues/openedx+openedx-platform+38703.json"),
    ),
    (
        "issues/openedx+openedx-platform+38704.json",
        include_str!("../../demo/github/issues/openedx+openedx-platform+38704.json"),
    ),
    (
        "issues/openedx+openedx-platform+38705.json",
        include_str!("../../demo/github/issues/openedx+openedx-platform+38705.json"),
    ),
    (
        "issues/openedx+openedx-platform+38706.json",
        include_str!("../../demo/github/issues/openedx+openedx-platform+38706.json"),
    ),
    (
        "issues/openedx+openedx-platform+38707.json",
        include_str!("../../demo/github/issues/openedx+openedx-platform+38707.json"),
    ),
    (
        "issues/openedx+openedx-platform+38740.json",
        include_str!("../../demo/github/issues/openedx+openedx-platform+38740.json"),
    ),
    (
        "issues/openedx+openedx-platform+38882.json",
        include_str!("../../demo/github/issues/openedx+openedx-platform+38882.json"),
    ),
    ("pulls/openedx+XBlock+934.json", include_str!("../../demo/github/pulls/openedx+XBlock+934.json")),
    ("pull_files/openedx+XBlock+934.json", include_str!("../../demo/github/pull_files/openedx+XBlock+934.json")),
    ("timelines/openedx+XBlock+918.json", include_str!("../../demo/github/timelines/openedx+XBlock+918.json")),
];

impl GitHubFixtures {
    pub fn bundled() -> anyhow::Result<Self> {
        Self::from_files(BUNDLED.iter().map(|&(name, text)| (name.to_owned(), text.to_owned())))
    }

    /// Reads a directory laid out like `server/demo/github/` (the JSON files only).
    pub fn from_dir(dir: &std::path::Path) -> anyhow::Result<Self> {
        let mut files = Vec::new();
        for sub in ["", "issues", "pulls", "pull_files", "timelines"] {
            let Ok(entries) = std::fs::read_dir(dir.join(sub)) else { continue };
            for entry in entries {
                let path = entry?.path();
                if path.extension().is_some_and(|e| e == "json") {
                    let name = path.strip_prefix(dir)?.to_string_lossy().replace('\\', "/");
                    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
                    files.push((name, text));
                }
            }
        }
        Self::from_files(files.into_iter())
    }

    /// Files named as in `server/demo/github/`: `epic.json`, `sub_issues.json`, and
    /// `<kind>/<owner>+<repo>+<number>.json`.
    fn from_files(files: impl Iterator<Item = (String, String)>) -> anyhow::Result<Self> {
        let mut fixtures = Self::default();
        for (name, text) in files {
            let value: Value = serde_json::from_str(&text).with_context(|| format!("{name} is not JSON"))?;
            match name.split_once('/') {
                None if name == "epic.json" => {
                    let repository = repository_of(&value).with_context(|| format!("{name}: no repository_url"))?;
                    let number = number_of(&value).with_context(|| format!("{name}: no number"))?;
                    fixtures.epic = Some((IssueRef { repository, number }, value));
                }
                None if name == "sub_issues.json" => {
                    fixtures.sub_issues = value.as_array().cloned().context("sub_issues.json is not a list")?;
                }
                None => {}
                Some((kind, file)) => {
                    let stem = file.strip_suffix(".json").unwrap_or(file);
                    let mut parts = stem.rsplitn(2, '+');
                    let (Some(number), Some(repository)) = (parts.next(), parts.next()) else {
                        bail!("{name}: expected <owner>+<repo>+<number>.json");
                    };
                    let number: i32 = number.parse().with_context(|| format!("{name}: {number:?} is not a number"))?;
                    let repository = repository.replacen('+', "/", 1);
                    let map = match kind {
                        "issues" => &mut fixtures.issues,
                        "pulls" => &mut fixtures.pulls,
                        "pull_files" => &mut fixtures.pull_files,
                        "timelines" => &mut fixtures.timelines,
                        _ => bail!("{name}: unknown kind of file {kind:?}"),
                    };
                    map.insert(key(&repository, number), value);
                }
            }
        }
        if fixtures.epic.is_none() {
            bail!("the fixture set has no epic.json");
        }
        Ok(fixtures)
    }

    /// The epic the set is about.
    pub fn epic(&self) -> IssueRef {
        self.epic.as_ref().map(|(r, _)| r.clone()).expect("checked when read")
    }

    /// The day the epic was opened (its `created_at`, to the day: the time of day in the set
    /// is derived), where the demo's history starts.
    pub fn epic_created_at(&self) -> anyhow::Result<chrono::DateTime<chrono::Utc>> {
        let (_, epic) = self.epic.as_ref().expect("checked when read");
        let at = epic["created_at"].as_str().context("the epic has no created_at")?;
        let at: chrono::DateTime<chrono::Utc> = at.parse().with_context(|| format!("the epic's created_at {at:?}"))?;
        Ok(at.date_naive().and_time(chrono::NaiveTime::MIN).and_utc())
    }

    /// Every repository an item of the set is in, as the items name them.
    pub fn repositories(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .epic
            .iter()
            .map(|(_, v)| v)
            .chain(self.issues.values())
            .chain(&self.sub_issues)
            .filter_map(repository_of)
            .collect();
        names.sort_by_key(|n| n.to_lowercase());
        names.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
        names
    }

    fn issue(&self, repository: &str, number: i32) -> Option<&Value> {
        match &self.epic {
            Some((epic, value)) if key(&epic.repository, epic.number) == key(repository, number) => Some(value),
            _ => self.issues.get(&key(repository, number)),
        }
    }

    /// A repository's issues and pull requests' issue views, most recently updated first.
    fn issue_list(&self, repository: &str) -> Vec<&Value> {
        let mut items: Vec<&Value> = self
            .epic
            .iter()
            .map(|(_, v)| v)
            .chain(self.issues.values())
            .filter(|v| repository_of(v).is_some_and(|r| r.eq_ignore_ascii_case(repository)))
            .collect();
        items.sort_by(|a, b| b["updated_at"].as_str().cmp(&a["updated_at"].as_str()));
        items
    }

    /// The answer to `GET path`, if the set has one.
    fn answer(&self, path: &str) -> Option<Value> {
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        let ["repos", owner, repo, rest @ ..] = parts.as_slice() else { return None };
        let repository = format!("{owner}/{repo}");
        let number = |n: &str| n.parse::<i32>().ok();
        let list = |items: Vec<&Value>| Value::Array(items.into_iter().cloned().collect());
        match rest {
            ["issues"] => Some(list(self.issue_list(&repository))),
            ["issues", n] => self.issue(&repository, number(n)?).cloned(),
            ["issues", n, "sub_issues"] => {
                let n = number(n)?;
                self.issue(&repository, n)?;
                let is_epic =
                    self.epic.as_ref().is_some_and(|(e, _)| key(&e.repository, e.number) == key(&repository, n));
                Some(if is_epic { Value::Array(self.sub_issues.clone()) } else { Value::Array(Vec::new()) })
            }
            ["issues", n, "timeline"] => {
                let n = number(n)?;
                self.issue(&repository, n)?;
                Some(self.timelines.get(&key(&repository, n)).cloned().unwrap_or(Value::Array(Vec::new())))
            }
            ["pulls", n] => self.pulls.get(&key(&repository, number(n)?)).cloned(),
            ["pulls", n, "files"] => {
                let n = number(n)?;
                self.pulls.get(&key(&repository, n))?;
                Some(self.pull_files.get(&key(&repository, n)).cloned().unwrap_or(Value::Array(Vec::new())))
            }
            _ => None,
        }
    }
}

fn repository_of(item: &Value) -> Option<String> {
    let url = item.get("repository_url")?.as_str()?;
    let (_, name) = url.split_once("/repos/")?;
    Some(name.trim_end_matches('/').to_owned())
}

fn number_of(item: &Value) -> Option<i32> {
    item.get("number")?.as_i64()?.try_into().ok()
}

async fn respond(State(fixtures): State<Arc<GitHubFixtures>>, uri: Uri, request: HeaderMap) -> Response {
    let Some(value) = fixtures.answer(uri.path()) else {
        let body = serde_json::json!({
            "message": "Not Found",
            "documentation_url": "https://docs.github.com/rest",
            "status": "404"
        });
        return (StatusCode::NOT_FOUND, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response();
    };
    let body = value.to_string();
    let etag = format!("\"{:016x}\"", digest(&body));
    if request.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) == Some(etag.as_str()) {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    ([(header::CONTENT_TYPE, "application/json; charset=utf-8".to_owned()), (header::ETAG, etag)], body).into_response()
}

/// A digest of a body, for its ETag (the same body gets the same tag: `DefaultHasher::new`
/// uses fixed keys).
fn digest(text: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::hash::DefaultHasher::new();
    text.hash(&mut hasher);
    hasher.finish()
}

/// The server, running until dropped.
pub struct Replay {
    /// The API root to give the GitHub client (`http://127.0.0.1:<port>`).
    pub url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Replay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts serving `fixtures` on a free loopback port.
pub async fn start(fixtures: Arc<GitHubFixtures>) -> anyhow::Result<Replay> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.context("binding the GitHub replay")?;
    let url = format!("http://{}", listener.local_addr()?);
    let app = axum::Router::new().fallback(respond).with_state(fixtures);
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::warn!("the GitHub replay stopped: {e}");
        }
    });
    Ok(Replay { url, task })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_what_the_sync_asks() {
        let fixtures = GitHubFixtures::bundled().unwrap();
        assert_eq!(fixtures.epic().to_string(), "openedx/openedx-platform#38680");
        assert_eq!(
            fixtures.repositories(),
            [
                "openedx/edx-ace",
                "openedx/edx-django-utils",
                "openedx/event-tracking",
                "openedx/openedx-platform",
                "openedx/XBlock"
            ]
        );
        let epic = fixtures.answer("/repos/openedx/openedx-platform/issues/38680").unwrap();
        assert_eq!(epic["number"], 38680);
        let subs = fixtures.answer("/repos/openedx/openedx-platform/issues/38680/sub_issues").unwrap();
        assert_eq!(subs.as_array().unwrap().len(), 14);
        let none = fixtures.answer("/repos/openedx/xblock/issues/918/sub_issues").unwrap();
        assert_eq!(none, Value::Array(vec![]), "repository names ignore case");
        let xblock = fixtures.answer("/repos/openedx/XBlock/issues").unwrap();
        let numbers: Vec<i64> = xblock.as_array().unwrap().iter().map(|i| i["number"].as_i64().unwrap()).collect();
        assert_eq!(numbers.len(), 2, "#918 and #934's issue view: {numbers:?}");
        assert!(fixtures.answer("/repos/openedx/XBlock/pulls/934/files").unwrap().as_array().unwrap().len() == 3);
        assert!(fixtures.answer("/repos/openedx/XBlock/pulls/918").is_none(), "#918 is an issue");
        assert!(fixtures.answer("/repos/openedx/XBlock/issues/1/timeline").is_none());
        assert!(fixtures.answer("/user").is_none());
    }

    #[test]
    fn bad_file_names_are_refused() {
        let files = |name: &str| {
            vec![
                (
                    "epic.json".to_owned(),
                    "{\"number\":1,\"repository_url\":\"https://api.github.com/repos/o/r\"}".to_owned(),
                ),
                (name.to_owned(), "{}".to_owned()),
            ]
        };
        assert!(GitHubFixtures::from_files(files("issues/o+r+x.json").into_iter()).is_err());
        assert!(GitHubFixtures::from_files(files("comments/o+r+1.json").into_iter()).is_err());
        assert!(
            GitHubFixtures::from_files(vec![("sub_issues.json".to_owned(), "[]".to_owned())].into_iter()).is_err(),
            "no epic"
        );
    }
}
