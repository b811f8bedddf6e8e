//! The findings explorer and a finding's page: filtered, keyset-paginated lists with facet
//! counts, and one finding with its links and history.
//!
//! The explorer's statements are built at run time ([`QueryBuilder`]): which filters apply
//! depends on the request, and a checked `query!` per combination would be 2^7 of them.
//! Every value is bound, never spliced; the row shape is [`ROW_COLUMNS`] for all of them.

use sqlx::{PgExecutor, PgPool, Postgres, QueryBuilder};

use super::finding_texts::{FindingTexts, TextMatches};
use crate::ingest::StoredRunsAtPath;
use crate::kinds::{FindingState, TargetKind, Triage};

use crate::views::{FacetCount, FindingDetail, FindingFilter, FindingPage, FindingRow, GitHubLink, HistoryEntry};

/// Rows per explorer page.
pub const PAGE_SIZE: i64 = 50;

/// The columns of [`FindingRow`], over `findings f`, `targets t`, the finding's own claim
/// `fc`, its target's claim `tc` and the owner `u`. Lists join these for the rows of one
/// page only; filters use [`push_where`], which reads `findings f` alone, and counts [`facets`].
const ROW_COLUMNS: &str = "f.id, f.rule, t.name AS target, t.kind AS target_kind, f.path, f.start_line AS line, \
     f.symbol, f.snippet, finding_state(f.rule, f.fixed_in_scan, f.triage) AS state, f.triage, u.login AS owner, \
     (fc.id IS NULL AND tc.id IS NOT NULL) AS owner_through_target, coalesce(u.dev_only, false) AS owner_simulated";

const ROW_JOINS: &str = " FROM findings f \
     JOIN targets t ON t.id = f.target_id \
     LEFT JOIN claims fc ON fc.finding_id = f.id AND fc.released_at IS NULL \
     LEFT JOIN claims tc ON tc.target_id = f.target_id AND tc.released_at IS NULL \
     LEFT JOIN users u ON u.id = coalesce(fc.owner_id, tc.owner_id)";

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    rule: String,
    target: String,
    target_kind: TargetKind,
    path: String,
    line: i32,
    symbol: Option<String>,
    snippet: Option<String>,
    state: Option<FindingState>,
    triage: Triage,
    owner: Option<String>,
    owner_through_target: bool,
    owner_simulated: bool,
}

impl From<Row> for FindingRow {
    fn from(r: Row) -> Self {
        FindingRow {
            id: r.id,
            rule: r.rule,
            target: r.target,
            target_kind: r.target_kind,
            path: r.path,
            line: r.line,
            symbol: r.symbol,
            snippet: r.snippet,
            state: r.state,
            triage: r.triage,
            owner: r.owner,
            owner_through_target: r.owner_through_target,
            owner_simulated: r.owner_simulated,
        }
    }
}

/// True when finding `f` has no owner (neither its own claim nor its target's). Two NOT
/// EXISTS, not NOT (A OR B): the planner turns these into anti-joins.
const UNOWNED: &str = "NOT EXISTS (SELECT 1 FROM claims c WHERE c.finding_id = f.id AND c.released_at IS NULL) \
     AND NOT EXISTS (SELECT 1 FROM claims c WHERE c.target_id = f.target_id AND c.released_at IS NULL)";

/// Which facet to leave out of the conditions (its counts show the alternatives).
#[derive(Clone, Copy, PartialEq)]
enum Except {
    Rule,
    Kind,
    Owner,
    Reached,
    Tests,
    RunsAt,
}

impl Except {
    const FACETS: [Except; 6] =
        [Except::Rule, Except::Kind, Except::Owner, Except::Reached, Except::Tests, Except::RunsAt];

    /// The facet's name in the answer and the grouped column its value is.
    fn facet(self) -> (&'static str, &'static str) {
        match self {
            Except::Rule => ("rule", "rule"),
            Except::Kind => ("kind", "kind"),
            Except::Owner => ("owner", "CASE WHEN owner_id IS NULL THEN 'unowned' ELSE 'owned' END"),
            Except::Reached => ("reached", "reached"),
            Except::Tests => ("code", "CASE WHEN in_tests THEN 'tests' ELSE 'code' END"),
            Except::RunsAt => ("runs_at", "runs_at"),
        }
    }
}

/// Whether finding `f` is reached: `yes` (its file is imported by tracked code,
/// `db::models::reach`), `no` (it is not, or `f` is a UT013 write no request or task is known
/// to make: `unplaced_write()`) or `unknown`.
const REACHED: &str = "CASE WHEN unplaced_write(f.rule, f.runs_at, f.runs_at_via) THEN 'no' \
                       WHEN EXISTS (SELECT 1 FROM module_reach mr WHERE mr.target_id = f.target_id AND mr.path = f.path) THEN 'yes' \
                       WHEN f.target_id IN (SELECT target_id FROM reach_targets) THEN 'no' ELSE 'unknown' END";

/// True when a GitHub issue or pull request names finding `f` (a live link of its own that
/// names it: `link_names_finding()`; a pull request that only changed its file does not).
pub const FILED: &str = "EXISTS (SELECT 1 FROM links l WHERE l.finding_id = f.id AND l.removed_at IS NULL \
     AND link_names_finding(l.how))";

