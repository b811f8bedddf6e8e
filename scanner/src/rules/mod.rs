//! The rule catalogue (listed in `docs/architecture.md`). One module per rule: its doc
//! comment is the rule's help text, shown by the web UI and embedded in SARIF output, and
//! its `check` function finds it.

use tree_sitter::Node;

use crate::{
    analysis::{statement_text, ModuleFacts, ScopeId},
    api_index::ApiIndex,
    finding::{Finding, FingerprintInput, Position, Severity},
};

pub(crate) mod edits;
mod ut001_thread_local_instance;
mod ut002_thread_local_subclass;
mod ut003_thread_lock;
mod ut004_lock_in_async;
mod ut005_thread_spawn;
mod ut006_executor_without_context;
mod ut007_task_context_copy;
mod ut008_sync_to_async_thread_sensitive;
mod ut009_async_to_sync_in_async;
mod ut010_mutable_module_global;
mod ut011_thread_local_api_use;
mod ut012_threading_import_unused;
mod ut013_shared_object_attribute_write;
mod ut100_contextvar;

pub(crate) mod names;

/// A rule's identity and documentation.
#[derive(Clone, Copy, Debug)]
pub struct Rule {
    /// Stable id, e.g. `UT001`.
    pub id: &'static str,
    /// Kebab-case name, e.g. `thread-local-instance`.
    pub name: &'static str,
    pub severity: Severity,
    /// One line: what the rule finds.
    pub summary: &'static str,
    raw_help: &'static str,
}

impl Rule {
    /// The rule's full help in Markdown (its module's documentation).
    pub fn help_markdown(&self) -> String {
        // Doc comments arrive with one leading space per line.
        self.raw_help
            .lines()
            .map(|line| line.strip_prefix(' ').unwrap_or(line))
            .collect::<Vec<_>>()
            .join("\n")
            .trim()
            .to_owned()
    }
}

/// Declares a rule's metadata; its doc comment becomes the rule's help text.
macro_rules! declare_rule {
    ($(#[doc = $doc:expr])* pub const RULE = ($id:literal, $name:literal, $severity:ident, $summary:literal);) => {
        $(#[doc = $doc])*
        pub const RULE: $crate::rules::Rule = $crate::rules::Rule {
            id: $id,
            name: $name,
            severity: $crate::rules::Severity::$severity,
            summary: $summary,
            raw_help: concat!($($doc, "\n"),*),
        };
    };
}
pub(crate) use declare_rule;

type Check = for<'t> fn(&'t ModuleFacts<'t>, &Context<'_>, &mut Emitter<'t>);

const RULES: &[(Rule, Check)] = &[
    (ut001_thread_local_instance::RULE, ut001_thread_local_instance::check),
    (ut002_thread_local_subclass::RULE, ut002_thread_local_subclass::check),
    (ut003_thread_lock::RULE, ut003_thread_lock::check),
    (ut004_lock_in_async::RULE, ut004_lock_in_async::check),
    (ut005_thread_spawn::RULE, ut005_thread_spawn::check),
    (ut006_executor_without_context::RULE, ut006_executor_without_context::check),
    (ut007_task_context_copy::RULE, ut007_task_context_copy::check),
    (ut008_sync_to_async_thread_sensitive::RULE, ut008_sync_to_async_thread_sensitive::check),
    (ut009_async_to_sync_in_async::RULE, ut009_async_to_sync_in_async::check),
    (ut010_mutable_module_global::RULE, ut010_mutable_module_global::check),
    (ut011_thread_local_api_use::RULE, ut011_thread_local_api_use::check),
    (ut012_threading_import_unused::RULE, ut012_threading_import_unused::check),
    (ut013_shared_object_attribute_write::RULE, ut013_shared_object_attribute_write::check),
    (ut100_contextvar::RULE, ut100_contextvar::check),
];

/// Rules that need the call graph ([`crate::runs_at`]): they run where a scan finds when
/// code runs (`--runs-at`, and Unthread's own scans), when selected by their id, or with
/// `--preview` — never in a plain lint run, which stays as fast as it is. UT013: of the
/// attributes of shared objects written in functions, most are written while a process
/// starts (a registry filled at import, a setting read once) or a test runs; only writes
/// made while a request is served or a task runs are findings (the call graph places the
/// rest: `scan::keep_request_time_writes`).
pub const NEEDS_CALL_GRAPH: &[&str] = &["UT013"];

pub fn needs_call_graph(id: &str) -> bool {
    NEEDS_CALL_GRAPH.contains(&id)
}

/// Every rule, in id order.
pub fn catalogue() -> impl Iterator<Item = &'static Rule> {
    RULES.iter().map(|(rule, _)| rule)
}

pub fn by_id(id: &str) -> Option<&'static Rule> {
    catalogue().find(|r| r.id == id)
}

