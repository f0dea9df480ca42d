//! The settings' queries: one row per group in `site_settings`.

use sea_orm::sea_query::OnConflict;
use sea_orm::{EntityTrait, Set};

use app::types::AgentId;

use crate::error::AppError;
use crate::storage::{now, site_settings, Db};

/// The group of the widget's settings.
const WIDGET: &str = "widget";

/// The saved widget settings, if an admin ever saved them.
pub async fn get(db: &Db) -> Result<Option<site_settings::Model>, AppError> {
    Ok(site_settings::Entity::find_by_id(WIDGET)
        .one(&db.read)
        .await?)
}

/// Saves the widget settings' JSON (insert or replace).
pub async fn put(db: &Db, value: &str, by: &AgentId) -> Result<(), AppError> {
    let row = site_settings::ActiveModel {
        name: Set(WIDGET.to_string()),
        value: Set(value.to_string()),
        updated_at: Set(now()),
        updated_by: Set(Some(by.to_string())),
    };
    site_settings::Entity::insert(row)
        .on_conflict(
            OnConflict::column(site_settings::Column::Name)
                .update_columns([
                    site_settings::Column::Value,
                    site_settings::Column::UpdatedAt,
                    site_settings::Column::UpdatedBy,
                ])
                .to_owned(),
        )
        .exec_without_returning(&db.write)
        .await?;
    Ok(())
}
