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
    #[error("{path} is over {MAX_OWNER_FILE_BYTES} bytes: not read")]
    TooLarge { path: &'static str },
    #[error("{path} uses YAML aliases, which are not read here (one line of them can expand to millions of nodes)")]
    Aliases { path: &'static str },
    #[error("{path} names an owner that is not a team or person name ({reason}): the repository is recorded without an owner team")]
    BadName { path: &'static str, reason: String },
}

/// The largest owner file read: catalogs and CODEOWNERS are a few KiB.
pub const MAX_OWNER_FILE_BYTES: usize = 64 * 1024;
/// The longest owner a repository is recorded with (all of a catch-all rule's owners).
const MAX_OWNER_CHARS: usize = 200;
/// The longest one name: GitHub's logins (39) and team slugs with their organisation fit.
const MAX_NAME_CHARS: usize = 100;

/// An owner as recorded: space-separated names of GitHub logins, `@org/team` slugs or
/// Backstage references (`user:name`), nothing that could be markup or a control character.
fn checked(path: &'static str, owner: String) -> Result<String, OwnerFileError> {
    let bad = |reason: String| Err(OwnerFileError::BadName { path, reason });
    if owner.chars().count() > MAX_OWNER_CHARS {
        return bad(format!("{} characters, over {MAX_OWNER_CHARS}", owner.chars().count()));
    }
    for name in owner.split(' ') {
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
            return bad(format!("a name of {} characters", name.chars().count()));
        }
        if let Some(c) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || "-_./@:".contains(*c))) {
            return bad(format!("{c:?} in {name:?}"));
        }
    }
    Ok(owner)
}

/// Refuses YAML that uses aliases before it is loaded: the loader copies an alias's node
/// for every use, so nested aliases grow exponentially (ten levels of ten: 10^10 nodes).
fn without_aliases(path: &'static str, text: &str) -> Result<(), OwnerFileError> {
    let mut parser = yaml_rust2::parser::Parser::new_from_str(text);
    loop {
        match parser.next_token() {
            Ok((yaml_rust2::parser::Event::StreamEnd, _)) => return Ok(()),
            Ok((yaml_rust2::parser::Event::Alias(_), _)) => return Err(OwnerFileError::Aliases { path }),
            Ok(_) => {}
            Err(e) => return Err(OwnerFileError::Yaml { path, detail: e.to_string() }),
        }
    }
}

/// `spec.owner` of the catalog's `Component` (the first document with one, when the file
/// holds several).
pub fn catalog_owner(text: &str) -> Result<String, OwnerFileError> {
    const PATH: &str = "catalog-info.yaml";
    if text.len() > MAX_OWNER_FILE_BYTES {
        return Err(OwnerFileError::TooLarge { path: PATH });
    }
    without_aliases(PATH, text)?;
    let documents = yaml_rust2::YamlLoader::load_from_str(text)
        .map_err(|e| OwnerFileError::Yaml { path: PATH, detail: e.to_string() })?;
    let owner_of = |doc: &yaml_rust2::Yaml| {
        doc["spec"]["owner"].as_str().map(str::trim).filter(|o| !o.is_empty()).map(str::to_owned)
    };
    let component = documents.iter().find(|d| d["kind"].as_str() == Some("Component")).and_then(owner_of);
    let owner =
        component.or_else(|| documents.iter().find_map(owner_of)).ok_or(OwnerFileError::NoOwner { path: PATH })?;
    checked(PATH, normalise(&owner))
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
        let Some(text) = files(path) else { continue };
        if text.len() > MAX_OWNER_FILE_BYTES {
            return Err(OwnerFileError::TooLarge { path });
        }
        if let Some(team) = codeowners_owner(text) {
            return Ok(Some(OwnerTeam { team: checked(path, team)?, source: path }));
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

    #[test]
    fn alias_bombs_and_oversized_files_are_refused_before_loading() {
        // Seven levels of ten aliases: 10^7 nodes once expanded; 450 bytes as written.
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for level in 1..8 {
            let previous = format!("*a{}", level - 1);
            let items = [previous.as_str(); 10].join(", ");
            bomb.push_str(&format!("a{level}: &a{level} [{items}]\n"));
        }
        bomb.push_str("spec:\n  owner: *a7\n");
        assert!(bomb.len() < 600, "{}", bomb.len());
        assert_eq!(catalog_owner(&bomb), Err(OwnerFileError::Aliases { path: "catalog-info.yaml" }));
        let big = format!("spec:\n  owner: team\n# {}\n", "x".repeat(MAX_OWNER_FILE_BYTES));
        assert_eq!(catalog_owner(&big), Err(OwnerFileError::TooLarge { path: "catalog-info.yaml" }));
    }

    #[test]
    fn owners_that_are_not_names_are_refused() {
        let html = "spec:\n  owner: \"</title><meta http-equiv=refresh content=0>\"\n";
        assert!(matches!(catalog_owner(html), Err(OwnerFileError::BadName { .. })), "{:?}", catalog_owner(html));
        // Eight teams of 35 characters in a catch-all rule: 287 characters, over the 200 recorded.
        let teams: Vec<String> = (0..8).map(|i| format!("@openedx/committers-long-team-nam{i}")).collect();
        let codeowners = format!("* {}\n", teams.join(" "));
        let files = |path: &str| (path == "CODEOWNERS").then_some(codeowners.as_str());
        let err = owner_team(files).unwrap_err();
        assert!(matches!(err, OwnerFileError::BadName { path: "CODEOWNERS", .. }), "{err}");
        assert!(err.to_string().contains("recorded without an owner team"), "{err}");
        let fine = "* @openedx/committers-xblock user:angonz 2u-arch-bom\n";
        let files = |path: &str| (path == "CODEOWNERS").then_some(fine);
        assert_eq!(owner_team(files).unwrap().unwrap().team, "@openedx/committers-xblock user:angonz 2u-arch-bom");
    }
}
