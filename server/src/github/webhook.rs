//! GitHub webhook deliveries: signature check and applying an event to the same tables the
//! sync writes. A delivery is applied once: its `X-GitHub-Delivery` id is recorded in the
//! same transaction, so a replay changes nothing.

use db::models::events::{self, About, Event, WebhookDelivery};
use db::models::{
    github::{self as github_store, ParentIssue},
    links,
};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use sqlx::PgPool;

use super::{
    model::{Issue, IssueRef, PullRequest},
    store,
};
use crate::jobs::queue::{JobSpec, Jobs, Priority};

/// True when `signature` (the `X-Hub-Signature-256` header, `sha256=<hex>`) is the
/// HMAC-SHA256 of `body` under `secret`. The comparison is constant-time.
/// Whether `signature` has the shape of one (`sha256=` and 64 hex digits), before the body is
/// read to check it.
pub fn signature_is_well_formed(signature: &str) -> bool {
    signature.trim().strip_prefix("sha256=").and_then(decode_hex).is_some()
}

pub fn signature_is_valid(secret: &[u8], body: &[u8], signature: &str) -> bool {
    let Some(hex) = signature.trim().strip_prefix("sha256=") else { return false };
    let Some(expected) = decode_hex(hex) else { return false };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else { return false };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if hex.len() != 64 {
        return None;
    }
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok()).collect()
}

#[derive(Debug, PartialEq, Eq)]
pub enum Applied {
    Processed,
    /// This delivery id was applied before.
    Replayed,
    /// An event Unthread does not use (recorded, nothing else changes).
    Ignored,
}

#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("the payload is not a valid `{event}` event: {detail}")]
    BadPayload { event: String, detail: String },
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("the job queue: {0}")]
    Queue(#[from] underway::queue::Error),
}

fn field<T: serde::de::DeserializeOwned>(
    payload: &serde_json::Value,
    event: &str,
    pointer: &str,
) -> Result<T, DeliveryError> {
    let value = payload.pointer(pointer).cloned().unwrap_or(serde_json::Value::Null);
    serde_json::from_value(value)
        .map_err(|e| DeliveryError::BadPayload { event: event.to_owned(), detail: format!("{pointer}: {e}") })
}

/// Applies one verified delivery, all or nothing: what it says is stored, and the rescan it
/// calls for is enqueued, in one transaction with the record of the delivery (a redelivery
/// changes nothing and queues nothing).
pub async fn apply(
    pool: &PgPool,
    jobs: &Jobs,
    delivery: &str,
    event: &str,
    payload: &serde_json::Value,
) -> Result<Applied, DeliveryError> {
    let action = payload.get("action").and_then(|a| a.as_str());
    let mut tx = pool.begin().await?;
    let first_time = github_store::first_delivery(&mut *tx, delivery, event, action).await?;
    if !first_time {
        return Ok(Applied::Replayed);
    }
    let mut outcome = None;
    let applied = match event {
        "ping" => Applied::Processed,
        "push" => {
            let repository: String = field(payload, event, "/repository/full_name")?;
            let git_ref: String = field(payload, event, "/ref")?;
            let after: String = field(payload, event, "/after")?;
            let before: Option<String> = field(payload, event, "/before")?;
            let deleted: Option<bool> = field(payload, event, "/deleted")?;
            let default_branch: Option<String> = field(payload, event, "/repository/default_branch")?;
            let text = rescan_for_push(
                &mut tx,
                jobs,
                &repository,
                &git_ref,
                (before.as_deref(), &after),
                deleted.unwrap_or(false),
                default_branch,
            )
            .await?;
            outcome = Some(text);
            Applied::Processed
        }
        "issues" => {
            let repository: String = field(payload, event, "/repository/full_name")?;
            let issue: Issue = field(payload, event, "/issue")?;
            store::save_issue(&mut tx, &repository, &issue, None).await?;
            Applied::Processed
        }
        "pull_request" => {
            let pull: PullRequest = field(payload, event, "/pull_request")?;
            let repository = match &pull.base.repo {
                Some(repo) => repo.full_name.clone(),
                None => field(payload, event, "/repository/full_name")?,
            };
            store::save_pull(&mut tx, &repository, &pull).await?;
            if action == Some("closed") && pull.is_merged() {
                let base: Option<String> = field(payload, event, "/pull_request/base/ref")?;
                let default_branch: Option<String> = field(payload, event, "/repository/default_branch")?;
                outcome = Some(rescan_for_merge(&mut tx, jobs, &repository, base, default_branch).await?);
            }
            Applied::Processed
        }
        "sub_issues" => {
            let parent: Issue = field(payload, event, "/parent_issue")?;
            let child: Issue = field(payload, event, "/sub_issue")?;
            let parent_repository: String = field(payload, event, "/parent_issue_repo/full_name")?;
            let child_repository: String = field(payload, event, "/sub_issue_repo/full_name")?;
            let parent_ref = IssueRef { repository: parent_repository, number: parent.number };
            match action {
                Some("sub_issue_added" | "parent_issue_added") => {
                    store::upsert_issue(&mut tx, &child_repository, &child, Some(&parent_ref)).await?;
                    links::add_sub_issue(&mut tx, child.id, &child_repository).await?;
                }
                Some("sub_issue_removed" | "parent_issue_removed") => {
                    let parent = ParentIssue { repository: &parent_ref.repository, number: parent_ref.number };
                    github_store::remove_parent(&mut *tx, child.id, parent).await?;
                }
                _ => {}
            }
            Applied::Processed
        }
        _ => Applied::Ignored,
    };
    let delivered = WebhookDelivery {
        delivery: delivery.to_owned(),
        event: event.to_owned(),
        action: action.map(str::to_owned),
        applied: applied != Applied::Ignored,
    };
    events::record(&mut *tx, &Event::GitHubWebhook(delivered), About::system()).await?;
    let outcome =
        outcome.unwrap_or_else(|| if applied == Applied::Ignored { "ignored".into() } else { "applied".into() });
    github_store::set_delivery_outcome(&mut *tx, delivery, &outcome).await?;
    tx.commit().await?;
    Ok(applied)
}

