//! A fix change's contents: the scanner's fixes of the change's open findings applied to the
//! default branch's files, each file verified by scanning it again, and the pull request's
//! title and description (the findings, each rule's help and fix safety, what was verified).

use std::collections::{BTreeMap, BTreeSet};

use db::models::changes::Candidate;
use db::views::ChangeView;

use super::{short, ChangedFile, Prepared, Texts};

/// What fixing gave: the changed files, the findings whose fixes a rescan verified, and why
/// the others were not fixed.
struct Fixed {
    files: Vec<ChangedFile>,
    verified: Vec<Candidate>,
    left: Vec<String>,
}

/// The fix change of `chosen` (its open findings) on `archive`, the default branch's head:
/// the commit it starts from and what it commits and says — or why there is nothing to commit.
pub(super) async fn prepare(
    limits: crate::config::Limits,
    view: &ChangeView,
    archive: Vec<u8>,
    chosen: Vec<Candidate>,
    texts: &Texts,
) -> Result<(String, Prepared), String> {
    let package = view.target.rsplit('/').next().unwrap_or(&view.target).to_owned();
    let unsafe_fixes = view.unsafe_fixes;
    let (commit, fixed) =
        tokio::task::spawn_blocking(move || fix_archive(&archive, &package, limits, &chosen, unsafe_fixes))
            .await
            .map_err(|e| format!("fixing stopped: {e}"))??;
    if fixed.files.is_empty() {
        let why = if fixed.left.is_empty() { "no fix applied".to_owned() } else { fixed.left.join("; ") };
        return Err(format!("nothing to commit at {}: {why}", short(&commit)));
    }
    let slug = view.rule.as_deref().map(str::to_ascii_lowercase).unwrap_or_else(|| "fix".to_owned());
    let (commit_subject, title, body) =
        (commit_subject(view, &fixed), title(view, &fixed), body(texts, view, &fixed, &commit));
    Ok((commit, Prepared { files: fixed.files, slug, commit_subject, title, body }))
}

/// Reads `archive`, fixes the files of `chosen` (only those findings, and what their fixes
/// leave behind) and verifies each file by scanning it again. Blocking.
fn fix_archive(
    archive: &[u8],
    package: &str,
    limits: crate::config::Limits,
    chosen: &[Candidate],
    unsafe_fixes: bool,
) -> Result<(String, Fixed), String> {
    let sources = scanner::SourceOptions { include_tests: true, archive: limits.archive, ..Default::default() };
    let contents =
        scanner::source::tarball(archive, &sources, &[]).map_err(|e| format!("the archive was not read: {e}"))?;
    let commit = contents.commit.clone().ok_or("the archive names no commit: nothing to branch from")?;
    let options = scanner::ScanOptions {
        sources,
        package: Some(package.to_owned()),
        asgiref_available: contents.asgiref_available,
        ..Default::default()
    };
    let mut by_path: BTreeMap<&str, Vec<&Candidate>> = BTreeMap::new();
    for finding in chosen {
        by_path.entry(finding.path.as_str()).or_default().push(finding);
    }
    let mut fixed = Fixed { files: Vec::new(), verified: Vec::new(), left: Vec::new() };
    for (path, findings) in by_path {
        let Some(source) = contents.files.iter().find(|f| f.path == path).and_then(|f| f.contents.as_deref().ok())
        else {
            fixed.left.push(format!("{path} is not in the default branch any more"));
            continue;
        };
        let fingerprints: BTreeSet<String> = findings.iter().filter_map(|f| f.content_fingerprint.clone()).collect();
        let policy = scanner::fix::FixPolicy { unsafe_fixes, only: Some(fingerprints.clone()), ..Default::default() };
        let outcome = scanner::fix_file::fix_in_memory(path, source, package, &options, &policy, |_| true);
        fixed.left.extend(outcome.rolled_back.iter().map(|why| format!("{path}: {why}")));
        if outcome.fixed == source {
            if outcome.rolled_back.is_empty() {
                fixed.left.push(format!("{path}: the findings are no longer where the scan saw them"));
            }
            continue;
        }
        // Verify: the fixed file, scanned again, no longer has the chosen findings.
        let file = scanner::source::SourceFile::in_memory(path.to_owned(), Ok(outcome.fixed.clone()));
        let rescan = scanner::scan::scan_sources(vec![file], package, &options);
        let still: BTreeSet<&str> = rescan.findings.iter().map(|f| f.content_fingerprint.as_str()).collect();
        for finding in findings {
            if finding.content_fingerprint.as_deref().is_none_or(|fp| still.contains(fp)) {
                fixed.left.push(format!("{path}: {} of finding {} did not apply", finding.rule, finding.id));
            } else {
                fixed.verified.push(finding.clone());
            }
        }
        fixed.files.push(ChangedFile { path: path.to_owned(), before: source.to_vec(), after: outcome.fixed });
    }
    Ok((commit, fixed))
}

