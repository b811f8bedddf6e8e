//! `--fix`, `--unsafe-fixes`, `--diff`, `--fix-only` and the fixes of UT001 and UT012: the
//! text before and after each supported shape, idempotence, exit statuses, suppressed
//! findings untouched, configuration keys, and fixes that would break a file rolled back.

use crate::cli::Project;

fn read(project: &Project, path: &str) -> String {
    std::fs::read_to_string(project.path().join(path)).unwrap()
}

/// Fixes `files` (path, text) with `args` and returns each file's text afterwards.
fn fixed(files: &[(&str, &str)], args: &[&str]) -> Vec<String> {
    let project = Project::new();
    for (path, text) in files {
        project.write(path, text);
    }
    let run = project.run(&[&["--isolated", "--fix"][..], args].concat());
    assert!(run.code == 0 || run.code == 1, "{}", run.stderr);
    files.iter().map(|(path, _)| read(&project, path)).collect()
}

#[test]
fn unused_threading_imports_are_removed_by_name_or_with_their_statement() {
    let cases = [
        // The whole statement and its line; the comment above it stays.
        (
            "import os\n# pylint: disable=unused-import\nimport threading\nx = os.sep\n",
            "import os\n# pylint: disable=unused-import\nx = os.sep\n",
        ),
        ("import threading as t\nimport os\nos.sep\n", "import os\nos.sep\n"),
        // One name of several, with its comma.
        ("import os, threading\nos.sep\n", "import os\nos.sep\n"),
        ("import threading, os\nos.sep\n", "import os\nos.sep\n"),
        ("from threading import Lock, local\nL = Lock()\n", "from threading import Lock\nL = Lock()\n"),
        (
            "from threading import (\n    local,\n    Lock,\n)\nL = Lock()\n",
            "from threading import (\n    Lock,\n)\nL = Lock()\n",
        ),
        // The only statement of its block becomes `pass`.
        (
            "try:\n    import threading\nexcept ImportError:\n    pass\n",
            "try:\n    pass\nexcept ImportError:\n    pass\n",
        ),
        // CRLF line endings stay.
        ("import os\r\nimport threading\r\nos.sep\r\n", "import os\r\nos.sep\r\n"),
        // A coding cookie and non-ASCII text are kept byte for byte.
        ("# -*- coding: utf-8 -*-\nimport threading\nNAME = \"café\"\n", "# -*- coding: utf-8 -*-\nNAME = \"café\"\n"),
    ];
    for (before, after) in cases {
        assert_eq!(fixed(&[("pkg/m.py", before)], &[]), [after], "{before:?}");
    }
}

#[test]
fn a_module_thread_local_becomes_asgiref_local_and_threading_goes() {
    let crum = "\"\"\"Request middleware.\"\"\"\nimport threading\n\nfrom django.utils.deprecation import MiddlewareMixin\n\n_thread_locals = threading.local()\n\n\ndef get_current_request():\n    return getattr(_thread_locals, \"request\", None)\n\n\ndef set_current_request(request=None):\n    _thread_locals.request = request\n\n\ndef clear():\n    if _thread_locals is not None:\n        del _thread_locals.request\n";
    let [after] = &fixed(&[("crum/__init__.py", crum)], &[])[..] else { panic!() };
    assert_eq!(
        after,
        "\"\"\"Request middleware.\"\"\"\n\nfrom django.utils.deprecation import MiddlewareMixin\nfrom asgiref.local import Local\n\n_thread_locals = Local()\n\n\ndef get_current_request():\n    return getattr(_thread_locals, \"request\", None)\n\n\ndef set_current_request(request=None):\n    _thread_locals.request = request\n\n\ndef clear():\n    if _thread_locals is not None:\n        del _thread_locals.request\n"
    );
}

