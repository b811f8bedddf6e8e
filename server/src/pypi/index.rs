//! Downloads pinned distributions from a Python package index.
//!
//! The index is read through the JSON form of the Simple Repository API (PEP 691), which
//! PyPI serves at `https://pypi.org/simple/<name>/` and which private indexes (devpi,
//! Artifactory, Nexus, ...) serve too. For a pin `name==version` Unthread prefers a pure
//! wheel (`py3-none-any`: exactly the files pip installs), else the sdist. Every download is
//! checked against the sha256 the index publishes and, when the requirements file was
//! compiled with `--generate-hashes`, against one of its hashes; a verified file is cached
//! under the data directory by its file name and re-verified on reuse.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    str::FromStr,
    time::Duration,
};

use backon::{ExponentialBuilder, Retryable};
use pep508_rs::pep440_rs::Version;
use reqwest::{StatusCode, Url};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::pypi::requirements::normalise;

pub const PYPI_SIMPLE: &str = "https://pypi.org/simple/";

/// The largest distribution Unthread downloads: bigger files are refused, not truncated.
pub const MAX_DISTRIBUTION_BYTES: u64 = 200 * 1024 * 1024;

const SIMPLE_JSON: &str = "application/vnd.pypi.simple.v1+json";

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("{name} is not on the package index")]
    NotFound { name: String },
    #[error("the index has no wheel or sdist of {name} {version}")]
    NoDistribution { name: String, version: String },
    #[error("{url}: HTTP {status}")]
    Status { url: String, status: StatusCode },
    #[error("{url}: {source}")]
    Transport { url: String, source: reqwest::Error },
    #[error("{url}: not a PEP 691 project page: {detail}")]
    BadPage { url: String, detail: String },
    #[error("{file}: sha256 {actual} does not match {expected}")]
    Checksum { file: String, expected: String, actual: String },
    #[error("{file}: larger than {MAX_DISTRIBUTION_BYTES} bytes")]
    TooLarge { file: String },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

impl IndexError {
    /// Worth another try: the network or the index hiccupped.
    pub fn is_transient(&self) -> bool {
        match self {
            IndexError::Transport { .. } => true,
            IndexError::Status { status, .. } => status.is_server_error() || *status == StatusCode::TOO_MANY_REQUESTS,
            _ => false,
        }
    }
}

/// One file of a project page.
#[derive(Clone, Debug, Deserialize)]
pub struct IndexFile {
    pub filename: String,
    pub url: String,
    #[serde(default)]
    pub hashes: BTreeMap<String, String>,
    #[serde(default, rename = "requires-python")]
    pub requires_python: Option<String>,
    /// `true`, or the reason it was yanked (PEP 592).
    #[serde(default)]
    pub yanked: Option<serde_json::Value>,
}

impl IndexFile {
    fn is_yanked(&self) -> bool {
        match &self.yanked {
            Some(serde_json::Value::Bool(yanked)) => *yanked,
            Some(serde_json::Value::String(_)) => true,
            _ => false,
        }
    }
}

#[derive(Debug, Deserialize)]
struct ProjectPage {
    files: Vec<IndexFile>,
    /// PEP 700 (API 1.1): every version, including those without files.
    #[serde(default)]
    versions: Vec<String>,
}

/// One release a project page lists, with what its files say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Release {
    pub version: String,
    /// The files' `requires-python`, when they give one.
    pub requires_python: Option<String>,
}

impl ProjectPage {
    /// The final (not pre-, dev- or post-only-yanked) releases with a scannable file, oldest
    /// first. A release all of whose files are yanked is left out.
    fn releases(&self, name: &str) -> Vec<(Version, Release)> {
        let mut versions: Vec<Version> = self.versions.iter().filter_map(|v| Version::from_str(v).ok()).collect();
        if versions.is_empty() {
            versions = self.files.iter().filter_map(|f| file_version(&f.filename)).collect();
        }
        versions.sort();
        versions.dedup();
        versions
            .into_iter()
            .filter(|v| !v.any_prerelease())
            .filter_map(|v| {
                let files: Vec<&IndexFile> =
                    self.files.iter().filter(|f| classify(&f.filename, name, &v).is_some() && !f.is_yanked()).collect();
                let first = files.first()?;
                let release = Release { version: v.to_string(), requires_python: first.requires_python.clone() };
                Some((v, release))
            })
            .collect()
    }
}

