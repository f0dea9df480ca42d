//! [`AppState`]: what every handler may use. Cheap to clone.

use std::ops::Deref;
use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use tokio::sync::watch;

use crate::agents::AgentService;
use crate::automation::AutomationService;
use crate::bus::Bus;
use crate::canned::CannedService;
use crate::chat::ChatService;
use crate::config::Config;
use crate::limits::Limits;
use crate::metrics::Metrics;
use crate::presence::Presence;
use crate::settings::SettingsService;

#[derive(Clone)]
pub struct AppState(pub Arc<Inner>);

pub struct Inner {
    pub config: Config,
    pub chat: Arc<ChatService>,
    pub attachments: crate::attachments::AttachmentService,
    pub agents: AgentService,
    pub canned: CannedService,
    /// Automated responses, business hours and availability.
    pub automation: Arc<AutomationService>,
    /// The widget's settings in force (saved in the dashboard).
    pub settings: Arc<SettingsService>,
    pub bus: Arc<Bus>,
    pub limits: Arc<Limits>,
    pub metrics: Arc<Metrics>,
    /// Whether an agent is online, on any instance (availability for
    /// visitors also needs business hours: [`AutomationService::available`]).
    pub presence: Arc<Presence>,
    pub leptos_options: LeptosOptions,
    /// Turns `true` when the server is stopping; sockets close with 1001.
    pub shutdown: watch::Receiver<bool>,
}

impl Deref for AppState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl Inner {
    /// Deletes a conversation with its messages, notes and files (admins):
    /// the one path for the admin API and the dashboard. The files are
    /// listed before the rows go and deleted after, so a failure on the
    /// way leaves either everything or orphan files, never messages
    /// pointing at missing files.
    pub async fn delete_conversation(
        &self,
        actor: &app::types::AgentView,
        id: &app::types::SessionId,
    ) -> Result<(), crate::error::AppError> {
        crate::auth::require_admin(actor)?;
        let files = self.attachments.files_of(id).await?;
        self.chat.delete_conversation(id).await?;
        self.attachments.delete_stored(files).await;
        tracing::info!(session_id = %id, by = %actor.username, "conversation deleted");
        Ok(())
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
