//! The "open an upstream issue" link of a dependency whose newest release still has findings:
//! a GitHub new-issue URL that pre-fills the title and a body listing them — a link the
//! maintainer follows and edits, not an API call.

use db::views::UpstreamFinding;

/// GitHub answers 414 past about 8 kB of URL: the list is cut (saying how many were left out)
/// to stay under this.
pub const MAX_URL_LEN: usize = 8000;

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
    let url = |body: &str| {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.append_pair("title", &title).append_pair("body", body);
        format!("{repository}/issues/new?{}", query.finish())
    };
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

#[cfg(test)]
mod tests {
    use super::*;

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
