//! `/dashboard/settings`: the widget's settings, for admins. Every
//! setting in one form, a live preview of the real widget with the unsaved
//! values (an iframe of `/dashboard/widget-preview`, refreshed a moment
//! after each change), the integration snippet with a copy button, and
//! identity verification: the secret (make a new one), the required
//! toggle, and the server-side code that computes `customer_hash`, and
//! which files visitors and agents may send (within the server's limits).
//! Saving applies the settings on every instance at once.
//!
//! Stable selectors: `form.widget-settings` (inputs by `name`),
//! `iframe.widget-preview`, `.snippet pre code`, `.identity-secret`,
//! `.saved-at`.

use leptos::ev;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::list::{keyed, Row};
use super::{error_box, status_line};
use crate::api::{rotate_identity_secret, save_widget_settings, widget_settings};
use crate::pages::events::handle;
use crate::types::{
    query_escape, short_time, AttachmentLimits, OfflineMode, SecretSource, WidgetPosition,
    WidgetSettingsChange, WidgetSettingsView,
};
use crate::upload::human_size;

/// How long the preview waits after a change before it reloads.
const PREVIEW_DELAY_MS: u64 = 400;

#[component]
pub fn SettingsPage() -> impl IntoView {
    let settings = crate::json::resource(|| (), |_| widget_settings());
    view! {
            <div class="page-head">
                <h1>"Widget"</h1>
            </div>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match settings.await {
                        Ok(initial) => view! { <Settings initial /> }.into_any(),
                        Err(error) => error_box(error).into_any(),
                    }
                })}
            </Suspense>
    }
}

/// The form's values, as typed.
#[derive(Clone, Debug, PartialEq)]
struct Draft {
    title: String,
    welcome_message: String,
    primary_color: String,
    text_color: String,
    position: WidgetPosition,
    offline_mode: OfflineMode,
    reply_time: String,
    allowed_origins: String,
    identity_required: bool,
    files_enabled: bool,
    /// The largest file, in MB (MiB) as typed.
    files_max_mb: String,
    /// In the server's order.
    files_types: Vec<String>,
}

const MIB: u64 = 1024 * 1024;

/// Bytes as MB for the form, to a thousandth: `10485760` → `10`,
/// `1536000` → `1.465`. Integers only: the float formatter and parser
/// would put core's float printing and reading, with their tables (about
/// 10 KB of them), into the main wasm module every page loads.
fn megabytes(bytes: u64) -> String {
    let thousandths = bytes.saturating_mul(1000).saturating_add(MIB / 2) / MIB;
    let (whole, part) = (thousandths / 1000, thousandths % 1000);
    if part == 0 {
        whole.to_string()
    } else {
        format!("{whole}.{part:03}")
            .trim_end_matches('0')
            .to_string()
    }
}