/// The owner's user id named by a filter's `owner` (a login, `@` optional).
fn push_owner_id(q: &mut QueryBuilder<'_, Postgres>, login: &str) {
    q.push("(SELECT id FROM users WHERE lower(login) = lower(")
        .push_bind(login.trim_start_matches('@').to_owned())
        .push("))");
}

/// How a statement applies a filter's search text.
#[derive(Clone, Copy)]
enum Text<'a> {
    /// The database matches it: `search_text LIKE '%text%'`.
    Like,
    /// Among these findings: the text's matches, found in memory ([`FindingTexts`]).
    Among(&'a [i64]),
    /// Not at all: the statement reads only the text's matches already.
    Matched,
}

/// Appends ` WHERE ...` for every filter of `filter` over `findings f` or `finding_search f`
/// (both hold the columns the conditions read; all values bound, never spliced).
fn push_where(q: &mut QueryBuilder<'_, Postgres>, filter: &FindingFilter, text: Text<'_>) {
    push_scope_where(q, filter, text);
    // Test code is out of the scope: left out unless asked for.
    match filter.tests.as_deref() {
        Some("yes") => {}
        Some("only") => {
            q.push(" AND f.in_tests");
        }
        _ => {
            q.push(" AND NOT f.in_tests");
        }
    }
    if let Some(kind) = &filter.kind {
        match kind.as_str() {
            // "repository" covers the platform and its libraries.
            "repository" => q.push(" AND f.target_id IN (SELECT id FROM targets WHERE kind <> 'dependency')"),
            _ => q.push(" AND f.target_id IN (SELECT id FROM targets WHERE kind = ").push_bind(kind.clone()).push(")"),
        };
    }
    if let Some(rule) = &filter.rule {
        q.push(" AND f.rule = ").push_bind(rule.clone());
    }
    if filter.unowned {
        q.push(format!(" AND {UNOWNED}"));
    }
    if let Some(owner) = &filter.owner {
        // The owner is the finding's own claim's, else its target's.
        q.push(
            " AND coalesce((SELECT c.owner_id FROM claims c WHERE c.finding_id = f.id AND c.released_at IS NULL), \
               (SELECT c.owner_id FROM claims c WHERE c.target_id = f.target_id AND c.released_at IS NULL)) = ",
        );
        push_owner_id(q, owner);
    }
    match filter.reached.as_deref() {
        None => {}
        // The explorer's default: leave out only what is known to be unreached.
        Some(crate::views::REACHED_OR_UNKNOWN) => {
            q.push(format!(" AND {REACHED} <> 'no'"));
        }
        Some(reached) => {
            q.push(format!(" AND {REACHED} = ")).push_bind(reached.to_owned());
        }
    }
    if let Some(runs_at) = &filter.runs_at {
        q.push(" AND coalesce(f.runs_at_via, f.runs_at, 'none') = ").push_bind(runs_at.clone());
    }
}

/// Appends ` WHERE ...` for the filters that are not facets (state, target, triage, team,
/// filed, text) over `findings f`. What these conditions read of a finding is what
/// [`FindingTexts`] groups findings by.
fn push_scope_where(q: &mut QueryBuilder<'_, Postgres>, filter: &FindingFilter, text: Text<'_>) {
    q.push(" WHERE true");
    match filter.state.as_deref().unwrap_or("open") {
        // Everything in scope (`finding_progress.counts_as`): the total every page shows.
        "all" => q.push(" AND finding_state(f.rule, f.fixed_in_scan, f.triage) IN ('open', 'fixed', 'triaged_away')"),
        state => q.push(" AND finding_state(f.rule, f.fixed_in_scan, f.triage) = ").push_bind(state.to_owned()),
    };
    if let Some(target) = &filter.target {
        q.push(" AND f.target_id = (SELECT id FROM targets WHERE name = ").push_bind(target.clone()).push(")");
    }
    if let Some(triage) = &filter.triage {
        q.push(" AND f.triage = ").push_bind(triage.clone());
    }
    if let Some(team) = &filter.team {
        q.push(" AND f.target_id IN (SELECT id FROM targets WHERE owner_team = ").push_bind(team.clone()).push(")");
    }
    match filter.filed.as_deref() {
        Some("yes") => q.push(format!(" AND {FILED}")),
        Some("no") => q.push(format!(" AND NOT {FILED}")),
        _ => q,
    };
    match (search_pattern(filter), text) {
        (None, _) | (_, Text::Matched) => {}
        (Some(pattern), Text::Like) => {
            q.push(" AND f.search_text LIKE ").push_bind(format!("%{}%", super::users::escape_like(&pattern)));
        }
        (Some(_), Text::Among(ids)) => {
            q.push(" AND f.id = ANY(").push_bind(ids.to_vec()).push(")");
        }
    }
}

/// The text `filter` searches for as the findings' `search_text` holds theirs: that is
/// their path, symbol and snippet joined by line breaks, lower-cased (and trigram-indexed).
/// A search text has no line break (cut out here), so a match never spans two fields.
pub fn search_pattern(filter: &FindingFilter) -> Option<String> {
    let text = filter.text.as_deref().map(str::trim).filter(|t| !t.is_empty())?;
    Some(text.chars().filter(|c| *c != '\n' && *c != '\r').collect::<String>().to_lowercase())
}

