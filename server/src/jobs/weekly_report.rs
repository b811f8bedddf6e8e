//! The weekly report's jobs: posting it to the epic on GitHub (once per week and issue
//! unless forced, or updating the earlier comment), writing its files, and the optional
//! schedule in `serve` that does both every week.

use std::{path::Path, sync::Arc};

use app::report::{
    publish::{PostMode, Posted, PublishError, PublishFuture, Publisher},
    Format, IsoWeek, WeeklyReport,
};
use chrono::{DateTime, Datelike, NaiveTime, Utc, Weekday};
use chrono_tz::Tz;
use db::models::{
    events::{self, About, Event, ReportPosted},
    locks,
    reports::{self, NewPost, ReportPost},
};
use sqlx::PgPool;

use crate::github::{GitHub, IssueRef};

/// Posts `markdown` (the report of `week`) as a comment on `issue`.
///
/// One post per week and issue at a time, across processes (an advisory lock), so the
/// scheduled job of two servers and a maintainer's click cannot post twice. The lock is the
/// transaction's: a post abandoned half-way (its request timed out, the client left) rolls
/// back and releases it, where a session lock would have gone back to the pool with its
/// connection, held, and made every later post of that week wait.
pub async fn post(
    pool: &PgPool,
    github: &GitHub,
    issue: &IssueRef,
    week: &str,
    markdown: &str,
    mode: PostMode,
    by: Option<&str>,
) -> Result<Posted, PublishError> {
    let failed = |message: String| PublishError { conflict: false, message };
    let db = |e: sqlx::Error| failed(format!("database: {e}"));
    let digest = format!("{:016x}", xxhash_rust::xxh3::xxh3_64(markdown.as_bytes()));
    let mut conn = pool.begin().await.map_err(db)?;
    let lock_key = format!("report_post:{issue}:{week}");
    locks::for_transaction(&mut conn, &lock_key, 0).await.map_err(db)?;
    let result = async {
        let earlier = reports::latest_post(&mut *conn, &issue.repository, issue.number, week).await.map_err(db)?;
        let github_error = |e: crate::github::GitHubError| failed(format!("GitHub refused the comment: {e}"));
        let (action, url) = match (mode, earlier) {
            (PostMode::Once, Some(ReportPost { html_url: url, .. })) => {
                return Err(PublishError {
                    conflict: true,
                    message: format!(
                        "{week} was already posted to {issue} ({url}); update that comment or post another one"
                    ),
                });
            }
            (PostMode::Update, Some(earlier)) if earlier.body_digest == digest => ("unchanged", earlier.html_url),
            (PostMode::Update, Some(earlier)) => {
                let comment = github
                    .update_comment(&issue.repository, earlier.comment_id as u64, markdown)
                    .await
                    .map_err(github_error)?;
                reports::record_update(&mut *conn, earlier.id, &digest, &comment.html_url).await.map_err(db)?;
                ("updated", comment.html_url)
            }
            (_, _) => {
                let comment = github.create_comment(issue, markdown).await.map_err(github_error)?;
                let post = NewPost {
                    week,
                    repository: &issue.repository,
                    number: issue.number,
                    comment_id: comment.id as i64,
                    html_url: &comment.html_url,
                    posted_by: by,
                    body_digest: &digest,
                };
                reports::record_post(&mut *conn, post).await.map_err(db)?;
                ("posted", comment.html_url)
            }
        };
        if action != "unchanged" {
            let event = Event::ReportPosted(ReportPosted {
                week: week.to_string(),
                issue: issue.to_string(),
                action: action.to_owned(),
                url: url.clone(),
            });
            let about = About { actor: by, ..About::system() };
            events::record(&mut *conn, &event, about).await.map_err(db)?;
        }
        Ok(Posted { action: action.to_owned(), url })
    }
    .await;
    if result.is_ok() {
        conn.commit().await.map_err(db)?;
    }
    result
}

/// Posts reports to one issue: what the web page's "Post" button uses.
pub struct GitHubPublisher {
    pub pool: PgPool,
    pub github: GitHub,
    pub issue: IssueRef,
}

impl std::fmt::Debug for GitHubPublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitHubPublisher").field("issue", &self.issue.to_string()).finish()
    }
}

impl Publisher for GitHubPublisher {
    fn destination(&self) -> String {
        self.issue.to_string()
    }

    fn publish<'a>(
        &'a self,
        week: &'a str,
        markdown: &'a str,
        mode: PostMode,
        by: Option<&'a str>,
    ) -> PublishFuture<'a> {
        Box::pin(post(&self.pool, &self.github, &self.issue, week, markdown, mode, by))
    }
}

/// Writes the report in every format into `dir` (created if missing), each file written
/// to a temporary name first and renamed, so a reader never sees half a file.
pub fn write_files(report: &WeeklyReport, dir: &Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    for format in Format::ALL {
        let path = dir.join(report.file_name(format));
        let partial = dir.join(format!(".{}.part", report.file_name(format)));
        std::fs::write(&partial, report.render(format))?;
        std::fs::rename(&partial, &path)?;
        written.push(path);
    }
    Ok(written)
}

