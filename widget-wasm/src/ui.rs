//! The widget's DOM: a host `<div id="defmis-chat-root">` whose open shadow
//! root holds all markup and CSS, so the host page's styles cannot leak in
//! and ours cannot leak out.
//!
//! The skeleton is one constant template (no untrusted data in it); message
//! text only ever reaches the DOM through `set_text_content`.

use wasm_bindgen::JsCast;
use web_sys::{
    Document, Element, HtmlElement, HtmlTextAreaElement, ShadowRootInit, ShadowRootMode,
};

use crate::js;

/// The id of the host element; its presence also marks "already started".
pub const HOST_ID: &str = "defmis-chat-root";

const TEMPLATE: &str = concat!(
    "<style>",
    ":host{all:initial;--dc-p:#2563eb;--dc-t:#fff;font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#111827}",
    "*{box-sizing:border-box}",
    "[hidden]{display:none!important}",
    "button{font:inherit;cursor:pointer}",
    "button:focus-visible,.dc-input:focus-visible{outline:2px solid #111827;outline-offset:2px}",
    ".dc-launcher,.dc-panel{position:fixed;right:20px;z-index:2147483000}",
    ":host([data-position=bottom-left]) .dc-launcher,:host([data-position=bottom-left]) .dc-panel{right:auto;left:20px}",
    ".dc-launcher{bottom:20px;width:56px;height:56px;padding:0;border:0;border-radius:50%;background:var(--dc-p);color:var(--dc-t);",
    "box-shadow:0 4px 16px rgba(0,0,0,.25);display:flex;align-items:center;justify-content:center}",
    "svg{width:26px;height:26px;fill:currentColor}",
    ".dc-launcher .x,.dc-launcher.open .c{display:none}.dc-launcher.open .x{display:block}",
    ".dc-badge{position:absolute;top:-4px;right:-4px;min-width:20px;height:20px;padding:0 6px;border-radius:10px;",
    "background:#dc2626;color:#fff;font-size:12px;font-weight:600;line-height:20px;text-align:center}",
    ".dc-panel{bottom:88px;width:370px;height:min(600px,calc(100vh - 108px));display:flex;flex-direction:column;",
    "background:#fff;border-radius:12px;box-shadow:0 8px 32px rgba(0,0,0,.22);overflow:hidden}",
    ".dc-head{display:flex;align-items:center;gap:8px;padding:12px 12px 12px 16px;background:var(--dc-p);color:var(--dc-t)}",
    ".dc-head>div{flex:1;min-width:0}",
    ".dc-title{font-size:16px;font-weight:600;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}",
    ".dc-status{font-size:12px;opacity:.85;min-height:1em}",
    ".dc-close{padding:4px 8px;border:0;background:none;color:inherit;font-size:24px;line-height:1}",
    ".dc-messages{flex:1;overflow-y:auto;padding:16px;display:flex;flex-direction:column;gap:8px;background:#f9fafb}",
    ".dc-msg,.dc-welcome{max-width:82%;padding:8px 12px;border:1px solid #e5e7eb;border-radius:12px;background:#fff;",
    "align-self:flex-start;overflow-wrap:anywhere}",
    ".dc-msg[data-sender=customer]{align-self:flex-end;border-color:transparent;background:var(--dc-p);color:var(--dc-t)}",
    ".dc-text,.dc-welcome{white-space:pre-wrap}",
    ".dc-name{font-size:11px;font-weight:600;opacity:.7}",
    ".pending{opacity:.6}",
    ".failed{box-shadow:0 0 0 2px #dc2626}",
    ".dc-err{margin-top:4px;padding:2px 6px;border-radius:6px;background:#fef2f2;color:#b91c1c;font-size:12px}",
    ".dc-note{padding:6px 16px;background:#f3f4f6;color:#4b5563;font-size:12px;text-align:center}",
    ".dc-compose{display:flex;align-items:flex-end;gap:8px;padding:10px;border-top:1px solid #e5e7eb}",
    ".dc-input{flex:1;min-height:38px;max-height:120px;padding:8px 10px;border:1px solid #d1d5db;border-radius:8px;",
    "font:inherit;color:inherit;background:#fff;resize:none}",
    ".dc-send{width:40px;height:38px;padding:0;border:0;border-radius:8px;background:var(--dc-p);color:var(--dc-t)}",
    ".dc-send svg{width:20px;height:20px;vertical-align:middle}",
    "@media (max-width:480px){.dc-panel{inset:0!important;width:auto;height:auto;border-radius:0}.dc-launcher.open{display:none}}",
    "</style>",
    "<button type=button class=dc-launcher aria-label='Open chat' aria-expanded=false>",
    "<svg class=c viewBox='0 0 24 24' aria-hidden=true><path d='M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H8l-5 4V5a2 2 0 0 1 1-2z'/></svg>",
    "<svg class=x viewBox='0 0 24 24' aria-hidden=true><path d='M18.3 5.7 12 12l6.3 6.3-1.4 1.4L10.6 13.4 4.3 19.7 2.9 18.3 9.2 12 2.9 5.7 4.3 4.3l6.3 6.3 6.3-6.3z'/></svg>",
    "<span class=dc-badge aria-hidden=true hidden></span></button>",
    "<div class=dc-panel role=dialog aria-label=Chat hidden>",
    "<div class=dc-head><div><div class=dc-title>Chat</div><div class=dc-status></div></div>",
    "<button type=button class=dc-close aria-label='Close chat'>&times;</button></div>",
    "<div class=dc-messages role=log aria-live=polite><div class=dc-welcome hidden></div></div>",
    "<div class=dc-note hidden>This conversation has been closed.</div>",
    "<div class=dc-compose><textarea class=dc-input rows=1 maxlength=4000 placeholder='Type a message…' aria-label=Message></textarea>",
    "<button type=button class=dc-send aria-label='Send message'><svg viewBox='0 0 24 24' aria-hidden=true>",
    "<path d='M2 21 23 12 2 3v7l15 2-15 2z'/></svg></button></div></div>",
);

