//! A dependency's impact: its thread-local-backed APIs (from its latest scan's API index)
//! and, per API, the open rule UT011 findings in other targets that call it — the findings
//! migrating it would clear. UT011's message names the API and its package; the SQL
//! functions `ut011_api` and `ut011_package` read them back.

use sqlx::PgPool;

use crate::views::{ApiCaller, ApiImpact};

/// The APIs of target `target_id` with their open callers in other targets, most called
/// first; callers whose API the index no longer lists are kept under the name they called.
/// UT011's messages name the package by the scan's package name: the target's own name, or
/// (a library named after its repository) one of its distributions'.
pub async fn apis_of(pool: &PgPool, target_id: i64) -> sqlx::Result<Vec<ApiImpact>> {
    let index = sqlx::query_scalar!(
        r#"SELECT s.api_index AS "api_index!: sqlx::types::Json<scanner::ApiIndex>"
           FROM scans s WHERE s.target_id = $1 AND s.api_index IS NOT NULL AND s.status = 'complete'
           ORDER BY s.id DESC LIMIT 1"#,
        target_id
    )
    .fetch_optional(pool)
    .await?
    .map(|j| j.0)
    .unwrap_or_default();
    let calls = sqlx::query!(
        r#"SELECT ut011_api(f.message) AS "api!", t.name AS target, t.kind AS "kind: crate::kinds::TargetKind",
                  count(*) AS "calls!", min(f.id) AS "example!"
           FROM findings f JOIN targets t ON t.id = f.target_id
           WHERE f.rule = 'UT011' AND f.target_id <> $1 AND ut011_api(f.message) IS NOT NULL
             AND ut011_package(f.message) IN (
                 SELECT name FROM targets WHERE id = $1
                 UNION
                 SELECT p.name FROM target_packages tp JOIN packages p ON p.id = tp.package_id WHERE tp.target_id = $1)
             AND finding_state(f.rule, f.fixed_in_scan, f.triage) = 'open'
           GROUP BY 1, 2, 3
           ORDER BY 1, 4 DESC, 2"#,
        target_id
    )
    .fetch_all(pool)
    .await?;
    let mut apis: Vec<ApiImpact> = index
        .apis
        .values()
        .map(|api| ApiImpact {
            qualname: api.qualname.clone(),
            kind: format!("{:?}", api.kind).to_lowercase(),
            chain: api.chain.clone(),
            path: api.path.clone(),
            line: api.line,
            calls: 0,
            callers: Vec::new(),
        })
        .collect();
    for call in calls {
        // The name called may be a re-export or an attribute of the API (`cache.get`).
        let api = index.lookup(&call.api).map_or(call.api.clone(), |api| api.qualname.clone());
        let position = match apis.iter().position(|a| a.qualname == api) {
            Some(i) => i,
            None => {
                apis.push(ApiImpact {
                    qualname: api,
                    kind: String::new(),
                    chain: vec![],
                    path: String::new(),
                    line: 0,
                    calls: 0,
                    callers: vec![],
                });
                apis.len() - 1
            }
        };
        let entry = &mut apis[position];
        entry.calls += call.calls;
        match entry.callers.iter_mut().find(|c| c.target == call.target) {
            Some(caller) => caller.calls += call.calls,
            None => entry.callers.push(ApiCaller {
                target: call.target,
                kind: call.kind,
                calls: call.calls,
                example: call.example,
            }),
        }
    }
    for api in &mut apis {
        api.callers.sort_by(|a, b| b.calls.cmp(&a.calls).then_with(|| a.target.cmp(&b.target)));
    }
    apis.sort_by(|a, b| b.calls.cmp(&a.calls).then_with(|| a.qualname.cmp(&b.qualname)));
    Ok(apis)
}

/// Call evidence for target `target_id`: open UT011 findings in other targets calling its
/// thread-local-backed APIs, and in how many targets.
pub async fn calls_of(pool: &PgPool, target_id: i64) -> sqlx::Result<(i64, i64)> {
    let row = sqlx::query!(
        r#"SELECT count(DISTINCT f.id) AS "calls!", count(DISTINCT f.target_id) AS "targets!"
           FROM findings f
           WHERE f.rule = 'UT011' AND f.target_id <> $1
             AND finding_state(f.rule, f.fixed_in_scan, f.triage) = 'open'
             AND ut011_package(f.message) IN (
                 SELECT name FROM targets WHERE id = $1
                 UNION
                 SELECT p.name FROM target_packages tp JOIN packages p ON p.id = tp.package_id WHERE tp.target_id = $1)"#,
        target_id
    )
    .fetch_one(pool)
    .await?;
    Ok((row.calls, row.targets))
}

