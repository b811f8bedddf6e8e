//! PyPI packages and what pins them: pip-compile files imported for a target
//! (`requirement_files`), their pins (`package_pins`) and `# via` edges (`package_edges`), and
//! which target a package is (`target_packages`).

use std::collections::{BTreeMap, HashMap};

use crate::kinds::TargetKind;
use sqlx::{PgConnection, PgExecutor};

/// Makes sure every package of `names` (normalised) exists; their ids by name.
pub async fn ensure(db: &mut PgConnection, names: &[String]) -> sqlx::Result<HashMap<String, i64>> {
    sqlx::query!("INSERT INTO packages (name) SELECT * FROM UNNEST($1::text[]) ON CONFLICT (name) DO NOTHING", names)
        .execute(&mut *db)
        .await?;
    let rows = sqlx::query!("SELECT id, name FROM packages WHERE name = ANY($1)", names).fetch_all(&mut *db).await?;
    Ok(rows.into_iter().map(|row| (row.name, row.id)).collect())
}

/// The target `target_id` is the package `package` (created if new): a dependency target,
/// or the distribution a repository publishes.
pub async fn link_target(db: &mut PgConnection, target_id: i64, package: &str) -> sqlx::Result<()> {
    sqlx::query!("INSERT INTO packages (name) VALUES ($1) ON CONFLICT (name) DO NOTHING", package)
        .execute(&mut *db)
        .await?;
    sqlx::query!(
        "INSERT INTO target_packages (target_id, package_id) SELECT $1, id FROM packages WHERE name = $2 ON CONFLICT DO NOTHING",
        target_id,
        package
    )
    .execute(&mut *db)
    .await?;
    Ok(())
}

/// The target that is package `package`, if any: `(id, kind, name)` — a dependency target,
/// or the repository that publishes it.
pub async fn target_of(db: impl PgExecutor<'_>, package: &str) -> sqlx::Result<Option<(i64, TargetKind, String)>> {
    let row = sqlx::query!(
        r#"SELECT t.id, t.kind AS "kind: TargetKind", t.name
           FROM packages p JOIN target_packages tp ON tp.package_id = p.id JOIN targets t ON t.id = tp.target_id
           WHERE p.name = $1"#,
        package
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| (r.id, r.kind, r.name)))
}

/// The requirements file `path` of `target_id`, recorded as imported now; its id.
pub async fn requirement_file(db: impl PgExecutor<'_>, target_id: i64, path: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar!(
        r#"INSERT INTO requirement_files (target_id, path) VALUES ($1, $2)
           ON CONFLICT (target_id, path) DO UPDATE SET imported_at = now()
           RETURNING id"#,
        target_id,
        path
    )
    .fetch_one(db)
    .await
}

/// What the file pins, by package name: the version, or the direct URL.
pub async fn pinned(db: impl PgExecutor<'_>, file_id: i64) -> sqlx::Result<BTreeMap<String, String>> {
    let rows = sqlx::query!(
        r#"SELECT p.name, coalesce(pp.version, pp.direct_url) AS "pinned!"
           FROM package_pins pp JOIN packages p ON p.id = pp.package_id
           WHERE pp.requirement_file_id = $1"#,
        file_id
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|row| (row.name, row.pinned)).collect())
}

/// One pin of a requirements file.
#[derive(Clone, Debug)]
pub struct Pin {
    pub package_id: i64,
    /// A version on the index, or else a direct reference.
    pub version: Option<String>,
    pub direct_url: Option<String>,
    pub extras: Vec<String>,
    pub marker: Option<String>,
    pub line: i32,
}

/// One `# via` edge: `child` is pulled in by package `parent`, or listed in `via_file`.
#[derive(Clone, Debug)]
pub struct Edge {
    pub parent: Option<i64>,
    pub child: i64,
    /// `-r requirements/edx/kernel.in` or `-c requirements/constraints.txt`.
    pub via_file: Option<String>,
}

/// Replaces what file `file_id` pins, and its edges, with `pins` and `edges`.
pub async fn replace_pins(db: &mut PgConnection, file_id: i64, pins: &[Pin], edges: &[Edge]) -> sqlx::Result<()> {
    sqlx::query!("DELETE FROM package_edges WHERE requirement_file_id = $1", file_id).execute(&mut *db).await?;
    sqlx::query!("DELETE FROM package_pins WHERE requirement_file_id = $1", file_id).execute(&mut *db).await?;
    let package_ids: Vec<i64> = pins.iter().map(|p| p.package_id).collect();
    let versions: Vec<Option<String>> = pins.iter().map(|p| p.version.clone()).collect();
    let urls: Vec<Option<String>> = pins.iter().map(|p| p.direct_url.clone()).collect();
    // Arrays of arrays must be rectangular in PostgreSQL: pass extras joined, split in SQL.
    let extras: Vec<String> = pins.iter().map(|p| p.extras.join(",")).collect();
    let markers: Vec<Option<String>> = pins.iter().map(|p| p.marker.clone()).collect();
    let lines: Vec<i32> = pins.iter().map(|p| p.line).collect();
    sqlx::query!(
        r#"INSERT INTO package_pins (requirement_file_id, package_id, version, direct_url, extras, marker, line)
           SELECT $1, t.package_id, t.version, t.url, coalesce(string_to_array(nullif(t.extras, ''), ','), '{}'), t.marker, t.line
           FROM UNNEST($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int[])
                AS t(package_id, version, url, extras, marker, line)"#,
        file_id,
        &package_ids,
        &versions as &[Option<String>],
        &urls as &[Option<String>],
        &extras,
        &markers as &[Option<String>],
        &lines
    )
    .execute(&mut *db)
    .await?;
    let parents: Vec<Option<i64>> = edges.iter().map(|e| e.parent).collect();
    let children: Vec<i64> = edges.iter().map(|e| e.child).collect();
    let files: Vec<Option<String>> = edges.iter().map(|e| e.via_file.clone()).collect();
    sqlx::query!(
        r#"INSERT INTO package_edges (requirement_file_id, parent_package_id, child_package_id, via_file)
           SELECT $1, t.parent, t.child, t.file
           FROM UNNEST($2::bigint[], $3::bigint[], $4::text[]) AS t(parent, child, file)
           ON CONFLICT DO NOTHING"#,
        file_id,
        &parents as &[Option<i64>],
        &children,
        &files as &[Option<String>]
    )
    .execute(&mut *db)
    .await?;
    Ok(())
}

/// What the requirements files pin a dependency target's package to now: `(version,
/// direct reference)` pairs, one of each set. None: the package is no longer pinned anywhere.
pub async fn pins_of_target(
    db: impl PgExecutor<'_>,
    target_id: i64,
) -> sqlx::Result<Vec<(Option<String>, Option<String>)>> {
    let rows = sqlx::query!(
        r#"SELECT DISTINCT pp.version, pp.direct_url
           FROM target_packages tp JOIN package_pins pp ON pp.package_id = tp.package_id
           WHERE tp.target_id = $1 ORDER BY 1, 2"#,
        target_id
    )
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|r| (r.version, r.direct_url)).collect())
}
