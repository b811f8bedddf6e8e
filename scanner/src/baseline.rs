//! Baseline gating ("don't make it worse"): a SARIF log written earlier — by this scanner
//! (`--write-baseline`) or exported from an Unthread server — lists the findings already
//! known; a scan then reports only those not in it. A finding is known by its fingerprint
//! (which includes its file), or by its content fingerprint when the file the baseline saw it
//! in is gone (renamed or moved: [`Baseline::mark_gone`]). Each entry is taken once: three
//! copies of a baselined line are three findings, and copies in other files are new.

use std::{collections::HashMap, path::Path};

use serde::Deserialize;

use crate::{
    finding::{CONTENT_FINGERPRINT_KEY, FINGERPRINT_KEY},
    Finding,
};

/// One known finding.
#[derive(Debug, Clone)]
struct Entry {
    fingerprint: Option<String>,
    content_fingerprint: Option<String>,
    /// Its file, as the baseline's location says (`None` when it names none).
    path: Option<String>,
    /// Its file no longer exists: the finding may have moved with it.
    gone: bool,
}

/// The findings of a baseline.
#[derive(Debug, Default)]
pub struct Baseline {
    entries: Vec<Entry>,
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
    partial_fingerprints: HashMap<String, String>,
    #[serde(default)]
    locations: Vec<Location>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Location {
    physical_location: Option<PhysicalLocation>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: Option<ArtifactLocation>,
}

#[derive(Deserialize)]
struct ArtifactLocation {
    uri: Option<String>,
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
            let path = result
                .locations
                .into_iter()
                .next()
                .and_then(|l| l.physical_location?.artifact_location?.uri)
                .map(|uri| percent_decoded(&uri));
            let entry = Entry {
                fingerprint: fingerprints.remove(FINGERPRINT_KEY),
                content_fingerprint: fingerprints.remove(CONTENT_FINGERPRINT_KEY),
                path,
                gone: false,
            };
            if entry.fingerprint.is_some() || entry.content_fingerprint.is_some() {
                baseline.entries.push(entry);
            }
        }
        if results > 0 && baseline.entries.is_empty() {
            return Err(format!(
                "none of its {results} results has an `{FINGERPRINT_KEY}` fingerprint: not a log of unthread-scan"
            ));
        }
        Ok(baseline)
    }

    /// Marks the entries whose file `exists` says is gone: only their findings may be found
    /// again elsewhere by content (a renamed or moved file).
    pub fn mark_gone(&mut self, exists: impl Fn(&str) -> bool) {
        for entry in &mut self.entries {
            entry.gone = entry.path.as_deref().is_some_and(|path| !exists(path));
        }
    }

    /// Which of `findings` the baseline knows, each entry taken once: first by fingerprint,
    /// then, for the rest, by content fingerprint among the entries whose file is gone.
    pub fn known(&self, findings: &[&Finding]) -> Vec<bool> {
        let mut by_fingerprint: HashMap<&str, usize> = HashMap::new();
        let mut by_content: HashMap<&str, usize> = HashMap::new();
        for entry in &self.entries {
            match (&entry.fingerprint, &entry.content_fingerprint) {
                (Some(fingerprint), content) => {
                    *by_fingerprint.entry(fingerprint).or_default() += 1;
                    if entry.gone {
                        if let Some(content) = content {
                            *by_content.entry(content).or_default() += 1;
                        }
                    }
                }
                (None, Some(content)) => *by_content.entry(content).or_default() += 1,
                (None, None) => {}
            }
        }
        let take = |counts: &mut HashMap<&str, usize>, key: &str| match counts.get_mut(key) {
            Some(n) if *n > 0 => {
                *n -= 1;
                true
            }
            _ => false,
        };
        let mut known: Vec<bool> = findings.iter().map(|f| take(&mut by_fingerprint, &f.fingerprint)).collect();
        for (finding, known) in findings.iter().zip(known.iter_mut()) {
            if !*known {
                *known = take(&mut by_content, &finding.content_fingerprint);
            }
        }
        known
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A relative URI reference back to its path (`%XX` decoded; SARIF writes paths so).
fn percent_decoded(uri: &str) -> String {
    let bytes = uri.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                i += 3;
            }
            (byte, _, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
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
        assert_eq!(baseline.entries[0].fingerprint.as_deref(), Some("a1"));
        assert_eq!(baseline.entries[1].content_fingerprint.as_deref(), Some("c2"));
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
