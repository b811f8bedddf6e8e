//! Markdown to HTML, on the server only, for text the project itself writes (the rule
//! catalogue, the weekly report). Raw HTML inside the Markdown is escaped, never passed
//! through — but for a fold: `<details><summary>plain text</summary>` and `</details>`, which
//! the weekly report puts its tables in.

use pulldown_cmark::{html, Event, Options, Parser};

pub fn to_html(markdown: &str) -> String {
    let parser =
        Parser::new_ext(markdown, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH).map(|event| match event {
            Event::Html(raw) if is_fold(&raw) => Event::Html(raw),
            Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
            other => other,
        });
    let mut out = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut out, parser);
    out
}

/// `<details><summary>…</summary>` around plain text, or `</details>`.
fn is_fold(raw: &str) -> bool {
    let raw = raw.trim();
    raw == "</details>"
        || raw
            .strip_prefix("<details><summary>")
            .and_then(|rest| rest.strip_suffix("</summary>"))
            .is_some_and(|summary| !summary.contains(['<', '>', '&', '"']))
}

#[cfg(test)]
mod tests {
    #[test]
    fn renders_markdown_and_escapes_raw_html() {
        let html = super::to_html("Use `ContextVar`.\n\n<script>alert(1)</script>");
        assert!(html.contains("<code>ContextVar</code>"), "{html}");
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
    }

    #[test]
    fn a_fold_passes_and_nothing_else_does() {
        let html = super::to_html(
            "News.\n\n<details><summary>Numbers: tables</summary>\n\n| a |\n| --- |\n| 1 |\n\n</details>\n",
        );
        assert!(html.contains("<details><summary>Numbers: tables</summary>"), "{html}");
        assert!(html.contains("</details>"), "{html}");
        assert!(html.contains("<table>"), "{html}");
        let hostile = super::to_html("<details><summary><img src=x onerror=alert(1)></summary>\n");
        assert!(!hostile.contains("<img"), "{hostile}");
    }
}