/// Open UT011 calls outside test code, by the thread local their chain ends at (the holder
/// UT011's message names: `crum._thread_locals`), the package whose API was called and the
/// target calling it.
pub async fn calls_by_holder(pool: &PgPool) -> sqlx::Result<Vec<HolderCalls>> {
    sqlx::query_as!(
        HolderCalls,
        r#"SELECT ut011_holder(f.message) AS "holder!", coalesce(ut011_package(f.message), '?') AS "package!",
                  f.target_id AS caller_target_id, count(*) AS "calls!"
           FROM findings f
           WHERE f.rule = 'UT011' AND NOT f.in_tests AND finding_state(f.rule, f.fixed_in_scan, f.triage) = 'open'
             AND ut011_holder(f.message) IS NOT NULL
           GROUP BY 1, 2, 3"#
    )
    .fetch_all(pool)
    .await
}

/// Calls of one thread local through one package's API from one target ([`calls_by_holder`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HolderCalls {
    pub holder: String,
    pub package: String,
    pub caller_target_id: i64,
    pub calls: i64,
}

/// Whether the thread local `holder` (`pkg.module.NAME`, or `pkg.module.Class.attr`) is the
/// one a UT001/UT002 finding at `path` in scope `symbol` defines: a name of the scope the
/// finding is in (its module, or its class body), or — when the finding is inside a function
/// — an attribute of the class whose method that is. A finding at module level is not
/// credited with names of the package above its module.
pub fn holder_defined_in(holder: &str, symbol: &str, path: &str) -> bool {
    let parent = |name: &str| name.rsplit_once('.').map(|(head, _)| head.to_owned());
    let Some(owner) = parent(holder) else { return false };
    if owner == symbol {
        return true;
    }
    // The module the path names (`pkg/mod.py` → `pkg.mod`, a leading source directory
    // tolerated): a scope longer than it is inside a definition.
    let module = path.strip_suffix(".py").unwrap_or(path);
    let module = module.strip_suffix("/__init__").unwrap_or(module).replace('/', ".");
    let at_module_level = symbol == module || module.ends_with(&format!(".{symbol}"));
    !at_module_level && parent(symbol).is_some_and(|class| class == owner)
}

/// The calls from targets other than `target_id` that end at a thread local one of its
/// definitions (`(symbol, path)` of its UT001/UT002 findings) holds; each call once, however
/// many of the definitions could hold it.
pub fn calls_ending_at<'a>(
    calls: &'a [HolderCalls],
    target_id: i64,
    definitions: &'a [(&str, &str)],
) -> impl Iterator<Item = &'a HolderCalls> + 'a {
    calls.iter().filter(move |c| {
        c.caller_target_id != target_id
            && definitions.iter().any(|(symbol, path)| holder_defined_in(&c.holder, symbol, path))
    })
}

/// The calls elsewhere that migrating the thread local defined at `symbol` (`path`) in
/// `target_id` would clear: those whose chain ends at it, from other targets.
pub fn clears(calls: &[HolderCalls], target_id: i64, symbol: &str, path: &str) -> i64 {
    calls_ending_at(calls, target_id, &[(symbol, path)]).map(|c| c.calls).sum()
}

/// The open UT001/UT002 findings outside test code — the thread locals a target defines — as
/// (target, scope symbol, path), of one target or of all.
async fn definitions(pool: &PgPool, only: Option<i64>) -> sqlx::Result<Vec<(i64, String, String)>> {
    let rows = sqlx::query!(
        r#"SELECT DISTINCT f.target_id, f.symbol AS "symbol!", f.path
           FROM findings f
           WHERE f.rule IN ('UT001', 'UT002') AND f.symbol IS NOT NULL AND NOT f.in_tests
             AND finding_state(f.rule, f.fixed_in_scan, f.triage) = 'open'
             AND ($1::bigint IS NULL OR f.target_id = $1)"#,
        only
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|r| (r.target_id, r.symbol, r.path)).collect())
}