/// Appends the facet filters but `except`'s over the grouped rows of [`facets`].
fn push_facet_conditions(q: &mut QueryBuilder<'_, Postgres>, filter: &FindingFilter, except: Except) {
    q.push(" WHERE true");
    if except != Except::Tests {
        match filter.tests.as_deref() {
            Some("yes") => {}
            Some("only") => {
                q.push(" AND in_tests");
            }
            _ => {
                q.push(" AND NOT in_tests");
            }
        }
    }
    if let (Some(kind), true) = (&filter.kind, except != Except::Kind) {
        match kind.as_str() {
            "repository" => q.push(" AND kind = 'repository'"),
            _ => q.push(" AND target_kind = ").push_bind(kind.clone()),
        };
    }
    if let (Some(rule), true) = (&filter.rule, except != Except::Rule) {
        q.push(" AND rule = ").push_bind(rule.clone());
    }
    if except != Except::Owner {
        if filter.unowned {
            q.push(" AND owner_id IS NULL");
        }
        if let Some(owner) = &filter.owner {
            q.push(" AND owner_id = ");
            push_owner_id(q, owner);
        }
    }
    match (filter.reached.as_deref(), except != Except::Reached) {
        (Some(crate::views::REACHED_OR_UNKNOWN), true) => {
            q.push(" AND reached <> 'no'");
        }
        (Some(reached), true) => {
            q.push(" AND reached = ").push_bind(reached.to_owned());
        }
        _ => {}
    }
    if let (Some(runs_at), true) = (&filter.runs_at, except != Except::RunsAt) {
        q.push(" AND runs_at = ").push_bind(runs_at.clone());
    }
}

/// Below this many matching findings, a text search's page is taken from the findings its
/// text matches (found through the trigram index) instead of by walking every finding in id
/// order until the page is full. The walk reads about `PAGE_SIZE` × findings / matches rows:
/// every row when the text matches only findings the other filters leave out (a module
/// nothing imports: 100,000 rows read, 80 ms, for an empty page).
const FEW_MATCHES: i64 = 2_000;

/// One page of findings matching `filter`, in id order after `after`, with the total and
/// the counts per rule, kind and owner.
pub async fn explore(pool: &PgPool, filter: &FindingFilter, after: Option<i64>) -> sqlx::Result<FindingPage> {
    explore_with_texts(pool, filter, after, None).await
}

/// [`explore`], with the findings holding the filter's text found in `texts` (in memory,
/// current: the caller's to ensure) instead of by the database, when given.
pub async fn explore_with_texts(
    pool: &PgPool,
    filter: &FindingFilter,
    after: Option<i64>,
    texts: Option<&FindingTexts>,
) -> sqlx::Result<FindingPage> {
    let matches = search_pattern(filter).zip(texts).map(|(pattern, texts)| texts.find(&pattern));
    // The counts first: how many findings match decides how the page is read, and whether
    // there is one to read.
    let mut facets = facets(pool, filter, matches.as_ref()).await?;
    let mut take = |name: &str| facets.remove(name).unwrap_or_default();
    let (by_rule, by_kind, by_owner, by_reached, by_code, by_runs_at) =
        (take("rule"), take("kind"), take("owner"), take("reached"), take("code"), take("runs_at"));
    // The total is the sum over the rule facet when no rule is chosen, else that rule's count.
    let total = match &filter.rule {
        Some(rule) => by_rule.iter().find(|f| &f.value == rule).map_or(0, |f| f.count),
        None => by_rule.iter().map(|f| f.count).sum(),
    };
    let mut rows = match (total, &matches) {
        (0, _) => Vec::new(),
        (_, Some(matches)) => page_among(pool, filter, after, total, matches).await?,
        (_, None) => page(pool, filter, after, total).await?,
    };
    let next_after = if rows.len() as i64 > PAGE_SIZE {
        rows.truncate(PAGE_SIZE as usize);
        rows.last().map(|r| r.id)
    } else {
        None
    };
    Ok(FindingPage { rows, next_after, total, by_rule, by_kind, by_owner, by_reached, by_code, by_runs_at })
}

/// The findings matching `filter` after `after`, in id order: one more than a page (there
/// is a next page when it is there). `total` is how many match in all.
async fn page(pool: &PgPool, filter: &FindingFilter, after: Option<i64>, total: i64) -> sqlx::Result<Vec<FindingRow>> {
    let searches_text = search_pattern(filter).is_some();
    let from_matches = total < FEW_MATCHES && searches_text;
    let mut q = QueryBuilder::new(if from_matches {
        // Materialised: the planner would otherwise walk the id index again. `finding_search`
        // holds every column the conditions read, in narrower rows.
        "WITH matches AS MATERIALIZED (SELECT f.id FROM finding_search f"
    } else {
        "WITH page AS (SELECT f.id FROM findings f"
    });
    push_where(&mut q, filter, Text::Like);
    if let Some(after) = after {
        q.push(" AND f.id > ").push_bind(after);
    }
    q.push(if from_matches {
        "), page AS (SELECT id FROM matches ORDER BY id LIMIT "
    } else {
        " ORDER BY f.id LIMIT "
    });
    q.push_bind(PAGE_SIZE + 1);
    q.push(format!(") SELECT {ROW_COLUMNS}{ROW_JOINS} WHERE f.id IN (SELECT id FROM page) ORDER BY f.id"));
    // A text search's statement is planned for its text (not prepared once): a plan made
    // without the text guesses a few hundred matches, and for a text most findings hold,
    // reads the trigram index and sorts every finding instead of walking them in id order
    // (500 ms under load). The counts' statement is prepared once: its plan made without the
    // text reads the index too, 1.8 times the time of a table scan for the broadest texts
    // (computed once, then cached), and planning it for each text would cost 0.6 ms on each
    // of thousands of cheap ones.
    let query = q.build_query_as::<Row>().persistent(!searches_text);
    Ok(query.fetch_all(pool).await?.into_iter().map(Into::into).collect())
}

