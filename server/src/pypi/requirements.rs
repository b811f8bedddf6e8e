//! pip-compile output: the pinned dependency set of a repository and who pulls in what.
//!
//! Each requirement is parsed as PEP 508 (`name[extras]==version ; marker`, or
//! `name @ url`), plus pip's bare `git+https://...#egg=name` form. The `# via` annotations
//! pip-compile writes under each pin (one line, or one name per `#   ` line) give the edges
//! of the dependency graph: a package name, or `-r file` / `-c file` for the requirement and
//! constraint files that asked for it. Any line that fits none of this is an error naming
//! its line number: a half-understood file is never imported.

use std::{fmt, str::FromStr};

use pep508_rs::{PackageName, Requirement, VersionOrUrl};

/// One pinned distribution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pin {
    /// PEP 503 normalised name (`django-crum`).
    pub name: String,
    /// How the file spells it (`Django`).
    pub display_name: String,
    /// The pinned version; `None` for direct references.
    pub version: Option<String>,
    pub extras: Vec<String>,
    /// Environment marker, e.g. `python_version >= "3"`.
    pub marker: Option<String>,
    /// `git+https://...` and other direct references: no version on an index to scan.
    pub direct_url: Option<String>,
    pub editable: bool,
    /// 1-based line of the requirement.
    pub line: usize,
    /// Who asked for it, from `# via`.
    pub via: Vec<Via>,
    /// `--hash=sha256:...` options of `pip-compile --generate-hashes`: a downloaded
    /// distribution must match one of them (lower-case hex).
    pub sha256: Vec<String>,
}

