//! The customer panel beside a conversation: who the visitor is (id, name,
//! e-mail, verified by the site), when they were first and last seen, the
//! page they are on and where they came from, their browser and local
//! time, and their other conversations. Every value comes from the
//! visitor's browser: shown as text, linked only when it is a web address.

use leptos::either::Either;
use leptos::prelude::*;

use super::sessions::INBOX;
use crate::types::{preview, short_time, SessionView, VisitorView};

/// Only http(s) addresses become links (the server keeps only those; this
/// holds even if a row says otherwise).
fn web_link(url: &str) -> bool {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    lower.starts_with("https://") || lower.starts_with("http://")
}

fn link_row(label: &'static str, class: &'static str, url: Option<String>) -> impl IntoView {
    url.map(|url| {
        let value = if web_link(&url) {
            let href = url.clone();
            Either::Left(view! {
                <a href=href target="_blank" rel="noopener noreferrer nofollow">
                    {url}
                </a>
            })
        } else {
            Either::Right(url)
        };
        view! {
            <dt>{label}</dt>
            <dd class=class>{value}</dd>
        }
    })
}

fn text_row(label: &'static str, class: &'static str, value: Option<String>) -> impl IntoView {
    value.map(|value| {
        view! {
            <dt>{label}</dt>
            <dd class=class>{value}</dd>
        }
    })
}

#[component]
pub fn CustomerPanel(
    session: RwSignal<SessionView>,
    /// Live: a single-page site's visitor moving to another page changes it.
    visitor: RwSignal<Option<VisitorView>>,
    earlier: Vec<SessionView>,
) -> impl IntoView {
    let verified = move || visitor.with(|v| v.as_ref().is_some_and(|v| v.verified));
    let facts = move || {
        let v = visitor.get().unwrap_or_default();
        let local_time = v.local_time.map(|t| match &v.time_zone {
            Some(zone) => format!("{t}, {zone}"),
            None => t,
        });
        let last_seen = (!v.last_seen.is_empty()).then(|| short_time(&v.last_seen));
        let browser = v.browser.or_else(|| v.user_agent.clone());
        let agent_title = v.user_agent.unwrap_or_default();
        view! {
            {text_row("Last seen", "last-seen", last_seen)}
            {link_row("Page", "page-url", v.page_url)}
            {link_row("Came from", "referrer", v.referrer)}
            {browser
                .map(|b| {
                    view! {
                        <dt>"Browser"</dt>
                        <dd class="browser" title=agent_title>
                            {b}
                        </dd>
                    }
                })}
            {text_row("Local time", "local-time", local_time)}
        }
    };
    view! {
        <details class="customer-panel" open>
            <summary>
                "Customer"
                {move || {
                    verified()
                        .then(|| {
                        view! {
                            <span
                                class="badge verified"
                                title="The site's server vouched for this customer id (identity verification)"
                            >
                                "Verified"
                            </span>
                        }
                    })
                }}
            </summary>
            <dl>
                <dt>"Customer id"</dt>
                <dd class="customer-id">
                    <code>{move || session.with(|s| s.customer_id.to_string())}</code>
                </dd>
                {move || session.with(|s| text_row("Name", "customer-name", s.name.clone()))}
                {move || session.with(|s| text_row("E-mail", "customer-email", s.email.clone()))}
                <dt>"First seen"</dt>
                <dd class="first-seen">{move || session.with(|s| short_time(&s.created_at))}</dd>
                {facts}
            </dl>
            {(!earlier.is_empty())
                .then(|| {
                    view! {
                        <h3>"Earlier conversations"</h3>
                        <ul class="earlier-conversations">
                            {earlier
                                .into_iter()
                                .map(|s| {
                                    let href = format!("{INBOX}/{}", s.id);
                                    let gist = s
                                        .last_message
                                        .as_deref()
                                        .map(|m| preview(m, 60))
                                        .unwrap_or_else(|| "No messages".into());
                                    view! {
                                        <li>
                                            <a href=href>{short_time(&s.created_at)}</a>
                                            " "
                                            <span class="status" data-status=s.status.as_str()>
                                                {s.status.as_str()}
                                            </span>
                                            <span class="muted">" " {gist}</span>
                                        </li>
                                    }
                                })
                                .collect_view()}
                        </ul>
                    }
                })}
        </details>
    }
}

#[cfg(test)]
mod tests {
    use super::web_link;

    #[test]
    fn only_web_addresses_are_links() {
        assert!(web_link("https://shop.example/"));
        assert!(web_link("HTTP://shop.example/"));
        assert!(!web_link("javascript:alert(1)"));
        assert!(!web_link("data:text/html,x"));
        assert!(!web_link("http"));
    }
}
