//! The words of a file's import statements, kept from the first pass as a small Bloom filter
//! so the API search (`scan::api_search`) can tell, without reading a file again, that it
//! cannot refer to a module: a name resolves only through imports, so a module that refers
//! to `pkg.mod.name` holds the word `mod` in an import statement (`from pkg.mod import name`,
//! `import pkg.mod`, `from pkg import mod`, `from .mod import name`). The search reads
//! thousands of files of the packages taking part again; most name none of the modules it
//! looks for.

use serde::{Deserialize, Serialize};

/// Bits of the filter: 256 keep false positives rare for a file's few dozen import words.
const WORDS: usize = 4;

/// A Bloom filter of identifiers: never says a word it holds is absent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportWords([u64; WORDS]);

impl ImportWords {
    /// The identifiers of every line of `source` holding the word `import`, with the lines a
    /// backslash joins to it (`from pkg.mod \\` / `    import name`): the prefilter's
    /// [`crate::prefilter::import_lines`]. Loose on purpose: strings and comments count, so a
    /// word can only be kept in excess.
    pub fn of(source: &[u8]) -> Self {
        let mut words = Self::default();
        for line in crate::prefilter::import_lines(source) {
            for word in crate::prefilter::followed::identifiers(&source[line]) {
                words.insert(word);
            }
        }
        words
    }

    /// False only when `word` is certainly not one of the words.
    pub fn may_hold(&self, word: &[u8]) -> bool {
        let (a, b) = bits(word);
        self.0[a / 64] & (1 << (a % 64)) != 0 && self.0[b / 64] & (1 << (b % 64)) != 0
    }

    fn insert(&mut self, word: &[u8]) {
        let (a, b) = bits(word);
        self.0[a / 64] |= 1 << (a % 64);
        self.0[b / 64] |= 1 << (b % 64);
    }
}

/// Two bit positions from one hash.
fn bits(word: &[u8]) -> (usize, usize) {
    let hash = xxhash_rust::xxh3::xxh3_64(word);
    let size = (WORDS * 64) as u64;
    ((hash % size) as usize, ((hash >> 32) % size) as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_the_words_of_import_statements_only() {
        let source =
            b"\"\"\"Uses the parameters.\"\"\"\nimport os\nfrom sympy.core.parameters import global_parameters\n\
                       from pkg.mod \\\n    import name\n\ndef f():\n    from . import sibling\n    return helper.x\n";
        let words = ImportWords::of(source);
        for word in ["os", "sympy", "core", "parameters", "global_parameters", "pkg", "mod", "name", "sibling"] {
            assert!(words.may_hold(word.as_bytes()), "{word}");
        }
        // `helper` is used, never imported; a file without `import` holds nothing.
        assert!(!words.may_hold(b"helper"));
        assert_eq!(ImportWords::of(b"x = parameters.evaluate\n"), ImportWords::default());
        assert!(!ImportWords::of(b"x = parameters.evaluate\n").may_hold(b"parameters"));
    }
}
