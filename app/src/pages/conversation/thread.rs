//! The thread: messages and private notes by time, each message with its
//! file, "Seen" under the last agent message the visitor read, earlier
//! messages on scrolling up, and our read receipts.

use leptos::either::Either;
use leptos::ev;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::super::list::{keyed, Row};
use super::Shared;
use crate::api::earlier_messages;
use crate::live::{page_visible, LiveSender, LiveState};
use crate::pages::events::handle;
use crate::protocol::{AgentClientFrame, Party};
use crate::types::{short_time, AttachmentView, MessageView, NoteView, Sender, SessionView};
use crate::upload::human_size;

/// One entry of the thread: a message, or a private note.
#[derive(Clone, Debug, PartialEq)]
enum Entry {
    Message(MessageView),
    Note(NoteView),
}

impl Entry {
    fn key(&self) -> String {
        match self {
            Entry::Message(m) => format!("m{}", m.seq),
            Entry::Note(n) => format!("n{}", n.id),
        }
    }
}

/// Messages (in seq order) and notes, interleaved by time; a note goes
/// after the messages of its instant.
fn thread(messages: &[MessageView], notes: &[NoteView]) -> Vec<Entry> {
    let mut notes: Vec<&NoteView> = notes.iter().collect();
    crate::sort::sort_by(&mut notes, |a, b| {
        (&a.created_at, &a.id).cmp(&(&b.created_at, &b.id))
    });
    let mut out = Vec::with_capacity(messages.len() + notes.len());
    let mut pending = notes.into_iter().peekable();
    for m in messages {
        while let Some(n) = pending.next_if(|n| n.created_at < m.created_at) {
            out.push(Entry::Note(n.clone()));
        }
        out.push(Entry::Message(m.clone()));
    }
    out.extend(pending.map(|n| Entry::Note(n.clone())));
    out
}

/// Adds messages not yet shown, keeping seq order; a seq is shown once.
pub(super) fn merge(list: &mut Vec<MessageView>, incoming: impl IntoIterator<Item = MessageView>) {
    for message in incoming {
        if let Err(pos) = list.binary_search_by_key(&message.seq, |m| m.seq) {
            list.insert(pos, message);
        }
    }
}

/// Raises one side's read seq (never lowers it).
pub(super) fn apply_read(session: &mut SessionView, by: Party, seq: i64) {
    let read = match by {
        Party::Customer => &mut session.customer_read_seq,
        Party::Agent => &mut session.agent_read_seq,
    };
    *read = (*read).max(seq);
}

/// The seq of the last agent message the visitor has read: where "Seen"
/// goes.
fn seen_seq(messages: &[MessageView], customer_read_seq: i64) -> Option<i64> {
    messages
        .iter()
        .rev()
        .find(|m| m.sender == Sender::Agent && m.seq <= customer_read_seq)
        .map(|m| m.seq)
}

/// Read receipts: the newest shown message, while the page is visible
/// and the socket is up (again after a reconnect, or when the tab is
/// shown again).
pub(super) fn send_read_receipts(shared: Shared, live: RwSignal<LiveState>, sender: LiveSender) {
    let messages = shared.messages;
    let read_sent = StoredValue::new(shared.session.with_untracked(|s| s.agent_read_seq));
    let send_read = move || {
        if !page_visible() {
            return;
        }
        let newest = messages.with_untracked(|l| l.last().map_or(0, |m| m.seq));
        if newest > read_sent.get_value()
            && sender.send(&AgentClientFrame::Read {
                session_id: shared.id(),
                seq: newest,
            })
        {
            read_sent.set_value(newest);
        }
    };
    Effect::new(move |_| {
        messages.track();
        if live.get() == LiveState::Live {
            send_read();
        }
    });
    #[cfg(feature = "hydrate")]
    {
        let shown = window_event_listener(leptos::ev::visibilitychange, move |_| send_read());
        on_cleanup(move || shown.remove());
    }
}

