//! The state of findings, claims, links and GitHub items at past instants, replayed from
//! what is never rewritten: scan events (`findings.new/fixed/reopened` with their
//! `finding_ids`), triage events, claim periods (`claimed_at`/`released_at`), link periods
//! and GitHub timestamps. Anything that happens after an instant leaves what these
//! functions say about it unchanged, so an old week's report can be regenerated exactly.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

type Instant = DateTime<Utc>;

/// A read-only transaction that sees one consistent snapshot of the database for all its
/// statements: a report built in it is not torn by a scan committing half-way through.
pub async fn snapshot(pool: &sqlx::PgPool) -> sqlx::Result<sqlx::Transaction<'static, sqlx::Postgres>> {
    let mut tx = pool.begin().await?;
    sqlx::query!("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").execute(&mut *tx).await?;
    Ok(tx)
}

/// A finding that existed by the end of a period, in its state at both ends.
#[derive(Clone, Debug, PartialEq)]
pub struct FindingPeriod {
    pub id: i64,
    pub target_id: i64,
    pub rule: String,
    pub path: String,
    pub symbol: Option<String>,
    /// What it counts as in progress (`progress_bucket()`: open, fixed, triaged_away — the
    /// scope —, migrated, tests_open, or `uncounted`: a UT100 finding that went away, a
    /// fixed or triaged-away test finding) at the start; `None`: not seen yet.
    pub state_at_start: Option<String>,
    pub state_at_end: String,
    /// In test code: out of the scope.
    pub in_tests: bool,
    pub first_seen_at: Instant,
    /// The last scan within the period that stopped seeing it.
    pub fixed_at: Option<Instant>,
    /// Seen again within the period after a scan had stopped seeing it.
    pub reopened: bool,
    /// For a UT011 finding: the package whose thread-local-backed API it calls.
    pub api_package: Option<String>,
    /// For a UT011 finding: the thread local its chain ends at (`crum._thread_locals`).
    pub api_holder: Option<String>,
    /// When its code runs, as its latest scan found (`findings.runs_at`; `None`: not analysed).
    pub runs_at: Option<String>,
}

impl FindingPeriod {
    /// Counted in progress at the end of the period: work to do, done or set aside — not a
    /// context variable already in place, not test code.
    pub fn in_scope(&self) -> bool {
        matches!(self.state_at_end.as_str(), "open" | "fixed" | "triaged_away")
    }
}

