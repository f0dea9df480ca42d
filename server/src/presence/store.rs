//! Presence queries: the only SeaORM of this domain.

use std::collections::HashSet;

use app::types::AgentId;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};

use crate::error::AppError;
use crate::storage::{agent_presence, Db};

pub struct PresenceStore {
    db: Db,
}

impl PresenceStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Makes `instance`'s rows exactly `agents`, valid until `expires`, and
    /// forgets rows that expired long ago (any instance's).
    pub async fn refresh(
        &self,
        instance: &str,
        agents: &HashSet<AgentId>,
        expires: DateTime<Utc>,
    ) -> Result<(), AppError> {
        let mut gone = agent_presence::Entity::delete_many()
            .filter(agent_presence::Column::InstanceId.eq(instance));
        if !agents.is_empty() {
            gone = gone.filter(
                agent_presence::Column::AgentId.is_not_in(agents.iter().map(AgentId::as_str)),
            );
        }
        gone.exec(&self.db.write).await?;
        if !agents.is_empty() {
            let rows = agents.iter().map(|agent| agent_presence::ActiveModel {
                instance_id: Set(instance.to_string()),
                agent_id: Set(agent.to_string()),
                expires_at: Set(expires),
            });
            agent_presence::Entity::insert_many(rows)
                .on_conflict(
                    OnConflict::columns([
                        agent_presence::Column::InstanceId,
                        agent_presence::Column::AgentId,
                    ])
                    .update_column(agent_presence::Column::ExpiresAt)
                    .to_owned(),
                )
                .exec_without_returning(&self.db.write)
                .await?;
        }
        let stale = crate::storage::now() - chrono::Duration::hours(1);
        agent_presence::Entity::delete_many()
            .filter(agent_presence::Column::ExpiresAt.lt(stale))
            .exec(&self.db.write)
            .await?;
        Ok(())
    }

    /// Whether any instance has an agent present now.
    pub async fn anyone_present(&self) -> Result<bool, AppError> {
        Ok(agent_presence::Entity::find()
            .filter(agent_presence::Column::ExpiresAt.gt(crate::storage::now()))
            .one(&self.db.read)
            .await?
            .is_some())
    }
}
