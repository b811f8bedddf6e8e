//! Which modules join the package's thread-local API index, and their summaries: the
//! modules the first pass summarised without their definitions (or did not parse) are
//! found by their text, and summarised again from the parts that can join a chain.

use std::collections::{BTreeSet, HashMap, HashSet};

use rayon::prelude::*;

use super::{new_parser, parse_parts, scan_file, scan_file_parts, undecodable};
use crate::{
    analysis::ModuleFacts,
    api_index::{module_apis, package_index, ApiIndex, ApiKind, BackedName, ModuleApis},
    cache::{content_hash, CacheKey},
    prefilter::{ParsePlan, Prefilter},
    report::FileOutcome,
    rules::Context,
    source::{is_test_module, ModuleNamer, SourceFile},
};

/// How a module takes part in its package's API index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Participation {
    No,
    /// Its definitions, instances and receivers.
    Whole,
    /// An `__init__.py` of such a package: the names it re-exports.
    ExportsOnly,
}

/// The modules whose definitions join the package's API index, decided from their text so
/// that the prefilter changes nothing: those defining a thread-bound holder, those naming one
/// of their package's holders with its module (`from crum import _thread_locals` inside crum's
/// signal receivers; `from .store import Store` of a class holding one), and those using a
/// dependency's API (the input index: their files are parsed whole anyway); then those naming
/// a signal with a receiver among them (its senders); plus the re-exports of those packages'
/// `__init__.py` files. Within them, propagation runs to a fixpoint; a module that only uses
/// a backed function of another module without naming a holder does not take part (following
/// a library's core through every module that uses it would mean parsing most of it: sympy's
/// classes read a thread-local configuration). Test modules never take part: nobody calls a
/// test.
///
/// A module found by its text is summarised again from the parts that can join a chain
/// ([`Prefilter::naming_plan`]; whole without a prefilter, which the benchmark compares);
/// its findings stay those of the first pass. Returns the files summarised whole, with their
/// content hashes (their outcomes hold whatever the other files are: the cache may keep
/// them), and the API index.
pub(super) fn parse_files_reaching_apis(
    files: &[SourceFile],
    outcomes: &mut [(FileOutcome, Option<CacheKey>)],
    namer: &ModuleNamer,
    package: &str,
    context: &Context<'_>,
    prefilter: Option<&Prefilter>,
    max_file_size: u64,
) -> (Vec<(usize, u128)>, ApiIndex) {
    let top = |i: usize| namer.module_name(&files[i].path).0.split('.').next().unwrap_or("").to_owned();
    let is_init = |i: usize| files[i].path == "__init__.py" || files[i].path.ends_with("/__init__.py");
    let followed: HashSet<&str> = context.index_packages.iter().map(String::as_str).collect();
    // An API of another package (naming its package is not using it): a package's own
    // modules are not users of its APIs in the input index (a tree holding several packages, the benchmark's corpus, scans each with the
    // others' APIs, as they are scanned one by one).
    let uses_dependency = |i: usize, apis: &ModuleApis| {
        let own = top(i);
        apis.definitions.iter().flat_map(|d| &d.uses).chain(apis.instances.iter().map(|(_, class, _)| class)).any(
            |used| {
                used.split('.').next().is_some_and(|top| top != own && followed.contains(top))
                    && context.api_index.lookup(used).is_some()
            },
        )
    };
    // Nobody calls a test: its functions are no API, and following its holders would only
    // find more tests.
    let tests: Vec<bool> = files.iter().map(|file| is_test_module(&file.path)).collect();
    let mut participation: Vec<Participation> = outcomes
        .iter()
        .zip(&tests)
        .enumerate()
        .map(|(i, ((outcome, _), &test))| {
            let apis = &outcome.apis;
            if !test && (!apis.holders.is_empty() || uses_dependency(i, apis)) {
                Participation::Whole
            } else {
                Participation::No
            }
        })
        .collect();
    let classes: HashSet<String> = outcomes
        .iter()
        .flat_map(|(outcome, _)| &outcome.apis.definitions)
        .filter(|d| d.kind == ApiKind::Class)
        .map(|d| d.qualname.clone())
        .collect();
    // The search's summaries hold every definition.
    let whole = Context { all_definitions: true, ..context.clone() };
    let mut summarised_whole = Vec::new();
    // Whether file `i` names one of `mentions`' pairs: read, searched and dropped (holding
    // every text of the packages at once cost more, in fresh pages, than reading twice).
    // A file whose import statements name none of the modules is not read again.
    let import_words: Vec<Option<crate::import_words::ImportWords>> =
        outcomes.iter().map(|(o, _)| o.import_words).collect();
    let text_names = |i: usize, mentions: &Mentions| {
        import_words[i].is_none_or(|words| mentions.may_import_from(&words))
            && files[i].bytes(max_file_size).is_ok_and(|bytes| mentions.in_text(&bytes))
    };
    // First the modules naming a holder, then those naming a signal with a receiver among
    // the modules taking part (its senders): each named with its module.
    for round in 0..2 {
        let mut pairs: BTreeSet<(String, String)> = BTreeSet::new();
        // Where they are named: a chain stays in its top-level package.
        let mut packages: HashSet<String> = HashSet::new();
        for (i, (outcome, _)) in outcomes.iter().enumerate() {
            if participation[i] != Participation::Whole {
                continue;
            }
            let named: Vec<&String> = if round == 0 {
                outcome.apis.holders.iter().map(|(holder, _)| holder).collect()
            } else {
                outcome.apis.receivers.iter().map(|(signal, _)| signal).collect()
            };
            for qualname in named {
                packages.extend(qualname.split('.').next().map(str::to_owned));
                pairs.extend(module_and_name(qualname));
                // `m.Cls.attr` is named through its class too: `from m import Cls`.
                if let Some((class, _)) = qualname.rsplit_once('.').filter(|(class, _)| classes.contains(*class)) {
                    pairs.extend(module_and_name(class));
                }
            }
        }
        if pairs.is_empty() {
            continue;
        }
        let pairs: Vec<(String, String)> = pairs.into_iter().collect();
        let mentions = Mentions::new(&pairs);
        // A module taking part but summarised from a part may have left out the definitions
        // sending a signal.
        let naming: Vec<usize> = (0..files.len())
            .into_par_iter()
            .filter(|&i| !tests[i])
            .filter(|&i| participation[i] == Participation::No || (round == 1 && outcomes[i].0.partial))
            .filter(|&i| packages.contains(&top(i)))
            .filter(|&i| text_names(i, &mentions))
            .collect();
        for &i in &naming {
            participation[i] = Participation::Whole;
        }
        let todo: Vec<usize> = naming
            .into_iter()
            .filter(|&i| outcomes[i].0.prefiltered || outcomes[i].0.partial || outcomes[i].0.apis.definitions_omitted)
            .collect();
        // A definition of these modules joins a chain through a name backed so far that
        // users in other modules may still follow (its last part: `from m import name`,
        // `m.name`, `from pkg import name` re-exported).
        let (_, backed) = index_and_names(files, outcomes, package, context.api_index, &|i| participation[i]);
        let mut names: HashMap<&str, BTreeSet<&str>> = HashMap::new();
        for name in backed.iter().filter(|name| name.followed_across_modules) {
            let (top, last) = (name.qualname.split('.').next(), name.qualname.rsplit('.').next());
            if let (Some(top), Some(last)) = (top, last) {
                names.entry(top).or_default().insert(last);
            }
        }
        let names = names.into_iter().map(|(top, names)| (top.to_owned(), Words::new(names))).collect();
        let sites = SiteSearch { names, prefilter };
        let summaries = Summaries { files, namer, context: &whole, max_file_size };
        summarised_whole.extend(summaries.replace(outcomes, &todo, &sites));
    }
    // The re-exports of the packages taking part (parsed for their imports if skipped).
    let packages: HashSet<String> =
        (0..files.len()).filter(|&i| participation[i] == Participation::Whole).map(top).collect();
    let inits: Vec<usize> = (0..files.len())
        .filter(|&i| participation[i] == Participation::No && is_init(i) && packages.contains(&top(i)))
        .collect();
    for &i in &inits {
        participation[i] = Participation::ExportsOnly;
    }
    // A skipped one matters only if it names an API (and its module) of the index so far.
    let index = api_index_of(files, outcomes, package, context.api_index, &|i| participation[i]);
    let api_pairs: Vec<(String, String)> = index
        .apis
        .values()
        .flat_map(|api| api.chain.first().into_iter().chain(std::iter::once(&api.qualname)))
        .filter_map(|qualname| module_and_name(qualname))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let api_mentions = Mentions::new(&api_pairs);
    let skipped_inits: Vec<usize> = inits
        .into_par_iter()
        .filter(|&i| outcomes[i].0.prefiltered)
        .filter(|&i| !api_pairs.is_empty() && text_names(i, &api_mentions))
        .collect();
    let parsed: Vec<(usize, u128, FileOutcome)> = skipped_inits
        .into_par_iter()
        .filter_map(|i| Some((i, files[i].bytes(max_file_size).ok()?.into_owned())))
        .map_init(new_parser, |parser, (i, bytes)| {
            let file = &files[i];
            let (module, is_init) = namer.module_name(&file.path);
            let whole =
                |parser: &mut tree_sitter::Parser| scan_file(parser, &file.path, &module, is_init, &bytes, context);
            let outcome = match Prefilter::reexport_plan(&bytes) {
                ParsePlan::Only(ranges) => {
                    scan_file_parts(parser, &file.path, &module, is_init, &bytes, &ranges, context)
                        .map(|outcome| FileOutcome { partial: true, ..outcome })
                        .unwrap_or_else(|| whole(parser))
                }
                _ => whole(parser),
            };
            (i, content_hash(&bytes), outcome)
        })
        .collect();
    for (i, hash, outcome) in parsed {
        let imports = std::mem::take(&mut outcomes[i].0.imports);
        let computed_imports = std::mem::take(&mut outcomes[i].0.computed_imports);
        let (content_hash, import_words) = (outcomes[i].0.content_hash, outcomes[i].0.import_words);
        outcomes[i].0 = FileOutcome { imports, computed_imports, content_hash, import_words, ..outcome };
        summarised_whole.push((i, hash));
    }
    let index = api_index_of(files, outcomes, package, context.api_index, &|i| participation[i]);
    (summarised_whole, index)
}

