//! `/dashboard/automation/hours`: business hours, with a week view.

use futures_util::future::join;
use leptos::ev;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::super::fields::{Check, Field, Text};
use super::super::{error_box, status_line};
use super::{is_admin, Tabs};
use crate::api::{current_agent, get_business_hours, save_business_hours};
use crate::automation::{BusinessHours, BusinessHoursView, DateHours, Interval};
use crate::pages::events::handle;
use crate::types::{decimal, short_time};

const DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// `"09:00-14:00, 15:00-18:00"` for a day's intervals.
fn intervals_text(list: &[Interval]) -> String {
    list.iter()
        .map(|i| format!("{}-{}", i.open, i.close))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The intervals typed as `"09:00-14:00, 15:00-18:00"` (the server checks
/// the times).
fn parse_intervals(text: &str) -> Vec<Interval> {
    text.split([',', ';'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (open, close) = p.split_once(['-', '–']).unwrap_or((p, ""));
            Interval {
                open: open.trim().to_string(),
                close: close.trim().to_string(),
            }
        })
        .collect()
}

/// Minutes of `"HH:MM"`, for the week view.
fn minutes_of(t: &str) -> Option<u32> {
    let (h, m) = t.trim().split_once(':')?;
    Some(h.parse::<u32>().ok()? * 60 + m.parse::<u32>().ok()?)
}

#[component]
pub fn HoursPage() -> impl IntoView {
    let page = crate::json::resource(|| (), |_| join(get_business_hours(), current_agent()));
    view! {
            <div class="page-head">
                <h1>"Business hours"</h1>
            </div>
            <Tabs />
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let (hours, me) = page.await;
                    let admin = is_admin(me);
                    match hours {
                        Ok(initial) => view! { <HoursForm initial admin /> }.into_any(),
                        Err(error) => error_box(error).into_any(),
                    }
                })}
            </Suspense>
    }
}

