//! The parts of GitHub's issue and pull-request payloads Unthread keeps. The same shapes
//! come from the REST API and inside webhook payloads; unknown fields are ignored, so a
//! payload GitHub extends still parses.

use std::{fmt, str::FromStr};

use chrono::{DateTime, Utc};
use serde::Deserialize;

#[derive(Clone, Debug, Deserialize)]
pub struct Login {
    pub login: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Label {
    pub name: String,
}

/// An issue, or a pull request seen through the issues API (`pull_request` is then set).
#[derive(Clone, Debug, Deserialize)]
pub struct Issue {
    pub id: i64,
    pub number: i32,
    pub title: String,
    #[serde(default)]
    pub body: Option<String>,
    pub state: String,
    #[serde(default)]
    pub state_reason: Option<String>,
    pub html_url: String,
    /// `https://api.github.com/repos/{owner}/{repo}`.
    #[serde(default)]
    pub repository_url: Option<String>,
    #[serde(default)]
    pub user: Option<Login>,
    #[serde(default)]
    pub assignees: Vec<Login>,
    #[serde(default)]
    pub labels: Vec<Label>,
    #[serde(default)]
    pub pull_request: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default)]
    pub closed_at: Option<DateTime<Utc>>,
}

impl Issue {
    pub fn is_pull_request(&self) -> bool {
        self.pull_request.is_some()
    }

    /// `owner/repo`, from `repository_url` or else from `html_url`.
    pub fn repository(&self) -> Option<String> {
        let from_api = self.repository_url.as_deref().and_then(|u| u.split("/repos/").nth(1)).map(str::to_owned);
        from_api.or_else(|| {
            let path = self.html_url.split("://").nth(1)?.split_once('/')?.1;
            let mut parts = path.split('/');
            Some(format!("{}/{}", parts.next()?, parts.next()?))
        })
    }
}

#[derive(Clone, Debug, Deserialize)]
pub struct BaseRef {
    pub repo: Option<RepositoryName>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct RepositoryName {
    pub full_name: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct PullRequest {
    pub id: i64,
    pub number: i32,
    pub title: String,
    #[serde(default)]
    pub body: Option<String>,
    pub state: String,
    #[serde(default)]
    pub draft: Option<bool>,
    #[serde(default)]
    pub merged: Option<bool>,
    #[serde(default)]
    pub merged_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub merge_commit_sha: Option<String>,
    pub html_url: String,
    #[serde(default)]
    pub user: Option<Login>,
    #[serde(default)]
    pub assignees: Vec<Login>,
    #[serde(default)]
    pub labels: Vec<Label>,
    pub base: BaseRef,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default)]
    pub closed_at: Option<DateTime<Utc>>,
}

impl PullRequest {
    /// Merged: GitHub's `merged` flag, or a merge time on a closed pull request (list
    /// endpoints and some payloads leave `merged` out).
    pub fn is_merged(&self) -> bool {
        self.merged.unwrap_or(false) || (self.state == "closed" && self.merged_at.is_some())
    }
}

/// One event of an issue's timeline (`GET /repos/{owner}/{repo}/issues/{n}/timeline`). The
/// sync reads cross-references — a pull request that names the issue (`Closes #918`) shows
/// up as a `cross-referenced` event whose source is that pull request — and who closed it.
#[derive(Clone, Debug, Deserialize)]
pub struct TimelineEvent {
    #[serde(default)]
    pub event: Option<String>,
    #[serde(default)]
    pub source: Option<TimelineSource>,
    /// Who did it (absent for some events, and for deleted accounts).
    #[serde(default)]
    pub actor: Option<Login>,
    /// The commit of a `closed` or `referenced` event (a merge commit saying "Closes #n").
    #[serde(default)]
    pub commit_id: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct TimelineSource {
    /// The issue or pull request that made the reference; left unparsed, so an odd one
    /// does not spoil the page.
    #[serde(default)]
    pub issue: Option<serde_json::Value>,
}

impl TimelineEvent {
    /// Who closed the issue and with which commit, from the last `closed` event of a
    /// timeline (an issue closed, reopened and closed again counts its last closing).
    pub fn closer(events: &[TimelineEvent]) -> Option<(Option<&str>, Option<&str>)> {
        let closed = events.iter().rev().find(|e| e.event.as_deref() == Some("closed"))?;
        let commit = closed.commit_id.as_deref().filter(|sha| is_commit_sha(sha));
        Some((closed.actor.as_ref().map(|a| a.login.as_str()), commit))
    }

    /// The pull request this event says references the issue, if it is one.
    pub fn referencing_pull(&self) -> Option<IssueRef> {
        if self.event.as_deref() != Some("cross-referenced") {
            return None;
        }
        let issue: Issue = serde_json::from_value(self.source.as_ref()?.issue.clone()?).ok()?;
        let repository = issue.repository()?;
        issue.is_pull_request().then_some(IssueRef { repository, number: issue.number })
    }
}

#[derive(Clone, Debug, Deserialize)]
pub struct ChangedFile {
    pub filename: String,
}

/// A full or abbreviated hexadecimal commit id (what the schema accepts).
pub fn is_commit_sha(text: &str) -> bool {
    (7..=64).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}
/// `owner/repo#number`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IssueRef {
    pub repository: String,
    pub number: i32,
}

impl fmt::Display for IssueRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.repository, self.number)
    }
}

impl FromStr for IssueRef {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || format!("`{text}` is not an issue reference (expected owner/repo#number)");
        let (repository, number) = text.trim().split_once('#').ok_or_else(bad)?;
        let (owner, name) = repository.split_once('/').ok_or_else(bad)?;
        let valid =
            |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !valid(owner) || !valid(name) {
            return Err(bad());
        }
        let number: i32 = number.parse().ok().filter(|n| *n > 0).ok_or_else(bad)?;
        Ok(IssueRef { repository: repository.to_owned(), number })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_references() {
        let epic: IssueRef = "openedx/openedx-platform#38680".parse().unwrap();
        assert_eq!((epic.repository.as_str(), epic.number), ("openedx/openedx-platform", 38680));
        for bad in ["openedx-platform#1", "a/b#0", "a/b#x", "a/b", "a b/c#1"] {
            assert!(bad.parse::<IssueRef>().is_err(), "{bad}");
        }
    }

    #[test]
    fn fixtures_parse() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/github");
        let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
        let issues: Vec<Issue> = serde_json::from_str(&read("rest.repos.issues.list.json")).unwrap();
        assert!(issues[0].is_pull_request());
        assert_eq!(issues[0].repository().as_deref(), Some("octocat/Hello-World"));
        let pull: PullRequest = serde_json::from_str(&read("rest.repos.pulls.get.json")).unwrap();
        assert_eq!(pull.base.repo.unwrap().full_name, "octocat/Hello-World");
        // As published: open, `merged: false`, yet a merge time. Not merged.
        assert_eq!(pull.state, "open");
        let pull: PullRequest = serde_json::from_str(&read("rest.repos.pulls.get.json")).unwrap();
        assert!(!pull.is_merged());
        let files: Vec<ChangedFile> = serde_json::from_str(&read("rest.repos.pulls.files.json")).unwrap();
        assert_eq!(files.len(), 1);
    }
}