/// The form's MB as bytes (`1.5` or `1,5`; decimals past the ninth are
/// dropped); what cannot be read is 0, which the server refuses with its
/// reason.
fn bytes_of(mb: &str) -> u64 {
    let text = mb.trim().replace(',', ".");
    let (whole, part) = text.split_once('.').unwrap_or((&text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && part.is_empty()) || !digits(whole) || !digits(part) {
        return 0;
    }
    let Ok(whole) = (if whole.is_empty() {
        Ok(0)
    } else {
        whole.parse::<u64>()
    }) else {
        return 0;
    };
    let part = &part[..part.len().min(9)];
    let scale = 10u64.pow(part.len() as u32);
    let fraction = part.parse::<u64>().unwrap_or(0);
    whole
        .checked_mul(MIB)
        .and_then(|b| b.checked_add((fraction * MIB + scale / 2) / scale))
        .unwrap_or(0)
}

impl Draft {
    fn of(s: &WidgetSettingsView) -> Self {
        Self {
            title: s.title.clone(),
            welcome_message: s.welcome_message.clone(),
            primary_color: s.primary_color.clone(),
            text_color: s.text_color.clone(),
            position: s.position,
            offline_mode: s.offline_mode,
            reply_time: s.reply_time.clone(),
            allowed_origins: s.allowed_origins.join("\n"),
            identity_required: s.identity_required,
            files_enabled: s.attachments.enabled,
            files_max_mb: megabytes(s.attachments.max_bytes),
            files_types: s.attachments.types.clone(),
        }
    }

    fn change(&self) -> WidgetSettingsChange {
        WidgetSettingsChange {
            title: Some(self.title.clone()),
            welcome_message: Some(self.welcome_message.clone()),
            primary_color: Some(self.primary_color.clone()),
            text_color: Some(self.text_color.clone()),
            position: Some(self.position),
            offline_mode: Some(self.offline_mode),
            reply_time: Some(self.reply_time.clone()),
            allowed_origins: Some(
                self.allowed_origins
                    .split(['\n', ','])
                    .map(|o| o.trim().to_string())
                    .filter(|o| !o.is_empty())
                    .collect(),
            ),
            identity_required: Some(self.identity_required),
            identity_secret: None,
            attachments: Some(AttachmentLimits {
                enabled: self.files_enabled,
                max_bytes: bytes_of(&self.files_max_mb),
                types: self.files_types.clone(),
            }),
        }
    }

    /// The preview page's address for these values.
    fn preview_src(&self, available: bool) -> String {
        // The preview shows the look; origins and identity do not change it.
        let look = WidgetSettingsChange {
            allowed_origins: None,
            identity_required: None,
            attachments: None,
            ..self.change()
        };
        let json = serde_json::to_string(&look).unwrap_or_default();
        format!(
            "/dashboard/widget-preview?available={available}&draft={}",
            query_escape(&json)
        )
    }
}

#[component]
fn Settings(initial: WidgetSettingsView) -> impl IntoView {
    let saved = RwSignal::new(initial.clone());
    let draft = RwSignal::new(Draft::of(&initial));
    let available = RwSignal::new(true);
    let preview_src = RwSignal::new(Draft::of(&initial).preview_src(true));
    let error = RwSignal::new(None::<String>);
    let status = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);

    // The preview follows the form a moment after the last change.
    let generation = StoredValue::new(0u64);
    Effect::new(move |first: Option<()>| {
        let src = draft.with(|d| d.preview_src(available.get()));
        if first.is_none() {
            return;
        }
        generation.update_value(|g| *g += 1);
        let mine = generation.get_value();
        set_timeout(
            move || {
                if generation.try_get_value() == Some(mine) {
                    preview_src.set(src);
                }
            },
            std::time::Duration::from_millis(PREVIEW_DELAY_MS),
        );
    });

    let dirty = move || draft.with(|d| *d != saved.with(Draft::of));
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let change = draft.with_untracked(Draft::change);
        busy.set(true);
        spawn_local(async move {
            match save_widget_settings(change).await {
                Ok(now) => {
                    draft.set(Draft::of(&now));
                    saved.set(now);
                    error.set(None);
                    status.set(Some(
                        "Saved. Every widget uses these settings from its next page load.".into(),
                    ));
                }
                Err(e) => {
                    error.set(Some(e.message));
                    status.set(None);
                }
            }
            busy.set(false);
        });
    };
    let rotate = move |_| {
        #[cfg(feature = "hydrate")]
        {
            let sure = web_sys::window()
                .and_then(|w| {
                    w.confirm_with_message(
                        "Make a new identity secret? Hashes your site computes with the current one stop matching at once.",
                    )
                    .ok()
                })
                .unwrap_or(false);
            if !sure {
                return;
            }
        }
        spawn_local(async move {
            match rotate_identity_secret().await {
                Ok(now) => {
                    saved.set(now);
                    error.set(None);
                    status.set(Some("A new identity secret is in force.".into()));
                }
                Err(e) => error.set(Some(e.message)),
            }
        });
    };

    let text = move |get: fn(&Draft) -> String, set: fn(&mut Draft, String)| {
        (
            move || draft.with(get),
            move |ev: leptos::ev::Event| {
                let value = event_target_value(&ev);
                draft.update(|d| set(d, value));
                status.set(None);
            },
        )
    };
    let (title, on_title) = text(|d| d.title.clone(), |d, v| d.title = v);
    let (welcome, on_welcome) = text(|d| d.welcome_message.clone(), |d, v| d.welcome_message = v);
    let (primary, on_primary) = text(|d| d.primary_color.clone(), |d, v| d.primary_color = v);
    let (textc, on_textc) = text(|d| d.text_color.clone(), |d, v| d.text_color = v);
    let (reply, on_reply) = text(|d| d.reply_time.clone(), |d, v| d.reply_time = v);
    let (origins, on_origins) = text(|d| d.allowed_origins.clone(), |d, v| d.allowed_origins = v);
    let (max_mb, on_max_mb) = text(|d| d.files_max_mb.clone(), |d, v| d.files_max_mb = v);
    let allowed = move || saved.with(|s| s.attachments_allowed.clone());

    view! {
        <div class="settings-grid">
            <form class="stack widget-settings card" on:submit={handle(ev::submit, save)}>
                <h2>"Look"</h2>
                <label>
                    "Title"
                    <input type="text" name="title" maxlength="80" required prop:value=title on:input={handle(ev::input, on_title)} />
                </label>
                <label>
                    "Welcome message (shown atop an empty conversation)"
                    <textarea name="welcome_message" rows="3" maxlength="1000" prop:value=welcome on:input={handle(ev::input, on_welcome)}></textarea>
                </label>
                <div class="row">
                    <label>
                        "Colour"
                        <span class="colour">
                            <input type="color" aria-label="Pick the colour" prop:value=primary on:input={handle(ev::input, on_primary)} />
                            <input type="text" name="primary_color" size="8" prop:value=primary on:input={handle(ev::input, on_primary)} />
                        </span>
                    </label>
                    <label>
                        "Text on the colour"
                        <span class="colour">
                            <input type="color" aria-label="Pick the text colour" prop:value=textc on:input={handle(ev::input, on_textc)} />
                            <input type="text" name="text_color" size="8" prop:value=textc on:input={handle(ev::input, on_textc)} />
                        </span>
                    </label>
                    <label>
                        "Position"
                        <select
                            name="position"
                            on:change={handle(ev::change, move |ev| {
                                if let Some(p) = WidgetPosition::parse(&event_target_value(&ev)) {
                                    draft.update(|d| d.position = p);
                                }
                            })}
                        >
                            {[WidgetPosition::BottomRight, WidgetPosition::BottomLeft]
                                .into_iter()
                                .map(|p| {
                                    let label = match p {
                                        WidgetPosition::BottomRight => "Bottom right",
                                        WidgetPosition::BottomLeft => "Bottom left",
                                    };
                                    view! {
                                        <option value=p.as_str() selected=move || draft.with(|d| d.position == p)>
                                            {label}
                                        </option>
                                    }
                                })
                                .collect_view()}
                        </select>
                    </label>
                </div>
                <h2>"With no agent online"</h2>
                <label>
                    "The widget shows"
                    <select
                        name="offline_mode"
                        on:change={handle(ev::change, move |ev| {
                            if let Some(m) = OfflineMode::parse(&event_target_value(&ev)) {
                                draft.update(|d| d.offline_mode = m);
                            }
                        })}
                    >
                        {[OfflineMode::Form, OfflineMode::Async, OfflineMode::Hide]
                            .into_iter()
                            .map(|m| {
                                let label = match m {
                                    OfflineMode::Form => "A form: name, e-mail and message",
                                    OfflineMode::Async => "The chat as usual, with the expected reply time",
                                    OfflineMode::Hide => "Nothing (no launcher)",
                                };
                                view! {
                                    <option value=m.as_str() selected=move || draft.with(|d| d.offline_mode == m)>
                                        {label}
                                    </option>
                                }
                            })
                            .collect_view()}
                    </select>
                </label>
                <label>
                    "Expected reply time (e.g. “a few hours”)"
                    <input type="text" name="reply_time" maxlength="100" prop:value=reply on:input={handle(ev::input, on_reply)} />
                </label>
                <h2>"Where it runs"</h2>
                <label>
                    "Allowed sites, one per line (empty: every site)"
                    <textarea
                        name="allowed_origins"
                        rows="3"
                        placeholder="https://shop.example.com"
                        prop:value=origins
                        on:input={handle(ev::input, on_origins)}
                    ></textarea>
                </label>
                <h2>"Identity verification"</h2>
                <IdentityPanel saved draft rotate />
                <h2>"Files"</h2>
                <fieldset class="files" disabled=move || !allowed().enabled>
                    {move || {
                        (!allowed().enabled)
                            .then(|| {
                                view! {
                                    <p class="muted">
                                        "Files are turned off on this server (ATTACHMENTS_ENABLED=false)."
                                    </p>
                                }
                            })
                    }}
                    <label class="check">
                        <input
                            type="checkbox"
                            name="attachments_enabled"
                            prop:checked=move || draft.with(|d| d.files_enabled)
                            on:change={handle(ev::change, move |ev| {
                                let on = event_target_checked(&ev);
                                draft.update(|d| d.files_enabled = on);
                                status.set(None);
                            })}
                        />
                        "Visitors and agents may send files and images"
                    </label>
                    <label>
                        {move || {
                            format!(
                                "Largest file, in MB (at most {} on this server)",
                                human_size(allowed().max_bytes),
                            )
                        }}
                        <input
                            type="number"
                            name="attachment_max_mb"
                            min="0.001"
                            step="any"
                            max=move || megabytes(allowed().max_bytes)
                            prop:value=max_mb
                            on:input={handle(ev::input, on_max_mb)}
                        />
                    </label>
                    <div class="file-types" role="group" aria-label="Accepted types">
                        <span>"Accepted types"</span>
                        {keyed(move || {
                            allowed()
                                .types
                                .into_iter()
                                .map(|kind| Row::new(kind.clone(), move || view! {
                                        <label class="check">
                                            <input
                                                type="checkbox"
                                                name="attachment_types"
                                                value=kind.clone()
                                                prop:checked={
                                                    let kind = kind.clone();
                                                    move || draft.with(|d| d.files_types.contains(&kind))
                                                }
                                                on:change={handle(ev::change, {
                                                    let kind = kind.clone();
                                                    move |ev| {
                                                        let on = event_target_checked(&ev);
                                                        let order = allowed().types;
                                                        draft
                                                            .update(|d| {
                                                                d.files_types.retain(|t| *t != kind);
                                                                if on {
                                                                    d.files_types.push(kind.clone());
                                                                }
                                                                crate::sort::sort_by(&mut d.files_types, |a, b| {
                                                                    let at = |t| order.iter().position(|o| o == t);
                                                                    at(a).cmp(&at(b))
                                                                });
                                                            });
                                                        status.set(None);
                                                    }
                                                })}
                                            />
                                            {kind.clone()}
                                        </label>
                                }))
                                .collect()
                        })}
                    </div>
                    <p class="muted">
                        "The server decides a file's type from its bytes, never its name; markup and scripts are never accepted."
                    </p>
                </fieldset>
                <div class="row">
                    <button type="submit" disabled=move || busy.get() || !dirty()>
                        "Save"
                    </button>
                    <button
                        type="button"
                        class="link"
                        disabled=move || !dirty()
                        on:click={handle(ev::click, move |_| {
                            draft.set(saved.with_untracked(Draft::of));
                            status.set(None);
                        })}
                    >
                        "Undo changes"
                    </button>
                    <span class="muted saved-at">
                        {move || {
                            saved
                                .with(|s| s.updated_at.clone())
                                .map(|t| format!("Last saved {}", short_time(&t)))
                                .unwrap_or_else(|| "From the server's environment (never saved here)".into())
                        }}
                    </span>
                </div>
                {status_line("error", error)}
                {status_line("notice", status)}
            </form>
            <section class="preview-column">
                <div class="card">
                    <div class="page-head">
                        <h2>"Preview"</h2>
                        <select
                            aria-label="Preview as"
                            on:change={handle(ev::change, move |ev| available.set(event_target_value(&ev) == "online"))}
                        >
                            <option value="online">"An agent is online"</option>
                            <option value="offline">"No agent online"</option>
                        </select>
                    </div>
                    <div class="preview-frame">
                        <iframe
                            class="widget-preview"
                            title="Widget preview"
                            src=move || preview_src.get()
                        ></iframe>
                    </div>
                    <p class="muted">
                        "The real widget with the values above, before you save. It starts no conversation: what you type here is not sent."
                    </p>
                </div>
                <Snippet saved />
            </section>
        </div>
    }
}

