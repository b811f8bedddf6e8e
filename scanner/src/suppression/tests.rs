use super::*;
use crate::{scan_source, ApiIndex};

/// Reported findings (line, rule), suppressed ones (line, rule, how) and the file's notes.
type Outcome = (Vec<(u32, String)>, Vec<(u32, String, SuppressionKind)>, Vec<SuppressionNote>);

/// What scanning `src` reports, suppresses and notes.
fn outcome(src: &str) -> Outcome {
    let outcome = scan_source("pkg/mod.py", src.as_bytes(), &ApiIndex::new());
    let (suppressed, reported): (Vec<_>, Vec<_>) = outcome.findings.into_iter().partition(|f| f.suppression.is_some());
    (
        reported.into_iter().map(|f| (f.start.line, f.rule)).collect(),
        suppressed.into_iter().map(|f| (f.start.line, f.rule, f.suppression.unwrap().kind)).collect(),
        outcome.suppression_notes,
    )
}

fn unused(notes: &[SuppressionNote]) -> Vec<u32> {
    notes.iter().filter(|n| n.kind == NoteKind::Unused).map(|n| n.line).collect()
}

#[test]
fn noqa_with_codes_silences_only_those_rules() {
    let src = "import threading\n_a = threading.local()  # noqa: UT001\n_b = threading.local()  # noqa: UT003\n";
    let (reported, suppressed, notes) = outcome(src);
    assert_eq!(reported, [(3, "UT001".to_owned())]);
    assert_eq!(suppressed, [(2, "UT001".to_owned(), SuppressionKind::Noqa)]);
    assert_eq!(unused(&notes), [3], "UT003 on line 3 silenced nothing");
}

#[test]
fn noqa_lists_and_other_tools_codes() {
    let src = "import threading\n_a = threading.local()  # noqa: E501, UT003,UT001 trailing words\n_b = threading.local()  # NOQA:UT001\n_c = threading.local()  # noqa: E501\n";
    let (reported, suppressed, notes) = outcome(src);
    assert_eq!(reported, [(4, "UT001".to_owned())], "a noqa naming only other tools' codes is theirs");
    assert_eq!(suppressed.len(), 2);
    assert_eq!(unused(&notes), [2], "UT003 in line 2's list silenced nothing");
}

#[test]
fn bare_noqa_silences_every_rule_and_is_never_unused() {
    let src = "import threading\n_a = threading.local()  # noqa\nx = 1  # noqa\n_b = threading.local()  # noqa:\n";
    let (reported, suppressed, notes) = outcome(src);
    assert!(reported.is_empty(), "{reported:?}");
    assert_eq!(suppressed.len(), 2);
    assert!(notes.is_empty(), "{notes:?}");
}

#[test]
fn unthread_ignore_keeps_its_reason() {
    let src = "import threading\n_a = threading.local()  # unthread: ignore[UT001] -- one per process, read-only after start\n";
    let outcome = scan_source("pkg/mod.py", src.as_bytes(), &ApiIndex::new());
    let suppression = outcome.findings[0].suppression.clone().expect("suppressed");
    assert_eq!(suppression.kind, SuppressionKind::Ignore);
    assert_eq!(suppression.justification.as_deref(), Some("one per process, read-only after start"));
    assert_eq!(suppression.line, 2);
}

#[test]
fn multi_line_statements_take_the_comment_on_their_first_or_last_line() {
    let first = "import threading\n_a = dict(  # noqa: UT001\n    state=threading.local(),\n)\n";
    let last = "import threading\n_a = dict(\n    state=threading.local(),\n)  # unthread: ignore[UT001]\n";
    let middle = "import threading\n_a = dict(\n    x=1,  # noqa: UT001\n    state=threading.local(),\n)\n";
    assert!(outcome(first).0.is_empty());
    assert!(outcome(last).0.is_empty());
    assert_eq!(outcome(middle).0, [(4, "UT001".to_owned())], "a comment on another line of the statement");
}

#[test]
fn compound_statements_take_the_comment_on_their_header() {
    let header = "import threading\n\n@decorate\nclass State(threading.local):  # noqa: UT002\n    x = 1\n";
    let (reported, suppressed, _) = outcome(header);
    assert!(reported.is_empty(), "{reported:?}");
    assert_eq!(suppressed.len(), 1);
    let body = "import threading\nclass State(threading.local):\n    x = 1  # noqa: UT002\n";
    assert_eq!(outcome(body).0, [(2, "UT002".to_owned())], "a comment in the class body is not on its header");
}

