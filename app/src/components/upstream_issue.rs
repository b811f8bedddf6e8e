//! GitHub new-issue URLs that pre-fill the title and body — links a maintainer follows and
//! edits, not API calls: the "open an upstream issue" link of a dependency whose newest
//! release still has findings, the "file a sub-issue" link of a repository's finding, and the
//! one of a root cause (a target whose thread locals other code's calls end at).

use db::views::UpstreamFinding;

/// GitHub answers 414 past about 8 kB of URL: the list is cut (saying how many were left out)
/// to stay under this.
pub const MAX_URL_LEN: usize = 8000;

/// GitHub's new-issue page of `repository` (`https://github.com/owner/repo`), prefilled.
fn new_issue_url(repository: &str, title: &str, body: &str) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("title", title).append_pair("body", body);
    format!("{repository}/issues/new?{}", query.finish())
}

/// The new-issue URL on `repository` (`https://github.com/owner/repo`) about `findings` of
/// `package` at `version`.
pub fn upstream_issue_url(repository: &str, package: &str, version: &str, findings: &[UpstreamFinding]) -> String {
    let title = format!(
        "Async safety: {} thread-bound state finding{} in {package} {version}",
        findings.len(),
        if findings.len() == 1 { "" } else { "s" }
    );
    let head = format!(
        "Moving to ASGI, every request shares this process's thread-bound and module-level state. \
         [Unthread](https://github.com/openedx/openedx-platform/issues/38680) scanned `{package}` {version} \
         (the newest release) and still finds:\n\n"
    );
    let tail = "\nPaths are as in the published distribution; the links assume the release is tagged \
                with its version.\n";
    let line = |f: &UpstreamFinding| {
        format!(
            "- **{}** [`{}:{}`]({repository}/blob/{version}/{}#L{}): {}\n",
            f.rule,
            f.path,
            f.line,
            f.path,
            f.line,
            f.message.replace('\n', " ")
        )
    };
    let url = |body: &str| new_issue_url(repository, &title, body);
    let mut body = head.clone();
    for (i, finding) in findings.iter().enumerate() {
        let left = findings.len() - i - 1;
        let candidate = format!("{body}{}", line(finding));
        let rest = if left > 0 { format!("- … and {left} more\n") } else { String::new() };
        if url(&format!("{candidate}{rest}{tail}")).len() > MAX_URL_LEN {
            body.push_str(&format!("- … and {} more\n", findings.len() - i));
            break;
        }
        body = candidate;
    }
    body.push_str(tail);
    url(&body)
}

/// What a sub-issue filed from a finding says.
pub struct SubIssue<'a> {
    /// `owner/repo` of the finding's repository (the issue is filed there).
    pub repository: &'a str,
    /// The epic, `owner/repo#n`.
    pub epic: &'a str,
    pub path: &'a str,
    pub line: i32,
    pub end_line: i32,
    /// The commit the finding was last seen at.
    pub commit: Option<&'a str>,
    pub rule: &'a str,
    pub rule_name: &'a str,
    /// The finding's enclosing definition (`pkg.module.Class.method`).
    pub symbol: &'a str,
    pub message: &'a str,
    pub rule_help: &'a str,
    /// When the code runs, as the scan found it (`request time: a view …`), if it said.
    pub runs_at: Option<&'a str>,
    /// The finding's page in Unthread.
    pub finding_url: &'a str,
}

/// The most characters a sub-issue's body has: a short issue people read.
pub const MAX_SUB_ISSUE_BODY: usize = 2000;

