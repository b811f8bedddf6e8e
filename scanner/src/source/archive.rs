//! Archives read in memory: wheels (zip), sdists and repository tarballs (`.tar.gz`).
//!
//! Their contents are untrusted — anyone who can push to a tracked repository or publish a
//! pinned release writes them — so reading one is bounded in every dimension that costs
//! memory or time ([`ArchiveLimits`]), member names are reduced to plain relative paths, and
//! a tarball must end with its end-of-archive marker: a stream cut at a member boundary looks
//! like a smaller tree, and taking it as the whole tree would mark the missing files' findings
//! fixed.

use std::{io::Read, path::Path};

use super::{read_entry, wanted, SourceError, SourceFile, SourceOptions};

/// How much of an archive is read before it is refused. Each limit is a clear error naming
/// it; nothing read is returned when one is passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArchiveLimits {
    /// Bytes of the uncompressed stream (every member and header): bounds the time a
    /// compression bomb costs.
    pub max_unpacked_bytes: u64,
    /// Members of any kind.
    pub max_members: u64,
    /// Bytes of members kept in memory (the sources scanned, the files asked for): bounds
    /// the memory. One member is bounded by `SourceOptions::max_file_size` as well.
    pub max_kept_bytes: u64,
    /// Bytes of one member's metadata: a GNU long name or link, a pax header.
    pub max_header_bytes: u64,
}

impl Default for ArchiveLimits {
    fn default() -> Self {
        Self {
            max_unpacked_bytes: 2 * 1024 * 1024 * 1024,
            max_members: 500_000,
            max_kept_bytes: 128 * 1024 * 1024,
            max_header_bytes: 64 * 1024,
        }
    }
}

/// Why an archive was not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArchiveError {
    #[error(
        "the archive ends without its end-of-archive marker: it was cut short, so what it holds cannot be taken as the whole tree"
    )]
    CutShort,
    #[error("the archive unpacks to more than {limit} bytes (the limit on its uncompressed size)")]
    TooLargeUnpacked { limit: u64 },
    #[error("the archive has more than {limit} members (the limit on members)")]
    TooManyMembers { limit: u64 },
    #[error("the archive's sources hold more than {limit} bytes (the limit on what is kept in memory)")]
    TooMuchKept { limit: u64 },
    #[error("a member's {what} is {size} bytes, over the limit of {limit} bytes on header metadata")]
    HeaderTooLarge { what: &'static str, size: u64, limit: u64 },
    #[error("a pax header sets a member's size (members over 8 GiB are not read)")]
    PaxSize,
    #[error("{0}")]
    Malformed(String),
}

/// What a `.tar.gz` held: its Python sources, the other members asked for by path, and the
/// commit named in its global header (GitHub's archives say which commit they are).
#[derive(Debug, Default)]
pub struct TarballContents {
    pub files: Vec<SourceFile>,
    /// The asked-for members that were there (path → bytes), each within the file limit.
    pub extra: std::collections::BTreeMap<String, Vec<u8>>,
    pub commit: Option<String>,
    /// When the commit was made, in seconds since 1970, for an archive that names its commit:
    /// `git archive` stamps every member with the commit's time.
    pub committed_at: Option<u64>,
    /// The project's metadata at the archive's root names Django or asgiref
    /// ([`super::depends_on_asgiref`] for a directory).
    pub asgiref_available: bool,
}

/// Reads a `.tar.gz` held in memory (a repository archive downloaded from GitHub, an sdist):
/// paths are relative to its one top directory, as for [`super::load`]. `extra` names
/// non-Python members to keep as well (a requirements file), by that relative path.
pub fn tarball(bytes: &[u8], options: &SourceOptions, extra: &[&str]) -> Result<TarballContents, ArchiveError> {
    let mut contents = read_tar_gz(bytes, options, extra)?;
    contents.files.sort_by(|a, b| a.path.cmp(&b.path));
    contents.files.dedup_by(|a, b| a.path == b.path);
    super::drop_extension_modules_with_source(&mut contents.files);
    Ok(contents)
}

