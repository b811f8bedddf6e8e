//! One pass over a module's syntax tree that collects what the rules look at: calls, class
//! definitions, `with` blocks, module-level assignments, mutations of names, imports and
//! scopes. The walk uses a tree cursor and explicit stacks, never recursion, so arbitrarily
//! deep code cannot overflow the stack.

pub mod fields;
pub mod imports;
pub mod uses;

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use tree_sitter::{Node, Tree};

pub use imports::{text, Imports, Resolved};

pub type ScopeId = usize;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScopeKind {
    Module,
    Class,
    Function { is_async: bool },
}

#[derive(Debug)]
pub struct Scope {
    pub kind: ScopeKind,
    /// `package.module`, `package.module.Class`, `package.module.Class.method`, ...
    pub qualname: String,
    pub parent: Option<ScopeId>,
    /// Names declared `global` in this function.
    pub globals: HashSet<String>,
    /// Names this function binds itself (parameters, assignments, loop targets, ...).
    pub locals: HashSet<String>,
}

/// A node the rules may report, with the statement that anchors its fingerprint.
#[derive(Clone, Copy, Debug)]
pub struct Site<'t> {
    pub node: Node<'t>,
    pub scope: ScopeId,
    pub statement: Node<'t>,
}

#[derive(Debug)]
pub struct ModuleAssignment<'t> {
    pub name: &'t str,
    pub value: Node<'t>,
    pub site: Site<'t>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MutationKind {
    /// `X[k] = v`, `X[k] += v`, `del X[k]`
    Item,
    /// `X.append(...)`, `X.update(...)`, ...
    Method,
    /// `global X` then `X = ...` in a function
    Rebind,
}

#[derive(Debug)]
pub struct Mutation<'t> {
    pub name: &'t str,
    pub kind: MutationKind,
    pub site: Site<'t>,
}

/// `<target>.<attr> = <value>` (typically `self.x = ...`), or `attr = value` in a class body.
#[derive(Debug)]
pub struct AttributeAssignment<'t> {
    pub attr: &'t str,
    pub value: Node<'t>,
    pub site: Site<'t>,
}

/// How a function changes an attribute of some object (rule UT013).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteKind {
    /// `X.attr = v`
    Assign,
    /// `X.attr += v`
    Augment,
    /// `del X.attr`
    Delete,
    /// `X.attr[k] = v`, `del X.attr[k]`
    Item,
    /// `X.attr.append(...)`, `X.attr.update(...)`, ...
    Method,
}

/// A change of `<object>.<attr>` made inside a function.
#[derive(Debug)]
pub struct AttributeWrite<'t> {
    pub object: Node<'t>,
    pub attr: &'t str,
    /// The `<object>.<attr>` node.
    pub target: Node<'t>,
    pub kind: WriteKind,
    pub site: Site<'t>,
}

#[derive(Debug)]
pub struct ImportSite<'t> {
    /// The name the import binds in this module.
    pub local: &'t str,
    /// What it binds it to.
    pub qualname: String,
    pub site: Site<'t>,
}

/// Methods that change a list, dict, set or deque in place.
pub const MUTATING_METHODS: &[&str] = &[
    "append",
    "extend",
    "insert",
    "update",
    "setdefault",
    "pop",
    "popitem",
    "clear",
    "add",
    "discard",
    "remove",
    "appendleft",
    "extendleft",
    "popleft",
];