#[component]
fn IdentityPanel(
    saved: RwSignal<WidgetSettingsView>,
    draft: RwSignal<Draft>,
    rotate: impl Fn(leptos::ev::MouseEvent) + Copy + 'static,
) -> impl IntoView {
    let reveal = RwSignal::new(false);
    let secret = move || saved.with(|s| s.identity_secret.clone());
    let source = move || saved.with(|s| s.identity_secret_source);
    view! {
        <p class="muted">
            "Your server signs each signed-in user's id: "
            <code>"customer_hash = hex(HMAC-SHA256(secret, customerId))"</code>
            ". A verified visitor gets the same conversation on every device."
        </p>
        <div class="identity-secret" data-source=move || source().as_str()>
            {move || match secret() {
                None => view! { <span>"No secret yet."</span> }.into_any(),
                Some(value) => {
                    let from = match source() {
                        SecretSource::Environment => " (from IDENTITY_SECRET)",
                        _ => "",
                    };
                    view! {
                        <span>
                            "Secret" {from} ": "
                            <code class="secret-value">
                                {move || if reveal.get() { value.clone() } else { "•".repeat(16) }}
                            </code>
                        </span>
                        <button type="button" class="link" on:click={handle(ev::click, move |_| reveal.update(|r| *r = !*r))}>
                            {move || if reveal.get() { "Hide" } else { "Show" }}
                        </button>
                    }
                        .into_any()
                }
            }}
            <button type="button" class="link rotate-secret" on:click={handle(ev::click, rotate)}>
                {move || if secret().is_some() { "Make a new secret" } else { "Make a secret" }}
            </button>
        </div>
        <label class="check">
            <input
                type="checkbox"
                name="identity_required"
                prop:checked=move || draft.with(|d| d.identity_required)
                on:change={handle(ev::change, move |ev| {
                    let on = event_target_checked(&ev);
                    draft.update(|d| d.identity_required = on);
                })}
            />
            "Required: a visitor who names a customerId must bring a valid customerHash"
        </label>
    }
}