/// The most matches one statement of [`page_among`] reads.
const MOST_MATCHES_READ_AT_ONCE: usize = 8_192;

/// [`page`] for a text whose matches were found in memory: their ids after `after`, in
/// order, read in slices until the page is full. The other filters keep about `total` of
/// the matches, so the first slice is sized to fill the page (a quarter more); each next one
/// is twice the last. Every condition is checked on these rows alone: 51 rows read where
/// most matches are kept, where the database's own walk would test every finding's text
/// before them, or every one of thousands of matches for a page of a few.
async fn page_among(
    pool: &PgPool,
    filter: &FindingFilter,
    after: Option<i64>,
    total: i64,
    matches: &TextMatches,
) -> sqlx::Result<Vec<FindingRow>> {
    let from = after.map_or(0, |after| matches.ids.partition_point(|id| *id <= after));
    let ids = &matches.ids[from..];
    let wanted = PAGE_SIZE as usize + 1;
    let matches_per_kept = matches.ids.len() as f64 / total.max(1) as f64;
    let mut slice = ((wanted as f64 * matches_per_kept * 1.25) as usize).clamp(wanted, MOST_MATCHES_READ_AT_ONCE);
    let (mut rows, mut start) = (Vec::with_capacity(wanted), 0);
    while start < ids.len() && rows.len() < wanted {
        let end = (start + slice).min(ids.len());
        let mut q = QueryBuilder::new("WITH page AS (SELECT f.id FROM finding_search f");
        push_where(&mut q, filter, Text::Among(&ids[start..end]));
        q.push(" ORDER BY f.id LIMIT ").push_bind((wanted - rows.len()) as i64);
        q.push(format!(") SELECT {ROW_COLUMNS}{ROW_JOINS} WHERE f.id IN (SELECT id FROM page) ORDER BY f.id"));
        rows.extend(q.build_query_as::<Row>().fetch_all(pool).await?.into_iter().map(FindingRow::from));
        start = end;
        slice = (slice * 2).min(MOST_MATCHES_READ_AT_ONCE);
    }
    Ok(rows)
}

/// The counts of every facet in one statement: the findings the non-facet filters match
/// are read once and grouped by what the facets depend on (rule, target, file, test code,
/// owner) — far fewer rows than findings — and each facet counts those groups under the
/// other facets' filters. A search matching most of 100,000 findings is one pass over the
/// table instead of one per facet — over `finding_search`, the columns these conditions
/// read and the owner of each finding's own claim, kept beside `findings` in rows a quarter
/// as wide. With `matches` (the text's matches found in memory), it reads one finding of each
/// group of them, weighted by how many matched ([`FindingTexts`]): a few hundred rows where
/// a broad text matches most findings.
async fn facets(
    pool: &PgPool,
    filter: &FindingFilter,
    matches: Option<&TextMatches>,
) -> sqlx::Result<std::collections::HashMap<String, Vec<FacetCount>>> {
    const GROUPED: &str = "SELECT f.rule, f.target_id, f.path, f.in_tests, f.owner_id, \
         coalesce(f.runs_at_via, f.runs_at, 'none') AS runs_at, ";
    let mut q = QueryBuilder::new("WITH ");
    match matches {
        // Nothing holds the text: nothing to count.
        Some(matches) if matches.groups.is_empty() => return Ok(Default::default()),
        Some(matches) => {
            let (representatives, weights): (Vec<i64>, Vec<i64>) = matches.groups.iter().copied().unzip();
            q.push("m (id, n) AS (SELECT * FROM unnest(")
                .push_bind(representatives)
                .push("::int8[], ")
                .push_bind(weights)
                .push(format!(
                    "::int8[])), g AS MATERIALIZED ({GROUPED}sum(m.n)::bigint AS n FROM m JOIN finding_search f ON f.id = m.id"
                ));
            push_scope_where(&mut q, filter, Text::Matched);
        }
        None => {
            q.push(format!("g AS MATERIALIZED ({GROUPED}count(*) AS n FROM finding_search f"));
            push_scope_where(&mut q, filter, Text::Like);
        }
    }
    q.push(
        " GROUP BY 1, 2, 3, 4, 5, 6), \
         d AS MATERIALIZED (\
           SELECT g.rule, g.in_tests, g.runs_at, g.n, t.kind AS target_kind, \
             CASE WHEN t.kind = 'dependency' THEN 'dependency' ELSE 'repository' END AS kind, \
             coalesce(g.owner_id, tc.owner_id) AS owner_id, \
             CASE WHEN unplaced_write(g.rule, g.runs_at, NULL) THEN 'no' \
               WHEN mr.path IS NOT NULL THEN 'yes' WHEN rt.target_id IS NOT NULL THEN 'no' ELSE 'unknown' END AS reached \
           FROM g JOIN targets t ON t.id = g.target_id \
           LEFT JOIN claims tc ON tc.target_id = g.target_id AND tc.released_at IS NULL \
           LEFT JOIN module_reach mr ON mr.target_id = g.target_id AND mr.path = g.path \
           LEFT JOIN reach_targets rt ON rt.target_id = g.target_id) ",
    );
    for (i, except) in Except::FACETS.into_iter().enumerate() {
        if i > 0 {
            q.push(" UNION ALL ");
        }
        let (name, value) = except.facet();
        q.push(format!("(SELECT '{name}' AS facet, {value} AS value, sum(n)::bigint AS count FROM d"));
        push_facet_conditions(&mut q, filter, except);
        q.push(" GROUP BY 2)");
    }
    q.push(" ORDER BY 1, 2");
    let rows: Vec<(String, String, i64)> = q.build_query_as().fetch_all(pool).await?;
    let mut facets: std::collections::HashMap<String, Vec<FacetCount>> = std::collections::HashMap::new();
    for (facet, value, count) in rows {
        facets.entry(facet).or_default().push(FacetCount { value, count });
    }
    Ok(facets)
}

