//! The command line, and its translation into the scanner's configuration (ripgrep's
//! flags → config step): clap types stay here.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use scanner::config::Overrides;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// `path:line:col: RULE message`, one per line (on a terminal, then a summary table).
    Concise,
    /// Counts per rule, and what was not read.
    Summary,
    /// SARIF 2.1.0: every finding, suppressed ones marked; for code scanning and Unthread.
    Sarif,
    /// One JSON object per reported finding.
    Jsonl,
    /// GitHub Actions annotations (workflow commands).
    Github,
    /// GitLab Code Quality JSON.
    Gitlab,
}

#[derive(Debug, Parser)]
#[command(
    name = "unthread-scan",
    version,
    about = "Find thread locals, locks and context-losing spawns in Python code",
    args_conflicts_with_subcommands = true,
    after_help = "Exit status: 0 no finding of severity warning or error reported (notes such as UT100 never fail), 1 one was, 2 usage or configuration error."
)]
pub struct Args {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub check: Check,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print a rule's documentation (`unthread-scan rule UT001`), or list the rules.
    Rule {
        /// A rule id or name; none lists every rule.
        rule: Option<String>,
    },
}

#[derive(Debug, clap::Args)]
pub struct Check {
    /// A directory, a .whl / .zip / .tar.gz archive, or Python files (their paths relative
    /// to the working directory, as a scan of it gives them). Default: the working directory.
    pub paths: Vec<PathBuf>,
    /// Output format. Default: concise.
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Write the output here instead of standard output.
    #[arg(long, short)]
    pub output: Option<PathBuf>,

    /// Read this configuration file (pyproject.toml, unthread.toml) instead of searching.
    #[arg(long, value_name = "FILE", conflicts_with = "isolated")]
    pub config: Option<PathBuf>,
    /// Ignore every configuration file.
    #[arg(long)]
    pub isolated: bool,
    /// Rules to run (ids, prefixes such as UT00, or ALL), replacing the configuration's.
    #[arg(long, value_delimiter = ',', value_name = "RULES")]
    pub select: Option<Vec<String>>,
    /// Rules to run in addition.
    #[arg(long, value_delimiter = ',', value_name = "RULES")]
    pub extend_select: Vec<String>,
    /// Rules not to run.
    #[arg(long, value_delimiter = ',', value_name = "RULES")]
    pub ignore: Vec<String>,
    /// Run every rule: UT013 too, which needs the call graph (it runs with `--runs-at` or
    /// when selected by its id), and keep its writes whose time the call graph cannot tell.
    #[arg(long)]
    pub preview: bool,
    /// Paths not to scan (gitignore patterns), replacing the configuration's `exclude`.
    #[arg(long, value_delimiter = ',', value_name = "PATTERNS")]
    pub exclude: Option<Vec<String>>,
    /// Paths not to scan, in addition.
    #[arg(long, value_delimiter = ',', value_name = "PATTERNS")]
    pub extend_exclude: Vec<String>,
    /// Rules not to run on matching files: `PATTERN:RULE[,RULE…]`; repeatable.
    #[arg(long, value_name = "PATTERN:RULES", value_parser = per_file_ignore)]
    pub per_file_ignores: Vec<(String, Vec<String>)>,
    /// Scan tests (`tests/`, `test_*.py`, `*_test.py`, `conftest.py`) too; they are out of
    /// scope by default, as in the epic (configuration: `include-tests = true`).
    #[arg(long, overrides_with = "exclude_tests")]
    pub include_tests: bool,
    /// Skip tests: the default.
    #[arg(long, overrides_with = "include_tests")]
    pub exclude_tests: bool,
    /// Skip files larger than this many bytes (default 5 MiB).
    #[arg(long, value_name = "BYTES")]
    pub max_file_size: Option<u64>,

    /// Report only findings not in this SARIF log (written by --write-baseline, or exported
    /// from an Unthread server).
    #[arg(long, value_name = "FILE.sarif")]
    pub baseline: Option<PathBuf>,
    /// Write every finding to this SARIF file as the new baseline, and exit 0.
    #[arg(long, value_name = "FILE.sarif")]
    pub write_baseline: Option<PathBuf>,
    /// Report only findings on lines added or changed since this git ref.
    #[arg(long, value_name = "REF")]
    pub diff_base: Option<String>,
    /// Exit 0 even when findings are reported.
    #[arg(long)]
    pub exit_zero: bool,
    /// Report suppression comments that silence nothing (they count as findings).
    #[arg(long)]
    pub report_unused_suppressions: bool,

