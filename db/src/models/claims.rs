//! Ownership: a contributor claims a finding or a whole target for themself, a maintainer
//! assigns one to someone, and either releases it. The database allows one active owner per
//! item (unique partial indexes on `claims`), so of two simultaneous claims exactly one
//! wins and the other learns who owns the item. Every change is an event.

use chrono::{DateTime, Utc};
use sqlx::{Acquire, PgConnection, Postgres};

pub use crate::kinds::Item;

use super::{
    events::{self, About, ClaimAssigned, ClaimChange, Event},
    users::User,
};

/// Why an ownership change did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    #[error("{0} does not exist")]
    NotFound(&'static str),
    #[error("already claimed by {owner}")]
    Taken { owner: String },
    #[error("covered by {owner}'s claim on the whole {target}")]
    CoveredByTarget { owner: String, target: String },
    #[error("this finding is no longer open")]
    NotOpen,
    #[error("nobody owns this")]
    NotClaimed,
    #[error("only the owner or a maintainer may release this")]
    NotYours,
    #[error("no user {0} has signed in to Unthread yet")]
    UnknownUser(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// The item's target, its rows locked for this transaction: every ownership change within a
/// target is serialised, so a finding claim and its target's claim cannot race.
async fn lock_item(tx: &mut PgConnection, item: Item) -> Result<(i64, String), ClaimError> {
    let row = match item {
        Item::Finding(id) => sqlx::query!(
            r#"SELECT t.id, t.name, p.state AS "state?"
                   FROM findings f JOIN targets t ON t.id = f.target_id
                   JOIN finding_progress p ON p.finding_id = f.id
                   WHERE f.id = $1
                   FOR UPDATE OF t"#,
            id
        )
        .fetch_optional(&mut *tx)
        .await?
        .map(|r| (r.id, r.name, r.state)),
        Item::Target(id) => sqlx::query!("SELECT id, name FROM targets WHERE id = $1 FOR UPDATE", id)
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| (r.id, r.name, Some("open".to_owned()))),
    };
    let what = match item {
        Item::Finding(_) => "the finding",
        Item::Target(_) => "the target",
    };
    let (target_id, target, state) = row.ok_or(ClaimError::NotFound(what))?;
    if matches!(item, Item::Finding(_)) && state.as_deref() != Some("open") {
        return Err(ClaimError::NotOpen);
    }
    Ok((target_id, target))
}

/// The active claim on exactly this item: (claim id, owner id, owner login).
async fn active_claim(tx: &mut PgConnection, item: Item) -> sqlx::Result<Option<(i64, i64, String)>> {
    let (finding, target) = split(item);
    let row = sqlx::query!(
        r#"SELECT c.id, c.owner_id, u.login FROM claims c JOIN users u ON u.id = c.owner_id
           WHERE c.released_at IS NULL
             AND (c.finding_id = $1 OR c.target_id = $2)"#,
        finding,
        target
    )
    .fetch_optional(&mut *tx)
    .await?;
    Ok(row.map(|r| (r.id, r.owner_id, r.login)))
}

fn split(item: Item) -> (Option<i64>, Option<i64>) {
    match item {
        Item::Finding(id) => (Some(id), None),
        Item::Target(id) => (None, Some(id)),
    }
}

/// Inserts an active claim unless the item has one; true when it was inserted.
async fn insert_claim(tx: &mut PgConnection, item: Item, owner: i64, by: i64, at: DateTime<Utc>) -> sqlx::Result<bool> {
    let (finding, target) = split(item);
    // The only unique indexes that can conflict are the one-owner-per-item ones: losing a
    // race is a normal outcome here, not an error.
    let inserted = sqlx::query_scalar!(
        r#"INSERT INTO claims (finding_id, target_id, owner_id, claimed_by, claimed_at) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT DO NOTHING
           RETURNING id"#,
        finding,
        target,
        owner,
        by,
        at as _
    )
    .fetch_optional(&mut *tx)
    .await?
    .is_some();
    Ok(inserted)
}

async fn release(tx: &mut PgConnection, claim_id: i64, by: i64, at: DateTime<Utc>) -> sqlx::Result<()> {
    sqlx::query!("UPDATE claims SET released_at = $3, released_by = $2 WHERE id = $1", claim_id, by, at as _)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Records an ownership change of `item` (in `target_id`) made by `actor`.
async fn record(
    tx: &mut PgConnection,
    actor: &User,
    event: Event,
    item: Item,
    target_id: i64,
    at: DateTime<Utc>,
) -> sqlx::Result<()> {
    let about = About::by(&actor.login).target(target_id).at(Some(at));
    let about = match item {
        Item::Finding(id) => about.finding(id),
        Item::Target(_) => about,
    };
    events::record(&mut *tx, &event, about).await?;
    Ok(())
}

/// `user` takes `item` for themself. Claiming what one already owns succeeds and changes
/// nothing; a finding covered by someone else's claim on its whole target is refused.
pub async fn claim<'c>(db: impl Acquire<'c, Database = Postgres>, user: &User, item: Item) -> Result<(), ClaimError> {
    claim_at(db, user, item, Utc::now()).await
}

/// [`claim`] at a given instant (a scripted or imported history). Like every ownership
/// change, it runs in its own transaction, or in a savepoint of the caller's.
pub async fn claim_at<'c>(
    db: impl Acquire<'c, Database = Postgres>,
    user: &User,
    item: Item,
    at: DateTime<Utc>,
) -> Result<(), ClaimError> {
    let mut tx = db.begin().await?;
    let (target_id, target) = lock_item(&mut tx, item).await?;
    if let Some((_, owner_id, owner)) = active_claim(&mut tx, item).await? {
        return if owner_id == user.id { Ok(()) } else { Err(ClaimError::Taken { owner }) };
    }
    if let Item::Finding(_) = item {
        if let Some((_, owner_id, owner)) = active_claim(&mut tx, Item::Target(target_id)).await? {
            if owner_id != user.id {
                return Err(ClaimError::CoveredByTarget { owner, target });
            }
        }
    }
    if !insert_claim(&mut tx, item, user.id, user.id, at).await? {
        // Another transaction won between our check and insert (possible only if it did not
        // lock the target, e.g. a manual insert); this statement sees its committed claim.
        let owner = active_claim(&mut tx, item).await?.map(|(_, _, login)| login).unwrap_or_default();
        return Err(ClaimError::Taken { owner });
    }
    let event = Event::ClaimAdded(ClaimChange { owner: user.login.clone(), item });
    record(&mut tx, user, event, item, target_id, at).await?;
    tx.commit().await?;
    Ok(())
}

