//! The dashboard's writes and reads against a real PostgreSQL: claims (one owner, whoever
//! races), assignment, triage, the explorer's filters and keyset pages, the live stream, and
//! the demo dataset.

use crate::support::{create_user, fresh_database, seed_finding, seed_fix, sign_in, TestApp};
use axum::{
    body::Body,
    http::{header, Request, StatusCode},
    Router,
};
use db::models::{
    claims::{self, ClaimError, Item},
    findings, triage,
    users::User,
};
use db::views::FindingFilter;
use futures::StreamExt;
use sqlx::PgPool;
use tower::ServiceExt;

async fn active_owners(pool: &PgPool) -> Vec<(Option<i64>, Option<i64>, String)> {
    sqlx::query_as(
        "SELECT c.finding_id, c.target_id, u.login FROM claims c JOIN users u ON u.id = c.owner_id
         WHERE c.released_at IS NULL ORDER BY c.id",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

async fn event_count(pool: &PgPool, kind: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM events WHERE kind = $1").bind(kind).fetch_one(pool).await.unwrap()
}

#[tokio::test]
async fn of_a_hundred_simultaneous_claims_exactly_one_wins() {
    let pool = fresh_database().await;
    let target =
        db::models::targets::upsert(&pool, db::kinds::TargetKind::Library, "openedx/edx-django-utils").await.unwrap();
    let finding = seed_finding(&pool, target, "edx_django_utils/cache/utils.py", Some("RequestCache")).await;
    let mut people = Vec::new();
    for i in 0..100 {
        people.push(create_user(&pool, &format!("user{i}"), "contributor").await);
    }
    let attempts = people.iter().map(|u| claims::claim(&pool, u, Item::Finding(finding)));
    let results = futures::future::join_all(attempts).await;

    let winners: Vec<&User> = people.iter().zip(&results).filter(|(_, r)| r.is_ok()).map(|(u, _)| u).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    let winner = &winners[0].login;
    for result in &results {
        match result {
            Ok(()) => {}
            Err(ClaimError::Taken { owner }) => assert_eq!(owner, winner, "the loser is told who owns it"),
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(active_owners(&pool).await, [(Some(finding), None, winner.clone())]);
    assert_eq!(event_count(&pool, "claim.added").await, 1);
}

#[tokio::test]
async fn claims_releases_and_assignments_follow_the_rules() {
    let pool = fresh_database().await;
    let target =
        db::models::targets::upsert(&pool, db::kinds::TargetKind::Library, "openedx/event-tracking").await.unwrap();
    let first = seed_finding(&pool, target, "eventtracking/tracker.py", Some("get_tracker")).await;
    let second = seed_finding(&pool, target, "eventtracking/locator.py", Some("ThreadLocalContextLocator")).await;
    let carol = create_user(&pool, "carol", "contributor").await;
    let dave = create_user(&pool, "dave", "contributor").await;
    let mona = create_user(&pool, "mona", "maintainer").await;

    // Carol takes the whole target: Dave cannot take one of its findings, Carol can.
    claims::claim(&pool, &carol, Item::Target(target)).await.unwrap();
    let refused = claims::claim(&pool, &dave, Item::Finding(first)).await.unwrap_err();
    assert!(matches!(&refused, ClaimError::CoveredByTarget { owner, .. } if owner == "carol"), "{refused:?}");
    assert_eq!(refused.to_string(), "covered by carol's claim on the whole openedx/event-tracking");
    claims::claim(&pool, &carol, Item::Finding(first)).await.unwrap();
    // Claiming again what one owns is fine and records nothing.
    claims::claim(&pool, &carol, Item::Finding(first)).await.unwrap();
    assert_eq!(event_count(&pool, "claim.added").await, 2);

    // Only the owner or a maintainer releases.
    assert!(matches!(claims::unclaim(&pool, &dave, Item::Target(target)).await, Err(ClaimError::NotYours)));
    claims::unclaim(&pool, &mona, Item::Target(target)).await.unwrap();
    assert!(matches!(claims::unclaim(&pool, &carol, Item::Target(target)).await, Err(ClaimError::NotClaimed)));

    // A maintainer reassigns Carol's finding to Dave and assigns the other one.
    claims::assign(&pool, &mona, Item::Finding(first), "dave").await.unwrap();
    claims::assign(&pool, &mona, Item::Finding(second), "@Carol").await.unwrap();
    let unknown = claims::assign(&pool, &mona, Item::Finding(second), "nobody").await.unwrap_err();
    assert!(matches!(unknown, ClaimError::UnknownUser(_)));
    assert_eq!(
        active_owners(&pool).await,
        [(Some(first), None, "dave".to_owned()), (Some(second), None, "carol".to_owned())]
    );
    let assigned: serde_json::Value = sqlx::query_scalar(
        "SELECT data FROM events WHERE kind = 'claim.assigned' AND finding_id = $1 ORDER BY id LIMIT 1",
    )
    .bind(first)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(assigned["owner"], "dave");
    assert_eq!(assigned["previous"], "carol");

    // The history of a finding tells the story in words.
    let history: Vec<String> = findings::history(&pool, first).await.unwrap().into_iter().map(|h| h.summary).collect();
    assert_eq!(history, ["Claimed by carol", "Assigned to dave (was carol)"]);

    // Fixed findings cannot be claimed.
    seed_fix(&pool, target, second).await;
    claims::unclaim(&pool, &carol, Item::Finding(second)).await.unwrap();
    assert!(matches!(claims::claim(&pool, &dave, Item::Finding(second)).await, Err(ClaimError::NotOpen)));
}

#[tokio::test]
async fn triage_needs_a_reason_to_set_findings_aside_and_records_every_change() {
    let pool = fresh_database().await;
    let target = db::models::targets::upsert(&pool, db::kinds::TargetKind::Dependency, "django-crum").await.unwrap();
    let mona = create_user(&pool, "mona", "maintainer").await;
    let mut ids = Vec::new();
    for i in 0..50 {
        ids.push(seed_finding(&pool, target, &format!("crum/m{i}.py"), None).await);
    }
    let refused = triage::set(&pool, &mona, ids[0], db::kinds::Triage::FalsePositive, Some("  ")).await.unwrap_err();
    assert!(matches!(refused, triage::TriageError::ReasonRequired));
    // A state is one of the enum's: text that is none of them does not parse.
    assert!("'; DROP TABLE findings; --".parse::<db::kinds::Triage>().is_err());
    assert!(matches!(
        triage::set(&pool, &mona, ids[0], db::kinds::Triage::WontFix, Some(&"x".repeat(2001))).await,
        Err(triage::TriageError::ReasonTooLong)
    ));
    assert_eq!(event_count(&pool, "finding.triaged").await, 0, "refused changes record nothing");

    // Fifty maintainers' changes at once, each on its own finding: all recorded.
    let changes = ids
        .iter()
        .map(|&id| triage::set(&pool, &mona, id, db::kinds::Triage::WontFix, Some("generated at import time")));
    for result in futures::future::join_all(changes).await {
        assert_eq!(result.unwrap(), db::kinds::Triage::Open);
    }
    assert_eq!(event_count(&pool, "finding.triaged").await, 50);
    let progress = db::models::progress::by_target(&pool).await.unwrap();
    assert_eq!(progress[0].progress.triaged_away, 50);
    assert_eq!(progress[0].progress.open, 0);
}

#[tokio::test]
async fn the_explorer_filters_counts_and_pages_by_keyset() {
    let pool = fresh_database().await;
    let repo = db::models::targets::upsert(&pool, db::kinds::TargetKind::Library, "openedx/edx-ace").await.unwrap();
    let dep = db::models::targets::upsert(&pool, db::kinds::TargetKind::Dependency, "django-crum").await.unwrap();
    let mut ids = Vec::new();
    for i in 0..120 {
        ids.push(
            seed_finding(&pool, if i % 2 == 0 { repo } else { dep }, &format!("pkg/mod_{i}.py"), Some("pkg.f")).await,
        );
    }
    let carol = create_user(&pool, "carol", "contributor").await;
    claims::claim(&pool, &carol, Item::Finding(ids[0])).await.unwrap();

    // Pages follow one another without gaps or repeats.
    let filter = FindingFilter::default();
    let first = findings::explore(&pool, &filter, None).await.unwrap();
    assert_eq!(first.total, 120);
    assert_eq!(first.rows.len(), findings::PAGE_SIZE as usize);
    let second = findings::explore(&pool, &filter, first.next_after).await.unwrap();
    let third = findings::explore(&pool, &filter, second.next_after).await.unwrap();
    assert_eq!(third.next_after, None);
    let seen: Vec<i64> = [first.rows, second.rows, third.rows].concat().iter().map(|r| r.id).collect();
    assert_eq!(seen, ids);

    // Facets count what each choice would leave.
    let unowned = FindingFilter { unowned: true, kind: Some("repository".into()), ..Default::default() };
    let page = findings::explore(&pool, &unowned, None).await.unwrap();
    assert_eq!(page.total, 59);
    assert!(page.rows.iter().all(|r| r.owner.is_none() && r.target == "openedx/edx-ace"));
    let kinds: Vec<(String, i64)> = page.by_kind.iter().map(|f| (f.value.clone(), f.count)).collect();
    assert_eq!(kinds, [("dependency".to_owned(), 60), ("repository".to_owned(), 59)]);
    let owner = FindingFilter { owner: Some("@CAROL".into()), ..Default::default() };
    assert_eq!(
        findings::explore(&pool, &owner, None).await.unwrap().rows.iter().map(|r| r.id).collect::<Vec<_>>(),
        [ids[0]]
    );

    // Text is matched literally: SQL and LIKE metacharacters are just characters.
    for text in ["mod%1", "'; DROP TABLE findings; --", "mod__1", "\\"] {
        let filter = FindingFilter { text: Some(text.into()), ..Default::default() };
        assert_eq!(findings::explore(&pool, &filter, None).await.unwrap().total, 0, "{text}");
    }
    let filter = FindingFilter { text: Some("MOD_11".into()), ..Default::default() };
    let mod_11 = findings::explore(&pool, &filter, None).await.unwrap();
    assert_eq!(mod_11.total, 11, "mod_11, mod_110..mod_119");
    let expected: Vec<i64> = [11].into_iter().chain(110..120).map(|i| ids[i]).collect();
    assert_eq!(mod_11.rows.iter().map(|r| r.id).collect::<Vec<_>>(), expected);
    // A text search with few matches reads its page from them: pages follow one another the
    // same way, and the other filters still apply to them.
    let text = FindingFilter { text: Some("pkg/".into()), ..Default::default() };
    let (mut seen, mut after) = (Vec::new(), None);
    loop {
        let page = findings::explore(&pool, &text, after).await.unwrap();
        assert_eq!(page.total, 120);
        seen.extend(page.rows.iter().map(|r| r.id));
        after = match page.next_after {
            Some(next) => Some(next),
            None => break,
        };
    }
    assert_eq!(seen, ids);
    let repository =
        FindingFilter { text: Some("mod_11".into()), kind: Some("repository".into()), ..Default::default() };
    let page = findings::explore(&pool, &repository, None).await.unwrap();
    assert_eq!(page.rows.iter().map(|r| r.id).collect::<Vec<_>>(), [110, 112, 114, 116, 118].map(|i| ids[i]));
    // Nothing left by the other filters: no page (and no rows).
    let carols = FindingFilter { text: Some("mod_11".into()), owner: Some("carol".into()), ..Default::default() };
    let page = findings::explore(&pool, &carols, None).await.unwrap();
    assert_eq!((page.total, page.rows.len(), page.next_after), (0, 0, None));

    // Contribute: open, unowned, cheapest first.
    let picks = findings::unowned_open(&pool, None, None, 10, true).await.unwrap().picks;
    assert_eq!(picks.len(), 10);
    assert!(picks.iter().all(|p| p.finding.id != ids[0]));
}

/// Every page of `filter` read both ways — the database matching the text, and `texts`
/// matching it in memory — and asserted equal; the pages.
async fn explore_both_ways(
    pool: &PgPool,
    filter: &FindingFilter,
    texts: &db::models::finding_texts::FindingTexts,
) -> Vec<db::views::FindingPage> {
    let (mut pages, mut after) = (Vec::new(), None);
    loop {
        let in_database = findings::explore(pool, filter, after).await.unwrap();
        let in_memory = findings::explore_with_texts(pool, filter, after, Some(texts)).await.unwrap();
        assert_eq!(in_memory, in_database, "{filter:?} after {after:?}");
        after = in_database.next_after;
        pages.push(in_database);
        if after.is_none() {
            return pages;
        }
    }
}

#[tokio::test]
async fn a_text_matched_in_memory_gives_the_databases_counts_and_pages() {
    let pool = fresh_database().await;
    unthread_server::commands::load_demo(&pool).await.unwrap();
    // Owners and triage the demo may not hold, each on one of two open findings of one rule
    // in one file (its group is counted through the older one, unless they differ), in
    // different targets.
    let (mona, carol) =
        (create_user(&pool, "mona", "maintainer").await, create_user(&pool, "carol", "contributor").await);
    let pairs: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT DISTINCT ON (target_id) min(id), max(id), target_id FROM findings
         WHERE finding_state(rule, fixed_in_scan, triage) = 'open' GROUP BY target_id, path, rule HAVING count(*) >= 2
         ORDER BY target_id, 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(pairs.len() >= 3, "{pairs:?}");
    claims::claim(&pool, &carol, Item::Finding(pairs[0].1)).await.unwrap();
    triage::set(&pool, &mona, pairs[1].0, db::kinds::Triage::FalsePositive, Some("a test double")).await.unwrap();
    triage::set(&pool, &mona, pairs[1].1, db::kinds::Triage::WontFix, Some("on purpose")).await.unwrap();
    claims::claim(&pool, &carol, Item::Target(pairs[2].2)).await.unwrap();
    seed_fix(&pool, pairs[2].2, pairs[2].1).await;

    let texts = db::models::finding_texts::FindingTexts::load(&pool).await.unwrap();
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM findings").fetch_one(&pool).await.unwrap();
    assert_eq!(texts.len() as i64, total);
    let filters = [
        FindingFilter::default(),
        FindingFilter { state: Some("all".into()), tests: Some("yes".into()), reached: None, ..Default::default() },
        FindingFilter { state: Some("triaged_away".into()), ..Default::default() },
        FindingFilter { state: Some("all".into()), triage: Some("wont_fix".into()), ..Default::default() },
        FindingFilter { filed: Some("yes".into()), ..Default::default() },
        FindingFilter { filed: Some("no".into()), kind: Some("repository".into()), ..Default::default() },
        FindingFilter { unowned: true, reached: Some("yes".into()), ..Default::default() },
        FindingFilter { owner: Some("carol".into()), ..Default::default() },
        FindingFilter { kind: Some("dependency".into()), runs_at: Some("request".into()), ..Default::default() },
        FindingFilter { rule: Some("UT001".into()), target: Some("openedx/edx-platform".into()), ..Default::default() },
    ];
    // Texts most findings hold, a few do, one does, and none does (with LIKE's wildcards).
    let mut matched_any = 0;
    for text in ["_", "e", "local", "Threading", "cache", ".py\n", "%", "zz_no_such_text"] {
        for filter in &filters {
            let filter = FindingFilter { text: Some(text.into()), ..filter.clone() };
            let pages = explore_both_ways(&pool, &filter, &texts).await;
            matched_any += pages[0].total;
        }
    }
    assert!(matched_any > 1_000, "the texts match findings: {matched_any}");
}

#[tokio::test]
async fn the_read_cache_holds_the_findings_texts_of_the_current_change_only() {
    let pool = fresh_database().await;
    let target = db::models::targets::upsert(&pool, db::kinds::TargetKind::Library, "openedx/edx-ace").await.unwrap();
    seed_finding(&pool, target, "edx_ace/channel.py", Some("edx_ace.f")).await;
    let cache = app::cache::ReadCache::default();
    let held = |cache: &app::cache::ReadCache| {
        let (cache, pool) = (cache.clone(), pool.clone());
        async move {
            // A request waits for a reading under way a moment only: on a busy test machine
            // it may take longer, and the request goes to the database meanwhile.
            for _ in 0..100 {
                if let Some(texts) = cache.finding_texts(&pool).await {
                    return texts.len();
                }
            }
            panic!("the findings' texts were never read");
        }
    };
    assert_eq!(held(&cache).await, 1);
    seed_finding(&pool, target, "edx_ace/message.py", Some("edx_ace.g")).await;
    assert_eq!(held(&cache).await, 1, "no change announced: the texts read before");
    cache.invalidate();
    assert_eq!(held(&cache).await, 2, "after a change, the texts are read again");
}

/// Rows of `findings` and of its narrow copy for the explorer's counts that differ.
async fn search_rows_out_of_step(pool: &PgPool) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM findings f FULL JOIN finding_search s USING (id)
         WHERE (f.target_id, f.rule, f.path, f.in_tests, f.fixed_in_scan, f.triage, f.runs_at, f.runs_at_via, f.search_text,
                (SELECT c.owner_id FROM claims c WHERE c.finding_id = f.id AND c.released_at IS NULL))
               IS DISTINCT FROM
               (s.target_id, s.rule, s.path, s.in_tests, s.fixed_in_scan, s.triage, s.runs_at, s.runs_at_via, s.search_text,
                s.owner_id)",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn the_explorer_counts_follow_every_change_of_a_finding() {
    let pool = fresh_database().await;
    let target = db::models::targets::upsert(&pool, db::kinds::TargetKind::Dependency, "django-crum").await.unwrap();
    let mona = create_user(&pool, "mona", "maintainer").await;
    let mut ids = Vec::new();
    for i in 0..12 {
        ids.push(seed_finding(&pool, target, &format!("crum/mod_{i}.py"), Some("crum.f")).await);
    }
    let total = |text: &str, state: &str| {
        let filter = FindingFilter { text: Some(text.into()), state: Some(state.into()), ..Default::default() };
        let pool = pool.clone();
        async move { findings::explore(&pool, &filter, None).await.unwrap() }
    };
    assert_eq!(total("mod_1", "open").await.total, 3, "mod_1, mod_10, mod_11");
    assert_eq!(search_rows_out_of_step(&pool).await, 0);

    // Claimed, assigned, released: the owner facet follows.
    let carol = create_user(&pool, "carol", "contributor").await;
    claims::claim(&pool, &carol, Item::Finding(ids[3])).await.unwrap();
    claims::claim(&pool, &carol, Item::Finding(ids[4])).await.unwrap();
    assert_eq!(search_rows_out_of_step(&pool).await, 0);
    let owned =
        |page: &db::views::FindingPage| page.by_owner.iter().find(|f| f.value == "owned").map_or(0, |f| f.count);
    assert_eq!(owned(&total("crum", "open").await), 2);
    claims::unclaim(&pool, &carol, Item::Finding(ids[4])).await.unwrap();
    assert_eq!(search_rows_out_of_step(&pool).await, 0);
    assert_eq!(owned(&total("crum", "open").await), 1);

    // Triaged away, fixed, moved, placed at request time, deleted: the counts follow.
    triage::set(&pool, &mona, ids[1], db::kinds::Triage::FalsePositive, Some("a test double")).await.unwrap();
    let later = seed_fix(&pool, target, ids[10]).await;
    sqlx::query("UPDATE findings SET path = 'crum/moved.py', runs_at = 'request' WHERE id = $1")
        .bind(ids[11])
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("UPDATE findings SET runs_at = 'request' WHERE id = $1").bind(ids[2]).execute(&pool).await.unwrap();
    assert_eq!(search_rows_out_of_step(&pool).await, 0);
    assert_eq!(total("mod_1", "open").await.total, 0, "mod_1 triaged away, mod_10 fixed, mod_11 moved");
    assert_eq!(total("mod_1", "all").await.total, 2);
    let moved = total("moved", "open").await;
    assert_eq!(
        (moved.total, moved.by_runs_at.iter().map(|f| (f.value.as_str(), f.count)).collect::<Vec<_>>()),
        (1, vec![("request", 1)])
    );
    // A rescan that only sees a finding again writes nothing to the copy.
    sqlx::query("UPDATE findings SET last_seen_scan = $1 WHERE fixed_in_scan IS NULL")
        .bind(later)
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(search_rows_out_of_step(&pool).await, 0);
    sqlx::query("DELETE FROM findings WHERE id = $1").bind(ids[2]).execute(&pool).await.unwrap();
    assert_eq!(search_rows_out_of_step(&pool).await, 0);
    assert_eq!(total("crum", "open").await.total, 9, "12, less one triaged away, one fixed, one deleted");
}

fn app(pool: &PgPool) -> Router {
    TestApp::new(pool).dev_login().build()
}

fn form_post(uri: &str, cookie: &str, body: String, html: bool) -> Request<Body> {
    let mut request = Request::post(uri)
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if html {
        // A plain form submission (no JavaScript): the browser accepts HTML and says where from.
        request = request
            .header(header::ACCEPT, "text/html,application/xhtml+xml")
            .header(header::REFERER, "http://127.0.0.1:3000/contribute");
    }
    request.body(Body::from(body)).unwrap()
}

#[tokio::test]
async fn claims_through_http_answer_with_the_winner_and_work_as_plain_forms() {
    let pool = fresh_database().await;
    let app = app(&pool);
    let target = db::models::targets::upsert(&pool, db::kinds::TargetKind::Library, "openedx/edx-ace").await.unwrap();
    let finding = seed_finding(&pool, target, "edx_ace/channel.py", None).await;
    let carol = sign_in(&app, "carol", "contributor").await;
    let dave = sign_in(&app, "dave", "contributor").await;

    // Both at the same moment: one 200, one 409 naming the owner.
    let body = format!("kind=finding&id={finding}");
    let (a, b) = futures::join!(
        app.clone().oneshot(form_post("/api/claim", &carol, body.clone(), false)),
        app.clone().oneshot(form_post("/api/claim", &dave, body.clone(), false)),
    );
    let mut statuses = [a.unwrap(), b.unwrap()];
    statuses.sort_by_key(|r| r.status());
    assert_eq!(statuses[0].status(), StatusCode::OK);
    assert_eq!(statuses[1].status(), StatusCode::CONFLICT);
    let loser = axum::body::to_bytes(statuses.into_iter().nth(1).unwrap().into_body(), usize::MAX).await.unwrap();
    assert!(String::from_utf8_lossy(&loser).contains("already claimed by"), "{loser:?}");

    // Without JavaScript: success and failure both send the browser back where it was; a
    // failure carries the error for the page to show.
    let owner = active_owners(&pool).await[0].2.clone();
    let other = if owner == "carol" { &dave } else { &carol };
    let response = app.clone().oneshot(form_post("/api/claim", other, body.clone(), true)).await.unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = response.headers()[header::LOCATION].to_str().unwrap().to_owned();
    assert!(location.starts_with("http://127.0.0.1:3000/contribute?"), "{location}");
    assert!(location.contains("__err="), "{location}");
    let page = app
        .clone()
        .oneshot(
            Request::get(location.trim_start_matches("http://127.0.0.1:3000"))
                .header(header::COOKIE, other)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let html = String::from_utf8(axum::body::to_bytes(page.into_body(), usize::MAX).await.unwrap().to_vec()).unwrap();
    assert!(html.contains(&format!("already claimed by {owner}")), "the page shows the error");

    let winner = if owner == "carol" { &carol } else { &dave };
    let response = app.clone().oneshot(form_post("/api/unclaim", winner, body, true)).await.unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    // Back to the page, without the earlier error (an empty query may remain).
    let location = response.headers()[header::LOCATION].to_str().unwrap();
    assert_eq!(location.trim_end_matches('?'), "http://127.0.0.1:3000/contribute");
    assert!(active_owners(&pool).await.is_empty());
}

#[tokio::test]
async fn the_live_stream_announces_a_claim() {
    let pool = fresh_database().await;
    let app = app(&pool);
    let target = db::models::targets::upsert(&pool, db::kinds::TargetKind::Library, "openedx/edx-ace").await.unwrap();
    let finding = seed_finding(&pool, target, "edx_ace/channel.py", None).await;
    let carol = create_user(&pool, "carol", "contributor").await;

    let response = app.clone().oneshot(Request::get(app::live::LIVE_PATH).body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "text/event-stream");
    let mut body = response.into_body().into_data_stream();
    let hello = body.next().await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&hello).contains("retry:"), "{hello:?}");

    // The listener needs a moment to LISTEN after the router starts; claim until announced.
    let announced = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        let mut claimed = false;
        loop {
            if !claimed {
                tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                claims::claim(&pool, &carol, Item::Finding(finding)).await.unwrap();
                claimed = true;
            }
            let chunk = body.next().await.unwrap().unwrap();
            let text = String::from_utf8_lossy(&chunk).into_owned();
            if text.contains("claim.added") {
                return text;
            }
        }
    })
    .await
    .expect("the claim is announced within seconds");
    assert!(
        announced.contains(&format!("\"finding_id\" : {finding}"))
            || announced.contains(&format!("\"finding_id\":{finding}")),
        "{announced}"
    );
}