    /// Thread-local API indexes of dependencies (rule UT011); repeatable.
    #[arg(long = "api-index", value_name = "FILE")]
    pub api_indexes: Vec<PathBuf>,
    /// Do not use the bundled index of the Django ecosystem's thread-local APIs (by default it
    /// is used for every package no `--api-index` names; `--show-settings` lists what it covers).
    #[arg(long)]
    pub no_bundled_index: bool,
    /// Find when each finding's code runs — request, worker, start-up, tests or unknown, with
    /// the call path from its entry point — and report it (SARIF `properties`, JSON).
    #[arg(long)]
    pub runs_at: bool,
    /// Write this target's own thread-local API index here.
    #[arg(long, value_name = "FILE")]
    pub write_api_index: Option<PathBuf>,
    /// Write the names of other packages that code running at request time or in a worker
    /// calls, with the call path, here (JSON; implies `--runs-at`; for the server's "runs at"
    /// of other targets' findings).
    #[arg(long, value_name = "FILE")]
    pub write_calls_out: Option<PathBuf>,
    /// Write what each module imports here (JSON; for the server's reachability of
    /// dependency findings).
    #[arg(long, value_name = "FILE")]
    pub write_import_index: Option<PathBuf>,
    /// Package name recorded in the written API index (default: the path's last component).
    #[arg(long)]
    pub package: Option<String>,
    /// Reuse per-file results from this directory when files are unchanged.
    #[arg(long, value_name = "DIR")]
    pub cache: Option<PathBuf>,
    /// Parse every file, even those the text prefilter proves cannot have findings.
    #[arg(long)]
    pub no_prefilter: bool,

    /// Apply the safe fixes in place, then report what remains (exit 1 when something does).
    #[arg(long, overrides_with = "no_fix")]
    pub fix: bool,
    /// Do not apply fixes, even when the configuration says `fix = true`.
    #[arg(long, overrides_with = "fix")]
    pub no_fix: bool,
    /// Apply unsafe fixes too (with --fix, --diff or --fix-only), and count them as fixable.
    #[arg(long, overrides_with = "no_unsafe_fixes")]
    pub unsafe_fixes: bool,
    /// Do not apply unsafe fixes, even when the configuration says `unsafe-fixes = true`.
    #[arg(long, overrides_with = "unsafe_fixes")]
    pub no_unsafe_fixes: bool,
    /// Print a unified diff of what --fix would change and write nothing (exit 1 when there
    /// is a change, 0 when none).
    #[arg(long, conflicts_with_all = ["fix_only", "write_baseline"])]
    pub diff: bool,
    /// Apply the fixes and report nothing (exit 0 unless something went wrong).
    #[arg(long)]
    pub fix_only: bool,

    /// Print the findings and nothing else: no summary, fix hints, progress or notes.
    #[arg(long, short)]
    pub quiet: bool,
    /// Print how many findings each rule has (and how many are fixable) instead of them.
    #[arg(long, conflicts_with = "format")]
    pub statistics: bool,
    /// Print the settings that apply (configuration file, rules, excludes, tests, limits,
    /// baseline, fixes) and exit.
    #[arg(long)]
    pub show_settings: bool,
    /// Print the files that would be scanned and exit.
    #[arg(long)]
    pub show_files: bool,
}

/// `PATTERN:RULE[,RULE…]`.
fn per_file_ignore(value: &str) -> Result<(String, Vec<String>), String> {
    let (pattern, rules) = value.rsplit_once(':').ok_or_else(|| format!("`{value}`: expected PATTERN:RULE[,RULE…]"))?;
    let rules: Vec<String> = rules.split(',').map(str::trim).filter(|r| !r.is_empty()).map(str::to_owned).collect();
    if pattern.is_empty() || rules.is_empty() {
        return Err(format!("`{value}`: expected PATTERN:RULE[,RULE…]"));
    }
    Ok((pattern.to_owned(), rules))
}

impl Check {
    /// The settings the command line gives, to lay over the configuration file's.
    pub fn overrides(&self) -> Overrides {
        Overrides {
            select: self.select.clone(),
            extend_select: self.extend_select.clone(),
            ignore: self.ignore.clone(),
            exclude: self.exclude.clone(),
            extend_exclude: self.extend_exclude.clone(),
            per_file_ignores: self.per_file_ignores.clone(),
            include_tests: match (self.include_tests, self.exclude_tests) {
                (true, _) => Some(true),
                (_, true) => Some(false),
                _ => None,
            },
            max_file_size: self.max_file_size,
            api_index: self.api_indexes.clone(),
            baseline: self.baseline.clone(),
            preview: self.preview,
            runs_at: self.runs_at || self.write_calls_out.is_some(),
            fix: match (self.fix || self.fix_only, self.no_fix) {
                (true, _) => Some(true),
                (_, true) => Some(false),
                _ => None,
            },
            unsafe_fixes: match (self.unsafe_fixes, self.no_unsafe_fixes) {
                (true, _) => Some(true),
                (_, true) => Some(false),
                _ => None,
            },
        }
    }
}
