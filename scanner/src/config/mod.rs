//! Configuration: `[tool.unthread]` in `pyproject.toml`, or `unthread.toml` /
//! `.unthread.toml`, found from the scanned path upward as ruff finds its own (the closest
//! wins), then overridden by the command line.
//!
//! ```toml
//! [tool.unthread]
//! select = ["ALL"]
//! ignore = ["UT100"]
//! exclude = ["migrations/"]
//! per-file-ignores = { "settings/*.py" = ["UT010"] }
//! include-tests = false
//! baseline = "unthread-baseline.sarif"
//! fix = true                         # apply safe fixes (as `--fix`)
//! unsafe-fixes = false               # also unsafe ones (as `--unsafe-fixes`)
//! extend-safe-fixes = ["UT005"]      # these rules' unsafe fixes count as safe
//! extend-unsafe-fixes = ["UT012"]    # these rules' safe fixes count as unsafe
//! ```

mod exclude;
mod selection;

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use serde::Deserialize;
use toml::Spanned;

pub(crate) use exclude::absolute;
pub use exclude::{Exclude, Patterns};
pub use selection::{rules_of, Layer, Selection};

/// The file names searched for in each directory, in this order.
pub const FILE_NAMES: [&str; 3] = [".unthread.toml", "unthread.toml", "pyproject.toml"];

/// Default for `max-file-size`: larger files are generated or vendored, not reviewed code.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 5 * 1024 * 1024;

/// A configuration problem: where (a file with line and column, or a command-line option)
/// and what.
#[derive(Debug, thiserror::Error)]
#[error("{origin}: {message}")]
pub struct ConfigError {
    pub origin: String,
    pub message: String,
}

/// The keys of a configuration file (`[tool.unthread]` of a `pyproject.toml`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Options {
    pub select: Option<Vec<Spanned<String>>>,
    pub extend_select: Option<Vec<Spanned<String>>>,
    pub ignore: Option<Vec<Spanned<String>>>,
    pub exclude: Option<Vec<String>>,
    pub extend_exclude: Option<Vec<String>>,
    pub per_file_ignores: Option<BTreeMap<String, Vec<Spanned<String>>>>,
    pub include_tests: Option<bool>,
    pub max_file_size: Option<u64>,
    pub api_index: Option<Vec<PathBuf>>,
    pub baseline: Option<PathBuf>,
    /// Run every rule, those that need the call graph too (UT013, which then also reports
    /// writes whose time the call graph cannot tell); they can also be selected by id.
    pub preview: Option<bool>,
    /// Apply safe fixes (`--fix`).
    pub fix: Option<bool>,
    /// Apply unsafe fixes too (`--unsafe-fixes`).
    pub unsafe_fixes: Option<bool>,
    /// Rules whose unsafe fixes count as safe.
    pub extend_safe_fixes: Option<Vec<Spanned<String>>>,
    /// Rules whose safe fixes count as unsafe.
    pub extend_unsafe_fixes: Option<Vec<Spanned<String>>>,
}

#[derive(Deserialize)]
struct Pyproject {
    tool: Option<PyprojectTools>,
}

#[derive(Deserialize)]
struct PyprojectTools {
    unthread: Option<Options>,
}

/// A configuration file that was read.
#[derive(Debug)]
pub struct ConfigFile {
    pub path: PathBuf,
    text: String,
    pub options: Options,
}

impl ConfigFile {
    /// Reads `path`: a `pyproject.toml` (by name) must have a `[tool.unthread]` table.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        Self::read(path)?.ok_or_else(|| ConfigError {
            origin: path.display().to_string(),
            message: "has no [tool.unthread] table".into(),
        })
    }

    /// `None` for a `pyproject.toml` without `[tool.unthread]`.
    fn read(path: &Path) -> Result<Option<Self>, ConfigError> {
        let origin = || path.display().to_string();
        let text =
            std::fs::read_to_string(path).map_err(|err| ConfigError { origin: origin(), message: err.to_string() })?;
        let parse_error =
            |err: toml::de::Error| ConfigError { origin: origin(), message: err.to_string().trim_end().to_owned() };
        let options = if path.file_name().is_some_and(|name| name == "pyproject.toml") {
            match toml::from_str::<Pyproject>(&text).map_err(parse_error)?.tool.and_then(|tool| tool.unthread) {
                Some(options) => options,
                None => return Ok(None),
            }
        } else {
            toml::from_str::<Options>(&text).map_err(parse_error)?
        };
        Ok(Some(ConfigFile { path: path.to_owned(), text, options }))
    }

    /// The closest configuration file at or above `start` (a file or directory).
    pub fn discover(start: &Path) -> Result<Option<Self>, ConfigError> {
        let start = absolute(start);
        let first_dir = if start.is_dir() { start.as_path() } else { start.parent().unwrap_or(&start) };
        for dir in first_dir.ancestors() {
            for name in FILE_NAMES {
                let candidate = dir.join(name);
                if candidate.is_file() {
                    if let Some(found) = Self::read(&candidate)? {
                        return Ok(Some(found));
                    }
                }
            }
        }
        Ok(None)
    }

    fn base_dir(&self) -> PathBuf {
        absolute(self.path.parent().unwrap_or(Path::new(".")))
    }

    /// An error about the value at `span`, as `file:line:column: key: message`.
    fn error_at(&self, span: std::ops::Range<usize>, key: &str, message: String) -> ConfigError {
        let before = &self.text[..span.start.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        ConfigError {
            origin: format!("{}:{line}:{column}", self.path.display()),
            message: format!("`{key}`: {message}"),
        }
    }

    fn rules(
        &self,
        key: &str,
        selectors: &Option<Vec<Spanned<String>>>,
    ) -> Result<Option<Vec<&'static str>>, ConfigError> {
        let Some(selectors) = selectors else { return Ok(None) };
        let mut ids = Vec::new();
        for selector in selectors {
            ids.extend(rules_of(selector.get_ref()).map_err(|message| self.error_at(selector.span(), key, message))?);
        }
        Ok(Some(ids))
    }
}