/// The package's thread-local API index from the summaries of the modules that take part
/// (`participating`).
fn api_index_of(
    files: &[SourceFile],
    outcomes: &[(FileOutcome, Option<CacheKey>)],
    package: &str,
    input: &ApiIndex,
    participating: &dyn Fn(usize) -> Participation,
) -> ApiIndex {
    index_and_names(files, outcomes, package, input, participating).0
}

/// [`api_index_of`], and every name found backed ([`package_index`]).
fn index_and_names(
    files: &[SourceFile],
    outcomes: &[(FileOutcome, Option<CacheKey>)],
    package: &str,
    input: &ApiIndex,
    participating: &dyn Fn(usize) -> Participation,
) -> (ApiIndex, Vec<BackedName>) {
    let exports_only: Vec<ModuleApis> = (0..files.len())
        .filter(|&i| participating(i) == Participation::ExportsOnly)
        .map(|i| ModuleApis { exports: outcomes[i].0.apis.exports.clone(), ..Default::default() })
        .collect();
    let mut modules: Vec<(&str, &ModuleApis)> = (0..files.len())
        .filter(|&i| participating(i) == Participation::Whole && !outcomes[i].0.apis.is_empty())
        .map(|i| (files[i].path.as_str(), &outcomes[i].0.apis))
        .collect();
    modules.extend(exports_only.iter().map(|apis| ("", apis)));
    let (mut index, names) = package_index(&modules, package, input);
    let exports: Vec<(&str, &str)> = modules
        .iter()
        .flat_map(|(_, apis)| apis.exports.iter().map(|(name, imported)| (name.as_str(), imported.as_str())))
        .collect();
    index.add_reexports(&exports);
    (index, names)
}