/// What a module's scan may use beyond the module itself.
#[derive(Clone)]
pub struct Context<'a> {
    /// Thread-local-backed functions of already scanned packages (rule UT011).
    pub api_index: &'a ApiIndex,
    /// Read suppression comments even where there is no finding for them to silence.
    pub all_suppressions: bool,
    /// Run the rules that need the call graph ([`NEEDS_CALL_GRAPH`]).
    pub call_graph_rules: bool,
    /// Summarise every module's definitions for the API index (not only those that may
    /// join a chain): the search's parses, which are of modules that do.
    pub all_definitions: bool,
    /// The top-level packages of `api_index`'s APIs: uses of their names can make this
    /// package's definitions backed.
    pub index_packages: Vec<String>,
    /// The project depends on Django or asgiref (`ScanOptions::asgiref_available`).
    pub asgiref_available: bool,
}

impl<'a> Context<'a> {
    pub fn new(api_index: &'a ApiIndex, all_suppressions: bool, call_graph_rules: bool) -> Self {
        let mut index_packages: Vec<String> =
            api_index.apis.values().filter_map(|api| api.package_module()).map(str::to_owned).collect();
        index_packages.sort_unstable();
        index_packages.dedup();
        Context {
            api_index,
            all_suppressions,
            call_graph_rules,
            index_packages,
            all_definitions: false,
            asgiref_available: false,
        }
    }
}

/// Runs every rule over one module's facts. Returns the findings and, for each, the first
/// and last line of its statement (where a suppression comment may be: the caller applies
/// them, `crate::suppression`).
pub fn check_module<'t>(facts: &'t ModuleFacts<'t>, context: &Context<'_>) -> (Vec<Finding>, Vec<(u32, u32)>) {
    let mut emitter = Emitter { facts, pending: Vec::new() };
    for (rule, check) in RULES {
        if context.call_graph_rules || !needs_call_graph(rule.id) {
            check(facts, context, &mut emitter);
        }
    }
    emitter.finish()
}

struct Pending<'t> {
    rule: &'static Rule,
    node: Node<'t>,
    scope: ScopeId,
    statement: Node<'t>,
    message: String,
    conditional: bool,
    fix: Option<FixSpec>,
    /// Other places of the same hazard ([`Emitter::relate_last`]).
    related: Vec<Node<'t>>,
}

/// Rules whose fix reads more of the file than the prefilter keeps for their findings — every
/// use of a holder, every method of a class —: a file with one of their findings is parsed
/// whole (`crate::scan`). (UT005, UT006 and UT012 fix from the call or import itself and the
/// module's top-level imports, which a partial parse keeps.)
pub const FIXES_READ_THE_WHOLE_FILE: &[&str] = &["UT001", "UT002"];

/// `(start, end, content)`: a byte range of the file and what replaces it.
pub type ByteEdit = (usize, usize, String);

/// A fix as a rule states it: byte ranges of the file and their replacements (the emitter
/// adds their positions).
pub struct FixSpec {
    pub message: String,
    pub applicability: crate::fix::Applicability,
    /// Non-overlapping.
    pub edits: Vec<ByteEdit>,
}

/// Collects a module's findings, then numbers repeated statements and fingerprints them.
pub struct Emitter<'f> {
    facts: &'f ModuleFacts<'f>,
    pending: Vec<Pending<'f>>,
}

