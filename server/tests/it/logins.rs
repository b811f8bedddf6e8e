//! GitHub logins are case-insensitive: `ANA` and `ana` are one account — in a database that
//! held both before (the migration merges them), at sign-in, and in every lookup.

use std::path::Path;

use db::{kinds::Role, models::users};
use sqlx::migrate::Migrator;

use crate::support::{database::empty_database, fresh_database, sign_in, TestApp};

/// The migrations before `version`, as a database from before it was written has them.
async fn migrator_before(version: i64) -> (tempfile::TempDir, Migrator) {
    let dir = tempfile::tempdir().unwrap();
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations");
    for entry in std::fs::read_dir(&source).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.split('_').next().unwrap().parse::<i64>().unwrap() < version {
            std::fs::copy(&path, dir.path().join(&name)).unwrap();
        }
    }
    let migrator = Migrator::new(dir.path()).await.unwrap();
    (dir, migrator)
}

#[tokio::test]
async fn accounts_that_differ_only_in_case_are_merged_by_the_migration() {
    let pool = empty_database().await;
    let (_dir, before) = migrator_before(20261201000001).await;
    before.run(&pool).await.unwrap();
    // What the old schema allowed: one person twice, each owning something.
    let ids: Vec<i64> = sqlx::query_scalar(
        "INSERT INTO users (login, github_id, role, last_login_at) VALUES
             ('ana', NULL, 'maintainer', now() - interval '1 day'),
             ('ANA', 583231, 'contributor', now() - interval '2 days'),
             ('bilal', NULL, 'contributor', NULL)
         RETURNING id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let target: i64 =
        sqlx::query_scalar("INSERT INTO targets (kind, name) VALUES ('library', 'openedx/edx-ace') RETURNING id")
            .fetch_one(&pool)
            .await
            .unwrap();
    sqlx::query("INSERT INTO claims (target_id, owner_id, claimed_by) VALUES ($1, $2, $2)")
        .bind(target)
        .bind(ids[0])
        .execute(&pool)
        .await
        .unwrap();

    db::MIGRATOR.run(&pool).await.unwrap();

    // The GitHub account is kept, with the higher role and the claim of the other copy.
    let users: Vec<(i64, String, Option<i64>, String)> =
        sqlx::query_as("SELECT id, login, github_id, role FROM users ORDER BY id").fetch_all(&pool).await.unwrap();
    assert_eq!(
        users,
        [
            (ids[1], "ANA".into(), Some(583231), "maintainer".into()),
            (ids[2], "bilal".into(), None, "contributor".into())
        ]
    );
    let owner: i64 = sqlx::query_scalar("SELECT owner_id FROM claims").fetch_one(&pool).await.unwrap();
    assert_eq!(owner, ids[1]);
    // And the schema refuses a new copy.
    let again = sqlx::query("INSERT INTO users (login) VALUES ('Ana')").execute(&pool).await;
    assert!(again.is_err(), "a login differing only in case is refused");
}

#[tokio::test]
async fn signing_in_with_another_case_is_the_same_account() {
    let pool = fresh_database().await;
    let app = TestApp::new(&pool).dev_login().build();
    sign_in(&app, "ana", "contributor").await;
    sign_in(&app, "ANA", "maintainer").await;
    let logins: Vec<String> = sqlx::query_scalar("SELECT login FROM users").fetch_all(&pool).await.unwrap();
    assert_eq!(logins, ["ana"], "one account, under the case it was created with");
    // Lookups by any case find it, once.
    let user = users::by_login(&pool, "aNa").await.unwrap().unwrap();
    assert_eq!(user.role, Role::Maintainer);
    for uri in ["/people/ANA", "/people/ana", "/findings?owner=Ana"] {
        let reply = crate::support::send(&app, crate::support::http::get(uri, None)).await;
        assert_eq!(reply.status, 200, "{uri}: {}", reply.body);
    }

    // GitHub's id is the key: the same GitHub account under a new login keeps its row.
    let account = users::GitHubAccount { github_id: 1, login: "mona", name: None, avatar_url: None };
    let id = users::record_github_sign_in(&pool, &account, Role::Contributor).await.unwrap().unwrap();
    let renamed = users::GitHubAccount { login: "Mona-Lisa", ..account };
    assert_eq!(users::record_github_sign_in(&pool, &renamed, Role::Contributor).await.unwrap(), Some(id));
    assert_eq!(users::by_id(&pool, id).await.unwrap().unwrap().login, "Mona-Lisa");
    // Another GitHub account cannot take a login that is someone's.
    let other = users::GitHubAccount { github_id: 2, login: "MONA-LISA", name: None, avatar_url: None };
    assert_eq!(users::record_github_sign_in(&pool, &other, Role::Contributor).await.unwrap(), None);
    // Nor can a renamed account take the login of an existing one (here `ana`'s).
    let renamed_onto_ana = users::GitHubAccount { login: "Ana", ..renamed };
    assert_eq!(users::record_github_sign_in(&pool, &renamed_onto_ana, Role::Contributor).await.unwrap(), None);
    assert_eq!(users::by_id(&pool, id).await.unwrap().unwrap().login, "Mona-Lisa", "unchanged");
}

#[tokio::test]
async fn role_changes_are_events() {
    let pool = fresh_database().await;
    let app = TestApp::new(&pool).dev_login().build();
    sign_in(&app, "eli", "contributor").await;
    sign_in(&app, "eli", "contributor").await;
    sign_in(&app, "Eli", "maintainer").await;
    let changes: Vec<serde_json::Value> =
        sqlx::query_scalar("SELECT data FROM events WHERE kind = 'user.role_changed' ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        changes,
        [serde_json::json!({ "login": "eli", "from": "contributor", "to": "maintainer", "via": "dev_login" })]
    );

    let account = users::GitHubAccount { github_id: 7, login: "dana", name: None, avatar_url: None };
    users::record_github_sign_in(&pool, &account, Role::Maintainer).await.unwrap();
    users::record_github_sign_in(&pool, &account, Role::Contributor).await.unwrap();
    let kinds: Vec<String> =
        sqlx::query_scalar("SELECT data->>'via' FROM events WHERE kind = 'user.role_changed' ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(kinds, ["dev_login", "github"], "GitHub's permission changed the role: recorded too");
}