/// `pkg.mod.name` as the words a module naming it holds: (`mod`, `name`) — `from pkg.mod
/// import name`, `mod.name`.
fn module_and_name(qualname: &str) -> Option<(String, String)> {
    let (head, name) = qualname.rsplit_once('.')?;
    Some((head.rsplit('.').next().unwrap_or(head).to_owned(), name.to_owned()))
}

/// What the search's summaries follow in a file: the backed names of its top-level package,
/// and the prefilter that turns their occurrences into a plan (`None`: summaries of whole
/// files).
struct SiteSearch<'a> {
    names: HashMap<String, Words>,
    prefilter: Option<&'a Prefilter>,
}

impl SiteSearch<'_> {
    fn plan(&self, bytes: &[u8], top: &str) -> ParsePlan {
        match (self.prefilter, self.names.get(top)) {
            (Some(prefilter), Some(names)) => {
                // `name=` binds or passes a keyword: a use needs more (`name == x` is one).
                let sites: Vec<usize> = names
                    .occurrences(bytes)
                    .map(|(at, _)| at)
                    .filter(|at| !binds(bytes, at.end))
                    .map(|at| at.start)
                    .collect();
                prefilter.naming_plan(bytes, &sites)
            }
            (Some(prefilter), None) => prefilter.naming_plan(bytes, &[]),
            (None, _) => ParsePlan::Full,
        }
    }
}