/// The owner, or a maintainer, gives `item` up.
pub async fn unclaim<'c>(db: impl Acquire<'c, Database = Postgres>, user: &User, item: Item) -> Result<(), ClaimError> {
    unclaim_at(db, user, item, Utc::now()).await
}

/// [`unclaim`] at a given instant.
pub async fn unclaim_at<'c>(
    db: impl Acquire<'c, Database = Postgres>,
    user: &User,
    item: Item,
    at: DateTime<Utc>,
) -> Result<(), ClaimError> {
    let mut tx = db.begin().await?;
    let (target_id, _) = lock_item_any_state(&mut tx, item).await?;
    let (claim_id, owner_id, owner) = active_claim(&mut tx, item).await?.ok_or(ClaimError::NotClaimed)?;
    if owner_id != user.id && !user.is_maintainer() {
        return Err(ClaimError::NotYours);
    }
    release(&mut tx, claim_id, user.id, at).await?;
    record(&mut tx, user, Event::ClaimReleased(ClaimChange { owner, item }), item, target_id, at).await?;
    tx.commit().await?;
    Ok(())
}

/// A maintainer makes `assignee` the owner of `item`, replacing any current owner. The
/// caller checks that `maintainer` is one.
pub async fn assign<'c>(
    db: impl Acquire<'c, Database = Postgres>,
    maintainer: &User,
    item: Item,
    assignee: &str,
) -> Result<(), ClaimError> {
    assign_at(db, maintainer, item, assignee, Utc::now()).await
}

/// [`assign`] at a given instant.
pub async fn assign_at<'c>(
    db: impl Acquire<'c, Database = Postgres>,
    maintainer: &User,
    item: Item,
    assignee: &str,
    at: DateTime<Utc>,
) -> Result<(), ClaimError> {
    let mut tx = db.begin().await?;
    let (target_id, _) = lock_item(&mut tx, item).await?;
    let assignee = super::users::by_login(&mut *tx, assignee.trim_start_matches('@'))
        .await?
        .ok_or_else(|| ClaimError::UnknownUser(assignee.to_owned()))?;
    let previous = active_claim(&mut tx, item).await?;
    if let Some((_, owner_id, _)) = &previous {
        if *owner_id == assignee.id {
            return Ok(());
        }
    }
    if let Some((claim_id, _, _)) = &previous {
        release(&mut tx, *claim_id, maintainer.id, at).await?;
    }
    if !insert_claim(&mut tx, item, assignee.id, maintainer.id, at).await? {
        return Err(ClaimError::Taken { owner: "someone else".into() });
    }
    let previous = previous.map(|(_, _, login)| login);
    let event = Event::ClaimAssigned(ClaimAssigned { owner: assignee.login, previous, item });
    record(&mut tx, maintainer, event, item, target_id, at).await?;
    tx.commit().await?;
    Ok(())
}

/// [`cleared_by_bump`], refused when there is nothing: no such bump.
async fn bump_to_take(tx: &mut PgConnection, target_id: i64, version: &str) -> Result<Vec<i64>, ClaimError> {
    let findings = cleared_by_bump(tx, target_id, version).await?;
    if findings.is_empty() {
        return Err(ClaimError::NotFound("a bump clearing open findings"));
    }
    Ok(findings)
}