/// A push to a tracked repository's default branch: scan the pushed commit, in place of any
/// scan of an older head still waiting (the scan re-reads the watched requirements files
/// from the same archive). The push is kept as evidence of the commits' order. Returns what
/// was done.
async fn rescan_for_push(
    tx: &mut sqlx::PgConnection,
    jobs: &Jobs,
    repository: &str,
    git_ref: &str,
    (before, after): (Option<&str>, &str),
    deleted: bool,
    default_branch: Option<String>,
) -> Result<String, DeliveryError> {
    let Some(target) = db::models::targets::tracked(&mut *tx, repository).await? else {
        return Ok(format!("ignored: {repository} is not tracked"));
    };
    if !target.kind.is_repository() {
        return Ok(format!("ignored: {repository} is tracked as a dependency"));
    }
    let branch = default_branch.or(target.default_branch.clone());
    if let Some(branch) = &branch {
        db::models::targets::set_default_branch(&mut *tx, target.id, branch).await?;
    }
    let pushed_branch = git_ref.strip_prefix("refs/heads/");
    if deleted || after.bytes().all(|b| b == b'0') {
        return Ok(format!("ignored: {git_ref} was deleted"));
    }
    match (pushed_branch, branch.as_deref()) {
        (Some(pushed), Some(default)) if pushed == default => {}
        _ => return Ok(format!("ignored: {git_ref} is not the default branch")),
    }
    db::models::commit_order::record_push(&mut *tx, target.id, before.unwrap_or(""), after).await?;
    let spec = JobSpec::ScanRepository { target: repository.to_owned(), commit: after.to_owned() };
    let superseded = db::models::jobs::supersede_waiting_scans(&mut *tx, repository, &spec.key()).await?;
    let queued = jobs.enqueue(&mut *tx, spec, Priority::Push, "push").await?;
    let short = &after[..after.len().min(12)];
    Ok(match superseded {
        0 => format!("scan of {repository}@{short} queued (job {})", queued.id()),
        n => {
            format!("scan of {repository}@{short} queued (job {}) in place of {n} waiting for older heads", queued.id())
        }
    })
}

/// A pull request merged into a tracked repository's default branch: scan that branch's head.
async fn rescan_for_merge(
    tx: &mut sqlx::PgConnection,
    jobs: &Jobs,
    repository: &str,
    base: Option<String>,
    default_branch: Option<String>,
) -> Result<String, DeliveryError> {
    let Some(target) = db::models::targets::tracked(&mut *tx, repository).await? else {
        return Ok(format!("applied; {repository} is not tracked"));
    };
    let branch = default_branch.or(target.default_branch.clone());
    match (base, branch) {
        (Some(base), Some(default)) if target.kind.is_repository() && base == default => {
            let spec = JobSpec::ScanRepository { target: repository.to_owned(), commit: base.clone() };
            let queued = jobs.enqueue(&mut *tx, spec, Priority::Push, "merge").await?;
            Ok(format!("merged into {base}: scan of its head queued (job {})", queued.id()))
        }
        _ => Ok("applied; merged elsewhere than the default branch".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::signature_is_valid;

    /// GitHub's published test vector (docs: validating webhook deliveries).
    const SECRET: &[u8] = b"It's a Secret to Everybody";
    const PAYLOAD: &[u8] = b"Hello, World!";
    const SIGNATURE: &str = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    #[test]
    fn github_test_vector() {
        assert!(signature_is_valid(SECRET, PAYLOAD, SIGNATURE));
    }

    #[test]
    fn any_one_byte_change_is_rejected() {
        for i in 0..PAYLOAD.len() {
            let mut body = PAYLOAD.to_vec();
            body[i] ^= 0x01;
            assert!(!signature_is_valid(SECRET, &body, SIGNATURE), "payload byte {i}");
        }
        for i in "sha256=".len()..SIGNATURE.len() {
            let mut signature = SIGNATURE.as_bytes().to_vec();
            signature[i] = if signature[i] == b'0' { b'1' } else { b'0' };
            assert!(
                !signature_is_valid(SECRET, PAYLOAD, std::str::from_utf8(&signature).unwrap()),
                "signature byte {i}"
            );
        }
        let mut secret = SECRET.to_vec();
        secret[0] ^= 0x01;
        assert!(!signature_is_valid(&secret, PAYLOAD, SIGNATURE));
        for bad in ["", "sha256=", "sha1=7d38cdd689735b008b3c702edd92eea23791c5f6", &SIGNATURE[..SIGNATURE.len() - 2]] {
            assert!(!signature_is_valid(SECRET, PAYLOAD, bad), "{bad:?}");
        }
    }
}
