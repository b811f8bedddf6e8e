//! Lazy initialization: code under `if <it is not set yet>:` that sets it runs once per
//! process, on first use — not per request. A singleton made on the first call
//! (`if cls._instance is None: cls._instance = cls()`), a class bound to its app when first
//! used (`if not cls.__bound__: cls.bind(app)`, where `bind` sets `__bound__`), a module's
//! table filled on first use (`if not _TABLE: _TABLE.update(load())` does not count: only a
//! rebinding does): the first request pays for it, the others find it done, and no request's
//! data is kept there. An instance's attribute (`self.…`) is set once per instance — per
//! request for an object made per request — so it counts only for a class the package
//! instantiates once, at import (`settings = LazySettings()`).
//!
//! Read from text: the innermost `if` enclosing a line, on one line, testing that an
//! attribute (or name) is not set — `not X`, `X is None`, `X is <sentinel>`,
//! `(x := X) is <sentinel>`, `not hasattr(obj, "attr")`, `k not in X` — where the guarded
//! block, or the function it calls, rebinds that attribute (`….attr = …`; an item
//! assignment `X[k] = v` under `k not in X` is a cache filled per key, not once).

use crate::prefilter::followed::is_identifier_byte;

fn is_identifier(word: &str) -> bool {
    crate::prefilter::followed::is_identifier(word.as_bytes())
}

/// An `if` that runs its block only while something is not set yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LazyGuard {
    /// The attribute (or name) tested: its last name (`THE_ONE` of `cls.THE_ONE`).
    pub attr: String,
    /// The guard as the path's "why" shows it (`` `if cls._x is None:` ``).
    pub condition: String,
    /// The guarded block itself rebinds it.
    pub rebound_in_block: bool,
    /// It is an instance's attribute (`self.x`): once per instance, which is once per process
    /// only for an object made once (the call graph knows which classes are).
    pub on_instance: bool,
}

/// The lazy-initialization guard enclosing offset `at` of `source`, looked for between
/// `scope_start` (the start of the definition holding `at`) and `at`.
pub fn guard_at(source: &[u8], scope_start: usize, at: usize) -> Option<LazyGuard> {
    let line_start = |i: usize| memchr::memrchr(b'\n', &source[..i]).map_or(0, |n| n + 1);
    let indent_of = |start: usize| source[start..].iter().take_while(|b| matches!(b, b' ' | b'\t')).count();
    let here = line_start(at);
    let indent = indent_of(here);
    // Walk up to the first less indented statement line: the block's header.
    let mut cursor = here;
    while cursor > scope_start {
        let previous = line_start(cursor - 1);
        cursor = previous;
        let text = &source[previous + indent_of(previous)..];
        let blank = matches!(text.first(), None | Some(b'\n' | b'\r' | b'#'));
        if blank || indent_of(previous) >= indent {
            continue;
        }
        let header_indent = indent_of(previous);
        let end = memchr::memchr(b'\n', text).unwrap_or(text.len());
        let line = std::str::from_utf8(&text[..end]).ok()?.trim_end();
        if line.starts_with("except AttributeError") {
            return missing_attribute(source, scope_start, previous, header_indent);
        }
        let condition = line.strip_prefix("if ")?.strip_suffix(':')?.trim();
        let globals = &source[scope_start..previous];
        let (attr, on_instance) = tested(condition, |name| declares_global(globals, name))?;
        let block_end = block_end(source, previous, header_indent);
        let rebound_in_block = rebinds(&source[previous..block_end], &attr);
        return Some(LazyGuard { attr, condition: format!("`if {condition}:`"), rebound_in_block, on_instance });
    }
    None
}

/// `try: return cls._x` / `except AttributeError: … cls._x = …`: the handler at `handler`
/// (indented `indent`) sets an attribute its `try` block reads, of a class (or an instance).
fn missing_attribute(source: &[u8], scope_start: usize, handler: usize, indent: usize) -> Option<LazyGuard> {
    // The `try:` of this handler: the nearest line above at the same indentation.
    let mut cursor = handler;
    let try_line = loop {
        if cursor <= scope_start {
            return None;
        }
        let previous = memchr::memrchr(b'\n', &source[..cursor - 1]).map_or(0, |n| n + 1);
        let spaces = source[previous..].iter().take_while(|b| matches!(b, b' ' | b'\t')).count();
        let text = &source[previous + spaces..];
        if spaces == indent && !matches!(text.first(), None | Some(b'\n' | b'\r' | b'#')) {
            if !text.starts_with(b"try:") {
                return None;
            }
            break previous;
        }
        cursor = previous;
    };
    let tried = &source[try_line..handler];
    let handled = &source[handler..block_end(source, handler, indent)];
    // An attribute read in the `try` block (`owner.attr`) that the handler rebinds.
    let text = std::str::from_utf8(tried).ok()?;
    text.match_indices('.').find_map(|(dot, _)| {
        let owner_start = text[..dot].rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).map_or(0, |i| i + 1);
        let owner = &text[owner_start..dot];
        let attr: String = text[dot + 1..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        let on_instance = owner_counts(owner)?;
        (is_identifier(&attr) && rebinds(handled, &attr)).then(|| LazyGuard {
            condition: format!("`{owner}.{attr}` missing: `except AttributeError:`"),
            attr,
            rebound_in_block: true,
            on_instance,
        })
    })
}