/// Whether the text after a name at `end` makes it a target or a keyword (`name = …`,
/// `f(name=…)`, `def f(name=…)`), not a use of it.
fn binds(bytes: &[u8], end: usize) -> bool {
    let rest = &bytes[end..];
    let rest = &rest[rest.iter().take_while(|b| matches!(b, b' ' | b'\t')).count()..];
    rest.first() == Some(&b'=') && rest.get(1) != Some(&b'=')
}

/// Summaries of files for the API index, with every definition ([`Context::all_definitions`]).
struct Summaries<'a> {
    files: &'a [SourceFile],
    namer: &'a ModuleNamer,
    context: &'a Context<'a>,
    max_file_size: u64,
}

impl Summaries<'_> {
    /// Summarises `todo` again from the parts `sites` plans, in place of their summaries (the
    /// findings stay); returns those summarised whole, with their content hashes.
    fn replace(
        &self,
        outcomes: &mut [(FileOutcome, Option<CacheKey>)],
        todo: &[usize],
        sites: &SiteSearch<'_>,
    ) -> Vec<(usize, u128)> {
        let summaries: Vec<(usize, u128, ModuleApis, bool)> = todo
            .par_iter()
            .filter_map(|&i| Some((i, self.files[i].bytes(self.max_file_size).ok()?.into_owned())))
            .filter(|(_, bytes)| undecodable(bytes).is_none())
            .map_init(new_parser, |parser, (i, bytes)| {
                let (module, _) = self.namer.module_name(&self.files[i].path);
                let top = module.split('.').next().unwrap_or("");
                let (apis, in_part) = self.summary(parser, i, &bytes, &sites.plan(&bytes, top));
                (i, content_hash(&bytes), apis, in_part)
            })
            .collect();
        let mut whole = Vec::new();
        for (i, hash, apis, in_part) in summaries {
            let outcome = &mut outcomes[i].0;
            outcome.apis = apis;
            outcome.prefiltered = false;
            outcome.partial = in_part;
            if !in_part {
                whole.push((i, hash));
            }
        }
        whole
    }

    /// File `i`'s summary from the parts `plan` keeps (whole if their parse fails), and
    /// whether it was summarised from a part.
    fn summary(
        &self,
        parser: &mut tree_sitter::Parser,
        i: usize,
        bytes: &[u8],
        plan: &ParsePlan,
    ) -> (ModuleApis, bool) {
        let file = &self.files[i];
        let (module, is_init) = self.namer.module_name(&file.path);
        let summarise = |tree: &tree_sitter::Tree| {
            let facts = ModuleFacts::collect(tree, bytes, &file.path, &module);
            module_apis(&facts, is_init, &self.context.index_packages, true)
        };
        if let ParsePlan::Only(ranges) = plan {
            if let Some(tree) = parse_parts(parser, bytes, ranges) {
                return (summarise(&tree), true);
            }
        }
        match parser.parse(bytes, None) {
            Some(tree) => (summarise(&tree), false),
            None => (ModuleApis::default(), false),
        }
    }
}