/// The list of messages and notes.
pub(super) fn messages(shared: Shared) -> impl IntoView {
    let (session, messages, notes) = (shared.session, shared.messages, shared.notes);
    let seen = Memo::new(move |_| {
        let read = session.with(|s| s.customer_read_seq);
        messages.with(|l| seen_seq(l, read))
    });
    let entries = Memo::new(move |_| messages.with(|m| notes.with(|n| thread(m, n))));
    view! {
        <ol class="messages" role="log" aria-live="polite">
            {keyed(move || {
                entries
                    .get()
                    .into_iter()
                    .map(|entry| {
                        Row::new(entry.key(), move || match entry {
                            Entry::Note(note) => Either::Left(note_item(note)),
                            Entry::Message(message) => Either::Right(message_item(message, seen)),
                        })
                    })
                    .collect()
            })}
        </ol>
    }
}

// The three below are plain functions, not components, as `live_badge`
// (in `pages`): a component's view would be erased into its own `AnyView`.

/// A message, with "Seen" under it when it is the last the visitor read.
fn message_item(message: MessageView, seen: Memo<Option<i64>>) -> impl IntoView {
    let seq = message.seq;
    let who = match message.sender {
        Sender::Customer => "Visitor".to_string(),
        Sender::Bot => "Bot".to_string(),
        Sender::Agent => message.agent_name.unwrap_or_else(|| "Agent".into()),
    };
    view! {
        <li class="msg" data-sender=message.sender.as_str() data-seq=seq>
            <span class="who">{who}</span>
            <time>{short_time(&message.created_at)}</time>
            {message.attachment.map(|a| attachment_item(*a))}
            <div class="text">{message.content}</div>
            {move || {
                (seen.get() == Some(seq)).then(|| view! { <span class="seen-marker">"Seen"</span> })
            }}
        </li>
    }
}

/// A message's file: a thumbnail that opens the full image, or a card
/// with the name, size and a download link. The links are signed and
/// expire (an hour by default); reloading the page signs new ones.
fn attachment_item(a: AttachmentView) -> impl IntoView {
    let label = format!("{} ({})", a.name, human_size(a.size.max(0) as u64));
    match a.thumbnail_url.clone() {
        Some(thumb) => {
            // Shown at most 240 px a side, the original's proportions.
            let (w, h) = match (a.width, a.height) {
                (Some(w), Some(h)) if w > 0 && h > 0 => {
                    let k = (240.0 / w as f64).min(240.0 / h as f64).min(1.0);
                    (
                        Some(((w as f64 * k).round() as i32).max(1)),
                        Some(((h as f64 * k).round() as i32).max(1)),
                    )
                }
                _ => (None, None),
            };
            Either::Left(view! {
                <a class="attachment attachment-image" href=a.url target="_blank" rel="noopener noreferrer" title=label>
                    <img class="attachment-thumb" src=thumb alt=a.name width=w height=h loading="lazy" />
                </a>
            })
        }
        None => {
            let ext = a
                .name
                .rsplit_once('.')
                .map(|(_, e)| e.chars().take(5).collect::<String>())
                .unwrap_or_else(|| "file".into());
            Either::Right(view! {
                <a class="attachment attachment-card" href=a.url download=a.name.clone() rel="noopener noreferrer" title=label>
                    <span class="attachment-ext">{ext}</span>
                    <span class="attachment-name">{a.name.clone()}</span>
                    <span class="attachment-size muted">{human_size(a.size.max(0) as u64)}</span>
                </a>
            })
        }
    }
}

/// A private note in the thread.
fn note_item(note: NoteView) -> impl IntoView {
    let author = note
        .author_name
        .clone()
        .unwrap_or_else(|| "A former agent".into());
    view! {
        <li class="note" data-note-id=note.id.to_string()>
            <span class="who">{format!("Note by {author}")}</span>
            <time>{short_time(&note.created_at)}</time>
            <div class="text">{note.content.clone()}</div>
        </li>
    }
}

/// Earlier messages: loaded on scrolling up to the top of the page (and
/// with the button); the message that was first stays where it was on
/// screen.
#[derive(Clone, Copy)]
pub(super) struct Earlier {
    shared: Shared,
    /// Whether older messages exist than the first one shown.
    more: RwSignal<bool>,
    loading: StoredValue<bool>,
}