/// The open, unowned findings for `/contribute`: a repository's findings with a mechanical
/// fix first (safe, then unsafe: a pull request away), then those whose fix clears calls
/// elsewhere (a thread-local definition, UT001/UT002, whose holder other targets' calls end
/// at), then cheapest first (see [`effort_points`]). Findings in modules known to be
/// unreached by tracked code are left out unless `include_unreached`, and counted.
pub async fn unowned_open(
    pool: &PgPool,
    rule: Option<&str>,
    target: Option<&str>,
    limit: i64,
    include_unreached: bool,
) -> sqlx::Result<crate::views::UnownedOpen> {
    let all = sqlx::query!(
        r#"WITH candidates AS (
               SELECT f.id, f.target_id, f.path, f.rule,
                      (unplaced_write(f.rule, f.runs_at, f.runs_at_via)
                       OR (f.target_id IN (SELECT target_id FROM reach_targets)
                           AND NOT EXISTS (SELECT 1 FROM module_reach mr WHERE mr.target_id = f.target_id AND mr.path = f.path))) AS unreached
               FROM findings f
               JOIN targets t ON t.id = f.target_id
               WHERE finding_state(f.rule, f.fixed_in_scan, f.triage) = 'open'
                 AND ($1::text IS NULL OR f.rule = $1) AND ($2::text IS NULL OR t.name = $2)
                 AND NOT EXISTS (SELECT 1 FROM claims c WHERE c.finding_id = f.id AND c.released_at IS NULL)
                 AND NOT EXISTS (SELECT 1 FROM claims c WHERE c.target_id = f.target_id AND c.released_at IS NULL)
           ),
           per_file AS (
               SELECT f.target_id, f.path, count(*) AS open_in_file
               FROM findings f
               WHERE finding_state(f.rule, f.fixed_in_scan, f.triage) = 'open' AND (f.target_id, f.path) IN (SELECT target_id, path FROM candidates)
               GROUP BY f.target_id, f.path
           )
           SELECT c.id AS "id!", c.target_id AS "target_id!", pf.open_in_file AS "open_in_file!",
                  c.unreached AS "unreached!",
                  (SELECT f.fix->>'applicability' FROM findings f WHERE f.id = c.id) AS fix
           FROM candidates c JOIN per_file pf ON pf.target_id = c.target_id AND pf.path = c.path"#,
        rule,
        target
    )
    .fetch_all(pool)
    .await?;
    let (rows, unreached): (Vec<_>, Vec<_>) = all.into_iter().partition(|r| include_unreached || !r.unreached);
    // What migrating a thread local clears: the calls elsewhere whose chain ends at it,
    // through whichever package's API (crum's, and edx-rbac's that use it).
    let holder_calls = super::impact::calls_by_holder(pool).await?;
    let mut scored: Vec<(u8, i64, i64, i64, i64)> = Vec::with_capacity(rows.len());
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let findings = by_ids(pool, &ids).await?;
    let by_id: std::collections::HashMap<i64, &FindingRow> = findings.iter().map(|f| (f.id, f)).collect();
    for r in &rows {
        if let Some(f) = by_id.get(&r.id) {
            let clears = match (f.rule.as_str(), f.symbol.as_deref()) {
                ("UT001" | "UT002", Some(symbol)) => super::impact::clears(&holder_calls, r.target_id, symbol, &f.path),
                _ => 0,
            };
            // A fix only a repository's own pull request can carry.
            let fix_rank = match (f.target_kind.is_repository(), r.fix.as_deref()) {
                (true, Some("safe")) => 0,
                (true, Some(_)) => 1,
                _ => 2,
            };
            scored.push((fix_rank, r.id, effort_points(&f.rule, r.open_in_file), r.open_in_file, clears));
        }
    }
    scored.sort_by_key(|&(fix_rank, id, points, _, clears)| (fix_rank, std::cmp::Reverse(clears), points, id));
    scored.truncate(limit.max(0) as usize);
    let fixes: std::collections::HashMap<i64, Option<String>> = rows.into_iter().map(|r| (r.id, r.fix)).collect();
    let picked: Vec<i64> = scored.iter().map(|s| s.1).collect();
    let mut filed = super::links::open_items_naming(pool, &picked).await?;
    let picks = scored
        .into_iter()
        .filter_map(|(fix_rank, id, effort, open_in_file, clears)| {
            by_id.get(&id).map(|f| crate::views::ContributePick {
                finding: (*f).clone(),
                effort,
                open_in_file,
                clears,
                fix: fixes.get(&id).cloned().flatten().filter(|_| fix_rank < 2),
                filed_as: filed.remove(&id).unwrap_or_default(),
            })
        })
        .collect();
    Ok(crate::views::UnownedOpen { picks, unreached_hidden: unreached.len() as i64 })
}