#[test]
fn noqa_inside_a_string_does_not_count() {
    let src = "import threading\n_a = threading.local(); s = '# noqa: UT001'\n_b = threading.local(); t = \"\"\"\n# unthread: ignore-file\n\"\"\"\n";
    let (reported, suppressed, notes) = outcome(src);
    assert_eq!(reported.len(), 2, "{reported:?}");
    assert!(suppressed.is_empty());
    assert!(notes.is_empty(), "{notes:?}");
}

#[test]
fn ignore_file_silences_its_rules_everywhere_in_the_file() {
    let src = "# unthread: ignore-file[UT010] -- module caches filled at import, never written later\nimport threading\n_cache = {}\n_b = threading.local()\n\ndef f():\n    _cache['k'] = 1\n";
    let (reported, suppressed, notes) = outcome(src);
    assert!(reported.iter().all(|(_, rule)| rule != "UT010"), "{reported:?}");
    assert!(suppressed.iter().all(|(_, rule, kind)| rule == "UT010" && *kind == SuppressionKind::IgnoreFile));
    assert!(!suppressed.is_empty());
    assert!(reported.iter().any(|(_, rule)| rule == "UT001"));
    assert!(notes.is_empty(), "{notes:?}");
}

#[test]
fn unknown_rules_and_malformed_directives_are_noted() {
    let src = "import threading\n_a = threading.local()  # noqa: UT999, UT001\nx = 1  # unthread: ignor[UT001]\ny = 2  # unthread: ignore UT001\nz = 3  # unthread: ignore[XY1]\n";
    let (reported, _, notes) = outcome(src);
    assert!(reported.is_empty(), "UT001 is still silenced: {reported:?}");
    let kinds: Vec<(u32, NoteKind)> = notes.iter().map(|n| (n.line, n.kind)).collect();
    assert_eq!(
        kinds,
        [(2, NoteKind::UnknownRule), (3, NoteKind::Malformed), (4, NoteKind::Malformed), (5, NoteKind::UnknownRule)]
    );
    assert!(notes[0].message.contains("UT999"));
}

#[test]
fn files_the_prefilter_skips_report_their_directives_when_asked() {
    use crate::{scan::scan_sources, source::SourceFile, ScanOptions};
    let file = || SourceFile {
        path: "pkg/plain.py".into(),
        contents: Ok(b"x = 1  # noqa: UT001\ny = 2  # noqa: UT000\n".to_vec()),
        on_disk: None,
    };
    let everywhere = ScanOptions { all_suppressions: true, ..Default::default() };
    let report = scan_sources(vec![file()], "pkg", &everywhere);
    let kinds: Vec<NoteKind> = report.files[0].suppression_notes.iter().map(|n| n.kind).collect();
    assert_eq!(kinds, [NoteKind::Unused, NoteKind::UnknownRule]);
    // Unasked, a file without findings is not lexed for comments (it has nothing to silence).
    let report = scan_sources(vec![file()], "pkg", &ScanOptions::default());
    assert!(report.files[0].suppression_notes.is_empty());
}

#[test]
fn codes_are_letters_then_digits() {
    assert!(is_code("UT001") && is_code("E501") && is_code("b950"));
    assert!(!is_code("501") && !is_code("UT") && !is_code("UT0a") && !is_code("trailing"));
}

#[test]
fn a_reason_runs_to_the_end_of_the_line_and_a_directive_stops_at_the_next_hash() {
    let src = "import threading\n_a = threading.Lock()  # unthread: ignore[UT003] -- guards the port (#38740), see #12\n_b = threading.Lock()  # unthread: ignore[UT003]  # noqa: E501\n";
    let outcome = scan_source("pkg/mod.py", src.as_bytes(), &ApiIndex::new());
    let reasons: Vec<(u32, Option<String>)> = outcome
        .findings
        .iter()
        .map(|f| (f.start.line, f.suppression.as_ref().and_then(|s| s.justification.clone())))
        .collect();
    assert_eq!(reasons, [(2, Some("guards the port (#38740), see #12".to_owned())), (3, None)]);
    assert!(outcome.suppression_notes.iter().all(|n| n.kind != NoteKind::Malformed), "{:?}", outcome.suppression_notes);
}