impl<'f> Emitter<'f> {
    /// Reports `rule` at `node`, fingerprinted by the statement `statement`.
    pub fn report(
        &mut self,
        rule: &'static Rule,
        site: crate::analysis::Site<'f>,
        node: Node<'f>,
        message: impl Into<String>,
        conditional: bool,
    ) {
        self.pending.push(Pending {
            rule,
            node,
            scope: site.scope,
            statement: site.statement,
            message: message.into(),
            conditional,
            fix: None,
            related: Vec::new(),
        });
    }

    /// Records `nodes` as other places of the finding just reported (the writes of a global
    /// reported at its definition).
    pub fn relate_last(&mut self, nodes: impl IntoIterator<Item = Node<'f>>) {
        if let Some(last) = self.pending.last_mut() {
            last.related.extend(nodes);
        }
    }

    /// [`Emitter::report`], with the fix that removes the finding.
    pub fn report_fixable(
        &mut self,
        rule: &'static Rule,
        site: crate::analysis::Site<'f>,
        node: Node<'f>,
        message: impl Into<String>,
        fix: FixSpec,
    ) {
        self.report(rule, site, node, message, false);
        if let Some(pending) = self.pending.last_mut() {
            pending.fix = Some(fix);
        }
    }

    /// The findings, and for each the first and last line of its statement (of a compound
    /// statement, its header), where a suppression comment may be.
    fn finish(self) -> (Vec<Finding>, Vec<(u32, u32)>) {
        let facts = self.facts;
        let mut pending = self.pending;
        // Source order first, so occurrence numbers follow the file.
        pending.sort_by_key(|p| (p.node.start_byte(), p.node.end_byte(), p.rule.id));
        pending.dedup_by(|a, b| a.rule.id == b.rule.id && a.node == b.node);
        let mut seen: std::collections::HashMap<(&str, ScopeId, String), usize> = Default::default();
        let mut findings = Vec::with_capacity(pending.len());
        let mut statements = Vec::with_capacity(pending.len());
        // Where each line starts, for each finding's context and the positions of fixes'
        // edits (built once: counting lines from the top for each made a file of 20,000
        // findings quadratic).
        let line_starts = crate::finding::SourceContext::line_starts(facts.src);
        for p in pending {
            statements.push(statement_lines(p.statement));
            let symbol = &facts.scopes[p.scope].qualname;
            let statement = statement_text(p.statement, facts.src);
            let key = (p.rule.id, p.scope, crate::finding::normalise_statement(statement));
            let occurrence = seen.entry(key).or_default();
            let (fingerprint, content_fingerprint) = FingerprintInput {
                rule: p.rule.id,
                path: facts.path,
                module: facts.module,
                symbol,
                statement,
                occurrence: *occurrence,
            }
            .fingerprints();
            *occurrence += 1;
            let (start, end) = (p.node.start_position(), p.node.end_position());
            let line_text = line_at(facts.src, p.node.start_byte());
            let mut also_on_lines: Vec<u32> = p
                .related
                .iter()
                .map(|n| n.start_position().row as u32 + 1)
                .filter(|&line| line < start.row as u32 + 1 || line > end.row as u32 + 1)
                .collect();
            also_on_lines.sort_unstable();
            also_on_lines.dedup();
            findings.push(Finding {
                rule: p.rule.id.to_owned(),
                severity: p.rule.severity,
                path: facts.path.to_owned(),
                start: Position {
                    line: start.row as u32 + 1,
                    column: char_column(facts.src, p.node.start_byte(), start.column),
                },
                end: Position {
                    line: end.row as u32 + 1,
                    column: char_column(facts.src, p.node.end_byte(), end.column),
                },
                symbol: symbol.clone(),
                message: p.message,
                line_text,
                context: Some(crate::finding::SourceContext::around(
                    facts.src,
                    &line_starts,
                    start.row as u32 + 1,
                    end.row as u32 + 1,
                )),
                fingerprint,
                content_fingerprint,
                conditional: p.conditional,
                suppression: None,
                also_on_lines,
                runs_at: None,
                fix: p.fix.map(|fix| crate::fix::Fix {
                    message: fix.message,
                    applicability: fix.applicability,
                    edits: fix
                        .edits
                        .into_iter()
                        .map(|(start, end, content)| crate::fix::Edit {
                            start_position: position_of(facts.src, &line_starts, start),
                            end_position: position_of(facts.src, &line_starts, end),
                            start,
                            end,
                            content,
                        })
                        .collect(),
                }),
            });
        }
        (findings, statements)
    }
}