/// Settings given on the command line (they override the file's).
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub select: Option<Vec<String>>,
    pub extend_select: Vec<String>,
    pub ignore: Vec<String>,
    pub exclude: Option<Vec<String>>,
    pub extend_exclude: Vec<String>,
    /// `PATTERN:RULE[,RULE…]` pairs.
    pub per_file_ignores: Vec<(String, Vec<String>)>,
    pub include_tests: Option<bool>,
    pub max_file_size: Option<u64>,
    /// Added to the file's.
    pub api_index: Vec<PathBuf>,
    pub baseline: Option<PathBuf>,
    pub preview: bool,
    /// `--runs-at`: the scan computes the call graph, so the rules that need it run too.
    pub runs_at: bool,
    /// `--fix` (`Some(true)`), `--no-fix` (`Some(false)`), or the file's `fix`.
    pub fix: Option<bool>,
    /// `--unsafe-fixes` / `--no-unsafe-fixes`, or the file's.
    pub unsafe_fixes: Option<bool>,
}

/// The rules switched off for files matching a pattern.
#[derive(Debug, Default)]
pub struct PerFileIgnores {
    entries: Vec<(Exclude, Vec<&'static str>)>,
}

impl PerFileIgnores {
    /// True when `rule` is ignored in `path` (relative to the scan root).
    pub fn ignores(&self, path: &str, rule: &str) -> bool {
        self.entries.iter().any(|(matcher, rules)| rules.contains(&rule) && matcher.excludes(path, false))
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Everything a scan is configured with, after the file and the command line.
#[derive(Debug)]
pub struct Settings {
    pub config_file: Option<PathBuf>,
    pub selection: Selection,
    pub per_file_ignores: PerFileIgnores,
    pub exclude: Option<std::sync::Arc<Exclude>>,
    pub include_tests: bool,
    pub max_file_size: u64,
    pub api_indexes: Vec<PathBuf>,
    pub baseline: Option<PathBuf>,
    /// Whether to apply fixes, and which (`crate::fix`).
    pub fix: bool,
    pub fix_policy: crate::fix::FixPolicy,
    /// `preview` (command line or file): UT013 keeps the writes whose time is unknown.
    pub preview: bool,
}

impl Settings {
    /// Combines the file (if any) and the command line for a scan of `scan_root`; relative
    /// paths of the file are relative to its directory, those of the command line to `cwd`.
    pub fn resolve(
        file: Option<&ConfigFile>,
        cli: &Overrides,
        scan_root: &Path,
        cwd: &Path,
    ) -> Result<Self, ConfigError> {
        let cli_rules = |option: &str, selectors: &[String]| -> Result<Vec<&'static str>, ConfigError> {
            let mut ids = Vec::new();
            for selector in selectors {
                ids.extend(
                    rules_of(selector).map_err(|message| ConfigError { origin: format!("--{option}"), message })?,
                );
            }
            Ok(ids)
        };

        let mut selection = Selection::default();
        let mut ignored: Vec<&'static str> = Vec::new();
        let mut preview = cli.preview;
        let mut exclude = Vec::new();
        let mut per_file = Vec::new();
        let mut api_indexes = Vec::new();
        // Tests are out of the epic's scope ("I'm currently ignoring threading code that only
        // shows up in tests") and held about 80 % of the findings: out by default.
        let (mut include_tests, mut max_file_size, mut baseline) = (false, DEFAULT_MAX_FILE_SIZE, None);
        let (mut fix, mut fix_policy) = (false, crate::fix::FixPolicy::default());
        if let Some(file) = file {
            let o = &file.options;
            let base = file.base_dir();
            let layer = Layer {
                select: file.rules("select", &o.select)?,
                extend_select: file.rules("extend-select", &o.extend_select)?.unwrap_or_default(),
                ignore: file.rules("ignore", &o.ignore)?.unwrap_or_default(),
            };
            ignored.extend(layer.ignore.iter().copied());
            selection.apply(&layer);
            preview |= o.preview.unwrap_or(false);
            let patterns = o.exclude.iter().chain(&o.extend_exclude).flatten().cloned().collect();
            // A command-line `--exclude` replaces the file's `exclude`, not its `extend-exclude`.
            let patterns = match &cli.exclude {
                Some(_) => o.extend_exclude.clone().unwrap_or_default(),
                None => patterns,
            };
            let origin = file.path.display().to_string();
            exclude.push(Patterns { base_dir: base.clone(), patterns, origin: origin.clone() });
            for (pattern, selectors) in o.per_file_ignores.iter().flatten() {
                let rules = file.rules("per-file-ignores", &Some(selectors.clone()))?.unwrap_or_default();
                let patterns = vec![pattern.clone()];
                per_file.push((Patterns { base_dir: base.clone(), patterns, origin: origin.clone() }, rules));
            }
            include_tests = o.include_tests.unwrap_or(include_tests);
            max_file_size = o.max_file_size.unwrap_or(max_file_size);
            api_indexes.extend(o.api_index.iter().flatten().map(|p| base.join(p)));
            baseline = o.baseline.as_ref().map(|p| base.join(p));
            fix = o.fix.unwrap_or(fix);
            fix_policy.unsafe_fixes = o.unsafe_fixes.unwrap_or(false);
            let ids = |key, rules| -> Result<Vec<String>, ConfigError> {
                Ok(file.rules(key, rules)?.unwrap_or_default().into_iter().map(str::to_owned).collect())
            };
            fix_policy.extend_safe = ids("extend-safe-fixes", &o.extend_safe_fixes)?;
            fix_policy.extend_unsafe = ids("extend-unsafe-fixes", &o.extend_unsafe_fixes)?;
        }
        let layer = Layer {
            select: cli.select.as_deref().map(|s| cli_rules("select", s)).transpose()?,
            extend_select: cli_rules("extend-select", &cli.extend_select)?,
            ignore: cli_rules("ignore", &cli.ignore)?,
        };
        ignored.extend(layer.ignore.iter().copied());
        selection.apply(&layer);
        if preview || cli.runs_at {
            selection.with_call_graph_rules(&ignored);
        }
        let cli_patterns: Vec<String> = cli.exclude.iter().flatten().chain(&cli.extend_exclude).cloned().collect();
        exclude.push(Patterns { base_dir: cwd.to_owned(), patterns: cli_patterns, origin: "--exclude".into() });
        for (pattern, selectors) in &cli.per_file_ignores {
            per_file.push((
                Patterns {
                    base_dir: cwd.to_owned(),
                    patterns: vec![pattern.clone()],
                    origin: "--per-file-ignores".into(),
                },
                cli_rules("per-file-ignores", selectors)?,
            ));
        }
        api_indexes.extend(cli.api_index.iter().cloned());

        let exclude_matcher = Exclude::new(&exclude, scan_root)?;
        let mut per_file_ignores = PerFileIgnores::default();
        for (patterns, rules) in per_file {
            if let Some(matcher) = Exclude::new(std::slice::from_ref(&patterns), scan_root)? {
                per_file_ignores.entries.push((matcher, rules));
            }
        }
        Ok(Settings {
            config_file: file.map(|f| f.path.clone()),
            selection,
            per_file_ignores,
            exclude: exclude_matcher.map(std::sync::Arc::new),
            include_tests: cli.include_tests.unwrap_or(include_tests),
            max_file_size: cli.max_file_size.unwrap_or(max_file_size),
            api_indexes,
            baseline: cli.baseline.clone().or(baseline),
            fix: cli.fix.unwrap_or(fix),
            fix_policy: crate::fix::FixPolicy {
                unsafe_fixes: cli.unsafe_fixes.unwrap_or(fix_policy.unsafe_fixes),
                ..fix_policy
            },
            preview,
        })
    }

    /// True when the settings drop `finding`: its rule is not selected, or is ignored for
    /// its file.
    pub fn drops(&self, finding: &crate::Finding) -> bool {
        !self.selection.enables(&finding.rule) || self.per_file_ignores.ignores(&finding.path, &finding.rule)
    }
}

#[cfg(test)]
mod tests;