#[tokio::test]
async fn the_demo_loads_real_findings_once() {
    let pool = fresh_database().await;
    unthread_server::commands::load_demo(&pool).await.unwrap();
    let counts = || async {
        sqlx::query_as::<_, (i64, i64, i64, i64)>(
            "SELECT (SELECT count(*) FROM targets), (SELECT count(*) FROM findings WHERE fixed_in_scan IS NULL),
                    (SELECT count(*) FROM claims), (SELECT count(*) FROM events)",
        )
        .fetch_one(&pool)
        .await
        .unwrap()
    };
    let first = counts().await;
    let snapshot = unthread_server::demo::snapshot::bundled().unwrap();
    let snapshot_findings: usize = snapshot.targets.iter().map(|t| t.findings.len()).sum::<usize>()
        + snapshot.platform_files.as_ref().map_or(0, |p| p.findings.len());
    assert_eq!(first.1 as usize, snapshot_findings, "the open findings are the snapshot's latest");
    assert_eq!(first.0 as usize, snapshot.targets.len() + 1, "the platform and every scanned package");
    assert!(first.2 > 0, "people claimed work");

    unthread_server::commands::load_demo(&pool).await.unwrap();
    assert_eq!(counts().await, first, "a second load changes nothing");

    // The real fix: XBlock's RLock, fixed by the scan of #934's merge commit on 2026-07-08.
    let fixed: (String, String) = sqlx::query_as(
        "SELECT s.revision, to_char(s.finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')
         FROM findings f JOIN targets t ON t.id = f.target_id JOIN scans s ON s.id = f.fixed_in_scan
         WHERE t.name = 'openedx/XBlock' AND f.rule = 'UT003' AND f.path = 'xblock/runtime.py'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(fixed, ("8ce6aa997b07bb3551e5449930ed1786cfe7451a".into(), "2026-07-08".into()));
    // Nothing invented is shown as a GitHub item or a version.
    let invented: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM gh_issues WHERE title ILIKE '%[demo]%' OR number > 90000)
              + (SELECT count(*) FROM gh_pulls WHERE title ILIKE '%[demo]%' OR number > 90000)
              + (SELECT count(*) FROM scans WHERE revision LIKE '%demo%')",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(invented, 0);
    let states: Vec<(String, String)> = sqlx::query_as(
        "SELECT repository || '#' || number, state FROM gh_issues WHERE state = 'closed'
         UNION ALL SELECT repository || '#' || number, CASE WHEN merged THEN 'merged' ELSE state END FROM gh_pulls
         ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        states,
        [("openedx/XBlock#918".into(), "closed".into()), ("openedx/XBlock#934".into(), "merged".into())]
    );
    let assignees: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM gh_issues WHERE assignees && ARRAY['ana', 'bilal', 'chen', 'dana', 'eli']
            OR author IN ('ana', 'bilal', 'chen', 'dana', 'eli')",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(assignees, 0, "the simulated people are no GitHub users");

    // The history runs from the epic's start, with the real changes in it.
    let burndown = db::models::progress::burndown(&pool, 366).await.unwrap();
    assert_eq!(burndown.first().unwrap().day.to_string(), "2026-06-01", "{:?}", &burndown[..3]);
    let changes: std::collections::BTreeSet<i64> = burndown.iter().map(|p| p.open).collect();
    assert!(changes.len() > 2, "the open count changes over the replay: {changes:?}");
    let fixed: i64 = sqlx::query_scalar("SELECT count(*) FROM findings WHERE fixed_in_scan IS NOT NULL")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(fixed > 0);
    let libraries: i64 =
        sqlx::query_scalar("SELECT count(*) FROM targets WHERE kind = 'library'").fetch_one(&pool).await.unwrap();
    assert!(libraries >= 10, "Open edX's own packages appear as their repositories");

    // Teams, from each repository's catalog-info.yaml.
    let teams = db::models::teams::summaries(&pool, 14).await.unwrap();
    let arch = teams.iter().find(|t| t.team == "2u-arch-bom").expect("edx-django-utils' team");
    assert_eq!(arch.repositories, ["openedx/edx-django-utils", "openedx/edx-drf-extensions"]);
    assert!(teams
        .iter()
        .any(|t| t.team == "axim-engineering" && t.repositories.contains(&"openedx/XBlock".to_owned())));
    assert!(teams.iter().all(|t| t.repositories.iter().all(|r| r.starts_with("openedx/"))), "no team for a dependency");
}

#[tokio::test]
async fn cached_pages_show_changes_made_by_other_processes() {
    let pool = fresh_database().await;
    let app = app(&pool);
    let target = db::models::targets::upsert(&pool, db::kinds::TargetKind::Library, "openedx/edx-ace").await.unwrap();
    seed_finding(&pool, target, "edx_ace/channel.py", None).await;
    let carol = create_user(&pool, "carol", "contributor").await;
    let page = || async {
        let response = app.clone().oneshot(Request::get("/repos").body(Body::empty()).unwrap()).await.unwrap();
        String::from_utf8(axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap().to_vec()).unwrap()
    };
    assert!(page().await.contains("openedx/edx-ace"));
    assert!(!page().await.contains("carol"), "read twice: now served from the cache");

    // Written straight to the database, as another server process would: only the
    // NOTIFY tells this one.
    claims::claim(&pool, &carol, Item::Target(target)).await.unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while !page().await.contains("carol") {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the cached /repos shows the new owner");
}