/// 1-based first and last line of a statement; of a compound statement, of its header (up
/// to the `:` before its block).
fn statement_lines(statement: Node<'_>) -> (u32, u32) {
    let first = statement.start_position().row as u32 + 1;
    // `@decorator` lines, then the definition's own header.
    let statement = match statement.kind() {
        "decorated_definition" => statement.child_by_field_name("definition").unwrap_or(statement),
        _ => statement,
    };
    let mut cursor = statement.walk();
    let header_end = statement
        .children(&mut cursor)
        .take_while(|child| child.kind() != "block")
        .filter(|child| child.kind() != "comment")
        .last()
        .map(|child| child.end_position());
    let end = header_end.unwrap_or_else(|| statement.end_position());
    // An end at column 0 is the start of the next line: the statement ended on the one before.
    let last = if end.column == 0 && end.row > 0 { end.row } else { end.row + 1 } as u32;
    (first, last.max(first))
}

/// The 1-based line and character column of byte `offset`.
fn position_of(src: &[u8], line_starts: &[usize], offset: usize) -> Position {
    let offset = offset.min(src.len());
    // The last line starting at or before `offset`.
    let line = line_starts.partition_point(|&start| start <= offset).max(1);
    let line_start = line_starts.get(line - 1).copied().unwrap_or(0);
    Position { line: line as u32, column: char_column(src, offset, offset - line_start) }
}

/// The most of a line a finding keeps as its snippet: a line of minified or generated code
/// can be 60,000 characters, and thousands of findings on it would each store it whole.
pub const MAX_SNIPPET_BYTES: usize = 320;
/// How much of the line before the finding's start a cut snippet keeps.
const SNIPPET_LEAD_BYTES: usize = 80;

/// The line holding `offset` (where a finding starts), whole when short, else cut to
/// [`MAX_SNIPPET_BYTES`] from a little before the finding, with `…` where it was cut.
fn line_at(src: &[u8], offset: usize) -> String {
    let line_start = src[..offset].iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let line_end = src[offset..].iter().position(|&b| b == b'\n').map_or(src.len(), |i| offset + i);
    let line = &src[line_start..line_end];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.len() <= MAX_SNIPPET_BYTES {
        return String::from_utf8_lossy(line).into_owned();
    }
    let from = (offset - line_start).saturating_sub(SNIPPET_LEAD_BYTES);
    let to = (from + MAX_SNIPPET_BYTES).min(line.len());
    // Whole characters only: move the cuts off continuation bytes.
    let on_boundary = |i: usize| i >= line.len() || (line[i] & 0xC0) != 0x80;
    let from = (0..=from).rev().find(|&i| on_boundary(i)).unwrap_or(0);
    let to = (to..=line.len()).find(|&i| on_boundary(i)).unwrap_or(line.len());
    let mut snippet = String::with_capacity(to - from + 6);
    if from > 0 {
        snippet.push('…');
    }
    snippet.push_str(&String::from_utf8_lossy(&line[from..to]));
    if to < line.len() {
        snippet.push('…');
    }
    snippet
}

/// 1-based column in Unicode scalar values for a byte column on its line.
fn char_column(src: &[u8], offset: usize, byte_column: usize) -> u32 {
    let line_start = offset - byte_column.min(offset);
    let prefix = &src[line_start..offset];
    let chars = std::str::from_utf8(prefix).map(|s| s.chars().count()).unwrap_or(byte_column);
    chars as u32 + 1
}