/// The attribute (or name) a lazy-initialization condition tests, if it is one, and whether
/// it is an instance's (`self.x`); `declared_global` says whether a bare name is declared
/// `global` where it is tested.
fn tested(condition: &str, declared_global: impl Fn(&str) -> bool) -> Option<(String, bool)> {
    // A local name is set once per call, and another object's attribute (`request.x`) once per
    // that object: only a class's state (`cls.x`, `Registry.x`), a module global the function
    // declares `global`, and an instance's own (`self.x`, trusted only for an object made
    // once) count. `Some(on_instance)` when the owner counts.
    let last_name = |chain: &str| {
        let chain = chain.trim();
        if chain.is_empty() || !chain.split('.').all(is_identifier) {
            return None;
        }
        let (owner, attr) = chain.rsplit_once('.').map_or(("", chain), |(owner, attr)| (owner, attr));
        let first = owner.split('.').next().unwrap_or(owner);
        let on_instance = if owner.is_empty() { declared_global(attr).then_some(false)? } else { owner_counts(first)? };
        Some((attr.to_owned(), on_instance))
    };
    if let Some(rest) = condition.strip_prefix("not hasattr(") {
        let inner = rest.strip_suffix(')')?;
        let (owner, attr) = inner.split_once(',')?;
        let attr = attr.trim().trim_matches(|c| c == '"' || c == '\'');
        let on_instance = owner_counts(owner.trim())?;
        return is_identifier(attr).then(|| (attr.to_owned(), on_instance));
    }
    if let Some(chain) = condition.strip_prefix("not ") {
        return last_name(chain);
    }
    // `isinstance(cls.target, str)`: still the dotted path of what it will be imported as.
    if let Some(chain) = condition.strip_prefix("isinstance(").and_then(|rest| rest.strip_suffix(", str)")) {
        return last_name(chain);
    }
    if let Some((_, chain)) = condition.split_once(" not in ") {
        return last_name(chain);
    }
    if let Some((subject, sentinel)) = condition.rsplit_once(" is ") {
        if sentinel.trim().starts_with("not") || !is_identifier(sentinel.trim()) {
            return None;
        }
        // `(value := self._wrapped) is empty`
        let subject = subject.trim();
        let subject = match subject.strip_prefix('(').and_then(|s| s.strip_suffix(')')) {
            Some(inner) => inner.split_once(":=").map(|(_, chain)| chain)?,
            None => subject,
        };
        return last_name(subject);
    }
    None
}

/// Whether state of `owner` (the name before the attribute) can be the process's:
/// `Some(on_instance)` for a class (`cls`, `Registry`) or an instance's own (`self`), `None`
/// for anything else (a local object, another object's attribute).
fn owner_counts(owner: &str) -> Option<bool> {
    match owner {
        "self" => Some(true),
        "cls" => Some(false),
        _ => owner.starts_with(|c: char| c.is_ascii_uppercase()).then_some(false),
    }
}

/// `text` holds a `global` statement naming `name`.
fn declares_global(text: &[u8], name: &str) -> bool {
    memchr::memmem::find_iter(text, b"global ").any(|at| {
        let end = memchr::memchr(b'\n', &text[at..]).map_or(text.len(), |n| at + n);
        std::str::from_utf8(&text[at + 7..end])
            .is_ok_and(|names| names.split(',').any(|n| n.split('#').next().unwrap_or("").trim() == name))
    })
}

/// Where the block whose header line starts at `header` (indented `indent`) ends.
fn block_end(source: &[u8], header: usize, indent: usize) -> usize {
    let mut at = memchr::memchr(b'\n', &source[header..]).map_or(source.len(), |n| header + n + 1);
    while at < source.len() {
        let line = &source[at..];
        let spaces = line.iter().take_while(|b| matches!(b, b' ' | b'\t')).count();
        let blank = matches!(line.get(spaces), None | Some(b'\n' | b'\r' | b'#'));
        if !blank && spaces <= indent {
            return at;
        }
        at = memchr::memchr(b'\n', line).map_or(source.len(), |n| at + n + 1);
    }
    source.len()
}

/// Why code under a lazy guard runs when it does.
pub fn once_why(condition: &str) -> String {
    format!("once per process, on first use ({condition})")
}

/// `text` rebinds attribute (or name) `attr`: `….attr = …` or `attr = …` as an assignment's
/// target (also in a tuple target: `was, cls.attr = …`), not `==`, not an item.
pub fn rebinds(text: &[u8], attr: &str) -> bool {
    rebind_sites(text, attr).next().is_some()
}

