//! Reachability (`module_reach`, `reach_targets`): which modules the tracked repositories'
//! non-test code imports, directly or through other targets' modules, with the shortest
//! import chain — computed as a whole from every target's latest scan with an import index.
//!
//! It is an over-approximation, and the pages say so: a module imported is not a function
//! called (rule UT011's findings are the call evidence where there is some).

use std::collections::{HashMap, VecDeque};

use scanner::imports::ImportIndex;
use sqlx::PgConnection;

use super::events::{self, About, Event, ReachComputed};

/// What a recomputation found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReachSummary {
    /// Targets whose latest scan had an import index.
    pub targets: usize,
    pub modules: usize,
    /// Modules reached (the repositories' own non-test modules included).
    pub reached: usize,
}

/// One target's modules as the computation sees them.
pub struct TargetImports {
    pub target_id: i64,
    pub scan_id: i64,
    /// `owner/name` of a tracked repository (its non-test modules are where chains start);
    /// `None` for a dependency.
    pub repository: Option<String>,
    pub index: ImportIndex,
}

/// A module reached, with how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reached {
    pub target_id: i64,
    pub path: String,
    pub module: String,
    /// `owner/name:module` of the repository module it starts at, then each module imported.
    pub chain: Vec<String>,
}

/// The modules `targets` reach from their repositories' non-test modules, breadth first (a
/// chain found first is a shortest one). An imported name counts as the longest module it
/// names and every package above it (`import a.b.c` runs `a` and `a.b` too). When two
/// targets provide the same module, the repository's, then the first target's, is taken.
pub fn compute(targets: &[TargetImports]) -> Vec<Reached> {
    // Repositories first: their modules win a name both provide.
    let mut order: Vec<&TargetImports> = targets.iter().collect();
    order.sort_by_key(|t| (t.repository.is_none(), t.target_id));
    let mut modules: HashMap<&str, (&TargetImports, &scanner::imports::ModuleImports)> = HashMap::new();
    for target in &order {
        for (name, entry) in &target.index.modules {
            modules.entry(name.as_str()).or_insert((target, entry));
        }
    }
    // (module, the module it was reached from)
    let mut from: HashMap<&str, Option<&str>> = HashMap::new();
    let mut queue: VecDeque<&str> = VecDeque::new();
    for target in &order {
        if target.repository.is_none() {
            continue;
        }
        for (name, entry) in &target.index.modules {
            if !entry.test && modules.get(name.as_str()).is_some_and(|(owner, _)| owner.target_id == target.target_id) {
                from.insert(name.as_str(), None);
                queue.push_back(name.as_str());
            }
        }
    }
    while let Some(module) = queue.pop_front() {
        let (_, entry) = modules[module];
        for imported in &entry.imports {
            // The name and each package above it that some target provides.
            let mut name = imported.as_str();
            loop {
                if let Some((known, _)) = modules.get_key_value(name) {
                    if !from.contains_key(known) {
                        from.insert(known, Some(module));
                        queue.push_back(known);
                    }
                }
                match name.rsplit_once('.') {
                    Some((head, _)) => name = head,
                    None => break,
                }
            }
        }
    }
    let mut reached: Vec<Reached> = from
        .keys()
        .map(|&module| {
            let (target, entry) = modules[module];
            let mut chain = vec![module.to_owned()];
            let mut at = module;
            while let Some(Some(previous)) = from.get(at) {
                chain.push((*previous).to_owned());
                at = previous;
            }
            chain.reverse();
            let (root_target, _) = modules[at];
            if let Some(repository) = &root_target.repository {
                chain[0] = format!("{repository}:{}", chain[0]);
            }
            Reached { target_id: target.target_id, path: entry.path.clone(), module: module.to_owned(), chain }
        })
        .collect();
    reached.sort_by(|a, b| (a.target_id, &a.path).cmp(&(b.target_id, &b.path)));
    reached.dedup_by(|a, b| a.target_id == b.target_id && a.path == b.path);
    reached
}