/// For each target (or only `only`), the calls elsewhere whose chain ends at one of its open
/// thread locals: what it is the root cause of, through its own APIs or another package's
/// (crum is the root of edx-rbac's calls too).
pub async fn root_calls_by_target(
    pool: &PgPool,
    only: Option<i64>,
) -> sqlx::Result<std::collections::HashMap<i64, i64>> {
    let calls = calls_by_holder(pool).await?;
    let mut by_target: std::collections::BTreeMap<i64, Vec<(&str, &str)>> = std::collections::BTreeMap::new();
    let definitions = definitions(pool, only).await?;
    for (target_id, symbol, path) in &definitions {
        by_target.entry(*target_id).or_default().push((symbol, path));
    }
    Ok(by_target
        .iter()
        .map(|(target_id, defs)| (*target_id, calls_ending_at(&calls, *target_id, defs).map(|c| c.calls).sum()))
        .filter(|(_, calls)| *calls > 0)
        .collect())
}

/// The thread locals of target `target_id` that open calls elsewhere end at, each with the
/// packages whose APIs the calls went through and how many (most first): what it is the root
/// cause of, in detail ([`root_calls_by_target`] counts it).
pub async fn root_holders(pool: &PgPool, target_id: i64) -> sqlx::Result<Vec<crate::views::RootHolder>> {
    let definitions = definitions(pool, Some(target_id)).await?;
    if definitions.is_empty() {
        return Ok(Vec::new());
    }
    let calls = calls_by_holder(pool).await?;
    let defs: Vec<(&str, &str)> =
        definitions.iter().map(|(_, symbol, path)| (symbol.as_str(), path.as_str())).collect();
    let mut holders: Vec<crate::views::RootHolder> = Vec::new();
    for c in calls_ending_at(&calls, target_id, &defs) {
        let holder = match holders.iter_mut().position(|h| h.holder == c.holder) {
            Some(i) => &mut holders[i],
            None => {
                holders.push(crate::views::RootHolder { holder: c.holder.clone(), calls: 0, through: Vec::new() });
                holders.last_mut().expect("just pushed")
            }
        };
        holder.calls += c.calls;
        match holder.through.iter_mut().find(|(package, _)| *package == c.package) {
            Some((_, n)) => *n += c.calls,
            None => holder.through.push((c.package.clone(), c.calls)),
        }
    }
    for h in &mut holders {
        h.through.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    }
    holders.sort_by(|a, b| b.calls.cmp(&a.calls).then_with(|| a.holder.cmp(&b.holder)));
    Ok(holders)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_holder_belongs_to_the_module_or_class_that_defines_it() {
        assert!(holder_defined_in("crum._thread_locals", "crum", "crum/__init__.py"));
        let utils = ("edx_django_utils.cache.utils", "edx_django_utils/cache/utils.py");
        assert!(holder_defined_in("edx_django_utils.cache.utils._REQUEST_CACHE", utils.0, utils.1));
        assert!(!holder_defined_in(
            "edx_django_utils.cache.utils._REQUEST_CACHE",
            "edx_django_utils.db.read_replica",
            "edx_django_utils/db/read_replica.py"
        ));
        assert!(!holder_defined_in(
            "edx_django_utils.cache.utils._REQUEST_CACHE",
            "edx_django_utils.cache",
            "edx_django_utils/cache/__init__.py"
        ));
        // A module-level thread local is not credited with a name of the package above it.
        assert!(!holder_defined_in("edx_django_utils.cache.OTHER", utils.0, utils.1));
        assert!(!holder_defined_in("pkg.other", "pkg.mod", "src/pkg/mod.py"));
        // An instance attribute set in a method: the method's class holds it.
        assert!(holder_defined_in(
            "store.mixins.Branch.thread_cache",
            "store.mixins.Branch.__init__",
            "store/mixins.py"
        ));
        // A class-body thread local: the class is the scope.
        assert!(holder_defined_in("history.models.Records.context", "history.models.Records", "history/models.py"));
        let calls = [
            HolderCalls {
                holder: "crum._thread_locals".into(),
                package: "edx-rbac".into(),
                caller_target_id: 2,
                calls: 50,
            },
            HolderCalls {
                holder: "crum._thread_locals".into(),
                package: "django-crum".into(),
                caller_target_id: 3,
                calls: 32,
            },
            HolderCalls {
                holder: "crum._thread_locals".into(),
                package: "django-crum".into(),
                caller_target_id: 1,
                calls: 4,
            },
            HolderCalls { holder: "other._local".into(), package: "other".into(), caller_target_id: 2, calls: 7 },
        ];
        assert_eq!(clears(&calls, 1, "crum", "crum/__init__.py"), 82, "calls from its own target are not elsewhere");
    }
}
