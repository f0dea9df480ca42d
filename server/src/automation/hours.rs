//! Business hours: a weekly schedule in a named time zone, holidays and
//! one-off dates. Every question is asked in local wall-clock time, so
//! daylight-saving changes need no special case: "09:00–17:00" is 09:00 to
//! 17:00 on the clock on the wall, whatever the UTC offset that day.

use std::collections::HashMap;

use app::automation::{BusinessHours, DateHours, Interval};
use app::types::ErrorCode;
use chrono::{
    DateTime, Datelike, Days, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc,
};
use chrono_tz::Tz;

use crate::error::AppError;

/// The most intervals in one day.
pub const MAX_INTERVALS: usize = 6;
/// The most holidays and one-off dates, each.
pub const MAX_DATES: usize = 366;
/// How far ahead `next_open` looks (a year of holidays at most).
const HORIZON_DAYS: u64 = 400;

/// Minutes since local midnight, `[open, close)`; `close` may be 1440.
type Span = (u32, u32);

/// A checked schedule, ready to answer "open at?" and "next open after?".
#[derive(Clone, Debug)]
pub struct Schedule {
    enabled: bool,
    tz: Tz,
    /// Monday first.
    week: [Vec<Span>; 7],
    /// Holidays (no spans) and one-off dates.
    dates: HashMap<NaiveDate, Vec<Span>>,
}

fn invalid(message: impl Into<String>) -> AppError {
    AppError::Invalid(ErrorCode::InvalidBusinessHours, message.into())
}