/// The open findings of dependency `target_id` that its release `version` no longer has:
/// what bumping the pin to it clears.
async fn cleared_by_bump(tx: &mut PgConnection, target_id: i64, version: &str) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar!(
        "SELECT f.id FROM findings f JOIN release_scans rs ON rs.target_id = f.target_id AND rs.version = $2
         WHERE f.target_id = $1 AND finding_state(f.rule, f.fixed_in_scan, f.triage) = 'open'
           AND NOT release_has(rs, f)
         ORDER BY f.id",
        target_id,
        version
    )
    .fetch_all(&mut *tx)
    .await
}

/// `user` takes the bump of dependency `target_id` to `version`: the open findings that
/// release clears, not the dependency (its other findings need an upstream fix, and whoever
/// takes those is not taking this bump). Findings someone else owns stay theirs; refused when
/// every one has another owner. One transaction; returns how many the user now owns.
pub async fn claim_bump<'c>(
    db: impl Acquire<'c, Database = Postgres>,
    user: &User,
    target_id: i64,
    version: &str,
) -> Result<usize, ClaimError> {
    let mut tx = db.begin().await?;
    let findings = bump_to_take(&mut tx, target_id, version).await?;
    let (mut claimed, mut other_owner) = (0, None);
    for id in findings {
        match claim_at(&mut *tx, user, Item::Finding(id), Utc::now()).await {
            Ok(()) => claimed += 1,
            Err(ClaimError::Taken { owner } | ClaimError::CoveredByTarget { owner, .. }) => other_owner = Some(owner),
            Err(err) => return Err(err),
        }
    }
    if claimed == 0 {
        return Err(ClaimError::Taken { owner: other_owner.unwrap_or_default() });
    }
    tx.commit().await?;
    Ok(claimed)
}

/// Releases the claims on what the bump of `target_id` to `version` clears: `user`'s own (a
/// maintainer: anyone's). One transaction; refused when there is none.
pub async fn unclaim_bump<'c>(
    db: impl Acquire<'c, Database = Postgres>,
    user: &User,
    target_id: i64,
    version: &str,
) -> Result<usize, ClaimError> {
    let mut tx = db.begin().await?;
    let (mut released, mut others) = (0, 0);
    for id in cleared_by_bump(&mut tx, target_id, version).await? {
        let Some((_, owner_id, _)) = active_claim(&mut tx, Item::Finding(id)).await? else { continue };
        if owner_id == user.id || user.is_maintainer() {
            unclaim_at(&mut *tx, user, Item::Finding(id), Utc::now()).await?;
            released += 1;
        } else {
            others += 1;
        }
    }
    match (released, others) {
        (0, 0) => return Err(ClaimError::NotClaimed),
        (0, _) => return Err(ClaimError::NotYours),
        _ => {}
    }
    tx.commit().await?;
    Ok(released)
}

/// A maintainer makes `assignee` the owner of what the bump of `target_id` to `version`
/// clears. One transaction.
pub async fn assign_bump<'c>(
    db: impl Acquire<'c, Database = Postgres>,
    maintainer: &User,
    target_id: i64,
    version: &str,
    assignee: &str,
) -> Result<usize, ClaimError> {
    let mut tx = db.begin().await?;
    let findings = bump_to_take(&mut tx, target_id, version).await?;
    let count = findings.len();
    for id in findings {
        assign_at(&mut *tx, maintainer, Item::Finding(id), assignee, Utc::now()).await?;
    }
    tx.commit().await?;
    Ok(count)
}

/// Like `lock_item`, without requiring the finding to be open: releasing a claim on a
/// finding that was fixed meanwhile must stay possible.
async fn lock_item_any_state(tx: &mut PgConnection, item: Item) -> Result<(i64, String), ClaimError> {
    let target = match item {
        Item::Finding(id) => sqlx::query!(
            "SELECT t.id, t.name FROM findings f JOIN targets t ON t.id = f.target_id WHERE f.id = $1 FOR UPDATE OF t",
            id
        )
        .fetch_optional(&mut *tx)
        .await?
        .map(|r| (r.id, r.name)),
        Item::Target(id) => sqlx::query!("SELECT id, name FROM targets WHERE id = $1 FOR UPDATE", id)
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| (r.id, r.name)),
    };
    target.ok_or(ClaimError::NotFound(match item {
        Item::Finding(_) => "the finding",
        Item::Target(_) => "the target",
    }))
}

/// The items `owner` holds in `target_id`: a claim on the target itself, and claims on its
/// findings that are still open.
pub async fn held_in_target(db: &mut PgConnection, owner: i64, target_id: i64) -> sqlx::Result<Vec<Item>> {
    let rows = sqlx::query!(
        "SELECT c.finding_id, c.target_id FROM claims c
         WHERE c.owner_id = $1 AND c.released_at IS NULL
           AND (c.target_id = $2
                OR c.finding_id IN (SELECT id FROM findings WHERE target_id = $2 AND fixed_in_scan IS NULL))
         ORDER BY c.id",
        owner,
        target_id
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| match r.finding_id {
            Some(id) => Item::Finding(id),
            None => Item::Target(r.target_id.unwrap_or(target_id)),
        })
        .collect())
}