/// The version in a distribution's file name (`pkg-1.2.tar.gz`, `pkg-1.2-py3-none-any.whl`).
fn file_version(filename: &str) -> Option<Version> {
    if let Some(stem) = filename.strip_suffix(".whl") {
        return stem.split('-').nth(1).and_then(|v| Version::from_str(v).ok());
    }
    let stem = filename.strip_suffix(".tar.gz").or_else(|| filename.strip_suffix(".zip"))?;
    stem.rsplit_once('-').and_then(|(_, v)| Version::from_str(v).ok())
}

/// What kind of distribution a file is, best first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum DistributionKind {
    PureWheel,
    SdistTarGz,
    SdistZip,
}

/// The kind of `filename` when it is a distribution of `name` at `version`.
pub fn classify(filename: &str, name: &str, version: &Version) -> Option<DistributionKind> {
    let matches = |dist: &str, dist_version: &str| {
        normalise(dist) == name && Version::from_str(dist_version).is_ok_and(|v| v == *version)
    };
    if let Some(stem) = filename.strip_suffix(".whl") {
        // {distribution}-{version}(-{build})?-{python}-{abi}-{platform}.whl
        let parts: Vec<&str> = stem.split('-').collect();
        if !(5..=6).contains(&parts.len()) || !matches(parts[0], parts[1]) {
            return None;
        }
        let (python, abi, platform) = (parts[parts.len() - 3], parts[parts.len() - 2], parts[parts.len() - 1]);
        let pure = abi == "none" && platform == "any" && python.split('.').any(|tag| tag.starts_with("py3"));
        return pure.then_some(DistributionKind::PureWheel);
    }
    let (stem, kind) = if let Some(stem) = filename.strip_suffix(".tar.gz") {
        (stem, DistributionKind::SdistTarGz)
    } else if let Some(stem) = filename.strip_suffix(".zip") {
        (stem, DistributionKind::SdistZip)
    } else {
        return None;
    };
    // Old sdists keep dashes in the name (`django-crum-0.7.9.tar.gz`): the version is last.
    let (dist, dist_version) = stem.rsplit_once('-')?;
    matches(dist, dist_version).then_some(kind)
}

/// The file to scan for `name==version`: a pure wheel, else an sdist; only files with a
/// published sha256.
pub fn choose<'a>(files: &'a [IndexFile], name: &str, version: &Version) -> Option<&'a IndexFile> {
    files
        .iter()
        .filter(|f| f.hashes.contains_key("sha256"))
        .filter_map(|f| classify(&f.filename, name, version).map(|kind| (kind, f)))
        .min_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.filename.cmp(&b.1.filename)))
        .map(|(_, f)| f)
}

#[derive(Clone, Debug)]
pub struct PackageIndex {
    client: reqwest::Client,
    simple_url: Url,
    cache_dir: PathBuf,
    retries: usize,
}