/// Words searched for as whole identifiers (`Add` in `Add(x)`, not in `Address`), or whole
/// dotted chains of them (`pkg.mod` in `import pkg.mod`).
///
/// A hash lookup per identifier, not an automaton: the words are a package's backed names,
/// 100,000 of them in a generated module, and building an Aho–Corasick automaton over that
/// many patterns was quadratic (its state shuffling), where reading the text once and
/// looking each identifier up is linear in both.
struct Words {
    ids: rustc_hash::FxHashMap<Box<[u8]>, usize>,
    /// The most dotted segments a word has.
    max_segments: usize,
}

impl Words {
    fn new<I: IntoIterator<Item = W>, W: AsRef<[u8]>>(words: I) -> Self {
        let mut ids = rustc_hash::FxHashMap::default();
        let mut max_segments = 1;
        for (i, word) in words.into_iter().enumerate() {
            let word = word.as_ref();
            max_segments = max_segments.max(word.iter().filter(|&&b| b == b'.').count() + 1);
            ids.entry(Box::from(word)).or_insert(i);
        }
        Words { ids, max_segments }
    }

    /// The words' whole-identifier occurrences in `bytes`, leftmost-longest within each
    /// dotted chain and not overlapping: where, and which word.
    fn occurrences<'b>(&'b self, bytes: &'b [u8]) -> impl Iterator<Item = (std::ops::Range<usize>, usize)> + 'b {
        use crate::prefilter::followed::is_identifier_byte as is_identifier;
        let mut found = Vec::new();
        let mut segments: Vec<(usize, usize)> = Vec::new();
        let mut at = 0;
        while at < bytes.len() {
            if !is_identifier(bytes[at]) {
                at += 1;
                continue;
            }
            // One chain: identifier ('.' identifier)*.
            segments.clear();
            loop {
                let start = at;
                while at < bytes.len() && is_identifier(bytes[at]) {
                    at += 1;
                }
                segments.push((start, at));
                if at + 1 < bytes.len() && bytes[at] == b'.' && is_identifier(bytes[at + 1]) {
                    at += 1;
                } else {
                    break;
                }
            }
            let mut first = 0;
            while first < segments.len() {
                let longest = (1..=self.max_segments.min(segments.len() - first)).rev().find_map(|count| {
                    let (start, end) = (segments[first].0, segments[first + count - 1].1);
                    self.ids.get(&bytes[start..end]).map(|&word| (count, start..end, word))
                });
                match longest {
                    Some((count, range, word)) => {
                        found.push((range, word));
                        first += count;
                    }
                    None => first += 1,
                }
            }
        }
        found.into_iter()
    }
}

/// The (module, name) pairs of backed qualified names a file may refer to: it must hold both
/// words as whole identifiers — the name, and the module it is imported from (`from pkg.mod
/// import name`, `mod.name`).
struct Mentions {
    words: Words,
    /// For each word that is a name, the words of its modules.
    modules_of: Vec<Vec<usize>>,
    /// The names as plain substrings, when there are few enough to search for them at once
    /// (SIMD, many times faster than reading every identifier): a text holding none of
    /// them mentions nothing, and most texts hold none.
    names: Option<aho_corasick::AhoCorasick>,
    /// The module words.
    modules: Vec<String>,
}