#[test]
fn holders_of_every_kind_and_imports_merged() {
    // `from threading import local`, an instance holder, and an existing asgiref import.
    let source = "from asgiref.local import Local\nfrom threading import local\nimport django\n\nclass Cache:\n    _shared = local()\n\n    def __init__(self):\n        self._data = local()\n\n    def get(self, key):\n        return getattr(self._data, key, None) or Cache._shared.value\n";
    let [after] = &fixed(&[("pkg/cache.py", source)], &[])[..] else { panic!() };
    assert!(after.contains("    _shared = Local()\n") && after.contains("        self._data = Local()\n"), "{after}");
    assert!(!after.contains("from threading import local"), "{after}");
    // An existing import of `Local` is used under its name; another name of `asgiref.local`
    // gets `Local` beside it.
    let aliased = "import threading\nfrom asgiref.local import Local as L2\nfrom django.conf import settings\n_l = threading.local()\n_l.x = settings.DEBUG\n";
    let [after] = &fixed(&[("pkg/m.py", aliased)], &[])[..] else { panic!() };
    assert_eq!(
        after,
        "from asgiref.local import Local as L2\nfrom django.conf import settings\n_l = L2()\n_l.x = settings.DEBUG\n"
    );
    let merged = "import threading\nfrom asgiref.local import _CVar\n_l = threading.local()\n_l.x = _CVar\n";
    let [after] = &fixed(&[("pkg/m.py", merged)], &[])[..] else { panic!() };
    assert_eq!(after, "from asgiref.local import _CVar, Local\n_l = Local()\n_l.x = _CVar\n");
}

#[test]
fn unsafe_fixes_wait_for_the_flag_and_threading_stays_when_still_used() {
    // Passed to a function: not a namespace use, so the fix is unsafe.
    let source = "import threading\nimport django\n_state = threading.local()\nLOCK = threading.Lock()\n\ndef f():\n    register(_state)\n";
    let project = Project::new();
    project.write("pkg/m.py", source);
    let listed = project.run(&["--isolated"]);
    assert!(
        listed.stdout.contains("(1 hidden fixes can be enabled with the `--unsafe-fixes` option.)"),
        "{}",
        listed.stdout
    );
    assert!(!listed.stdout.contains("[*]"));
    let safe_only = project.run(&["--isolated", "--fix"]);
    assert_eq!(safe_only.code, 1);
    assert_eq!(read(&project, "pkg/m.py"), source, "no safe fix");
    project.run(&["--isolated", "--fix", "--unsafe-fixes"]);
    let after = read(&project, "pkg/m.py");
    // `threading` still holds the Lock: its import stays.
    assert!(after.starts_with("import threading\nimport django\nfrom asgiref.local import Local\n"), "{after}");
    assert!(after.contains("_state = Local()\n"), "{after}");
    // Without django or asgiref imported, even a namespace holder's fix is unsafe.
    let plain = Project::new();
    plain.write("m.py", "import threading\n_s = threading.local()\n_s.x = 1\n");
    assert!(plain.run(&["--isolated"]).stdout.contains("1 hidden fixes"));
    // The configuration can promote a rule's unsafe fixes.
    plain.write("unthread.toml", "fix = true\nignore = [\"UT100\"]\nextend-safe-fixes = [\"UT001\"]\n");
    let promoted = plain.run(&[]);
    assert_eq!(promoted.code, 0, "{}{}", promoted.stdout, promoted.stderr);
    assert_eq!(read(&plain, "m.py"), "from asgiref.local import Local\n_s = Local()\n_s.x = 1\n");
}

#[test]
fn diff_shows_and_writes_nothing_fix_only_reports_nothing_and_a_second_fix_changes_nothing() {
    let project = Project::new();
    let source = "import os\nimport threading\nos.sep\n";
    project.write("pkg/m.py", source);
    let diff = project.run(&["--isolated", "--diff"]);
    assert_eq!(diff.code, 1);
    assert_eq!(
        diff.stdout,
        "--- a/pkg/m.py\n+++ b/pkg/m.py\n@@ -1,3 +1,2 @@\n import os\n-import threading\n os.sep\n"
    );
    assert_eq!(read(&project, "pkg/m.py"), source, "--diff writes nothing");
    let only = project.run(&["--isolated", "--fix-only"]);
    assert_eq!((only.code, only.stdout.as_str()), (0, ""), "{}", only.stderr);
    assert_eq!(read(&project, "pkg/m.py"), "import os\nos.sep\n");
    let again = project.run(&["--isolated", "--fix"]);
    assert_eq!((again.code, again.stdout.as_str()), (0, ""), "idempotent: {}", again.stderr);
    let nothing = project.run(&["--isolated", "--diff"]);
    assert_eq!((nothing.code, nothing.stdout.as_str()), (0, ""));
}