/// Every finding first seen before `end`, with its state at `start` and at `end`.
pub async fn findings(db: impl PgExecutor<'_>, start: Instant, end: Instant) -> sqlx::Result<Vec<FindingPeriod>> {
    sqlx::query_as!(
        FindingPeriod,
        r#"WITH scan_changes AS (
               SELECT x.id AS finding_id, e.at, e.id AS event_id, e.kind
               FROM events e CROSS JOIN LATERAL unnest(e.finding_ids) AS x(id)
               WHERE e.kind IN ('findings.new', 'findings.fixed', 'findings.reopened') AND e.at < $2
           ),
           presence AS (
               SELECT finding_id,
                      (array_agg(kind ORDER BY at DESC, event_id DESC) FILTER (WHERE at < $1))[1] AS at_start,
                      (array_agg(kind ORDER BY at DESC, event_id DESC))[1] AS at_end,
                      min(at) AS first_seen_at,
                      max(at) FILTER (WHERE kind = 'findings.fixed' AND at >= $1) AS fixed_at,
                      coalesce(bool_or(kind = 'findings.reopened' AND at >= $1), false) AS reopened
               FROM scan_changes GROUP BY finding_id
           ),
           -- Triage at an instant: the last decision before it, else what the first decision
           -- after it changed from, else the finding's triage (never changed).
           triage AS (
               SELECT finding_id,
                      (array_agg(data->>'to' ORDER BY at DESC, id DESC) FILTER (WHERE at < $1))[1] AS to_before_start,
                      (array_agg(data->>'from' ORDER BY at, id) FILTER (WHERE at >= $1))[1] AS from_after_start,
                      (array_agg(data->>'to' ORDER BY at DESC, id DESC) FILTER (WHERE at < $2))[1] AS to_before_end,
                      (array_agg(data->>'from' ORDER BY at, id) FILTER (WHERE at >= $2))[1] AS from_after_end
               FROM events WHERE kind = 'finding.triaged' AND finding_id IS NOT NULL
               GROUP BY finding_id
           )
           SELECT f.id, f.target_id, f.rule, f.path, f.symbol,
                  CASE WHEN p.at_start IS NOT NULL THEN
                      coalesce(progress_bucket(finding_state(f.rule, CASE WHEN p.at_start = 'findings.fixed' THEN 0 END,
                                                             coalesce(t.to_before_start, t.from_after_start, f.triage)),
                                               f.in_tests), 'uncounted')
                  END AS state_at_start,
                  coalesce(progress_bucket(finding_state(f.rule, CASE WHEN p.at_end = 'findings.fixed' THEN 0 END,
                                                         coalesce(t.to_before_end, t.from_after_end, f.triage)),
                                           f.in_tests), 'uncounted') AS "state_at_end!",
                  f.in_tests AS "in_tests!",
                  p.first_seen_at AS "first_seen_at!: Instant",
                  p.fixed_at AS "fixed_at: Instant",
                  p.reopened AS "reopened!",
                  CASE WHEN f.rule = 'UT011' THEN ut011_package(f.message) END AS api_package,
                  CASE WHEN f.rule = 'UT011' THEN ut011_holder(f.message) END AS api_holder,
                  f.runs_at
           FROM presence p
           JOIN findings f ON f.id = p.finding_id
           LEFT JOIN triage t ON t.finding_id = f.id
           ORDER BY f.id"#,
        start as _,
        end as _
    )
    .fetch_all(db)
    .await
}

/// A triage decision.
#[derive(Clone, Debug, PartialEq)]
pub struct TriageChange {
    pub finding_id: i64,
    pub at: Instant,
    pub by: Option<String>,
    pub from: String,
    pub to: String,
    pub reason: Option<String>,
}

/// Triage decisions made in [start, end), in order.
pub async fn triage_changes(db: impl PgExecutor<'_>, start: Instant, end: Instant) -> sqlx::Result<Vec<TriageChange>> {
    sqlx::query_as!(
        TriageChange,
        r#"SELECT finding_id AS "finding_id!", at AS "at: Instant", actor AS by,
                  coalesce(data->>'from', '') AS "from!", coalesce(data->>'to', '') AS "to!", data->>'reason' AS reason
           FROM events
           WHERE kind = 'finding.triaged' AND finding_id IS NOT NULL AND at >= $1 AND at < $2
           ORDER BY at, id"#,
        start as _,
        end as _
    )
    .fetch_all(db)
    .await
}

/// A period of ownership, as it stood at the end of the period asked about.
#[derive(Clone, Debug, PartialEq)]
pub struct ClaimPeriod {
    pub finding_id: Option<i64>,
    pub target_id: Option<i64>,
    pub owner: String,
    /// The owner (a claim) or the maintainer who assigned it.
    pub claimed_by: String,
    pub claimed_at: Instant,
    /// Only a release before the end of the period counts.
    pub released_at: Option<Instant>,
    pub released_by: Option<String>,
    /// The owner's last recorded action on the item (an event they made on it, or a pull
    /// request linked to it opened or merged) before the end, or the claim itself.
    pub last_activity_at: Instant,
}

impl ClaimPeriod {
    pub fn active_at(&self, instant: Instant) -> bool {
        self.claimed_at <= instant && self.released_at.is_none_or(|released| released > instant)
    }
}