impl PackageIndex {
    /// `simple_url` is the index's Simple API root (`https://pypi.org/simple/`); verified
    /// downloads are kept in `cache_dir`.
    pub fn new(simple_url: &str, cache_dir: &Path) -> anyhow::Result<Self> {
        let mut simple_url = Url::parse(simple_url).map_err(|e| anyhow::anyhow!("bad index URL {simple_url}: {e}"))?;
        if !simple_url.path().ends_with('/') {
            simple_url.set_path(&format!("{}/", simple_url.path()));
        }
        let client = reqwest::Client::builder()
            .user_agent(concat!("unthread/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(15))
            .timeout(Duration::from_secs(300))
            .build()?;
        Ok(Self { client, simple_url, cache_dir: cache_dir.to_owned(), retries: 4 })
    }

    /// How many times a transient failure is retried (with exponential backoff).
    pub fn with_retries(mut self, retries: usize) -> Self {
        self.retries = retries;
        self
    }

    fn backoff(&self) -> ExponentialBuilder {
        ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(200))
            .with_max_delay(Duration::from_secs(10))
            .with_jitter()
            .with_max_times(self.retries)
    }

    /// The verified distribution of `name==version` in the cache, downloading it if needed.
    /// `allowed_sha256` (from `--generate-hashes`) restricts which files are acceptable.
    pub async fn fetch(&self, name: &str, version: &str, allowed_sha256: &[String]) -> Result<PathBuf, IndexError> {
        let no_distribution = || IndexError::NoDistribution { name: name.to_owned(), version: version.to_owned() };
        let parsed_version = Version::from_str(version).map_err(|_| no_distribution())?;
        let (page_url, page) = self.project_page(name).await?;
        let file = choose(&page.files, name, &parsed_version).ok_or_else(no_distribution)?;
        let expected = file.hashes["sha256"].to_ascii_lowercase();
        if !allowed_sha256.is_empty() && !allowed_sha256.contains(&expected) {
            return Err(IndexError::Checksum {
                file: file.filename.clone(),
                expected: allowed_sha256.join(" or "),
                actual: expected,
            });
        }
        // The file name becomes a path: refuse anything that could leave the cache directory.
        if file.filename.contains(['/', '\\']) || file.filename.starts_with('.') {
            return Err(IndexError::BadPage {
                url: page_url.to_string(),
                detail: format!("bad file name {:?}", file.filename),
            });
        }
        let path = self.cache_dir.join(&file.filename);
        if sha256_of_file(&path).await.is_some_and(|actual| actual == expected) {
            return Ok(path);
        }
        let url = page_url
            .join(&file.url)
            .map_err(|e| IndexError::BadPage { url: page_url.to_string(), detail: e.to_string() })?;
        (|| self.download(&url, &path, &file.filename, &expected))
            .retry(self.backoff())
            .when(IndexError::is_transient)
            .notify(|e, after| tracing::warn!("{e}; retrying in {after:.1?}"))
            .await?;
        Ok(path)
    }

    /// The final releases of `name` the index has a scannable file of, oldest first.
    pub async fn releases(&self, name: &str) -> Result<Vec<Release>, IndexError> {
        let (_, page) = self.project_page(name).await?;
        Ok(page.releases(&normalise(name)).into_iter().map(|(_, release)| release).collect())
    }

    async fn project_page(&self, name: &str) -> Result<(Url, ProjectPage), IndexError> {
        let url = self
            .simple_url
            .join(&format!("{}/", normalise(name)))
            .map_err(|e| IndexError::BadPage { url: self.simple_url.to_string(), detail: e.to_string() })?;
        let fetch = || async {
            let response = self
                .client
                .get(url.clone())
                .header(reqwest::header::ACCEPT, SIMPLE_JSON)
                .send()
                .await
                .map_err(|source| IndexError::Transport { url: url.to_string(), source })?;
            match response.status() {
                StatusCode::NOT_FOUND => return Err(IndexError::NotFound { name: name.to_owned() }),
                status if !status.is_success() => return Err(IndexError::Status { url: url.to_string(), status }),
                _ => {}
            }
            let body =
                response.bytes().await.map_err(|source| IndexError::Transport { url: url.to_string(), source })?;
            serde_json::from_slice::<ProjectPage>(&body)
                .map_err(|e| IndexError::BadPage { url: url.to_string(), detail: e.to_string() })
        };
        let page = fetch
            .retry(self.backoff())
            .when(IndexError::is_transient)
            .notify(|e, after| tracing::warn!("{e}; retrying in {after:.1?}"))
            .await?;
        Ok((url, page))
    }

    /// Streams `url` into `<path>.part` while hashing it, then renames it into place.
    async fn download(&self, url: &Url, path: &Path, filename: &str, expected: &str) -> Result<(), IndexError> {
        let io = |source| IndexError::Io { path: path.to_owned(), source };
        let transport = |source| IndexError::Transport { url: url.to_string(), source };
        let mut response = self.client.get(url.clone()).send().await.map_err(transport)?;
        if !response.status().is_success() {
            return Err(IndexError::Status { url: url.to_string(), status: response.status() });
        }
        if response.content_length().is_some_and(|n| n > MAX_DISTRIBUTION_BYTES) {
            return Err(IndexError::TooLarge { file: filename.to_owned() });
        }
        tokio::fs::create_dir_all(&self.cache_dir).await.map_err(io)?;
        let partial = path.with_file_name(format!(".{filename}.part"));
        let mut out = tokio::fs::File::create(&partial).await.map_err(io)?;
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        let outcome = async {
            while let Some(chunk) = response.chunk().await.map_err(transport)? {
                size += chunk.len() as u64;
                if size > MAX_DISTRIBUTION_BYTES {
                    return Err(IndexError::TooLarge { file: filename.to_owned() });
                }
                hasher.update(&chunk);
                out.write_all(&chunk).await.map_err(io)?;
            }
            out.flush().await.map_err(io)?;
            let actual = hex(&hasher.finalize());
            if actual != expected {
                return Err(IndexError::Checksum { file: filename.to_owned(), expected: expected.to_owned(), actual });
            }
            tokio::fs::rename(&partial, path).await.map_err(io)
        }
        .await;
        if outcome.is_err() {
            let _ = tokio::fs::remove_file(&partial).await;
        }
        outcome
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The sha256 of a cached file, `None` when it is missing or unreadable.
async fn sha256_of_file(path: &Path) -> Option<String> {
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut file = std::fs::File::open(path).ok()?;
        let mut hasher = Sha256::new();
        std::io::copy(&mut file, &mut hasher).ok()?;
        Some(hex(&hasher.finalize()))
    })
    .await
    .ok()
    .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(filename: &str) -> IndexFile {
        IndexFile {
            filename: filename.to_owned(),
            url: format!("../../files/{filename}"),
            hashes: [("sha256".to_owned(), "00".repeat(32))].into(),
            requires_python: None,
            yanked: None,
        }
    }

    #[test]
    fn releases_are_final_unyanked_and_scannable() {
        let mut yanked = file("pkg-1.2.0.tar.gz");
        yanked.yanked = Some(serde_json::json!("broken"));
        let mut newest = file("pkg-1.3.0-py3-none-any.whl");
        newest.requires_python = Some(">=3.10".into());
        let page = ProjectPage {
            files: vec![
                file("pkg-1.0.0.tar.gz"),
                yanked,
                file("pkg-2.0.0rc1.tar.gz"),
                newest,
                file("pkg-1.4.0-cp312-cp312-manylinux.whl"),
            ],
            versions: vec![],
        };
        let releases: Vec<Release> = page.releases("pkg").into_iter().map(|(_, r)| r).collect();
        assert_eq!(
            releases,
            [
                Release { version: "1.0.0".into(), requires_python: None },
                Release { version: "1.3.0".into(), requires_python: Some(">=3.10".into()) },
            ]
        );
    }

    #[test]
    fn distribution_file_names() {
        let v = Version::from_str("0.7.9").unwrap();
        assert_eq!(
            classify("django_crum-0.7.9-py2.py3-none-any.whl", "django-crum", &v),
            Some(DistributionKind::PureWheel)
        );
        assert_eq!(classify("django-crum-0.7.9.tar.gz", "django-crum", &v), Some(DistributionKind::SdistTarGz));
        assert_eq!(classify("django_crum-0.7.9.zip", "django-crum", &v), Some(DistributionKind::SdistZip));
        assert_eq!(classify("django_crum-0.7.90.tar.gz", "django-crum", &v), None);
        assert_eq!(classify("django_crum_extra-0.7.9.tar.gz", "django-crum", &v), None);
        // Platform wheels hold compiled code and may lack the pure-Python sources.
        assert_eq!(classify("lxml-0.7.9-cp312-cp312-manylinux_2_17_x86_64.whl", "lxml", &v), None);
        assert_eq!(classify("six-0.7.9-py2-none-any.whl", "six", &v), None);
        // A build tag and a version spelled differently (0.7.9.0 == 0.7.9) still match.
        assert_eq!(classify("six-0.7.9.0-1-py3-none-any.whl", "six", &v), Some(DistributionKind::PureWheel));
    }

    #[test]
    fn prefers_a_pure_wheel_then_an_sdist_and_needs_a_hash() {
        let v = Version::from_str("1.0").unwrap();
        let files = [file("pkg-1.0.tar.gz"), file("pkg-1.0-py3-none-any.whl"), file("pkg-1.0-cp39-cp39-win32.whl")];
        assert_eq!(choose(&files, "pkg", &v).unwrap().filename, "pkg-1.0-py3-none-any.whl");
        assert_eq!(choose(&files[..1], "pkg", &v).unwrap().filename, "pkg-1.0.tar.gz");
        let mut unhashed = file("pkg-1.0.tar.gz");
        unhashed.hashes.clear();
        assert!(choose(&[unhashed], "pkg", &v).is_none());
        assert!(choose(&files, "pkg", &Version::from_str("2.0").unwrap()).is_none());
    }
}