pub struct ModuleFacts<'t> {
    pub src: &'t [u8],
    /// Path relative to the scan root, `/`-separated.
    pub path: &'t str,
    /// Dotted module name, e.g. `edx_django_utils.cache.utils`.
    pub module: &'t str,
    pub imports: Imports,
    pub scopes: Vec<Scope>,
    pub calls: Vec<Site<'t>>,
    pub classes: Vec<Site<'t>>,
    pub withs: Vec<Site<'t>>,
    pub decorators: Vec<Site<'t>>,
    /// Every `class`, with the scope it opens.
    pub class_scopes: Vec<(ScopeId, Node<'t>)>,
    /// Every `def`, with the scope it opens.
    pub functions: Vec<(ScopeId, Node<'t>)>,
    pub module_assignments: Vec<ModuleAssignment<'t>>,
    pub attribute_assignments: Vec<AttributeAssignment<'t>>,
    pub mutations: Vec<Mutation<'t>>,
    /// Attribute changes inside functions (of any object: the rules decide which are shared).
    pub attribute_writes: Vec<AttributeWrite<'t>>,
    pub import_sites: Vec<ImportSite<'t>>,
    /// Parameters with a default value (`Lock=threading.Lock`): the function's scope, the
    /// parameter's name and the default expression (evaluated where the `def` stands).
    pub parameter_defaults: Vec<(ScopeId, &'t str, Node<'t>)>,
    /// Byte ranges of function and class bodies with the scope each opens, by start.
    scope_bodies: Vec<(usize, usize, ScopeId)>,
    /// Names some function binds itself or imports: resolving them needs their scope.
    function_bound: rustc_hash::FxHashSet<String>,
    /// The module node.
    pub root: Node<'t>,
    pub has_syntax_errors: bool,
    /// [`ModuleFacts::identifier_uses`], computed on first use.
    identifier_uses: std::sync::OnceLock<HashMap<Box<str>, u32>>,
    /// [`ModuleFacts::uses`], computed on first use.
    uses: std::sync::OnceLock<uses::Uses>,
    /// [`ModuleFacts::top_level_imports`], computed on first use.
    top_level_imports: std::sync::OnceLock<Vec<uses::TopImport>>,
    /// Whether each name [`ModuleFacts::names`] was asked about occurs in the text (every
    /// fix adding an import asks, and a module can hold 100,000 findings).
    in_text: std::sync::Mutex<HashMap<Box<str>, bool>>,
}

impl<'t> ModuleFacts<'t> {
    pub fn collect(tree: &'t Tree, src: &'t [u8], path: &'t str, module: &'t str) -> Self {
        let mut facts = ModuleFacts {
            src,
            path,
            module,
            imports: Imports::default(),
            scopes: vec![Scope {
                kind: ScopeKind::Module,
                qualname: module.to_owned(),
                parent: None,
                globals: HashSet::default(),
                locals: HashSet::default(),
            }],
            calls: Vec::new(),
            classes: Vec::new(),
            withs: Vec::new(),
            decorators: Vec::new(),
            functions: Vec::new(),
            class_scopes: Vec::new(),
            module_assignments: Vec::new(),
            attribute_assignments: Vec::new(),
            mutations: Vec::new(),
            attribute_writes: Vec::new(),
            import_sites: Vec::new(),
            parameter_defaults: Vec::new(),
            scope_bodies: Vec::new(),
            function_bound: Default::default(),
            root: tree.root_node(),
            has_syntax_errors: tree.root_node().has_error(),
            identifier_uses: std::sync::OnceLock::new(),
            uses: std::sync::OnceLock::new(),
            top_level_imports: std::sync::OnceLock::new(),
            in_text: Default::default(),
        };
        Walker::new(&mut facts).walk(tree);
        facts.index_scopes();
        facts.bind_module_aliases();
        facts
    }

    pub fn text(&self, node: Node<'_>) -> &'t str {
        text(node, self.src)
    }

    /// Every qualified name `expr` may stand for where it is, by Python's scoping: a name
    /// bound in a function (an import, an assignment, a parameter) hides the module's binding
    /// there, enclosing functions are searched outwards, class bodies are not visible from
    /// their methods, and `global` sends the lookup to the module.
    pub fn resolve(&self, expr: Node<'_>) -> Vec<Resolved> {
        let offset = expr.start_byte();
        self.imports.resolve(expr, self.src, |name, binding_scopes| {
            // Most names are bound only at module level and never rebound in a function.
            if binding_scopes.iter().all(|s| *s == 0) && !self.function_bound.contains(name) {
                return Some(0);
            }
            let mut scope = self.scope_at(offset);
            let mut innermost = true;
            loop {
                let s = &self.scopes[scope];
                if s.globals.contains(name) {
                    return binding_scopes.contains(&0).then_some(0);
                }
                let visible_here = innermost || s.kind != ScopeKind::Class;
                if visible_here {
                    if binding_scopes.contains(&scope) {
                        return Some(scope);
                    }
                    if scope != 0 && s.locals.contains(name) {
                        return None; // a local of that function: not the import
                    }
                }
                innermost = false;
                scope = s.parent?;
            }
        })
    }

    pub fn resolve_to(&self, expr: Node<'_>, wanted: &[&str]) -> Option<Resolved> {
        imports::first_of(self.resolve(expr), wanted)
    }

    /// The innermost scope whose body holds byte `offset`.
    pub fn scope_at(&self, offset: usize) -> ScopeId {
        // Bodies sorted by start: the innermost holding `offset` is the last such one that
        // starts at or before it.
        let end = self.scope_bodies.partition_point(|(start, _, _)| *start <= offset);
        self.scope_bodies[..end].iter().rev().find(|(_, stop, _)| offset < *stop).map_or(0, |(_, _, scope)| *scope)
    }

    /// The callee of a `call` node.
    pub fn callee(&self, call: Node<'t>) -> Option<Node<'t>> {
        call.child_by_field_id(crate::analysis::fields::function())
    }

    /// What a call's callee resolves to, if it is one of `wanted`.
    pub fn call_to(&self, call: Node<'t>, wanted: &[&str]) -> Option<Resolved> {
        self.resolve_to(self.callee(call)?, wanted)
    }

    /// For `x.method(...)`: the method name and the receiver `x`.
    pub fn method_call(&self, call: Node<'t>) -> Option<(&'t str, Node<'t>)> {
        let callee = self.callee(call)?;
        if callee.kind() != "attribute" {
            return None;
        }
        let name = self.text(callee.child_by_field_id(crate::analysis::fields::attribute())?);
        Some((name, callee.child_by_field_id(crate::analysis::fields::object())?))
    }

    /// The positional arguments of a call, in order.
    pub fn positional_args(&self, call: Node<'t>) -> Vec<Node<'t>> {
        let Some(args) = call.child_by_field_id(crate::analysis::fields::arguments()) else { return Vec::new() };
        let mut cursor = args.walk();
        args.named_children(&mut cursor)
            .filter(|a| !matches!(a.kind(), "keyword_argument" | "comment" | "list_splat" | "dictionary_splat"))
            .collect()
    }

    /// The value of keyword argument `name`, if the call passes it.
    pub fn keyword_arg(&self, call: Node<'t>, name: &str) -> Option<Node<'t>> {
        let args = call.child_by_field_id(crate::analysis::fields::arguments())?;
        let mut cursor = args.walk();
        let found = args.named_children(&mut cursor).find(|a| {
            a.kind() == "keyword_argument"
                && a.child_by_field_id(crate::analysis::fields::name()).is_some_and(|n| self.text(n) == name)
        });
        found.and_then(|a| a.child_by_field_id(crate::analysis::fields::value()))
    }

    /// How often each name is used as a variable outside import statements (not counting
    /// `x.name` attribute names and `f(name=...)` keywords). Walks the whole tree once, on
    /// first use (several rules and fixes ask).
    pub fn identifier_uses(&self) -> &HashMap<Box<str>, u32> {
        self.identifier_uses.get_or_init(|| self.count_identifier_uses())
    }

    fn count_identifier_uses(&self) -> HashMap<Box<str>, u32> {
        let table = kind_table();
        let mut uses = HashMap::default();
        let mut cursor = self.root.walk();
        let mut path: Vec<Kind> = Vec::new();
        let mut depth = 0usize;
        loop {
            let node = cursor.node();
            let kind = table.get(node.kind_id() as usize).map_or(Kind::Other, |k| k.0);
            path.truncate(depth);
            let in_import = path.contains(&Kind::Import);
            if kind == Kind::Identifier && !in_import {
                let parent = path.last().copied();
                let field = cursor.field_name();
                let is_member_name = (field == Some("attribute") && parent == Some(Kind::Attribute))
                    || (field == Some("name") && parent == Some(Kind::KeywordArgument));
                if !is_member_name {
                    let name = self.text(node);
                    match uses.get_mut(name) {
                        Some(count) => *count += 1,
                        None => {
                            uses.insert(Box::from(name), 1);
                        }
                    }
                }
            }
            path.push(kind);
            if cursor.goto_first_child() {
                depth += 1;
                continue;
            }
            loop {
                if cursor.goto_next_sibling() {
                    break;
                }
                if !cursor.goto_parent() {
                    return uses;
                }
                depth -= 1;
            }
        }
    }

    /// Where each name is used and how ([`uses`]: one walk of the whole tree, on first use).
    pub fn uses(&self) -> &uses::Uses {
        self.uses.get_or_init(|| uses::collect(self))
    }

    /// The top-level import statements, in order (read once: every fix adding an import asks,
    /// and a module's top-level statements can number 100,000).
    pub fn top_level_imports(&self) -> &[uses::TopImport] {
        self.top_level_imports.get_or_init(|| uses::top_level_imports(self))
    }

    /// Whether `name` is bound by an import or used as a variable anywhere in the module. The
    /// text is searched first: counting the module's identifiers walks its whole tree.
    pub fn names(&self, name: &str) -> bool {
        let in_text = *self
            .in_text
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(name.into())
            .or_insert_with(|| memchr::memmem::find(self.src, name.as_bytes()).is_some());
        in_text && (self.imports.is_bound(name) || self.identifier_uses().contains_key(name))
    }

    /// The default value of the parameter `name` that the name stands for at `scope` (inside
    /// that function, where no inner function rebinds it), if it has one.
    pub fn parameter_default(&self, mut scope: ScopeId, name: &str) -> Option<Node<'t>> {
        loop {
            let s = &self.scopes[scope];
            if matches!(s.kind, ScopeKind::Function { .. }) && s.locals.contains(name) {
                return self
                    .parameter_defaults
                    .iter()
                    .find(|(at, n, _)| *at == scope && *n == name)
                    .map(|(_, _, v)| *v);
            }
            scope = s.parent?;
        }
    }

    /// The innermost function around `scope`, if any.
    pub fn enclosing_function(&self, mut scope: ScopeId) -> Option<ScopeId> {
        loop {
            if let ScopeKind::Function { .. } = self.scopes[scope].kind {
                return Some(scope);
            }
            scope = self.scopes[scope].parent?;
        }
    }

    /// True when the innermost function around `scope` is an `async def`.
    pub fn in_async_function(&self, scope: ScopeId) -> bool {
        self.enclosing_function(scope).is_some_and(|f| self.scopes[f].kind == ScopeKind::Function { is_async: true })
    }

    /// The innermost class around `scope` (methods see their class), if any.
    pub fn enclosing_class(&self, mut scope: ScopeId) -> Option<ScopeId> {
        loop {
            if self.scopes[scope].kind == ScopeKind::Class {
                return Some(scope);
            }
            scope = self.scopes[scope].parent?;
        }
    }

    /// The `class` statement that opened `class_scope`.
    pub fn class_node_of_scope(&self, class_scope: ScopeId) -> Option<Node<'t>> {
        self.class_scopes.iter().find(|(s, _)| *s == class_scope).map(|(_, n)| *n)
    }

    /// Fills `scope_bodies` and `function_bound` once the walk has found every scope.
    fn index_scopes(&mut self) {
        let body = crate::analysis::fields::body();
        for (scope, node) in self.functions.iter().chain(&self.class_scopes) {
            if let Some(block) = node.child_by_field_id(body) {
                self.scope_bodies.push((block.start_byte(), block.end_byte(), *scope));
            }
        }
        self.scope_bodies.sort_unstable_by_key(|(start, end, _)| (*start, std::cmp::Reverse(*end)));
        for import in &self.import_sites {
            if import.site.scope != 0 {
                self.function_bound.insert(import.local.to_owned());
            }
        }
        // Imported names are few; a module's functions bind many names of their own.
        let functions: Vec<&Scope> =
            self.scopes[1..].iter().filter(|s| matches!(s.kind, ScopeKind::Function { .. })).collect();
        for name in self.imports.bound_names() {
            if functions.iter().any(|scope| scope.locals.contains(name)) {
                self.function_bound.insert(name.to_owned());
            }
        }
    }

    /// Module-level `Name = dotted.name` statements make `Name` an alias of what the right side
    /// resolves to (`Lock = threading.Lock`).
    fn bind_module_aliases(&mut self) {
        let mut aliases = Vec::new();
        for assignment in &self.module_assignments {
            if matches!(assignment.value.kind(), "identifier" | "attribute") {
                for resolved in
                    self.imports.resolve(assignment.value, self.src, |_, scopes| scopes.contains(&0).then_some(0))
                {
                    aliases.push((assignment.name, resolved));
                }
            }
        }
        for (name, resolved) in aliases {
            self.imports.bind(name, &resolved.qualname, resolved.conditional, 0);
        }
    }
}

const SIMPLE_STATEMENTS: &[&str] = &[
    "expression_statement",
    "return_statement",
    "delete_statement",
    "raise_statement",
    "assert_statement",
    "pass_statement",
    "global_statement",
    "nonlocal_statement",
    "import_statement",
    "import_from_statement",
    "future_import_statement",
    "print_statement",
    "exec_statement",
    "type_alias_statement",
    "break_statement",
    "continue_statement",
];

const COMPOUND_STATEMENTS: &[&str] = &[
    "class_definition",
    "function_definition",
    "with_statement",
    "if_statement",
    "elif_clause",
    "else_clause",
    "for_statement",
    "while_statement",
    "try_statement",
    "except_clause",
    "except_group_clause",
    "finally_clause",
    "match_statement",
    "case_clause",
];

/// The text that identifies `statement` for fingerprints: a simple statement whole, a
/// compound statement only up to its body (so that edits inside the body do not count).
pub fn statement_text<'s>(statement: Node<'_>, src: &'s [u8]) -> &'s str {
    let mut end = statement.end_byte();
    if COMPOUND_STATEMENTS.contains(&statement.kind()) {
        let mut cursor = statement.walk();
        let block_start = statement.children(&mut cursor).find(|c| c.kind() == "block").map(|b| b.start_byte());
        if let Some(start) = block_start {
            end = start;
        }
    }
    std::str::from_utf8(&src[statement.start_byte()..end]).unwrap_or("")
}

/// What the walker does with a node, decided once per grammar symbol instead of comparing
/// kind names at every node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Other,
    Identifier,
    Attribute,
    KeywordArgument,
    Call,
    Decorator,
    Class,
    Function,
    With,
    Try,
    Import,
    Global,
    Assignment,
    Delete,
    For,
    AsPatternTarget,
}

/// `(Kind, is a statement)` for every symbol id of the Python grammar.
fn kind_table() -> &'static [(Kind, bool)] {
    static TABLE: std::sync::OnceLock<Vec<(Kind, bool)>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let language: tree_sitter::Language = tree_sitter_python::LANGUAGE.into();
        (0..language.node_kind_count() as u16)
            .map(|id| {
                let name = language.node_kind_for_id(id).unwrap_or("");
                if !language.node_kind_is_named(id) {
                    return (Kind::Other, false);
                }
                let kind = match name {
                    "identifier" => Kind::Identifier,
                    "attribute" => Kind::Attribute,
                    "keyword_argument" => Kind::KeywordArgument,
                    "call" => Kind::Call,
                    "decorator" => Kind::Decorator,
                    "class_definition" => Kind::Class,
                    "function_definition" => Kind::Function,
                    "with_statement" => Kind::With,
                    "try_statement" => Kind::Try,
                    "import_statement" | "import_from_statement" => Kind::Import,
                    "global_statement" => Kind::Global,
                    "assignment" | "augmented_assignment" => Kind::Assignment,
                    "delete_statement" => Kind::Delete,
                    "for_statement" | "for_in_clause" => Kind::For,
                    "as_pattern_target" => Kind::AsPatternTarget,
                    _ => Kind::Other,
                };
                (kind, SIMPLE_STATEMENTS.contains(&name) || COMPOUND_STATEMENTS.contains(&name))
            })
            .collect()
    })
}

