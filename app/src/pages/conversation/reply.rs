//! What an agent writes: the reply box (Enter sends, Shift+Enter breaks
//! the line; typing frames; `/shortcut` canned responses; files picked,
//! dropped or pasted) and the private note form. A reply or a note that
//! failed keeps its text and its `client_id`, so sending it again stores
//! it once.

use leptos::either::Either;
use leptos::ev;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::super::keys;
use super::super::list::{key, keyed, Row};
use super::Shared;
use crate::api::{add_note, send_reply};
use crate::live::{new_client_id, now_ms, LiveSender};
use crate::pages::events::handle;
use crate::protocol::AgentClientFrame;
use crate::types::{canned_matches, AttachmentLimits, CannedResponse};
use crate::upload::{self, human_size, Upload, UploadState};

/// The shortest time between two `active: true` typing frames we send.
const TYPING_EVERY_MS: f64 = 2000.0;
/// After this long without input, we send `active: false`.
const TYPING_IDLE: std::time::Duration = std::time::Duration::from_secs(5);

/// A text being sent: the `client_id` of its first try, reused while the
/// text is the same, so a resend after a failure is stored once.
#[derive(Clone, Copy)]
struct Draft {
    text: RwSignal<String>,
    sending: RwSignal<bool>,
    pending: StoredValue<Option<(String, String)>>,
}

impl Draft {
    fn new() -> Self {
        Self {
            text: RwSignal::new(String::new()),
            sending: RwSignal::new(false),
            pending: StoredValue::new(None),
        }
    }

    /// The text and its `client_id`, unless it is empty or on its way.
    fn take(self) -> Option<(String, String)> {
        let text = self.text.get_untracked();
        if text.trim().is_empty() || self.sending.get_untracked() {
            return None;
        }
        let client_id = match self.pending.get_value() {
            Some((was, id)) if was == text => id,
            _ => new_client_id(),
        };
        self.pending
            .set_value(Some((text.clone(), client_id.clone())));
        self.sending.set(true);
        Some((text, client_id))
    }

    /// Sent (the text is cleared) or failed (it stays, with its id).
    fn done<T>(self, shared: Shared, answer: Result<T, crate::types::ApiError>) -> Option<T> {
        self.sending.set(false);
        match answer {
            Ok(value) => {
                self.text.set(String::new());
                self.pending.set_value(None);
                shared.error.set(None);
                Some(value)
            }
            Err(e) => {
                shared.error.set(Some(e.message));
                None
            }
        }
    }
}

/// Our typing frames: `active: true` at most every 2 s while input comes,
/// and `active: false` after 5 s idle or on send.
#[derive(Clone, Copy)]
struct TypingFrames {
    shared: Shared,
    sender: LiveSender,
    sent_at: StoredValue<Option<f64>>,
    inputs: StoredValue<u64>,
}

impl TypingFrames {
    fn input(self) {
        let now = now_ms();
        let due = self
            .sent_at
            .get_value()
            .is_none_or(|at| now - at >= TYPING_EVERY_MS);
        if due
            && self.sender.send(&AgentClientFrame::Typing {
                session_id: self.shared.id(),
                active: true,
            })
        {
            self.sent_at.set_value(Some(now));
        }
        self.inputs.update_value(|n| *n += 1);
        let count = self.inputs.get_value();
        set_timeout(
            move || {
                if self.inputs.try_get_value() == Some(count) {
                    self.stop();
                }
            },
            TYPING_IDLE,
        );
    }

    fn stop(self) {
        if self.sent_at.try_get_value().flatten().is_some() {
            self.sent_at.set_value(None);
            self.sender.send(&AgentClientFrame::Typing {
                session_id: self.shared.id(),
                active: false,
            });
        }
    }
}

/// Files: what may be attached here (`None`: nothing), the uploads on
/// screen, and whether files are being dragged over the thread. Picked
/// with the button, dropped on the thread or the reply box, or pasted
/// into the reply box.
#[derive(Clone, Copy)]
pub(super) struct Files {
    // Files are sent from the browser only.
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    shared: Shared,
    limits: StoredValue<Option<AttachmentLimits>>,
    uploads: RwSignal<Vec<Upload>>,
    pub(super) dragging: RwSignal<bool>,
}

impl Files {
    pub(super) fn new(shared: Shared, limits: Option<AttachmentLimits>) -> Self {
        Self {
            shared,
            limits: StoredValue::new(limits),
            uploads: RwSignal::new(Vec::new()),
            dragging: RwSignal::new(false),
        }
    }