#[component]
fn HoursForm(initial: BusinessHoursView, admin: bool) -> impl IntoView {
    let view_now = RwSignal::new(initial.clone());
    let h = initial.hours;
    let enabled = RwSignal::new(h.enabled);
    let zone = RwSignal::new(h.time_zone.clone());
    let days: [RwSignal<String>; 7] = {
        let d = h.week.days();
        std::array::from_fn(|i| RwSignal::new(intervals_text(d[i])))
    };
    let holidays = RwSignal::new(h.holidays.join("\n"));
    let exceptions = RwSignal::new(
        h.exceptions
            .iter()
            .map(|e| {
                let hours = intervals_text(&e.intervals);
                if hours.is_empty() {
                    format!("{} closed", e.date)
                } else {
                    format!("{} {hours}", e.date)
                }
            })
            .collect::<Vec<_>>()
            .join("\n"),
    );
    let error = RwSignal::new(None::<String>);
    let saved = RwSignal::new(false);
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let mut hours = BusinessHours {
            enabled: enabled.get_untracked(),
            time_zone: zone.get_untracked().trim().to_string(),
            ..BusinessHours::default()
        };
        for (i, day) in hours.week.days_mut().into_iter().enumerate() {
            *day = parse_intervals(&days[i].get_untracked());
        }
        hours.holidays = holidays
            .get_untracked()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect();
        hours.exceptions = exceptions
            .get_untracked()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|l| {
                let (date, rest) = l.split_once(' ').unwrap_or((l, ""));
                let rest = rest.trim();
                DateHours {
                    date: date.to_string(),
                    intervals: if rest.eq_ignore_ascii_case("closed") {
                        Vec::new()
                    } else {
                        parse_intervals(rest)
                    },
                }
            })
            .collect();
        spawn_local(async move {
            match save_business_hours(hours).await {
                Ok(v) => {
                    view_now.set(v);
                    error.set(None);
                    saved.set(true);
                }
                Err(e) => {
                    error.set(Some(e.message));
                    saved.set(false);
                }
            }
        });
    };
    view! {
        <p class="hours-state">
            {move || {
                let v = view_now.get();
                if !v.hours.enabled {
                    "Business hours are off: always open.".to_string()
                } else if v.open_now {
                    "Open now.".to_string()
                } else {
                    match v.next_open {
                        Some(t) => format!("Closed now; opens {}.", short_time(&t)),
                        None => "Closed, and no opening is scheduled.".to_string(),
                    }
                }
            }}
        </p>
        <div class="week-view" aria-hidden="true">
            {(0..7)
                .map(|i| {
                    view! {
                        <div class="week-day">
                            <span class="week-name">{&DAYS[i][..3]}</span>
                            <span class="week-bar">
                                {move || {
                                    parse_intervals(&days[i].get())
                                        .into_iter()
                                        .filter_map(|iv| Some((minutes_of(&iv.open)?, minutes_of(&iv.close)?)))
                                        .filter(|(o, c)| o < c && *c <= 1440)
                                        .map(|(o, c)| {
                                            let style = format!(
                                                "left:{}%;width:{}%",
                                                decimal(f64::from(o) / 14.4, 2),
                                                decimal(f64::from(c - o) / 14.4, 2),
                                            );
                                            view! { <span class="week-open" style=style></span> }
                                        })
                                        .collect_view()
                                }}
                            </span>
                        </div>
                    }
                })
                .collect_view()}
        </div>
        <form class="stack hours-form" on:submit={handle(ev::submit, save)}>
            <Check label="Use business hours (off: always open)" name="enabled" value=enabled />
            <Field label="Time zone (IANA, like Europe/Madrid)" name="time_zone" value=zone />
            <fieldset>
                <legend>"Week (like 09:00-14:00, 15:00-18:00; empty: closed)"</legend>
                {(0..7)
                    .map(|i| {
                        let name = DAYS[i].to_ascii_lowercase();
                        view! {
                            <label class="day">
                                {DAYS[i]}
                                <input
                                    type="text"
                                    name=name
                                    prop:value=move || days[i].get()
                                    on:input={handle(ev::input, move |ev| days[i].set(event_target_value(&ev)))}
                                />
                            </label>
                        }
                    })
                    .collect_view()}
            </fieldset>
            <Text label="Holidays, one date per line (2026-12-25)" name="holidays" value=holidays />
            <Text
                label="Other hours on a date, one per line (2026-12-24 10:00-12:00, or 2026-12-26 closed)"
                name="exceptions"
                value=exceptions
            />
            {admin.then(|| view! { <span><button type="submit" class="primary">"Save"</button></span> })}
        </form>
        {status_line("error", error)}
        <p class="saved" role="status" hidden=move || !saved.get()>
            "Saved; the widget follows at once."
        </p>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn interval(open: &str, close: &str) -> Interval {
        Interval {
            open: open.into(),
            close: close.into(),
        }
    }

    #[test]
    fn intervals_read_back_as_written() {
        let typed = parse_intervals(" 09:00-14:00, 15:00 – 18:00;20:00-22:00 ,");
        assert_eq!(
            typed,
            vec![
                interval("09:00", "14:00"),
                interval("15:00", "18:00"),
                interval("20:00", "22:00"),
            ]
        );
        assert_eq!(
            intervals_text(&typed),
            "09:00-14:00, 15:00-18:00, 20:00-22:00"
        );
        assert_eq!(parse_intervals(""), vec![]);
        // Half an interval is kept for the server to refuse with a reason.
        assert_eq!(parse_intervals("09:00"), vec![interval("09:00", "")]);
    }

    #[test]
    fn minutes_of_a_time() {
        assert_eq!(minutes_of("00:00"), Some(0));
        assert_eq!(minutes_of(" 09:30 "), Some(570));
        assert_eq!(minutes_of("24:00"), Some(1440));
        assert_eq!(minutes_of("9"), None);
        assert_eq!(minutes_of("nine:00"), None);
        assert_eq!(minutes_of("-1:00"), None);
    }
}
