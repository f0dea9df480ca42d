//! `/dashboard`: the home. Today's figures, conversations per day for two
//! weeks (an SVG chart, rendered on the server), and the latest activity,
//! live. The figures are fetched again (at most once a second) when
//! something happens.
//!
//! Stable selectors: `.stat[data-stat=conversations|open|unread|waiting|first-response] .value`,
//! `svg.per-day rect[data-date][data-count]`, `.activity .session-row`.

use futures_util::future::join3;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::list::{keyed, Row};
use super::sessions::{apply, row_key, session_row, Debounce, INBOX};
use super::{error_box, live_badge};
use crate::api::{get_stats, list_sessions, team};
use crate::attention::{agent_status, Attention};
use crate::live::use_live;
use crate::protocol::{AgentServerFrame, PresenceStatus};
use crate::types::{decimal, staff_name, AgentAccount};
use crate::types::{DayCount, InboxParams, SessionPage, Stats};

/// How many conversations "Latest activity" shows.
const ACTIVITY: u32 = 8;

fn activity_params() -> InboxParams {
    InboxParams {
        limit: Some(ACTIVITY),
        ..InboxParams::default()
    }
}

/// `95.0` → `1 min 35 s`; under a minute in seconds, past an hour in
/// hours and minutes.
pub fn duration_text(secs: f64) -> String {
    let secs = secs.max(0.0).round() as u64;
    match secs {
        0..60 => format!("{secs} s"),
        60..3600 => match secs % 60 {
            0 => format!("{} min", secs / 60),
            s => format!("{} min {s} s", secs / 60),
        },
        _ => format!("{} h {} min", secs / 3600, (secs % 3600) / 60),
    }
}

#[component]
pub fn HomePage() -> impl IntoView {
    // One resource for the page's three reads, fetched together.
    let page = crate::json::resource(
        || (),
        |_| join3(get_stats(), list_sessions(activity_params()), team()),
    );
    view! {
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let (stats, activity, people) = page.await;
                    let people = people.unwrap_or_default();
                    match (stats, activity) {
                        (Ok(stats), Ok(activity)) => {
                            view! { <Home stats activity people /> }.into_any()
                        }
                        (Err(error), _) | (_, Err(error)) => error_box(error).into_any(),
                    }
                })}
            </Suspense>
    }
}

#[component]
fn Home(stats: Stats, activity: SessionPage, people: Vec<AgentAccount>) -> impl IntoView {
    if let Some(attention) = use_context::<Attention>() {
        attention.learn(&activity.sessions);
    }
    let stats = RwSignal::new(stats);
    let recent = RwSignal::new(activity.sessions);
    // Whether there is any: the list or the empty notice shows.
    let any = Memo::new(move |_| recent.with(|l| !l.is_empty()));
    let refresh_stats = move || {
        spawn_local(async move {
            if let Ok(fresh) = get_stats().await {
                stats.try_set(fresh);
            }
        })
    };
    let refresh_activity = move || {
        spawn_local(async move {
            if let Ok(page) = list_sessions(activity_params()).await {
                recent.try_set(page.sessions);
            }
        })
    };
    let debounce = Debounce::new();
    let live = use_live(
        move |event| {
            if !matches!(
                event,
                AgentServerFrame::Message { .. }
                    | AgentServerFrame::Session { .. }
                    | AgentServerFrame::Read { .. }
            ) {
                return;
            }
            recent.update(|list| {
                // A conversation not shown yet comes in by its `session`
                // frame, or by the next refresh.
                apply(list, event, |_, _| true);
                list.truncate(ACTIVITY as usize);
            });
            debounce.call(std::time::Duration::from_secs(1), move || {
                refresh_stats();
                refresh_activity();
            });
        },
        move || {
            refresh_stats();
            refresh_activity();
        },
    );
    let figure = move |key: &'static str, label: &'static str, value: Signal<String>| {
        view! {
            <div class="stat" data-stat=key>
                <span class="value">{value}</span>
                <span class="label">{label}</span>
            </div>
        }
    };
    let count = |f: fn(&Stats) -> i64| Signal::derive(move || stats.with(|s| f(s).to_string()));
    let first_response = Signal::derive(move || {
        stats.with(|s| {
            s.median_first_response_secs
                .map(duration_text)
                .unwrap_or_else(|| "—".into())
        })
    });
    view! {
        <div class="page-head">
            <h1>"Home"</h1>
            {live_badge(live)}
        </div>
        <section class="stats" aria-label="Today">
            {figure("conversations", "conversations", count(|s| s.conversations))}
            {figure("open", "open", count(|s| s.open))}
            {figure("unread", "unread", count(|s| s.unread))}
            {figure("waiting", "waiting for a first reply", count(|s| s.waiting_first_reply))}
            {figure("first-response", "median first response today", first_response)}
        </section>
        <section class="card">
            <h2>"Conversations per day"</h2>
            {move || stats.with(|s| view! { <DayChart days=s.per_day.clone() /> })}
            <p class="muted small">"Last 14 days, UTC."</p>
        </section>
        <TeamNow people />
        <section class="card activity">
            <h2>
                "Latest activity " <a class="small" href=INBOX>
                    "All conversations →"
                </a>
            </h2>
            <p class="empty" hidden=any>
                "Nothing yet: conversations appear here as visitors write."
            </p>
            <ul class="session-list" hidden=move || !any.get()>
                {keyed(move || {
                    recent
                        .get()
                        .into_iter()
                        .map(|s| Row::new(row_key(&s), move || session_row(s, None)))
                        .collect()
                })}
            </ul>
        </section>
    }
}

