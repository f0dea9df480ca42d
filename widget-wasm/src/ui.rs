//! The widget's DOM. The loader (`chat-widget.js`) draws the host
//! `<div id="defmis-chat-root">`, its open shadow root and the launcher at
//! once; this module adds the panel and its CSS to the same root, so the
//! host page's styles cannot leak in and ours cannot leak out.
//!
//! The skeleton is one constant template without any text (no untrusted
//! data in it); every string is set from `i18n` with `set_text_content` or
//! an attribute, and message text only ever reaches the DOM as text nodes
//! and `<a>` elements built by hand (`links`).

use wasm_bindgen::JsCast;
use web_sys::{Document, Element, HtmlElement, HtmlInputElement, HtmlTextAreaElement};

use crate::i18n::{t, Key, Lang};
use crate::{js, links};

const TEMPLATE: &str = concat!(
    "<style>",
    ":host{--dc-bg:#fff;--dc-fg:#111827;--dc-soft:#f9fafb;--dc-line:#d1d5db;--dc-mute:#4b5563}",
    "@media (prefers-color-scheme:dark){:host{--dc-bg:#111827;--dc-fg:#f9fafb;--dc-soft:#1f2937;--dc-line:#4b5563;--dc-mute:#d1d5db}}",
    ".dc-panel{position:fixed;right:20px;bottom:88px;z-index:2147483000;width:370px;height:min(600px,calc(100vh - 108px));",
    "display:flex;flex-direction:column;background:var(--dc-bg);color:var(--dc-fg);border-radius:12px;",
    "box-shadow:0 8px 32px #0003;overflow:hidden;transition:.15s}",
    ":host([data-position=bottom-left]) .dc-panel{right:auto;left:20px}",
    ".dc-head{display:flex;align-items:center;gap:8px;padding:12px 12px 12px 16px;background:var(--dc-p);color:var(--dc-t)}",
    ".dc-head>div{flex:1;min-width:0}",
    ".dc-title{font-size:16px;font-weight:600;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}",
    ".dc-status{font-size:12px;min-height:1em}",
    ".dc-close{padding:4px 8px;border:0;background:none;color:inherit;font-size:24px;line-height:1}",
    ".dc-messages{flex:1;overflow-y:auto;padding:16px;display:flex;flex-direction:column;gap:8px;background:var(--dc-soft)}",
    ".dc-msg,.dc-welcome{max-width:82%;padding:8px 12px;border:1px solid var(--dc-line);border-radius:12px;",
    "background:var(--dc-bg);align-self:flex-start;overflow-wrap:anywhere}",
    ".dc-msg[data-sender=customer]{align-self:flex-end;border-color:transparent;background:var(--dc-p);color:var(--dc-t)}",
    ".dc-msg a{color:inherit;text-decoration:underline}",
    ".dc-text,.dc-welcome{white-space:pre-wrap}",
    ".dc-name{font-size:11px;font-weight:600}",
    ".pending{opacity:.7}",
    ".failed{box-shadow:0 0 0 2px #dc2626}",
    ".dc-err{margin-top:4px;padding:2px 6px;border-radius:6px;background:#fef2f2;color:#b91c1c;font-size:12px}",
    ".dc-retry{margin-left:6px;padding:0 6px;border:1px solid;border-radius:6px;background:#fff;color:#b91c1c;font-size:12px}",
    ".dc-seen{align-self:flex-end;margin-top:-4px;font-size:11px;color:var(--dc-mute)}",
    ".dc-typing,.dc-reply,.dc-note{padding:6px 16px;font-size:12px;color:var(--dc-mute);background:var(--dc-soft)}",
    ".dc-note{text-align:center}",
    ".dc-compose{display:flex;align-items:flex-end;gap:8px;padding:10px;border-top:1px solid var(--dc-line)}",
    ".dc-input,.dc-offline-form input,.dc-offline-form textarea{flex:1;min-height:38px;max-height:120px;padding:8px 10px;",
    "border:1px solid var(--dc-line);border-radius:8px;font:inherit;color:inherit;background:var(--dc-bg);resize:none;width:100%}",
    ".dc-send,.dc-f-send{min-width:40px;height:38px;padding:0 8px;border:0;border-radius:8px;background:var(--dc-p);color:var(--dc-t)}",
    ".dc-send svg{width:20px;height:20px;vertical-align:middle;fill:currentColor}",
    ".dc-offline-form{display:flex;flex-direction:column;gap:8px;padding:16px;overflow-y:auto}",
    ".dc-offline-form label{display:flex;flex-direction:column;gap:4px;font-size:12px}",
    ".dc-offline-form textarea{min-height:90px}",
    ":is(button,input,textarea,a):focus-visible{outline:2px solid var(--dc-fg);outline-offset:2px}",
    "@media (max-width:639px){.dc-panel{inset:0!important;width:auto;height:auto;border-radius:0;",
    "padding:env(safe-area-inset-top) env(safe-area-inset-right) env(safe-area-inset-bottom) env(safe-area-inset-left)}",
    ".dc-input,.dc-offline-form input,.dc-offline-form textarea{font-size:16px}:host(.open) .dc-launcher{display:none}}",
    "@media (prefers-reduced-motion:reduce){*{transition:none!important}}",
    "</style>",
    "<div class=dc-panel part=panel role=dialog hidden>",
    "<div class=dc-head part=header><div><div class=dc-title></div><div class=dc-status role=status></div></div>",
    "<button type=button class=dc-close>&times;</button></div>",
    "<div class=dc-reply hidden></div>",
    "<div class=dc-messages part=messages role=log aria-live=polite tabindex=0><div class=dc-welcome hidden></div></div>",
    "<div class=dc-typing aria-live=polite hidden></div>",
    "<div class=dc-note hidden></div>",
    "<form class=dc-offline-form hidden novalidate><p class=dc-f-intro></p>",
    "<label><span class=dc-l-name></span><input class=dc-f-name autocomplete=name maxlength=200></label>",
    "<label><span class=dc-l-email></span><input class=dc-f-email type=email autocomplete=email required maxlength=254></label>",
    "<label><span class=dc-l-msg></span><textarea class=dc-f-msg required maxlength=4000></textarea></label>",
    "<div class=dc-err hidden></div><button class=dc-f-send></button></form>",
    "<div class=dc-compose part=composer><textarea class=dc-input part=input rows=1 maxlength=4000></textarea>",
    "<button type=button class=dc-send part=send><svg viewBox='0 0 24 24' aria-hidden=true>",
    "<path d='M2 21 23 12 2 3v7l15 2-15 2z'/></svg></button></div></div>",
);

