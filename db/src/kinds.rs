//! The closed sets of values the schema stores as text (each column has a CHECK listing
//! them): roles, target kinds, triage states, the progress states of findings and how links
//! were made. The server, the pages and the browser bundle share these types instead of
//! repeating the strings; with the `postgres` feature each one reads and writes its column.

use serde::{Deserialize, Serialize};

/// Declares a text enum: its variants with their stored text, `as_str`, `Display`, `FromStr`
/// and serde (the same text), and `sqlx::Type` as `text` with the `postgres` feature.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident ($what:literal) { $($(#[$doc:meta])* $variant:ident = $text:literal,)* }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "postgres", derive(sqlx::Type))]
        #[cfg_attr(feature = "postgres", sqlx(type_name = "text"))]
        pub enum $name {
            $($(#[$doc])* #[serde(rename = $text)] #[cfg_attr(feature = "postgres", sqlx(rename = $text))] $variant,)*
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The text stored in the database and used in URLs and exports.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = UnknownValue;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                Self::ALL.iter().copied().find(|value| value.as_str() == text).ok_or_else(|| UnknownValue {
                    what: $what,
                    value: text.to_owned(),
                    expected: Self::ALL.iter().map(|value| value.as_str()).collect::<Vec<_>>().join(", "),
                })
            }
        }
    };
}

/// A text that is none of a set's values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownValue {
    pub what: &'static str,
    pub value: String,
    pub expected: String,
}

impl std::fmt::Display for UnknownValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unknown {} {:?}: use one of {}", self.what, self.value, self.expected)
    }
}

impl std::error::Error for UnknownValue {}

text_enum! {
    /// What a signed-in user may do (`users.role`).
    Role ("role") {
        /// Assigns, triages, edits links, manages tokens, triggers syncs.
        Maintainer = "maintainer",
        /// Claims and releases work for themself.
        Contributor = "contributor",
    }
}

text_enum! {
    /// What a target is (`targets.kind`).
    TargetKind ("target kind") {
        /// The platform repository (openedx-platform), whose requirements pin the dependencies.
        Platform = "platform",
        /// Another repository of the organisation.
        Library = "library",
        /// A PyPI distribution the platform pins.
        Dependency = "dependency",
    }
}

impl TargetKind {
    /// Repositories are named `owner/name` and live on GitHub; dependencies on PyPI.
    pub fn is_repository(self) -> bool {
        self != TargetKind::Dependency
    }

    /// Whether `name` can name a target of this kind (what the schema's CHECK on
    /// `targets.name` holds), and if not, what a name must look like.
    pub fn check_name(self, name: &str) -> Result<(), String> {
        let fits = !name.is_empty()
            && name == name.trim()
            && !name.chars().any(|c| c.is_whitespace() || c.is_control())
            && match self.is_repository() {
                true => name.split('/').count() == 2 && name.split('/').all(|part| !part.is_empty()),
                false => !name.contains('/'),
            };
        if fits {
            Ok(())
        } else if self.is_repository() {
            Err(format!(
                "{name:?} cannot name a {self} target: a repository is named owner/name, like openedx/edx-platform"
            ))
        } else {
            Err(format!(
                "{name:?} cannot name a dependency target: a dependency is named by its PyPI name, like django-crum"
            ))
        }
    }
}

text_enum! {
    /// A maintainer's verdict on a finding (`findings.triage`).
    Triage ("triage state") {
        /// Not looked at yet: still to do.
        Open = "open",
        /// Looked at and real: still to do.
        Confirmed = "confirmed",
        /// Not a problem: out of the count (needs a reason).
        FalsePositive = "false_positive",
        /// A problem not worth changing: out of the count (needs a reason).
        WontFix = "wont_fix",
    }
}

impl Triage {
    /// Setting a finding aside must say why.
    pub fn needs_reason(self) -> bool {
        matches!(self, Triage::FalsePositive | Triage::WontFix)
    }
}

text_enum! {
    /// Where a finding stands for progress (`finding_state()` in SQL, the view
    /// `finding_progress`).
    FindingState ("finding state") {
        /// Still to do.
        Open = "open",
        /// A later complete scan no longer sees it.
        Fixed = "fixed",
        /// A context variable already in place (UT100), still present.
        Migrated = "migrated",
        /// Triaged false positive or won't fix, not fixed: shown apart.
        TriagedAway = "triaged_away",
    }
}

text_enum! {
    /// How a finished scan went (`scans.status`; `running` scans are not finished).
    ScanStatus ("scan status") {
        /// Every file was read.
        Complete = "complete",
        /// Some files could not be read (`scans.files_failed`): their findings stayed as they were.
        Partial = "partial",
        /// Nothing could be read: the target's findings stayed as they were.
        Failed = "failed",
    }
}

