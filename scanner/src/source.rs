//! Where Python sources come from: a directory tree (respecting .gitignore), a single file,
//! or a wheel / sdist archive read in memory. Files of a directory are listed here and read
//! by the scan itself, one at a time per core (holding a whole tree in memory cost a tenth of
//! the scan in page faults alone).

use std::{
    collections::HashSet,
    io::Read,
    path::{Path, PathBuf},
};

use crate::finding::FileProblem;

mod archive;

#[cfg(test)]
use archive::safe_member_path;
use archive::{load_tar_gz, load_zip};
pub use archive::{tarball, ArchiveError, ArchiveLimits, TarballContents};

/// One Python file to scan: its path relative to the scan root and its bytes (or why they
/// could not be had).
#[derive(Debug)]
pub struct SourceFile {
    pub path: String,
    /// The bytes of an archive member or single file; empty for a file of a directory tree,
    /// read when scanned ([`SourceFile::bytes`]). An error found while listing it (too large,
    /// no metadata) is kept here either way.
    pub contents: Result<Vec<u8>, FileProblem>,
    /// For files of a directory tree: where the file is, and its size and modification time
    /// (with which the cache may know its content without reading it).
    pub on_disk: Option<OnDisk>,
}

#[derive(Clone, Debug)]
pub struct OnDisk {
    pub full_path: PathBuf,
    pub stat: FileStat,
}

/// What identifies a file's version without reading it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FileStat {
    pub len: u64,
    pub mtime_ns: i128,
}

impl FileStat {
    fn of(metadata: &std::fs::Metadata) -> Option<Self> {
        let mtime = metadata.modified().ok()?;
        let mtime_ns = match mtime.duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => d.as_nanos() as i128,
            Err(e) => -(e.duration().as_nanos() as i128),
        };
        Some(Self { len: metadata.len(), mtime_ns })
    }
}

impl SourceFile {
    /// A file whose bytes are given (an archive member, a file being fixed).
    pub fn in_memory(path: String, contents: Result<Vec<u8>, FileProblem>) -> Self {
        Self { path, contents, on_disk: None }
    }

    /// The bytes: read from disk now for a file of a directory tree.
    pub fn bytes(&self, max_size: u64) -> Result<std::borrow::Cow<'_, [u8]>, FileProblem> {
        match (&self.contents, &self.on_disk) {
            (Err(problem), _) => Err(problem.clone()),
            (Ok(_), Some(disk)) => read_file(&disk.full_path, max_size).map(std::borrow::Cow::Owned),
            (Ok(bytes), None) => Ok(std::borrow::Cow::Borrowed(bytes.as_slice())),
        }
    }

    /// [`SourceFile::bytes`], read into `buffer` for a file of a directory tree: a scan reads
    /// thousands of files one after another on each thread, and one buffer spares each a
    /// fresh allocation (and the fresh pages the system must clear for it).
    pub fn bytes_in<'a>(&'a self, buffer: &'a mut Vec<u8>, max_size: u64) -> Result<&'a [u8], FileProblem> {
        match (&self.contents, &self.on_disk) {
            (Err(problem), _) => Err(problem.clone()),
            (Ok(_), Some(disk)) => {
                read_file_into(&disk.full_path, buffer, Some(disk.stat.len), max_size)?;
                Ok(buffer.as_slice())
            }
            (Ok(bytes), None) => Ok(bytes.as_slice()),
        }
    }
}

#[derive(Clone, Debug)]
pub struct SourceOptions {
    /// Files larger than this are not read (recorded as too large).
    pub max_file_size: u64,
    pub include_tests: bool,
    /// Paths the configuration excludes (`exclude`, `extend-exclude`).
    pub exclude: Option<std::sync::Arc<crate::config::Exclude>>,
    /// How much of an archive (wheel, sdist, repository tarball) is read.
    pub archive: ArchiveLimits,
}

