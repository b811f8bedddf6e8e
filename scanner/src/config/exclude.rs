//! `exclude` / `extend-exclude`: gitignore-style patterns, relative to the directory of the
//! configuration file that gave them (or to the working directory, from the command line).

use std::path::{Path, PathBuf};

use ignore::gitignore::{Gitignore, GitignoreBuilder};

/// Patterns of one layer (a configuration file or the command line) with where they are
/// anchored.
#[derive(Clone, Debug)]
pub struct Patterns {
    pub base_dir: PathBuf,
    pub patterns: Vec<String>,
    /// Where they were given, for errors: a file, or a command-line option.
    pub origin: String,
}

/// The compiled exclusions of a scan, matched against paths relative to the scan root.
#[derive(Debug)]
pub struct Exclude {
    /// Each layer's matcher, with the scan root's path relative to the layer's base
    /// (`""` when the scan root is not under it: the patterns then apply from the root).
    layers: Vec<(Gitignore, PathBuf)>,
}

impl Exclude {
    /// Compiles `layers` for a scan of `scan_root`. A pattern gitignore cannot read is an
    /// error naming it and where it was given.
    pub fn new(layers: &[Patterns], scan_root: &Path) -> Result<Option<Self>, super::ConfigError> {
        let root = absolute(scan_root);
        let mut compiled = Vec::new();
        for layer in layers.iter().filter(|l| !l.patterns.is_empty()) {
            let error = |message: String| super::ConfigError { origin: layer.origin.clone(), message };
            let mut builder = GitignoreBuilder::new(".");
            for pattern in &layer.patterns {
                builder.add_line(None, pattern).map_err(|err| error(format!("pattern `{pattern}`: {err}")))?;
            }
            let matcher = builder.build().map_err(|err| error(format!("patterns: {err}")))?;
            let prefix = root.strip_prefix(absolute(&layer.base_dir)).map(Path::to_path_buf).unwrap_or_default();
            compiled.push((matcher, prefix));
        }
        Ok((!compiled.is_empty()).then_some(Exclude { layers: compiled }))
    }

    /// True when `relative` (to the scan root, `/`-separated) or a directory holding it is
    /// excluded.
    pub fn excludes(&self, relative: &str, is_dir: bool) -> bool {
        if relative.is_empty() {
            return false;
        }
        self.layers
            .iter()
            .any(|(matcher, prefix)| matcher.matched_path_or_any_parents(prefix.join(relative), is_dir).is_ignore())
    }
}

/// `path` made absolute and, when it exists, free of `..` and symlinks, so that a scan root
/// and a configuration directory compare.
pub(crate) fn absolute(path: &Path) -> PathBuf {
    path.canonicalize().or_else(|_| std::path::absolute(path)).unwrap_or_else(|_| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exclude(base: &Path, patterns: &[&str], root: &Path) -> Exclude {
        let layer = Patterns {
            base_dir: base.to_owned(),
            patterns: patterns.iter().map(|p| (*p).to_owned()).collect(),
            origin: "test".into(),
        };
        Exclude::new(&[layer], root).unwrap().unwrap()
    }

    #[test]
    fn patterns_are_anchored_at_their_base() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("pkg/legacy")).unwrap();
        let from_top = exclude(dir.path(), &["pkg/legacy/", "build", "*_pb2.py"], &dir.path().join("pkg"));
        assert!(from_top.excludes("legacy/old.py", false), "anchored pattern, scan root below the config");
        assert!(from_top.excludes("legacy", true));
        assert!(from_top.excludes("sub/build/x.py", false), "an unanchored name matches at any depth");
        assert!(from_top.excludes("api/service_pb2.py", false));
        assert!(!from_top.excludes("core.py", false));
        assert!(!from_top.excludes("other/legacy/x.py", false), "anchored to the config's directory");
    }

    #[test]
    fn bad_patterns_are_errors() {
        let layer = Patterns { base_dir: ".".into(), patterns: vec!["a/{b".into()], origin: "unthread.toml".into() };
        let err = Exclude::new(&[layer], Path::new(".")).unwrap_err().to_string();
        assert!(err.starts_with("unthread.toml: ") && err.contains("a/{b"), "{err}");
    }
}