impl Pin {
    /// True when the package index has this exact version to download and scan.
    pub fn scannable_by_version(&self) -> bool {
        self.direct_url.is_none() && self.version.is_some()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Via {
    /// Pulled in by another package of the set (normalised name).
    Package(String),
    /// Listed in a requirements file (`-r requirements/edx/kernel.in`).
    Requirement(String),
    /// Listed in a constraints file (`-c requirements/constraints.txt`).
    Constraint(String),
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Requirements {
    pub pins: Vec<Pin>,
    /// `-r` / `-c` lines of the file itself.
    pub includes: Vec<Via>,
}

impl Requirements {
    pub fn pin(&self, name: &str) -> Option<&Pin> {
        let name = normalise(name);
        self.pins.iter().find(|p| p.name == name)
    }

    /// `(parent, child)` package edges: `child` is pulled in by `parent`.
    pub fn edges(&self) -> Vec<(&str, &str)> {
        let mut edges: Vec<(&str, &str)> = self
            .pins
            .iter()
            .flat_map(|pin| {
                pin.via.iter().filter_map(move |via| match via {
                    Via::Package(parent) => Some((parent.as_str(), pin.name.as_str())),
                    _ => None,
                })
            })
            .collect();
        edges.sort();
        edges.dedup();
        edges
    }
}

/// A line that is not valid pip-compile output.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}: {text:?}")]
pub struct RequirementsError {
    pub line: usize,
    pub text: String,
    pub message: String,
}

/// PEP 503 normalisation: lower case, runs of `-`, `_`, `.` become one `-`.
pub fn normalise(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut separator = false;
    for c in name.trim().chars() {
        if matches!(c, '-' | '_' | '.') {
            separator = true;
        } else {
            if separator && !out.is_empty() {
                out.push('-');
            }
            separator = false;
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// pip options that may appear in a compiled file and do not concern the pins.
const IGNORED_OPTIONS: &[&str] = &[
    "--index-url",
    "-i",
    "--extra-index-url",
    "--find-links",
    "-f",
    "--trusted-host",
    "--no-binary",
    "--only-binary",
    "--prefer-binary",
    "--pre",
    "--no-index",
];

impl FromStr for Requirements {
    type Err = RequirementsError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut parsed = Requirements::default();
        // Whether the previous `# via` line opened a multi-line list for the last pin.
        let mut via_list_open = false;
        let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l)).peekable();
        while let Some((number, raw)) = lines.next() {
            let error =
                |message: &str| RequirementsError { line: number, text: raw.to_owned(), message: message.to_owned() };
            if raw.contains('\0') {
                return Err(error("NUL byte in requirements file"));
            }
            let trimmed = raw.trim();
            if trimmed.is_empty() {
                via_list_open = false;
                continue;
            }
            if let Some(comment) = trimmed.strip_prefix('#') {
                let indented = raw.starts_with(char::is_whitespace);
                let comment = comment.trim();
                if indented {
                    if let Some(last) = parsed.pins.last_mut() {
                        if let Some(rest) = comment.strip_prefix("via") {
                            let rest = rest.trim();
                            via_list_open = rest.is_empty();
                            if !rest.is_empty() {
                                last.via.extend(parse_via_list(rest).map_err(|m| error(&m))?);
                            }
                        } else if via_list_open && !comment.is_empty() {
                            last.via.extend(parse_via_list(comment).map_err(|m| error(&m))?);
                        }
                    }
                } else {
                    via_list_open = false;
                }
                continue;
            }
            via_list_open = false;
            // Join `\` continuations (hash lines of `--generate-hashes` output).
            let mut logical = strip_inline_comment(trimmed).0.to_owned();
            let inline_comment = strip_inline_comment(trimmed).1.map(str::to_owned);
            while logical.ends_with('\\') {
                logical.pop();
                match lines.next() {
                    Some((_, next)) => {
                        logical.push(' ');
                        logical.push_str(strip_inline_comment(next.trim()).0);
                    }
                    None => return Err(error("line continuation at end of file")),
                }
            }
            let (logical, sha256) = split_hash_options(&logical).map_err(|m| error(&m))?;
            let logical = logical.trim();
            if logical.is_empty() {
                continue;
            }
            if let Some(include) = parse_include(logical) {
                parsed.includes.push(include.map_err(|m| error(&m))?);
                continue;
            }
            if logical.starts_with('-') && !logical.starts_with("-e") && !logical.starts_with("--editable") {
                let option = logical.split([' ', '=']).next().unwrap_or(logical);
                if IGNORED_OPTIONS.contains(&option) {
                    continue;
                }
                return Err(error(&format!("unsupported pip option `{option}`")));
            }
            let mut pin = parse_pin(logical, number).map_err(|m| error(&m))?;
            pin.sha256 = sha256;
            if let Some(comment) = inline_comment.as_deref().and_then(|c| c.trim().strip_prefix("via")) {
                pin.via.extend(parse_via_list(comment.trim()).map_err(|m| error(&m))?);
            }
            if parsed.pins.iter().any(|p| p.name == pin.name && p.marker == pin.marker) {
                return Err(error(&format!("`{}` is pinned twice", pin.name)));
            }
            parsed.pins.push(pin);
        }
        for pin in &mut parsed.pins {
            pin.via.sort();
            pin.via.dedup();
        }
        Ok(parsed)
    }
}

/// Splits `text  # comment` (a `#` after whitespace starts a comment; URLs keep their `#egg=`).
fn strip_inline_comment(text: &str) -> (&str, Option<&str>) {
    let bytes = text.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'#' && i > 0 && bytes[i - 1].is_ascii_whitespace() {
            return (text[..i].trim_end(), Some(&text[i + 1..]));
        }
    }
    (text, None)
}

/// Separates `--hash=algorithm:hex` options from the requirement; keeps the sha256 ones
/// (pip-compile writes only those) and checks that each is well formed.
fn split_hash_options(line: &str) -> Result<(String, Vec<String>), String> {
    let mut rest = Vec::new();
    let mut sha256 = Vec::new();
    for part in line.split_whitespace() {
        let Some(hash) = part.strip_prefix("--hash=").or_else(|| part.strip_prefix("--hash:")) else {
            rest.push(part);
            continue;
        };
        match hash.split_once(':') {
            Some(("sha256", hex)) if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
                sha256.push(hex.to_ascii_lowercase());
            }
            Some(("sha384" | "sha512", _)) => {}
            _ => return Err(format!("malformed hash option `{part}` (expected --hash=sha256:<64 hex digits>)")),
        }
    }
    Ok((rest.join(" "), sha256))
}

fn parse_include(line: &str) -> Option<Result<Via, String>> {
    let (flag, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    let make: fn(String) -> Via = match flag {
        "-r" | "--requirement" => Via::Requirement,
        "-c" | "--constraint" => Via::Constraint,
        _ => return None,
    };
    let path = rest.trim();
    Some(if path.is_empty() { Err(format!("`{flag}` needs a file name")) } else { Ok(make(path.to_owned())) })
}

/// `a, b` or one entry: a package name, `-r file` or `-c file`.
fn parse_via_list(text: &str) -> Result<Vec<Via>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|entry| match parse_include(entry) {
            Some(include) => include,
            None => {
                let valid = entry.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
                if valid {
                    Ok(Via::Package(normalise(entry)))
                } else {
                    Err(format!("`# via` names something that is not a package or file: `{entry}`"))
                }
            }
        })
        .collect()
}

