//! Teams: each repository's owner team (`targets.owner_team`, from the files in its archive
//! that say so), and per team its repositories' progress, who works on them and which claims
//! have gone quiet.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

use crate::views::Progress;
pub use crate::views::{StaleClaimRow, TeamSummary};

/// Records the team `source` says owns `target_id` (`None`: no file says).
pub async fn set_owner_team(db: impl PgExecutor<'_>, target_id: i64, team: Option<(&str, &str)>) -> sqlx::Result<()> {
    let (team, source) = team.unzip();
    sqlx::query!("UPDATE targets SET owner_team = $2, owner_team_source = $3 WHERE id = $1", target_id, team, source)
        .execute(db)
        .await?;
    Ok(())
}

/// Each repository's owner team, by repository name.
pub async fn by_target(db: impl PgExecutor<'_>) -> sqlx::Result<std::collections::HashMap<String, String>> {
    let rows = sqlx::query!(r#"SELECT name, owner_team AS "team!" FROM targets WHERE owner_team IS NOT NULL"#)
        .fetch_all(db)
        .await?;
    Ok(rows.into_iter().map(|r| (r.name, r.team)).collect())
}

/// Every team with its repositories' progress, owners and quiet claims (older than
/// `stale_days` with no activity since), largest open count first.
pub async fn summaries(db: impl PgExecutor<'_>, stale_days: i32) -> sqlx::Result<Vec<TeamSummary>> {
    let rows = sqlx::query!(
        r#"SELECT t.owner_team AS "team!",
                  array_agg(DISTINCT t.name ORDER BY t.name) AS "repositories!",
                  count(p.finding_id) FILTER (WHERE p.counts_as = 'open') AS "open!",
                  count(p.finding_id) FILTER (WHERE p.counts_as = 'fixed') AS "fixed!",
                  count(p.finding_id) FILTER (WHERE p.counts_as = 'triaged_away') AS "triaged_away!",
                  count(p.finding_id) FILTER (WHERE p.counts_as = 'migrated') AS "migrated!",
                  count(p.finding_id) FILTER (WHERE p.counts_as = 'tests_open') AS "tests_open!",
                  (SELECT coalesce(array_agg(DISTINCT person_label(u.login, u.dev_only)
                                             ORDER BY person_label(u.login, u.dev_only)), '{}')
                   FROM claims c JOIN users u ON u.id = c.owner_id
                   LEFT JOIN findings cf ON cf.id = c.finding_id
                   JOIN targets ct ON ct.id = coalesce(c.target_id, cf.target_id)
                   WHERE c.released_at IS NULL AND ct.owner_team = t.owner_team) AS "owners!",
                  (SELECT count(*) FROM stale_claims($1) s JOIN targets st ON st.id = s.target_id
                   WHERE st.owner_team = t.owner_team) AS "stale!"
           FROM targets t LEFT JOIN finding_progress p ON p.target_id = t.id
           WHERE t.owner_team IS NOT NULL
           GROUP BY t.owner_team
           ORDER BY 3 DESC, 1"#,
        stale_days
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| TeamSummary {
            team: r.team,
            repositories: r.repositories,
            progress: Progress {
                open: r.open,
                fixed: r.fixed,
                triaged_away: r.triaged_away,
                migrated: r.migrated,
                tests_open: r.tests_open,
            },
            owners: r.owners,
            stale_claims: r.stale,
        })
        .collect())
}

/// The team's quiet claims, oldest activity first.
pub async fn stale_claims(db: impl PgExecutor<'_>, team: &str, stale_days: i32) -> sqlx::Result<Vec<StaleClaimRow>> {
    sqlx::query_as!(
        StaleClaimRow,
        r#"SELECT u.login AS "owner!", u.dev_only AS "owner_simulated!", t.name AS "target!", s.finding_id,
                  (SELECT f.rule || ' in ' || f.path FROM findings f WHERE f.id = s.finding_id) AS what,
                  s.claimed_at AS "claimed_at!: DateTime<Utc>", s.last_activity AS "last_activity!: DateTime<Utc>"
           FROM stale_claims($2) s JOIN targets t ON t.id = s.target_id JOIN users u ON u.id = s.owner_id
           WHERE t.owner_team = $1
           ORDER BY s.last_activity, u.login"#,
        team,
        stale_days
    )
    .fetch_all(db)
    .await
}