/// The rules the verified fixes are of, in order.
fn rules(fixed: &Fixed) -> Vec<&str> {
    let rules: BTreeSet<&str> = fixed.verified.iter().map(|f| f.rule.as_str()).collect();
    rules.into_iter().collect()
}

fn commit_subject(view: &ChangeView, fixed: &Fixed) -> String {
    match &view.rule {
        Some(rule) => format!("Fix {rule}"),
        None => format!("Fix {}", rules(fixed).join(", ")),
    }
}

/// "UT012 threading-import-unused: fix 3 places for async safety".
fn title(view: &ChangeView, fixed: &Fixed) -> String {
    let places = fixed.verified.len();
    let what = if places == 1 { "1 place".to_owned() } else { format!("{places} places") };
    let title = match rules(fixed).as_slice() {
        [rule] => match scanner::rules::by_id(rule) {
            Some(info) => format!("{rule} {}: fix {what} for async safety", info.name),
            None => format!("{rule}: fix {what} for async safety"),
        },
        rules => format!("Fix {what} for async safety ({})", rules.join(", ")),
    };
    if view.unsafe_fixes {
        format!("{title} (includes unsafe fixes: review)")
    } else {
        title
    }
}

/// The pull request's description: the epic, who asked, every finding (its Unthread URL —
/// which links it — and its permalink at the scanned commit), each rule's help and its
/// fixes' safety, and what Unthread verified.
fn body(texts: &Texts, view: &ChangeView, fixed: &Fixed, commit: &str) -> String {
    use std::fmt::Write as _;
    let base = texts.base_url.as_str();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Unthread opened this pull request for @{} (change {base}/changes/{}).",
        view.requested_by, view.id
    );
    if let Some(epic) = &texts.epic {
        let _ = writeln!(out, "\nPart of {epic}.");
    }
    let _ = writeln!(out, "\n## Findings addressed\n");
    const LISTED: usize = 100;
    for finding in fixed.verified.iter().take(LISTED) {
        let _ = writeln!(
            out,
            "- {} — {base}/findings/{} — https://github.com/{}/blob/{commit}/{}",
            finding.rule, finding.id, view.target, finding.path
        );
    }
    if fixed.verified.len() > LISTED {
        let _ = writeln!(out, "- and {} more (all on {base}/changes/{})", fixed.verified.len() - LISTED, view.id);
    }
    for rule in rules(fixed) {
        let Some(info) = scanner::rules::by_id(rule) else { continue };
        let _ = writeln!(out, "\n## {rule} {}\n\n{}", info.name, info.summary);
        let help = info.help_markdown();
        if let Some(safety) = section(&help, "Fix safety") {
            let _ = writeln!(out, "\n**Fix safety**: {safety}");
        }
        let _ = writeln!(out, "\nMore: {base}/rules/{rule}");
    }
    if view.unsafe_fixes {
        let _ = writeln!(
            out,
            "\n**Includes unsafe fixes**, asked for by @{}: they may change behaviour (see each rule's fix safety above). Review them as you would a person's change.",
            view.requested_by
        );
    }
    let _ = writeln!(
        out,
        "\n## Verified\n\nUnthread applied the scanner's fixes to {} file{} of {} at {commit} and scanned {} again: the findings above are no longer reported, and no new finding appeared. A scan of the merge commit will mark them fixed.",
        fixed.files.len(),
        if fixed.files.len() == 1 { "" } else { "s" },
        view.target,
        if fixed.files.len() == 1 { "it" } else { "them" }
    );
    if !fixed.left.is_empty() {
        let _ = writeln!(out, "\nNot in this pull request:");
        for why in fixed.left.iter().take(20) {
            let _ = writeln!(out, "- {why}");
        }
    }
    out
}

/// The text of section `## name` of a rule's help, joined into one paragraph.
fn section(help: &str, name: &str) -> Option<String> {
    let start = help.find(&format!("## {name}"))?;
    let rest = &help[start..];
    let rest = &rest[rest.find('\n')? + 1..];
    let end = rest.find("\n## ").unwrap_or(rest.len());
    let text = rest[..end].split_whitespace().collect::<Vec<_>>().join(" ");
    (!text.is_empty()).then_some(text)
}
