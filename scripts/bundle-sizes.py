#!/usr/bin/env python3
"""The browser bundle's code per island.

Reads the wasm that cargo built for the browser (before wasm-bindgen and wasm-opt, while it
still has its name section) and adds up the size of each function's body by what it belongs
to:
- an island: the function's (mangled) name names the module that defines the island
  (`#[island]` in app/src), e.g. the claim and assign controls in
  app/src/components/ownership.rs — generic code instantiated for the island counts too;
- "shared by islands": code naming several islands' modules;
- "runtime": the rest (Leptos, the server-function client, serde, std, allocator).
Sizes are of the unoptimised code section; the served file is smaller (wasm-opt, gzip), so the
shares are what to read. Prints one line per island, the runtime, and the total.

    python3 scripts/bundle-sizes.py [target/front/wasm32-unknown-unknown/wasm-release/frontend.wasm]
"""

import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_WASM = ROOT / "target/front/wasm32-unknown-unknown/wasm-release/frontend.wasm"


def leb128(data: bytes, at: int) -> tuple[int, int]:
    """An unsigned LEB128 number at `at`, and where the next field starts."""
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, at


def sections(data: bytes) -> dict:
    """Section id (or custom section name) -> (start, end) of its contents."""
    if data[:4] != b"\0asm":
        raise SystemExit("not a wasm module")
    found, at = {}, 8
    while at < len(data):
        section_id = data[at]
        size, at = leb128(data, at + 1)
        if section_id == 0:
            name_len, name_at = leb128(data, at)
            name = data[name_at : name_at + name_len].decode()
            found[name] = (name_at + name_len, at + size)
        else:
            found[section_id] = (at, at + size)
        at += size
    return found


def imported_functions(data: bytes, start: int) -> int:
    """How many of the import section's entries are functions (they come first in the index space)."""
    count, at = leb128(data, start)
    functions = 0
    for _ in range(count):
        for _ in range(2):  # module and field names
            length, at = leb128(data, at)
            at += length
        kind = data[at]
        at += 1
        if kind == 0:  # function: a type index
            _, at = leb128(data, at)
            functions += 1
        elif kind == 1:  # table: element type and limits
            at += 1
            flags = data[at]
            _, at = leb128(data, at + 1)
            if flags & 1:
                _, at = leb128(data, at)
        elif kind == 2:  # memory: limits
            flags = data[at]
            _, at = leb128(data, at + 1)
            if flags & 1:
                _, at = leb128(data, at)
        elif kind == 3:  # global: value type and mutability
            at += 2
        else:
            raise SystemExit(f"unknown import kind {kind}")
    return functions


def function_sizes(data: bytes, found: dict) -> dict[int, int]:
    """Function index -> size of its body in bytes."""
    first = imported_functions(data, found[2][0]) if 2 in found else 0
    count, at = leb128(data, found[10][0])
    sizes = {}
    for k in range(count):
        size, at = leb128(data, at)
        sizes[first + k] = size
        at += size
    return sizes


def function_names(data: bytes, found: dict) -> dict[int, str]:
    """Function index -> name, from the name section's function names."""
    if "name" not in found:
        raise SystemExit("the wasm has no name section (use the one cargo built, before wasm-bindgen)")
    names = {}
    at, end = found["name"]
    while at < end:
        kind = data[at]
        size, at = leb128(data, at + 1)
        if kind == 1:
            count, p = leb128(data, at)
            for _ in range(count):
                index, p = leb128(data, p)
                length, p = leb128(data, p)
                names[index] = data[p : p + length].decode("utf-8", "replace")
                p += length
        at += size
    return names


def islands() -> dict[str, str]:
    """Island component name -> the mangled path of the module defining it (`3app10components9ownership`)."""
    found = {}
    for source in sorted((ROOT / "app/src").rglob("*.rs")):
        text = source.read_text()
        for match in re.finditer(r"#\[island\]\s*(?:#\[[^\]]*\]\s*)*(?:pub(?:\([^)]*\))?\s+)?fn\s+(\w+)", text):
            parts = ["app"] + list(source.relative_to(ROOT / "app/src").with_suffix("").parts)
            if parts[-1] in ("mod", "lib"):
                parts.pop()
            found[match.group(1)] = "".join(f"{len(p)}{p}" for p in parts)
    return found


def main() -> None:
    wasm = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_WASM
    data = wasm.read_bytes()
    found = sections(data)
    sizes, names = function_sizes(data, found), function_names(data, found)
    modules = islands()
    totals: dict[str, int] = {}
    for index, size in sizes.items():
        name = names.get(index, "")
        owners = {island for island, module in modules.items() if module in name or name.startswith(island + "_")}
        key = owners.pop() if len(owners) == 1 else ("shared by islands" if owners else "runtime")
        totals[key] = totals.get(key, 0) + size
    code = sum(sizes.values())
    print(f"code per island ({wasm.name}, {code:,} bytes of code before wasm-opt):")
    for key in sorted(totals, key=lambda k: (k in ("runtime", "shared by islands"), -totals[k])):
        module = modules.get(key, "")
        where = f" ({module})" if module else ""
        print(f"  {key:<22} {totals[key]:>9,} bytes  {100 * totals[key] / code:5.1f} %{where}")


if __name__ == "__main__":
    main()
