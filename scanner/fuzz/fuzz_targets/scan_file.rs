//! Fuzzes the scan-one-file entry points: any bytes, as any Python file, must produce an
//! outcome (findings and/or a recorded problem) without panicking, and the findings must be
//! well formed — scanned whole (`scan_source`) and through the prefilter's partial parse
//! (`scan_sources`), whose plan must hand the parser whole lines, in order, inside the file,
//! and whose findings must be those of a whole parse whenever the file is valid Python.
//! Suppression comments are read from the same bytes: the comment lexer must find comments
//! in order, each starting with `#` on a line of the file, and a suppressed finding must
//! name a directive's line.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scanner::{
    prefilter::{ParsePlan, Prefilter},
    scan::scan_sources,
    scan_source,
    source::SourceFile,
    suppression::{comments, Suppressions},
    ApiIndex, Finding, ScanOptions,
};

fn check(findings: &[Finding]) {
    for finding in findings {
        assert!(finding.start <= finding.end, "{finding:?}");
        assert!(finding.start.line >= 1 && finding.start.column >= 1);
        assert_eq!(finding.fingerprint.len(), 32);
    }
}

fuzz_target!(|data: &[u8]| {
    let outcome = scan_source("pkg/fuzzed.py", data, &ApiIndex::new());
    check(&outcome.findings);

    let lines = data.iter().filter(|&&b| b == b'\n').count() as u32 + 1;
    let mut previous = 0;
    for comment in comments(data) {
        assert!(comment.line >= previous && comment.line <= lines, "{comment:?} of {lines} lines");
        assert!(comment.text.is_empty() || comment.text.starts_with('#'), "{comment:?}");
        previous = comment.line;
    }
    let _ = Suppressions::parse(data).into_notes();
    for finding in &outcome.findings {
        if let Some(suppression) = &finding.suppression {
            assert!(suppression.line >= 1 && suppression.line <= lines, "{suppression:?}");
        }
    }

    if let ParsePlan::Only(ranges) = Prefilter::new(&ApiIndex::new()).with_preview(true).plan(data) {
        let mut at = 0;
        for range in &ranges {
            assert!(at <= range.start && range.start < range.end && range.end <= data.len(), "{ranges:?}");
            assert!(range.start == 0 || data[range.start - 1] == b'\n', "ranges start lines: {ranges:?}");
            at = range.end;
        }
    }
    let file = || SourceFile { path: "pkg/fuzzed.py".into(), contents: Ok(data.to_vec()), on_disk: None };
    // With the preview rules (UT013's prefilter triggers are the loosest).
    let options = ScanOptions { call_graph_rules: true, unknown_time_writes: true, ..Default::default() };
    let report = scan_sources(vec![file()], "pkg", &options);
    check(&report.findings);
    let whole = scan_sources(vec![file()], "pkg", &ScanOptions { no_prefilter: true, ..options });
    // (With syntax errors, error recovery may shape the rest of a whole parse differently.)
    if whole.files.iter().all(|f| f.problem.is_none()) {
        assert_eq!(report.findings, whole.findings, "the prefilter changed a result");
        assert_eq!(report.api_index, whole.api_index);
    }
});