/// The new-issue URL of a sub-issue for one finding, in the epic's style: a title saying what
/// to do with what ("Replace …", "Investigate async-safety of …"); a short body — the lines as
/// a permalink at the scanned commit (which the sync links back to the finding), why it
/// matters in two sentences, when the code runs, what done means as a checklist, "Part of" the
/// epic — under [`MAX_SUB_ISSUE_BODY`] characters, with no hard-wrapped paragraphs.
pub fn sub_issue_url(issue: &SubIssue<'_>) -> String {
    let short_symbol =
        issue.symbol.rsplit('.').take(2).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join(".");
    let subject = if short_symbol.is_empty() { issue.path.to_owned() } else { format!("`{short_symbol}`") };
    let title = match issue.rule {
        "UT001" | "UT002" => format!("Replace the thread local in {subject} with a context variable"),
        "UT005" | "UT006" | "UT007" => format!("Carry the context into the work {subject} starts"),
        "UT011" => format!("Investigate async-safety of {subject}: it calls a thread-local-backed API"),
        _ => format!("Investigate async-safety of {subject} ({})", issue.rule_name),
    };
    let lines = if issue.end_line > issue.line {
        format!("#L{}-L{}", issue.line, issue.end_line)
    } else {
        format!("#L{}", issue.line)
    };
    let place = match issue.commit {
        Some(commit) => format!("https://github.com/{}/blob/{commit}/{}{lines}", issue.repository, issue.path),
        None => format!("`{}` line {}", issue.path, issue.line),
    };
    let why = two_sentences(&section(issue.rule_help, "Why it is a problem"));
    // A call of another package's thread-local-backed API is done when that package has
    // migrated or the value is passed explicitly: no release is named (one that migrated may
    // not exist yet).
    let fix = match issue.rule {
        "UT011" => "The call no longer reaches a thread local: the dependency migrated (bump the pin once a release has), or the value is passed explicitly.".to_owned(),
        _ => two_sentences(&section(issue.rule_help, "Fix")),
    };
    let mut body = format!("{place}\n\n**{} {}**: {}\n", issue.rule, issue.rule_name, one_line(issue.message));
    if !why.is_empty() {
        body.push_str(&format!("\n{why}\n"));
    }
    if let Some(runs_at) = issue.runs_at {
        body.push_str(&format!("\nRuns at {runs_at}.\n"));
    }
    body.push_str("\n**Done when**\n");
    if !fix.is_empty() {
        body.push_str(&format!("- [ ] {fix}\n"));
    }
    body.push_str(&format!(
        "- [ ] or it is shown to be safe, with the reason (triaged won't fix in Unthread)\n- [ ] a rescan no longer reports it: {}\n",
        issue.finding_url
    ));
    body.push_str(&format!("\nPart of {}.\n", issue.epic));
    if body.chars().count() > MAX_SUB_ISSUE_BODY {
        // The message, the why and the fix are the variable parts: keep the place, the
        // checklist and the epic, and cut the explanation.
        let cut: String = body.chars().take(MAX_SUB_ISSUE_BODY - 1).collect();
        body = format!("{cut}…");
    }
    new_issue_url(&format!("https://github.com/{}", issue.repository), &title, &body)
}

