//! [`DashboardBackend`]: what the Leptos server functions call. Thin: each
//! method calls a domain service.

use app::api::Backend;
use app::types::{
    AgentAccount, AgentId, AgentView, ApiError, ApiTokenView, CannedResponse, CannedResponseId,
    ConversationView, InboxParams, MessagePage, MessageView, NewApiToken, NotePage, NoteView, Role,
    SessionId, SessionPage, SessionStatus, SessionView, Stats, WidgetSettingsChange,
    WidgetSettingsView,
};
use axum::extract::FromRef;

use crate::agents::{AccountChange, AdminState, NewAccount, TokenKind};
use crate::canned::{CannedChange, NewCanned};
use crate::chat::HistoryQuery;
use crate::limits::{client_addr, ClientAddr};
use crate::state::AppState;
use app::automation::{
    AutoResponse, AutoResponseChange, AutoResponseId, AutoResponseLogPage, AutoResponseTest,
    AutoResponseVerdict, BusinessHours, BusinessHoursView, LogQuery, NewAutoResponse,
};

/// Server functions' access to the domain services.
pub struct DashboardBackend(pub AppState);

impl DashboardBackend {
    /// The calling browser's address: leptos_axum puts the request's parts
    /// into the server function's context, the peer address in their
    /// extensions.
    fn client(&self) -> ClientAddr {
        leptos::prelude::use_context::<axum::http::request::Parts>()
            .map(|parts| client_addr(&parts, &self.0.limits))
            .unwrap_or(ClientAddr(std::net::IpAddr::V6(
                std::net::Ipv6Addr::LOCALHOST,
            )))
    }
}

#[async_trait::async_trait]
impl Backend for DashboardBackend {
    async fn agent_for_session(&self, token: &str) -> Result<Option<AgentView>, ApiError> {
        Ok(self
            .0
            .agents
            .agent_for_token(token, TokenKind::Session)
            .await?)
    }

    async fn login(&self, username: &str, password: &str) -> Result<String, ApiError> {
        let from = self.client();
        Ok(self.0.agents.login(username, password, from).await?)
    }

    async fn logout(&self, token: &str) -> Result<(), ApiError> {
        Ok(self.0.agents.logout(token).await?)
    }

    async fn setup_needed(&self) -> Result<bool, ApiError> {
        Ok(self.0.agents.setup_needed().await?)
    }

    async fn complete_setup(
        &self,
        setup_token: &str,
        username: &str,
        password: &str,
    ) -> Result<String, ApiError> {
        let agent = self
            .0
            .agents
            .complete_setup(setup_token, username, password)
            .await?;
        Ok(self
            .0
            .agents
            .issue(&agent.id, TokenKind::Session, None)
            .await?)
    }

    async fn unread_conversations(&self) -> Result<i64, ApiError> {
        Ok(self.0.chat.unread_conversations().await?)
    }

    async fn stats(&self) -> Result<Stats, ApiError> {
        Ok(self.0.chat.stats().await?)
    }

    async fn api_tokens(&self, agent: &AgentView) -> Result<Vec<ApiTokenView>, ApiError> {
        Ok(self.0.agents.tokens(agent).await?)
    }

    async fn add_api_token(
        &self,
        agent: &AgentView,
        username: &str,
        name: Option<String>,
    ) -> Result<NewApiToken, ApiError> {
        let (view, token) = self.0.agents.add_token(agent, username, name).await?;
        Ok(NewApiToken { view, token })
    }

    async fn revoke_api_token(&self, agent: &AgentView, id: &str) -> Result<(), ApiError> {
        Ok(self.0.agents.remove_token(agent, id).await?)
    }

    async fn widget_settings(&self, agent: &AgentView) -> Result<WidgetSettingsView, ApiError> {
        Ok(self.0.settings.view(agent)?)
    }

    async fn save_widget_settings(
        &self,
        agent: &AgentView,
        change: WidgetSettingsChange,
    ) -> Result<WidgetSettingsView, ApiError> {
        Ok(self.0.settings.change(agent, change).await?)
    }

    async fn rotate_identity_secret(
        &self,
        agent: &AgentView,
    ) -> Result<WidgetSettingsView, ApiError> {
        Ok(self.0.settings.rotate_secret(agent).await?)
    }

