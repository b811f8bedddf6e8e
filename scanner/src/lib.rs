//! Unthread's Python scanner. The rules arrive with the scanner issue; for now the crate
//! only fixes the identity every finding will carry.

/// Stable rule identifiers of the catalogue (DESIGN.md §2) start with this prefix.
pub const RULE_PREFIX: &str = "UT";

/// True when `id` has the shape of a catalogue rule id (`UT` followed by three digits).
pub fn is_rule_id(id: &str) -> bool {
    id.len() == 5
        && id.starts_with(RULE_PREFIX)
        && id[RULE_PREFIX.len()..].bytes().all(|b| b.is_ascii_digit())
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
}