/// A rough size of the work behind one finding, in points: the rule's typical change (an
/// unused import is a one-line delete, a thread-local subclass is used all over) times how
/// many open findings share its file (they tend to have to change together).
pub fn effort_points(rule: &str, open_in_file: i64) -> i64 {
    let base = match rule {
        "UT012" => 1,
        "UT003" | "UT004" | "UT009" => 2,
        "UT005" | "UT006" | "UT007" | "UT008" | "UT010" | "UT011" => 3,
        "UT001" => 5,
        "UT002" => 8,
        _ => 3,
    };
    base * (1 + (open_in_file - 1).clamp(0, 20) / 3)
}

/// Findings by id, in id order (built like the explorer's rows, so that all lists share one
/// row shape).
pub async fn by_ids(pool: &PgPool, ids: &[i64]) -> sqlx::Result<Vec<FindingRow>> {
    let mut q = QueryBuilder::new(format!("SELECT {ROW_COLUMNS}{ROW_JOINS} WHERE f.id = ANY("));
    q.push_bind(ids.to_vec()).push(") ORDER BY f.id");
    Ok(q.build_query_as::<Row>().fetch_all(pool).await?.into_iter().map(Into::into).collect())
}

/// Open findings owned by `login` (directly or through a target claim).
pub async fn owned_by(pool: &PgPool, login: &str) -> sqlx::Result<Vec<FindingRow>> {
    let filter = FindingFilter { owner: Some(login.to_owned()), ..Default::default() };
    let mut q = QueryBuilder::new("WITH page AS (SELECT f.id FROM findings f");
    push_where(&mut q, &filter, Text::Like);
    q.push(format!(
        " ORDER BY f.id LIMIT 500) SELECT {ROW_COLUMNS}{ROW_JOINS} WHERE f.id IN (SELECT id FROM page) ORDER BY f.id"
    ));
    Ok(q.build_query_as::<Row>().fetch_all(pool).await?.into_iter().map(Into::into).collect())
}

/// One finding with everything its page shows.
pub async fn detail(pool: &PgPool, id: i64) -> sqlx::Result<Option<FindingDetail>> {
    let Some(row) = by_ids(pool, &[id]).await?.pop() else { return Ok(None) };
    let row_path = row.path.clone();
    let extra = sqlx::query!(
        r#"SELECT f.target_id, f.end_line, f.start_column, f.message, f.conditional, f.triage_reason,
                  fs.finished_at AS "first_seen: chrono::DateTime<chrono::Utc>",
                  xs.finished_at AS "fixed_at: chrono::DateTime<chrono::Utc>",
                  coalesce(ga.assignees, '{}') AS "github_assignees!",
                  f.fix AS "fix: sqlx::types::Json<crate::views::FixView>",
                  f.runs_at, f.runs_at_path AS "runs_at_path: sqlx::types::Json<StoredRunsAtPath>",
                  f.runs_at_via, f.runs_at_via_path AS "runs_at_via_path: sqlx::types::Json<StoredRunsAtPath>",
                  f.context AS "context: sqlx::types::Json<crate::views::SourceLines>",
                  unplaced_write(f.rule, f.runs_at, f.runs_at_via) AS "unplaced_write!"
           FROM findings f
           JOIN scans fs ON fs.id = f.first_seen_scan
           LEFT JOIN scans xs ON xs.id = f.fixed_in_scan
           LEFT JOIN finding_github_assignees ga ON ga.finding_id = f.id
           WHERE f.id = $1"#,
        id
    )
    .fetch_one(pool)
    .await?;
    let runs_at_via = extra.runs_at_via.map(|at| {
        let crate::ingest::RunsAtPathColumn { why, path, .. } = extra.runs_at_via_path.map(|p| p.0).unwrap_or_default();
        crate::views::RunsAtView { at, why: why.into_owned(), path: path.into_owned() }
    });
    let runs_at = extra.runs_at.map(|at| {
        let crate::ingest::RunsAtPathColumn { why, path, .. } = extra.runs_at_path.map(|p| p.0).unwrap_or_default();
        crate::views::RunsAtView { at, why: why.into_owned(), path: path.into_owned() }
    });
    Ok(Some(FindingDetail {
        runs_at,
        runs_at_via,
        unplaced_write: extra.unplaced_write,
        context: extra.context.map(|c| c.0),
        fix: extra.fix.map(|fix| fix.0),
        github: github_for(pool, Some(id), extra.target_id).await?,
        history: history(pool, id).await?,
        row,
        target_id: extra.target_id,
        end_line: extra.end_line,
        column: extra.start_column,
        message: extra.message,
        conditional: extra.conditional,
        triage_reason: extra.triage_reason,
        first_seen: extra.first_seen,
        fixed_at: extra.fixed_at,
        github_assignees: extra.github_assignees,
        reach: super::reach::of_file(pool, extra.target_id, &row_path).await?,
        newest_release: super::upgrades::fixed_in(pool, id).await?,
        calls_elsewhere: super::impact::calls_of(pool, extra.target_id).await?,
    }))
}