pub(super) fn load_tar_gz(path: &Path, options: &SourceOptions) -> Result<Vec<SourceFile>, SourceError> {
    let file = std::fs::File::open(path).map_err(|source| SourceError::Io { path: path.to_owned(), source })?;
    read_tar_gz(std::io::BufReader::new(file), options, &[])
        .map(|archive| archive.files)
        .map_err(|e| SourceError::Archive { path: path.to_owned(), detail: e.to_string() })
}

pub(super) fn load_zip(path: &Path, options: &SourceOptions) -> Result<Vec<SourceFile>, SourceError> {
    let error = |detail: String| SourceError::Archive { path: path.to_owned(), detail };
    let file = std::fs::File::open(path).map_err(|source| SourceError::Io { path: path.to_owned(), source })?;
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(|e| error(e.to_string()))?;
    let limits = options.archive;
    if zip.len() as u64 > limits.max_members {
        return Err(error(ArchiveError::TooManyMembers { limit: limits.max_members }.to_string()));
    }
    let mut files = Vec::new();
    let mut kept = Budget::new(limits.max_kept_bytes, ArchiveError::TooMuchKept { limit: limits.max_kept_bytes });
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(|e| error(e.to_string()))?;
        if !entry.is_file() {
            continue;
        }
        let Some(member) = safe_member_path(entry.name()) else { continue };
        if !wanted(&member, options) {
            continue;
        }
        if super::is_extension_module(&member) {
            files.push(SourceFile::in_memory(member, Err(crate::finding::FileProblem::ExtensionModule)));
            continue;
        }
        let size = entry.size();
        let contents = read_entry(&mut entry, size, options.max_file_size);
        if let Ok(bytes) = &contents {
            kept.spend(bytes.len() as u64).map_err(|e| error(e.to_string()))?;
        }
        files.push(SourceFile::in_memory(member, contents));
    }
    Ok(files)
}

/// Archive member names are untrusted: keep only plain relative paths.
pub(super) fn safe_member_path(name: &str) -> Option<String> {
    let parts: Vec<&str> = name.split(['/', '\\']).filter(|p| !p.is_empty() && *p != ".").collect();
    if parts.is_empty() || parts.contains(&"..") || name.starts_with('/') {
        return None;
    }
    Some(parts.join("/"))
}

/// A running total that refuses to pass its limit.
struct Budget {
    spent: u64,
    limit: u64,
    error: ArchiveError,
}

impl Budget {
    fn new(limit: u64, error: ArchiveError) -> Self {
        Self { spent: 0, limit, error }
    }

    fn spend(&mut self, amount: u64) -> Result<(), ArchiveError> {
        self.spent = self.spent.saturating_add(amount);
        if self.spent > self.limit {
            return Err(self.error.clone());
        }
        Ok(())
    }
}

/// The uncompressed stream, counted: refuses to give more than its limit, and remembers
/// whether it ran dry (a tarball read to its end-of-archive marker never does).
struct Unpacked<R> {
    inner: R,
    read: u64,
    limit: u64,
    over_limit: bool,
    ran_dry: bool,
}

impl<R: Read> Read for Unpacked<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.read >= self.limit {
            self.over_limit = true;
            return Err(std::io::Error::other("the archive's uncompressed size limit was reached"));
        }
        let room = (self.limit - self.read).min(buf.len() as u64) as usize;
        let n = self.inner.read(&mut buf[..room])?;
        if n == 0 && room > 0 {
            self.ran_dry = true;
        }
        self.read += n as u64;
        Ok(n)
    }
}

/// Reads a member's metadata (a long name, a pax header) within the header limit.
fn read_metadata(entry: &mut impl Read, size: u64, what: &'static str, limit: u64) -> Result<Vec<u8>, ArchiveError> {
    if size > limit {
        return Err(ArchiveError::HeaderTooLarge { what, size, limit });
    }
    let mut bytes = Vec::with_capacity(size as usize);
    entry.take(limit).read_to_end(&mut bytes).map_err(|e| ArchiveError::Malformed(e.to_string()))?;
    Ok(bytes)
}

/// A pax header's records that matter here: the member's path, the archive's commit.
#[derive(Default)]
struct Pax {
    path: Option<String>,
    comment: Option<String>,
}

