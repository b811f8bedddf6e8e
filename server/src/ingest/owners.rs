//! Who owns a repository, read from the files in its archive that say so: Backstage's
//! `catalog-info.yaml` (`spec.owner` of its `Component`, which Open edX repositories carry:
//! `group:2u-arch-bom`), else `CODEOWNERS` (the owners of its catch-all `*` rule).

/// Files that say who owns a repository, in the order they are believed.
pub const OWNER_FILES: [&str; 4] = ["catalog-info.yaml", "CODEOWNERS", ".github/CODEOWNERS", "docs/CODEOWNERS"];

/// A repository's owner team and the file that named it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnerTeam {
    /// `2u-arch-bom`, `@openedx/committers-xblock`, `user:angonz`: groups lose Backstage's
    /// `group:` (and `default/` namespace) prefix; people keep `user:`.
    pub team: String,
    pub source: &'static str,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OwnerFileError {
    #[error("{path} is not valid YAML: {detail}")]
    Yaml { path: &'static str, detail: String },
    #[error("{path} names no owner")]
    NoOwner { path: &'static str },
}

/// `spec.owner` of the catalog's `Component` (the first document with one, when the file
/// holds several).
pub fn catalog_owner(text: &str) -> Result<String, OwnerFileError> {
    const PATH: &str = "catalog-info.yaml";
    let documents = yaml_rust2::YamlLoader::load_from_str(text)
        .map_err(|e| OwnerFileError::Yaml { path: PATH, detail: e.to_string() })?;
    let owner_of = |doc: &yaml_rust2::Yaml| {
        doc["spec"]["owner"].as_str().map(str::trim).filter(|o| !o.is_empty()).map(str::to_owned)
    };
    let component = documents.iter().find(|d| d["kind"].as_str() == Some("Component")).and_then(owner_of);
    let owner =
        component.or_else(|| documents.iter().find_map(owner_of)).ok_or(OwnerFileError::NoOwner { path: PATH })?;
    Ok(normalise(&owner))
}

/// Backstage entity references: `group:default/name` and `group:name` are the group `name`.
fn normalise(owner: &str) -> String {
    let owner = owner.trim_matches(|c| c == '"' || c == '\'');
    match owner.strip_prefix("group:") {
        Some(group) => group.strip_prefix("default/").unwrap_or(group).to_owned(),
        None => owner.to_owned(),
    }
}

/// The owners of the last `*` rule of a CODEOWNERS file (the one GitHub applies to files no
/// later rule matches), joined by spaces.
pub fn codeowners_owner(text: &str) -> Option<String> {
    text.lines()
        .rev()
        .map(|line| line.split('#').next().unwrap_or("").trim())
        .filter_map(|line| {
            let mut parts = line.split_whitespace();
            let pattern = parts.next()?;
            let owners: Vec<&str> = parts.collect();
            matches!(pattern, "*" | "/*" | "/**" | "**").then(|| owners.join(" "))
        })
        // The last catch-all rule decides; one without owners unsets them.
        .next()
        .filter(|owners| !owners.is_empty())
}

/// The owner team the files say, catalog first; `Err` when a catalog file is there but
/// unreadable (the caller keeps the team it had and says why).
pub fn owner_team<'a>(files: impl Fn(&str) -> Option<&'a str>) -> Result<Option<OwnerTeam>, OwnerFileError> {
    if let Some(text) = files("catalog-info.yaml") {
        match catalog_owner(text) {
            Ok(team) => return Ok(Some(OwnerTeam { team, source: "catalog-info.yaml" })),
            // A catalog without an owner: CODEOWNERS may still say.
            Err(OwnerFileError::NoOwner { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    for path in &OWNER_FILES[1..] {
        if let Some(team) = files(path).and_then(codeowners_owner) {
            return Ok(Some(OwnerTeam { team, source: path }));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CATALOG: &str = "# This file records information about this repo.\n\
        apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: 'edx-django-utils'\n\
        spec:\n  owner: group:2u-arch-bom\n  type: 'library'\n  lifecycle: 'production'\n";

    #[test]
    fn the_catalog_names_the_component_owner() {
        assert_eq!(catalog_owner(CATALOG).unwrap(), "2u-arch-bom");
        assert_eq!(catalog_owner("kind: Component\nspec:\n  owner: \"user:angonz\"\n").unwrap(), "user:angonz");
        assert_eq!(catalog_owner("kind: Component\nspec:\n  owner: group:default/axim\n").unwrap(), "axim");
        let two = "kind: System\nspec:\n  owner: group:platform\n---\nkind: Component\nspec:\n  owner: group:xblock\n";
        assert_eq!(catalog_owner(two).unwrap(), "xblock", "the Component's owner, not the first document's");
    }

    #[test]
    fn bad_catalogs_are_refused_clearly() {
        let err = catalog_owner("spec:\n  owner: [unclosed\n").unwrap_err();
        assert!(matches!(err, OwnerFileError::Yaml { .. }), "{err}");
        assert!(err.to_string().starts_with("catalog-info.yaml is not valid YAML"));
        assert_eq!(
            catalog_owner("kind: Component\nspec:\n  type: library\n"),
            Err(OwnerFileError::NoOwner { path: "catalog-info.yaml" })
        );
        assert_eq!(catalog_owner(""), Err(OwnerFileError::NoOwner { path: "catalog-info.yaml" }));
        assert_eq!(catalog_owner("\u{0}\u{1}"), catalog_owner("\u{0}\u{1}"), "no panic on binary");
        assert!(catalog_owner("kind: Component\nspec:\n  owner: 12\n").is_err(), "an owner is a name");
    }

    #[test]
    fn codeowners_catch_all_rule() {
        let text = "# Owners\n*       @openedx/arch-bom  @someone # the default\n/docs/  @openedx/docs\n";
        assert_eq!(codeowners_owner(text).as_deref(), Some("@openedx/arch-bom @someone"));
        assert_eq!(codeowners_owner("* @a\n* @b\n").as_deref(), Some("@b"), "the last matching rule wins");
        assert_eq!(codeowners_owner("/src/ @a\n"), None);
        assert_eq!(codeowners_owner("*\n"), None, "a rule without owners unsets, names nobody");
        assert_eq!(codeowners_owner("\u{feff}garbage ### \n\n"), None);
    }

    #[test]
    fn the_catalog_comes_first_then_codeowners() {
        let files = |catalog: Option<&'static str>, codeowners: Option<&'static str>| {
            move |path: &str| match path {
                "catalog-info.yaml" => catalog,
                ".github/CODEOWNERS" => codeowners,
                _ => None,
            }
        };
        let team = owner_team(files(Some(CATALOG), Some("* @openedx/x"))).unwrap().unwrap();
        assert_eq!((team.team.as_str(), team.source), ("2u-arch-bom", "catalog-info.yaml"));
        let team = owner_team(files(Some("kind: Component\n"), Some("* @openedx/x"))).unwrap().unwrap();
        assert_eq!((team.team.as_str(), team.source), ("@openedx/x", ".github/CODEOWNERS"));
        assert!(owner_team(files(Some(": : [\n"), Some("* @openedx/x"))).is_err(), "a broken catalog is reported");
        assert_eq!(owner_team(files(None, None)).unwrap(), None);
    }
}
