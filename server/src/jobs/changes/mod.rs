//! Changes: pull requests Unthread opens. A request ([`request`]) is checked — what it
//! selects, and that the person may ask for it — recorded and queued; the job ([`open`])
//! takes the repository's default branch from GitHub's tarball, applies the scanner's fixes of
//! the change's findings that are still open, verifies them by scanning the fixed files again,
//! and opens the pull request through the contents API (branch, one commit per file, pull
//! request). Nothing is half-done: a branch made for a pull request that then fails is
//! deleted. The pull request names the findings by their Unthread URLs, so storing it links
//! them (the existing links); the sync and webhooks then carry the change to merged or closed.

mod bump;
mod fix;

use std::collections::BTreeSet;

use app::error::AppError;
use app::jobs::{ChangeRequest, RequestedChange};
use db::kinds::{ChangeKind, ChangeState, FindingState};
use db::models::changes::{self, Candidate, NewChange, Requested};
use db::models::users::User;
use sqlx::PgPool;

use super::queue::{JobError, JobSpec, Jobs, Priority};
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
        ChangeRequest::Bump { bump, target } => {
            if !user.is_maintainer() {
                return Err(AppError::forbidden("only maintainers open bump pull requests"));
            }
            return request_bump(pool, jobs, bump.trim(), target.as_deref().map(str::trim), user).await;
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
    queue(pool, jobs, &new, user).await
}

/// Checks and queues the bump of dependency `name` (see [`bump`]).
async fn request_bump(
    pool: &PgPool,
    jobs: &Jobs,
    name: &str,
    target: Option<&str>,
    user: &User,
) -> Result<RequestedChange, AppError> {
    let mut conn = pool.acquire().await?;
    let Some(plan) = changes::bump_plan(&mut conn, name).await? else {
        return Err(AppError::unprocessable(format!(
            "no checked release of {name} clears any of its open findings (or {name} is not a tracked dependency)"
        )));
    };
    drop(conn);
    let mut repositories: Vec<&str> = plan.pins.iter().map(|p| p.repository.as_str()).collect();
    repositories.dedup();
    let repository = match (target, repositories.as_slice()) {
        (_, []) => {
            return Err(AppError::unprocessable(format!(
                "no tracked repository's requirements file pins {name}=={}",
                plan.from
            )))
        }
        (Some(target), _) if repositories.contains(&target) => target,
        (Some(target), _) => {
            return Err(AppError::unprocessable(format!("{target} does not pin {name}=={}", plan.from)));
        }
        (None, [only]) => only,
        (None, several) => {
            return Err(AppError::unprocessable(format!(
                "{name}=={} is pinned by {}: one pull request per repository — name one with \"target\"",
                plan.from,
                several.join(", ")
            )))
        }
    };
    let pin = plan.pins.iter().find(|p| p.repository == repository).expect("a pin of the chosen repository");
    let new = NewChange {
        kind: ChangeKind::Bump,
        target_id: pin.target_id,
        rule: None,
        unsafe_fixes: false,
        dependency_id: Some(plan.dependency_id),
        from_version: Some(&plan.from),
        to_version: Some(&plan.to),
        requirements_path: Some(&pin.path),
        request_key: format!("bump:{}:{}:{}", plan.dependency_id, plan.to, pin.target_id),
        requested_by: &user.login,
        finding_ids: &plan.clears,
    };
    queue(pool, jobs, &new, user).await
}