struct Walker<'f, 't> {
    facts: &'f mut ModuleFacts<'t>,
    /// Open scopes with the depth of the node that opened them.
    scopes: Vec<(usize, ScopeId)>,
    /// Open statements with their depth: the innermost anchors sites.
    statements: Vec<(usize, Node<'t>)>,
    /// Depths of enclosing `try` statements (imports inside are fallbacks).
    tries: Vec<usize>,
}

impl<'f, 't> Walker<'f, 't> {
    fn new(facts: &'f mut ModuleFacts<'t>) -> Self {
        Self { facts, scopes: vec![(0, 0)], statements: Vec::new(), tries: Vec::new() }
    }

    fn walk(mut self, tree: &'t Tree) {
        let table = kind_table();
        let mut cursor = tree.walk();
        let mut depth = 0usize;
        loop {
            let node = cursor.node();
            let (kind, is_statement) = table.get(node.kind_id() as usize).copied().unwrap_or((Kind::Other, false));
            if is_statement {
                self.statements.push((depth, node));
            }
            if !matches!(kind, Kind::Other | Kind::Identifier) {
                self.enter(node, kind, depth);
            }
            if cursor.goto_first_child() {
                depth += 1;
                continue;
            }
            loop {
                self.leave(depth);
                if cursor.goto_next_sibling() {
                    break;
                }
                if !cursor.goto_parent() {
                    return;
                }
                depth -= 1;
            }
        }
    }

