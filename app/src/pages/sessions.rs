//! `/dashboard/conversations`: the inbox. Filters and search live in the
//! address (`?status=open&assigned=me&unread=true&q=refund`), so a view
//! can be bookmarked, reloaded and rendered on the server; pages follow
//! the server's keyset cursor; the live socket keeps the list current
//! without refetching it.
//!
//! Stable selectors (the browser tests use them): `.inbox-filters`
//! (`select[name=status]`, `select[name=assigned]`, `input[name=unread]`,
//! `input[name=waiting]`, `input[name=offline]`, `input[name=q]`),
//! `.session-row[data-session-id][data-status]`, `.unread-badge`,
//! `.assignee`, `.waiting-marker`.

use futures_util::future::join;
use leptos::ev;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::{use_navigate, use_query_map};
use leptos_router::params::ParamsMap;

use super::keys::{self, shortcut_help, Shortcut};
use super::list::{key, keyed, Row};
use super::{error_box, live_badge};
use crate::api::{current_agent, list_sessions, set_session_status};
use crate::live::use_live;
use crate::pages::events::handle;
use crate::protocol::{AgentServerFrame, Party};
use crate::types::{
    preview, short_time, AgentId, InboxParams, Sender, SessionId, SessionPage, SessionStatus,
    SessionView,
};

/// Where the inbox lives.
pub const INBOX: &str = "/dashboard/conversations";

/// The filters in an address's query (`cursor` and `limit` are the
/// page's own business, never in the address).
pub fn params_from_query(query: &ParamsMap) -> InboxParams {
    let text = |key: &str| query.get(key).filter(|v| !v.trim().is_empty());
    let flag = |key: &str| match text(key).as_deref() {
        Some("true" | "on" | "1") => Some(true),
        Some("false" | "0") => Some(false),
        _ => None,
    };
    InboxParams {
        status: text("status").filter(|s| s != "all"),
        q: text("q"),
        assigned: text("assigned").filter(|s| s != "all"),
        unread: flag("unread"),
        waiting: flag("waiting"),
        offline: flag("offline"),
        cursor: None,
        limit: None,
    }
}

/// Whether a conversation belongs in a list filtered by `params`, as far
/// as the page can tell: a search needs the server, so while one is on a
/// conversation not already listed is never added.
pub fn belongs(params: &InboxParams, s: &SessionView, me: &AgentId, listed: bool) -> bool {
    if params.q.is_some() && !listed {
        return false;
    }
    let status = match params.status.as_deref() {
        Some("open") => s.status == SessionStatus::Open,
        Some("closed") => s.status == SessionStatus::Closed,
        _ => true,
    };
    let assigned = match params.assigned.as_deref() {
        None | Some("all") => true,
        Some("me") => s.assignee_id.as_ref() == Some(me),
        Some("none") => s.assignee_id.is_none(),
        Some(id) => s.assignee_id.as_ref().is_some_and(|a| a == id),
    };
    let flag = |want: Option<bool>, have: bool| want.is_none_or(|w| w == have);
    status
        && assigned
        && flag(params.unread, s.unread > 0)
        && flag(params.waiting, s.waiting)
        && flag(params.offline, s.offline)
}

/// What the page must do after a live event besides showing it.
#[derive(Debug, PartialEq, Eq)]
pub enum Followup {
    Nothing,
    /// A message came for a conversation the list does not hold: the
    /// first page is fetched again (it may belong there now).
    Refetch,
}

