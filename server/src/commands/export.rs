//! `unthread export weekly`: a week's status report as Markdown, CSV or JSON, to a file or
//! standard output, and optionally posted to the epic on GitHub.

use std::io::Write;

use app::report::{publish::PostMode, Format};
use sqlx::PgPool;

use crate::{
    cli::{ExportArgs, ExportCommand, ReportArgs, WeeklyArgs},
    github::GitHub,
};

pub async fn export(pool: &PgPool, args: ExportArgs) -> anyhow::Result<()> {
    match args.command {
        ExportCommand::Weekly(weekly) => export_weekly(pool, weekly).await,
    }
}

async fn export_weekly(pool: &PgPool, args: WeeklyArgs) -> anyhow::Result<()> {
    let format = Format::parse(&args.format)
        .ok_or_else(|| anyhow::anyhow!("unknown format {:?}: use md, csv, changes-csv or json", args.format))?;
    let options = report_options(&args.report, args.week.as_deref())?;
    let report = app::report::build(pool, &options).await?;
    let text = report.render(format);
    match &args.out {
        Some(path) => {
            // Written whole to a temporary file beside it, then renamed: an interrupted
            // export never leaves half a report under the final name.
            let partial = path.with_extension("part");
            std::fs::write(&partial, &text).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", partial.display()))?;
            std::fs::rename(&partial, path).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
            eprintln!("wrote {} ({} bytes)", path.display(), text.len());
        }
        None if args.post.is_none() => std::io::stdout().write_all(text.as_bytes())?,
        None => {}
    }
    if let Some(issue) = &args.post {
        let mode = match (args.update, args.force) {
            (true, _) => PostMode::Update,
            (_, true) => PostMode::Force,
            _ => PostMode::Once,
        };
        let github = GitHub::new(pool.clone(), &args.github.github_api_url, args.github.github_token.clone())?;
        let markdown = report.render(Format::Markdown);
        let posted = crate::jobs::weekly_report::post(pool, &github, issue, &report.week, &markdown, mode, None)
            .await
            .map_err(|e| anyhow::anyhow!(e.message))?;
        eprintln!("{} {}", posted.action, posted.url);
    }
    Ok(())
}

/// The report options from the command line: `week` or the last complete week.
fn report_options(args: &ReportArgs, week: Option<&str>) -> anyhow::Result<app::report::Options> {
    let settings = app::state::ReportSettings {
        base_url: args.base_url(),
        timezone: app::report::week::parse_timezone(&args.report_timezone).map_err(anyhow::Error::msg)?,
        stale_after_days: args.stale_after_days,
        publisher: None,
    };
    settings.resolve(week, None).map_err(anyhow::Error::msg)
}
