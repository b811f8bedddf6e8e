//! Fuzzes the scan-one-file entry point: any bytes, as any Python file, must produce an
//! outcome (findings and/or a recorded problem) without panicking, and the findings must be
//! well formed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scanner::{scan_source, ApiIndex};

fuzz_target!(|data: &[u8]| {
    let outcome = scan_source("pkg/fuzzed.py", data, &ApiIndex::new());
    for finding in &outcome.findings {
        assert!(finding.start <= finding.end, "{finding:?}");
        assert!(finding.start.line >= 1 && finding.start.column >= 1);
        assert_eq!(finding.fingerprint.len(), 32);
    }
});
