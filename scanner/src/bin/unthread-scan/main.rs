//! `unthread-scan`: scan Python code for async-unsafe constructs, as a linter (exit status,
//! configuration, suppressions, baseline) and for Unthread (SARIF with fingerprints).

mod args;
mod fixing;

use std::{
    io::{IsTerminal, Write},
    path::{Path, PathBuf},
    process::ExitCode,
};

use anyhow::Context as _;
use clap::Parser;
use scanner::{
    baseline::Baseline,
    config::{ConfigFile, Settings},
    diff::ChangedLines,
    gate::{Gate, Verdict},
    output, scan_path,
    suppression::NoteKind,
    ApiIndex, ScanOptions, ScanReport, Severity, SourceOptions,
};

use crate::args::{Args, Check, Command, Format};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    scanner::use_mimalloc_for_parsing();
    scanner::keep_freed_memory();
    let args = Args::parse();
    let result = match args.command {
        Some(Command::Rule { rule }) => print_rule(rule.as_deref()),
        None => check(&args.check),
    };
    result.unwrap_or_else(|err| {
        // A reader that stopped reading (`| head`) is not an error of ours.
        if err.chain().any(|cause| {
            cause.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
        }) {
            return ExitCode::SUCCESS;
        }
        eprintln!("error: {err:#}");
        ExitCode::from(2)
    })
}

/// Large writes: a system call costs microseconds here, and SARIF runs to megabytes.
const OUTPUT_BUFFER: usize = 1 << 20;

/// What is scanned: one tree (a directory outside the working directory, the working
/// directory itself, or an archive), or files and directories under the working directory —
/// reported with paths relative to it, as ruff does, and as a scan of it would name them
/// (`unthread-scan xblock` reports `xblock/plugin.py`, whose module is `xblock.plugin`).
enum Target {
    Tree(PathBuf),
    Files(Vec<PathBuf>),
}

impl Target {
    fn of(paths: &[PathBuf], cwd: &Path) -> anyhow::Result<Self> {
        let under_cwd = |p: &PathBuf| {
            let full = absolute(p);
            (p.is_file() && !is_archive(p)) || (p.is_dir() && full != cwd && full.starts_with(cwd))
        };
        match paths {
            [] => Ok(Target::Tree(PathBuf::from("."))),
            [one] if !under_cwd(one) => {
                if !one.exists() {
                    anyhow::bail!("{}: no such file or directory", one.display());
                }
                Ok(Target::Tree(one.clone()))
            }
            many => {
                if let Some(odd) = many.iter().find(|p| !under_cwd(p)) {
                    anyhow::bail!(
                        "{}: several paths must be Python files or directories under the working directory (one archive, or a directory elsewhere, is scanned alone)",
                        odd.display()
                    );
                }
                Ok(Target::Files(many.to_vec()))
            }
        }
    }

    /// Where the search for a configuration file starts.
    fn start(&self) -> &Path {
        match self {
            Target::Tree(path) => path,
            Target::Files(files) => &files[0],
        }
    }
}

fn is_archive(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    [".whl", ".zip", ".tar.gz", ".tgz"].iter().any(|ext| name.ends_with(ext))
}