/// The text of the `## heading` section of a rule's help, its lines joined (the help is
/// hard-wrapped for the terminal; an issue reflows).
fn section(help: &str, heading: &str) -> String {
    let marker = format!("## {heading}");
    let Some(start) = help.find(&marker) else { return String::new() };
    let rest = &help[start + marker.len()..];
    let end = rest.find("\n## ").unwrap_or(rest.len());
    let text = &rest[..end];
    // The first paragraph (examples and lists below it are for the rule's page).
    let paragraph = text.trim().split("\n\n").next().unwrap_or("");
    one_line(paragraph)
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The first two sentences of `text`.
fn two_sentences(text: &str) -> String {
    let mut end = text.len();
    let mut seen = 0;
    for (i, _) in text.match_indices(". ") {
        seen += 1;
        if seen == 2 {
            end = i + 1;
            break;
        }
    }
    text[..end].trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HELP: &str = "## What it finds\nA class deriving from\n`threading.local`.\n\n## Why it is a problem\nIts values follow the thread,\nnot the request. Under ASGI many requests share a thread. So one request reads another's.\n\n## Example\n```python\nclass C(threading.local): pass\n```\n\n## Fix\nDerive from `asgiref.local.Local`. Or keep a `ContextVar` per value.\n";

    fn sub_issue<'a>(help: &'a str, commit: Option<&'a str>) -> SubIssue<'a> {
        SubIssue {
            repository: "openedx/edx-django-utils",
            epic: "openedx/openedx-platform#38680",
            path: "edx_django_utils/cache/utils.py",
            line: 43,
            end_line: 45,
            commit,
            rule: "UT002",
            rule_name: "thread-local-subclass",
            symbol: "edx_django_utils.cache.utils._RequestCache",
            message: "`_RequestCache` subclasses threading.local",
            rule_help: help,
            runs_at: Some("request time: middleware (RequestCacheMiddleware.process_request → _RequestCache)"),
            finding_url: "https://unthread.example.org/findings/7",
        }
    }

    fn body_of(url: &str) -> String {
        let query = url.split_once('?').unwrap().1;
        form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "body").unwrap().1.into_owned()
    }

    fn title_of(url: &str) -> String {
        let query = url.split_once('?').unwrap().1;
        form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "title").unwrap().1.into_owned()
    }

    #[test]
    fn a_sub_issue_is_short_says_what_to_do_and_names_the_epic() {
        let url = sub_issue_url(&sub_issue(HELP, Some("fe75e97")));
        assert!(url.starts_with("https://github.com/openedx/edx-django-utils/issues/new?"));
        assert_eq!(title_of(&url), "Replace the thread local in `utils._RequestCache` with a context variable");
        let body = body_of(&url);
        assert!(body.starts_with(
            "https://github.com/openedx/edx-django-utils/blob/fe75e97/edx_django_utils/cache/utils.py#L43-L45\n"
        ));
        // Why, in two sentences of one line each paragraph; the example left for the rule's page.
        assert!(
            body.contains(
                "\nIts values follow the thread, not the request. Under ASGI many requests share a thread.\n"
            ),
            "{body}"
        );
        assert!(!body.contains("So one request"), "{body}");
        assert!(!body.contains("```"));
        assert!(body.contains("\nRuns at request time: middleware"));
        assert!(body.contains("- [ ] Derive from `asgiref.local.Local`. Or keep a `ContextVar` per value.\n"));
        assert!(body.contains("https://unthread.example.org/findings/7"));
        assert!(body.trim_end().ends_with("Part of openedx/openedx-platform#38680."));
        assert!(body.chars().count() <= MAX_SUB_ISSUE_BODY);
        let without_commit = body_of(&sub_issue_url(&sub_issue(HELP, None)));
        assert!(without_commit.starts_with("`edx_django_utils/cache/utils.py` line 43"));
    }

    #[test]
    fn a_call_of_a_dependency_names_no_release() {
        let help = "## Fix\nUpgrade to a release of the dependency that uses context variables.\n";
        let issue = SubIssue { rule: "UT011", rule_name: "thread-local-api-use", ..sub_issue(help, Some("fe75e97")) };
        let url = sub_issue_url(&issue);
        let body = body_of(&url);
        assert!(!body.contains("Upgrade to a release"), "{body}");
        assert!(body.contains("bump the pin once a release has"), "{body}");
        assert!(title_of(&url).ends_with("it calls a thread-local-backed API"));
    }

    #[test]
    fn a_long_message_is_cut_to_the_length() {
        let message = "word ".repeat(1000);
        let issue = SubIssue { message: &message, ..sub_issue(HELP, Some("fe75e97")) };
        let body = body_of(&sub_issue_url(&issue));
        assert_eq!(body.chars().count(), MAX_SUB_ISSUE_BODY);
        assert!(sub_issue_url(&issue).len() <= MAX_URL_LEN);
    }

    fn finding(i: i32) -> UpstreamFinding {
        UpstreamFinding {
            id: i64::from(i),
            rule: "UT001".into(),
            path: format!("crum/module_{i}.py"),
            line: i,
            message: "module-level `threading.local()`: its values follow the thread, not the request".into(),
        }
    }

    #[test]
    fn a_long_list_is_cut_to_fit_and_the_url_stays_valid() {
        let findings: Vec<UpstreamFinding> = (1..=200).map(finding).collect();
        let url =
            upstream_issue_url("https://github.com/ninemoreminutes/django-crum", "django-crum", "0.8.0", &findings);
        assert!(url.len() <= MAX_URL_LEN, "{}", url.len());
        assert!(url.starts_with("https://github.com/ninemoreminutes/django-crum/issues/new?title=Async+safety%3A+200+"));
        let query = url.split_once('?').unwrap().1;
        let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
        assert_eq!(pairs[0].0, "title");
        let body = &pairs[1].1;
        assert!(body.contains(
            "[`crum/module_1.py:1`](https://github.com/ninemoreminutes/django-crum/blob/0.8.0/crum/module_1.py#L1)"
        ));
        assert!(body.contains("more\n") && !body.contains("module_200.py"), "cut, saying so");
        // A short list is whole.
        let short = upstream_issue_url("https://github.com/o/r", "p", "1.0", &findings[..2]);
        assert!(form_urlencoded::parse(short.split_once('?').unwrap().1.as_bytes())
            .any(|(k, v)| k == "body" && v.contains("module_2.py") && !v.contains("more")));
    }
}