fn read_pax(bytes: &[u8]) -> Result<Pax, ArchiveError> {
    let mut pax = Pax::default();
    for extension in tar::PaxExtensions::new(bytes) {
        let extension = extension.map_err(|e| ArchiveError::Malformed(format!("a pax header is malformed: {e}")))?;
        match extension.key() {
            Ok("path") => pax.path = Some(String::from_utf8_lossy(extension.value_bytes()).into_owned()),
            Ok("comment") => pax.comment = Some(String::from_utf8_lossy(extension.value_bytes()).into_owned()),
            // The tar crate's raw entries do not apply a size record, so the members after
            // it would be read at the wrong offsets: refuse it rather than misread.
            Ok("size") => return Err(ArchiveError::PaxSize),
            _ => {}
        }
    }
    Ok(pax)
}

fn read_tar_gz(reader: impl Read, options: &SourceOptions, extra: &[&str]) -> Result<TarballContents, ArchiveError> {
    let limits = options.archive;
    let mut stream = Unpacked {
        inner: flate2::read::GzDecoder::new(reader),
        read: 0,
        limit: limits.max_unpacked_bytes,
        over_limit: false,
        ran_dry: false,
    };
    let result = read_members(&mut stream, options, extra);
    if stream.over_limit {
        return Err(ArchiveError::TooLargeUnpacked { limit: limits.max_unpacked_bytes });
    }
    // Checked before the result: a stream cut inside a member fails the tar crate's skip
    // with its own words, and the cut is what to report.
    if stream.ran_dry {
        return Err(ArchiveError::CutShort);
    }
    result
}