text_enum! {
    /// How a finding or target was linked to an issue or pull request (`links.how`).
    LinkHow ("link kind") {
        /// The issue or PR names the finding (its fingerprint or URL).
        Explicit = "explicit",
        /// It mentions the target or a path of it.
        Mention = "mention",
        /// The pull request changes the finding's file.
        Path = "path",
        /// A sub-issue of the epic about the target.
        SubIssue = "sub_issue",
        /// A maintainer linked it by hand.
        Manual = "manual",
    }
}

text_enum! {
    /// What a change's pull request does (`changes.kind`).
    ChangeKind ("change kind") {
        /// Applies the scanner's fixes of chosen findings.
        Fix = "fix",
        /// Moves one pin of a requirements file to a release that clears findings.
        Bump = "bump",
    }
}

text_enum! {
    /// Where a change stands (`changes.state`).
    ChangeState ("change state") {
        /// Asked for; a worker opens its pull request next.
        Queued = "queued",
        /// Its pull request is open.
        Open = "open",
        /// Its pull request was merged (the rescan of the merge says what it fixed).
        Merged = "merged",
        /// Its pull request was closed without merging: its findings stay open.
        Closed = "closed",
        /// No pull request: GitHub refused or the fixes did not verify (the reason says).
        Failed = "failed",
        /// Not needed any more: its findings were fixed or gone before it ran.
        Cancelled = "cancelled",
    }
}

impl ChangeState {
    /// Queued or open: a second identical request gets this change.
    pub fn is_live(self) -> bool {
        matches!(self, ChangeState::Queued | ChangeState::Open)
    }
}

/// What can be owned or linked: one finding, or a whole target (covering its findings).
/// Serialised as `{"Finding": id}` / `{"Target": id}` (the events' `item`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Item {
    Finding(i64),
    Target(i64),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_back_from_their_text() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(*role));
            assert_eq!(serde_json::to_value(role).unwrap(), serde_json::json!(role.as_str()));
        }
        for kind in TargetKind::ALL {
            assert_eq!(kind.to_string().parse::<TargetKind>(), Ok(*kind));
        }
        for triage in Triage::ALL {
            assert_eq!(triage.as_str().parse::<Triage>(), Ok(*triage));
        }
        for state in FindingState::ALL {
            assert_eq!(state.as_str().parse::<FindingState>(), Ok(*state));
        }
        for how in LinkHow::ALL {
            assert_eq!(how.as_str().parse::<LinkHow>(), Ok(*how));
        }
        for status in ScanStatus::ALL {
            assert_eq!(status.as_str().parse::<ScanStatus>(), Ok(*status));
        }
        let error = "admin".parse::<Role>().unwrap_err();
        assert_eq!(error.to_string(), r#"unknown role "admin": use one of maintainer, contributor"#);
    }

    #[test]
    fn target_names_fit_their_kind() {
        assert!(TargetKind::Library.check_name("openedx/edx-ace").is_ok());
        assert!(TargetKind::Dependency.check_name("django-crum").is_ok());
        for name in ["edx-ace", "a/b/c", "/b", "a/", " a/b", "a b/c", ""] {
            let error = TargetKind::Platform.check_name(name).unwrap_err();
            assert!(error.contains("owner/name"), "{name:?}: {error}");
        }
        assert!(TargetKind::Dependency.check_name("openedx/edx-ace").unwrap_err().contains("PyPI name"));
    }

    #[test]
    fn the_schema_allows_exactly_these_values() {
        let migrations: String = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations"))
            .unwrap()
            .map(|entry| std::fs::read_to_string(entry.unwrap().path()).unwrap())
            .collect();
        let listed = |values: &[&str]| {
            format!("IN ({})", values.iter().map(|v| format!("'{v}'")).collect::<Vec<_>>().join(", "))
        };
        let roles: Vec<&str> = Role::ALL.iter().map(|v| v.as_str()).collect();
        let kinds: Vec<&str> = TargetKind::ALL.iter().map(|v| v.as_str()).collect();
        let triage: Vec<&str> = Triage::ALL.iter().map(|v| v.as_str()).collect();
        let how: Vec<&str> = LinkHow::ALL.iter().map(|v| v.as_str()).collect();
        for (column, values) in [("role", roles), ("kind", kinds), ("triage", triage), ("how", how)] {
            assert!(migrations.contains(&listed(&values)), "the CHECK on {column} lists {values:?}");
        }
    }
}