/// Records `new` and queues its job in one transaction (a repeated request gets the change
/// already queued or open).
async fn queue(pool: &PgPool, jobs: &Jobs, new: &NewChange<'_>, user: &User) -> Result<RequestedChange, AppError> {
    let mut tx = pool.begin().await?;
    let requested = changes::request(&mut tx, new).await?;
    if let Requested::New(id) = requested {
        let reason = format!("maintainer:{}", user.login);
        jobs.enqueue(&mut tx, JobSpec::OpenChange { change: id }, Priority::Maintainer, &reason).await.map_err(
            |e| {
                tracing::error!("change not queued: {e}");
                AppError::Unavailable("the job queue is unavailable: try again shortly".into())
            },
        )?;
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

/// A changed file: what it was (its blob) and what it becomes.
pub(super) struct ChangedFile {
    pub path: String,
    pub before: Vec<u8>,
    pub after: Vec<u8>,
}

/// What a change commits and says, ready to become a pull request.
pub(super) struct Prepared {
    pub files: Vec<ChangedFile>,
    /// The branch name's first part (`ut001`, `fix`, `bump-django-crum`).
    pub slug: String,
    /// Each commit's message, before the file's path.
    pub commit_subject: String,
    pub title: String,
    pub body: String,
}

/// Where the pull request's links point, and the epic it is part of.
pub(super) struct Texts {
    pub base_url: String,
    pub epic: Option<String>,
}

/// What opening a change needs of the worker that runs it.
pub struct Context<'a> {
    pub pool: &'a PgPool,
    pub jobs: &'a Jobs,
    pub github: &'a crate::github::GitHub,
    pub limits: crate::config::Limits,
    /// Where users reach the server: the pull requests' links point there.
    pub public_url: &'a str,
    /// The epic (`owner/repo#n`) the pull requests are part of.
    pub epic: Option<String>,
}

/// Opens change `id`'s pull request (the `open_change` job).
pub async fn open(ctx: &Context<'_>, id: i64) -> Result<(), JobError> {
    let pool = ctx.pool;
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
    let texts = Texts { base_url: ctx.public_url.trim_end_matches('/').to_owned(), epic: ctx.epic.clone() };
    let prepared = match work.view.kind {
        ChangeKind::Fix => fix::prepare(ctx.limits, &work.view, archive, open_findings, &texts).await,
        ChangeKind::Bump => bump::prepare(pool, ctx.limits, &work, archive, &open_findings, &texts).await?,
    };
    let (commit, prepared) = match prepared {
        Ok(prepared) => prepared,
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
    publish(ctx, id, &repository, &branch_head, &commit, prepared).await
}

/// The branch, one commit per file naming the blob it replaces, and the pull request; then
/// the pull request stored (which links the findings its body names) and the change open.
/// A failure after the branch was made deletes it.
async fn publish(
    ctx: &Context<'_>,
    id: i64,
    repository: &str,
    branch_head: &str,
    commit: &str,
    prepared: Prepared,
) -> Result<(), JobError> {
    let pool = ctx.pool;
    let branch = format!("unthread/{}-{id}", prepared.slug);
    if let Err(e) = ctx.github.create_branch(repository, &branch, commit).await {
        return write_failed(pool, id, repository, &branch, e, "creating the branch").await;
    }
    for file in &prepared.files {
        let message = format!("{}: {}", prepared.commit_subject, file.path);
        if let Err(e) =
            ctx.github.put_file(repository, &branch, &file.path, &file.after, &blob_sha(&file.before), &message).await
        {
            delete_branch(ctx, repository, &branch).await;
            if e.status() == Some(http::StatusCode::CONFLICT) {
                queue_rescan(ctx, repository, branch_head, "change conflict").await;
                let reason = format!(
                    "the file {} changed since the scan of {}: {repository} is being rescanned, try again",
                    file.path,
                    short(commit)
                );
                return end(pool, id, ChangeState::Failed, reason).await;
            }
            return write_failed(pool, id, repository, &branch, e, &format!("committing {}", file.path)).await;
        }
    }
    let pull = match ctx.github.create_pull(repository, &branch, branch_head, &prepared.title, &prepared.body).await {
        Ok(pull) => pull,
        Err(e) => {
            delete_branch(ctx, repository, &branch).await;
            return write_failed(pool, id, repository, &branch, e, "opening the pull request").await;
        }
    };
    let diff: String =
        prepared.files.iter().map(|f| scanner::fix::unified_diff(&f.path, &f.before, &f.after)).collect();
    let mut tx = pool.begin().await?;
    crate::github::store::save_pull(&mut tx, repository, &pull).await?;
    let opened = changes::Opened {
        branch: &branch,
        base_commit: commit,
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

async fn delete_branch(ctx: &Context<'_>, repository: &str, branch: &str) {
    if let Err(e) = ctx.github.delete_branch(repository, branch).await {
        tracing::error!(repository, branch, "a branch made for a failed pull request was not deleted: {e}");
    }
}

async fn queue_rescan(ctx: &Context<'_>, repository: &str, commit: &str, reason: &str) {
    let spec = JobSpec::ScanRepository { target: repository.to_owned(), commit: commit.to_owned() };
    let queued = async {
        let mut conn = ctx.pool.acquire().await.map_err(|e| e.to_string())?;
        ctx.jobs.enqueue(&mut conn, spec, Priority::Push, reason).await.map_err(|e| e.to_string())
    };
    if let Err(e) = queued.await {
        tracing::warn!(repository, commit, "rescan not queued: {e}");
    }
}

pub(super) fn short(commit: &str) -> &str {
    &commit[..commit.len().min(12)]
}