    fn enabled(self) -> bool {
        self.limits.with_value(Option::is_some)
    }

    #[cfg(feature = "hydrate")]
    fn attach(self, files: Option<web_sys::FileList>) {
        let (Some(files), Some(limits)) = (files, self.limits.get_value()) else {
            return;
        };
        let shared = self.shared;
        upload::send_files(&shared.id(), files, &limits, self.uploads, move |m| {
            shared.add_messages([m])
        });
    }

    fn pick(self, ev: leptos::ev::Event) {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            if let Some(input) = ev
                .target()
                .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
            {
                self.attach(input.files());
                input.set_value("");
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (self, ev);
    }

    fn paste(self, ev: leptos::ev::ClipboardEvent) {
        #[cfg(feature = "hydrate")]
        {
            let files = ev.clipboard_data().and_then(|d| d.files());
            if self.enabled() && files.as_ref().is_some_and(|f| f.length() > 0) {
                ev.prevent_default();
                self.attach(files);
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (self, ev);
    }

    fn carries_files(self, ev: &leptos::ev::DragEvent) -> bool {
        #[cfg(feature = "hydrate")]
        {
            self.enabled()
                && ev
                    .data_transfer()
                    .is_some_and(|d| d.types().includes(&"Files".into(), 0))
        }
        #[cfg(not(feature = "hydrate"))]
        {
            let _ = (self, ev);
            false
        }
    }

    pub(super) fn on_dragover(self, ev: leptos::ev::DragEvent) {
        if self.carries_files(&ev) {
            ev.prevent_default();
            self.dragging.set(true);
        }
    }

    pub(super) fn on_dragleave(self, ev: leptos::ev::DragEvent) {
        // Leaving for a child of the drop area is not leaving it.
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            let inside = match (
                ev.current_target()
                    .and_then(|t| t.dyn_into::<web_sys::Node>().ok()),
                ev.related_target()
                    .and_then(|t| t.dyn_into::<web_sys::Node>().ok()),
            ) {
                (Some(area), Some(to)) => area.contains(Some(&to)),
                _ => false,
            };
            if !inside {
                self.dragging.set(false);
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = ev;
    }

    pub(super) fn on_drop(self, ev: leptos::ev::DragEvent) {
        self.dragging.set(false);
        if !self.carries_files(&ev) {
            return;
        }
        ev.prevent_default();
        #[cfg(feature = "hydrate")]
        self.attach(ev.data_transfer().and_then(|d| d.files()));
    }
}

/// Canned response suggestions, the uploads, and the reply form.
pub(super) fn reply(
    shared: Shared,
    sender: LiveSender,
    files: Files,
    canned: Vec<CannedResponse>,
) -> impl IntoView {
    let draft = Draft::new();
    let typing = TypingFrames {
        shared,
        sender,
        sent_at: StoredValue::new(None),
        inputs: StoredValue::new(0),
    };
    let send = move || {
        let Some((content, client_id)) = draft.take() else {
            return;
        };
        typing.stop();
        let id = shared.id();
        spawn_local(async move {
            let answer = send_reply(id, content, client_id).await;
            if let Some(message) = draft.done(shared, answer) {
                shared.add_messages([message]);
            }
        });
    };

    // Canned responses: a draft that is a lone `/word` offers the
    // matches; Tab or Enter (or a click) puts the first one's text in.
    let canned = StoredValue::new(canned);
    let suggestions = Memo::new(move |_| {
        draft.text.with(|d| {
            canned.with_value(|all| {
                canned_matches(d, all)
                    .into_iter()
                    .take(5)
                    .cloned()
                    .collect::<Vec<CannedResponse>>()
            })
        })
    });
    let expand = move |text: String| {
        draft.text.set(text);
        keys::focus("form.reply textarea");
    };
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        let first = suggestions.with_untracked(|s| s.first().map(|c| c.content.clone()));
        match (ev.key().as_str(), first) {
            ("Tab", Some(text)) => {
                ev.prevent_default();
                expand(text);
            }
            ("Enter", Some(text)) if !ev.shift_key() => {
                ev.prevent_default();
                expand(text);
            }
            ("Enter", None) if !ev.shift_key() => {
                ev.prevent_default();
                send();
            }
            _ => {}
        }
    };
    // These lists stay in the page, hidden when empty.
    let offering = Memo::new(move |_| suggestions.with(|s| !s.is_empty()));
    let sending_files = Memo::new(move |_| files.uploads.with(|u| !u.is_empty()));
    view! {
        <ul class="canned-suggestions" aria-label="Canned responses" hidden=move || !offering.get()>
            {keyed(move || {
                suggestions
                    .get()
                    .into_iter()
                    .map(|c| {
                        Row::new(c.id.as_str().to_owned(), move || view! {
                            <li>
                                <button
                                    type="button"
                                    class="canned-suggestion"
                                    on:click={handle(ev::click, {
                                        let text = c.content.clone();
                                        move |_| expand(text.clone())
                                    })}
                                >
                                    <code>{format!("/{}", c.shortcut)}</code>
                                    " "
                                    <span class="muted">{crate::types::preview(&c.content, 80)}</span>
                                </button>
                            </li>
                        })
                    })
                    .collect()
            })}
        </ul>
        <ul class="uploads" aria-label="Files being sent" hidden=move || !sending_files.get()>
            {keyed(move || {
                files
                    .uploads
                    .get()
                    .into_iter()
                    .map(|u| Row::new(key([&u.client_id, &u.state.key().to_string()]), move || upload_item(u)))
                    .collect()
            })}
        </ul>
        <form
            class="reply"
            on:submit={handle(ev::submit, move |ev| {
                ev.prevent_default();
                send();
            })}
        >
            <textarea
                name="content"
                placeholder="Write a reply… (Enter sends, Shift+Enter for a new line)"
                prop:value=move || draft.text.get()
                on:input={handle(ev::input, move |ev| {
                    draft.text.set(event_target_value(&ev));
                    typing.input();
                })}
                on:keydown={handle(ev::keydown, on_keydown)}
                on:paste={handle(ev::paste, move |ev| files.paste(ev))}
            ></textarea>
            <div class="reply-actions">
                {files.enabled().then(|| view! {
                    <label class="attach-button secondary" title="Attach files (or drop or paste them here)">
                        "Attach"
                        <input type="file" class="attach-input" multiple on:change={handle(ev::change, move |ev| files.pick(ev))} />
                    </label>
                })}
                <button
                    type="submit"
                    class="primary"
                    disabled=move || draft.sending.get() || shared.deleted.get()
                >
                    "Send"
                </button>
            </div>
        </form>
    }
}

/// A file on its way: progress and cancel, or why it failed.
fn upload_item(u: Upload) -> impl IntoView {
    let id = u.client_id.clone();
    let cancel = {
        let id = id.clone();
        move |_| upload::cancel(&id)
    };
    let label = format!("{} ({})", u.name, human_size(u.size));
    match u.state {
        UploadState::Sending(done) => Either::Left(view! {
            <li class="upload" data-state="sending" data-client-id=id>
                <span class="upload-name">{label.clone()}</span>
                <progress
                    max="1000"
                    value={(done.clamp(0.0, 1.0) * 1000.0).round() as u32}
                    aria-label=format!("Sending {label}")
                ></progress>
                <button type="button" class="secondary upload-cancel" on:click={handle(ev::click, cancel)}>"Cancel"</button>
            </li>
        }),
        UploadState::Failed { reason, retry } => {
            let again = {
                let id = id.clone();
                move |_| upload::retry(&id)
            };
            Either::Right(view! {
                <li class="upload failed" data-state="failed" data-client-id=id>
                    <span class="upload-name">{label}</span>
                    <span class="error upload-error">{reason}</span>
                    {retry.then(|| view! { <button type="button" class="secondary upload-retry" on:click={handle(ev::click, again)}>"Retry"</button> })}
                    <button type="button" class="secondary upload-cancel" on:click={handle(ev::click, cancel)}>"Dismiss"</button>
                </li>
            })
        }
    }
}

/// The private note form: notes reach agents only.
pub(super) fn note_form(shared: Shared) -> impl IntoView {
    let note = Draft::new();
    let on_note = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some((content, client_id)) = note.take() else {
            return;
        };
        let id = shared.id();
        spawn_local(async move {
            let answer = add_note(id, content, Some(client_id)).await;
            if let Some(added) = note.done(shared, answer) {
                shared.add_notes(vec![added]);
            }
        });
    };
    view! {
        <form class="note-form" on:submit={handle(ev::submit, on_note)}>
            <textarea
                name="note"
                placeholder="A private note for the team (the visitor never sees it)"
                prop:value=move || note.text.get()
                on:input={handle(ev::input, move |ev| note.text.set(event_target_value(&ev)))}
            ></textarea>
            <button type="submit" class="secondary" disabled=move || note.sending.get()>
                "Add note"
            </button>
        </form>
    }
}
