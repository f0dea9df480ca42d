//! The customer panel beside a conversation: who the visitor is (id, name,
//! e-mail, verified by the site), when they were first and last seen, the
//! page they are on and where they came from, their browser and local
//! time, and their other conversations. Every value comes from the
//! visitor's browser: shown as text, linked only when it is a web address.

use leptos::prelude::*;

use super::html::{attribute, element, escape};
use super::sessions::INBOX;
use crate::types::{preview, short_time, SessionView, VisitorView};

/// Only http(s) addresses become links (the server keeps only those; this
/// holds even if a row says otherwise).
fn web_link(url: &str) -> bool {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    lower.starts_with("https://") || lower.starts_with("http://")
}

/// `<dt>label</dt><dd class=…>value</dd>`, when there is a value.
fn text_row(out: &mut String, label: &str, class: &str, value: Option<&str>) {
    if let Some(value) = value {
        element(out, "dt", "", label);
        element(out, "dd", class, value);
    }
}

/// A row whose value is a link when it is a web address.
fn link_row(out: &mut String, label: &str, class: &str, url: Option<&str>) {
    let Some(url) = url else { return };
    if !web_link(url) {
        return text_row(out, label, class, Some(url));
    }
    element(out, "dt", "", label);
    out.push_str("<dd class=\"");
    out.push_str(class);
    out.push_str("\"><a");
    attribute(out, "href", url);
    out.push_str(" target=\"_blank\" rel=\"noopener noreferrer nofollow\">");
    escape(out, url);
    out.push_str("</a></dd>");
}

/// The panel's contents as HTML (every value escaped).
fn panel_html(
    session: &SessionView,
    visitor: Option<&VisitorView>,
    earlier: &[SessionView],
) -> String {
    let mut out = String::from("<summary>Customer");
    if visitor.is_some_and(|v| v.verified) {
        out.push_str(
            "<span class=\"badge verified\" title=\"The site&#39;s server vouched for this \
             customer id (identity verification)\">Verified</span>",
        );
    }
    out.push_str("</summary><dl><dt>Customer id</dt><dd class=\"customer-id\">");
    element(&mut out, "code", "", session.customer_id.as_str());
    out.push_str("</dd>");
    text_row(&mut out, "Name", "customer-name", session.name.as_deref());
    text_row(
        &mut out,
        "E-mail",
        "customer-email",
        session.email.as_deref(),
    );
    text_row(
        &mut out,
        "First seen",
        "first-seen",
        Some(&short_time(&session.created_at)),
    );
    if let Some(v) = visitor {
        let last_seen = (!v.last_seen.is_empty()).then(|| short_time(&v.last_seen));
        text_row(&mut out, "Last seen", "last-seen", last_seen.as_deref());
        link_row(&mut out, "Page", "page-url", v.page_url.as_deref());
        link_row(&mut out, "Came from", "referrer", v.referrer.as_deref());
        if let Some(browser) = v.browser.as_deref().or(v.user_agent.as_deref()) {
            out.push_str("<dt>Browser</dt><dd class=\"browser\"");
            attribute(
                &mut out,
                "title",
                v.user_agent.as_deref().unwrap_or_default(),
            );
            out.push('>');
            escape(&mut out, browser);
            out.push_str("</dd>");
        }
        let local_time = v.local_time.as_ref().map(|t| match &v.time_zone {
            Some(zone) => format!("{t}, {zone}"),
            None => t.clone(),
        });
        text_row(&mut out, "Local time", "local-time", local_time.as_deref());
    }
    out.push_str("</dl>");
    if !earlier.is_empty() {
        out.push_str("<h3>Earlier conversations</h3><ul class=\"earlier-conversations\">");
        for s in earlier {
            let gist = s
                .last_message
                .as_deref()
                .map(|m| preview(m, 60))
                .unwrap_or_else(|| "No messages".into());
            out.push_str("<li><a");
            attribute(&mut out, "href", &format!("{INBOX}/{}", s.id));
            out.push('>');
            escape(&mut out, &short_time(&s.created_at));
            out.push_str("</a> <span class=\"status\"");
            attribute(&mut out, "data-status", s.status.as_str());
            out.push('>');
            out.push_str(s.status.as_str());
            out.push_str("</span>");
            element(&mut out, "span", "muted", &format!(" {gist}"));
            out.push_str("</li>");
        }
        out.push_str("</ul>");
    }
    out
}

/// The customer panel beside a conversation, live: drawn again (as one
/// string) when the conversation or the visitor's facts change (a
/// single-page site's visitor moving to another page changes them).
pub fn customer_panel(
    session: RwSignal<SessionView>,
    visitor: RwSignal<Option<VisitorView>>,
    earlier: Vec<SessionView>,
) -> impl IntoView {
    let html =
        Memo::new(move |_| session.with(|s| visitor.with(|v| panel_html(s, v.as_ref(), &earlier))));
    view! { <details class="customer-panel" open inner_html=move || html.get()></details> }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_web_addresses_are_links() {
        assert!(web_link("https://shop.example/"));
        assert!(web_link("HTTP://shop.example/"));
        assert!(!web_link("javascript:alert(1)"));
        assert!(!web_link("data:text/html,x"));
        assert!(!web_link("http"));
    }

    #[test]
    fn the_panel_escapes_what_the_visitor_sent() {
        let session = SessionView {
            id: "s1".into(),
            customer_id: "c1".into(),
            name: Some("<img src=x onerror=alert(1)>".into()),
            email: None,
            status: crate::types::SessionStatus::Open,
            created_at: "2026-12-08T10:00:00Z".into(),
            updated_at: "2026-12-08T10:00:00Z".into(),
            last_message: None,
            last_message_at: None,
            last_seq: 0,
            customer_read_seq: 0,
            agent_read_seq: 0,
            offline: false,
            assignee_id: None,
            assignee_name: None,
            unread: 0,
            waiting: false,
        };
        let visitor = VisitorView {
            page_url: Some("javascript:alert(1)".into()),
            referrer: Some("https://example.com/?a=1&b=\"2\"".into()),
            ..VisitorView::default()
        };
        let html = panel_html(&session, Some(&visitor), &[]);
        assert!(!html.contains("<img"), "{html}");
        assert!(
            html.contains("<dd class=\"customer-name\">&lt;img src=x onerror=alert(1)&gt;</dd>"),
            "{html}"
        );
        assert!(
            html.contains("<dd class=\"page-url\">javascript:alert(1)</dd>"),
            "{html}"
        );
        assert!(
            html.contains("href=\"https://example.com/?a=1&amp;b=&quot;2&quot;\""),
            "{html}"
        );
    }
}
