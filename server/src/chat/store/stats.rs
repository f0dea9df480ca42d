//! The dashboard home's figures: counts over `chat_sessions` and its
//! indexes, never a scan of `messages`.

use app::types::{DayCount, SessionStatus, Stats};
use chrono::{DateTime, Days, NaiveTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};

use super::ChatStore;
use crate::error::AppError;
use crate::storage::{chat_sessions, rfc3339};

/// How many days the per-day chart covers, today included.
pub const CHART_DAYS: u64 = 14;
/// The most first responses of one day the median is taken over (the
/// latest ones, past this many).
pub const MEDIAN_OVER_AT_MOST: u64 = 20_000;

/// A stored time, maybe unset.
type Instant = DateTime<Utc>;

/// The median of a list of numbers (`None` when it is empty).
pub fn median(mut values: Vec<f64>) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len().is_multiple_of(2) {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    })
}

/// The start of `at`'s UTC day.
fn day_start(at: DateTime<Utc>) -> DateTime<Utc> {
    at.date_naive().and_time(NaiveTime::MIN).and_utc()
}

impl ChatStore {
    /// Conversations with a visitor message no agent has read.
    pub async fn unread_conversations(&self) -> Result<i64, AppError> {
        use chat_sessions::Column as C;
        let n = chat_sessions::Entity::find()
            .filter(Expr::col(C::LastCustomerSeq).gt(Expr::col(C::AgentReadSeq)))
            .count(&self.db.read)
            .await?;
        Ok(n as i64)
    }

    /// The home's figures as of `at`.
    pub async fn stats(&self, at: DateTime<Utc>) -> Result<Stats, AppError> {
        use chat_sessions::Column as C;
        let db = &self.db.read;
        let all = || chat_sessions::Entity::find();
        let open = C::Status.eq(SessionStatus::Open.as_str());
        let conversations = all().count(db).await?;
        let open_count = all().filter(open.clone()).count(db).await?;
        let unread = self.unread_conversations().await?;
        let waiting_first_reply = all()
            .filter(open)
            .filter(C::LastCustomerSeq.gt(0))
            .filter(C::LastAgentSeq.eq(0))
            .count(db)
            .await?;

        let today = day_start(at);
        let firsts: Vec<(Option<Instant>, Option<Instant>)> = all()
            .select_only()
            .column(C::FirstCustomerAt)
            .column(C::FirstAgentAt)
            .filter(C::FirstAgentAt.gte(today))
            .order_by_desc(C::FirstAgentAt)
            .limit(MEDIAN_OVER_AT_MOST)
            .into_tuple()
            .all(db)
            .await?;
        // A conversation an agent began (no visitor message before the
        // first reply) has no response time.
        let waits: Vec<f64> = firsts
            .into_iter()
            .filter_map(|(customer, agent)| {
                let wait = agent? - customer?;
                (wait >= chrono::Duration::zero()).then(|| wait.num_milliseconds() as f64 / 1000.0)
            })
            .collect();
        let first_responses_today = waits.len() as i64;

        let mut per_day = Vec::with_capacity(CHART_DAYS as usize);
        for back in (0..CHART_DAYS).rev() {
            let start = today - Days::new(back);
            let end = start + Days::new(1);
            let count = all()
                .filter(C::CreatedAt.gte(start))
                .filter(C::CreatedAt.lt(end))
                .count(db)
                .await?;
            per_day.push(DayCount {
                date: start.format("%Y-%m-%d").to_string(),
                conversations: count as i64,
            });
        }
        Ok(Stats {
            conversations: conversations as i64,
            open: open_count as i64,
            unread,
            waiting_first_reply: waiting_first_reply as i64,
            median_first_response_secs: median(waits),
            first_responses_today,
            per_day,
            generated_at: rfc3339(at),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_even_and_empty_lists() {
        assert_eq!(median(vec![]), None);
        assert_eq!(median(vec![5.0]), Some(5.0));
        assert_eq!(median(vec![9.0, 1.0, 3.0]), Some(3.0));
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }

    #[test]
    fn a_day_starts_at_utc_midnight() {
        let at = DateTime::parse_from_rfc3339("2026-12-02T15:51:07.5Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(rfc3339(day_start(at)), "2026-12-02T00:00:00.000000Z");
    }
}