    fn leave(&mut self, depth: usize) {
        while self.tries.last().is_some_and(|d| *d >= depth) {
            self.tries.pop();
        }
        while self.statements.last().is_some_and(|(d, _)| *d >= depth) {
            self.statements.pop();
        }
        while self.scopes.len() > 1 && self.scopes.last().is_some_and(|(d, _)| *d >= depth) {
            self.scopes.pop();
        }
    }

    fn scope(&self) -> ScopeId {
        self.scopes.last().map(|(_, s)| *s).unwrap_or(0)
    }

    fn site(&self, node: Node<'t>) -> Site<'t> {
        let statement = self.statements.last().map(|(_, s)| *s).unwrap_or(node);
        Site { node, scope: self.scope(), statement }
    }

    fn text(&self, node: Node<'_>) -> &'t str {
        text(node, self.facts.src)
    }

    fn enter(&mut self, node: Node<'t>, kind: Kind, depth: usize) {
        match kind {
            Kind::Call => {
                let site = self.site(node);
                self.facts.calls.push(site);
                self.method_mutation(node);
            }
            Kind::Decorator => {
                let site = self.site(node);
                self.facts.decorators.push(site);
            }
            Kind::Class => {
                let site = self.site(node);
                self.facts.classes.push(site);
                let scope = self.open_scope(node, depth, ScopeKind::Class);
                self.facts.class_scopes.push((scope, node));
            }
            Kind::Function => {
                let is_async = node.child(0).is_some_and(|c| c.kind() == "async");
                let scope = self.open_scope(node, depth, ScopeKind::Function { is_async });
                self.facts.functions.push((scope, node));
                if let Some(params) = node.child_by_field_id(crate::analysis::fields::parameters()) {
                    let mut names = Vec::new();
                    collect_bound_names(params, self.facts.src, &mut names);
                    self.facts.scopes[scope].locals.extend(names.into_iter().map(str::to_owned));
                    let mut cursor = params.walk();
                    for param in params.named_children(&mut cursor) {
                        if !matches!(param.kind(), "default_parameter" | "typed_default_parameter") {
                            continue;
                        }
                        let name = param.child_by_field_name("name").filter(|n| n.kind() == "identifier");
                        if let (Some(name), Some(value)) = (name, param.child_by_field_name("value")) {
                            let name = self.text(name);
                            self.facts.parameter_defaults.push((scope, name, value));
                        }
                    }
                }
            }
            Kind::With => {
                let site = self.site(node);
                self.facts.withs.push(site);
            }
            Kind::Try => self.tries.push(depth),
            Kind::Import => self.import(node),
            Kind::Global => {
                let mut cursor = node.walk();
                let names: Vec<String> = node
                    .named_children(&mut cursor)
                    .filter(|c| c.kind() == "identifier")
                    .map(|c| self.text(c).to_owned())
                    .collect();
                let scope = self.scope();
                self.facts.scopes[scope].globals.extend(names);
            }
            Kind::Assignment => self.assignment(node),
            Kind::Delete => {
                let mut cursor = node.walk();
                let mut targets: Vec<Node<'t>> = node.named_children(&mut cursor).collect();
                // `del a.x, b[k]` holds its targets in an expression list.
                if let [list] = targets.as_slice() {
                    if list.kind() == "expression_list" {
                        let mut cursor = list.walk();
                        targets = list.named_children(&mut cursor).collect();
                    }
                }
                for target in targets {
                    self.item_mutation(target);
                    self.attribute_write(target, WriteKind::Delete);
                }
            }
            Kind::For => {
                if let Some(left) = node.child_by_field_id(crate::analysis::fields::left()) {
                    self.bind_locals(left);
                }
            }
            Kind::AsPatternTarget => self.bind_locals(node),
            _ => {}
        }
    }

    fn open_scope(&mut self, node: Node<'t>, depth: usize, kind: ScopeKind) -> ScopeId {
        let parent = self.scope();
        let name = node.child_by_field_id(crate::analysis::fields::name()).map(|n| self.text(n)).unwrap_or("<unknown>");
        // A definition binds its name in the enclosing scope.
        self.facts.scopes[parent].locals.insert(name.to_owned());
        let qualname = format!("{}.{name}", self.facts.scopes[parent].qualname);
        self.facts.scopes.push(Scope {
            kind,
            qualname,
            parent: Some(parent),
            globals: HashSet::default(),
            locals: HashSet::default(),
        });
        let id = self.facts.scopes.len() - 1;
        self.scopes.push((depth, id));
        id
    }

    fn import(&mut self, node: Node<'t>) {
        let conditional = !self.tries.is_empty();
        let site = self.site(node);
        let bind = |facts: &mut ModuleFacts<'t>, local: &'t str, qualname: String| {
            facts.imports.bind(local, &qualname, conditional, site.scope);
            facts.import_sites.push(ImportSite { local, qualname, site });
        };
        let mut cursor = node.walk();
        if node.kind() == "import_statement" {
            let names: Vec<Node<'t>> =
                node.children_by_field_id(crate::analysis::fields::name_id(), &mut cursor).collect();
            for name in names {
                if name.kind() == "aliased_import" {
                    let (Some(dotted), Some(alias)) = (
                        name.child_by_field_id(crate::analysis::fields::name()),
                        name.child_by_field_id(crate::analysis::fields::alias()),
                    ) else {
                        continue;
                    };
                    bind(self.facts, self.text(alias), self.text(dotted).to_owned());
                } else {
                    // `import a.b.c` binds `a`; attribute access then reaches `a.b.c.x`.
                    let full = self.text(name);
                    let first = full.split('.').next().unwrap_or(full);
                    let first_len = first.len();
                    let local = &full[..first_len];
                    bind(self.facts, local, local.to_owned());
                }
            }
            return;
        }
        let Some(module) = node.child_by_field_id(crate::analysis::fields::module_name()) else { return };
        let module_name = self.text(module).to_owned();
        let names: Vec<Node<'t>> = node.children_by_field_id(crate::analysis::fields::name_id(), &mut cursor).collect();
        for name in names {
            let (imported, local) = if name.kind() == "aliased_import" {
                match (
                    name.child_by_field_id(crate::analysis::fields::name()),
                    name.child_by_field_id(crate::analysis::fields::alias()),
                ) {
                    (Some(n), Some(a)) => (self.text(n), self.text(a)),
                    _ => continue,
                }
            } else {
                (self.text(name), self.text(name))
            };
            let qualname = if module_name.ends_with('.') {
                format!("{module_name}{imported}")
            } else {
                format!("{module_name}.{imported}")
            };
            bind(self.facts, local, qualname);
        }
    }

    fn assignment(&mut self, node: Node<'t>) {
        let (Some(left), Some(right)) = (
            node.child_by_field_id(crate::analysis::fields::left()),
            node.child_by_field_id(crate::analysis::fields::right()),
        ) else {
            // An annotation without a value (`x: int`) binds nothing.
            return;
        };
        let scope = self.scope();
        let site = self.site(node);
        match left.kind() {
            "identifier" => {
                let name = self.text(left);
                match self.facts.scopes[scope].kind {
                    ScopeKind::Module if node.kind() == "assignment" => {
                        self.facts.module_assignments.push(ModuleAssignment { name, value: right, site });
                    }
                    ScopeKind::Class if node.kind() == "assignment" => {
                        self.facts.attribute_assignments.push(AttributeAssignment { attr: name, value: right, site });
                    }
                    ScopeKind::Function { .. } => {
                        if self.facts.scopes[scope].globals.contains(name) {
                            self.facts.mutations.push(Mutation { name, kind: MutationKind::Rebind, site });
                        } else {
                            self.facts.scopes[scope].locals.insert(name.to_owned());
                        }
                    }
                    _ => {}
                }
            }
            "subscript" => {
                self.item_mutation(left);
                self.attribute_write(left, WriteKind::Item);
            }
            "attribute" => {
                if let Some(attr) = left.child_by_field_id(crate::analysis::fields::attribute()) {
                    let attr = self.text(attr);
                    self.facts.attribute_assignments.push(AttributeAssignment { attr, value: right, site });
                }
                let kind = if node.kind() == "augmented_assignment" { WriteKind::Augment } else { WriteKind::Assign };
                self.attribute_write(left, kind);
            }
            _ => self.bind_locals(left),
        }
    }

    /// Records a change of `<object>.<attr>` inside a function: `target` is that attribute
    /// (or, for `Item`, a subscript of it).
    fn attribute_write(&mut self, target: Node<'t>, kind: WriteKind) {
        if !matches!(self.facts.scopes[self.scope()].kind, ScopeKind::Function { .. }) {
            return;
        }
        let attribute = match (kind, target.kind()) {
            (WriteKind::Item, "subscript") | (WriteKind::Delete, "subscript") => {
                target.child_by_field_id(crate::analysis::fields::value())
            }
            (_, "attribute") => Some(target),
            _ => None,
        };
        let Some(attribute) = attribute.filter(|a| a.kind() == "attribute") else { return };
        let kind = if target.kind() == "subscript" { WriteKind::Item } else { kind };
        let (Some(object), Some(attr)) = (
            attribute.child_by_field_id(crate::analysis::fields::object()),
            attribute.child_by_field_id(crate::analysis::fields::attribute()),
        ) else {
            return;
        };
        let site = self.site(target);
        let attr = self.text(attr);
        self.facts.attribute_writes.push(AttributeWrite { object, attr, target: attribute, kind, site });
    }

    /// `NAME[...]` as an assignment or `del` target.
    fn item_mutation(&mut self, target: Node<'t>) {
        if target.kind() != "subscript" {
            return;
        }
        if let Some(value) =
            target.child_by_field_id(crate::analysis::fields::value()).filter(|v| v.kind() == "identifier")
        {
            let site = self.site(target);
            let name = self.text(value);
            self.facts.mutations.push(Mutation { name, kind: MutationKind::Item, site });
        }
    }

    /// `NAME.append(...)` and the other in-place container methods.
    fn method_mutation(&mut self, call: Node<'t>) {
        let Some(callee) =
            call.child_by_field_id(crate::analysis::fields::function()).filter(|c| c.kind() == "attribute")
        else {
            return;
        };
        let (Some(object), Some(attr)) = (
            callee.child_by_field_id(crate::analysis::fields::object()),
            callee.child_by_field_id(crate::analysis::fields::attribute()),
        ) else {
            return;
        };
        // `X.attr.append(v)` changes a container only as a statement of its own: these methods
        // return nothing, so a call whose value is used (`r = np.ma.append(a, b)`) is another
        // function of that name. (`pop`, `popitem`, `setdefault`, `popleft` return a value.)
        let returns_value = matches!(self.text(attr), "pop" | "popitem" | "setdefault" | "popleft");
        let is_statement = call.parent().is_some_and(|p| p.kind() == "expression_statement");
        if object.kind() == "attribute"
            && MUTATING_METHODS.contains(&self.text(attr))
            && (returns_value || is_statement)
        {
            self.attribute_write(object, WriteKind::Method);
        }
        if object.kind() == "identifier" && MUTATING_METHODS.contains(&self.text(attr)) {
            let site = self.site(call);
            let name = self.text(object);
            self.facts.mutations.push(Mutation { name, kind: MutationKind::Method, site });
        }
    }

    fn bind_locals(&mut self, target: Node<'t>) {
        let scope = self.scope();
        if !matches!(self.facts.scopes[scope].kind, ScopeKind::Function { .. }) {
            return;
        }
        let mut names = Vec::new();
        collect_bound_names(target, self.facts.src, &mut names);
        for name in names {
            if !self.facts.scopes[scope].globals.contains(name) {
                self.facts.scopes[scope].locals.insert(name.to_owned());
            }
        }
    }
}

/// The plain names bound by a target or parameter list (`a`, `(a, b)`, `*args`, `x=1`, ...).
/// Iterative: targets can nest arbitrarily deep.
fn collect_bound_names<'s>(node: Node<'_>, src: &'s [u8], out: &mut Vec<&'s str>) {
    let mut stack = vec![node];
    while let Some(n) = stack.pop() {
        match n.kind() {
            "identifier" => out.push(text(n, src)),
            "attribute" | "subscript" => {}
            "default_parameter" | "typed_default_parameter" | "typed_parameter" | "keyword_argument" => {
                if let Some(name) = n.child_by_field_id(crate::analysis::fields::name()) {
                    stack.push(name);
                } else if let Some(first) = n.named_child(0) {
                    stack.push(first);
                }
            }
            _ => {
                let mut cursor = n.walk();
                stack.extend(n.named_children(&mut cursor));
            }
        }
    }
}