/// Issues and pull requests linked to the finding `finding_id` or to its target (links not
/// removed), open ones first.
pub async fn github_for(pool: &PgPool, finding_id: Option<i64>, target_id: i64) -> sqlx::Result<Vec<GitHubLink>> {
    let rows = sqlx::query!(
        r#"WITH linked AS (
               SELECT l.id AS link_id, l.issue_id, l.pull_id, l.how, l.finding_id,
                      CASE WHEN l.finding_id IS NULL THEN 'target'
                           WHEN link_names_finding(l.how) THEN 'finding'
                           ELSE 'touched' END AS scope
               FROM links l
               WHERE l.removed_at IS NULL
                 AND (l.finding_id = $1 OR l.target_id = $2
                      -- A target's page also lists what is linked to its findings.
                      OR ($1::bigint IS NULL AND EXISTS (SELECT 1 FROM findings f WHERE f.id = l.finding_id AND f.target_id = $2)))
           )
           SELECT DISTINCT ON (kind, repository, number) * FROM (
               SELECT 'issue' AS kind, i.repository, i.number, i.title, i.state, i.html_url AS url, i.assignees, l.how,
                      l.scope, l.link_id, false AS kept
               FROM linked l JOIN gh_issues i ON i.id = l.issue_id
               UNION ALL
               SELECT 'pull', pr.repository, pr.number, pr.title,
                      CASE WHEN pr.merged THEN 'merged' WHEN pr.draft AND pr.state = 'open' THEN 'draft' ELSE pr.state END,
                      pr.html_url, pr.assignees, l.how, l.scope, l.link_id,
                      -- Kept: the pull request merged, a scan after the merge still saw the finding.
                      (l.scope = 'touched' AND pr.merged AND EXISTS (
                          SELECT 1 FROM findings f JOIN scans s ON s.id = f.last_seen_scan
                          WHERE f.id = l.finding_id AND f.fixed_in_scan IS NULL AND s.finished_at >= pr.merged_at))
               FROM linked l JOIN gh_pulls pr ON pr.id = l.pull_id
           ) items
           ORDER BY kind, repository, number, CASE scope WHEN 'finding' THEN 0 WHEN 'touched' THEN 1 ELSE 2 END"#,
        finding_id,
        target_id
    )
    .fetch_all(pool)
    .await?;
    let mut items: Vec<GitHubLink> = rows
        .into_iter()
        .filter_map(|r| {
            Some(GitHubLink {
                kind: r.kind?,
                repository: r.repository?,
                number: r.number?,
                title: r.title?,
                state: r.state?,
                url: r.url?,
                assignees: r.assignees.unwrap_or_default(),
                how: r.how?,
                scope: r.scope?.parse().ok()?,
                link_id: r.link_id?,
                kept: r.kept.unwrap_or(false),
            })
        })
        .collect();
    // What names it first, open work first.
    items.sort_by_key(|i| (i.scope, matches!(i.state.as_str(), "closed" | "merged"), i.kind == "issue"));
    Ok(items)
}

/// Everything that happened to finding `id`, oldest first: its own events and the scan
/// events that list it.
pub async fn history(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<Vec<HistoryEntry>> {
    let rows = sqlx::query!(
        r#"SELECT e.at AS "at: chrono::DateTime<chrono::Utc>", e.actor, e.kind, e.data, s.revision AS "revision?"
           FROM events e LEFT JOIN scans s ON s.id = e.scan_id
           WHERE e.finding_id = $1 OR e.finding_ids @> ARRAY[$1]
           ORDER BY e.at, e.id"#,
        id
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| HistoryEntry {
            summary: describe(&r.kind, &r.data, r.revision.as_deref()),
            at: r.at,
            actor: r.actor,
            kind: r.kind,
        })
        .collect())
}