fn minutes(field: &str, raw: &str) -> Result<u32, AppError> {
    let bad = || invalid(format!("{field}: {raw:?} is not a time like 09:30."));
    let (h, m) = raw.trim().split_once(':').ok_or_else(bad)?;
    let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if m >= 60 || h > 24 || (h == 24 && m != 0) {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

fn spans(field: &str, intervals: &[Interval]) -> Result<Vec<Span>, AppError> {
    if intervals.len() > MAX_INTERVALS {
        return Err(invalid(format!(
            "{field}: at most {MAX_INTERVALS} intervals a day."
        )));
    }
    let mut out = Vec::with_capacity(intervals.len());
    for i in intervals {
        let (open, close) = (minutes(field, &i.open)?, minutes(field, &i.close)?);
        if open >= close {
            return Err(invalid(format!(
                "{field}: {} to {} closes before it opens.",
                i.open, i.close
            )));
        }
        out.push((open, close));
    }
    out.sort_unstable();
    if out.windows(2).any(|w| w[0].1 > w[1].0) {
        return Err(invalid(format!("{field}: intervals overlap.")));
    }
    Ok(out)
}

fn date(field: &str, raw: &str) -> Result<NaiveDate, AppError> {
    NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .map_err(|_| invalid(format!("{field}: {raw:?} is not a date like 2026-12-25.")))
}

/// Parses a time zone's IANA name.
pub fn time_zone(raw: &str) -> Option<Tz> {
    raw.trim().parse::<Tz>().ok()
}

const DAY_NAMES: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

fn hhmm(m: u32) -> String {
    format!("{:02}:{:02}", m / 60, m % 60)
}

impl Schedule {
    /// Checks a schedule: a known time zone, times like `09:30`, intervals
    /// that open before they close and do not overlap, real dates.
    pub fn parse(hours: &BusinessHours) -> Result<Self, AppError> {
        let tz = time_zone(&hours.time_zone).ok_or_else(|| {
            invalid(format!(
                "time_zone: {:?} is not an IANA time zone like Europe/Madrid.",
                hours.time_zone
            ))
        })?;
        let mut week: [Vec<Span>; 7] = Default::default();
        for (i, day) in hours.week.days().into_iter().enumerate() {
            week[i] = spans(DAY_NAMES[i], day)?;
        }
        if hours.holidays.len() > MAX_DATES || hours.exceptions.len() > MAX_DATES {
            return Err(invalid(format!(
                "at most {MAX_DATES} holidays and {MAX_DATES} exceptions."
            )));
        }
        let mut dates = HashMap::new();
        for raw in &hours.holidays {
            dates.insert(date("holidays", raw)?, Vec::new());
        }
        for DateHours {
            date: raw,
            intervals,
        } in &hours.exceptions
        {
            let day = date("exceptions", raw)?;
            if dates.contains_key(&day) {
                return Err(invalid(format!(
                    "{raw} is listed twice (holidays and exceptions)."
                )));
            }
            dates.insert(day, spans(&format!("exceptions {raw}"), intervals)?);
        }
        Ok(Self {
            enabled: hours.enabled,
            tz,
            week,
            dates,
        })
    }

    /// The schedule as stored, normalised (sorted intervals, `HH:MM`).
    pub fn normalised(hours: &BusinessHours) -> Result<BusinessHours, AppError> {
        let schedule = Self::parse(hours)?;
        let mut out = BusinessHours {
            enabled: hours.enabled,
            time_zone: schedule.tz.name().to_string(),
            ..Default::default()
        };
        for (i, day) in out.week.days_mut().into_iter().enumerate() {
            *day = schedule.week[i]
                .iter()
                .map(|&(o, c)| Interval {
                    open: hhmm(o),
                    close: hhmm(c),
                })
                .collect();
        }
        let mut dates: Vec<_> = schedule.dates.iter().collect();
        dates.sort_by_key(|(d, _)| **d);
        for (day, spans) in dates {
            let text = day.format("%Y-%m-%d").to_string();
            if hours.holidays.iter().any(|h| h.trim() == text) {
                out.holidays.push(text);
            } else {
                out.exceptions.push(DateHours {
                    date: text,
                    intervals: spans
                        .iter()
                        .map(|&(o, c)| Interval {
                            open: hhmm(o),
                            close: hhmm(c),
                        })
                        .collect(),
                });
            }
        }
        Ok(out)
    }

    /// Always open.
    pub fn always_open() -> Self {
        Self {
            enabled: false,
            tz: Tz::UTC,
            week: Default::default(),
            dates: HashMap::new(),
        }
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    pub fn tz(&self) -> Tz {
        self.tz
    }

    fn spans_on(&self, day: NaiveDate) -> &[Span] {
        match self.dates.get(&day) {
            Some(spans) => spans,
            None => &self.week[day.weekday().num_days_from_monday() as usize],
        }
    }

    /// Whether the team is open at `at`.
    pub fn is_open(&self, at: DateTime<Utc>) -> bool {
        if !self.enabled {
            return true;
        }
        let local = at.with_timezone(&self.tz).naive_local();
        let m = local.time().hour_minute();
        self.spans_on(local.date())
            .iter()
            .any(|&(open, close)| open <= m && m < close)
    }

    /// When the team next opens after `at` (None: open now, disabled, or
    /// not within a year).
    pub fn next_open(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if !self.enabled || self.is_open(at) {
            return None;
        }
        // Not open now, so every opening today at or before now has closed
        // again; the first opening instant after `at` is the answer (an
        // opening a daylight-saving jump skipped resolves past the jump).
        let mut day = at.with_timezone(&self.tz).date_naive();
        for _ in 0..HORIZON_DAYS {
            for &(open, _) in self.spans_on(day) {
                let candidate = self.instant(day, open);
                if candidate > at {
                    return Some(candidate);
                }
            }
            day = day.checked_add_days(Days::new(1))?;
        }
        None
    }

    /// When the open period that contains `at` ends, or the next opening
    /// (whichever comes first): when availability may change.
    pub fn next_change(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if !self.enabled {
            return None;
        }
        if !self.is_open(at) {
            return self.next_open(at);
        }
        let local = at.with_timezone(&self.tz).naive_local();
        let m = local.time().hour_minute();
        let day = local.date();
        let close = self
            .spans_on(day)
            .iter()
            .find(|&&(o, c)| o <= m && m < c)
            .map(|&(_, c)| c)?;
        Some(self.instant(day, close))
    }

    /// The instant of `minute` past midnight on local `day`: in a
    /// daylight-saving gap, the first instant after it; in an overlap, the
    /// earlier of the two.
    fn instant(&self, day: NaiveDate, minute: u32) -> DateTime<Utc> {
        let base = if minute >= 1440 {
            day.checked_add_days(Days::new(1))
                .unwrap_or(day)
                .and_time(NaiveTime::MIN)
        } else {
            day.and_time(
                NaiveTime::from_hms_opt(minute / 60, minute % 60, 0).unwrap_or(NaiveTime::MIN),
            )
        };
        resolve(self.tz, base)
    }
}

/// A local time as an instant; a time skipped by a jump forward becomes
/// the first minute after the jump.
fn resolve(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    let mut t = local;
    for _ in 0..(4 * 60) {
        match tz.from_local_datetime(&t) {
            LocalResult::Single(d) => return d.with_timezone(&Utc),
            LocalResult::Ambiguous(a, _) => return a.with_timezone(&Utc),
            LocalResult::None => t += chrono::Duration::minutes(1),
        }
    }
    Utc.from_utc_datetime(&local)
}

trait HourMinute {
    fn hour_minute(&self) -> u32;
}

impl HourMinute for NaiveTime {
    fn hour_minute(&self) -> u32 {
        use chrono::Timelike;
        self.hour() * 60 + self.minute()
    }
}

/// `{next_open}` as a visitor reads it: the weekday and time in `tz`
/// (theirs when known, else the team's, then named), in their language;
/// with the date when it is a week or more away.
pub fn describe(at: DateTime<Utc>, now: DateTime<Utc>, tz: Tz, named: bool, lang: &str) -> String {
    let local = at.with_timezone(&tz);
    let day = local.weekday().num_days_from_monday() as usize;
    let (days, today, tomorrow, at_word): ([&str; 7], &str, &str, &str) = match lang {
        "es" => (
            [
                "lunes",
                "martes",
                "miércoles",
                "jueves",
                "viernes",
                "sábado",
                "domingo",
            ],
            "hoy",
            "mañana",
            "a las",
        ),
        "fr" => (
            [
                "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
            ],
            "aujourd'hui",
            "demain",
            "à",
        ),
        "de" => (
            [
                "Montag",
                "Dienstag",
                "Mittwoch",
                "Donnerstag",
                "Freitag",
                "Samstag",
                "Sonntag",
            ],
            "heute",
            "morgen",
            "um",
        ),
        _ => (
            [
                "Monday",
                "Tuesday",
                "Wednesday",
                "Thursday",
                "Friday",
                "Saturday",
                "Sunday",
            ],
            "today",
            "tomorrow",
            "at",
        ),
    };
    let local_today = now.with_timezone(&tz).date_naive();
    let date = local.date_naive();
    let when = if date == local_today {
        today.to_string()
    } else if Some(date) == local_today.succ_opt() {
        tomorrow.to_string()
    } else if (date - local_today).num_days() < 7 {
        days[day].to_string()
    } else {
        format!("{} {}", days[day], date.format("%Y-%m-%d"))
    };
    let time = local.format("%H:%M");
    let mut out = format!("{when} {at_word} {time}");
    if named {
        out.push_str(&format!(" ({})", tz.name()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::automation::Week;

    fn iv(open: &str, close: &str) -> Interval {
        Interval {
            open: open.into(),
            close: close.into(),
        }
    }

    fn weekdays(tz: &str, intervals: Vec<Interval>) -> BusinessHours {
        let mut week = Week::default();
        for day in week.days_mut().into_iter().take(5) {
            *day = intervals.clone();
        }
        BusinessHours {
            enabled: true,
            time_zone: tz.into(),
            week,
            holidays: vec![],
            exceptions: vec![],
        }
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn bad_schedules_are_refused_with_the_field() {
        let mut h = weekdays("Europe/Madrid", vec![iv("09:00", "17:00")]);
        h.time_zone = "Mars/Olympus".into();
        assert_eq!(
            Schedule::parse(&h).unwrap_err().code(),
            ErrorCode::InvalidBusinessHours
        );
        for (o, c) in [
            ("9", "17:00"),
            ("17:00", "09:00"),
            ("25:00", "26:00"),
            ("09:60", "10:00"),
        ] {
            let h = weekdays("UTC", vec![iv(o, c)]);
            assert!(Schedule::parse(&h).is_err(), "{o}-{c}");
        }
        let h = weekdays("UTC", vec![iv("09:00", "13:00"), iv("12:00", "17:00")]);
        assert!(Schedule::parse(&h)
            .unwrap_err()
            .to_string()
            .contains("overlap"));
        let mut h = weekdays("UTC", vec![iv("09:00", "17:00")]);
        h.holidays = vec!["2026-02-30".into()];
        assert!(Schedule::parse(&h).is_err());
        let h = weekdays("UTC", vec![iv("00:00", "24:00")]);
        assert!(Schedule::parse(&h).is_ok());
    }

    #[test]
    fn madrid_across_the_spring_and_autumn_changes() {
        // Spain: UTC+1 in winter, UTC+2 from 29 March 2026 (02:00 → 03:00)
        // to 25 October 2026 (03:00 → 02:00).
        let s = Schedule::parse(&weekdays("Europe/Madrid", vec![iv("09:00", "17:00")])).unwrap();
        // Friday 27 March, winter: 09:00 local is 08:00 UTC.
        assert!(!s.is_open(utc("2026-03-27T07:59:00Z")));
        assert!(s.is_open(utc("2026-03-27T08:00:00Z")));
        assert!(s.is_open(utc("2026-03-27T15:59:00Z")));
        assert!(!s.is_open(utc("2026-03-27T16:00:00Z")));
        // Monday 30 March, summer: 09:00 local is 07:00 UTC.
        assert!(!s.is_open(utc("2026-03-30T06:59:00Z")));
        assert!(s.is_open(utc("2026-03-30T07:00:00Z")));
        assert!(!s.is_open(utc("2026-03-30T15:00:00Z")));
        // Closed over the weekend of the change: next open is Monday 07:00 UTC.
        assert_eq!(
            s.next_open(utc("2026-03-27T16:00:00Z")),
            Some(utc("2026-03-30T07:00:00Z"))
        );
        // Autumn: Friday 23 October summer (07:00 UTC), Monday 26 winter (08:00 UTC).
        assert!(s.is_open(utc("2026-10-23T07:00:00Z")));
        assert_eq!(
            s.next_open(utc("2026-10-23T20:00:00Z")),
            Some(utc("2026-10-26T08:00:00Z"))
        );
        assert_eq!(
            s.next_change(utc("2026-10-26T08:00:00Z")),
            Some(utc("2026-10-26T16:00:00Z"))
        );
    }

    #[test]
    fn new_york_hours_inside_the_changes() {
        // US: 8 March 2026 02:00 → 03:00; 1 November 2026 02:00 → 01:00.
        // A night shift open 01:00–04:00 every day of the week.
        let mut h = weekdays("America/New_York", vec![iv("01:00", "04:00")]);
        h.week.saturday = vec![iv("01:00", "04:00")];
        h.week.sunday = vec![iv("01:00", "04:00")];
        let s = Schedule::parse(&h).unwrap();
        // Sunday 8 March: 01:00 EST = 06:00 UTC; 03:00 EDT = 07:00 UTC;
        // 04:00 EDT = 08:00 UTC. Open the whole time, 2 hours of UTC.
        assert!(s.is_open(utc("2026-03-08T06:00:00Z")));
        assert!(s.is_open(utc("2026-03-08T07:59:00Z")));
        assert!(!s.is_open(utc("2026-03-08T08:00:00Z")));
        // Sunday 1 November: 01:00 EDT = 05:00 UTC; 01:00 EST = 06:00 UTC;
        // 04:00 EST = 09:00 UTC. Open 4 hours of UTC.
        assert!(s.is_open(utc("2026-11-01T05:00:00Z")));
        assert!(s.is_open(utc("2026-11-01T08:59:00Z")));
        assert!(!s.is_open(utc("2026-11-01T09:00:00Z")));
        // An opening at 02:30, skipped on 8 March, opens at 03:00 EDT.
        let mut h = weekdays("America/New_York", vec![]);
        h.week.sunday = vec![iv("02:30", "05:00")];
        let s = Schedule::parse(&h).unwrap();
        assert_eq!(
            s.next_open(utc("2026-03-08T05:00:00Z")),
            Some(utc("2026-03-08T07:00:00Z"))
        );
        assert!(s.is_open(utc("2026-03-08T07:00:00Z")));
    }

    #[test]
    fn holidays_and_exceptions_override_the_week() {
        let mut h = weekdays(
            "Europe/Madrid",
            vec![iv("09:00", "14:00"), iv("15:00", "18:00")],
        );
        h.holidays = vec!["2026-12-25".into()];
        h.exceptions = vec![
            DateHours {
                date: "2026-12-24".into(),
                intervals: vec![iv("10:00", "12:00")],
            },
            DateHours {
                date: "2026-12-27".into(),
                intervals: vec![iv("10:00", "11:00")],
            },
        ];
        let s = Schedule::parse(&h).unwrap();
        // Thursday 24 December: only 10:00–12:00 (09:00–11:00 UTC).
        assert!(!s.is_open(utc("2026-12-24T08:30:00Z")));
        assert!(s.is_open(utc("2026-12-24T09:30:00Z")));
        assert!(!s.is_open(utc("2026-12-24T14:30:00Z")));
        // Christmas Friday closed; Sunday 27 open (exception); Monday 28 as usual.
        assert!(!s.is_open(utc("2026-12-25T10:00:00Z")));
        assert_eq!(
            s.next_open(utc("2026-12-24T11:00:00Z")),
            Some(utc("2026-12-27T09:00:00Z"))
        );
        assert_eq!(
            s.next_open(utc("2026-12-27T10:00:00Z")),
            Some(utc("2026-12-28T08:00:00Z"))
        );
        // The lunch break.
        assert!(!s.is_open(utc("2026-12-28T13:30:00Z")));
        assert_eq!(
            s.next_open(utc("2026-12-28T13:30:00Z")),
            Some(utc("2026-12-28T14:00:00Z"))
        );
        let back = Schedule::normalised(&h).unwrap();
        assert_eq!(back.holidays, ["2026-12-25"]);
        assert_eq!(back.exceptions.len(), 2);
    }

    #[test]
    fn disabled_is_always_open_and_closed_forever_has_no_next() {
        let mut h = weekdays("UTC", vec![]);
        assert!(Schedule::parse(&h)
            .unwrap()
            .next_open(utc("2026-01-01T00:00:00Z"))
            .is_none());
        assert!(!Schedule::parse(&h)
            .unwrap()
            .is_open(utc("2026-01-01T00:00:00Z")));
        h.enabled = false;
        assert!(Schedule::parse(&h)
            .unwrap()
            .is_open(utc("2026-01-01T00:00:00Z")));
    }

    #[test]
    fn next_open_reads_naturally() {
        let now = utc("2026-12-04T18:00:00Z"); // a Friday
        let tz = time_zone("Europe/Madrid").unwrap();
        assert_eq!(
            describe(utc("2026-12-07T08:00:00Z"), now, tz, false, "en"),
            "Monday at 09:00"
        );
        assert_eq!(
            describe(utc("2026-12-05T08:00:00Z"), now, tz, true, "es"),
            "mañana a las 09:00 (Europe/Madrid)"
        );
        let ny = time_zone("America/New_York").unwrap();
        assert_eq!(
            describe(utc("2026-12-07T08:00:00Z"), now, ny, false, "fr"),
            "lundi à 03:00"
        );
        assert!(describe(utc("2026-12-20T08:00:00Z"), now, tz, false, "de")
            .starts_with("Sonntag 2026-12-20"));
    }
}