impl Default for SourceOptions {
    fn default() -> Self {
        Self {
            max_file_size: crate::config::DEFAULT_MAX_FILE_SIZE,
            include_tests: true,
            exclude: None,
            archive: ArchiveLimits::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{0}: no such file or directory")]
    NotFound(PathBuf),
    #[error("{path}: cannot read archive: {detail}")]
    Archive { path: PathBuf, detail: String },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

/// Directories never worth scanning: VCS data, caches, installed environments.
const SKIPPED_DIRS: &[&str] = &[
    ".git",
    ".hg",
    ".svn",
    "node_modules",
    "__pycache__",
    ".tox",
    ".nox",
    ".venv",
    "venv",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    "site-packages",
    ".eggs",
];

pub fn load(root: &Path, options: &SourceOptions) -> Result<Vec<SourceFile>, SourceError> {
    if !root.exists() {
        return Err(SourceError::NotFound(root.to_owned()));
    }
    let name = root.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let mut files = if root.is_dir() {
        load_directory(root, root, options)
    } else if name.ends_with(".whl") || name.ends_with(".zip") {
        load_zip(root, options)?
    } else if name.ends_with(".tar.gz") || name.ends_with(".tgz") {
        load_tar_gz(root, options)?
    } else {
        vec![SourceFile::in_memory(name.to_owned(), read_file(root, options.max_file_size))]
    };
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files.dedup_by(|a, b| a.path == b.path);
    drop_extension_modules_with_source(&mut files);
    Ok(files)
}

/// Files and directories named one by one (a pre-commit hook passes the changed files;
/// `unthread-scan xblock web_fragments` two packages), with paths relative to `root` — the
/// paths, module names and fingerprints a scan of `root` gives them. Test files and excluded
/// paths are left out as in a scan of `root`; any file named is read, as the caller chose
/// it (a script without `.py`); a directory is listed as a scan lists it.
pub fn load_files(root: &Path, paths: &[PathBuf], options: &SourceOptions) -> Result<Vec<SourceFile>, SourceError> {
    let root = crate::config::absolute(root);
    let mut files = Vec::with_capacity(paths.len());
    for given in paths {
        if given.is_dir() {
            // A directory under `root`: its files as a scan of `root` lists them.
            let dir = crate::config::absolute(given);
            if !dir.starts_with(&root) {
                return Err(SourceError::NotFound(given.clone()));
            }
            files.extend(load_directory(&dir, &root, options));
            continue;
        }
        if !given.is_file() {
            return Err(SourceError::NotFound(given.clone()));
        }
        let full = crate::config::absolute(given);
        let path = match full.strip_prefix(&root) {
            Ok(relative) => slash_separated(relative),
            Err(_) => slash_separated(given),
        };
        let excluded = options.exclude.as_ref().is_some_and(|exclude| exclude.excludes(&path, false));
        if excluded || (!options.include_tests && is_test_path(&path)) {
            continue;
        }
        files.push(SourceFile::in_memory(path, read_file(&full, options.max_file_size)));
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files.dedup_by(|a, b| a.path == b.path);
    Ok(files)
}

/// Files that say what a Python project depends on, at its root.
const METADATA_FILES: &[&str] = &["pyproject.toml", "setup.py", "setup.cfg", "requirements.txt", "requirements.in"];

/// True when the project at `root` (a directory) declares a dependency on Django or asgiref
/// in its metadata (`pyproject.toml`, `setup.py`, `setup.cfg`, `requirements*.txt`/`.in` at its
/// root or under `requirements/`): its code can import `asgiref` (Django depends on it).
pub fn depends_on_asgiref(root: &Path) -> bool {
    if !root.is_dir() {
        return false;
    }
    let mut candidates: Vec<PathBuf> = METADATA_FILES.iter().map(|name| root.join(name)).collect();
    for dir in [root.to_path_buf(), root.join("requirements")] {
        if let Ok(entries) = std::fs::read_dir(&dir) {
            candidates.extend(entries.flatten().map(|e| e.path()));
        }
    }
    candidates.iter().any(|path| {
        let relative = path.strip_prefix(root).ok().and_then(|p| p.to_str()).map(|p| p.replace('\\', "/"));
        relative.is_some_and(|p| is_metadata_path(&p))
            && path.is_file()
            && read_file(path, 1 << 20).is_ok_and(|text| mentions_asgiref(&text))
    })
}

/// A file that says what a project depends on, by its path from the project's root: one of
/// [`METADATA_FILES`], `requirements*.txt`/`.in` at the root, any `.txt`/`.in` under
/// `requirements/`.
pub fn is_metadata_path(path: &str) -> bool {
    let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
    let requirements_text = name.ends_with(".txt") || name.ends_with(".in");
    (dir.is_empty() && (METADATA_FILES.contains(&name) || name.starts_with("requirements") && requirements_text))
        || (dir == "requirements" && requirements_text)
}

/// Whether a metadata file's text names the `django` or `asgiref` distribution (`django`,
/// `Django>=4.2`, `"asgiref"`).
pub fn mentions_asgiref(text: &[u8]) -> bool {
    let text = String::from_utf8_lossy(text).to_ascii_lowercase();
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .any(|word| word == "django" || word == "asgiref")
}

/// Surely a test module or test support: under `tests/`, `test/` or `testing/` (numpy's and
/// sympy's test helpers), `test_*.py`,
/// `tests.py` (Django's per-app tests), `test.py` (also test settings: `settings/test.py`),
/// `conftest.py`. Unlike [`is_test_path`] (which decides
/// what `include-tests` leaves out), not `*_test.py`: that also names real modules (scipy's
/// `stats/_page_trend_test.py` defines `page_trend_test`).
pub fn is_test_module(path: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or(path);
    path.split('/').any(|part| matches!(part, "tests" | "test" | "testing"))
        || file.starts_with("test_")
        || matches!(file, "tests.py" | "test.py" | "conftest.py")
}

fn is_test_path(path: &str) -> bool {
    let file = path.rsplit('/').next().unwrap_or(path);
    path.split('/').any(|part| part == "tests" || part == "test")
        || file.starts_with("test_")
        || file.ends_with("_test.py")
        || file == "conftest.py"
}

fn wanted(path: &str, options: &SourceOptions) -> bool {
    (path.ends_with(".py") || is_extension_module(path))
        && (options.include_tests || !is_test_path(path))
        && !options.exclude.as_ref().is_some_and(|exclude| exclude.excludes(path, false))
}

/// A compiled extension module a package ships (`_speedups.cpython-312-x86_64-linux-gnu.so`,
/// `_C.pyd`): listed so that a scan says it did not analyse it. Shared libraries bundled for
/// the modules' own use (`numpy.libs/libopenblas.so`) are not modules.
pub fn is_extension_module(path: &str) -> bool {
    let (dir, file) = path.rsplit_once('/').unwrap_or(("", path));
    let stem = file.split('.').next().unwrap_or("");
    (file.ends_with(".so") || file.ends_with(".pyd"))
        && !stem.is_empty()
        && stem.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !stem.as_bytes()[0].is_ascii_digit()
        && !dir.split('/').any(|part| part.ends_with(".libs") || part.starts_with('.'))
}

/// Extension modules with a Python source of the same module beside them (a pure-Python
/// fallback) hide nothing: they are left out of `files` (sorted by path).
pub(crate) fn drop_extension_modules_with_source(files: &mut Vec<SourceFile>) {
    let sources: std::collections::HashSet<String> =
        files.iter().filter(|f| f.path.ends_with(".py")).map(|f| f.path.clone()).collect();
    files.retain(|f| {
        if !is_extension_module(&f.path) {
            return true;
        }
        let (dir, file) = f.path.rsplit_once('/').map_or(("", f.path.as_str()), |(d, n)| (d, n));
        let stem = file.split('.').next().unwrap_or("");
        let prefix = if dir.is_empty() { String::new() } else { format!("{dir}/") };
        !sources.contains(&format!("{prefix}{stem}.py")) && !sources.contains(&format!("{prefix}{stem}/__init__.py"))
    });
}

/// The wanted files under `dir`, with paths relative to `root` (`dir` itself or a directory
/// above it: a scan of `root` restricted to `dir` gives them the same paths).
fn load_directory(dir: &Path, root: &Path, options: &SourceOptions) -> Vec<SourceFile> {
    let walker = ignore::WalkBuilder::new(dir)
        .hidden(false)
        .git_ignore(true)
        .git_global(false)
        .git_exclude(true)
        .require_git(false)
        .filter_entry({
            let (root, exclude) = (root.to_owned(), options.exclude.clone());
            move |entry| {
                if !entry.file_type().is_some_and(|t| t.is_dir()) {
                    return true;
                }
                let name = entry.file_name().to_str().unwrap_or("");
                // An excluded directory is not listed at all.
                let excluded = || {
                    exclude.as_ref().is_some_and(|exclude| {
                        entry
                            .path()
                            .strip_prefix(&root)
                            .is_ok_and(|relative| exclude.excludes(&slash_separated(relative), true))
                    })
                };
                !SKIPPED_DIRS.contains(&name) && !excluded()
            }
        })
        .threads(rayon::current_num_threads())
        .build_parallel();
    // Listing directories is mostly system calls: walk them on every core.
    let found = std::sync::Mutex::new(Vec::new());
    // A directory holding pyvenv.cfg is a virtualenv, whatever its name: noticed from the
    // listing (asking every directory for the file cost a system call each).
    let virtualenvs = std::sync::Mutex::new(Vec::new());
    #[cfg(target_os = "linux")]
    let root_dir = {
        use rustix::fs::{Mode, OFlags};
        rustix::fs::open(root, OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty()).ok()
    };
    #[cfg(not(target_os = "linux"))]
    let root_dir: Option<()> = None;
    walker.run(|| {
        let (virtualenvs, root_dir) = (&virtualenvs, &root_dir);
        // Each walker collects its own files, handed over when it finishes.
        let mut collected = Collector { files: Vec::new(), into: &found };
        Box::new(move |entry| {
            let Ok(entry) = entry else { return ignore::WalkState::Continue };
            if !entry.file_type().is_some_and(|t| t.is_file()) {
                return ignore::WalkState::Continue;
            }
            let Ok(relative) = entry.path().strip_prefix(root) else { return ignore::WalkState::Continue };
            let path = slash_separated(relative);
            if let Some(environment) = path.strip_suffix("/pyvenv.cfg") {
                if let Ok(mut virtualenvs) = virtualenvs.lock() {
                    virtualenvs.push(format!("{environment}/"));
                }
            } else if wanted(&path, options) {
                // Stated here, while other walkers list directories.
                let stat = stat_in(root_dir.as_ref(), relative, entry.path());
                let full_path = entry.into_path();
                collected.files.push((path, full_path, stat));
            }
            ignore::WalkState::Continue
        })
    });
    let mut found = found.into_inner().unwrap_or_default();
    let virtualenvs = virtualenvs.into_inner().unwrap_or_default();
    found.retain(|(path, _, _)| !virtualenvs.iter().any(|environment| path.starts_with(environment.as_str())));
    // Sorted as these small tuples (moving them is cheaper than moving the files built from
    // them; `load` then finds the files in order).
    found.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    found
        .into_iter()
        .map(|(path, full_path, stat)| match stat {
            _ if is_extension_module(&path) => SourceFile::in_memory(path, Err(FileProblem::ExtensionModule)),
            Ok(stat) if stat.len > options.max_file_size => {
                SourceFile::in_memory(path, Err(FileProblem::TooLarge(stat.len)))
            }
            Ok(stat) => SourceFile { path, contents: Ok(Vec::new()), on_disk: Some(OnDisk { full_path, stat }) },
            Err(problem) => SourceFile::in_memory(path, Err(problem)),
        })
        .collect()
}

type Found = (String, PathBuf, Result<FileStat, FileProblem>);

/// The size and modification time of `relative` in the scanned tree, looked up from the
/// tree's root (from the file system's root, every lookup walked the same dozen parents
/// again, and the walkers contended for them).
#[cfg(target_os = "linux")]
fn stat_in(root: Option<&rustix::fd::OwnedFd>, relative: &Path, full_path: &Path) -> Result<FileStat, FileProblem> {
    use rustix::fs::{AtFlags, StatxFlags};
    if let Some(root) = root {
        match rustix::fs::statx(root, relative, AtFlags::empty(), StatxFlags::SIZE | StatxFlags::MTIME) {
            Ok(stat) => {
                let mtime_ns = i128::from(stat.stx_mtime.tv_sec) * 1_000_000_000 + i128::from(stat.stx_mtime.tv_nsec);
                return Ok(FileStat { len: stat.stx_size, mtime_ns });
            }
            // A kernel without statx: the portable way below.
            Err(rustix::io::Errno::NOSYS) => {}
            Err(err) => return Err(FileProblem::Unreadable(std::io::Error::from(err).to_string())),
        }
    }
    stat_of(full_path)
}

#[cfg(not(target_os = "linux"))]
fn stat_in(_: Option<&()>, _: &Path, full_path: &Path) -> Result<FileStat, FileProblem> {
    stat_of(full_path)
}

fn stat_of(full_path: &Path) -> Result<FileStat, FileProblem> {
    std::fs::metadata(full_path)
        .map_err(|e| FileProblem::Unreadable(e.to_string()))
        .and_then(|m| FileStat::of(&m).ok_or_else(|| FileProblem::Unreadable("no modification time".into())))
}

/// A walker's files, added to the shared list when the walker is done with them.
struct Collector<'a> {
    files: Vec<Found>,
    into: &'a std::sync::Mutex<Vec<Found>>,
}

impl Drop for Collector<'_> {
    fn drop(&mut self) {
        if let Ok(mut all) = self.into.lock() {
            all.append(&mut self.files);
        }
    }
}

/// A relative path as text with `/` separators.
fn slash_separated(relative: &Path) -> String {
    if std::path::MAIN_SEPARATOR == '/' {
        relative.to_string_lossy().into_owned()
    } else {
        relative.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
    }
}

fn read_file(path: &Path, max_size: u64) -> Result<Vec<u8>, FileProblem> {
    let mut bytes = Vec::new();
    read_file_into(path, &mut bytes, None, max_size)?;
    Ok(bytes)
}

/// Reads the file at `path` into `bytes` (emptied first). `listed_size` is its size when its
/// listing just read it (no second `stat`; `read_entry_into` still refuses a file that grew
/// past `max_size` since).
fn read_file_into(
    path: &Path,
    bytes: &mut Vec<u8>,
    listed_size: Option<u64>,
    max_size: u64,
) -> Result<(), FileProblem> {
    let mut file = std::fs::File::open(path).map_err(|e| FileProblem::Unreadable(e.to_string()))?;
    let size = match listed_size {
        Some(size) => size,
        None => file.metadata().map_err(|e| FileProblem::Unreadable(e.to_string()))?.len(),
    };
    bytes.clear();
    read_entry_into(&mut file, bytes, size, max_size)
}

/// Reads what `reader` holds, `size` bytes as announced (by the file system or an archive),
/// refusing more than `max_size`.
fn read_entry(reader: &mut impl Read, size: u64, max_size: u64) -> Result<Vec<u8>, FileProblem> {
    let mut bytes = Vec::new();
    read_entry_into(reader, &mut bytes, size, max_size)?;
    Ok(bytes)
}

/// [`read_entry`], into `bytes` (empty).
fn read_entry_into(reader: &mut impl Read, bytes: &mut Vec<u8>, size: u64, max_size: u64) -> Result<(), FileProblem> {
    if size > max_size {
        return Err(FileProblem::TooLarge(size));
    }
    bytes.reserve(size.min(max_size) as usize);
    // `take` guards against files that grow while we read them, and archive entries that
    // hold more than their header says.
    reader.take(max_size.saturating_add(1)).read_to_end(bytes).map_err(|e| FileProblem::Unreadable(e.to_string()))?;
    if bytes.len() as u64 > max_size {
        return Err(FileProblem::TooLarge(bytes.len() as u64));
    }
    Ok(())
}

/// Dotted module names for relative paths: a directory is part of the name only while it
/// (and every directory below it on the way to the file) holds an `__init__.py`.
pub struct ModuleNamer {
    packages: HashSet<String, rustc_hash::FxBuildHasher>,
}

impl ModuleNamer {
    pub fn new<'a>(paths: impl IntoIterator<Item = &'a str>) -> Self {
        let packages = paths.into_iter().filter_map(|p| p.strip_suffix("/__init__.py")).map(str::to_owned).collect();
        Self { packages }
    }

    /// `("crum", false)` for `src/crum/__init__.py`; the bool says whether it is a package's
    /// `__init__`. (Called for every file of every scan: it slices the path, not allocating
    /// but for the name.)
    pub fn module_name(&self, path: &str) -> (String, bool) {
        let without_ext = path.strip_suffix(".py").unwrap_or(path);
        let (module_path, is_init) = match without_ext.strip_suffix("__init__") {
            Some(dir) if dir.is_empty() || dir.ends_with('/') => (dir.strip_suffix('/').unwrap_or(dir), true),
            _ => (without_ext, false),
        };
        // Keep the file (or package) and the trailing run of package directories above it.
        let mut start = module_path.rfind('/').map_or(0, |i| i + 1);
        while start > 0 {
            let dir = &module_path[..start - 1];
            if !self.packages.contains(dir) {
                break;
            }
            start = dir.rfind('/').map_or(0, |i| i + 1);
        }
        let name = module_path[start..].replace('/', ".");
        (if name.is_empty() { "__init__".to_owned() } else { name }, is_init)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_names_follow_packages() {
        let namer = ModuleNamer::new([
            "src/crum/__init__.py",
            "lms/__init__.py",
            "lms/djangoapps/__init__.py",
            "lms/djangoapps/courseware/__init__.py",
            "lms/djangoapps/courseware/views.py",
            "scripts/tool.py",
        ]);
        assert_eq!(namer.module_name("src/crum/__init__.py"), ("crum".to_owned(), true));
        assert!(is_extension_module("simplejson/_speedups.cpython-312-x86_64-linux-gnu.so"));
        assert!(is_extension_module("pkg/_C.pyd"));
        assert!(!is_extension_module("numpy.libs/libopenblas64_p-r0-0cf96a72.3.23.dev.so"));
        assert!(!is_extension_module("pkg/mod.py"));
        assert_eq!(namer.module_name("lms/djangoapps/courseware/views.py").0, "lms.djangoapps.courseware.views");
        assert_eq!(namer.module_name("scripts/tool.py").0, "tool");
        assert_eq!(namer.module_name("setup.py").0, "setup");
        assert_eq!(namer.module_name("__init__.py"), ("__init__".to_owned(), true));
        assert_eq!(namer.module_name("lms/__init__.py"), ("lms".to_owned(), true));
        assert_eq!(namer.module_name("lms/djangoapps/__init__.py"), ("lms.djangoapps".to_owned(), true));
        assert_eq!(namer.module_name("lms/my__init__.py"), ("lms.my__init__".to_owned(), false));
    }

    /// A GitHub-style archive: a global header naming the commit, one top directory.
    fn github_tarball(sha: &str, members: &[(&str, &str)]) -> Vec<u8> {
        let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()));
        let record = format!("comment={sha}\n");
        let record = format!("{} {record}", record.len() + 3);
        let mut header = tar::Header::new_ustar();
        header.set_entry_type(tar::EntryType::XGlobalHeader);
        header.set_size(record.len() as u64);
        header.set_cksum();
        builder.append_data(&mut header, "pax_global_header", record.as_bytes()).unwrap();
        for (path, text) in members {
            let mut header = tar::Header::new_ustar();
            header.set_size(text.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder.append_data(&mut header, format!("acme-demo-{}/{path}", &sha[..7]), text.as_bytes()).unwrap();
        }
        builder.into_inner().unwrap().finish().unwrap()
    }

    #[test]
    fn tarballs_in_memory_give_sources_extras_and_the_commit() {
        let sha = "0123456789abcdef0123456789abcdef01234567";
        let bytes = github_tarball(
            sha,
            &[
                ("pkg/__init__.py", "X = 1\n"),
                ("pkg/tests/test_x.py", "Y = 2\n"),
                ("requirements/base.txt", "six==1.16.0\n"),
                ("README.md", "# demo\n"),
            ],
        );
        let options = SourceOptions { include_tests: false, ..Default::default() };
        let contents = tarball(&bytes, &options, &["requirements/base.txt"]).unwrap();
        assert_eq!(contents.commit.as_deref(), Some(sha));
        let paths: Vec<&str> = contents.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["pkg/__init__.py"]);
        assert_eq!(contents.extra.get("requirements/base.txt").map(Vec::as_slice), Some(&b"six==1.16.0\n"[..]));
        assert!(!contents.extra.contains_key("README.md"));
    }

