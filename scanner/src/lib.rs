//! Unthread's Python scanner: finds what breaks when a WSGI code base moves to ASGI —
//! thread locals, thread locks, mutable module globals, context-losing task and thread
//! spawns, `sync_to_async`/`async_to_sync` pitfalls — with fingerprints that survive
//! unrelated edits, and writes SARIF 2.1.0, JSON Lines or a summary.
//!
//! Parsing is tree-sitter's error-tolerant Python grammar: a file with a syntax error still
//! yields findings for the parts that parse, and is reported as partially parsed.

pub mod analysis;
pub mod api_index;
pub mod baseline;
pub mod cache;
pub mod config;
pub mod diff;
pub mod finding;
pub mod fix;
pub mod fix_file;
pub mod gate;
pub mod import_words;
pub mod imports;
pub mod output;
pub mod prefilter;
pub mod report;
pub mod rules;
pub mod runs_at;
pub mod scan;
pub mod source;
pub mod suppression;

pub use api_index::{ApiIndex, ThreadLocalApi};
pub use finding::{FileProblem, Finding, Position, Severity};
pub use rules::{catalogue, Rule};
pub use scan::{scan_path, scan_source, ScanOptions, ScanReport};
pub use source::{ArchiveLimits, SourceOptions};

/// Makes tree-sitter's C code allocate through mimalloc, like the binaries' Rust code (they
/// set [`mimalloc::MiMalloc`] as their global allocator): a parse allocates a node per token,
/// and glibc's malloc was the largest single cost after the parser itself. Call it first
/// thing in `main`, before any parser or tree exists (memory must be freed by the allocator
/// that gave it); later calls do nothing.
pub fn use_mimalloc_for_parsing() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        use libmimalloc_sys::{mi_calloc, mi_free, mi_malloc, mi_realloc};
        // SAFETY: runs once, before any tree-sitter allocation (see above); the four
        // functions are mimalloc's malloc/calloc/realloc/free, with C's signatures.
        unsafe { tree_sitter::set_allocator(Some(mi_malloc), Some(mi_calloc), Some(mi_realloc), Some(mi_free)) }
    });
}

/// Tells mimalloc to keep the memory a short-lived process frees instead of handing it back
/// to the kernel 10 ms later: a scan parses file after file, each tree freed and its memory
/// reused by the next, and returned pages come back as fresh (2 MiB huge) pages the kernel
/// zeroes on the next touch — a tenth of a cold scan's time went to `clear_page` and page
/// faults. The price is resident memory: 61 → 83 MB at the peak on the benchmark corpus
/// (ruff: 73 MB). For the command-line scanner only, never a long-running server;
/// `MIMALLOC_PURGE_DELAY` in the environment still wins.
pub fn keep_freed_memory() {
    // `mi_option_purge_delay` (milliseconds, -1: never) is the 16th option in both of
    // mimalloc's headers (v2 and v3); libmimalloc-sys exports no constant for it.
    const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets a plain integer option; valid at any time.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) }
    }
}

/// Stable rule identifiers of the catalogue start with this prefix.
pub const RULE_PREFIX: &str = "UT";

/// True when `id` has the shape of a catalogue rule id (`UT` followed by three digits).
pub fn is_rule_id(id: &str) -> bool {
    id.len() == 5 && id.starts_with(RULE_PREFIX) && id[RULE_PREFIX.len()..].bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_rule_ids() {
        assert!(is_rule_id("UT001"));
        assert!(is_rule_id("UT100"));
        assert!(!is_rule_id("UT01"));
        assert!(!is_rule_id("XX001"));
        assert!(!is_rule_id("UT0a1"));
    }

    #[test]
    fn catalogue_ids_are_unique_and_documented() {
        let ids: Vec<&str> = catalogue().map(|r| r.id).collect();
        assert_eq!(ids.len(), 14);
        let mut sorted = ids.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted, ids, "ids are unique and listed in order");
        for rule in catalogue() {
            assert!(is_rule_id(rule.id));
            let help = rule.help_markdown();
            for section in ["## What it finds", "## Example", "## Fix"] {
                assert!(help.contains(section), "{} help lacks {section}", rule.id);
            }
        }
    }
}