/// Every claim made before `end`, releases after `end` ignored.
pub async fn claims(db: impl PgExecutor<'_>, end: Instant) -> sqlx::Result<Vec<ClaimPeriod>> {
    sqlx::query_as!(
        ClaimPeriod,
        r#"SELECT c.finding_id, c.target_id, owner.login AS owner, by_user.login AS claimed_by,
                  c.claimed_at AS "claimed_at: Instant",
                  CASE WHEN c.released_at < $1 THEN c.released_at END AS "released_at: Instant",
                  CASE WHEN c.released_at < $1 THEN released_by.login END AS released_by,
                  greatest(
                      c.claimed_at,
                      (SELECT max(e.at) FROM events e
                       WHERE e.actor = owner.login AND e.at < $1 AND e.at >= c.claimed_at
                         AND (e.finding_id = c.finding_id OR (c.target_id IS NOT NULL AND e.target_id = c.target_id))),
                      (SELECT max(greatest(p.created_at, CASE WHEN p.merged_at < $1 THEN p.merged_at END))
                       FROM links l JOIN gh_pulls p ON p.id = l.pull_id
                       LEFT JOIN findings lf ON lf.id = l.finding_id
                       WHERE p.created_at < $1 AND l.created_at < $1
                         AND (l.finding_id = c.finding_id OR l.target_id = c.target_id OR lf.target_id = c.target_id))
                  ) AS "last_activity_at!: Instant"
           FROM claims c
           JOIN users owner ON owner.id = c.owner_id
           JOIN users by_user ON by_user.id = c.claimed_by
           LEFT JOIN users released_by ON released_by.id = c.released_by
           WHERE c.claimed_at < $1
           ORDER BY c.claimed_at, c.id"#,
        end as _
    )
    .fetch_all(db)
    .await
}

/// A pull request linked (at the end of the period) to a finding or a target.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkedPull {
    pub finding_id: Option<i64>,
    pub target_id: Option<i64>,
    pub pull: GitHubSnapshot,
    pub files: Vec<String>,
}

/// An issue or pull request as it stood at the end of the period: its title, URL and
/// author as last synced; open, closed or merged as its timestamps say.
#[derive(Clone, Debug, PartialEq)]
pub struct GitHubSnapshot {
    pub repository: String,
    pub number: i32,
    pub title: String,
    pub url: String,
    pub author: Option<String>,
    pub created_at: Instant,
    pub closed_at: Option<Instant>,
    pub merged_at: Option<Instant>,
    /// Who closed it, as its timeline says (never its author): the pull request whose merge
    /// commit closed it (`owner/repo#n`, its URL and author), else the actor of the event.
    pub closed_by: Option<Closer>,
}

/// What closed an issue.
#[derive(Clone, Debug, PartialEq)]
pub enum Closer {
    Pull { reference: String, url: String, author: Option<String> },
    Actor(String),
}

impl Closer {
    fn from_columns(
        pull: Option<String>,
        url: Option<String>,
        author: Option<String>,
        actor: Option<String>,
    ) -> Option<Closer> {
        match (pull, url, actor) {
            (Some(reference), Some(url), _) => Some(Closer::Pull { reference, url, author }),
            (_, _, Some(actor)) => Some(Closer::Actor(actor)),
            _ => None,
        }
    }
}

/// Links to pull requests that existed at `end` (made before it, not removed before it).
pub async fn linked_pulls(db: impl PgExecutor<'_>, end: Instant) -> sqlx::Result<Vec<LinkedPull>> {
    let rows = sqlx::query!(
        r#"SELECT l.finding_id, l.target_id, p.repository, p.number, p.title, p.html_url, p.author,
                  p.created_at AS "created_at: Instant",
                  CASE WHEN p.closed_at < $1 THEN p.closed_at END AS "closed_at: Instant",
                  CASE WHEN p.merged_at < $1 THEN p.merged_at END AS "merged_at: Instant",
                  coalesce(p.files, '{}') AS "files!"
           FROM links l JOIN gh_pulls p ON p.id = l.pull_id
           -- A derived link states a fact about the pull request (its text, its files): it held
           -- once the pull request existed, whenever a sync noticed it. A manual one from when made.
           WHERE (l.how <> 'manual' OR l.created_at < $1) AND (l.removed_at IS NULL OR l.removed_at >= $1)
             AND p.created_at < $1
           ORDER BY p.repository, p.number, l.id"#,
        end as _
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| LinkedPull {
            finding_id: r.finding_id,
            target_id: r.target_id,
            pull: GitHubSnapshot {
                repository: r.repository,
                number: r.number,
                title: r.title,
                url: r.html_url,
                author: r.author,
                created_at: r.created_at,
                closed_at: r.closed_at,
                merged_at: r.merged_at,
                closed_by: None,
            },
            files: r.files,
        })
        .collect())
}