    #[test]
    fn broken_tarballs_are_errors() {
        let options = SourceOptions::default();
        assert!(tarball(b"not gzip at all", &options, &[]).is_err());
        let bytes = github_tarball("0123456789abcdef0123456789abcdef01234567", &[("a.py", "X = 1\n")]);
        assert!(tarball(&bytes[..bytes.len() / 2], &options, &[]).is_err(), "a truncated archive");
    }

    #[test]
    fn archive_paths_cannot_escape() {
        assert_eq!(safe_member_path("pkg/mod.py").as_deref(), Some("pkg/mod.py"));
        assert_eq!(safe_member_path("../../etc/passwd"), None);
        assert_eq!(safe_member_path("/etc/passwd"), None);
        assert_eq!(safe_member_path("a/./b.py").as_deref(), Some("a/b.py"));
    }

    #[test]
    fn files_of_a_tree_are_read_when_asked_with_any_limit() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("m.py"), "X = 1\n").unwrap();
        std::fs::write(dir.path().join("big.py"), "Y = 2\n".repeat(10)).unwrap();
        let options = SourceOptions { max_file_size: 20, ..Default::default() };
        let files = load(dir.path(), &options).unwrap();
        assert_eq!(files[0].path, "big.py");
        assert_eq!(files[0].contents, Err(FileProblem::TooLarge(60)), "refused from its size, unread");
        assert!(files[1].contents.as_ref().unwrap().is_empty(), "listed, not read yet");
        // No limit (u64::MAX) once overflowed into reading nothing.
        for limit in [20, u64::MAX] {
            assert_eq!(files[1].bytes(limit).unwrap().as_ref(), b"X = 1\n");
        }
        assert_eq!(files[1].bytes(3), Err(FileProblem::TooLarge(6)), "a file that grew past the limit");
    }

    #[test]
    fn test_files_are_recognised() {
        assert!(is_test_path("pkg/tests/test_x.py"));
        assert!(is_test_path("pkg/test_x.py"));
        assert!(is_test_path("conftest.py"));
        assert!(!is_test_path("pkg/testing_utils.py"));
        assert!(is_test_module("pkg/tests/helpers.py") && is_test_module("pkg/test_x.py"));
        assert!(is_test_module("djpyfs/tests.py") && !is_test_module("pkg/testing_utils.py"));
        assert!(is_test_module("numpy/testing/_private/utils.py"));
        assert!(is_test_module("enterprise/settings/test.py"));
        assert!(is_test_path("scipy/stats/_page_trend_test.py") && !is_test_module("scipy/stats/_page_trend_test.py"));
    }

    #[test]
    fn extension_modules_without_a_python_source_are_listed_as_not_analysed() {
        let dir = tempfile::tempdir().unwrap();
        let pkg = dir.path().join("pkg");
        std::fs::create_dir_all(pkg.join("vendor.libs")).unwrap();
        for (name, bytes) in [
            ("__init__.py", &b""[..]),
            ("_speedups.cpython-312-x86_64-linux-gnu.so", b"\x7fELF"),
            ("_fallback.cpython-312-x86_64-linux-gnu.so", b"\x7fELF"),
            ("_fallback.py", b"x = 1\n"),
            ("vendor.libs/libblas.so", b"\x7fELF"),
        ] {
            std::fs::write(pkg.join(name), bytes).unwrap();
        }
        let files = load(dir.path(), &SourceOptions::default()).unwrap();
        let listed: Vec<(&str, bool)> =
            files.iter().map(|f| (f.path.as_str(), f.contents == Err(FileProblem::ExtensionModule))).collect();
        assert_eq!(
            listed,
            [
                ("pkg/__init__.py", false),
                ("pkg/_fallback.py", false),
                ("pkg/_speedups.cpython-312-x86_64-linux-gnu.so", true),
            ]
        );
    }
}
