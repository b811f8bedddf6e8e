//! Changes: pull requests Unthread opens. A request ([`request`]) is checked — what it
//! selects, and that the person may ask for it — recorded and queued; the job ([`open`])
//! takes the repository's default branch from GitHub's tarball, applies the scanner's fixes of
//! the change's findings that are still open, verifies them by scanning the fixed files again,
//! and opens the pull request through the contents API (branch, one commit per file, pull
//! request). Nothing is half-done: a branch made for a pull request that then fails is
//! deleted. The pull request names the findings by their Unthread URLs, so storing it links
//! them (the existing links); the sync and webhooks then carry the change to merged or closed.

use std::collections::{BTreeMap, BTreeSet};

use app::error::AppError;
use app::jobs::{ChangeRequest, RequestedChange};
use db::kinds::{ChangeKind, ChangeState, FindingState};
use db::models::changes::{self, Candidate, NewChange, Requested};
use db::models::users::User;
use sqlx::PgPool;

use super::queue::{JobError, JobSpec, Jobs, Priority};
use super::run::JobContext;
use crate::github::pulls::{blob_sha, WriteError};

/// At most this many findings in one request (a pull request a person can review).
pub const MAX_FINDINGS: usize = 500;

/// Checks `request` for `user` and queues its change (or answers the live one it repeats).
pub async fn request(
    pool: &PgPool,
    jobs: &Jobs,
    request: &ChangeRequest,
    user: &User,
) -> Result<RequestedChange, AppError> {
    let plan = match request {
        ChangeRequest::Findings { findings, unsafe_fixes } => {
            if findings.is_empty() {
                return Err(AppError::unprocessable("name at least one finding"));
            }
            if findings.len() > MAX_FINDINGS {
                return Err(AppError::unprocessable(format!(
                    "at most {MAX_FINDINGS} findings in one pull request ({} given)",
                    findings.len()
                )));
            }
            let candidates = changes::candidates(pool, findings).await?;
            if candidates.len() < findings.iter().collect::<BTreeSet<_>>().len() {
                return Err(AppError::not_found("no such finding"));
            }
            fix_plan(candidates, None, *unsafe_fixes)?
        }
        ChangeRequest::Rule { target, rule, unsafe_fixes } => {
            let candidates = changes::candidates_of_rule(pool, target.trim(), rule.trim()).await?;
            if candidates.is_empty() {
                return Err(AppError::unprocessable(format!(
                    "{} has no open {} finding outside tests",
                    target.trim(),
                    rule.trim()
                )));
            }
            fix_plan(candidates, Some(rule.trim()), *unsafe_fixes)?
        }
        ChangeRequest::Bump { .. } => {
            if !user.is_maintainer() {
                return Err(AppError::forbidden("only maintainers open bump pull requests"));
            }
            return Err(AppError::unprocessable(
                "bump pull requests are not available yet: the advice's pin is changed by hand",
            ));
        }
    };
    // Contributors fix what they own; maintainers anything.
    if !user.is_maintainer() {
        if let Some(other) = plan.findings.iter().find(|f| f.owner_id != Some(user.id)) {
            return Err(AppError::forbidden(format!(
                "a contributor opens pull requests only for findings they own: claim finding {} first",
                other.id
            )));
        }
    }
    let ids: Vec<i64> = plan.findings.iter().map(|f| f.id).collect();
    let request_key = match &plan.rule {
        Some(rule) => format!("fix:{}:rule:{rule}:{}", plan.target_id, plan.unsafe_fixes),
        None => format!(
            "fix:{}:{}:{}",
            plan.target_id,
            ids.iter().map(i64::to_string).collect::<Vec<_>>().join(","),
            plan.unsafe_fixes
        ),
    };
    let new = NewChange {
        kind: ChangeKind::Fix,
        target_id: plan.target_id,
        rule: plan.rule.as_deref(),
        unsafe_fixes: plan.unsafe_fixes,
        dependency_id: None,
        from_version: None,
        to_version: None,
        requirements_path: None,
        request_key,
        requested_by: &user.login,
        finding_ids: &ids,
    };
    let mut tx = pool.begin().await?;
    let requested = changes::request(&mut tx, &new).await?;
    if let Requested::New(id) = requested {
        jobs.enqueue(
            &mut tx,
            JobSpec::OpenChange { change: id },
            Priority::Maintainer,
            &format!("maintainer:{}", user.login),
        )
        .await
        .map_err(|e| {
            tracing::error!("change not queued: {e}");
            AppError::Unavailable("the job queue is unavailable: try again shortly".into())
        })?;
    }
    tx.commit().await?;
    let change = changes::get(pool, requested.id()).await?.ok_or_else(|| AppError::internal("the change vanished"))?;
    Ok(RequestedChange { change, new: matches!(requested, Requested::New(_)) })
}