/// Applies one live event to a list, newest activity first; `keep`
/// says whether a conversation belongs (listed already or not).
pub fn apply(
    list: &mut Vec<SessionView>,
    event: AgentServerFrame,
    keep: impl Fn(&SessionView, bool) -> bool,
) -> Followup {
    let mut followup = Followup::Nothing;
    match event {
        AgentServerFrame::Session { session } => {
            let pos = list.iter().position(|s| s.id == session.id);
            match pos {
                Some(i) if list[i].last_seq <= session.last_seq => {
                    if keep(&session, true) {
                        list[i] = session;
                    } else {
                        list.remove(i);
                    }
                }
                Some(_) => {}
                None if keep(&session, false) => list.push(session),
                None => {}
            }
        }
        AgentServerFrame::Message {
            session_id,
            message,
            ..
        } => match list.iter().position(|s| s.id == session_id) {
            Some(i) => {
                let s = &mut list[i];
                if message.seq > s.last_seq {
                    s.last_seq = message.seq;
                    match message.sender {
                        Sender::Customer => {
                            s.waiting = true;
                            if message.seq > s.agent_read_seq {
                                s.unread += 1;
                            }
                            // A visitor's message reopens the conversation.
                            s.status = SessionStatus::Open;
                        }
                        Sender::Agent => s.waiting = false,
                        Sender::Bot => {}
                    }
                    s.last_message = Some(message.content);
                    s.last_message_at = Some(message.created_at.clone());
                    s.updated_at = message.created_at;
                }
                if !keep(&list[i], true) {
                    list.remove(i);
                }
            }
            None => followup = Followup::Refetch,
        },
        AgentServerFrame::Read {
            session_id,
            by,
            seq,
        } => {
            if let Some(i) = list.iter().position(|s| s.id == session_id) {
                let s = &mut list[i];
                match by {
                    Party::Customer => s.customer_read_seq = s.customer_read_seq.max(seq),
                    Party::Agent => {
                        s.agent_read_seq = s.agent_read_seq.max(seq);
                        if s.agent_read_seq >= s.last_seq {
                            s.unread = 0;
                        }
                    }
                }
                if !keep(&list[i], true) {
                    list.remove(i);
                }
            }
        }
        AgentServerFrame::Deleted { session_id } => list.retain(|s| s.id != session_id),
        AgentServerFrame::Typing { .. }
        | AgentServerFrame::Presence { .. }
        | AgentServerFrame::Note { .. }
        | AgentServerFrame::Visitor { .. }
        | AgentServerFrame::Resync
        | AgentServerFrame::Error { .. }
        | AgentServerFrame::Pong => {}
    }
    crate::sort::sort_by(list, |a, b| {
        (&b.updated_at, &b.id).cmp(&(&a.updated_at, &a.id))
    });
    list.truncate(MAX_LISTED);
    followup
}

/// The most conversations a list holds; past it the oldest activity
/// drops off (reload to page through them again).
pub const MAX_LISTED: usize = 1000;

/// A fresh first page over the rows already listed: the older rows below
/// it stay (those after the page's last row, not on it); when the server
/// has nothing after the page, nothing else is kept.
pub fn merge_first_page(
    old: Vec<SessionView>,
    first: Vec<SessionView>,
    more: bool,
) -> Vec<SessionView> {
    let last = first.last().map(|s| (s.updated_at.clone(), s.id.clone()));
    let older: Vec<SessionView> = match (more, last) {
        (true, Some(last)) => old
            .into_iter()
            .filter(|s| !first.iter().any(|n| n.id == s.id))
            .filter(|s| (s.updated_at.clone(), s.id.clone()) < last)
            .collect(),
        _ => Vec::new(),
    };
    let mut list = first;
    list.extend(older);
    list
}

/// Runs `work` once, `delay` after the first of a burst of calls.
#[derive(Clone, Copy)]
pub struct Debounce {
    pending: StoredValue<bool>,
}

impl Debounce {
    pub fn new() -> Self {
        Self {
            pending: StoredValue::new(false),
        }
    }

    pub fn call(&self, delay: std::time::Duration, work: impl FnOnce() + 'static) {
        if self.pending.get_value() {
            return;
        }
        self.pending.set_value(true);
        let pending = self.pending;
        set_timeout(
            move || {
                if pending.try_set_value(false).is_none() {
                    work();
                }
            },
            delay,
        );
    }
}

#[component]
pub fn SessionsPage() -> impl IntoView {
    let query = use_query_map();
    let params = Memo::new(move |_| query.with(params_from_query));
    // Who I am ("mine") and the page, fetched together.
    let page = crate::json::resource(
        move || params.get(),
        |params| join(current_agent(), list_sessions(params)),
    );
    view! {
            <div class="page-head">
                <h1>"Conversations"</h1>
            </div>
            {filters(params)}
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let (me, sessions) = page.await;
                    let me = me.ok().flatten().map(|a| a.id).unwrap_or_default();
                    match sessions {
                        Ok(initial) => {
                            view! { <SessionList initial params=params.get_untracked() me /> }
                                .into_any()
                        }
                        Err(error) => error_box(error).into_any(),
                    }
                })}
            </Suspense>
    }
}

