//! The SARIF importer on arbitrary bytes: a clear error or findings whose paths stay inside
//! the scan root (no `..`, no absolute path), never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use unthread_server::ingest::sarif;

fuzz_target!(|data: &[u8]| {
    for root in [None, Some("/work/checkout")] {
        if let Ok(input) = sarif::parse(data, 1, None, root) {
            for finding in &input.findings {
                assert!(!finding.path.starts_with('/'), "{}", finding.path);
                assert!(!finding.path.split('/').any(|part| part == ".."), "{}", finding.path);
                assert!(finding.start_line >= 1 && finding.end_line >= finding.start_line);
            }
        }
    }
});