/// A checked fix request: one repository, its open findings with a fix the request allows.
struct FixPlan {
    target_id: i64,
    rule: Option<String>,
    unsafe_fixes: bool,
    findings: Vec<Candidate>,
}

fn fix_plan(candidates: Vec<Candidate>, rule: Option<&str>, unsafe_fixes: bool) -> Result<FixPlan, AppError> {
    let repositories: BTreeSet<&str> = candidates.iter().map(|f| f.target.as_str()).collect();
    if repositories.len() > 1 {
        return Err(AppError::unprocessable(format!(
            "one pull request is opened in one repository: these findings are in {}",
            repositories.into_iter().collect::<Vec<_>>().join(", ")
        )));
    }
    let first = &candidates[0];
    if !first.target_kind.is_repository() {
        return Err(AppError::unprocessable(format!(
            "{} is a dependency: its code is fixed upstream (open an upstream issue), or bump its pin",
            first.target
        )));
    }
    let target_id = first.target_id;
    let open: Vec<Candidate> = candidates.into_iter().filter(|f| f.state == Some(FindingState::Open)).collect();
    if open.is_empty() {
        return Err(AppError::unprocessable("nothing to fix: none of these findings is open"));
    }
    let unsafe_only = open.iter().filter(|f| f.applicability.as_deref() == Some("unsafe")).count();
    let fixable: Vec<Candidate> = open
        .into_iter()
        .filter(|f| match f.applicability.as_deref() {
            Some("safe") => true,
            Some("unsafe") => unsafe_fixes,
            _ => false,
        })
        .collect();
    if fixable.is_empty() {
        return Err(AppError::unprocessable(if unsafe_only > 0 && !unsafe_fixes {
            format!(
                "no safe fix: {unsafe_only} of these findings have an unsafe fix (it may change behaviour): ask with \"unsafe\": true to open it, and review it"
            )
        } else {
            "none of these findings has a mechanical fix: they need a person".to_owned()
        }));
    }
    Ok(FixPlan { target_id, rule: rule.map(str::to_owned), unsafe_fixes, findings: fixable })
}

/// One changed file of a change: what it was (its blob) and what it becomes.
struct FixedFile {
    path: String,
    before: Vec<u8>,
    after: Vec<u8>,
}

/// What fixing gave: the changed files, the findings whose fixes a rescan verified, and why
/// the others were not fixed.
struct Fixed {
    files: Vec<FixedFile>,
    verified: Vec<Candidate>,
    left: Vec<String>,
}