/// When the scheduled export runs: a weekday and a time of day in a timezone. Each run
/// exports the last complete week.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Schedule {
    pub weekday: Weekday,
    pub time: NaiveTime,
}

impl std::str::FromStr for Schedule {
    type Err = String;

    /// `mon 09:00`, `friday 17:30`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || format!("{text:?} is not a schedule: write a weekday and a time, like \"mon 09:00\"");
        let (day, time) = text.trim().split_once(char::is_whitespace).ok_or_else(bad)?;
        let weekday: Weekday = day.trim().parse().map_err(|_| bad())?;
        let time = NaiveTime::parse_from_str(time.trim(), "%H:%M").map_err(|_| bad())?;
        Ok(Self { weekday, time })
    }
}

impl Schedule {
    /// The week due for export at `now`: the one before the current week once this week's
    /// run time has passed, else none.
    pub fn due(&self, now: DateTime<Utc>, tz: Tz) -> Option<IsoWeek> {
        let local = now.with_timezone(&tz);
        let this_week = IsoWeek::containing(now, tz);
        let run_day = this_week.monday() + chrono::Days::new(u64::from(self.weekday.num_days_from_monday()));
        let passed = (local.date_naive(), local.time()) >= (run_day, self.time)
            || local.date_naive().weekday().num_days_from_monday() > self.weekday.num_days_from_monday();
        passed.then(|| this_week.previous())
    }
}

/// What the scheduled export does.
#[derive(Clone)]
pub struct ScheduledExport {
    pub schedule: Schedule,
    pub options: app::report::Options,
    pub directory: Option<std::path::PathBuf>,
    pub publisher: Option<Arc<GitHubPublisher>>,
}

/// The scheduled export of `week` (a `weekly_report` job; the schedule enqueues one per
/// week when it falls due).
pub async fn export_week(pool: &PgPool, export: &ScheduledExport, week: &str) -> anyhow::Result<Option<String>> {
    let week: IsoWeek = week.parse().map_err(anyhow::Error::msg)?;
    run_once(pool, export, week).await
}

/// Exports `week` unless some process already did; returns what was done.
pub async fn run_once(pool: &PgPool, export: &ScheduledExport, week: IsoWeek) -> anyhow::Result<Option<String>> {
    if !reports::claim_scheduled_run(pool, &week.to_string()).await? {
        return Ok(None);
    }
    let outcome = async {
        let options = app::report::Options { week, ..export.options.clone() };
        let report = app::report::build(pool, &options).await?;
        let mut done = Vec::new();
        if let Some(dir) = &export.directory {
            let files = write_files(&report, dir)?;
            done.push(format!("wrote {} files to {}", files.len(), dir.display()));
        }
        if let Some(publisher) = &export.publisher {
            let markdown = report.render(Format::Markdown);
            match post(pool, &publisher.github, &publisher.issue, &report.week, &markdown, PostMode::Once, None).await {
                Ok(posted) => done.push(format!("{} {}", posted.action, posted.url)),
                Err(e) if e.conflict => done.push(e.message),
                Err(e) => anyhow::bail!(e.message),
            }
        }
        Ok::<_, anyhow::Error>(done.join("; "))
    }
    .await;
    let text = match &outcome {
        Ok(done) => done.clone(),
        Err(e) => format!("failed: {e}"),
    };
    reports::finish_scheduled_run(pool, &week.to_string(), &text).await?;
    tracing::info!(%week, "scheduled weekly report: {text}");
    outcome.map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn schedules_parse_and_fall_due_after_their_time() {
        let schedule: Schedule = "mon 09:00".parse().unwrap();
        assert!("someday 9".parse::<Schedule>().is_err());
        assert!("mon".parse::<Schedule>().is_err());
        let monday_8 = Utc.with_ymd_and_hms(2026, 11, 23, 8, 59, 0).unwrap();
        let monday_9 = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap();
        let wednesday = Utc.with_ymd_and_hms(2026, 11, 25, 1, 0, 0).unwrap();
        assert_eq!(schedule.due(monday_8, chrono_tz::UTC), None);
        assert_eq!(schedule.due(monday_9, chrono_tz::UTC).unwrap().to_string(), "2026-W47");
        assert_eq!(schedule.due(wednesday, chrono_tz::UTC).unwrap().to_string(), "2026-W47");
        // 09:00 in Paris is 08:00 UTC.
        let paris_9 = Utc.with_ymd_and_hms(2026, 11, 23, 8, 0, 0).unwrap();
        assert_eq!(schedule.due(paris_9, chrono_tz::Europe::Paris).unwrap().to_string(), "2026-W47");
        let friday: Schedule = "fri 17:30".parse().unwrap();
        assert_eq!(friday.due(wednesday, chrono_tz::UTC), None);
    }
}