#[test]
fn suppressed_findings_are_never_fixed() {
    let source = "import threading  # noqa: UT012\nimport django\n_l = threading.local()  # unthread: ignore[UT001] -- per thread on purpose\n_l.x = 1\n";
    assert_eq!(fixed(&[("pkg/m.py", source)], &["--unsafe-fixes"]), [source]);
}

#[test]
fn imports_sharing_a_line_or_a_broken_file_are_handled() {
    // Two statements on one line: removing the import alone is left to a person (no fix);
    // the file is unchanged and says so nowhere as fixed.
    let project = Project::new();
    let source = "import threading; import os\nos.sep\n";
    project.write("m.py", source);
    let run = project.run(&["--isolated", "--fix"]);
    assert_eq!(read(&project, "m.py"), source);
    assert_eq!(run.code, 0, "UT012 is a note: reported, never failing the gate");
    assert!(run.stdout.contains("UT012"));
    // A file that already has a syntax error elsewhere is still fixed where it parses.
    project.write("n.py", "import os\nimport threading\nos.sep\ndef broken(:\n");
    let run = project.run(&["--isolated", "--fix", "n.py"]);
    assert!(!read(&project, "n.py").contains("import threading"), "{}", run.stderr);
}

#[test]
fn sarif_carries_each_fix_with_its_safety_and_stays_valid() {
    let project = Project::new();
    project.write("pkg/m.py", "import os\nimport threading\nimport django\n_s = threading.local()\n_s.x = os.sep\n");
    let run = project.run(&["--isolated", "--format", "sarif"]);
    let sarif: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let errors: Vec<String> =
        crate::cli::sarif_validator().iter_errors(&sarif).map(|e| format!("{e} at {}", e.instance_path)).collect();
    assert!(errors.is_empty(), "{errors:?}");
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let ut001 = results.iter().find(|r| r["ruleId"] == "UT001").unwrap();
    let fix = &ut001["fixes"][0];
    assert_eq!(fix["properties"]["unthread/applicability"], "safe");
    assert_eq!(fix["artifactChanges"][0]["artifactLocation"]["uri"], "pkg/m.py");
    let replacements = fix["artifactChanges"][0]["replacements"].as_array().unwrap();
    // The import added after `import django` (an empty region), and the call replaced.
    assert_eq!(
        replacements[0]["deletedRegion"],
        serde_json::json!({"startLine": 3, "startColumn": 14, "endLine": 3, "endColumn": 14})
    );
    assert_eq!(replacements[0]["insertedContent"]["text"], "\nfrom asgiref.local import Local");
    assert_eq!(
        replacements[1]["deletedRegion"],
        serde_json::json!({"startLine": 4, "startColumn": 6, "endLine": 4, "endColumn": 23})
    );
    assert_eq!(replacements[1]["insertedContent"]["text"], "Local()");
    // Without a fix, no `fixes`.
    let ut100_or_other = results.iter().filter(|r| r["ruleId"] != "UT001" && r["ruleId"] != "UT012");
    assert!(ut100_or_other.into_iter().all(|r| r.get("fixes").is_none()));
}