/// Opens change `id`'s pull request (the `open_change` job).
pub async fn open(ctx: &JobContext, id: i64) -> Result<(), JobError> {
    let pool = &ctx.pool;
    let mut conn = pool.acquire().await?;
    let Some(work) = changes::work(&mut conn, id).await? else {
        return Err(JobError::Fail(format!("there is no change {id}")));
    };
    drop(conn);
    if work.view.state != ChangeState::Queued {
        // A second attempt after the first opened or ended it.
        return Ok(());
    }
    let repository = work.view.target.clone();
    let open_findings: Vec<Candidate> =
        work.findings.iter().filter(|f| f.state == Some(FindingState::Open)).cloned().collect();
    if open_findings.is_empty() {
        let fixed = work.findings.iter().filter(|f| f.state == Some(FindingState::Fixed)).count();
        let reason = if fixed == work.findings.len() {
            "its findings were all fixed before it ran".to_owned()
        } else {
            format!("none of its findings is open any more ({fixed} fixed, the others triaged away or gone)")
        };
        return end(pool, id, ChangeState::Cancelled, reason).await;
    }
    let fail = |reason: String| async move { end(pool, id, ChangeState::Failed, reason).await };

    let meta = match ctx.github.repository(&repository).await {
        Ok(meta) => meta,
        Err(e) if e.is_transient() => return Err(JobError::Retry(e.to_string())),
        Err(e) => return fail(format!("GitHub did not answer for {repository}: {e}")).await,
    };
    let branch_head = meta.default_branch.clone();
    let archive = match ctx.github.tarball(&repository, &branch_head, ctx.limits.max_archive_bytes).await {
        Ok(archive) => archive,
        Err(e) if e.is_transient() => return Err(JobError::Retry(e.to_string())),
        Err(e) => return fail(format!("the archive of {repository}@{branch_head} was not read: {e}")).await,
    };
    let package = repository.rsplit('/').next().unwrap_or(&repository).to_owned();
    let limits = ctx.limits;
    let unsafe_fixes = work.view.unsafe_fixes;
    let chosen = open_findings.clone();
    let outcome = tokio::task::spawn_blocking(move || fix_archive(&archive, &package, limits, &chosen, unsafe_fixes))
        .await
        .map_err(|e| JobError::Retry(format!("fixing stopped: {e}")))?;
    let (commit, fixed) = match outcome {
        Ok(outcome) => outcome,
        Err(reason) => return fail(reason).await,
    };
    // The default branch moved since the last scan: rescan it, so the dashboard catches up.
    let latest = {
        let mut conn = pool.acquire().await?;
        db::models::commit_order::latest_scanned(&mut *conn, work.target_id).await?
    };
    if latest.as_deref() != Some(commit.as_str()) {
        queue_rescan(ctx, &repository, &commit, "change").await;
    }
    if fixed.files.is_empty() {
        let why = if fixed.left.is_empty() { "no fix applied".to_owned() } else { fixed.left.join("; ") };
        return fail(format!("nothing to commit at {}: {why}", short(&commit))).await;
    }

    let slug = work.view.rule.as_deref().map(str::to_ascii_lowercase).unwrap_or_else(|| "fix".to_owned());
    let branch = format!("unthread/{slug}-{id}");
    if let Err(e) = ctx.github.create_branch(&repository, &branch, &commit).await {
        return write_failed(pool, id, &repository, &branch, e, "creating the branch").await;
    }
    for file in &fixed.files {
        let message = format!("{}: {}", commit_subject(&work.view, &fixed), file.path);
        if let Err(e) =
            ctx.github.put_file(&repository, &branch, &file.path, &file.after, &blob_sha(&file.before), &message).await
        {
            delete_branch(ctx, &repository, &branch).await;
            if e.status() == Some(http::StatusCode::CONFLICT) {
                queue_rescan(ctx, &repository, &branch_head, "change conflict").await;
                return fail(format!(
                    "the file {} changed since the scan of {}: {repository} is being rescanned, try again",
                    file.path,
                    short(&commit)
                ))
                .await;
            }
            return write_failed(pool, id, &repository, &branch, e, &format!("committing {}", file.path)).await;
        }
    }
    let title = title(&work.view, &fixed);
    let body = body(ctx, &work.view, &fixed, &commit);
    let pull = match ctx.github.create_pull(&repository, &branch, &branch_head, &title, &body).await {
        Ok(pull) => pull,
        Err(e) => {
            delete_branch(ctx, &repository, &branch).await;
            return write_failed(pool, id, &repository, &branch, e, "opening the pull request").await;
        }
    };
    let diff: String = fixed.files.iter().map(|f| scanner::fix::unified_diff(&f.path, &f.before, &f.after)).collect();
    let mut tx = pool.begin().await?;
    crate::github::store::save_pull(&mut tx, &repository, &pull).await?;
    let opened = changes::Opened {
        branch: &branch,
        base_commit: &commit,
        diff: &diff,
        pull_id: pull.id,
        pull_number: pull.number,
        pull_url: &pull.html_url,
    };
    changes::opened(&mut tx, id, &opened).await?;
    tx.commit().await?;
    tracing::info!(change = id, repository, pull = pull.number, "change opened");
    Ok(())
}

