//! The pip-compile parser on arbitrary text: it must answer a parse or an error naming the
//! line, never panic. Every pin it accepts has a normalised name and a version or a URL.
#![no_main]

use libfuzzer_sys::fuzz_target;
use unthread_server::pypi::requirements::Requirements;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(parsed) = text.parse::<Requirements>() {
        for pin in &parsed.pins {
            assert!(!pin.name.is_empty());
            assert!(pin.version.is_some() != pin.direct_url.is_some());
        }
    }
});