/// Every target's latest complete scan that has an import index.
pub async fn latest_imports(conn: &mut PgConnection) -> sqlx::Result<Vec<TargetImports>> {
    let rows = sqlx::query!(
        r#"SELECT DISTINCT ON (t.id) t.id AS target_id, t.kind, t.name, s.id AS scan_id,
                  s.import_index AS "import_index!: sqlx::types::Json<ImportIndex>"
           FROM targets t JOIN scans s ON s.target_id = t.id
           WHERE s.status = 'complete' AND s.import_index IS NOT NULL
           ORDER BY t.id, s.id DESC"#
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| TargetImports {
            target_id: row.target_id,
            scan_id: row.scan_id,
            repository: (row.kind != "dependency").then_some(row.name),
            index: row.import_index.0,
        })
        .collect())
}

/// Recomputes reachability from the latest scans, replacing what was there (in one
/// transaction: a page never sees half of it).
pub async fn recompute(conn: &mut PgConnection) -> sqlx::Result<ReachSummary> {
    use sqlx::Connection;
    let mut tx = conn.begin().await?;
    // One recomputation at a time; a scan ingested meanwhile is seen by the next one.
    crate::models::locks::for_transaction(&mut tx, "unthread.reach", 0).await?;
    let targets = latest_imports(&mut tx).await?;
    let reached = compute(&targets);
    sqlx::query!("DELETE FROM module_reach").execute(&mut *tx).await?;
    sqlx::query!("DELETE FROM reach_targets").execute(&mut *tx).await?;
    let (ids, scans): (Vec<i64>, Vec<i64>) = targets.iter().map(|t| (t.target_id, t.scan_id)).unzip();
    sqlx::query!(
        "INSERT INTO reach_targets (target_id, scan_id) SELECT * FROM UNNEST($1::bigint[], $2::bigint[])",
        &ids,
        &scans
    )
    .execute(&mut *tx)
    .await?;
    // A chain is sent joined by the unit separator (arrays of arrays must be rectangular).
    let mut columns: (Vec<i64>, Vec<String>, Vec<String>, Vec<String>) = Default::default();
    for r in &reached {
        columns.0.push(r.target_id);
        columns.1.push(r.path.clone());
        columns.2.push(r.module.clone());
        columns.3.push(r.chain.join("\u{1f}"));
    }
    sqlx::query!(
        r#"INSERT INTO module_reach (target_id, path, module, chain)
           SELECT t, p, m, string_to_array(c, chr(31)) FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::text[]) AS u(t, p, m, c)"#,
        &columns.0,
        &columns.1,
        &columns.2,
        &columns.3
    )
    .execute(&mut *tx)
    .await?;
    let counts = sqlx::query!(
        r#"SELECT count(*) FILTER (WHERE mr.path IS NOT NULL) AS "reached!",
                  count(*) FILTER (WHERE mr.path IS NULL) AS "not_reached!"
           FROM findings f
           JOIN targets t ON t.id = f.target_id AND t.kind = 'dependency'
           JOIN reach_targets rt ON rt.target_id = f.target_id
           LEFT JOIN module_reach mr ON mr.target_id = f.target_id AND mr.path = f.path
           WHERE finding_state(f.rule, f.fixed_in_scan, f.triage) = 'open'"#
    )
    .fetch_one(&mut *tx)
    .await?;
    let modules = targets.iter().map(|t| t.index.modules.len()).sum();
    let event = Event::ReachComputed(ReachComputed {
        targets: targets.len(),
        modules,
        reached_modules: reached.len(),
        dependency_findings_reached: counts.reached,
        dependency_findings_not_reached: counts.not_reached,
    });
    events::record(&mut *tx, &event, About::system()).await?;
    tx.commit().await?;
    Ok(ReachSummary { targets: targets.len(), modules, reached: reached.len() })
}

