//! A bump change's contents: the pin of one dependency moved from the scanned version to the
//! release its upgrade advice names, in every requirements file of the repository that pins
//! it — that one line of each, nothing else (the `# via` comments stay as pip-compile wrote
//! them) — and a description saying which findings the release clears, what it requires, and
//! that compatibility is not checked.

use db::models::changes::{self, Candidate, PinPlace, Work};
use sqlx::PgPool;

use super::{short, ChangedFile, JobError, Prepared, Texts};

/// The bump of `work`'s dependency in its repository on `archive` (the default branch's
/// head): the commit it starts from and what it commits and says, or why not (`Ok(Err)`).
pub(super) async fn prepare(
    pool: &PgPool,
    limits: crate::config::Limits,
    work: &Work,
    archive: Vec<u8>,
    clears: &[Candidate],
    texts: &Texts,
) -> Result<Result<(String, Prepared), String>, JobError> {
    let view = &work.view;
    let (Some(dependency), Some(from), Some(to)) = (&view.dependency, &view.from_version, &view.to_version) else {
        return Ok(Err("the change names no dependency bump".to_owned()));
    };
    let mut conn = pool.acquire().await?;
    let plan = changes::bump_plan(&mut conn, dependency).await?;
    drop(conn);
    let pins: Vec<PinPlace> = plan
        .as_ref()
        .filter(|p| &p.from == from)
        .map(|p| p.pins.iter().filter(|pin| pin.repository == view.target).cloned().collect())
        .unwrap_or_default();
    if pins.is_empty() {
        return Ok(Err(format!("no requirements file of {} pins {dependency}=={from} any more", view.target)));
    }
    let (requires_python, requires_dist) =
        plan.as_ref().map(|p| (p.requires_python.clone(), p.requires_dist.clone())).unwrap_or_default();
    let paths: Vec<String> = pins.iter().map(|p| p.path.clone()).collect();
    let sources = scanner::SourceOptions { archive: limits.archive, ..Default::default() };
    let read = tokio::task::spawn_blocking(move || {
        let wanted: Vec<&str> = paths.iter().map(String::as_str).collect();
        scanner::source::tarball(&archive, &sources, &wanted)
    })
    .await
    .map_err(|e| JobError::Retry(format!("reading the archive stopped: {e}")))?;
    let contents = match read {
        Ok(contents) => contents,
        Err(e) => return Ok(Err(format!("the archive was not read: {e}"))),
    };
    let Some(commit) = contents.commit.clone() else {
        return Ok(Err("the archive names no commit: nothing to branch from".to_owned()));
    };
    let mut files = Vec::new();
    let mut left = Vec::new();
    for pin in &pins {
        let Some(before) = contents.extra.get(&pin.path) else {
            left.push(format!("{} is not in the default branch any more", pin.path));
            continue;
        };
        let Ok(text) = std::str::from_utf8(before) else {
            left.push(format!("{} is not UTF-8 text", pin.path));
            continue;
        };
        match bump_line(text, &pin.package, from, to) {
            Ok(after) => {
                files.push(ChangedFile { path: pin.path.clone(), before: before.clone(), after: after.into_bytes() })
            }
            Err(why) => left.push(format!("{}: {why}", pin.path)),
        }
    }
    if files.is_empty() {
        return Ok(Err(format!("nothing to commit at {}: {}", short(&commit), left.join("; "))));
    }
    let subject = format!("Bump {dependency} {from} → {to}");
    let title = format!(
        "{subject}: clears {} of its {} open async-safety finding{}",
        clears.len(),
        plan.as_ref().map_or(clears.len() as i64, |p| p.open),
        if clears.len() == 1 { "" } else { "s" }
    );
    let body = body(texts, work, clears, &files, &left, requires_python.as_deref(), &requires_dist);
    let slug = format!("bump-{}", dependency.to_ascii_lowercase());
    Ok(Ok((commit, Prepared { files, slug, commit_subject: subject, title, body })))
}

/// `text` (a pip-compile requirements file) with the one line pinning `package==from` changed
/// to `==to`, every other byte as it was. Refused: no such line, several, or a pin with hashes
/// (`--generate-hashes`: the new release's hashes must come from pip-compile, not from here).
pub fn bump_line(text: &str, package: &str, from: &str, to: &str) -> Result<String, String> {
    let normalise = |name: &str| name.to_ascii_lowercase().replace(['_', '.'], "-");
    let wanted = normalise(package);
    let mut found: Option<(usize, usize)> = None;
    let mut offset = 0;
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    for (i, line) in lines.iter().enumerate() {
        let start = offset;
        offset += line.len();
        let content = line.trim_start();
        let name_end =
            content.find(|c: char| !(c.is_ascii_alphanumeric() || "-_.".contains(c))).unwrap_or(content.len());
        if name_end == 0 || normalise(&content[..name_end]) != wanted {
            continue;
        }
        // Extras (`name[extra]==1.0`) come between the name and the version.
        let rest = &content[name_end..];
        let after_extras = match rest.strip_prefix('[') {
            Some(r) => match r.find(']') {
                Some(close) => &r[close + 1..],
                None => continue,
            },
            None => rest,
        };
        let spec = after_extras.trim_start();
        let Some(version) = spec.strip_prefix("==") else { continue };
        let version = version.trim_start();
        let version_end =
            version.find(|c: char| c.is_whitespace() || c == ';' || c == '#' || c == '\\').unwrap_or(version.len());
        if &version[..version_end] != from {
            continue;
        }
        let hashed = line.trim_end().ends_with('\\')
            || lines.get(i + 1).is_some_and(|next| next.trim_start().starts_with("--hash"));
        if hashed {
            return Err(format!("{package}=={from} is pinned with hashes: run pip-compile to bump it"));
        }
        if found.is_some() {
            return Err(format!("{package}=={from} is pinned on more than one line"));
        }
        let at = start + (line.len() - content.len()) + (content.len() - version.len());
        found = Some((at, at + version_end));
    }
    let (at, end) = found.ok_or_else(|| format!("no line pins {package}=={from} at the default branch's head"))?;
    Ok(format!("{}{to}{}", &text[..at], &text[end..]))
}