/// The snippet a website owner pastes, and the server-side hash code.
#[component]
fn Snippet(saved: RwSignal<WidgetSettingsView>) -> impl IntoView {
    let copied = RwSignal::new(false);
    let code = move || {
        let s = saved.get();
        let hash = if s.identity_secret.is_some() {
            "\n    customerHash: \"…\"    // computed on your server, see below"
        } else {
            ""
        };
        format!(
            "<script>\n  window.DEFMISChat = {{\n    apiUrl: \"{url}\",\n    customerId: null,      // your user's id, or null for a guest\n    customerName: \"\",\n    customerEmail: \"\",{hash}\n  }};\n</script>\n<script src=\"{url}/static/js/chat-widget.js\" async></script>",
            url = s.public_url,
        )
    };
    let copy = move |_| {
        #[cfg(feature = "hydrate")]
        if let Some(w) = web_sys::window() {
            let _ = w.navigator().clipboard().write_text(&code());
            copied.set(true);
            set_timeout(move || copied.set(false), std::time::Duration::from_secs(2));
        }
    };
    view! {
        <div class="card snippet">
            <div class="page-head">
                <h2>"Add it to your site"</h2>
                <button type="button" class="copy-snippet" on:click={handle(ev::click, copy)}>
                    {move || if copied.get() { "Copied" } else { "Copy" }}
                </button>
            </div>
            <p class="muted">"Paste before " <code>"</body>"</code> " on every page:"</p>
            <pre><code>{code}</code></pre>
            <div hidden=move || saved.with(|s| s.identity_secret.is_none())>
                <h3>"customerHash on your server"</h3>
                <pre class="hmac-example"><code>{HMAC_EXAMPLES}</code></pre>
            </div>
        </div>
    }
}

