//! The customer panel's rows: one `visitor_contexts` row per conversation
//! (upserted on every start), and a person's other conversations by
//! e-mail.

use app::types::SessionId;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Func, OnConflict};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};

use super::{conversation, ChatStore};
use crate::chat::domain::Conversation;
use crate::chat::visitor::Visit;
use crate::error::AppError;
use crate::storage::{chat_sessions, visitor_contexts};

/// A visitor's stored facts, as the domain reads them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VisitorRecord {
    pub verified: bool,
    pub last_seen_at: DateTime<Utc>,
    pub page_url: Option<String>,
    pub referrer: Option<String>,
    pub user_agent: Option<String>,
    pub time_zone: Option<String>,
    pub utc_offset: Option<i32>,
    pub language: Option<String>,
}

impl ChatStore {
    /// Records a start: always who vouched and when; the browser when the
    /// request named one; the page fields when it carried a context.
    pub async fn record_visit(
        &self,
        id: &SessionId,
        verified: bool,
        visit: &Visit,
        at: DateTime<Utc>,
    ) -> Result<(), AppError> {
        use visitor_contexts::Column as C;
        let row = visitor_contexts::ActiveModel {
            session_id: Set(id.to_string()),
            verified: Set(verified),
            last_seen_at: Set(at),
            page_url: Set(visit.page_url.clone()),
            referrer: Set(visit.referrer.clone()),
            user_agent: Set(visit.user_agent.clone()),
            time_zone: Set(visit.time_zone.clone()),
            utc_offset: Set(visit.utc_offset),
            language: Set(visit.language.clone()),
        };
        let mut replace = vec![C::Verified, C::LastSeenAt];
        if visit.user_agent.is_some() {
            replace.push(C::UserAgent);
        }
        if visit.language.is_some() {
            replace.push(C::Language);
        }
        if visit.has_context {
            replace.extend([C::PageUrl, C::Referrer, C::TimeZone, C::UtcOffset]);
        }
        visitor_contexts::Entity::insert(row)
            .on_conflict(
                OnConflict::column(C::SessionId)
                    .update_columns(replace)
                    .to_owned(),
            )
            .exec_without_returning(&self.db.write)
            .await?;
        Ok(())
    }

    /// The visitor's browser reported another page at `at`: the page
    /// fields (and the browser, when named) replace the stored ones.
    /// Answers the stored facts, or `None` when no start recorded them.
    pub async fn visitor_moved(
        &self,
        id: &SessionId,
        visit: &Visit,
        at: DateTime<Utc>,
    ) -> Result<Option<VisitorRecord>, AppError> {
        use visitor_contexts::Column as C;
        let mut update = visitor_contexts::Entity::update_many()
            .col_expr(C::LastSeenAt, Expr::value(at))
            .col_expr(C::PageUrl, Expr::value(visit.page_url.clone()))
            .col_expr(C::Referrer, Expr::value(visit.referrer.clone()))
            .col_expr(C::TimeZone, Expr::value(visit.time_zone.clone()))
            .col_expr(C::UtcOffset, Expr::value(visit.utc_offset));
        if let Some(agent) = &visit.user_agent {
            update = update.col_expr(C::UserAgent, Expr::value(agent.clone()));
        }
        if let Some(language) = &visit.language {
            update = update.col_expr(C::Language, Expr::value(language.clone()));
        }
        let done = update
            .filter(C::SessionId.eq(id.as_str()))
            .exec(&self.db.write)
            .await?;
        if done.rows_affected == 0 {
            return Ok(None);
        }
        self.visitor(id).await
    }

    /// The visitor was there at `at` (their socket closed); nothing when
    /// no start recorded them.
    pub async fn visitor_seen(&self, id: &SessionId, at: DateTime<Utc>) -> Result<(), AppError> {
        visitor_contexts::Entity::update_many()
            .col_expr(visitor_contexts::Column::LastSeenAt, Expr::value(at))
            .filter(visitor_contexts::Column::SessionId.eq(id.as_str()))
            .exec(&self.db.write)
            .await?;
        Ok(())
    }

    pub async fn visitor(&self, id: &SessionId) -> Result<Option<VisitorRecord>, AppError> {
        Ok(visitor_contexts::Entity::find_by_id(id.as_str())
            .one(&self.db.read)
            .await?
            .map(|row| VisitorRecord {
                verified: row.verified,
                last_seen_at: row.last_seen_at,
                page_url: row.page_url,
                referrer: row.referrer,
                user_agent: row.user_agent,
                time_zone: row.time_zone,
                utc_offset: row.utc_offset,
                language: row.language,
            }))
    }

    /// Other conversations with this e-mail (any case), newest first;
    /// served by the `lower(email)` index.
    pub async fn same_email(
        &self,
        email: &str,
        except: &SessionId,
        limit: u64,
    ) -> Result<Vec<Conversation>, AppError> {
        let lower = Func::lower(Expr::col(chat_sessions::Column::Email));
        Ok(chat_sessions::Entity::find()
            .filter(ExprTrait::eq(lower, email.to_lowercase()))
            .filter(chat_sessions::Column::Id.ne(except.as_str()))
            .order_by_desc(chat_sessions::Column::CreatedAt)
            .order_by_desc(chat_sessions::Column::Id)
            .limit(limit)
            .all(&self.db.read)
            .await?
            .into_iter()
            .map(conversation)
            .collect())
    }
}