    async fn auto_responses(&self) -> Result<Vec<AutoResponse>, ApiError> {
        Ok(self.0.automation.list().await?)
    }

    async fn save_auto_response(
        &self,
        agent: &AgentView,
        id: Option<&AutoResponseId>,
        rule: NewAutoResponse,
    ) -> Result<AutoResponse, ApiError> {
        Ok(match id {
            Some(id) => self.0.automation.update(agent, id, rule.into()).await?,
            None => self.0.automation.create(agent, rule).await?,
        })
    }

    async fn change_auto_response(
        &self,
        agent: &AgentView,
        id: &AutoResponseId,
        change: AutoResponseChange,
    ) -> Result<AutoResponse, ApiError> {
        Ok(self.0.automation.update(agent, id, change).await?)
    }

    async fn delete_auto_response(
        &self,
        agent: &AgentView,
        id: &AutoResponseId,
    ) -> Result<(), ApiError> {
        Ok(self.0.automation.delete(agent, id).await?)
    }

    async fn reorder_auto_responses(
        &self,
        agent: &AgentView,
        ids: &[AutoResponseId],
    ) -> Result<Vec<AutoResponse>, ApiError> {
        Ok(self.0.automation.reorder(agent, ids).await?)
    }

    async fn test_auto_response(
        &self,
        test: AutoResponseTest,
    ) -> Result<AutoResponseVerdict, ApiError> {
        Ok(self.0.automation.test(test).await?)
    }

    async fn auto_response_logs(&self, q: &LogQuery) -> Result<AutoResponseLogPage, ApiError> {
        Ok(self
            .0
            .automation
            .logs(
                q.rule.as_ref().filter(|r| !r.as_str().is_empty()),
                q.from.as_deref().filter(|s| !s.is_empty()),
                q.to.as_deref().filter(|s| !s.is_empty()),
                q.cursor.as_deref().filter(|s| !s.is_empty()),
                None,
            )
            .await?)
    }

    async fn business_hours(&self) -> Result<BusinessHoursView, ApiError> {
        Ok(self.0.automation.hours_view())
    }

    async fn save_business_hours(
        &self,
        agent: &AgentView,
        hours: BusinessHours,
    ) -> Result<BusinessHoursView, ApiError> {
        Ok(self.0.automation.set_hours(agent, hours).await?)
    }

    async fn canned_responses(&self) -> Result<Vec<CannedResponse>, ApiError> {
        Ok(self.0.canned.list().await?)
    }

    async fn save_canned_response(
        &self,
        agent: &AgentView,
        id: Option<&CannedResponseId>,
        shortcut: &str,
        content: &str,
    ) -> Result<CannedResponse, ApiError> {
        Ok(match id {
            Some(id) => {
                let change = CannedChange {
                    shortcut: Some(shortcut.to_string()),
                    content: Some(content.to_string()),
                };
                self.0.canned.update(agent, id, change).await?
            }
            None => {
                let new = NewCanned {
                    shortcut: shortcut.to_string(),
                    content: content.to_string(),
                };
                self.0.canned.create(agent, new).await?
            }
        })
    }

    async fn delete_canned_response(
        &self,
        agent: &AgentView,
        id: &CannedResponseId,
    ) -> Result<(), ApiError> {
        Ok(self.0.canned.delete(agent, id).await?)
    }

    async fn team(&self) -> Result<Vec<AgentAccount>, ApiError> {
        let mut team = self.0.agents.list().await?;
        team.retain(|a| a.active);
        Ok(team)
    }

    async fn accounts(&self, agent: &AgentView) -> Result<Vec<AgentAccount>, ApiError> {
        Ok(self.0.agents.accounts(agent).await?)
    }

    async fn add_account(
        &self,
        agent: &AgentView,
        username: &str,
        display_name: &str,
        password: &str,
        role: Role,
    ) -> Result<AgentAccount, ApiError> {
        let new = NewAccount {
            username: username.to_string(),
            password: password.to_string(),
            role,
            display_name: display_name.to_string(),
        };
        Ok(self.0.agents.add_account(agent, new).await?)
    }

