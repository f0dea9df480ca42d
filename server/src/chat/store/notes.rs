//! Agents' private notes: their own table, read a page at a time, newest
//! first. Nothing here touches `messages` (seqs stay gapless, visitors'
//! history never holds a note).

use app::types::{AgentId, AgentView, NoteId, NoteView, SessionId};
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    SqlErr,
};

use super::inbox::staff_name;
use super::ChatStore;
use crate::chat::inbox::NoteCursor;
use crate::error::AppError;
use crate::storage::{rfc3339, session_notes};

/// The conversation a note was for does not exist.
pub struct NoSuchSession;

fn note_view(row: session_notes::Model, author_name: Option<String>) -> NoteView {
    NoteView {
        id: row.id.into(),
        session_id: row.session_id.into(),
        author_id: row.author_id.map(AgentId::from),
        author_name,
        content: row.content,
        created_at: rfc3339(row.created_at),
        client_id: row.client_id,
    }
}

impl ChatStore {
    /// Stores a note (the conversation must exist: its foreign key says
    /// so, in the same statement). With a `client_id` stored before on
    /// this conversation, nothing is written: the answer is that note and
    /// `true` (a replay).
    pub async fn insert_note(
        &self,
        session_id: &SessionId,
        author: &AgentView,
        content: &str,
        client_id: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<Result<(NoteView, bool), NoSuchSession>, AppError> {
        let row = session_notes::Model {
            // Time-ordered, like message ids.
            id: uuid::Uuid::now_v7().to_string(),
            session_id: session_id.to_string(),
            author_id: Some(author.id.to_string()),
            content: content.to_string(),
            created_at: at,
            client_id: client_id.map(str::to_string),
        };
        let inserted = session_notes::ActiveModel::from(row.clone())
            .insert(&self.db.write)
            .await;
        match inserted {
            Ok(_) => {
                let name = staff_name(&author.display_name, &author.username);
                Ok(Ok((note_view(row, Some(name)), false)))
            }
            Err(e) if matches!(e.sql_err(), Some(SqlErr::ForeignKeyConstraintViolation(_))) => {
                Ok(Err(NoSuchSession))
            }
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                let Some(client_id) = client_id else {
                    return Err(e.into());
                };
                let stored = session_notes::Entity::find()
                    .filter(session_notes::Column::SessionId.eq(session_id.as_str()))
                    .filter(session_notes::Column::ClientId.eq(client_id))
                    .one(&self.db.write)
                    .await?
                    .ok_or_else(|| {
                        AppError::internal("note replay", "no note for its client_id")
                    })?;
                let name = match stored.author_id.as_deref() {
                    Some(id) => self.staff_names(&[id]).await?.remove(id),
                    None => None,
                };
                Ok(Ok((note_view(stored, name), true)))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// A page of a conversation's notes, newest first (keyset on
    /// `(created_at, id)` descending), and where the next (older) page
    /// starts.
    pub async fn notes(
        &self,
        session_id: &SessionId,
        after: Option<&NoteCursor>,
        limit: u64,
    ) -> Result<(Vec<NoteView>, Option<NoteCursor>), AppError> {
        use session_notes::Column as C;
        let mut select = session_notes::Entity::find().filter(C::SessionId.eq(session_id.as_str()));
        if let Some(c) = after {
            select = select.filter(
                Condition::any().add(C::CreatedAt.lt(c.created_at)).add(
                    Condition::all()
                        .add(C::CreatedAt.eq(c.created_at))
                        .add(C::Id.lt(c.id.as_str())),
                ),
            );
        }
        let mut rows = select
            .order_by_desc(C::CreatedAt)
            .order_by_desc(C::Id)
            .limit(limit + 1)
            .all(&self.db.read)
            .await?;
        let more = rows.len() as u64 > limit;
        rows.truncate(limit as usize);
        let next = more.then(|| rows.last()).flatten().map(|last| NoteCursor {
            created_at: last.created_at,
            id: NoteId::from(last.id.clone()),
        });
        let authors: Vec<&str> = rows.iter().filter_map(|n| n.author_id.as_deref()).collect();
        let names = self.staff_names(&authors).await?;
        let notes = rows
            .into_iter()
            .map(|n| {
                let name = n.author_id.as_ref().and_then(|a| names.get(a).cloned());
                note_view(n, name)
            })
            .collect();
        Ok((notes, next))
    }
}