/// A sentence for one event of a finding's history.
fn describe(kind: &str, data: &serde_json::Value, revision: Option<&str>) -> String {
    use super::events::{Event, FindingCount};
    let at = revision.map(|r| format!(" at {}", r.chars().take(12).collect::<String>())).unwrap_or_default();
    let Ok(event) = Event::from_row(kind, data.clone()) else {
        // Written by an older version, or unknown to this one: say what kind it was.
        return kind.replace('.', " ");
    };
    match event {
        Event::FindingsNew(_) => format!("First seen by a scan{at}"),
        Event::FindingsFixed(FindingCount { cause: Some(cause), .. }) => {
            format!("Fixed by {cause}: the scan{at} no longer sees it")
        }
        Event::FindingsFixed(_) => format!("Fixed: a complete scan{at} no longer sees it"),
        Event::FindingsReopened(_) => format!("Seen again by a scan{at}"),
        Event::FindingsRenamed(_) => format!("Followed to a renamed file{at}"),
        Event::ClaimAdded(claim) => format!("Claimed by {}", claim.owner),
        Event::ClaimReleased(claim) => format!("Released by its owner {}", claim.owner),
        Event::ClaimAssigned(assigned) => match assigned.previous {
            Some(previous) => format!("Assigned to {} (was {previous})", assigned.owner),
            None => format!("Assigned to {}", assigned.owner),
        },
        Event::FindingTriaged(triage) => {
            let reason = triage.reason.map(|r| format!(": {r}")).unwrap_or_default();
            format!("Triaged {} → {}{reason}", triage.from, triage.to)
        }
        Event::LinkAdded(_) => "Linked to GitHub".to_owned(),
        Event::LinkRemoved(_) => "GitHub link removed".to_owned(),
        Event::ChangeQueued(c) => format!("Pull request asked for: {} (change {})", c.subject, c.change),
        Event::ChangeOpened(c) => format!("{} opened (change {})", pull_of(&c), c.change),
        Event::ChangeMerged(c) => format!("{} merged: a scan of the merge says what it fixed", pull_of(&c)),
        Event::ChangeClosed(c) => format!("{} closed without merging", pull_of(&c)),
        Event::ChangeFailed(c) => format!("Pull request not opened: {}", c.reason.unwrap_or_default()),
        Event::ChangeCancelled(c) => format!("Pull request not needed: {}", c.reason.unwrap_or_default()),
        other => other.kind().as_str().replace('.', " "),
    }
}

/// "Pull request owner/repo#N" of a change event.
fn pull_of(change: &super::events::ChangeEvent) -> String {
    match change.pull {
        Some(number) => format!("Pull request {}#{number}", change.repository),
        None => "The pull request".to_owned(),
    }
}

/// The ids of `target_id`'s findings with these fingerprints, in the order given (missing
/// ones left out).
pub async fn ids_by_fingerprint(
    db: impl PgExecutor<'_>,
    target_id: i64,
    fingerprints: &[String],
) -> sqlx::Result<Vec<i64>> {
    let rows = sqlx::query!(
        "SELECT id, fingerprint FROM findings WHERE target_id = $1 AND fingerprint = ANY($2)",
        target_id,
        fingerprints
    )
    .fetch_all(db)
    .await?;
    Ok(fingerprints.iter().filter_map(|fp| rows.iter().find(|r| &r.fingerprint == fp).map(|r| r.id)).collect())
}

/// The first `limit` open (not fixed) findings of `rule` outside test code, oldest first.
pub async fn first_open_of_rule(db: impl PgExecutor<'_>, rule: &str, limit: i64) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar!(
        "SELECT id FROM findings WHERE rule = $1 AND fixed_in_scan IS NULL AND NOT in_tests ORDER BY id LIMIT $2",
        rule,
        limit
    )
    .fetch_all(db)
    .await
}

/// The revision (commit or version) of the scan that last saw finding `id`.
pub async fn last_seen_revision(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar!("SELECT s.revision FROM findings f JOIN scans s ON s.id = f.last_seen_scan WHERE f.id = $1", id)
        .fetch_optional(db)
        .await
        .map(Option::flatten)
}

/// Up to `limit` open findings of `target_id` that no GitHub item names (no link of their
/// own), in scope (not UT100, not test code), in source order: work nobody filed.
pub async fn open_unfiled_of_target(db: impl PgExecutor<'_>, target_id: i64, limit: i64) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar!(
        "SELECT f.id FROM findings f
         WHERE f.target_id = $1 AND f.fixed_in_scan IS NULL AND f.triage = 'open' AND f.rule <> 'UT100'
           AND NOT f.in_tests
           AND NOT EXISTS (SELECT 1 FROM links l WHERE l.finding_id = f.id AND l.removed_at IS NULL)
         ORDER BY f.path, f.start_line, f.id
         LIMIT $2",
        target_id,
        limit
    )
    .fetch_all(db)
    .await
}

/// One page of a target's known findings (every one not fixed, triaged or not), in id order
/// after `after`: the baseline is written page by page, never held whole. Returns each with
/// its id.
pub async fn known_page(
    db: impl PgExecutor<'_>,
    target_id: i64,
    after: i64,
    limit: i64,
) -> sqlx::Result<Vec<(i64, crate::ingest::IncomingFinding)>> {
    let rows = sqlx::query!(
        r#"SELECT id, fingerprint, content_fingerprint, rule, path, start_line, start_column, end_line, end_column,
                  symbol, message, snippet, conditional,
                  CASE WHEN triaged_in_source THEN triage_reason END AS suppressed
           FROM findings WHERE target_id = $1 AND fixed_in_scan IS NULL AND id > $2
           ORDER BY id LIMIT $3"#,
        target_id,
        after,
        limit
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let finding = crate::ingest::IncomingFinding {
                runs_at: None,
                context: None,
                fingerprint: r.fingerprint,
                content_fingerprint: r.content_fingerprint,
                rule: r.rule,
                path: r.path,
                start_line: r.start_line,
                start_column: r.start_column,
                end_line: r.end_line,
                end_column: r.end_column,
                symbol: r.symbol,
                message: r.message,
                snippet: r.snippet,
                conditional: r.conditional,
                suppressed: r.suppressed,
                fix: None,
            };
            (r.id, finding)
        })
        .collect())
}
