//! GitHub new-issue URLs that pre-fill the title and body — links a maintainer follows and
//! edits, not API calls: the "open an upstream issue" link of a dependency whose newest
//! release still has findings, and the "file a sub-issue" link of a repository's finding.

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
    pub message: &'a str,
    pub rule_help: &'a str,
    /// The finding's page in Unthread.
    pub finding_url: &'a str,
}

/// The new-issue URL of a sub-issue for one finding: it names the epic, links the lines at the
/// scanned commit (a permalink, which the sync links back to the finding), the rule and as much
/// of its help as fits.
pub fn sub_issue_url(issue: &SubIssue<'_>) -> String {
    let title = format!("{}: {} in {}", issue.rule, issue.rule_name, issue.path);
    let lines = if issue.end_line > issue.line {
        format!("#L{}-L{}", issue.line, issue.end_line)
    } else {
        format!("#L{}", issue.line)
    };
    let place = match issue.commit {
        Some(commit) => format!("https://github.com/{}/blob/{commit}/{}{lines}", issue.repository, issue.path),
        None => format!("`{}` line {}", issue.path, issue.line),
    };
    let head = format!(
        "Part of {}.\n\n{place}\n\n**{} {}**: {}\n\nFound by Unthread: {}\n",
        issue.epic,
        issue.rule,
        issue.rule_name,
        issue.message.replace('\n', " "),
        issue.finding_url
    );
    let repository = format!("https://github.com/{}", issue.repository);
    let url = |body: &str| new_issue_url(&repository, &title, body);
    // The rule's help, paragraph by paragraph, while the URL stays short enough.
    let mut body = format!("{head}\n<details><summary>About {}</summary>\n\n", issue.rule);
    let mut any = false;
    for paragraph in issue.rule_help.split("\n\n") {
        let candidate = format!("{body}{paragraph}\n\n");
        if url(&format!("{candidate}</details>\n")).len() > MAX_URL_LEN {
            break;
        }
        body = candidate;
        any = true;
    }
    if any {
        url(&format!("{body}</details>\n"))
    } else {
        url(&head)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            message: "`_RequestCache` subclasses threading.local",
            rule_help: help,
            finding_url: "https://unthread.example.org/findings/7",
        }
    }

    fn body_of(url: &str) -> String {
        let query = url.split_once('?').unwrap().1;
        form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "body").unwrap().1.into_owned()
    }

    #[test]
    fn a_sub_issue_names_the_epic_the_lines_at_the_commit_and_the_rule() {
        let url =
            sub_issue_url(&sub_issue("## What it finds\n\nA class.\n\n## Fix\n\nUse a ContextVar.", Some("fe75e97")));
        assert!(url.starts_with("https://github.com/openedx/edx-django-utils/issues/new?title=UT002"));
        let body = body_of(&url);
        assert!(body.starts_with("Part of openedx/openedx-platform#38680.\n"));
        assert!(body.contains(
            "https://github.com/openedx/edx-django-utils/blob/fe75e97/edx_django_utils/cache/utils.py#L43-L45"
        ));
        assert!(body.contains("Use a ContextVar."));
        assert!(body.contains("https://unthread.example.org/findings/7"));
        let without_commit = body_of(&sub_issue_url(&sub_issue("", None)));
        assert!(without_commit.contains("`edx_django_utils/cache/utils.py` line 43"));
    }

    #[test]
    fn a_long_help_is_cut_to_fit_a_url() {
        let paragraph = "word ".repeat(200);
        let help = vec![paragraph.as_str(); 40].join("\n\n");
        let url = sub_issue_url(&sub_issue(&help, Some("fe75e97")));
        assert!(url.len() <= MAX_URL_LEN, "{}", url.len());
        assert!(body_of(&url).ends_with("</details>\n"));
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