/// Who is online, away or offline now (live, from presence frames).
#[component]
fn TeamNow(people: Vec<AgentAccount>) -> impl IntoView {
    let attention = use_context::<Attention>();
    let people = people
        .into_iter()
        .map(|a| {
            let id = a.id.clone();
            let status = move || {
                attention.map_or(PresenceStatus::Offline, |at| {
                    at.board.with(|b| agent_status(b, &id))
                })
            };
            let label = Signal::derive(move || match status() {
                PresenceStatus::Online => "online",
                PresenceStatus::Away => "away",
                PresenceStatus::Offline => "offline",
            });
            view! {
                <li class="agent-presence" data-agent=a.username.clone() data-status=label>
                    <span class="dot"></span>
                    {staff_name(&a.display_name, &a.username)}
                    <span class="muted small">{label}</span>
                </li>
            }
        })
        .collect_view();
    view! {
        <section class="card">
            <h2>"Team now"</h2>
            <ul class="team-presence">{people}</ul>
        </section>
    }
}

/// Bars of conversations per day, scaled to the busiest day.
#[component]
fn DayChart(days: Vec<DayCount>) -> impl IntoView {
    const WIDTH: f64 = 560.0;
    const HEIGHT: f64 = 140.0;
    const LABELS: f64 = 18.0;
    let most = days
        .iter()
        .map(|d| d.conversations)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let slot = WIDTH / days.len().max(1) as f64;
    let total: i64 = days.iter().map(|d| d.conversations).sum();
    let label = format!(
        "Conversations per day, last {} days: {total} in all.",
        days.len()
    );
    let bars = days
        .into_iter()
        .enumerate()
        .map(|(i, day)| {
            let h = (day.conversations as f64 / most * (HEIGHT - 14.0)).max(if day.conversations > 0 { 2.0 } else { 0.0 });
            let x = i as f64 * slot + slot * 0.15;
            let y = HEIGHT - h;
            let short = day.date.get(5..).unwrap_or(&day.date).to_string();
            let title = format!("{}: {}", day.date, day.conversations);
            view! {
                <g>
                    <rect
                        x=decimal(x, 1)
                        y=decimal(y, 1)
                        width=decimal(slot * 0.7, 1)
                        height=decimal(h, 1)
                        rx="2"
                        data-date=day.date.clone()
                        data-count=day.conversations
                    >
                        <title>{title}</title>
                    </rect>
                    {(day.conversations > 0)
                        .then(|| {
                            view! {
                                <text x=decimal(x + slot * 0.35, 1) y=decimal(y - 3.0, 1) class="bar-value">
                                    {day.conversations}
                                </text>
                            }
                        })}
                    <text x=decimal(x + slot * 0.35, 1) y=decimal(HEIGHT + LABELS - 4.0, 1) class="bar-label">
                        {short}
                    </text>
                </g>
            }
        })
        .collect_view();
    view! {
        <svg
            class="per-day"
            role="img"
            aria-label=label
            viewBox=format!("0 0 {} {}", decimal(WIDTH, 0), decimal(HEIGHT + LABELS, 0))
            preserveAspectRatio="xMidYMid meet"
        >
            {bars}
        </svg>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration_text(0.4), "0 s");
        assert_eq!(duration_text(42.0), "42 s");
        assert_eq!(duration_text(60.0), "1 min");
        assert_eq!(duration_text(95.0), "1 min 35 s");
        assert_eq!(duration_text(3720.0), "1 h 2 min");
        assert_eq!(duration_text(-3.0), "0 s");
    }
}
