//! Imports a parsed pip-compile file for a repository target: its packages, pins and the
//! `# via` edges. The file's previous import is replaced as a whole, in one transaction.

use std::collections::BTreeMap;

use db::models::{
    events::{self, About, Event, RequirementsImported},
    packages,
};

use crate::pypi::requirements::{Requirements, Via};

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

/// Stores `requirements` as the content of `path` for `target_id` (in a transaction of its
/// own, or a savepoint of the caller's).
pub async fn import(
    conn: &mut sqlx::PgConnection,
    target_id: i64,
    path: &str,
    requirements: &Requirements,
) -> sqlx::Result<RequirementsImport> {
    use sqlx::Connection;
    let mut tx = conn.begin().await?;

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
    let ids = packages::ensure(&mut tx, &names).await?;
    let file_id = packages::requirement_file(&mut *tx, target_id, path).await?;
    let previous = packages::pinned(&mut *tx, file_id).await?;

    let pins = &requirements.pins;
    let rows: Vec<packages::Pin> = pins
        .iter()
        .map(|p| packages::Pin {
            package_id: ids[&p.name],
            version: p.version.clone(),
            direct_url: p.direct_url.clone(),
            extras: p.extras.clone(),
            marker: p.marker.clone(),
            line: i32::try_from(p.line).unwrap_or(i32::MAX),
        })
        .collect();
    let mut edges = Vec::new();
    for pin in pins {
        for via in &pin.via {
            let (parent, via_file) = match via {
                Via::Package(parent) => (Some(ids[parent]), None),
                other => (None, Some(other.to_string())),
            };
            if parent == Some(ids[&pin.name]) {
                continue; // pip-compile never writes one, and the schema forbids it
            }
            edges.push(packages::Edge { parent, child: ids[&pin.name], via_file });
        }
    }
    packages::replace_pins(&mut tx, file_id, &rows, &edges).await?;

    let current: BTreeMap<&str, String> = pins
        .iter()
        .map(|p| (p.name.as_str(), p.version.clone().or_else(|| p.direct_url.clone()).unwrap_or_default()))
        .collect();
    let mut summary =
        RequirementsImport { requirement_file_id: file_id, pins: pins.len(), edges: edges.len(), ..Default::default() };
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
pub async fn link_dependency_target(conn: &mut sqlx::PgConnection, target_id: i64, name: &str) -> anyhow::Result<()> {
    let package = crate::pypi::requirements::normalise(name);
    anyhow::ensure!(package == name, "a dependency target is named by its normalised PyPI name: {package}");
    packages::link_target(conn, target_id, &package).await?;
    Ok(())
}
