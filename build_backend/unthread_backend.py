"""The PEP 517 build backend of the `unthread-scan` package: the published wheel first, else maturin.

pre-commit installs a hook's repository root with pip, and so does the GitHub Action's
fallback; with maturin as the backend every first run compiled the whole crate (minutes, a
Rust toolchain, hundreds of MB of build cache). This backend asks the package index for the
published wheel of this source's own version first (`pip download --only-binary`, so pip
checks the index's hashes and picks the wheel for this interpreter and platform) and hands
that over as the build's result; only when there is none (an unreleased commit, a platform
without a wheel) does it build from source with the pinned maturin and `cargo --locked`.
`UNTHREAD_BUILD_FROM_SOURCE=1` skips the index. Sdists and editable installs are maturin's.
"""

import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

MATURIN = "maturin==1.16.0"
ROOT = pathlib.Path(__file__).resolve().parent.parent


def _version():
    """The workspace's version (Cargo.toml `[workspace.package]`), which the wheel carries."""
    text = (ROOT / "Cargo.toml").read_text(encoding="utf-8")
    match = re.search(r'^version = "([^"]+)"$', text, re.M)
    if not match:
        raise RuntimeError("no version in Cargo.toml")
    return match.group(1)


def _cache():
    """Where a downloaded wheel waits between pip's calls of the hooks (each in a new process)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return pathlib.Path(base) / "unthread" / "published-wheels" / _version()


def _published_wheel():
    """The published wheel of this version for this interpreter, downloaded; None without one."""
    if os.environ.get("UNTHREAD_BUILD_FROM_SOURCE", "") not in ("", "0"):
        return None
    cache = _cache()
    found = sorted(cache.glob("unthread_scan-*.whl")) if cache.is_dir() else []
    if found:
        return found[0]
    with tempfile.TemporaryDirectory() as scratch:
        command = [
            sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
            "--no-deps", "--only-binary=:all:", "--dest", scratch, "unthread-scan==" + _version(),
        ]
        done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False)
        wheels = sorted(pathlib.Path(scratch).glob("unthread_scan-*.whl"))
        if done.returncode != 0 or not wheels:
            print("unthread-scan " + _version() + ": no published wheel for this platform; building from source",
                  file=sys.stderr)
            return None
        cache.mkdir(parents=True, exist_ok=True)
        kept = cache / wheels[0].name
        shutil.copyfile(wheels[0], kept)
        print("unthread-scan " + _version() + ": using the published wheel " + kept.name, file=sys.stderr)
        return kept


def _maturin():
    args = os.environ.get("MATURIN_PEP517_ARGS", "").split()
    if "--locked" not in args:
        os.environ["MATURIN_PEP517_ARGS"] = " ".join(args + ["--locked"])
    import maturin  # noqa: PLC0415 -- only installed when building from source

    return maturin


def get_requires_for_build_wheel(config_settings=None):
    return [] if _published_wheel() else [MATURIN]


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    wheel = _published_wheel()
    if wheel is None:
        return _maturin().build_wheel(wheel_directory, config_settings, metadata_directory)
    shutil.copyfile(wheel, os.path.join(wheel_directory, wheel.name))
    return wheel.name


def get_requires_for_build_sdist(config_settings=None):
    return [MATURIN]


def build_sdist(sdist_directory, config_settings=None):
    return _maturin().build_sdist(sdist_directory, config_settings)


def get_requires_for_build_editable(config_settings=None):
    return [MATURIN]


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    return _maturin().build_editable(wheel_directory, config_settings, metadata_directory)