/// The filter bar. Every change goes into the address (replacing the
/// cursor), which reloads the list; the search box on Enter. A plain
/// function, as `session_row`.
fn filters(params: Memo<InboxParams>) -> impl IntoView {
    let query = use_query_map();
    let navigate = use_navigate();
    let go = move |key: &'static str, value: Option<String>| {
        let mut map = query.get_untracked();
        map.remove(key);
        map.remove("cursor");
        if let Some(value) = value.filter(|v| !v.is_empty() && v != "all") {
            map.insert(key, value);
        }
        navigate(
            &format!("{INBOX}{}", map.to_query_string()),
            Default::default(),
        );
    };
    let select = {
        let go = go.clone();
        move |key: &'static str| {
            let go = go.clone();
            move |ev: leptos::ev::Event| go(key, Some(event_target_value(&ev)))
        }
    };
    let check = {
        let go = go.clone();
        move |key: &'static str| {
            let go = go.clone();
            move |ev: leptos::ev::Event| {
                go(key, event_target_checked(&ev).then(|| "true".to_string()))
            }
        }
    };
    let search = RwSignal::new(params.get_untracked().q.unwrap_or_default());
    Effect::new(move |_| search.set(params.with(|p| p.q.clone().unwrap_or_default())));
    let on_search = {
        let go = go.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            go("q", Some(search.get_untracked().trim().to_string()));
        }
    };
    let status = move || params.with(|p| p.status.clone().unwrap_or_else(|| "all".into()));
    let assigned = move || params.with(|p| p.assigned.clone().unwrap_or_else(|| "all".into()));
    let option = move |current: Signal<String>, value: &'static str, label: &'static str| {
        view! {
            <option value=value selected=move || current.get() == value>
                {label}
            </option>
        }
    };
    let status = Signal::derive(status);
    let assigned = Signal::derive(assigned);
    view! {
        <div class="inbox-filters">
            <form class="search" role="search" action=INBOX method="get" on:submit={handle(ev::submit, on_search)}>
                <input
                    type="search"
                    name="q"
                    placeholder="Search messages, names, e-mails"
                    aria-label="Search conversations"
                    prop:value=move || search.get()
                    on:input={handle(ev::input, move |ev| search.set(event_target_value(&ev)))}
                />
                <button type="submit">"Search"</button>
            </form>
            <label>
                "Status "
                <select name="status" on:change={handle(ev::change, select("status"))}>
                    {option(status, "all", "All")}
                    {option(status, "open", "Open")}
                    {option(status, "closed", "Closed")}
                </select>
            </label>
            <label>
                "Assigned "
                <select name="assigned" on:change={handle(ev::change, select("assigned"))}>
                    {option(assigned, "all", "Anyone")}
                    {option(assigned, "me", "Me")}
                    {option(assigned, "none", "Nobody")}
                </select>
            </label>
            <label class="check">
                <input
                    type="checkbox"
                    name="unread"
                    prop:checked=move || params.with(|p| p.unread == Some(true))
                    on:change={handle(ev::change, check("unread"))}
                />
                " Unread"
            </label>
            <label class="check">
                <input
                    type="checkbox"
                    name="waiting"
                    prop:checked=move || params.with(|p| p.waiting == Some(true))
                    on:change={handle(ev::change, check("waiting"))}
                />
                " Waiting for a reply"
            </label>
            <label class="check">
                <input
                    type="checkbox"
                    name="offline"
                    prop:checked=move || params.with(|p| p.offline == Some(true))
                    on:change={handle(ev::change, check("offline"))}
                />
                " Offline messages"
            </label>
        </div>
    }
}