    async fn set_account_active(
        &self,
        agent: &AgentView,
        id: &AgentId,
        active: bool,
    ) -> Result<AgentAccount, ApiError> {
        let change = AccountChange {
            active: Some(active),
            ..AccountChange::default()
        };
        Ok(self.0.agents.change_account(agent, id, change).await?)
    }

    async fn reset_account_password(
        &self,
        agent: &AgentView,
        id: &AgentId,
        password: &str,
    ) -> Result<AgentAccount, ApiError> {
        Ok(self
            .0
            .agents
            .reset_account_password(agent, id, password)
            .await?)
    }

    async fn set_display_name(
        &self,
        agent: &AgentView,
        display_name: &str,
    ) -> Result<AgentAccount, ApiError> {
        let change = AccountChange {
            display_name: Some(display_name.to_string()),
            ..AccountChange::default()
        };
        Ok(self
            .0
            .agents
            .change_account(agent, &agent.id, change)
            .await?)
    }

    async fn change_password(
        &self,
        agent: &AgentView,
        session: Option<&str>,
        current: &str,
        password: &str,
    ) -> Result<(), ApiError> {
        let from = self.client();
        Ok(self
            .0
            .agents
            .change_own_password(agent, session, current, password, from)
            .await?)
    }

    fn openapi(&self) -> &'static str {
        crate::openapi::json()
    }

    async fn sign_out_everywhere(&self, agent: &AgentView) -> Result<(), ApiError> {
        self.0.agents.sign_out_everywhere(agent).await?;
        Ok(())
    }

    async fn list_sessions(
        &self,
        agent: &AgentView,
        filter: &InboxParams,
    ) -> Result<SessionPage, ApiError> {
        Ok(self.0.chat.inbox(agent, filter).await?)
    }

    async fn conversation(&self, session_id: &SessionId) -> Result<ConversationView, ApiError> {
        let mut view = self.0.chat.conversation(session_id).await?;
        view.attachments = Some(self.0.attachments.limits());
        Ok(view)
    }

    async fn assign(
        &self,
        agent: &AgentView,
        session_id: &SessionId,
        assignee: Option<&AgentId>,
    ) -> Result<SessionView, ApiError> {
        Ok(self.0.chat.assign(agent, session_id, assignee).await?)
    }

    async fn add_note(
        &self,
        agent: &AgentView,
        session_id: &SessionId,
        content: &str,
        client_id: Option<&str>,
    ) -> Result<NoteView, ApiError> {
        Ok(self
            .0
            .chat
            .add_note(agent, session_id, content, client_id)
            .await?)
    }

    async fn notes(&self, session_id: &SessionId, cursor: &str) -> Result<NotePage, ApiError> {
        Ok(self.0.chat.notes(session_id, Some(cursor), None).await?)
    }

    async fn earlier_messages(
        &self,
        session_id: &SessionId,
        before: i64,
    ) -> Result<MessagePage, ApiError> {
        let query = HistoryQuery {
            after: None,
            before: Some(before),
            limit: Some(crate::chat::service::PAGE_DEFAULT),
        };
        Ok(self.0.chat.history(session_id, query).await?)
    }

    async fn reply(
        &self,
        agent: &AgentView,
        session_id: &SessionId,
        content: &str,
        client_id: &str,
    ) -> Result<MessageView, ApiError> {
        Ok(self
            .0
            .chat
            .reply(agent, session_id, content, Some(client_id))
            .await?)
    }

    async fn set_status(
        &self,
        _agent: &AgentView,
        session_id: &SessionId,
        status: SessionStatus,
    ) -> Result<SessionView, ApiError> {
        Ok(self.0.chat.set_status(session_id, status).await?)
    }

    async fn delete_conversation(
        &self,
        agent: &AgentView,
        session_id: &SessionId,
    ) -> Result<(), ApiError> {
        Ok(AdminState::from_ref(&self.0)
            .delete_conversation(agent, session_id)
            .await?)
    }

    fn secure_cookies(&self) -> bool {
        self.0.config.secure_cookies()
    }

    fn session_ttl_secs(&self) -> i64 {
        self.0.agents.session_ttl_secs()
    }
}