/// Handles to the elements the chat logic updates.
pub struct Ui {
    pub doc: Document,
    pub host: HtmlElement,
    pub launcher: HtmlElement,
    pub badge: Element,
    pub panel: HtmlElement,
    pub close: Element,
    pub title: Element,
    pub status: Element,
    pub reply: Element,
    pub list: Element,
    pub welcome: Element,
    pub typing: Element,
    pub note: Element,
    pub form: Element,
    pub form_name: HtmlInputElement,
    pub form_email: HtmlInputElement,
    pub form_msg: HtmlTextAreaElement,
    pub form_err: Element,
    pub compose: Element,
    pub input: HtmlTextAreaElement,
    pub send: Element,
    /// "Seen", moved under the visitor's last message the agents read.
    pub seen: Element,
    pub lang: Lang,
}

impl Ui {
    /// Adds the panel to the shadow root the loader made on `host`; `None`
    /// if it is missing (the loader did not run) or incomplete.
    pub fn mount(host: HtmlElement, lang: Lang) -> Option<Ui> {
        let doc = host.owner_document()?;
        let root = host.shadow_root()?;
        let wrap = doc.create_element("div").ok()?;
        wrap.set_inner_html(TEMPLATE);
        root.append_child(&wrap).ok()?;
        let q = |sel: &str| root.query_selector(sel).ok().flatten();
        let seen = doc.create_element("div").ok()?;
        seen.set_class_name("dc-seen");
        let ui = Ui {
            launcher: q(".dc-launcher")?.unchecked_into(),
            badge: q(".dc-badge")?,
            panel: q(".dc-panel")?.unchecked_into(),
            close: q(".dc-close")?,
            title: q(".dc-title")?,
            status: q(".dc-status")?,
            reply: q(".dc-reply")?,
            list: q(".dc-messages")?,
            welcome: q(".dc-welcome")?,
            typing: q(".dc-typing")?,
            note: q(".dc-note")?,
            form: q(".dc-offline-form")?,
            form_name: q(".dc-f-name")?.unchecked_into(),
            form_email: q(".dc-f-email")?.unchecked_into(),
            form_msg: q(".dc-f-msg")?.unchecked_into(),
            form_err: q(".dc-offline-form .dc-err")?,
            compose: q(".dc-compose")?,
            input: q(".dc-input")?.unchecked_into(),
            send: q(".dc-send")?,
            seen,
            host,
            doc,
            lang,
        };
        let text = |el: &Element, k: Key| el.set_text_content(Some(t(lang, k)));
        let attr = |el: &Element, a: &str, k: Key| {
            let _ = el.set_attribute(a, t(lang, k));
        };
        text(&ui.title, Key::Chat);
        attr(&ui.panel, "aria-label", Key::Chat);
        attr(&ui.close, "aria-label", Key::CloseChat);
        attr(&ui.list, "aria-label", Key::Messages);
        attr(&ui.input, "aria-label", Key::Message);
        attr(&ui.input, "placeholder", Key::Placeholder);
        attr(&ui.send, "aria-label", Key::Send);
        text(&ui.note, Key::Closed);
        text(&ui.seen, Key::Seen);
        for (sel, k) in [
            (".dc-f-intro", Key::AwayIntro),
            (".dc-l-name", Key::Name),
            (".dc-l-email", Key::Email),
            (".dc-l-msg", Key::Message),
            (".dc-f-send", Key::Send),
        ] {
            if let Some(el) = q(sel) {
                text(&el, k);
            }
        }
        ui.set_unread(0);
        Some(ui)
    }