#[component]
fn SessionList(initial: SessionPage, params: InboxParams, me: AgentId) -> impl IntoView {
    let sessions = RwSignal::new(initial.sessions);
    let next_cursor = RwSignal::new(initial.next_cursor);
    let params = StoredValue::new(params);
    let me = StoredValue::new(me);
    let attention = use_context::<crate::attention::Attention>();
    if let Some(attention) = attention {
        sessions.with_untracked(|l| attention.learn(l));
    }
    let refetch = move || {
        spawn_local(async move {
            if let Ok(page) = list_sessions(params.get_value()).await {
                if let Some(attention) = attention {
                    attention.learn(&page.sessions);
                }
                sessions.try_update(|list| {
                    *list = merge_first_page(
                        std::mem::take(list),
                        page.sessions,
                        page.next_cursor.is_some(),
                    );
                });
                if next_cursor.try_get_untracked().flatten().is_none() {
                    next_cursor.try_set(page.next_cursor);
                }
            }
        })
    };
    let debounce = Debounce::new();
    let live = use_live(
        move |event| {
            let followup = sessions
                .try_update(|list| {
                    params.with_value(|p| {
                        me.with_value(|me| {
                            apply(list, event, |s, listed| belongs(p, s, me, listed))
                        })
                    })
                })
                .unwrap_or(Followup::Nothing);
            if followup == Followup::Refetch {
                debounce.call(std::time::Duration::from_millis(500), refetch);
            }
        },
        refetch,
    );
    let load_more = move |_| {
        let Some(cursor) = next_cursor.get_untracked() else {
            return;
        };
        spawn_local(async move {
            let filter = InboxParams {
                cursor: Some(cursor),
                ..params.get_value()
            };
            if let Ok(page) = list_sessions(filter).await {
                sessions.update(|list| {
                    for s in page.sessions {
                        if !list.iter().any(|have| have.id == s.id) {
                            list.push(s);
                        }
                    }
                });
                next_cursor.set(page.next_cursor);
            }
        });
    };
    // Keyboard: j/k select, Enter opens (the row's link has the focus),
    // e closes, / searches, ? lists the shortcuts.
    let selected = RwSignal::new(None::<SessionId>);
    let help = RwSignal::new(false);
    keys::on_shortcut(move |key| match key {
        Shortcut::Next | Shortcut::Previous => {
            let ids: Vec<SessionId> =
                sessions.with_untracked(|l| l.iter().map(|s| s.id.clone()).collect());
            let Some(last) = ids.len().checked_sub(1) else {
                return;
            };
            let at = selected
                .get_untracked()
                .and_then(|id| ids.iter().position(|i| *i == id));
            let next = match (key, at) {
                (Shortcut::Next, Some(i)) => (i + 1).min(last),
                (_, Some(i)) => i.saturating_sub(1),
                (_, None) => 0,
            };
            selected.set(Some(ids[next].clone()));
            set_timeout(
                || keys::focus(".session-row.selected a"),
                std::time::Duration::ZERO,
            );
        }
        Shortcut::Close => {
            let Some(id) = selected.get_untracked() else {
                return;
            };
            spawn_local(async move {
                if let Ok(session) = set_session_status(id, SessionStatus::Closed).await {
                    sessions.try_update(|list| {
                        params.with_value(|p| {
                            me.with_value(|me| {
                                apply(list, AgentServerFrame::Session { session }, |s, listed| {
                                    belongs(p, s, me, listed)
                                })
                            })
                        })
                    });
                }
            });
        }
        Shortcut::Search => keys::focus(".inbox-filters input[name=q]"),
        Shortcut::Help => help.update(|open| *open = !*open),
        Shortcut::Dismiss => help.set(false),
    });
    let filtered = params.with_value(|p| *p != InboxParams::default());
    let shown = move || sessions.with(Vec::len);
    // Whether there is any: the list or the empty notice shows (both stay
    // in the page, one hidden).
    let any = Memo::new(move |_| shown() > 0);
    view! {
        <div class="list-head">
            <span class="muted count">
                {move || {
                    let more = if next_cursor.with(Option::is_some) { "+" } else { "" };
                    format!("{}{more} shown", shown())
                }}
            </span>
            {live_badge(live)}
            <button type="button" class="link small" on:click={handle(ev::click, move |_| help.update(|o| *o = !*o))}>
                "Shortcuts (?)"
            </button>
        </div>
        {shortcut_help(help)}
        <p class="empty" hidden=any>
            {if filtered {
                "No conversation matches these filters."
            } else {
                "No conversations yet. They appear here the moment a visitor writes."
            }}
        </p>
        <ul class="session-list" hidden=move || !any.get()>
                {keyed(move || {
                    sessions
                        .get()
                        .into_iter()
                        .map(|s| Row::new(row_key(&s), move || session_row(s, Some(selected))))
                        .collect()
                })}
        </ul>
        <button class="load-more" hidden=move || next_cursor.with(Option::is_none) on:click={handle(ev::click, load_more)}>
            "Load older conversations"
        </button>
    }
}

/// A conversation's key in a list: it changes whenever what its row
/// shows does.
pub fn row_key(s: &SessionView) -> String {
    key([
        s.id.as_str(),
        &s.last_seq.to_string(),
        s.status.as_str(),
        s.name.as_deref().unwrap_or_default(),
        &s.unread.to_string(),
        s.assignee_id.as_ref().map_or("", |a| a.as_str()),
        if s.waiting { "w" } else { "" },
    ])
}