fn read_members(
    stream: &mut impl Read,
    options: &SourceOptions,
    extra: &[&str],
) -> Result<TarballContents, ArchiveError> {
    let limits = options.archive;
    let malformed = |e: std::io::Error| ArchiveError::Malformed(e.to_string());
    // Raw entries: the tar crate would read long names and pax headers whole, however
    // large; here they are read within `max_header_bytes`.
    let mut archive = tar::Archive::new(stream);
    let mut contents = TarballContents::default();
    let mut kept = Budget::new(limits.max_kept_bytes, ArchiveError::TooMuchKept { limit: limits.max_kept_bytes });
    let mut members = Budget::new(limits.max_members, ArchiveError::TooManyMembers { limit: limits.max_members });
    let (mut long_name, mut pax_path) = (None::<String>, None::<String>);
    for entry in archive.entries().map_err(malformed)?.raw(true) {
        let mut entry = entry.map_err(malformed)?;
        members.spend(1)?;
        let kind = entry.header().entry_type();
        let size = entry.header().entry_size().map_err(malformed)?;
        match kind {
            tar::EntryType::GNULongName => {
                let bytes = read_metadata(&mut entry, size, "long name", limits.max_header_bytes)?;
                let name = bytes.split(|b| *b == 0).next().unwrap_or_default();
                long_name = Some(String::from_utf8_lossy(name).into_owned());
                continue;
            }
            tar::EntryType::GNULongLink => {
                read_metadata(&mut entry, size, "long link name", limits.max_header_bytes)?;
                continue;
            }
            tar::EntryType::XHeader => {
                let bytes = read_metadata(&mut entry, size, "pax header", limits.max_header_bytes)?;
                pax_path = read_pax(&bytes)?.path;
                continue;
            }
            tar::EntryType::XGlobalHeader => {
                let bytes = read_metadata(&mut entry, size, "pax global header", limits.max_header_bytes)?;
                // `git archive` writes the commit as the global header's comment.
                if let Some(value) = read_pax(&bytes)?.comment {
                    let value = value.trim();
                    if value.len() == 40 && value.bytes().all(|b| b.is_ascii_hexdigit()) {
                        contents.commit = Some(value.to_ascii_lowercase());
                    }
                }
                continue;
            }
            _ => {}
        }
        // A long name or pax path describes the member that follows it, and only that one.
        let name = match (long_name.take(), pax_path.take()) {
            (_, Some(path)) | (Some(path), None) => path,
            (None, None) => String::from_utf8_lossy(&entry.header().path_bytes()).into_owned(),
        };
        if kind != tar::EntryType::Regular && kind != tar::EntryType::Continuous {
            continue;
        }
        if contents.commit.is_some() && contents.committed_at.is_none() {
            contents.committed_at = entry.header().mtime().ok();
        }
        let Some(member) = safe_member_path(&name) else { continue };
        // An sdist wraps everything in `name-version/`, a GitHub archive in
        // `owner-repo-sha/`; paths are relative to that.
        let member = match member.split_once('/') {
            Some((_, rest)) => rest.to_owned(),
            None => member,
        };
        let asked = extra.contains(&member.as_str());
        let metadata = !contents.asgiref_available && super::is_metadata_path(&member);
        if asked || metadata {
            if let Ok(bytes) = read_entry(&mut entry, size, options.max_file_size) {
                contents.asgiref_available |= metadata && super::mentions_asgiref(&bytes);
                if asked {
                    kept.spend(bytes.len() as u64)?;
                    contents.extra.insert(member, bytes);
                }
            }
            continue;
        }
        if !wanted(&member, options) {
            continue;
        }
        if super::is_extension_module(&member) {
            contents.files.push(SourceFile::in_memory(member, Err(crate::finding::FileProblem::ExtensionModule)));
            continue;
        }
        let data = read_entry(&mut entry, size, options.max_file_size);
        if let Ok(bytes) = &data {
            kept.spend(bytes.len() as u64)?;
        }
        contents.files.push(SourceFile::in_memory(member, data));
    }
    Ok(contents)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gzip(tar: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(tar).unwrap();
        encoder.finish().unwrap()
    }

    /// An uncompressed tar of `members` under one top directory, with its end-of-archive
    /// marker (two zero blocks, as the tar crate writes it).
    fn tar_of(members: &[(&str, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, data) in members {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            builder.append_data(&mut header, format!("top/{path}"), *data).unwrap();
        }
        builder.into_inner().unwrap()
    }

    fn paths(contents: &TarballContents) -> Vec<&str> {
        contents.files.iter().map(|f| f.path.as_str()).collect()
    }

    #[test]
    fn an_archive_cut_at_a_member_boundary_is_refused() {
        let whole = tar_of(&[("a.py", b"X = 1\n"), ("b.py", b"Y = 2\n")]);
        let options = SourceOptions::default();
        assert_eq!(paths(&tarball(&gzip(&whole), &options, &[]).unwrap()), ["a.py", "b.py"]);
        // Header + one block of data per member: cut after the first member.
        let cut = &whole[..1024];
        assert_eq!(tarball(&gzip(cut), &options, &[]).unwrap_err(), ArchiveError::CutShort);
        // Without the end marker only (both members there).
        let unterminated = &whole[..whole.len() - 1024];
        assert_eq!(tarball(&gzip(unterminated), &options, &[]).unwrap_err(), ArchiveError::CutShort);
        // Cut inside a member's data.
        assert_eq!(tarball(&gzip(&whole[..700]), &options, &[]).unwrap_err(), ArchiveError::CutShort);
    }

    #[test]
    fn a_compression_bomb_stops_at_the_unpacked_limit() {
        let big = vec![b'#'; 600 * 1024];
        let members: Vec<(String, &[u8])> = (0..10).map(|i| (format!("m{i}.py"), big.as_slice())).collect();
        let members: Vec<(&str, &[u8])> = members.iter().map(|(p, d)| (p.as_str(), *d)).collect();
        let bomb = gzip(&tar_of(&members));
        assert!(bomb.len() < 64 * 1024, "it compresses well: {}", bomb.len());
        let limits = ArchiveLimits { max_unpacked_bytes: 4 * 1024 * 1024, ..Default::default() };
        let options = SourceOptions { archive: limits, ..Default::default() };
        assert_eq!(
            tarball(&bomb, &options, &[]).unwrap_err(),
            ArchiveError::TooLargeUnpacked { limit: 4 * 1024 * 1024 }
        );
        // What is kept in memory is bounded apart from what is read.
        let limits = ArchiveLimits { max_kept_bytes: 1024 * 1024, ..Default::default() };
        let options = SourceOptions { archive: limits, ..Default::default() };
        assert_eq!(tarball(&bomb, &options, &[]).unwrap_err(), ArchiveError::TooMuchKept { limit: 1024 * 1024 });
        let limits = ArchiveLimits { max_members: 5, ..Default::default() };
        let options = SourceOptions { archive: limits, ..Default::default() };
        assert_eq!(tarball(&bomb, &options, &[]).unwrap_err(), ArchiveError::TooManyMembers { limit: 5 });
        assert!(tarball(&bomb, &SourceOptions::default(), &[]).is_ok(), "within the default limits");
    }

    #[test]
    fn long_names_and_pax_headers_are_read_within_the_header_limit() {
        let options = SourceOptions::default();
        // A GNU long name (over 100 bytes) names the member that follows.
        let long = format!("{}/deep.py", "d".repeat(150));
        let archive = gzip(&tar_of(&[(long.as_str(), b"X = 1\n"), ("after.py", b"Y = 1\n")]));
        let contents = tarball(&archive, &options, &[]).unwrap();
        assert_eq!(paths(&contents), ["after.py", long.as_str()]);

        // A long name of 1 MiB (the tar crate would read it whole, however large).
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::GNULongName);
        header.set_size(1024 * 1024);
        header.as_gnu_mut().unwrap().name[..13].copy_from_slice(b"././@LongLink");
        header.set_cksum();
        builder.append(&header, &vec![b'a'; 1024 * 1024][..]).unwrap();
        let huge_name = gzip(&builder.into_inner().unwrap());
        assert_eq!(
            tarball(&huge_name, &options, &[]).unwrap_err(),
            ArchiveError::HeaderTooLarge { what: "long name", size: 1024 * 1024, limit: 64 * 1024 }
        );

        // A pax global header of 1 MiB.
        let mut builder = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_ustar();
        header.set_entry_type(tar::EntryType::XGlobalHeader);
        header.set_size(1024 * 1024);
        header.set_path("pax_global_header").unwrap();
        header.set_cksum();
        builder.append(&header, &vec![b'1'; 1024 * 1024][..]).unwrap();
        let huge_pax = gzip(&builder.into_inner().unwrap());
        assert!(matches!(
            tarball(&huge_pax, &options, &[]).unwrap_err(),
            ArchiveError::HeaderTooLarge { what: "pax global header", .. }
        ));
    }

    #[test]
    fn a_pax_path_names_the_next_member_and_a_pax_size_is_refused() {
        let pax = |records: &[(&str, &str)]| {
            let mut text = String::new();
            for (key, value) in records {
                let record = format!(" {key}={value}\n");
                // A record's length counts its own digits.
                let mut length = record.len();
                while length != record.len() + length.to_string().len() {
                    length = record.len() + length.to_string().len();
                }
                text.push_str(&format!("{length}{record}"));
            }
            text
        };
        let build = |records: &[(&str, &str)]| {
            let mut builder = tar::Builder::new(Vec::new());
            let text = pax(records);
            let mut header = tar::Header::new_ustar();
            header.set_entry_type(tar::EntryType::XHeader);
            header.set_size(text.len() as u64);
            header.set_path("PaxHeader/x").unwrap();
            header.set_cksum();
            builder.append(&header, text.as_bytes()).unwrap();
            let mut header = tar::Header::new_ustar();
            header.set_size(6);
            header.set_mode(0o644);
            header.set_path("top/short.py").unwrap();
            header.set_cksum();
            builder.append(&header, &b"X = 1\n"[..]).unwrap();
            gzip(&builder.into_inner().unwrap())
        };
        let options = SourceOptions::default();
        let contents = tarball(&build(&[("path", "top/pkg/named_by_pax.py")]), &options, &[]).unwrap();
        assert_eq!(paths(&contents), ["pkg/named_by_pax.py"]);
        assert_eq!(tarball(&build(&[("size", "6")]), &options, &[]).unwrap_err(), ArchiveError::PaxSize);
    }
}