/// The most names [`Mentions`] searches for as substrings before reading identifiers: an
/// automaton's construction grows faster than linearly with its patterns ([`Words`]).
const MAX_NAMES_SEARCHED: usize = 2_000;

impl Mentions {
    fn new(pairs: &[(String, String)]) -> Self {
        let mut ids: HashMap<&str, usize> = HashMap::new();
        let mut words: Vec<&str> = Vec::new();
        for (module, name) in pairs {
            for word in [module.as_str(), name.as_str()] {
                if !ids.contains_key(word) {
                    ids.insert(word, words.len());
                    words.push(word);
                }
            }
        }
        let mut modules_of = vec![Vec::new(); words.len()];
        for (module, name) in pairs {
            modules_of[ids[name.as_str()]].push(ids[module.as_str()]);
        }
        let names: BTreeSet<&str> = pairs.iter().map(|(_, name)| name.as_str()).collect();
        let names = (names.len() <= MAX_NAMES_SEARCHED).then(|| {
            aho_corasick::AhoCorasick::builder()
                .match_kind(aho_corasick::MatchKind::LeftmostFirst)
                .build(names)
                .expect("plain substrings always build")
        });
        let modules: BTreeSet<&str> = pairs.iter().map(|(module, _)| module.as_str()).collect();
        let modules = modules.into_iter().map(str::to_owned).collect();
        Mentions { words: Words::new(words), modules_of, names, modules }
    }

    /// Whether import statements holding `words` may import one of the modules: a file
    /// refers to a module's name only through an import naming the module.
    fn may_import_from(&self, words: &crate::import_words::ImportWords) -> bool {
        self.modules.iter().any(|module| words.may_hold(module.as_bytes()))
    }

    fn in_text(&self, bytes: &[u8]) -> bool {
        if self.names.as_ref().is_some_and(|names| !names.is_match(bytes)) {
            return false;
        }
        let mut present = vec![false; self.modules_of.len()];
        for (_, word) in self.words.occurrences(bytes) {
            present[word] = true;
        }
        present.iter().enumerate().any(|(word, &seen)| seen && self.modules_of[word].iter().any(|&m| present[m]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_keyword_or_target_is_not_a_use() {
        let text = b"f(evaluate=False); evaluate = 1; evaluate == x; evaluate\t=2; g(evaluate)";
        let uses: Vec<usize> = Words::new(["evaluate"])
            .occurrences(text)
            .filter(|(at, _)| !binds(text, at.end))
            .map(|(at, _)| at.start)
            .collect();
        assert_eq!(uses, vec![33, 63]);
    }

    #[test]
    fn words_are_whole_identifiers_or_dotted_chains_leftmost_longest() {
        let words = Words::new(["pkg.mod", "mod", "name", "é"]);
        let text = "import pkg.mod\nx = mod.name + pkg.modern + a.pkg.mod.name + é + _name";
        let found: Vec<(&str, usize)> =
            words.occurrences(text.as_bytes()).map(|(at, word)| (&text[at], word)).collect();
        assert_eq!(found, [("pkg.mod", 0), ("mod", 1), ("name", 2), ("pkg.mod", 0), ("name", 2), ("é", 3)]);
    }

    #[test]
    fn a_mention_needs_the_name_and_its_module_as_whole_words() {
        let mentions = Mentions::new(&[("crum".into(), "_thread_locals".into())]);
        assert!(mentions.in_text(b"from crum import _thread_locals"));
        assert!(mentions.in_text(b"import crum\ncrum._thread_locals.x"));
        assert!(!mentions.in_text(b"from crumb import _thread_locals"));
        assert!(!mentions.in_text(b"from crum import _thread_locals_2"));
        assert!(!mentions.in_text(b"_thread_locals = local()"));
    }
}
