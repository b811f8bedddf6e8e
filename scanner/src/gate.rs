//! What a scan reports, and so whether CI fails: the findings that are not suppressed in the
//! source, not in the baseline, and (with `--diff-base`) on changed lines.

use crate::{baseline::Baseline, diff::ChangedLines, Finding, ScanReport};

/// What stands between a finding and the report.
#[derive(Debug, Default)]
pub struct Gate {
    pub baseline: Option<Baseline>,
    pub changed: Option<ChangedLines>,
}

/// A scan's findings, sorted by the gate.
#[derive(Debug, Default)]
pub struct Verdict<'r> {
    /// Reported: these fail the check.
    pub reported: Vec<&'r Finding>,
    pub suppressed: usize,
    pub baselined: usize,
    pub outside_diff: usize,
}

impl Gate {
    pub fn sort<'r>(&self, report: &'r ScanReport) -> Verdict<'r> {
        let mut verdict = Verdict::default();
        for finding in &report.findings {
            if finding.suppression.is_some() {
                verdict.suppressed += 1;
            } else if self.baseline.as_ref().is_some_and(|baseline| baseline.contains(finding)) {
                verdict.baselined += 1;
            } else if self
                .changed
                .as_ref()
                .is_some_and(|changed| !changed.touches(&finding.path, finding.start.line, finding.end.line))
            {
                verdict.outside_diff += 1;
            } else {
                verdict.reported.push(finding);
            }
        }
        verdict
    }
}
