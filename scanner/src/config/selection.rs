//! Which rules run: `select`, `extend-select` and `ignore` lists of rule selectors, applied
//! layer by layer (the configuration file, then the command line) as ruff applies them: a
//! layer's `select` replaces the rules so far, `extend-select` adds, `ignore` removes.

use crate::rules::{catalogue, needs_call_graph, Rule};

/// A selector: `ALL`, a rule id (`UT001`) or an id prefix (`UT00` = UT001–UT009).
pub fn rules_of(selector: &str) -> Result<Vec<&'static str>, String> {
    let wanted = selector.trim().to_ascii_uppercase();
    // A rule that needs the call graph is selected by its own id only (or with `--runs-at`
    // or `--preview`): `ALL` must not make a plain lint run compute it.
    let rules: Vec<&'static str> = catalogue()
        .filter(|rule| {
            rule.id == wanted || (!needs_call_graph(rule.id) && (wanted == "ALL" || rule.id.starts_with(&wanted)))
        })
        .map(|rule: &Rule| rule.id)
        .collect();
    if rules.is_empty() || wanted.is_empty() {
        return Err(format!(
            "`{selector}` selects no rule (use `ALL`, a rule id like `UT001`, or a prefix like `UT00`)"
        ));
    }
    Ok(rules)
}

/// One layer's selection, each list already resolved to rule ids.
#[derive(Clone, Debug, Default)]
pub struct Layer {
    pub select: Option<Vec<&'static str>>,
    pub extend_select: Vec<&'static str>,
    pub ignore: Vec<&'static str>,
}

/// The set of enabled rules, by id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selection {
    enabled: Vec<&'static str>,
}

impl Default for Selection {
    /// Every rule of the catalogue but those that need the call graph.
    fn default() -> Self {
        Selection { enabled: catalogue().map(|rule| rule.id).filter(|id| !needs_call_graph(id)).collect() }
    }
}

impl Selection {
    pub fn apply(&mut self, layer: &Layer) {
        if let Some(select) = &layer.select {
            self.enabled = select.clone();
        }
        self.enabled.extend(layer.extend_select.iter().copied());
        self.enabled.retain(|id| !layer.ignore.contains(id));
        self.enabled.sort_unstable();
        self.enabled.dedup();
    }

    pub fn enables(&self, rule: &str) -> bool {
        self.enabled.contains(&rule)
    }

    /// Whether a rule that needs the call graph runs.
    pub fn runs_call_graph_rule(&self) -> bool {
        self.enabled.iter().any(|id| needs_call_graph(id))
    }

    /// Adds the rules that need the call graph (`--runs-at`, `--preview`), but those
    /// `ignored`.
    pub fn with_call_graph_rules(&mut self, ignored: &[&str]) {
        for id in crate::rules::NEEDS_CALL_GRAPH {
            if !ignored.contains(id) && !self.enabled.contains(id) {
                self.enabled.push(id);
            }
        }
        self.enabled.sort_unstable();
    }

    pub fn is_everything(&self) -> bool {
        *self == Selection::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_are_ids_prefixes_or_all() {
        assert_eq!(rules_of("UT003").unwrap(), ["UT003"]);
        assert_eq!(rules_of("ut00").unwrap().len(), 9);
        assert_eq!(rules_of("ALL").unwrap().len(), catalogue().count() - crate::rules::NEEDS_CALL_GRAPH.len());
        assert_eq!(rules_of("UT013").unwrap(), ["UT013"], "a rule needing the call graph, by its id");
        assert!(!rules_of("UT01").unwrap().contains(&"UT013"));
        assert!(rules_of("UT999").unwrap_err().contains("UT999"));
        assert!(rules_of("E501").is_err());
        assert!(rules_of("").is_err());
    }

    #[test]
    fn later_layers_override_earlier_ones() {
        let mut selection = Selection::default();
        selection.apply(&Layer {
            select: Some(rules_of("UT00").unwrap()),
            ignore: vec!["UT003"],
            ..Default::default()
        });
        assert!(selection.enables("UT001") && !selection.enables("UT003") && !selection.enables("UT010"));
        selection.apply(&Layer { extend_select: vec!["UT010"], ..Default::default() });
        assert!(selection.enables("UT010") && !selection.enables("UT003"), "extend-select adds, keeps the ignores");
        selection.apply(&Layer { select: Some(vec!["UT003"]), ..Default::default() });
        assert!(selection.enables("UT003") && !selection.enables("UT001"), "a later select replaces");
    }
}
