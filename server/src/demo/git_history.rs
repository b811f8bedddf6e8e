//! The demo's code history, read from git: a repository's first-parent commits from the
//! epic's start, each archived (`git archive`) and scanned the way a rescan job scans
//! GitHub's tarball of a push ([`crate::ingest::archive`]). Used only when a snapshot is
//! written (`scripts/demo-snapshot.sh`); loading the demo needs no git.

use std::{path::Path, process::Command};

use anyhow::{bail, Context};
use chrono::{DateTime, Datelike, Utc};
use serde::{Deserialize, Serialize};

use crate::ingest::{owners::OWNER_FILES, scan::IncomingFinding};

/// One scan of a repository's history.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SnapshotScan {
    pub commit: String,
    pub committed_at: chrono::DateTime<chrono::Utc>,
    /// The commit message's first line.
    pub subject: String,
    pub files_scanned: i32,
    /// `None`: the same findings as the scan before (most commits change none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub findings: Option<Vec<IncomingFinding>>,
}

/// One commit of a branch's first-parent history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Commit {
    pub sha: String,
    pub committed_at: DateTime<Utc>,
    pub subject: String,
}

/// What was read of one repository.
pub struct History {
    /// The scans to replay, oldest first; the last is the latest commit's.
    pub scans: Vec<SnapshotScan>,
    /// The latest commit's full scan (its findings, API and import indexes).
    pub latest: crate::ingest::archive::ScannedArchive,
    /// [`OWNER_FILES`] present at the latest commit, path → text.
    pub owner_files: std::collections::BTreeMap<String, String>,
}

fn git(git_dir: &Path, args: &[&str]) -> anyhow::Result<Vec<u8>> {
    let output = Command::new("git")
        .arg("--git-dir")
        .arg(git_dir)
        .args(args)
        .output()
        .with_context(|| format!("running git {} in {}", args.join(" "), git_dir.display()))?;
    if !output.status.success() {
        bail!("git {} in {}: {}", args.join(" "), git_dir.display(), String::from_utf8_lossy(&output.stderr).trim());
    }
    Ok(output.stdout)
}

/// HEAD's first-parent commits from `since` on, oldest first, preceded by the last commit
/// before `since` (the code as it stood when the epic started), if there is one.
pub fn first_parent_commits(git_dir: &Path, since: DateTime<Utc>) -> anyhow::Result<Vec<Commit>> {
    let log = git(git_dir, &["log", "--first-parent", "--format=%H%x09%cI%x09%s", "HEAD"])?;
    let log = String::from_utf8(log).context("git log is not UTF-8")?;
    let mut newest_first = Vec::new();
    for line in log.lines() {
        let mut parts = line.splitn(3, '\t');
        let (Some(sha), Some(at), subject) = (parts.next(), parts.next(), parts.next()) else {
            bail!("unexpected git log line {line:?}");
        };
        let committed_at = DateTime::parse_from_rfc3339(at).with_context(|| format!("commit time {at:?}"))?.to_utc();
        let commit = Commit { sha: sha.to_owned(), committed_at, subject: subject.unwrap_or("").to_owned() };
        let before_start = committed_at < since;
        newest_first.push(commit);
        if before_start {
            break;
        }
    }
    newest_first.reverse();
    Ok(newest_first)
}

/// The commits worth a scan in the replay: the first (the state at the start), the last of
/// each ISO week, and the last overall. Commits in between are scanned too (see [`read`]),
/// and kept when they change the findings.
fn weekly(commits: &[Commit]) -> Vec<bool> {
    let week = |c: &Commit| {
        let w = c.committed_at.iso_week();
        (w.year(), w.week())
    };
    (0..commits.len()).map(|i| i == 0 || i + 1 == commits.len() || week(&commits[i]) != week(&commits[i + 1])).collect()
}

/// Scans `repository` at each of HEAD's first-parent commits since `since`.
pub fn read(
    repository: &str,
    git_dir: &Path,
    since: DateTime<Utc>,
    api_index: &scanner::ApiIndex,
) -> anyhow::Result<History> {
    let commits = first_parent_commits(git_dir, since)?;
    if commits.is_empty() {
        bail!("{repository}: no commits in {}", git_dir.display());
    }
    let keep = weekly(&commits);
    let mut scans: Vec<SnapshotScan> = Vec::new();
    let mut previous: Option<Vec<IncomingFinding>> = None;
    let mut latest = None;
    for (commit, weekly) in commits.iter().zip(keep) {
        let prefix = format!("--prefix={}-{}/", repository.replace('/', "-"), &commit.sha[..7]);
        let archive = git(git_dir, &["archive", "--format=tar.gz", &prefix, &commit.sha])?;
        let scanned =
            crate::ingest::archive::scan(&archive, repository, api_index.clone(), &OWNER_FILES, Default::default())
                .map_err(anyhow::Error::msg)?;
        let input = crate::ingest::scan::ScanInput::from_report(0, Some(commit.sha.clone()), &scanned.report);
        let changed = previous.as_ref() != Some(&input.findings);
        if weekly || changed {
            scans.push(SnapshotScan {
                commit: commit.sha.clone(),
                committed_at: commit.committed_at,
                subject: commit.subject.clone(),
                files_scanned: input.files_scanned,
                findings: changed.then(|| input.findings.clone()),
            });
        }
        previous = Some(input.findings);
        latest = Some(scanned);
    }
    let latest = latest.expect("at least one commit was scanned");
    let owner_files = latest
        .extra
        .iter()
        .filter_map(|(path, bytes)| Some((path.clone(), String::from_utf8(bytes.clone()).ok()?)))
        .collect();
    Ok(History { scans, latest, owner_files })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commit(at: &str) -> Commit {
        Commit { sha: at.into(), committed_at: at.parse().unwrap(), subject: String::new() }
    }

    #[test]
    fn keeps_the_start_each_weeks_last_commit_and_the_latest() {
        let commits = [
            commit("2026-05-28T10:00:00Z"), // before the start: the state at the start
            commit("2026-06-02T10:00:00Z"), // Tuesday of week 23
            commit("2026-06-05T10:00:00Z"), // Friday of week 23: its last
            commit("2026-06-09T10:00:00Z"), // week 24
            commit("2026-06-10T10:00:00Z"), // week 24, the latest
        ];
        assert_eq!(weekly(&commits), [true, false, true, false, true]);
        assert_eq!(weekly(&commits[..1]), [true]);
    }
}
