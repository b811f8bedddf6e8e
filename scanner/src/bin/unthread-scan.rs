//! `unthread-scan`: scan Python code for async-unsafe constructs and write SARIF 2.1.0,
//! JSON Lines or a summary. Meant for each repository's CI, uploading to Unthread.

use std::{io::Write, path::PathBuf, process::ExitCode};

use clap::{Parser, ValueEnum};
use scanner::{output, scan_path, ApiIndex, ScanOptions, SourceOptions};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Format {
    Sarif,
    Jsonl,
    Summary,
    /// `path:line:col: RULE message`, one per line.
    Concise,
    /// GitHub Actions annotations (workflow commands).
    Github,
}

#[derive(Debug, Parser)]
#[command(version, about = "Find thread locals, locks and context-losing spawns in Python code")]
struct Args {
    /// A directory, a .py file, or a .whl / .zip / .tar.gz archive.
    path: PathBuf,
    #[arg(long, value_enum, default_value = "summary")]
    format: Format,
    /// Write the output here instead of standard output.
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Thread-local API indexes of dependencies (rule UT011); repeatable.
    #[arg(long = "api-index")]
    api_indexes: Vec<PathBuf>,
    /// Write this target's own thread-local API index here.
    #[arg(long)]
    write_api_index: Option<PathBuf>,
    /// Package name recorded in the written API index (default: the path's last component).
    #[arg(long)]
    package: Option<String>,
    /// Reuse per-file results from this directory when files are unchanged.
    #[arg(long)]
    cache: Option<PathBuf>,
    /// Skip files larger than this many bytes.
    #[arg(long, default_value_t = 5 * 1024 * 1024)]
    max_file_size: u64,
    /// Skip tests (`tests/`, `test_*.py`, `*_test.py`, `conftest.py`).
    #[arg(long)]
    exclude_tests: bool,
    /// Parse every file, even those the text prefilter proves cannot have findings.
    #[arg(long)]
    no_prefilter: bool,
}

fn main() -> ExitCode {
    scanner::use_mimalloc_for_parsing();
    let args = Args::parse();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

/// Large writes: a system call costs microseconds here, and SARIF runs to megabytes.
const OUTPUT_BUFFER: usize = 1 << 20;

fn run(args: Args) -> anyhow::Result<()> {
    use anyhow::Context;
    let mut api_index = ApiIndex::new();
    for path in &args.api_indexes {
        let json = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        api_index.merge(ApiIndex::from_json(&json).with_context(|| format!("in {}", path.display()))?);
    }
    let options = ScanOptions {
        sources: SourceOptions { max_file_size: args.max_file_size, include_tests: !args.exclude_tests },
        api_index,
        package: args.package,
        cache_dir: args.cache,
        progress: true,
        no_prefilter: args.no_prefilter,
    };
    let report = scan_path(&args.path, &options)?;
    // Written as it is rendered (the SARIF of a large tree is megabytes).
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(std::io::BufWriter::with_capacity(
            OUTPUT_BUFFER,
            std::fs::File::create(path).with_context(|| format!("writing {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::with_capacity(OUTPUT_BUFFER, std::io::stdout().lock())),
    };
    match args.format {
        Format::Sarif => {
            serde_json::to_writer_pretty(&mut out, &output::sarif(&report))?;
            out.write_all(b"\n")?;
        }
        Format::Jsonl => out.write_all(output::json_lines(&report).as_bytes())?,
        Format::Summary => out.write_all(output::summary(&report).as_bytes())?,
        Format::Concise => out.write_all(output::concise(&report).as_bytes())?,
        Format::Github => out.write_all(output::github(&report).as_bytes())?,
    }
    out.flush().context("writing the output")?;
    if let Some(path) = &args.write_api_index {
        std::fs::write(path, report.api_index.to_json()).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