#[test]
fn thread_and_executor_targets_run_in_a_copied_context_with_unsafe_fixes() {
    let source = "import asyncio\nimport threading\nfrom concurrent.futures import ThreadPoolExecutor\n\nPOOL = ThreadPoolExecutor(4)\n\n\ndef work(x, y=0):\n    return x + y\n\n\ndef start(a):\n    threading.Thread(target=work, args=(a, 1), daemon=True).start()\n    threading.Thread(target=work, args=a).start()\n    threading.Thread(target=work).start()\n    list(POOL.map(work, [a]))\n    return POOL.submit(work, a, y=2)\n\n\nasync def later(a):\n    return await asyncio.get_running_loop().run_in_executor(None, work, a)\n";
    assert_eq!(fixed(&[("pkg/spawn.py", source)], &[]), [source], "unsafe: not applied by --fix alone");
    let [after] = &fixed(&[("pkg/spawn.py", source)], &["--unsafe-fixes"])[..] else { panic!() };
    assert_eq!(
        after,
        "import asyncio\nimport threading\nfrom concurrent.futures import ThreadPoolExecutor\nimport contextvars\n\nPOOL = ThreadPoolExecutor(4)\n\n\ndef work(x, y=0):\n    return x + y\n\n\ndef start(a):\n    threading.Thread(target=contextvars.copy_context().run, args=(work, a, 1), daemon=True).start()\n    threading.Thread(target=contextvars.copy_context().run, args=(work, *a)).start()\n    threading.Thread(target=contextvars.copy_context().run, args=(work,)).start()\n    list(POOL.map(work, [a]))\n    return POOL.submit(contextvars.copy_context().run, work, a, y=2)\n\n\nasync def later(a):\n    return await asyncio.get_running_loop().run_in_executor(None, contextvars.copy_context().run, work, a)\n"
    );
    // `from contextvars import copy_context` is used as it is.
    let imported = "import threading\nfrom contextvars import copy_context\nthreading.Thread(target=print).start()\n";
    assert_eq!(
        fixed(&[("m.py", imported)], &["--unsafe-fixes"]),
        ["import threading\nfrom contextvars import copy_context\nthreading.Thread(target=copy_context().run, args=(print,)).start()\n"]
    );
}

#[test]
fn a_thread_local_subclass_without_init_derives_from_asgiref_local() {
    let source = "import threading\nimport django\n\n\nclass _RequestCache(threading.local):\n    \"\"\"Per-request values.\"\"\"\n\n    def clear(self):\n        self.values = {}\n\n\nclass Introspects(threading.local):\n    def clear(self):\n        self.__dict__.clear()\n\n\nclass WithInit(threading.local):\n    def __init__(self):\n        self.values = {}\n\n\nclass WithDefault(threading.local):\n    data = None\n";
    let [after] = &fixed(&[("pkg/cache.py", source)], &[])[..] else { panic!() };
    assert!(
        after.contains("from asgiref.local import Local\n") && after.contains("class _RequestCache(Local):"),
        "{after}"
    );
    assert!(after.contains("class WithInit(threading.local):"), "an __init__: no fix: {after}");
    assert!(after.contains("class WithDefault(threading.local):"), "a class attribute: unsafe: {after}");
    assert!(after.contains("class Introspects(threading.local):"), "__dict__: unsafe: {after}");
    let [unsafe_too] = &fixed(&[("pkg/cache.py", source)], &["--unsafe-fixes"])[..] else { panic!() };
    assert!(
        unsafe_too.contains("class WithDefault(Local):") && unsafe_too.contains("class WithInit(threading.local):")
    );
}

/// A virtual environment with asgiref from the package index (the only thing these tests take
/// from the network), kept in the target directory between runs.
fn python_with_asgiref() -> std::path::PathBuf {
    let venv = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("venv-asgiref");
    let python = venv.join("bin/python");
    let ready = venv.join(".asgiref-3.8.1");
    if !ready.exists() {
        let _ = std::fs::remove_dir_all(&venv);
        let made = std::process::Command::new("python3").args(["-m", "venv"]).arg(&venv).status().unwrap();
        assert!(made.success(), "python3 -m venv");
        let pip = std::process::Command::new(&python)
            .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "asgiref==3.8.1"])
            .status()
            .unwrap();
        assert!(pip.success(), "pip install asgiref==3.8.1 (from the package index)");
        std::fs::write(&ready, "").unwrap();
    }
    python
}