/// Where `text` rebinds `attr` (see [`rebinds`]).
pub fn rebind_sites<'t>(text: &'t [u8], attr: &'t str) -> impl Iterator<Item = usize> + 't {
    memchr::memmem::find_iter(text, attr.as_bytes()).filter(move |&at| {
        let before_free = at == 0 || !is_identifier_byte(text[at - 1]);
        let end = at + attr.len();
        let after_free = text.get(end).is_none_or(|&b| !is_identifier_byte(b));
        if !(before_free && after_free) {
            return false;
        }
        let rest = &text[end..];
        let rest = &rest[rest.iter().take_while(|b| matches!(b, b' ' | b'\t')).count()..];
        rest.first() == Some(&b'=') && rest.get(1) != Some(&b'=')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(source: &str, marker: &str) -> Option<LazyGuard> {
        guard_at(source.as_bytes(), 0, source.find(marker).expect("the marker"))
    }

    #[test]
    fn a_singleton_made_on_first_use_is_guarded_and_set_in_its_block() {
        let source = "class H:\n    THE_ONE = None\n    @classmethod\n    def the_one(cls):\n        if cls.THE_ONE is None:\n            cls.THE_ONE = cls()  # here\n        return cls.THE_ONE\n";
        let found = guard(source, "cls.THE_ONE = cls()").unwrap();
        assert_eq!((found.attr.as_str(), found.rebound_in_block), ("THE_ONE", true));
        assert_eq!(found.condition, "`if cls.THE_ONE is None:`");
    }

    #[test]
    fn each_form_of_not_set_yet() {
        for (condition, attr) in [
            ("not cls.__bound__", "__bound__"),
            ("(_wrapped := Settings._wrapped) is empty", "_wrapped"),
            ("not hasattr(cls, '_core')", "_core"),
            ("'staff' not in AssessmentWorkflow.STEPS", "STEPS"),
            ("not LoadStatic._is_loaded", "_is_loaded"),
            ("_ready is None", "_ready"),
            ("isinstance(cls.target_class, str)", "target_class"),
        ] {
            let source = format!("def f(cls):\n    global _ready\n    if {condition}:\n        go()  # here\n");
            let found = guard(&source, "go()").unwrap_or_else(|| panic!("{condition}"));
            let seen = (found.attr.as_str(), found.rebound_in_block, found.on_instance);
            assert_eq!(seen, (attr, false, false), "{condition}");
        }
        // An instance's own: found, and marked (the graph trusts it only for an object made
        // once).
        for condition in ["self._user is None", "not hasattr(self, '_user')", "(w := self._user) is empty"] {
            let source = format!("def f(self):\n    if {condition}:\n        go()  # here\n");
            let found = guard(&source, "go()").unwrap_or_else(|| panic!("{condition}"));
            assert_eq!((found.attr.as_str(), found.on_instance), ("_user", true), "{condition}");
        }
        // Not a test of "not set yet", or not the innermost block.
        for source in [
            "def f(x):\n    if x.version != v:\n        go()  # here\n",
            "def f(x):\n    if x is not None:\n        go()  # here\n",
            "def f(x):\n    if not x.ready:\n        pass\n    go()  # here\n",
            "def f(x):\n    if not x.ready:\n        for i in y:\n            go()  # here\n",
            // A local name, or another object's attribute (made per request, maybe).
            "def f(x):\n    if data is None:\n        go()  # here\n",
            "def f(request):\n    if not request.session:\n        go()  # here\n",
        ] {
            assert_eq!(guard(source, "go()"), None, "{source}");
        }
    }

    #[test]
    fn an_attribute_made_when_missing_is_made_once() {
        let source = "class Store:\n    @classmethod\n    def path(cls):\n        try:\n            return cls._path\n        except AttributeError:\n            found = make()\n            cls._path = found  # here\n            return found\n";
        let found = guard(source, "cls._path = found").unwrap();
        assert_eq!((found.attr.as_str(), found.rebound_in_block, found.on_instance), ("_path", true, false));
        assert_eq!(found.condition, "`cls._path` missing: `except AttributeError:`");
        // A handler that sets something else, or another exception, is not one.
        let other = source.replace("cls._path = found", "cls._other = found");
        assert_eq!(guard(&other, "cls._other = found"), None);
        let key_error = source.replace("AttributeError", "KeyError");
        assert_eq!(guard(&key_error, "cls._path = found"), None);
    }

    #[test]
    fn a_rebinding_is_an_assignment_of_the_attribute_itself() {
        assert!(rebinds(b"was, cls.__bound__ = cls.__bound__, True", "__bound__"));
        assert!(rebinds(b"self._wrapped = Settings()", "_wrapped"));
        assert!(!rebinds(b"if self._wrapped == x:", "_wrapped"));
        assert!(!rebinds(b"cache[key] = value", "cache"));
        assert!(!rebinds(b"self._wrapped_more = 1", "_wrapped"));
    }
}
