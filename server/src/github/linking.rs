//! Links between GitHub issues / pull requests and Unthread's findings and targets, derived
//! from what GitHub says:
//!
//! - `explicit`: the title or body names a finding by its Unthread URL (`.../findings/123`);
//! - `mention`: the title or body names a finding's file path and its symbol's last part
//!   (`lms/djangoapps/courseware/views.py` ... `RequestCache`), in the issue's own repository
//!   or in a target the text names;
//! - `path`: a pull request changes the file of a finding of its repository;
//! - `sub_issue`: an issue under an epic belongs to a tracked repository: linked to that
//!   target.
//!
//! Derivation only adds links; a link a maintainer removed stays removed (its row is kept,
//! marked removed, and blocks the same link from coming back), and manual links are kept.
//! The statements are in [`db::models::links`].

use db::models::links::{self, GitHubSide};
use std::sync::LazyLock;

use regex::Regex;
use sqlx::PgConnection;

/// A finding's address in Unthread: `/findings/<id>` (any host).
static FINDING_URL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"/findings/([0-9]{1,18})\b").expect("valid pattern"));

fn explicit_finding_ids(text: &str) -> Vec<i64> {
    let mut ids: Vec<i64> = FINDING_URL.captures_iter(text).filter_map(|c| c[1].parse().ok()).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Adds the links `item` (in `repository`, with `title` and `body`) implies. Returns how many
/// were new.
pub async fn link_text(
    db: &mut PgConnection,
    item: GitHubSide,
    repository: &str,
    title: &str,
    body: Option<&str>,
) -> sqlx::Result<u64> {
    let text = format!("{title}\n{}", body.unwrap_or(""));
    let explicit = links::add_explicit(&mut *db, item, &explicit_finding_ids(&text)).await?;
    let mentioned = links::add_mentions(&mut *db, item, repository, &text).await?;
    Ok(explicit + mentioned)
}

#[cfg(test)]
mod tests {
    use super::explicit_finding_ids;

    #[test]
    fn finding_urls() {
        let text = "Fixes https://unthread.example.org/findings/42 and /findings/7, not /findings/x or findings/9";
        assert_eq!(explicit_finding_ids(text), [7, 42]);
    }
}