/// How a finding's file is reached: `Some(chain)` when reached, `Some(empty)` when known not
/// to be (its target took part), `None` when unknown (no import index yet).
pub async fn of_file(db: impl sqlx::PgExecutor<'_>, target_id: i64, path: &str) -> sqlx::Result<Option<Vec<String>>> {
    let row = sqlx::query!(
        r#"SELECT (SELECT chain FROM module_reach WHERE target_id = $1 AND path = $2) AS chain,
                  EXISTS (SELECT 1 FROM reach_targets WHERE target_id = $1) AS "indexed!""#,
        target_id,
        path
    )
    .fetch_one(db)
    .await?;
    Ok(match (row.chain, row.indexed) {
        (Some(chain), _) => Some(chain),
        (None, true) => Some(Vec::new()),
        (None, false) => None,
    })
}

#[cfg(test)]
mod tests {
    use scanner::imports::ModuleImports;

    use super::*;

    fn target(id: i64, repository: Option<&str>, modules: &[(&str, &[&str], bool)]) -> TargetImports {
        let mut index = ImportIndex::default();
        for (name, imports, test) in modules {
            let entry = ModuleImports {
                path: format!("{}.py", name.replace('.', "/")),
                imports: imports.iter().map(|s| (*s).to_owned()).collect(),
                test: *test,
            };
            index.modules.insert((*name).to_owned(), entry);
        }
        TargetImports { target_id: id, scan_id: id * 10, repository: repository.map(str::to_owned), index }
    }

    fn chains(reached: &[Reached]) -> Vec<(String, Vec<String>)> {
        reached.iter().map(|r| (r.module.clone(), r.chain.clone())).collect()
    }

    #[test]
    fn reaches_through_two_dependency_hops_and_survives_a_cycle() {
        let targets = [
            target(
                1,
                Some("openedx/platform"),
                &[
                    ("lms.views", &["edx_django_utils.cache.utils.RequestCache", "os"], false),
                    ("lms.tests.test_views", &["unused_dep"], true),
                ],
            ),
            target(
                2,
                None,
                &[
                    ("edx_django_utils", &[], false),
                    ("edx_django_utils.cache", &[], false),
                    ("edx_django_utils.cache.utils", &["crum", "edx_django_utils.cache"], false),
                ],
            ),
            target(3, None, &[("crum", &["crum.signals"], false), ("crum.signals", &["crum"], false)]),
            target(4, None, &[("unused_dep", &[], false)]),
        ];
        let reached = compute(&targets);
        let found = chains(&reached);
        let chain_of = |m: &str| found.iter().find(|(module, _)| module == m).map(|(_, c)| c.clone());
        assert_eq!(chain_of("lms.views").unwrap(), ["openedx/platform:lms.views"]);
        assert_eq!(
            chain_of("edx_django_utils.cache.utils").unwrap(),
            ["openedx/platform:lms.views", "edx_django_utils.cache.utils"]
        );
        // The packages above an imported module run too.
        assert_eq!(chain_of("edx_django_utils").unwrap(), ["openedx/platform:lms.views", "edx_django_utils"]);
        assert_eq!(
            chain_of("crum.signals").unwrap(),
            ["openedx/platform:lms.views", "edx_django_utils.cache.utils", "crum", "crum.signals"]
        );
        // Only a test imports it: not reached.
        assert!(chain_of("unused_dep").is_none() && chain_of("lms.tests.test_views").is_none());
        assert_eq!(reached.iter().find(|r| r.module == "crum").unwrap().path, "crum.py");
    }

    #[test]
    fn a_dropped_import_is_no_longer_reached() {
        let with = [target(1, Some("o/r"), &[("app", &["dep"], false)]), target(2, None, &[("dep", &[], false)])];
        assert!(compute(&with).iter().any(|r| r.module == "dep"));
        let without = [target(1, Some("o/r"), &[("app", &[], false)]), target(2, None, &[("dep", &[], false)])];
        assert!(!compute(&without).iter().any(|r| r.module == "dep"));
    }
}
