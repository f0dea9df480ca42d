//! [`AppState`]: what the server holds. Cheap to clone. Every domain takes
//! its part of it through `FromRef` (its own service, [`WidgetState`],
//! [`FileState`], [`AdminState`], [`AgentAuth`], the socket driver's
//! [`Sockets`]), so its router is generic over the state and never names
//! it: the state imports the domains, never the other way round. Only what
//! sits above them (the dashboard, the site, startup) takes `AppState`.

use std::ops::Deref;
use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use tokio::sync::watch;

use crate::agents::extract::AgentAuth;
use crate::agents::{AdminState, AgentService};
use crate::attachments::routes::FileState;
use crate::automation::AutomationService;
use crate::bus::Bus;
use crate::canned::CannedService;
use crate::chat::{ChatService, WidgetState};
use crate::config::Config;
use crate::limits::Limits;
use crate::metrics::Metrics;
use crate::presence::Presence;
use crate::settings::SettingsService;
use crate::ws::Sockets;

#[derive(Clone)]
pub struct AppState(pub Arc<Inner>);

pub struct Inner {
    pub config: Config,
    pub chat: Arc<ChatService>,
    pub attachments: Arc<crate::attachments::AttachmentService>,
    pub agents: Arc<AgentService>,
    pub canned: Arc<CannedService>,
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
    /// Turns `true` when the server is stopping; sockets close with 1012.
    pub shutdown: watch::Receiver<bool>,
}

impl Deref for AppState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl FromRef<AppState> for AdminState {
    fn from_ref(state: &AppState) -> Self {
        AdminState {
            agents: state.agents.clone(),
            chat: state.chat.clone(),
            attachments: state.attachments.clone(),
        }
    }
}

impl FromRef<AppState> for Sockets {
    fn from_ref(state: &AppState) -> Self {
        Sockets {
            metrics: state.metrics.clone(),
            shutdown: state.shutdown.clone(),
        }
    }
}

impl FromRef<AppState> for WidgetState {
    fn from_ref(state: &AppState) -> Self {
        WidgetState {
            chat: state.chat.clone(),
            settings: state.settings.clone(),
            attachments: state.attachments.clone(),
            available: state.automation.subscribe_available(),
            limits: state.limits.clone(),
            sockets: Sockets::from_ref(state),
            max_message_chars: state.config.max_message_chars,
        }
    }
}

impl FromRef<AppState> for FileState {
    fn from_ref(state: &AppState) -> Self {
        FileState {
            attachments: state.attachments.clone(),
            chat: state.chat.clone(),
            limits: state.limits.clone(),
        }
    }
}

impl FromRef<AppState> for AgentAuth {
    fn from_ref(state: &AppState) -> Self {
        AgentAuth {
            agents: state.agents.clone(),
            secure_cookies: state.config.secure_cookies(),
        }
    }
}

/// A service of the state as a feature's router takes it (`State<Arc<…>>`),
/// so that features name their own services and never [`AppState`].
macro_rules! services {
    ($($field:ident: $service:ty),* $(,)?) => {
        $(
            impl FromRef<AppState> for Arc<$service> {
                fn from_ref(state: &AppState) -> Self {
                    state.$field.clone()
                }
            }
        )*
    };
}

services!(
    limits: Limits,
    canned: CannedService,
    settings: SettingsService,
    automation: AutomationService,
);

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