/// A root cause's sub-issue, filed in the epic's repository: a target whose thread locals
/// the calls elsewhere end at, through whichever package's API.
pub struct RootCauseIssue<'a> {
    /// The epic, `owner/repo#n` (the issue is filed in its repository).
    pub epic: &'a str,
    pub target: &'a str,
    pub holders: &'a [db::views::RootHolder],
    /// The target's page in Unthread.
    pub target_url: &'a str,
}

/// The new-issue URL of [`RootCauseIssue`]: a title saying what to do with what, the thread
/// locals with the packages the calls go through, a "Done when" checklist and "Part of" the
/// epic — under [`MAX_SUB_ISSUE_BODY`] characters.
pub fn root_cause_issue_url(issue: &RootCauseIssue<'_>) -> Option<String> {
    let (epic_repository, _) = issue.epic.split_once('#')?;
    let calls: i64 = issue.holders.iter().map(|h| h.calls).sum();
    let first = issue.holders.first()?;
    let title = if issue.holders.len() == 1 {
        format!("Replace the thread local `{}` of {}: {calls} calls elsewhere end at it", first.holder, issue.target)
    } else {
        format!("Replace the thread locals of {}: {calls} calls elsewhere end at them", issue.target)
    };
    let mut body = format!(
        "Moving to ASGI, code that runs for one request can see another's state through a thread local. \
         {calls} open calls in other code end at {}'s thread locals (UT011 findings, counted by the thread local their chain ends at):\n\n",
        issue.target
    );
    for h in issue.holders {
        let through = h.through.iter().map(|(package, n)| format!("{package} ({n})")).collect::<Vec<_>>().join(", ");
        body.push_str(&format!("- `{}`: {} calls, through the APIs of {through}\n", h.holder, h.calls));
    }
    body.push_str(&format!(
        "\n**Done when**\n- [ ] {} keeps this state in a context variable (and the pin is bumped to that release), or the callers pass the value explicitly\n- [ ] a rescan no longer reports the calls: {}\n\nPart of {}.\n",
        issue.target, issue.target_url, issue.epic
    ));
    if body.chars().count() > MAX_SUB_ISSUE_BODY {
        let cut: String = body.chars().take(MAX_SUB_ISSUE_BODY - 1).collect();
        body = format!("{cut}…");
    }
    Some(new_issue_url(&format!("https://github.com/{epic_repository}"), &title, &body))
}

#[cfg(test)]
mod root_cause_tests {
    use super::*;

    #[test]
    fn a_root_cause_issue_names_its_thread_local_and_the_packages_the_calls_go_through() {
        let holders = [db::views::RootHolder {
            holder: "crum._thread_locals".into(),
            calls: 95,
            through: vec![("edx-rbac".into(), 50), ("django-crum".into(), 34), ("edx-toggles".into(), 11)],
        }];
        let url = root_cause_issue_url(&RootCauseIssue {
            epic: "openedx/openedx-platform#38680",
            target: "django-crum",
            holders: &holders,
            target_url: "https://unthread.example.org/deps/django-crum",
        })
        .unwrap();
        assert!(url.starts_with("https://github.com/openedx/openedx-platform/issues/new?"));
        let query: std::collections::HashMap<String, String> =
            form_urlencoded::parse(url.split_once('?').unwrap().1.as_bytes()).into_owned().collect();
        assert_eq!(
            query["title"],
            "Replace the thread local `crum._thread_locals` of django-crum: 95 calls elsewhere end at it"
        );
        let body = &query["body"];
        assert!(body.contains(
            "- `crum._thread_locals`: 95 calls, through the APIs of edx-rbac (50), django-crum (34), edx-toggles (11)"
        ));
        assert!(body.ends_with("Part of openedx/openedx-platform#38680.\n"));
        assert!(body.chars().count() <= MAX_SUB_ISSUE_BODY);
    }
}