fn body(
    texts: &Texts,
    work: &Work,
    clears: &[Candidate],
    files: &[ChangedFile],
    left: &[String],
    requires_python: Option<&str>,
    requires_dist: &[String],
) -> String {
    use std::fmt::Write as _;
    let view = &work.view;
    let base = texts.base_url.as_str();
    let dependency = view.dependency.as_deref().unwrap_or_default();
    let (from, to) = (view.from_version.as_deref().unwrap_or("?"), view.to_version.as_deref().unwrap_or("?"));
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Unthread opened this pull request for @{} (change {base}/changes#change-{}).",
        view.requested_by, view.id
    );
    if let Some(epic) = &texts.epic {
        let _ = writeln!(out, "\nPart of {epic}.");
    }
    let files_list: Vec<String> = files.iter().map(|f| format!("`{}`", f.path)).collect();
    let _ = writeln!(
        out,
        "\nMoves the pin of `{dependency}` from {from} to {to} in {} (that line only; the `# via` comments are left to the next pip-compile run).",
        files_list.join(", ")
    );
    let _ = writeln!(
        out,
        "\n## What {to} clears\n\nUnthread scanned {dependency} {to}: it no longer has these {} open finding{} of {from}:\n",
        clears.len(),
        if clears.len() == 1 { "" } else { "s" }
    );
    const LISTED: usize = 100;
    for finding in clears.iter().take(LISTED) {
        let _ = writeln!(out, "- {} `{}` — {base}/findings/{}", finding.rule, finding.path, finding.id);
    }
    if clears.len() > LISTED {
        let _ = writeln!(out, "- and {} more", clears.len() - LISTED);
    }
    let _ = writeln!(out, "\n## Compatibility is not checked\n");
    let _ = writeln!(out, "- Requires-Python of {to}: {}", requires_python.unwrap_or("not stated"));
    if requires_dist.is_empty() {
        let _ = writeln!(out, "- Requires-Dist of {to}: none");
    } else {
        let _ = writeln!(
            out,
            "- Requires-Dist of {to}: {}",
            requires_dist.iter().map(|d| format!("`{d}`")).collect::<Vec<_>>().join(", ")
        );
    }
    let _ = writeln!(
        out,
        "\nUnthread checked which findings the release clears, not whether the platform works with it: the test suite decides. Once merged, the rescan of the requirements file scans {dependency} {to} and marks the findings fixed."
    );
    if !left.is_empty() {
        let _ = writeln!(out, "\nNot changed:");
        for why in left {
            let _ = writeln!(out, "- {why}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::bump_line;

    const FILE: &str = "#\n# pip-compile\n#\ndjango==4.2.16\n    # via\n    #   -r requirements/edx/base.in\n    #   django-crum\ndjango-crum==0.7.9\n    # via -r requirements/edx/base.in\ndjango-crummy==0.7.9\n";

    #[test]
    fn only_the_pins_version_changes() {
        let after = bump_line(FILE, "django-crum", "0.7.9", "0.8.0").unwrap();
        assert_eq!(after, FILE.replace("django-crum==0.7.9\n", "django-crum==0.8.0\n"));
        let changed: Vec<(&str, &str)> = FILE.lines().zip(after.lines()).filter(|(a, b)| a != b).collect();
        assert_eq!(changed, [("django-crum==0.7.9", "django-crum==0.8.0")]);
    }

    #[test]
    fn names_are_compared_normalised_and_markers_and_extras_kept() {
        let text = "Django_Crum[extra] == 0.7.9 ; python_version >= \"3.8\"  # pinned\n";
        assert_eq!(
            bump_line(text, "django-crum", "0.7.9", "0.8.0").unwrap(),
            "Django_Crum[extra] == 0.8.0 ; python_version >= \"3.8\"  # pinned\n"
        );
    }

    #[test]
    fn a_missing_other_or_hashed_pin_is_refused() {
        assert!(bump_line(FILE, "django-crum", "0.7.8", "0.8.0").unwrap_err().contains("no line pins"));
        assert!(bump_line(FILE, "crum", "0.7.9", "0.8.0").is_err());
        let hashed = "django-crum==0.7.9 \\\n    --hash=sha256:abc\n";
        assert!(bump_line(hashed, "django-crum", "0.7.9", "0.8.0").unwrap_err().contains("hashes"));
        let twice = "django-crum==0.7.9\ndjango-crum==0.7.9 ; python_version < \"3\"\n";
        assert!(bump_line(twice, "django-crum", "0.7.9", "0.8.0").unwrap_err().contains("more than one"));
    }
}