    pub fn t(&self, k: Key) -> &'static str {
        t(self.lang, k)
    }

    /// Shows or hides the panel; `hidden` and class `open` move together,
    /// focus goes into the panel and back to the launcher.
    pub fn show_panel(&self, open: bool) {
        let _ = self.panel.toggle_attribute_with_force("hidden", !open);
        let _ = self.panel.class_list().toggle_with_force("open", open);
        let _ = self.launcher.class_list().toggle_with_force("open", open);
        let _ = self.host.class_list().toggle_with_force("open", open);
        let _ = self
            .launcher
            .set_attribute("aria-expanded", if open { "true" } else { "false" });
        let _ = self.launcher.set_attribute(
            "aria-label",
            self.t(if open { Key::CloseChat } else { Key::OpenChat }),
        );
        if open {
            let _ = if self.form.has_attribute("hidden") {
                self.input.focus()
            } else {
                self.form_email.focus()
            };
            self.scroll_to_end();
        } else {
            let _ = self.launcher.focus();
        }
    }

    /// The status line, with the connection state in `data-state`.
    pub fn set_status(&self, k: Key, state: &str) {
        self.status.set_text_content(Some(self.t(k)));
        let _ = self.status.set_attribute("data-state", state);
    }

    pub fn set_unread(&self, n: u64) {
        let _ = self.badge.toggle_attribute_with_force("hidden", n == 0);
        self.badge.set_text_content(Some(&js::uint(n)));
        if !self.panel.class_list().contains("open") {
            let _ = self.launcher.set_attribute(
                "aria-label",
                self.t(if n == 0 {
                    Key::OpenChat
                } else {
                    Key::OpenChatUnread
                }),
            );
        }
    }

    pub fn show(&self, el: &Element, shown: bool) {
        let _ = el.toggle_attribute_with_force("hidden", !shown);
    }

    /// Whether the list is scrolled (nearly) to its end, so new messages
    /// should keep it there.
    pub fn at_end(&self) -> bool {
        self.list.scroll_height() - self.list.scroll_top() - self.list.client_height() < 60
    }

    pub fn scroll_to_end(&self) {
        self.list.set_scroll_top(self.list.scroll_height());
    }

    /// Grows the textarea with its content, up to the CSS max-height.
    pub fn fit_input(&self) {
        let style = self.input.style();
        let _ = style.set_property("height", "auto");
        let mut px = js::uint(self.input.scroll_height().max(0) as u64 + 2);
        px.push_str("px");
        let _ = style.set_property("height", &px);
    }

    /// A message bubble: `.dc-msg[data-sender][data-client-id]` with the text
    /// in `.dc-text` (links as `<a>`), the agent's name in `.dc-name`.
    pub fn bubble(
        &self,
        sender: &str,
        content: &str,
        client_id: Option<&str>,
        name: Option<&str>,
    ) -> Option<Element> {
        let el = self.doc.create_element("div").ok()?;
        el.set_class_name("dc-msg");
        el.set_attribute("data-sender", sender).ok()?;
        if let Some(cid) = client_id {
            el.set_attribute("data-client-id", cid).ok()?;
        }
        if let Some(name) = name.filter(|n| !n.is_empty()) {
            let n = self.doc.create_element("div").ok()?;
            n.set_class_name("dc-name");
            n.set_text_content(Some(name));
            el.append_child(&n).ok()?;
        }
        let text = self.doc.create_element("div").ok()?;
        text.set_class_name("dc-text");
        for (link, piece) in links::split(content) {
            if link {
                let a = self.doc.create_element("a").ok()?;
                a.set_attribute("href", piece).ok()?;
                a.set_attribute("target", "_blank").ok()?;
                a.set_attribute("rel", "noopener noreferrer nofollow")
                    .ok()?;
                a.set_text_content(Some(piece));
                text.append_child(&a).ok()?;
            } else {
                text.append_child(&self.doc.create_text_node(piece)).ok()?;
            }
        }
        el.append_child(&text).ok()?;
        Some(el)
    }

    /// Marks a visitor's bubble `sending`, `sent` or `failed` (the classes
    /// `pending` and `failed` go with it); a failed one gets the reason and,
    /// when resending can help, a `.dc-retry` button.
    pub fn set_state(&self, el: &Element, state: &str, reason: Option<&str>, retry: bool) {
        let _ = el.set_attribute("data-state", state);
        let classes = el.class_list();
        let _ = classes.toggle_with_force("pending", state == "sending");
        let _ = classes.toggle_with_force("failed", state == "failed");
        if let Ok(Some(old)) = el.query_selector(".dc-err") {
            old.remove();
        }
        if state == "failed" {
            if let Ok(err) = self.doc.create_element("div") {
                err.set_class_name("dc-err");
                err.set_text_content(Some(reason.unwrap_or(self.t(Key::NotSent))));
                if retry {
                    if let Ok(b) = self.doc.create_element("button") {
                        let _ = b.set_attribute("type", "button");
                        b.set_class_name("dc-retry");
                        b.set_text_content(Some(self.t(Key::Retry)));
                        let _ = err.append_child(&b);
                    }
                }
                let _ = el.append_child(&err);
            }
        }
    }

    /// Inserts a stored message so that the list stays in seq order: walks
    /// back from the end over unacknowledged bubbles and higher seqs, and
    /// stops at a lower seq or the welcome text.
    pub fn insert_ordered(&self, el: &Element, seq: u64) {
        let mut cur = self.list.last_element_child();
        while let Some(c) = cur {
            let stop = match c.get_attribute("data-seq") {
                Some(s) => js::parse_uint(&s).is_none_or(|s| s < seq),
                None => !c.class_list().contains("dc-msg") && c != self.seen,
            };
            if stop {
                let _ = self.list.insert_before(el, c.next_sibling().as_ref());
                return;
            }
            cur = c.previous_element_sibling();
        }
        let _ = self.list.append_child(el);
    }

    /// The bubble still waiting for `client_id` (no `data-seq` yet).
    pub fn pending(&self, client_id: &str) -> Option<Element> {
        let mut cur = self.list.last_element_child();
        while let Some(c) = cur {
            if !c.has_attribute("data-seq")
                && c.get_attribute("data-client-id").as_deref() == Some(client_id)
            {
                return Some(c);
            }
            cur = c.previous_element_sibling();
        }
        None
    }

    /// Moves "Seen" under the visitor's last message with seq ≤ `upto`.
    pub fn place_seen(&self, upto: u64) {
        let mut cur = self.list.last_element_child();
        while let Some(c) = cur {
            let seq = c.get_attribute("data-seq").and_then(|s| js::parse_uint(&s));
            if c.get_attribute("data-sender").as_deref() == Some("customer")
                && seq.is_some_and(|s| s <= upto)
            {
                let _ = self
                    .list
                    .insert_before(&self.seen, c.next_sibling().as_ref());
                return;
            }
            cur = c.previous_element_sibling();
        }
        self.seen.remove();
    }

    /// Removes every message bubble (a new identity, or forgotten
    /// credentials); `keep_unsent` keeps those without a seq.
    pub fn clear(&self, keep_unsent: bool) {
        let mut cur = self.list.last_element_child();
        while let Some(c) = cur {
            cur = c.previous_element_sibling();
            if c.class_list().contains("dc-msg") && (!keep_unsent || c.has_attribute("data-seq")) {
                c.remove();
            }
        }
        self.seen.remove();
    }
}
