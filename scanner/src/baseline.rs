//! Baseline gating ("don't make it worse"): a SARIF log written earlier — by this scanner
//! (`--write-baseline`) or exported from an Unthread server — lists the findings already
//! known; a scan then reports only those not in it. A finding is known by its fingerprint,
//! or by its content fingerprint when its file was renamed or moved.

use std::{collections::HashSet, path::Path};

use serde::Deserialize;

use crate::{
    finding::{CONTENT_FINGERPRINT_KEY, FINGERPRINT_KEY},
    Finding,
};

/// The fingerprints of a baseline.
#[derive(Debug, Default)]
pub struct Baseline {
    fingerprints: HashSet<String>,
    content_fingerprints: HashSet<String>,
}

#[derive(Deserialize)]
struct Log {
    version: String,
    runs: Vec<Run>,
}

#[derive(Deserialize)]
struct Run {
    #[serde(default)]
    results: Vec<SarifResult>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult {
    #[serde(default)]
    partial_fingerprints: std::collections::HashMap<String, String>,
}

impl Baseline {
    /// Reads a baseline SARIF file. One whose results carry no Unthread fingerprints (another
    /// tool's log) is an error: it would baseline nothing, silently.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|err| format!("{}: {err}", path.display()))?;
        Self::from_sarif(&text).map_err(|err| format!("{}: {err}", path.display()))
    }

    pub fn from_sarif(text: &str) -> Result<Self, String> {
        let log: Log = serde_json::from_str(text).map_err(|err| format!("not a SARIF log: {err}"))?;
        if log.version != "2.1.0" {
            return Err(format!("SARIF version {} (2.1.0 expected)", log.version));
        }
        let mut baseline = Baseline::default();
        let mut results = 0;
        for result in log.runs.into_iter().flat_map(|run| run.results) {
            results += 1;
            let mut fingerprints = result.partial_fingerprints;
            if let Some(fingerprint) = fingerprints.remove(FINGERPRINT_KEY) {
                baseline.fingerprints.insert(fingerprint);
            }
            if let Some(content) = fingerprints.remove(CONTENT_FINGERPRINT_KEY) {
                baseline.content_fingerprints.insert(content);
            }
        }
        if results > 0 && baseline.fingerprints.is_empty() && baseline.content_fingerprints.is_empty() {
            return Err(format!(
                "none of its {results} results has an `{FINGERPRINT_KEY}` fingerprint: not a log of unthread-scan"
            ));
        }
        Ok(baseline)
    }

    pub fn contains(&self, finding: &Finding) -> bool {
        self.fingerprints.contains(&finding.fingerprint)
            || self.content_fingerprints.contains(&finding.content_fingerprint)
    }

    pub fn len(&self) -> usize {
        self.fingerprints.len().max(self.content_fingerprints.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_fingerprints_of_a_log() {
        let log = r#"{"version":"2.1.0","runs":[{"results":[
            {"partialFingerprints":{"unthread/v1":"a1","unthreadContent/v1":"c1"}},
            {"partialFingerprints":{"unthreadContent/v1":"c2"}}]}]}"#;
        let baseline = Baseline::from_sarif(log).unwrap();
        assert!(baseline.fingerprints.contains("a1"));
        assert!(baseline.content_fingerprints.contains("c2"));
        assert_eq!(baseline.len(), 2);
    }

    #[test]
    fn bad_logs_are_errors() {
        assert!(Baseline::from_sarif("{").unwrap_err().contains("not a SARIF log"));
        assert!(Baseline::from_sarif(r#"{"version":"2.0.0","runs":[]}"#).unwrap_err().contains("2.1.0"));
        let ruff = r#"{"version":"2.1.0","runs":[{"results":[{"ruleId":"E501"}]}]}"#;
        assert!(Baseline::from_sarif(ruff).unwrap_err().contains("unthread/v1"));
        assert!(Baseline::from_sarif(r#"{"version":"2.1.0","runs":[{"results":[]}]}"#).unwrap().is_empty());
    }
}
