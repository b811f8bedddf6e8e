//! Imports a parsed pip-compile file for a repository target: its packages, pins and the
//! `# via` edges. The file's previous import is replaced as a whole, in one transaction.

use db::models::events::{self, About, Event, RequirementsImported};
use std::collections::{BTreeMap, HashMap};

use sqlx::PgPool;

use crate::requirements::{Requirements, Via};

/// What changed compared with the previous import of the same file.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct RequirementsImport {
    pub requirement_file_id: i64,
    pub pins: usize,
    pub edges: usize,
    pub added: Vec<String>,
    pub removed: Vec<String>,
    /// `(name, old version, new version)`
    pub changed: Vec<(String, String, String)>,
}

/// Stores `requirements` as the content of `path` for `target_id`.
pub async fn import(
    pool: &PgPool,
    target_id: i64,
    path: &str,
    requirements: &Requirements,
) -> sqlx::Result<RequirementsImport> {
    let mut tx = pool.begin().await?;

    // Every package named anywhere in the file: pins and `# via` parents.
    let mut names: Vec<String> = requirements.pins.iter().map(|p| p.name.clone()).collect();
    for pin in &requirements.pins {
        for via in &pin.via {
            if let Via::Package(parent) = via {
                names.push(parent.clone());
            }
        }
    }
    names.sort();
    names.dedup();
    sqlx::query!("INSERT INTO packages (name) SELECT * FROM UNNEST($1::text[]) ON CONFLICT (name) DO NOTHING", &names)
        .execute(&mut *tx)
        .await?;
    let ids: HashMap<String, i64> = sqlx::query!("SELECT id, name FROM packages WHERE name = ANY($1)", &names)
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .map(|row| (row.name, row.id))
        .collect();

    let file_id = sqlx::query_scalar!(
        r#"INSERT INTO requirement_files (target_id, path) VALUES ($1, $2)
           ON CONFLICT (target_id, path) DO UPDATE SET imported_at = now()
           RETURNING id"#,
        target_id,
        path
    )
    .fetch_one(&mut *tx)
    .await?;

    let previous: BTreeMap<String, String> = sqlx::query!(
        r#"SELECT p.name, coalesce(pp.version, pp.direct_url) AS "pinned!"
           FROM package_pins pp JOIN packages p ON p.id = pp.package_id
           WHERE pp.requirement_file_id = $1"#,
        file_id
    )
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .map(|row| (row.name, row.pinned))
    .collect();
    sqlx::query!("DELETE FROM package_edges WHERE requirement_file_id = $1", file_id).execute(&mut *tx).await?;
    sqlx::query!("DELETE FROM package_pins WHERE requirement_file_id = $1", file_id).execute(&mut *tx).await?;

    let pins = &requirements.pins;
    let package_ids: Vec<i64> = pins.iter().map(|p| ids[&p.name]).collect();
    let versions: Vec<Option<String>> = pins.iter().map(|p| p.version.clone()).collect();
    let urls: Vec<Option<String>> = pins.iter().map(|p| p.direct_url.clone()).collect();
    // Arrays of arrays must be rectangular in PostgreSQL: pass extras joined, split in SQL.
    let extras: Vec<String> = pins.iter().map(|p| p.extras.join(",")).collect();
    let markers: Vec<Option<String>> = pins.iter().map(|p| p.marker.clone()).collect();
    let lines: Vec<i32> = pins.iter().map(|p| i32::try_from(p.line).unwrap_or(i32::MAX)).collect();
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
    .execute(&mut *tx)
    .await?;

    let (mut parents, mut children, mut files): (Vec<Option<i64>>, Vec<i64>, Vec<Option<String>>) = Default::default();
    for pin in pins {
        for via in &pin.via {
            let (parent, file) = match via {
                Via::Package(parent) => (Some(ids[parent]), None),
                other => (None, Some(other.to_string())),
            };
            if parent == Some(ids[&pin.name]) {
                continue; // pip-compile never writes one, and the schema forbids it
            }
            parents.push(parent);
            children.push(ids[&pin.name]);
            files.push(file);
        }
    }
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
    .execute(&mut *tx)
    .await?;

    let current: BTreeMap<&str, String> = pins
        .iter()
        .map(|p| (p.name.as_str(), p.version.clone().or_else(|| p.direct_url.clone()).unwrap_or_default()))
        .collect();
    let mut summary = RequirementsImport {
        requirement_file_id: file_id,
        pins: pins.len(),
        edges: children.len(),
        ..Default::default()
    };
    for (name, pinned) in &current {
        match previous.get(*name) {
            None => summary.added.push((*name).to_owned()),
            Some(old) if old != pinned => summary.changed.push(((*name).to_owned(), old.clone(), pinned.clone())),
            Some(_) => {}
        }
    }
    summary.removed = previous.keys().filter(|name| !current.contains_key(name.as_str())).cloned().collect();

    let event = Event::RequirementsImported(RequirementsImported {
        path: path.to_owned(),
        pins: summary.pins,
        edges: summary.edges,
        added: summary.added.len(),
        removed: summary.removed.len(),
        changed: summary.changed.len(),
    });
    events::record(&mut *tx, &event, About::system().target(target_id)).await?;
    tx.commit().await?;
    Ok(summary)
}

/// A dependency target is the PyPI package of the same (normalised) name.
pub async fn link_dependency_target(pool: &PgPool, target_id: i64, name: &str) -> anyhow::Result<()> {
    let package = crate::requirements::normalise(name);
    anyhow::ensure!(package == name, "a dependency target is named by its normalised PyPI name: {package}");
    sqlx::query("INSERT INTO packages (name) VALUES ($1) ON CONFLICT (name) DO NOTHING")
        .bind(&package)
        .execute(pool)
        .await?;
    sqlx::query(
        "INSERT INTO target_packages (target_id, package_id) SELECT $1, id FROM packages WHERE name = $2 ON CONFLICT DO NOTHING",
    )
    .bind(target_id)
    .bind(&package)
    .execute(pool)
    .await?;
    Ok(())
}
