#!/usr/bin/env python3
"""Fails when a crate's modules depend on each other in a circle.

docs/architecture.md: "No module cycles within a crate: a type both sides need moves to a
module of its own." This keeps that true. Each source file is a module (`src/a/b.rs` and
`src/a/b/mod.rs` are `a::b`); module A depends on module B when A's code (tests aside: the
`#[cfg(test)] mod …` blocks and `tests` modules) names
`crate::…`, `super::…` or `self::…` paths that lead into B. A module using its ancestors or
descendants is how Rust modules are built and is not counted; a circle among the rest — A
needs B, B needs C, C needs A — is reported with the paths that make each step, and the
script exits 1.

Usage: scripts/check-module-cycles.py [crate directory ...]   (default: every workspace crate)
"""

import re
import sys
from pathlib import Path

CRATES = ["scanner", "db", "app", "frontend", "server"]

USE = re.compile(r"\buse\s+([^;]*);", re.S)
PATH = re.compile(r"\b((?:crate|super|self)(?:\s*::\s*[A-Za-z_][A-Za-z0-9_]*)+)")
TEST_MODULE = re.compile(r"#\[cfg\(test\)\]\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+\w+\s*\{")
LINE_COMMENT = re.compile(r"//[^\n]*")
BLOCK_COMMENT = re.compile(r"/\*.*?\*/", re.S)
STRING = re.compile(r'r#*"(?:.|\n)*?"#*|"(?:\\.|[^"\\])*"')


def module_of(src: Path, file: Path) -> tuple:
    parts = list(file.relative_to(src).with_suffix("").parts)
    if parts and parts[-1] in ("mod", "lib", "main"):
        parts = parts[:-1]
    return tuple(parts)


def without_tests(text: str) -> str:
    """The text with `#[cfg(test)] mod x { ... }` blocks removed (braces balanced)."""
    out, pos = [], 0
    for match in TEST_MODULE.finditer(text):
        if match.start() < pos:
            continue
        out.append(text[pos : match.start()])
        depth, i = 1, match.end()
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        pos = i
    out.append(text[pos:])
    return "".join(out)


def expand(tree: str) -> list:
    """`a::{b, c::{d, e}}` → ['a::b', 'a::c::d', 'a::c::e'] (glob and renames kept as paths)."""
    tree = re.sub(r"\s+", "", tree)
    depth = 0
    for i, c in enumerate(tree):
        if c == "{":
            if depth == 0:
                prefix, inner = tree[:i], tree[i + 1 : tree.rindex("}")]
                items, level, start = [], 0, 0
                for j, d in enumerate(inner):
                    level += {"{": 1, "}": -1}.get(d, 0)
                    if d == "," and level == 0:
                        items.append(inner[start:j])
                        start = j + 1
                items.append(inner[start:])
                return [p for item in items if item for p in expand(prefix + item)]
            depth += 1
    return [tree.split(" as ")[0]]


def resolve(module: tuple, is_mod_file: bool, path: str) -> tuple:
    parts = [p for p in path.replace(" ", "").split("::") if p]
    if parts[0] == "crate":
        here, parts = [], parts[1:]
    else:
        here = list(module)
        while parts and parts[0] in ("self", "super"):
            if parts[0] == "super":
                here = here[:-1]
            parts = parts[1:]
    return tuple(here + [p for p in parts if p not in ("*", "self")])


def dependencies(src: Path):
    files = {module_of(src, f): f for f in src.rglob("*.rs")}
    edges = {}
    for module, file in files.items():
        if "tests" in module:
            continue  # `#[cfg(test)] mod tests;` in a file of its own
        text = file.read_text(encoding="utf-8", errors="replace")
        text = BLOCK_COMMENT.sub("", LINE_COMMENT.sub("", STRING.sub('""', text)))
        text = without_tests(text)
        paths = [p for tree in USE.findall(text) for p in expand(tree) if re.match(r"(crate|super|self)\b", p)]
        paths += PATH.findall(text)
        for path in paths:
            target = resolve(module, file.name in ("mod.rs", "lib.rs", "main.rs"), path)
            while target and target not in files:
                target = target[:-1]
            related = target[: len(module)] == module or module[: len(target)] == target
            if not related:
                edges.setdefault(module, {}).setdefault(target, set()).add(path.replace(" ", ""))
    return files, edges


def cycles(nodes, edges):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return found


def name(module):
    return "::".join(module) or "crate"


def main(argv):
    root = Path(__file__).resolve().parent.parent
    crates = argv or CRATES
    failed = False
    for crate in crates:
        src = root / crate / "src"
        files, edges = dependencies(src)
        for component in cycles(files, edges):
            failed = True
            members = set(component)
            print(f"{crate}: module cycle among {', '.join(name(m) for m in component)}:")
            for a in component:
                for b, paths in sorted(edges.get(a, {}).items()):
                    if b in members:
                        print(f"  {name(a)} -> {name(b)} ({', '.join(sorted(paths)[:3])})")
    if failed:
        print("Move what both sides need to a module of its own (docs/architecture.md).")
        return 1
    print(f"no module cycles in {', '.join(crates)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
