//! The import index of a scan: every module, parsed or not, with what it imports; names in
//! the target's own packages resolved to their module; test modules marked.

use scanner::{scan::scan_sources, source::SourceFile, ScanOptions};

fn file(path: &str, src: &str) -> SourceFile {
    SourceFile { path: path.into(), contents: Ok(src.as_bytes().to_vec()), on_disk: None }
}

#[test]
fn every_module_with_its_imports() {
    let files = vec![
        file("pkg/__init__.py", "from .cache.utils import RequestCache\n"),
        file("pkg/cache/__init__.py", ""),
        file("pkg/cache/utils.py", "import threading\nfrom crum import get_current_request\n"),
        // Skipped by the prefilter (nothing any rule could report), read all the same.
        file("pkg/plain.py", "import os.path\nfrom django.conf import settings\n"),
        file("pkg/tests/test_plain.py", "from pkg import plain\n"),
    ];
    let options = ScanOptions { import_index: true, sources: Default::default(), ..Default::default() };
    let report = scan_sources(files, "pkg", &options);
    let modules: Vec<(&str, Vec<&str>, bool)> = report
        .imports
        .modules
        .iter()
        .map(|(module, entry)| (module.as_str(), entry.imports.iter().map(String::as_str).collect(), entry.test))
        .collect();
    assert_eq!(report.imports.modules["pkg.cache.utils"].path, "pkg/cache/utils.py");
    assert_eq!(
        modules,
        [
            ("pkg", vec!["pkg.cache.utils"], false),
            ("pkg.cache", vec![], false),
            ("pkg.cache.utils", vec!["crum", "crum.get_current_request", "threading"], false),
            ("pkg.plain", vec!["django.conf", "django.conf.settings", "os.path"], false),
            // (a tests directory without `__init__.py` is no package: its modules are top-level)
            ("test_plain", vec!["pkg", "pkg.plain"], true),
        ]
    );
    assert_eq!(report.imports.provides(), ["pkg"]);
    // Not asked: nothing recorded.
    let quiet = scan_sources(vec![file("pkg/plain.py", "import os\n")], "pkg", &ScanOptions::default());
    assert!(quiet.imports.modules.is_empty());
}