/// How near the top of the page scrolling up loads earlier messages.
#[cfg(feature = "hydrate")]
const EARLIER_WITHIN_PX: f64 = 240.0;

impl Earlier {
    pub(super) fn new(shared: Shared, more: bool) -> Self {
        let this = Self {
            shared,
            more: RwSignal::new(more),
            loading: StoredValue::new(false),
        };
        #[cfg(feature = "hydrate")]
        {
            let scrolled = window_event_listener(leptos::ev::scroll, move |_| {
                let near_top = web_sys::window()
                    .and_then(|w| w.scroll_y().ok())
                    .is_some_and(|y| y < EARLIER_WITHIN_PX);
                if near_top && this.more.get_untracked() {
                    this.fetch();
                }
            });
            on_cleanup(move || scrolled.remove());
        }
        this
    }

    fn fetch(self) {
        let shared = self.shared;
        let before = shared
            .messages
            .with_untracked(|l| l.first().map(|m| m.seq).unwrap_or(0));
        if before <= 1 {
            self.more.set(false);
            return;
        }
        if self.loading.get_value() {
            return;
        }
        self.loading.set_value(true);
        let anchor = screen_top(before);
        spawn_local(async move {
            match earlier_messages(shared.id(), before).await {
                Ok(page) => {
                    shared.add_messages(page.messages);
                    self.more.set(page.has_more);
                    keep_on_screen(before, anchor);
                }
                Err(e) => shared.error.set(Some(e.message)),
            }
            self.loading.set_value(false);
        });
    }

    /// "Load earlier messages", while there are some.
    pub(super) fn button(self) -> impl IntoView {
        view! {
            <button
                type="button"
                class="secondary load-earlier"
                hidden=move || !self.more.get()
                on:click={handle(ev::click, move |_| self.fetch())}
            >
                "Load earlier messages"
            </button>
        }
    }
}

/// Where message `seq` is on screen (its top, in CSS pixels).
fn screen_top(seq: i64) -> Option<f64> {
    #[cfg(feature = "hydrate")]
    {
        let selector = format!("li.msg[data-seq=\"{seq}\"]");
        let el = document().query_selector(&selector).ok()??;
        Some(el.get_bounding_client_rect().top())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = seq;
        None
    }
}

/// After earlier messages went in above it, scrolls so that message
/// `seq` is back at `was` on screen (once they are drawn).
fn keep_on_screen(seq: i64, was: Option<f64>) {
    #[cfg(feature = "hydrate")]
    if let Some(was) = was {
        request_animation_frame(move || {
            if let (Some(now), Some(w)) = (screen_top(seq), web_sys::window()) {
                w.scroll_by_with_x_and_y(0.0, now - was);
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (seq, was);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(seq: i64) -> MessageView {
        from(seq, Sender::Customer)
    }

    fn from(seq: i64, sender: Sender) -> MessageView {
        MessageView {
            id: format!("m{seq}").into(),
            seq,
            sender,
            content: "x".into(),
            created_at: "t".into(),
            client_id: None,
            agent_name: None,
            attachment: None,
        }
    }

    #[test]
    fn merge_keeps_order_and_drops_duplicates() {
        let mut list = vec![msg(1), msg(3)];
        merge(&mut list, [msg(2), msg(3), msg(4), msg(1)]);
        let seqs: Vec<i64> = list.iter().map(|m| m.seq).collect();
        assert_eq!(seqs, vec![1, 2, 3, 4]);
    }

    #[test]
    fn seen_goes_under_the_last_agent_message_read() {
        let list = vec![
            from(1, Sender::Customer),
            from(2, Sender::Agent),
            from(3, Sender::Agent),
            from(4, Sender::Customer),
            from(5, Sender::Agent),
        ];
        assert_eq!(seen_seq(&list, 0), None);
        assert_eq!(seen_seq(&list, 2), Some(2));
        assert_eq!(seen_seq(&list, 4), Some(3));
        assert_eq!(seen_seq(&list, 9), Some(5));
    }
}