/// A package or extra name ending in `-`, `_` or `.` (`charset- ==1.0`, `x[extra.]==1`): PEP 508
/// forbids them, and pep508_rs 0.9 panics on them instead of returning an error (both found by
/// fuzzing), so they are refused here first.
fn check_name_ends(spec: &str) -> Result<(), String> {
    let is_name_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    let refuse = |what: &str, name: &str| {
        let last = name.chars().last().unwrap_or_default();
        if matches!(last, '-' | '_' | '.') {
            Err(format!("not a valid requirement (the {what} `{name}` ends with `{last}`)"))
        } else {
            Ok(())
        }
    };
    let spec = spec.trim_start();
    let name_len = spec.find(|c: char| !is_name_char(c)).unwrap_or(spec.len());
    refuse("package name", &spec[..name_len])?;
    if let Some(extras) = spec[name_len..].trim_start().strip_prefix('[') {
        let extras = extras.split(']').next().unwrap_or_default();
        for extra in extras.split(',') {
            let extra = extra.trim_start();
            let len = extra.find(|c: char| !is_name_char(c)).unwrap_or(extra.len());
            refuse("extra", &extra[..len])?;
        }
    }
    Ok(())
}

fn parse_pin(line: &str, number: usize) -> Result<Pin, String> {
    let (editable, spec) = match line.strip_prefix("--editable").or_else(|| line.strip_prefix("-e")) {
        Some(rest) => (true, rest.trim()),
        None => (false, line),
    };
    // pip's bare URL form: `git+https://host/repo.git@ref#egg=name`.
    let is_bare_url = spec.split_once("://").is_some_and(|(scheme, _)| {
        !scheme.is_empty() && scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    });
    if is_bare_url {
        return parse_bare_url(spec, editable, number);
    }
    // pip-compile writes requirement lines in ASCII; pep508_rs 0.9 slices some non-ASCII
    // marker text off a character boundary and panics (found by fuzzing).
    if let Some(c) = spec.chars().find(|c| !c.is_ascii()) {
        return Err(format!("not a valid requirement (non-ASCII character {c:?}: pip-compile writes ASCII)"));
    }
    check_name_ends(spec)?;
    // pep508_rs panics on some names it lexes but then refuses (found by fuzzing, see
    // `check_name_ends`); should another such input exist, it is a bad line, not a crash.
    let parsed = std::panic::catch_unwind(|| Requirement::<pep508_rs::VerbatimUrl>::from_str(spec))
        .map_err(|_| "not a valid requirement (the PEP 508 parser gave up on it)".to_owned())?;
    let requirement = parsed.map_err(|e| format!("not a valid requirement ({})", first_line(&e.to_string())))?;
    let (version, direct_url) = match &requirement.version_or_url {
        Some(VersionOrUrl::VersionSpecifier(specifiers)) => {
            let pinned: Vec<String> = specifiers
                .iter()
                .filter(|s| {
                    matches!(
                        s.operator(),
                        pep508_rs::pep440_rs::Operator::Equal | pep508_rs::pep440_rs::Operator::ExactEqual
                    )
                })
                .map(|s| s.version().to_string())
                .collect();
            match pinned.as_slice() {
                [version] if specifiers.len() == 1 => (Some(version.clone()), None),
                _ => return Err("not pinned to one version (expected `name==version`)".to_owned()),
            }
        }
        Some(VersionOrUrl::Url(url)) => (None, Some(url.to_string())),
        None => return Err("not pinned to a version (expected `name==version`)".to_owned()),
    };
    let marker = requirement.marker.contents().map(|m| m.to_string());
    Ok(Pin {
        name: requirement.name.to_string(),
        display_name: spec
            .split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
            .next()
            .unwrap_or("")
            .to_owned(),
        version,
        extras: requirement.extras.iter().map(ToString::to_string).collect(),
        marker,
        direct_url,
        editable,
        line: number,
        via: Vec::new(),
        sha256: Vec::new(),
    })
}