/// Reads `archive`, fixes the files of `chosen` (only those findings, and what their fixes
/// leave behind) and verifies each file by scanning it again. Blocking.
fn fix_archive(
    archive: &[u8],
    package: &str,
    limits: crate::config::Limits,
    chosen: &[Candidate],
    unsafe_fixes: bool,
) -> Result<(String, Fixed), String> {
    let sources = scanner::SourceOptions { include_tests: true, archive: limits.archive, ..Default::default() };
    let contents =
        scanner::source::tarball(archive, &sources, &[]).map_err(|e| format!("the archive was not read: {e}"))?;
    let commit = contents.commit.clone().ok_or("the archive names no commit: nothing to branch from")?;
    let options = scanner::ScanOptions {
        sources,
        package: Some(package.to_owned()),
        asgiref_available: contents.asgiref_available,
        ..Default::default()
    };
    let mut by_path: BTreeMap<&str, Vec<&Candidate>> = BTreeMap::new();
    for finding in chosen {
        by_path.entry(finding.path.as_str()).or_default().push(finding);
    }
    let mut fixed = Fixed { files: Vec::new(), verified: Vec::new(), left: Vec::new() };
    for (path, findings) in by_path {
        let Some(source) = contents.files.iter().find(|f| f.path == path).and_then(|f| f.contents.as_deref().ok())
        else {
            fixed.left.push(format!("{path} is not in the default branch any more"));
            continue;
        };
        let fingerprints: BTreeSet<String> = findings.iter().filter_map(|f| f.content_fingerprint.clone()).collect();
        let policy = scanner::fix::FixPolicy { unsafe_fixes, only: Some(fingerprints.clone()), ..Default::default() };
        let outcome = scanner::fix::fix_in_memory(path, source, package, &options, &policy, |_| true);
        fixed.left.extend(outcome.rolled_back.iter().map(|why| format!("{path}: {why}")));
        if outcome.fixed == source {
            if outcome.rolled_back.is_empty() {
                fixed.left.push(format!("{path}: the findings are no longer where the scan saw them"));
            }
            continue;
        }
        // Verify: the fixed file, scanned again, no longer has the chosen findings.
        let file = scanner::source::SourceFile::in_memory(path.to_owned(), Ok(outcome.fixed.clone()));
        let rescan = scanner::scan::scan_sources(vec![file], package, &options);
        let still: BTreeSet<&str> = rescan.findings.iter().map(|f| f.content_fingerprint.as_str()).collect();
        for finding in findings {
            if finding.content_fingerprint.as_deref().is_none_or(|fp| still.contains(fp)) {
                fixed.left.push(format!("{path}: {} of finding {} did not apply", finding.rule, finding.id));
            } else {
                fixed.verified.push(finding.clone());
            }
        }
        fixed.files.push(FixedFile { path: path.to_owned(), before: source.to_vec(), after: outcome.fixed });
    }
    Ok((commit, fixed))
}

/// Records the change's end and returns what the job says: done (cancelled) or dead (failed).
async fn end(pool: &PgPool, id: i64, state: ChangeState, reason: String) -> Result<(), JobError> {
    let mut conn = pool.acquire().await?;
    changes::ended(&mut conn, id, state, &reason).await?;
    match state {
        ChangeState::Failed => Err(JobError::Fail(reason)),
        _ => Ok(()),
    }
}

/// A write GitHub refused or did not answer: retried later when that may help, else the
/// change fails with a reason a maintainer can act on.
async fn write_failed(
    pool: &PgPool,
    id: i64,
    repository: &str,
    branch: &str,
    error: WriteError,
    doing: &str,
) -> Result<(), JobError> {
    use http::StatusCode;
    if error.is_transient() {
        return Err(JobError::Retry(format!("{doing}: {}", error.message())));
    }
    let reason = match error.status() {
        Some(StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::NOT_FOUND) => format!(
            "the token cannot push to {repository} ({doing}: {}): it needs Contents and Pull requests write access",
            error.message()
        ),
        Some(StatusCode::UNPROCESSABLE_ENTITY) if doing == "creating the branch" => {
            format!("the branch {branch} already exists on {repository} ({})", error.message())
        }
        Some(StatusCode::CONFLICT) => format!("{doing}: {repository} changed meanwhile ({})", error.message()),
        _ => format!("{doing}: GitHub refused ({})", error.message()),
    };
    end(pool, id, ChangeState::Failed, reason).await
}

async fn delete_branch(ctx: &JobContext, repository: &str, branch: &str) {
    if let Err(e) = ctx.github.delete_branch(repository, branch).await {
        tracing::error!(repository, branch, "a branch made for a failed pull request was not deleted: {e}");
    }
}

async fn queue_rescan(ctx: &JobContext, repository: &str, commit: &str, reason: &str) {
    let spec = JobSpec::ScanRepository { target: repository.to_owned(), commit: commit.to_owned() };
    let queued = async {
        let mut conn = ctx.pool.acquire().await.map_err(|e| e.to_string())?;
        ctx.jobs.enqueue(&mut conn, spec, Priority::Push, reason).await.map_err(|e| e.to_string())
    };
    if let Err(e) = queued.await {
        tracing::warn!(repository, commit, "rescan not queued: {e}");
    }
}