/// Handles to the elements the chat logic updates.
pub struct Ui {
    pub doc: Document,
    pub host: HtmlElement,
    pub launcher: HtmlElement,
    pub badge: Element,
    pub panel: Element,
    pub close: Element,
    pub title: Element,
    pub status: Element,
    pub list: Element,
    pub welcome: Element,
    pub note: Element,
    pub input: HtmlTextAreaElement,
    pub send: Element,
}

impl Ui {
    /// Builds the widget and appends it to `<body>`; `None` if there is no
    /// body yet or the browser lacks shadow DOM.
    pub fn mount(doc: Document) -> Option<Ui> {
        let body = doc.body()?;
        let host: HtmlElement = doc.create_element("div").ok()?.dyn_into().ok()?;
        host.set_id(HOST_ID);
        let root = host
            .attach_shadow(&ShadowRootInit::new(ShadowRootMode::Open))
            .ok()?;
        root.set_inner_html(TEMPLATE);
        let q = |sel: &str| root.query_selector(sel).ok().flatten();
        let ui = Ui {
            launcher: q(".dc-launcher")?.dyn_into().ok()?,
            badge: q(".dc-badge")?,
            panel: q(".dc-panel")?,
            close: q(".dc-close")?,
            title: q(".dc-title")?,
            status: q(".dc-status")?,
            list: q(".dc-messages")?,
            welcome: q(".dc-welcome")?,
            note: q(".dc-note")?,
            input: q(".dc-input")?.dyn_into().ok()?,
            send: q(".dc-send")?,
            host,
            doc,
        };
        body.append_child(&ui.host).ok()?;
        Some(ui)
    }

    /// Shows or hides the panel; `hidden` and class `open` move together.
    pub fn show_panel(&self, open: bool) {
        let _ = self.panel.toggle_attribute_with_force("hidden", !open);
        let _ = self.panel.class_list().toggle_with_force("open", open);
        let _ = self.launcher.class_list().toggle_with_force("open", open);
        let _ = self
            .launcher
            .set_attribute("aria-expanded", if open { "true" } else { "false" });
        let _ = self
            .launcher
            .set_attribute("aria-label", if open { "Close chat" } else { "Open chat" });
        if open {
            let _ = self.input.focus();
            self.scroll_to_end();
        }
    }

    pub fn set_status(&self, text: &str) {
        self.status.set_text_content(Some(text));
    }

    pub fn set_unread(&self, n: u64) {
        let _ = self.badge.toggle_attribute_with_force("hidden", n == 0);
        self.badge.set_text_content(Some(&js::uint(n)));
        let _ = self.launcher.set_attribute(
            "aria-label",
            if n == 0 {
                "Open chat"
            } else {
                "Open chat (new messages)"
            },
        );
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
    /// in `.dc-text` (and the agent's name in `.dc-name` above it).
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
        text.set_text_content(Some(content));
        el.append_child(&text).ok()?;
        Some(el)
    }

    /// Inserts a stored message so that the list stays in seq order: walks
    /// back from the end over pending bubbles and higher seqs, and stops at a
    /// lower seq, a failed bubble or the welcome text.
    pub fn insert_ordered(&self, el: &Element, seq: u64) {
        let mut cur = self.list.last_element_child();
        while let Some(c) = cur {
            let stop = match c.get_attribute("data-seq") {
                Some(s) => s.parse::<u64>().map_or(true, |s| s < seq),
                None => !c.class_list().contains("pending"),
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
}