fn check(args: &Check) -> anyhow::Result<ExitCode> {
    let cwd = std::env::current_dir().context("reading the working directory")?;
    let target = Target::of(&args.paths, &absolute(&cwd))?;
    let config_file = match (&args.config, args.isolated) {
        (_, true) => None,
        (Some(path), _) => Some(ConfigFile::load(path)?),
        (None, false) => ConfigFile::discover(target.start())?,
    };
    let scan_root = match &target {
        Target::Tree(path) => path.clone(),
        Target::Files(_) => cwd.clone(),
    };
    let settings = Settings::resolve(config_file.as_ref(), &args.overrides(), &scan_root, &cwd)?;

    let mut api_index = ApiIndex::new();
    for path in &settings.api_indexes {
        let json = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        api_index.merge(ApiIndex::from_json(&json).with_context(|| format!("in {}", path.display()))?);
    }
    let bundled = (!args.no_bundled_index)
        .then(scanner::api_index::bundled::Bundled::load)
        .transpose()
        .context("the bundled API index")?;
    if let Some(bundled) = &bundled {
        // Every package no given index names; never the scanned project's own modules.
        let named: Vec<&str> = api_index.apis.values().map(|api| api.package.as_str()).collect();
        let own = |module: &str| scan_root.join(module).is_dir() || scan_root.join(format!("{module}.py")).is_file();
        let mut merged = bundled.without(&named, own);
        merged.merge(api_index);
        api_index = merged;
    }
    let format = args.format.unwrap_or(Format::Concise);
    let with_summary = !args.quiet && args.format.is_none() && args.output.is_none() && std::io::stdout().is_terminal();
    let options = ScanOptions {
        sources: SourceOptions {
            max_file_size: settings.max_file_size,
            include_tests: settings.include_tests,
            exclude: settings.exclude.clone(),
            ..Default::default()
        },
        api_index,
        package: args.package.clone(),
        cache_dir: args.cache.clone(),
        progress: !args.quiet,
        no_prefilter: args.no_prefilter,
        all_suppressions: args.report_unused_suppressions,
        call_graph_rules: settings.selection.runs_call_graph_rule(),
        unknown_time_writes: settings.preview,
        import_index: args.write_import_index.is_some(),
        runs_at: args.runs_at || args.write_calls_out.is_some(),
        // The project's metadata: at the scanned directory, the configuration file's, or
        // the working directory (a subfolder scan of a project).
        asgiref_available: [
            Some(scan_root.as_path()),
            settings.config_file.as_deref().and_then(Path::parent),
            Some(cwd.as_path()),
        ]
        .into_iter()
        .flatten()
        .any(scanner::source::depends_on_asgiref),
        // Only the summary (its count of APIs found) and `--write-api-index` show it.
        no_api_index: args.write_api_index.is_none() && format != Format::Summary && !with_summary,
    };
    if args.show_settings {
        print!("{}", show_settings(&settings, &options, bundled.as_ref()));
        return Ok(ExitCode::SUCCESS);
    }
    if args.show_files {
        let files = match &target {
            Target::Tree(path) => scanner::source::load(path, &options.sources)?,
            Target::Files(files) => scanner::source::load_files(&cwd, files, &options.sources)?,
        };
        let mut out = std::io::stdout().lock();
        for file in files {
            writeln!(out, "{}", file.path)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut report = match &target {
        Target::Tree(path) => scan_path(path, &options)?,
        Target::Files(files) => {
            let package = args.package.clone().unwrap_or_else(|| name_of(&cwd));
            let sources = scanner::source::load_files(&cwd, files, &options.sources)?;
            scanner::scan::scan_sources(sources, &package, &options)
        }
    };
    report.findings.retain(|finding| !settings.drops(finding));
    // The directory the reported paths are relative to.
    let source_root = match &target {
        Target::Tree(path) if path.is_dir() => Some(absolute(path)),
        Target::Tree(_) => None,
        Target::Files(_) => Some(absolute(&cwd)),
    };

    if args.diff || settings.fix {
        if matches!(&target, Target::Tree(path) if !path.is_dir()) {
            anyhow::bail!("--fix and --diff change files: give a directory or Python files, not an archive");
        }
        let (root, package) = match &target {
            Target::Tree(path) => (path.clone(), args.package.clone().unwrap_or_else(|| name_of(&absolute(path)))),
            Target::Files(_) => (cwd.clone(), args.package.clone().unwrap_or_else(|| name_of(&cwd))),
        };
        let run = fixing::fix_files(&report, |path| root.join(path), &package, &options, &settings, !args.diff)?;
        for why in &run.rolled_back {
            eprintln!("warning: a fix was not applied: {why}");
        }
        if args.diff {
            write_to(args.output.as_deref(), |out| Ok(out.write_all(run.diff.as_bytes())?))?;
            eprintln!("Would fix {} findings in {} files.", run.total(), run.files);
            return Ok(if run.files > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS });
        }
        if run.total() > 0 {
            let per_rule: Vec<String> = run.applied.iter().map(|(rule, n)| format!("{rule} {n}")).collect();
            eprintln!("Fixed {} findings in {} files ({}).", run.total(), run.files, per_rule.join(", "));
        }
        if args.fix_only {
            return Ok(ExitCode::SUCCESS);
        }
        if run.files > 0 {
            // Report what remains, as a scan of the fixed tree finds it.
            report = match &target {
                Target::Tree(path) => scan_path(path, &options)?,
                Target::Files(files) => {
                    let sources = scanner::source::load_files(&cwd, files, &options.sources)?;
                    scanner::scan::scan_sources(sources, &package, &options)
                }
            };
            report.findings.retain(|finding| !settings.drops(finding));
        }
    }

    if let Some(path) = &args.write_baseline {
        write_to(Some(path), |out| write_sarif(out, &report, None, source_root.as_deref()))?;
        eprintln!("wrote a baseline of {} findings to {}", report.findings.len(), path.display());
        write_api_index(args, &report)?;
        return Ok(ExitCode::SUCCESS);
    }

    let mut baseline = settings.baseline.as_deref().map(Baseline::load).transpose().map_err(anyhow::Error::msg)?;
    if let Some(baseline) = &mut baseline {
        // A baselined finding may be found by its content elsewhere only when its own file is
        // gone (renamed or moved); copies of it in files that still exist are new.
        let root = match &target {
            Target::Tree(path) if path.is_dir() => Some(path.clone()),
            Target::Tree(_) => None,
            Target::Files(_) => Some(cwd.clone()),
        };
        let scanned: std::collections::HashSet<&str> = report.files.iter().map(|f| f.path.as_str()).collect();
        baseline.mark_gone(|path| match &root {
            Some(root) => root.join(path).exists(),
            None => scanned.contains(path),
        });
    }
    let changed = match (&args.diff_base, &target) {
        (None, _) => None,
        (Some(git_ref), Target::Tree(path)) if path.is_dir() => Some(ChangedLines::since(path, git_ref)),
        (Some(_), Target::Tree(path)) => {
            anyhow::bail!("--diff-base needs a directory in a git repository, not {}", path.display())
        }
        (Some(git_ref), Target::Files(_)) => Some(ChangedLines::since(&cwd, git_ref)),
    }
    .transpose()
    .map_err(anyhow::Error::msg)?;
    let gate = Gate { baseline, changed };
    let verdict = gate.sort(&report);
    let unused = print_suppression_notes(&report, args.report_unused_suppressions);

    write_to(args.output.as_deref(), |out| {
        if args.statistics {
            out.write_all(statistics(&verdict.reported, &settings.fix_policy).as_bytes())?;
            return Ok(());
        }
        match format {
            Format::Concise if args.quiet => {
                out.write_all(output::concise(verdict.reported.iter().copied()).as_bytes())?
            }
            Format::Sarif => write_sarif(out, &report, gate.baseline.as_ref(), source_root.as_deref())?,
            Format::Jsonl => out.write_all(output::json_lines(verdict.reported.iter().copied()).as_bytes())?,
            Format::Summary => out.write_all(output::summary(&report, &verdict).as_bytes())?,
            Format::Concise => out.write_all(
                output::concise_with_fixes(verdict.reported.iter().copied(), Some(&settings.fix_policy)).as_bytes(),
            )?,
            Format::Github => out.write_all(output::github(verdict.reported.iter().copied()).as_bytes())?,
            Format::Gitlab => out.write_all(output::gitlab(verdict.reported.iter().copied()).as_bytes())?,
        }
        if with_summary {
            if !verdict.reported.is_empty() {
                out.write_all(b"\n")?;
            }
            out.write_all(output::summary(&report, &verdict).as_bytes())?;
        }
        Ok(())
    })?;
    write_api_index(args, &report)?;
    Ok(exit_code(&verdict, unused, args.exit_zero))
}

/// 1 when a finding of severity warning or error is reported (or an unused suppression,
/// with `--report-unused-suppressions`), else 0 (and always 0 with `--exit-zero`). Notes —
/// a context variable already in place (UT100), an unused `threading` import (UT012) — are
/// reported but never fail the gate: a change that only adds a `ContextVar` passes.
fn exit_code(verdict: &Verdict<'_>, unused_suppressions: usize, exit_zero: bool) -> ExitCode {
    let failing = verdict.reported.iter().any(|f| f.severity != Severity::Note);
    if exit_zero || (!failing && unused_suppressions == 0) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Warns about unknown rules and malformed directives on standard error, and about unused
/// suppressions when asked; returns how many unused ones were reported.
fn print_suppression_notes(report: &ScanReport, report_unused: bool) -> usize {
    let mut unused = 0;
    let mut stderr = std::io::stderr().lock();
    for file in &report.files {
        for note in &file.suppression_notes {
            if note.kind == NoteKind::Unused {
                if !report_unused {
                    continue;
                }
                unused += 1;
            }
            let _ = writeln!(stderr, "warning: {}:{}: {}", file.path, note.line, note.message);
        }
    }
    unused
}

/// Writes the SARIF log; `root` is the directory its paths are relative to (`%SRCROOT%`),
/// when they are relative to one (not for an archive).
fn write_sarif(
    out: &mut dyn Write,
    report: &ScanReport,
    baseline: Option<&Baseline>,
    root: Option<&Path>,
) -> anyhow::Result<()> {
    let log = output::sarif_against(report, baseline);
    let log = match root {
        Some(root) => log.with_source_root(root),
        None => log,
    };
    serde_json::to_writer_pretty(&mut *out, &log)?;
    out.write_all(b"\n")?;
    Ok(())
}

/// Runs `write` on the file `path` (or standard output), buffered, and flushes it.
fn write_to(path: Option<&Path>, write: impl FnOnce(&mut dyn Write) -> anyhow::Result<()>) -> anyhow::Result<()> {
    // Written as it is rendered (the SARIF of a large tree is megabytes).
    let mut out: Box<dyn Write> = match path {
        Some(path) => Box::new(std::io::BufWriter::with_capacity(
            OUTPUT_BUFFER,
            std::fs::File::create(path).with_context(|| format!("writing {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::with_capacity(OUTPUT_BUFFER, std::io::stdout().lock())),
    };
    write(&mut out)?;
    out.flush().context("writing the output")
}

/// The API index, the import index and the calls out, where asked.
fn write_api_index(args: &Check, report: &ScanReport) -> anyhow::Result<()> {
    if let Some(path) = &args.write_calls_out {
        let json = serde_json::to_string(report.calls_out.as_deref().unwrap_or_default())
            .context("serialising the calls out")?;
        std::fs::write(path, json).with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(path) = &args.write_api_index {
        std::fs::write(path, report.api_index.to_json()).with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(path) = &args.write_import_index {
        let json = serde_json::to_string(&report.imports).context("serialising the import index")?;
        std::fs::write(path, json).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_owned())
}

fn name_of(dir: &Path) -> String {
    dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// `unthread-scan rule [RULE]`: a rule's documentation, as `ruff rule` prints it.
fn print_rule(wanted: Option<&str>) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    let Some(wanted) = wanted else {
        for rule in scanner::catalogue() {
            writeln!(out, "{}  {:<34} {}", rule.id, rule.name, rule.summary)?;
        }
        return Ok(ExitCode::SUCCESS);
    };
    let rule = scanner::catalogue()
        .find(|rule| rule.id.eq_ignore_ascii_case(wanted) || rule.name == wanted)
        .with_context(|| format!("no rule `{wanted}` (`unthread-scan rule` lists them)"))?;
    writeln!(out, "# {} ({})\n\n{}\n\nSeverity: {}\n", rule.name, rule.id, rule.summary, rule.severity.as_str())?;
    writeln!(out, "{}", rule.help_markdown())?;
    Ok(ExitCode::SUCCESS)
}

/// `--statistics`: each rule's reported findings, most first, with how many a `--fix` would
/// remove (ruff's layout: count, code, `[*]` when any is fixable, name).
fn statistics(reported: &[&scanner::Finding], policy: &scanner::fix::FixPolicy) -> String {
    let mut per_rule: std::collections::BTreeMap<&str, (usize, usize)> = std::collections::BTreeMap::new();
    for finding in reported {
        let entry = per_rule.entry(finding.rule.as_str()).or_default();
        entry.0 += 1;
        entry.1 += usize::from(policy.applies(finding));
    }
    let mut rows: Vec<(&str, (usize, usize))> = per_rule.into_iter().collect();
    rows.sort_by(|a, b| b.1 .0.cmp(&a.1 .0).then(a.0.cmp(b.0)));
    let mut text = String::new();
    for (rule, (count, fixable)) in rows {
        let name = scanner::rules::by_id(rule).map_or("", |r| r.name);
        let mark = if fixable > 0 { "[*]" } else { "   " };
        text.push_str(&format!("{count:>6}\t{rule}\t{mark} {name}\n"));
    }
    text
}

/// `--show-settings`: what applies to this run, resolved from the configuration file and
/// the command line.
fn show_settings(
    settings: &scanner::config::Settings,
    options: &ScanOptions,
    bundled: Option<&scanner::api_index::bundled::Bundled>,
) -> String {
    let enabled: Vec<&str> =
        scanner::rules::catalogue().map(|r| r.id).filter(|id| settings.selection.enables(id)).collect();
    let list = |paths: &[PathBuf]| {
        if paths.is_empty() {
            "none".to_owned()
        } else {
            paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
        }
    };
    let mut text = String::new();
    let mut line = |key: &str, value: String| text.push_str(&format!("{key:<20} {value}\n"));
    line(
        "configuration",
        settings.config_file.as_ref().map_or("none (defaults)".to_owned(), |p| p.display().to_string()),
    );
    line("applies to", "every file of this run (the closest configuration to the first path; nested configuration files below it are not read)".to_owned());
    line("rules", enabled.join(" "));
    line("exclude", if settings.exclude.is_some() { "configured".to_owned() } else { "none".to_owned() });
    line("include-tests", settings.include_tests.to_string());
    line("max-file-size", format!("{} bytes", settings.max_file_size));
    line("api-index", list(&settings.api_indexes));
    line(
        "bundled index",
        match bundled {
            None => "off (--no-bundled-index)".to_owned(),
            Some(bundled) => {
                let packages = bundled.packages();
                format!(
                    "{} APIs of {} packages ({}), made from {} pinned versions; {} of them apply here",
                    bundled.index.apis.len(),
                    packages.len(),
                    packages.iter().copied().collect::<Vec<_>>().join(", "),
                    bundled.covers.len(),
                    options.api_index.apis.len()
                )
            }
        },
    );
    line("baseline", settings.baseline.as_ref().map_or("none".to_owned(), |p| p.display().to_string()));
    line("fix", settings.fix.to_string());
    line("unsafe-fixes", settings.fix_policy.unsafe_fixes.to_string());
    line("asgiref available", options.asgiref_available.to_string());
    text
}
