//! Markdown to HTML, on the server only, for text the project itself writes (the rule
//! catalogue). Raw HTML inside the Markdown is escaped, never passed through.

use pulldown_cmark::{html, Event, Options, Parser};

pub fn to_html(markdown: &str) -> String {
    let parser =
        Parser::new_ext(markdown, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH).map(|event| match event {
            Event::Html(raw) | Event::InlineHtml(raw) => Event::Text(raw),
            other => other,
        });
    let mut out = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut out, parser);
    out
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
}
