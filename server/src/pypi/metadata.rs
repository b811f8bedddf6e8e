//! A distribution's core metadata (`METADATA` in a wheel's `.dist-info`, `PKG-INFO` in an
//! sdist): its `Requires-Python`, direct requirements and project URLs — shown with upgrade
//! advice, never used to claim compatibility.

use std::{io::Read, path::Path};

/// What the advice shows of a release.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CoreMetadata {
    pub requires_python: Option<String>,
    /// `Requires-Dist` lines as written (markers included).
    pub requires_dist: Vec<String>,
    /// `Project-URL` (`label, url`) and `Home-page`.
    pub urls: Vec<(String, String)>,
}

impl CoreMetadata {
    /// The first GitHub repository its URLs name, preferring Source/Repository/Code labels:
    /// `https://github.com/owner/repo`.
    pub fn github_repository(&self) -> Option<String> {
        let rank = |label: &str| match label.to_ascii_lowercase().as_str() {
            "source" | "source code" | "repository" | "code" => 0,
            "homepage" | "home" | "home-page" => 1,
            _ => 2,
        };
        let mut urls: Vec<&(String, String)> = self.urls.iter().collect();
        urls.sort_by_key(|(label, _)| rank(label));
        urls.into_iter().find_map(|(_, url)| github_repository(url))
    }
}

/// `https://github.com/owner/repo` of a URL into a GitHub repository (`.git`, paths and
/// fragments dropped); `None` for anything else.
pub fn github_repository(url: &str) -> Option<String> {
    let rest =
        url.trim().strip_prefix("https://github.com/").or_else(|| url.trim().strip_prefix("http://github.com/"))?;
    let mut parts = rest.split(['/', '#', '?']).filter(|p| !p.is_empty());
    let owner = parts.next()?;
    let repo = parts.next()?.trim_end_matches(".git");
    let valid = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    (valid(owner) && valid(repo)).then(|| format!("https://github.com/{owner}/{repo}"))
}

/// Parses the RFC 822-style header block of a metadata file (the body after the first blank
/// line is the description, ignored).
pub fn parse(text: &str) -> CoreMetadata {
    let mut metadata = CoreMetadata::default();
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = fields.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
            continue;
        }
        if let Some((key, value)) = line.split_once(':') {
            fields.push((key.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    for (key, value) in fields {
        match key.as_str() {
            "requires-python" => metadata.requires_python = Some(value),
            "requires-dist" => metadata.requires_dist.push(value),
            "project-url" => {
                if let Some((label, url)) = value.split_once(',') {
                    metadata.urls.push((label.trim().to_owned(), url.trim().to_owned()));
                }
            }
            "home-page" => metadata.urls.push(("Home-page".to_owned(), value)),
            _ => {}
        }
    }
    metadata
}

/// The metadata of the wheel or sdist at `path` (`None` when it has none readable).
pub fn read(path: &Path) -> Option<CoreMetadata> {
    let name = path.file_name()?.to_str()?;
    let text = if name.ends_with(".whl") || name.ends_with(".zip") {
        let mut zip = zip::ZipArchive::new(std::fs::File::open(path).ok()?).ok()?;
        let entry = (0..zip.len()).find(|&i| {
            zip.by_index(i).is_ok_and(|f| {
                let n = f.name();
                (n.ends_with(".dist-info/METADATA") && n.matches('/').count() == 1) || n.ends_with("/PKG-INFO")
            })
        })?;
        let mut text = String::new();
        zip.by_index(entry).ok()?.take(1 << 20).read_to_string(&mut text).ok()?;
        text
    } else {
        let file = std::fs::File::open(path).ok()?;
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
        let mut found = None;
        for entry in archive.entries().ok()? {
            let mut entry = entry.ok()?;
            let path = entry.path().ok()?.to_string_lossy().into_owned();
            // The sdist's own PKG-INFO, at `<name>-<version>/PKG-INFO`.
            if path.ends_with("/PKG-INFO") && path.matches('/').count() == 1 {
                let mut text = String::new();
                (&mut entry).take(1 << 20).read_to_string(&mut text).ok()?;
                found = Some(text);
                break;
            }
        }
        found?
    };
    Some(parse(&text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_header_fields() {
        let text = "Metadata-Version: 2.1\nName: django-crum\nRequires-Python: >=3.8\nRequires-Dist: Django>=4.2\nRequires-Dist: pytest ; extra == \"test\"\nProject-URL: Documentation, https://django-crum.readthedocs.io/\nProject-URL: Source, https://github.com/ninemoreminutes/django-crum.git\nDescription: long\n  continued\n\nRequires-Dist: not-a-header-here\n";
        let m = parse(text);
        assert_eq!(m.requires_python.as_deref(), Some(">=3.8"));
        assert_eq!(m.requires_dist, ["Django>=4.2", "pytest ; extra == \"test\""]);
        assert_eq!(m.github_repository().as_deref(), Some("https://github.com/ninemoreminutes/django-crum"));
    }

    #[test]
    fn only_github_repositories_count() {
        assert_eq!(
            github_repository("https://github.com/openedx/edx-django-utils/tree/master").as_deref(),
            Some("https://github.com/openedx/edx-django-utils")
        );
        assert_eq!(github_repository("https://gitlab.com/a/b"), None);
        assert_eq!(github_repository("https://github.com/openedx"), None);
        assert_eq!(github_repository("https://github.com/a/b c"), None);
    }
}