/// Who a conversation is with, as lists show it.
pub fn who(session: &SessionView) -> String {
    session
        .name
        .clone()
        .filter(|n| !n.is_empty())
        .or(session.email.clone())
        .unwrap_or_else(|| format!("Visitor {}", preview(session.customer_id.as_str(), 8)))
}

/// One conversation in a list; `selected` marks the keyboard's choice.
/// A plain function, not a component: a component's view would be erased
/// into its own `AnyView`, with its own build and hydration code.
pub fn session_row(
    session: SessionView,
    selected: Option<RwSignal<Option<SessionId>>>,
) -> impl IntoView {
    let id = session.id.clone();
    let is_selected = move || selected.is_some_and(|s| s.with(|s| s.as_ref() == Some(&id)));
    let href = format!("{INBOX}/{}", session.id);
    let last = session
        .last_message
        .as_deref()
        .map(|m| preview(m, 120))
        .unwrap_or_default();
    let unread = session.unread;
    let attention = use_context::<crate::attention::Attention>();
    let viewing = {
        let id = session.id.clone();
        move || {
            attention
                .map(|a| {
                    let me = a.me.get();
                    a.board
                        .with(|b| crate::attention::viewers(b, &id, me.as_ref()))
                })
                .unwrap_or_default()
        }
    };
    view! {
        <li
            class="session-row"
            class:selected=is_selected
            data-session-id=session.id.to_string()
            data-status=session.status.as_str()
            data-unread=unread
        >
            <a href=href>
                <span class="who">{who(&session)}</span>
                <span class="tags">
                    {(unread > 0)
                        .then(|| {
                            view! {
                                <span class="unread-badge" title="Unread visitor messages">
                                    {if unread >= 1000 { "999+".to_string() } else { unread.to_string() }}
                                </span>
                            }
                        })}
                    {move || {
                        let names = viewing();
                        (!names.is_empty())
                            .then(|| {
                                view! {
                                    <span class="viewers">{format!("{} viewing", names.join(", "))}</span>
                                }
                            })
                    }}
                    {session.waiting.then(|| view! { <span class="waiting-marker">"waiting"</span> })}
                    {session.offline.then(|| view! { <span class="offline-marker">"offline"</span> })}
                    {session
                        .assignee_name
                        .clone()
                        .map(|name| view! { <span class="assignee">{name}</span> })}
                    <span class="status">{session.status.as_str()}</span>
                </span>
                <time>{short_time(&session.updated_at)}</time>
                <span class="last">{last}</span>
            </a>
        </li>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::MessageView;

    fn session(id: &str, updated: &str) -> SessionView {
        SessionView {
            id: id.into(),
            customer_id: format!("c-{id}").into(),
            name: None,
            email: None,
            status: SessionStatus::Open,
            created_at: updated.into(),
            updated_at: updated.into(),
            last_message: None,
            last_message_at: None,
            last_seq: 1,
            customer_read_seq: 0,
            agent_read_seq: 0,
            offline: false,
            assignee_id: None,
            assignee_name: None,
            unread: 0,
            waiting: false,
        }
    }

    fn message(id: &str, seq: i64, sender: Sender, at: &str) -> AgentServerFrame {
        AgentServerFrame::Message {
            session_id: id.into(),
            customer_id: format!("c-{id}").into(),
            message: MessageView {
                id: format!("m{seq}").into(),
                seq,
                sender,
                content: format!("text {seq}"),
                created_at: at.into(),
                client_id: None,
                agent_name: None,
                attachment: None,
            },
        }
    }

    fn ids(list: &[SessionView]) -> Vec<&str> {
        list.iter().map(|s| s.id.as_str()).collect()
    }

    #[test]
    fn a_message_moves_its_conversation_up_and_counts_unread() {
        let mut list = vec![
            session("a", "2026-12-02T10:00"),
            session("b", "2026-12-02T09:00"),
        ];
        let all = |_: &SessionView, _: bool| true;
        let followup = apply(
            &mut list,
            message("b", 2, Sender::Customer, "2026-12-02T11:00"),
            all,
        );
        assert_eq!(followup, Followup::Nothing);
        assert_eq!(ids(&list), ["b", "a"]);
        assert_eq!(list[0].unread, 1);
        assert!(list[0].waiting);
        assert_eq!(list[0].last_message.as_deref(), Some("text 2"));
        // The same message again (a replay) changes nothing.
        apply(
            &mut list,
            message("b", 2, Sender::Customer, "2026-12-02T11:00"),
            all,
        );
        assert_eq!(list[0].unread, 1);
        // An agent's reply: no longer waiting; read up to it: no unread.
        apply(
            &mut list,
            message("b", 3, Sender::Agent, "2026-12-02T11:01"),
            all,
        );
        assert!(!list[0].waiting);
        apply(
            &mut list,
            AgentServerFrame::Read {
                session_id: "b".into(),
                by: Party::Agent,
                seq: 3,
            },
            all,
        );
        assert_eq!(list[0].unread, 0);
        // A conversation not listed: the page refetches.
        let followup = apply(
            &mut list,
            message("z", 1, Sender::Customer, "2026-12-02T12:00"),
            all,
        );
        assert_eq!(followup, Followup::Refetch);
        // A deleted conversation leaves the list; one not listed changes
        // nothing and fetches nothing.
        let deleted = |id: &str| AgentServerFrame::Deleted {
            session_id: id.into(),
        };
        assert_eq!(apply(&mut list, deleted("b"), all), Followup::Nothing);
        assert_eq!(ids(&list), ["a"]);
        assert_eq!(apply(&mut list, deleted("z"), all), Followup::Nothing);
        assert_eq!(ids(&list), ["a"]);
    }

    #[test]
    fn a_fresh_first_page_keeps_the_older_rows_below_it() {
        let rows = |ids: &[(&str, &str)]| -> Vec<SessionView> {
            ids.iter().map(|(id, at)| session(id, at)).collect()
        };
        // Listed: s1 (10:03) … s4 (10:00); s9 had news and tops the page.
        let old = rows(&[
            ("s1", "10:03"),
            ("s2", "10:02"),
            ("s3", "10:01"),
            ("s4", "10:00"),
        ]);
        let first = rows(&[("s9", "10:09"), ("s1", "10:03")]);
        let merged = merge_first_page(old.clone(), first.clone(), true);
        assert_eq!(ids(&merged), ["s9", "s1", "s2", "s3", "s4"]);
        // Nothing after the page on the server: only the page.
        assert_eq!(ids(&merge_first_page(old, first, false)), ["s9", "s1"]);
    }

    #[test]
    fn filters_decide_what_live_events_add_and_remove() {
        let me = AgentId::from("me");
        let waiting = InboxParams {
            waiting: Some(true),
            ..InboxParams::default()
        };
        let mut list = vec![];
        let mut new = session("a", "2026-12-02T10:00");
        let keep = |s: &SessionView, listed: bool| belongs(&waiting, s, &me, listed);
        apply(
            &mut list,
            AgentServerFrame::Session {
                session: new.clone(),
            },
            keep,
        );
        assert!(list.is_empty(), "not waiting: not added");
        new.waiting = true;
        new.last_seq = 2;
        apply(&mut list, AgentServerFrame::Session { session: new }, keep);
        assert_eq!(ids(&list), ["a"]);
        // Answered: it leaves the "waiting" list.
        apply(
            &mut list,
            message("a", 3, Sender::Agent, "2026-12-02T10:05"),
            keep,
        );
        assert!(list.is_empty());

        let mine = InboxParams {
            assigned: Some("me".into()),
            ..InboxParams::default()
        };
        let mut s = session("b", "t");
        assert!(!belongs(&mine, &s, &me, false));
        s.assignee_id = Some(me.clone());
        assert!(belongs(&mine, &s, &me, false));
        let searching = InboxParams {
            q: Some("refund".into()),
            ..InboxParams::default()
        };
        assert!(!belongs(&searching, &s, &me, false));
        assert!(belongs(&searching, &s, &me, true));
    }

    #[test]
    fn the_address_holds_the_filters() {
        let query: ParamsMap = [
            ("status", "open"),
            ("assigned", "all"),
            ("unread", "true"),
            ("q", "  "),
            ("cursor", "abc"),
        ]
        .into_iter()
        .collect();
        let params = params_from_query(&query);
        assert_eq!(params.status.as_deref(), Some("open"));
        assert_eq!(params.assigned, None);
        assert_eq!(params.unread, Some(true));
        assert_eq!(params.q, None);
        assert_eq!(params.cursor, None);
    }
}
