//! HTML we write ourselves, for a part of a page drawn from data alone,
//! with no controls in it (a conversation's customer panel): one string
//! set as `inner_html` costs the wasm far less than a Leptos view per row
//! (the panel: −9.5 KB gzipped on a conversation's first load,
//! `scripts/dashboard-sizes.py`, 2026-12-08). Every text and attribute
//! value goes through [`escape`].

/// `text` with `&`, `<`, `>`, `"` and `'` escaped: safe as an element's
/// text and as a quoted attribute value.
pub fn escape(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// Appends `<tag class="…">text</tag>`, the text escaped.
pub fn element(out: &mut String, tag: &str, class: &str, text: &str) {
    out.push('<');
    out.push_str(tag);
    if !class.is_empty() {
        out.push_str(" class=\"");
        out.push_str(class);
        out.push('"');
    }
    out.push('>');
    escape(out, text);
    out.push_str("</");
    out.push_str(tag);
    out.push('>');
}

/// Appends ` name="value"`, the value escaped.
pub fn attribute(out: &mut String, name: &str, value: &str) {
    out.push(' ');
    out.push_str(name);
    out.push_str("=\"");
    escape(out, value);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_attributes_are_escaped() {
        let mut out = String::new();
        element(&mut out, "span", "who", "<b>&'\"</b>");
        attribute(&mut out, "title", "\"><script>");
        assert_eq!(
            out,
            "<span class=\"who\">&lt;b&gt;&amp;&#39;&quot;&lt;/b&gt;</span> title=\"&quot;&gt;&lt;script&gt;\""
        );
    }
}
