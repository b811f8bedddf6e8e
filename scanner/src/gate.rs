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
        let candidates: Vec<&Finding> = report.findings.iter().filter(|f| f.suppression.is_none()).collect();
        let known = match &self.baseline {
            Some(baseline) => baseline.known(&candidates),
            None => vec![false; candidates.len()],
        };
        verdict.suppressed = report.findings.len() - candidates.len();
        for (finding, known) in candidates.into_iter().zip(known) {
            if known {
                verdict.baselined += 1;
            } else if self.changed.as_ref().is_some_and(|changed| {
                // Any of its places changed: a new write to an old global is a change.
                !changed.touches(&finding.path, finding.start.line, finding.end.line)
                    && !finding.also_on_lines.iter().any(|&line| changed.touches(&finding.path, line, line))
            }) {
                verdict.outside_diff += 1;
            } else {
                verdict.reported.push(finding);
            }
        }
        verdict
    }
}