/// Sub-issues (issues with a parent) opened or closed in [start, end).
pub async fn sub_issues_changed(
    db: impl PgExecutor<'_>,
    start: Instant,
    end: Instant,
) -> sqlx::Result<Vec<GitHubSnapshot>> {
    let rows = sqlx::query!(
        r#"SELECT i.repository, i.number, i.title, i.html_url AS url, i.author,
                  i.created_at AS "created_at: Instant",
                  CASE WHEN i.closed_at < $2 THEN i.closed_at END AS "closed_at: Instant",
                  p.repository || '#' || p.number AS closing_pull, p.html_url AS "closing_pull_url?",
                  p.author AS closing_pull_author, i.closed_by_actor
           FROM gh_issues i
           LEFT JOIN gh_pulls p ON p.merge_commit_sha = i.closed_by_commit AND i.closed_at < $2
           WHERE i.parent_number IS NOT NULL
             AND ((i.created_at >= $1 AND i.created_at < $2) OR (i.closed_at >= $1 AND i.closed_at < $2))
           ORDER BY i.repository, i.number"#,
        start as _,
        end as _
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| GitHubSnapshot {
            closed_by: r.closed_at.and_then(|_| {
                Closer::from_columns(r.closing_pull, r.closing_pull_url, r.closing_pull_author, r.closed_by_actor)
            }),
            repository: r.repository,
            number: r.number,
            title: r.title,
            url: r.url,
            author: r.author,
            created_at: r.created_at,
            closed_at: r.closed_at,
            merged_at: None,
        })
        .collect())
}

/// The sub-issues open at `end` that nobody was assigned to then, by the assignee changes
/// GitHub showed before it (`github.assignees` events; none: nobody), oldest first.
pub async fn unassigned_sub_issues(db: impl PgExecutor<'_>, end: Instant) -> sqlx::Result<Vec<GitHubSnapshot>> {
    let rows = sqlx::query!(
        // The latest change of each issue's assignees before `end`, read in one pass.
        r#"WITH latest AS (
               SELECT DISTINCT ON (e.data->>'repository', e.data->>'number')
                      e.data->>'repository' AS repository, (e.data->>'number')::int AS number,
                      jsonb_array_length(e.data->'assignees') AS assigned
               FROM events e
               WHERE e.kind = 'github.assignees' AND e.at < $1
               ORDER BY e.data->>'repository', e.data->>'number', e.at DESC, e.id DESC
           )
           SELECT i.repository, i.number, i.title, i.html_url AS url, i.author, i.created_at AS "created_at: Instant"
           FROM gh_issues i
           LEFT JOIN latest l ON l.repository = i.repository AND l.number = i.number
           WHERE i.parent_number IS NOT NULL AND i.created_at < $1 AND (i.closed_at IS NULL OR i.closed_at >= $1)
             AND coalesce(l.assigned, 0) = 0
           ORDER BY i.created_at, i.repository, i.number"#,
        end as _
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| GitHubSnapshot {
            repository: r.repository,
            number: r.number,
            title: r.title,
            url: r.url,
            author: r.author,
            created_at: r.created_at,
            closed_at: None,
            merged_at: None,
            closed_by: None,
        })
        .collect())
}