/// Behaviour, not just text: twenty asyncio tasks on one loop each set and read "their"
/// request through a module holding it in a `threading.local()`; before `--fix` they read each
/// other's values, after it each reads its own — and threads stay isolated either way.
#[test]
fn after_fix_each_task_reads_its_own_request_and_threads_stay_isolated() {
    let python = python_with_asgiref();
    let project = Project::new();
    project.write(
        "reqstate/__init__.py",
        "import threading\n\nfrom asgiref.sync import sync_to_async\n\n_state = threading.local()\n\n\ndef set_request(value):\n    _state.request = value\n\n\ndef get_request():\n    return getattr(_state, \"request\", None)\n\n\naget_request = sync_to_async(get_request)\n",
    );
    project.write(
        "check.py",
        "import asyncio, threading, time\nimport reqstate\n\n\nasync def handle(i):\n    reqstate.set_request(i)\n    await asyncio.sleep(0.01)\n    return reqstate.get_request() == i\n\n\nasync def main():\n    return sum(await asyncio.gather(*(handle(i) for i in range(20))))\n\n\ntasks = asyncio.run(main())\nseen = {}\n\n\ndef work(i):\n    reqstate.set_request(i)\n    time.sleep(0.01)\n    seen[i] = reqstate.get_request() == i\n\n\nthreads = [threading.Thread(target=work, args=(i,)) for i in range(10)]\nfor t in threads:\n    t.start()\nfor t in threads:\n    t.join()\nprint(tasks, sum(seen.values()))\n",
    );
    let run = |what: &str| {
        let out = std::process::Command::new(&python).arg("check.py").current_dir(project.path()).output().unwrap();
        assert!(out.status.success(), "{what}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let before = run("before");
    let (tasks, threads) = before.split_once(' ').unwrap();
    assert!(tasks.parse::<u32>().unwrap() < 20, "before the fix the tasks share one thread's state: {before}");
    assert_eq!(threads, "10");

    let fix = project.run(&["--isolated", "--fix", "reqstate"]);
    assert!(fix.stderr.contains("Fixed 2 findings"), "{}", fix.stderr);
    let fixed = read(&project, "reqstate/__init__.py");
    assert!(fixed.contains("_state = Local()") && !fixed.contains("import threading"), "{fixed}");
    assert_eq!(run("after"), "20 10", "each task reads its own request, threads stay isolated");
    let compiled = std::process::Command::new(&python)
        .args(["-m", "py_compile", "reqstate/__init__.py"])
        .current_dir(project.path())
        .status()
        .unwrap();
    assert!(compiled.success());
}

#[test]
fn a_round_that_would_bring_a_new_finding_is_rolled_back_and_named() {
    // Importing `contextvars` for the thread's fix makes UT007 see the gathered tasks' context
    // copies: a new finding no fix removes, so the round is not kept.
    let project = Project::new();
    let source = "import asyncio\nimport threading\n\n\nasync def main(work):\n    await asyncio.gather(work())\n\n\ndef start():\n    threading.Thread(target=print).start()\n";
    project.write("m.py", source);
    let run = project.run(&["--isolated", "--fix", "--unsafe-fixes"]);
    assert_eq!(read(&project, "m.py"), source, "nothing of the round is kept");
    assert!(
        run.stderr.contains("warning: a fix was not applied: m.py: fixes of UT005 at 10:5: the fixed file would have a new UT007 finding"),
        "{}",
        run.stderr
    );
    assert_eq!(run.code, 1);
}

#[test]
fn inserted_imports_use_the_files_line_endings() {
    let source = "import threading\r\nimport django\r\n_s = threading.local()\r\n_s.x = 1\r\n";
    assert_eq!(
        fixed(&[("m.py", source)], &[]),
        ["import django\r\nfrom asgiref.local import Local\r\n_s = Local()\r\n_s.x = 1\r\n"]
    );
}

#[test]
fn a_project_that_depends_on_django_can_import_asgiref_in_every_module() {
    // No Django import in the module, but the project's metadata names Django.
    let project = Project::new();
    project.write("pyproject.toml", "[project]\nname = \"p\"\ndependencies = [\"Django>=4.2\"]\n");
    project.write("p/store.py", "import threading\n_cache = threading.local()\n_cache.branch = None\n");
    let listed = project.run(&["--isolated", "p"]);
    assert!(listed.stdout.contains("UT001 [*]"), "{}", listed.stdout);
    project.run(&["--isolated", "--fix", "p"]);
    assert_eq!(
        read(&project, "p/store.py"),
        "from asgiref.local import Local\n_cache = Local()\n_cache.branch = None\n"
    );
    // Without that metadata the same fix is unsafe.
    let bare = Project::new();
    bare.write("requirements.txt", "django-crum==0.7.9\n");
    bare.write("p/store.py", "import threading\n_cache = threading.local()\n_cache.branch = None\n");
    assert!(
        bare.run(&["--isolated", "p"]).stdout.contains("1 hidden fixes"),
        "a package named django-crum is not Django"
    );
}