const HMAC_EXAMPLES: &str = r#"// Node.js
const crypto = require("crypto");
const customerHash = crypto.createHmac("sha256", process.env.DEFMIS_IDENTITY_SECRET)
  .update(String(user.id)).digest("hex");

# Python
import hashlib, hmac, os
customer_hash = hmac.new(os.environ["DEFMIS_IDENTITY_SECRET"].encode(),
                         str(user.id).encode(), hashlib.sha256).hexdigest()

// PHP
$customerHash = hash_hmac('sha256', (string) $user->id, getenv('DEFMIS_IDENTITY_SECRET'));"#;

#[cfg(test)]
mod tests {
    use super::{bytes_of, megabytes};

    #[test]
    fn sizes_go_to_megabytes_and_back() {
        assert_eq!(megabytes(10 << 20), "10");
        assert_eq!(bytes_of("10"), 10 << 20);
        assert_eq!(megabytes(1536 * 1024), "1.5");
        assert_eq!(bytes_of(" 1,5 "), 1536 * 1024);
        assert_eq!(bytes_of("0.001"), 1049);
        assert_eq!(megabytes(1_536_000), "1.465");
        assert_eq!(megabytes(0), "0");
        assert_eq!(bytes_of("2.25"), 2_359_296);
        assert_eq!(bytes_of(".5"), 512 * 1024);
        assert_eq!(bytes_of("3."), 3 << 20);
        assert_eq!(bytes_of("1.0000000001"), 1 << 20);
        for unreadable in [
            "",
            ".",
            "ten",
            "-1",
            "0",
            "NaN",
            "inf",
            "1e3",
            "1.2.3",
            "99999999999999999999",
        ] {
            assert_eq!(bytes_of(unreadable), 0, "{unreadable:?}");
        }
    }
}