/// Unthread's changes whose pull request was opened, merged, or closed without merging in
/// [start, end), by their events.
pub async fn changes_between(db: impl PgExecutor<'_>, start: Instant, end: Instant) -> sqlx::Result<(i64, i64, i64)> {
    let row = sqlx::query!(
        r#"SELECT count(*) FILTER (WHERE kind = 'change.opened') AS "opened!",
                  count(*) FILTER (WHERE kind = 'change.merged') AS "merged!",
                  count(*) FILTER (WHERE kind = 'change.closed') AS "closed!"
           FROM events WHERE kind IN ('change.opened', 'change.merged', 'change.closed') AND at >= $1 AND at < $2"#,
        start as _,
        end as _
    )
    .fetch_one(db)
    .await?;
    Ok((row.opened, row.merged, row.closed))
}

/// Pull requests merged in [start, end).
pub async fn pulls_merged(db: impl PgExecutor<'_>, start: Instant, end: Instant) -> sqlx::Result<Vec<GitHubSnapshot>> {
    let rows = sqlx::query!(
        r#"SELECT repository, number, title, html_url AS url, author,
                  created_at AS "created_at: Instant", closed_at AS "closed_at: Instant", merged_at AS "merged_at: Instant"
           FROM gh_pulls
           WHERE merged_at >= $1 AND merged_at < $2
           ORDER BY merged_at, repository, number"#,
        start as _,
        end as _
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| GitHubSnapshot {
            repository: r.repository,
            number: r.number,
            title: r.title,
            url: r.url,
            author: r.author,
            created_at: r.created_at,
            closed_at: r.closed_at,
            merged_at: r.merged_at,
            closed_by: None,
        })
        .collect())
}

/// A target as the report names it.
#[derive(Clone, Debug, PartialEq)]
pub struct TargetInfo {
    pub id: i64,
    pub name: String,
    pub kind: crate::kinds::TargetKind,
    /// For dependencies: the repositories whose requirement files pin it.
    pub pinned_by: Vec<String>,
    /// The names UT011's messages give its APIs: its own and its distributions'.
    pub api_names: Vec<String>,
    /// Its last scan finished before the report's end read only this many of its files, for
    /// this reason (`scans.scope_paths`, `scope_why`).
    pub scope_files: Option<i32>,
    pub scope_why: Option<String>,
}

/// Every target, with who pins the dependencies and what its last scan before `end` read
/// when it read only some files.
pub async fn targets(db: impl PgExecutor<'_>, end: DateTime<Utc>) -> sqlx::Result<Vec<TargetInfo>> {
    sqlx::query_as!(
        TargetInfo,
        r#"SELECT t.id, t.name, t.kind AS "kind: crate::kinds::TargetKind",
                  ARRAY(SELECT DISTINCT repo.name
                        FROM target_packages tp
                        JOIN package_pins pp ON pp.package_id = tp.package_id
                        JOIN requirement_files rf ON rf.id = pp.requirement_file_id
                        JOIN targets repo ON repo.id = rf.target_id
                        WHERE tp.target_id = t.id AND repo.id <> t.id
                        ORDER BY 1) AS "pinned_by!",
                  ARRAY(SELECT t.name UNION SELECT p.name FROM target_packages tp JOIN packages p ON p.id = tp.package_id
                        WHERE tp.target_id = t.id ORDER BY 1) AS "api_names!",
                  cardinality(ls.scope_paths) AS "scope_files?", ls.scope_why AS "scope_why?"
           FROM targets t
           LEFT JOIN LATERAL (
               SELECT s.scope_paths, s.scope_why FROM scans s
               WHERE s.target_id = t.id AND s.status <> 'running' AND s.finished_at < $1
               ORDER BY s.finished_at DESC, s.id DESC LIMIT 1
           ) ls ON true
           ORDER BY lower(t.name), t.name"#,
        end as _
    )
    .fetch_all(db)
    .await
}