fn short(commit: &str) -> &str {
    &commit[..commit.len().min(12)]
}

/// The rules the verified fixes are of, in order.
fn rules(fixed: &Fixed) -> Vec<&str> {
    let rules: BTreeSet<&str> = fixed.verified.iter().map(|f| f.rule.as_str()).collect();
    rules.into_iter().collect()
}

fn commit_subject(view: &db::views::ChangeView, fixed: &Fixed) -> String {
    match &view.rule {
        Some(rule) => format!("Fix {rule}"),
        None => format!("Fix {}", rules(fixed).join(", ")),
    }
}

/// "UT012 threading-import-unused: fix 3 places for async safety".
fn title(view: &db::views::ChangeView, fixed: &Fixed) -> String {
    let places = fixed.verified.len();
    let what = if places == 1 { "1 place".to_owned() } else { format!("{places} places") };
    let title = match rules(fixed).as_slice() {
        [rule] => match scanner::rules::by_id(rule) {
            Some(info) => format!("{rule} {}: fix {what} for async safety", info.name),
            None => format!("{rule}: fix {what} for async safety"),
        },
        rules => format!("Fix {what} for async safety ({})", rules.join(", ")),
    };
    if view.unsafe_fixes {
        format!("{title} (includes unsafe fixes: review)")
    } else {
        title
    }
}

/// The pull request's description: the epic, who asked, every finding (its Unthread URL —
/// which links it — and its permalink at the scanned commit), each rule's help and its
/// fixes' safety, and what Unthread verified.
fn body(ctx: &JobContext, view: &db::views::ChangeView, fixed: &Fixed, commit: &str) -> String {
    use std::fmt::Write as _;
    let base = ctx.public_url.trim_end_matches('/');
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Unthread opened this pull request for @{} (change {base}/changes/{}).",
        view.requested_by, view.id
    );
    if let Some(epic) = ctx.github_config.sync.epics.first() {
        let _ = writeln!(out, "\nPart of {}#{}.", epic.repository, epic.number);
    }
    let _ = writeln!(out, "\n## Findings addressed\n");
    const LISTED: usize = 100;
    for finding in fixed.verified.iter().take(LISTED) {
        let _ = writeln!(
            out,
            "- {} — {base}/findings/{} — https://github.com/{}/blob/{commit}/{}",
            finding.rule, finding.id, view.target, finding.path
        );
    }
    if fixed.verified.len() > LISTED {
        let _ = writeln!(out, "- and {} more (all on {base}/changes/{})", fixed.verified.len() - LISTED, view.id);
    }
    for rule in rules(fixed) {
        let Some(info) = scanner::rules::by_id(rule) else { continue };
        let _ = writeln!(out, "\n## {rule} {}\n\n{}", info.name, info.summary);
        let help = info.help_markdown();
        if let Some(safety) = section(&help, "Fix safety") {
            let _ = writeln!(out, "\n**Fix safety**: {safety}");
        }
        let _ = writeln!(out, "\nMore: {base}/rules/{rule}");
    }
    if view.unsafe_fixes {
        let _ = writeln!(
            out,
            "\n**Includes unsafe fixes**, asked for by @{}: they may change behaviour (see each rule's fix safety above). Review them as you would a person's change.",
            view.requested_by
        );
    }
    let _ = writeln!(
        out,
        "\n## Verified\n\nUnthread applied the scanner's fixes to {} file{} of {} at {commit} and scanned {} again: the findings above are no longer reported, and no new finding appeared. A scan of the merge commit will mark them fixed.",
        fixed.files.len(),
        if fixed.files.len() == 1 { "" } else { "s" },
        view.target,
        if fixed.files.len() == 1 { "it" } else { "them" }
    );
    if !fixed.left.is_empty() {
        let _ = writeln!(out, "\nNot in this pull request:");
        for why in fixed.left.iter().take(20) {
            let _ = writeln!(out, "- {why}");
        }
    }
    out
}

/// The text of section `## name` of a rule's help, joined into one paragraph.
fn section(help: &str, name: &str) -> Option<String> {
    let start = help.find(&format!("## {name}"))?;
    let rest = &help[start..];
    let rest = &rest[rest.find('\n')? + 1..];
    let end = rest.find("\n## ").unwrap_or(rest.len());
    let text = rest[..end].split_whitespace().collect::<Vec<_>>().join(" ");
    (!text.is_empty()).then_some(text)
}
