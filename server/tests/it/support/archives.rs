//! Archives the tests (and the rescan benchmark) build: GitHub-style tarballs of real git
//! commits (`git archive`: one top directory, the commit in the global header) and wheels.
//! Standalone (no other support module), so benches can include it by path.

use std::{io::Write, path::Path, process::Command};

/// Runs git in `dir` with a fixed identity; its output, trimmed.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=Test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false"])
        .args(args)
        .output()
        .expect("git runs");
    assert!(output.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// The tarball GitHub would serve for `commit` of the repository in `dir`.
pub fn archive(dir: &Path, commit: &str) -> Vec<u8> {
    let prefix = format!("acme-demo-{}/", &commit[..7]);
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["archive", "--format=tar.gz", &format!("--prefix={prefix}"), commit])
        .output()
        .unwrap();
    assert!(output.status.success());
    output.stdout
}

/// A git repository whose commits write these files in turn; each commit's sha and the
/// tarball GitHub would serve for it.
pub fn commits(steps: &[&[(&str, &str)]]) -> Vec<(String, Vec<u8>)> {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    git(root, &["init", "-q", "-b", "main"]);
    let mut out = Vec::new();
    for (i, files) in steps.iter().enumerate() {
        for (path, text) in *files {
            let file = root.join(path);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(file, text).unwrap();
        }
        git(root, &["add", "-A"]);
        git(root, &["commit", "-q", "--allow-empty", "-m", &format!("step {i}")]);
        let sha = git(root, &["rev-parse", "HEAD"]);
        out.push((sha.clone(), archive(root, &sha)));
    }
    out
}

/// A wheel (a zip) holding `files`.
pub fn wheel(files: &[(&str, &str)]) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut out);
    for (name, contents) in files {
        zip.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
        zip.write_all(contents.as_bytes()).unwrap();
    }
    zip.finish().unwrap();
    out.into_inner()
}

/// A compression bomb as a repository archive: `members` Python files of `size` bytes of one
/// repeated line under one top directory, with a proper end, a few KiB compressed.
pub fn bomb(members: usize, size: usize) -> Vec<u8> {
    let line = b"X = 1\n";
    let body: Vec<u8> = line.iter().copied().cycle().take(size).collect();
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best()));
    for i in 0..members {
        let mut header = tar::Header::new_gnu();
        header.set_size(body.len() as u64);
        header.set_mode(0o644);
        builder.append_data(&mut header, format!("acme-bomb-0000000/pkg/m{i}.py"), body.as_slice()).unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap()
}