fn parse_bare_url(url: &str, editable: bool, number: usize) -> Result<Pin, String> {
    let egg = url
        .split_once('#')
        .and_then(|(_, fragment)| fragment.split('&').find_map(|kv| kv.strip_prefix("egg=")))
        .filter(|name| !name.is_empty())
        .ok_or_else(|| "a direct URL without `#egg=<name>`: cannot tell which package it is".to_owned())?;
    let (name, extras) = match egg.split_once('[') {
        Some((name, extras)) => (name, extras.trim_end_matches(']').split(',').map(|e| e.trim().to_owned()).collect()),
        None => (egg, Vec::new()),
    };
    if name.trim().is_empty() {
        // pep508_rs accepts an empty name; a pin needs one (found by fuzzing: `#egg=[django]`).
        return Err("`#egg=` names no package before its extras".to_owned());
    }
    let normalised = PackageName::from_str(name).map_err(|e| format!("bad package name in `#egg=`: {e}"))?;
    Ok(Pin {
        name: normalised.to_string(),
        display_name: name.to_owned(),
        version: None,
        extras,
        marker: None,
        direct_url: Some(url.to_owned()),
        editable,
        line: number,
        via: Vec::new(),
        sha256: Vec::new(),
    })
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text)
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Via::Package(name) => f.write_str(name),
            Via::Requirement(path) => write!(f, "-r {path}"),
            Via::Constraint(path) => write!(f, "-c {path}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Requirements {
        text.parse().unwrap()
    }

    #[test]
    fn pins_with_extras_markers_and_via() {
        let reqs = parse(
            "Django==4.2.20\n    # via\n    #   -c requirements/constraints.txt\n    #   django-crum\n\
             bleach[css]==6.2.0\n    # via -r requirements/edx/kernel.in\n\
             python3-openid==3.2.0 ; python_version >= \"3\"\n    # via social-auth-core\n",
        );
        assert_eq!(reqs.pins.len(), 3);
        let django = reqs.pin("django").unwrap();
        assert_eq!(django.display_name, "Django");
        assert_eq!(django.version.as_deref(), Some("4.2.20"));
        assert_eq!(
            django.via,
            [Via::Package("django-crum".into()), Via::Constraint("requirements/constraints.txt".into())]
        );
        assert_eq!(reqs.pin("bleach").unwrap().extras, ["css"]);
        let openid = reqs.pin("python3-openid").unwrap();
        assert_eq!(openid.marker.as_deref(), Some("python_full_version >= '3'"));
        assert_eq!(reqs.edges(), [("django-crum", "django"), ("social-auth-core", "python3-openid")]);
    }

    #[test]
    fn direct_references_are_kept_but_not_scannable_by_version() {
        let reqs = parse(
            "xblock[django] @ git+https://github.com/openedx/xblock.git@add-required-attrs\n\
             git+https://github.com/openedx/xblocks-contrib.git@main#egg=xblocks-contrib\n\
             -e git+https://github.com/org/tool.git#egg=Some_Tool\n",
        );
        let xblock = reqs.pin("XBlock").unwrap();
        assert_eq!(xblock.extras, ["django"]);
        assert!(xblock.direct_url.as_deref().unwrap().starts_with("git+https://github.com/openedx/xblock.git"));
        assert!(!xblock.scannable_by_version());
        assert_eq!(
            reqs.pin("xblocks-contrib").unwrap().direct_url.as_deref(),
            Some("git+https://github.com/openedx/xblocks-contrib.git@main#egg=xblocks-contrib")
        );
        let tool = reqs.pin("some-tool").unwrap();
        assert!(tool.editable);
    }

    #[test]
    fn hashes_options_includes_and_inline_via() {
        let reqs = parse(
            "--index-url https://pypi.org/simple\n-r base.txt\n-c constraints.txt\n\
             six==1.17.0 \\\n    --hash=sha256:4721F391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274 \\\n    --hash=sha256:ff70335d468e7eb6ec65b95b99d3a2836546063f63acc5171de367e834932a81\n    # via django-crum\n\
             pytz==2025.1    # via django, babel\n",
        );
        assert_eq!(reqs.includes, [Via::Requirement("base.txt".into()), Via::Constraint("constraints.txt".into())]);
        let six = reqs.pin("six").unwrap();
        assert_eq!(six.version.as_deref(), Some("1.17.0"));
        assert_eq!(
            six.sha256,
            [
                "4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274",
                "ff70335d468e7eb6ec65b95b99d3a2836546063f63acc5171de367e834932a81"
            ]
        );
        assert_eq!(reqs.pin("pytz").unwrap().via, [Via::Package("babel".into()), Via::Package("django".into())]);
    }

    #[test]
    fn bad_lines_are_errors_with_their_line_number() {
        for (text, line, needle) in [
            ("six==1.0\nfoo>=1.0\n", 2, "not pinned"),
            ("six==1.0\nfoo\n", 2, "not pinned"),
            ("six==\n", 1, "not a valid requirement"),
            ("six==1.0\n--frobnicate\n", 2, "unsupported pip option"),
            ("git+https://example.com/x.git\n", 1, "#egg="),
            ("six==1.0\nsix==1.1\n", 2, "pinned twice"),
            ("six==1.0\n    # via <script>\n", 2, "not a package or file"),
            ("six==1.0 \\\n", 1, "continuation"),
            ("six==1.0 --hash=sha256:abc\n", 1, "malformed hash"),
            // Found by `cargo fuzz run requirements`: pep508_rs panicked on these names.
            ("six==1.0\ncharset- ==1.0\n", 2, "ends with `-`"),
            ("charset_ [x]==1.0\n", 1, "ends with `_`"),
            ("zope. ==1.0\n", 1, "ends with `.`"),
            ("camel-converter[pydantic.    # via x\n", 1, "extra `pydantic.`"),
            ("camel-converter[a, b-]==1.0\n", 1, "extra `b-`"),
            ("six==1.0 ; python_version >= \"3\u{75a}\"\n", 1, "non-ASCII"),
            ("git+https://github.com/x/y.git#egg=[django]\n", 1, "names no package"),
        ] {
            let err = text.parse::<Requirements>().unwrap_err();
            assert_eq!(err.line, line, "{text:?}: {err}");
            assert!(err.to_string().contains(needle), "{text:?}: {err}");
        }
    }

    #[test]
    fn names_normalise_per_pep_503() {
        assert_eq!(normalise("Django_Crum"), "django-crum");
        assert_eq!(normalise("zope.interface"), "zope-interface");
        assert_eq!(normalise("a__-.b"), "a-b");
    }
}
