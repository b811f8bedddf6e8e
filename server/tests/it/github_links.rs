//! Links made by hand, removed links that stay removed, sub-issue deliveries, and the GitHub
//! assignees shown next to a finding.

use crate::support::github::fixture;
use crate::support::{fresh_database, seed_finding};
use db::{
    kinds::Item,
    models::links::{self, GitHubSide},
};

use serde_json::json;
use unthread_server::github::{linking, model::Issue, store, webhook};

/// The GitHub assignees shown next to finding `id`, if any.
async fn github_assignees(db: &mut sqlx::PgConnection, id: i64) -> Option<Vec<String>> {
    sqlx::query_scalar("SELECT assignees FROM finding_github_assignees WHERE finding_id = $1")
        .bind(id)
        .fetch_optional(db)
        .await
        .unwrap()
}

#[tokio::test]
async fn removed_links_stay_removed_and_assignees_show_through_links() {
    let pool = fresh_database().await;
    let target =
        db::models::targets::upsert(&pool, db::kinds::TargetKind::Library, "Codertocat/Hello-World").await.unwrap();
    let f = seed_finding(&pool, target, "hello/cache.py", Some("hello.cache.RequestCache")).await;
    // The fixture's issue, whose body (changed here) names the finding's file and class.
    let mut payload = fixture("webhook.issues.assigned.json");
    payload["issue"]["body"] = json!("RequestCache in hello/cache.py is a thread local");
    let issue: Issue = serde_json::from_value(payload["issue"].clone()).unwrap();
    let mut db = pool.acquire().await.unwrap();
    store::upsert_issue(&mut db, "Codertocat/Hello-World", &issue, None).await.unwrap();
    let derived = linking::link_text(
        &mut db,
        GitHubSide::Issue(issue.id),
        "Codertocat/Hello-World",
        &issue.title,
        issue.body.as_deref(),
    )
    .await
    .unwrap();
    assert_eq!(derived, 1);
    assert_eq!(github_assignees(&mut db, f).await, Some(vec!["Codertocat".to_owned()]));

    // A maintainer removes the derived link: deriving again does not bring it back.
    let link: i64 = sqlx::query_scalar("SELECT id FROM links").fetch_one(&mut *db).await.unwrap();
    assert!(links::remove(&mut db, link, "maintainer").await.unwrap());
    assert!(!links::remove(&mut db, link, "maintainer").await.unwrap(), "already removed");
    let again = linking::link_text(
        &mut db,
        GitHubSide::Issue(issue.id),
        "Codertocat/Hello-World",
        &issue.title,
        issue.body.as_deref(),
    )
    .await
    .unwrap();
    assert_eq!(again, 0);
    assert_eq!(github_assignees(&mut db, f).await, None, "a removed link shows no assignee");

    // Linking the target by hand shows the issue's assignee on every finding of it.
    let manual =
        links::add_manual(&mut db, Item::Target(target), GitHubSide::Issue(issue.id), "maintainer").await.unwrap();
    assert_ne!(manual, link);
    assert_eq!(github_assignees(&mut db, f).await, Some(vec!["Codertocat".to_owned()]));
    let kinds: Vec<String> = sqlx::query_scalar("SELECT kind FROM events WHERE kind LIKE 'link.%' ORDER BY id")
        .fetch_all(&mut *db)
        .await
        .unwrap();
    assert_eq!(kinds, ["link.removed", "link.added"]);
}

#[tokio::test]
async fn sub_issue_deliveries_place_the_issue_under_its_parent() {
    let pool = fresh_database().await;
    db::models::targets::upsert(&pool, db::kinds::TargetKind::Library, "Codertocat/Hello-World").await.unwrap();
    // No `sub_issues` payload exists in the fixture sources: built from the documented
    // parameters (action, parent_issue, parent_issue_repo, sub_issue, sub_issue_repo) with
    // the real issue and repository objects of `issues.opened`.
    let opened = fixture("webhook.issues.opened.json");
    let mut parent = opened["issue"].clone();
    parent["id"] = json!(1_000_001);
    parent["number"] = json!(100);
    let payload = json!({
        "action": "sub_issue_added",
        "parent_issue_id": 1_000_001,
        "parent_issue": parent,
        "parent_issue_repo": opened["repository"],
        "sub_issue_id": opened["issue"]["id"],
        "sub_issue": opened["issue"],
        "sub_issue_repo": opened["repository"],
        "sender": opened["sender"],
    });
    let applied =
        webhook::apply(&pool, &unthread_server::jobs::queue::Jobs::new(pool.clone()), "sub-1", "sub_issues", &payload)
            .await
            .unwrap();
    assert_eq!(applied, webhook::Applied::Processed);
    let placed: (i32, Option<String>, Option<i32>) =
        sqlx::query_as("SELECT number, parent_repository, parent_number FROM gh_issues")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(placed, (1, Some("Codertocat/Hello-World".into()), Some(100)));
    let how: String = sqlx::query_scalar("SELECT how FROM links").fetch_one(&pool).await.unwrap();
    assert_eq!(how, "sub_issue");

    let mut removed = payload.clone();
    removed["action"] = json!("sub_issue_removed");
    webhook::apply(&pool, &unthread_server::jobs::queue::Jobs::new(pool.clone()), "sub-2", "sub_issues", &removed)
        .await
        .unwrap();
    let parent: Option<i32> = sqlx::query_scalar("SELECT parent_number FROM gh_issues").fetch_one(&pool).await.unwrap();
    assert_eq!(parent, None);
}
