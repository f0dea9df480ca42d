//! Automated responses: rules that answer visitors on keywords, greetings,
//! a first message, outside business hours, when no agent is online, or
//! when nobody has replied for a while; business hours; and availability
//! (open now and an agent online), which the widget follows.
//!
//! Rules run off the acknowledgement path: the writer hands each committed
//! visitor message to [`engine`] on the instance that committed it, and
//! the bot's reply is a message of its own, stored after the visitor's.
//! A reply's `client_id` is derived from the message it answers, so a
//! replayed message, a retry or a second instance never makes a second
//! reply. Every firing and every match held back (cooldown, maximum) is
//! logged with its reason.
//!
//! # Layout
//! - this file: [`AutomationService`] (rules, business hours, the dry run,
//!   the log, availability).
//! - `rules`: checking a rule, [`rules::evaluate`] (the one decision),
//!   templates.
//! - `text`: words, greetings, e-mail addresses, URL patterns.
//! - `hours`: the business-hours schedule.
//! - `engine`: the worker that answers messages, the scheduler (delayed
//!   replies, `no_reply`).
//! - `store`: the queries. `routes`: the admin API and its router.
//!   `defaults`: the rules `create-default-responses` installs.

use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use app::automation::{
    AutoResponse, AutoResponseChange, AutoResponseId, AutoResponseLogPage, AutoResponseTest,
    AutoResponseVerdict, BusinessHours, BusinessHoursView, NewAutoResponse,
};
use app::types::{AgentView, ErrorCode, SessionStatus};
use chrono::{DateTime, Utc};
use tokio::sync::{broadcast, watch};

use crate::auth::require_admin;
use crate::bus::{Audience, Bus, Change};
use crate::error::AppError;
use crate::presence::Presence;
use crate::storage::{now, rfc3339, Db};

pub mod defaults;
pub mod engine;
pub mod hours;
pub mod routes;
pub mod rules;
pub mod store;
pub mod text;

use hours::Schedule;
use rules::{Draft, Fill, Message, Rule, Visitor};
use store::AutomationStore;

/// Every instance reloads rules and hours this often, should an event be
/// lost.
const RELOAD_EVERY: Duration = Duration::from_secs(60);
/// Availability is computed again at least this often (and at once when
/// presence or the hours change, and when business hours open or close).
const AVAILABILITY_EVERY: Duration = Duration::from_secs(30);
/// The most log entries one page holds.
pub const LOG_PAGE_MAX: u64 = 100;

/// The business hours in force: as stored, and checked.
#[derive(Clone, Debug)]
pub struct Hours {
    pub stored: BusinessHours,
    pub schedule: Schedule,
}

impl Hours {
    fn off() -> Self {
        Self {
            stored: BusinessHours::default(),
            schedule: Schedule::always_open(),
        }
    }
}

pub struct AutomationService {
    store: AutomationStore,
    max_chars: usize,
    bus: Arc<Bus>,
    presence: Arc<Presence>,
    rules: RwLock<Arc<Vec<Rule>>>,
    hours: watch::Sender<Arc<Hours>>,
    available: watch::Sender<bool>,
}

fn unknown() -> AppError {
    AppError::NotFound(ErrorCode::UnknownRule, "No such automated response.".into())
}

fn taken(name: &str) -> AppError {
    AppError::Conflict(
        ErrorCode::RuleNameTaken,
        format!("Another automated response is named {name:?}."),
    )
}

/// An RFC 3339 time; `None` when it is not one.
fn parse_time(raw: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(raw.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn time_hint(field: &str) -> String {
    format!("{field} is a time like 2026-12-24T18:00:00Z (RFC 3339).")
}

impl AutomationService {
    /// Loads the rules and hours, and starts the tasks that reload them on
    /// every instance's change and keep availability current.
    pub async fn start(
        db: Db,
        bus: Arc<Bus>,
        presence: Arc<Presence>,
        max_chars: usize,
    ) -> anyhow::Result<Arc<Self>> {
        let service = Arc::new(Self {
            store: AutomationStore::new(db),
            max_chars,
            bus,
            available: watch::channel(presence.available()).0,
            presence,
            rules: RwLock::new(Arc::new(Vec::new())),
            hours: watch::channel(Arc::new(Hours::off())).0,
        });
        service
            .reload()
            .await
            .map_err(|e| anyhow::anyhow!("cannot read automated responses: {e}"))?;
        service.recompute_availability();
        let events = service.bus.hub().subscribe_agents();
        tokio::spawn(reload_loop(Arc::downgrade(&service), events));
        tokio::spawn(availability_loop(
            Arc::downgrade(&service),
            service.presence.subscribe(),
            service.hours.subscribe(),
        ));
        Ok(service)
    }

    pub fn store(&self) -> &AutomationStore {
        &self.store
    }

    pub fn presence(&self) -> &Arc<Presence> {
        &self.presence
    }

    pub fn max_chars(&self) -> usize {
        self.max_chars
    }

    /// The rules in force (every instance's latest save).
    pub fn rules(&self) -> Arc<Vec<Rule>> {
        self.rules
            .read()
            .map(|r| r.clone())
            .unwrap_or_else(|e| e.into_inner().clone())
    }

    /// The business hours in force.
    pub fn hours(&self) -> Arc<Hours> {
        self.hours.borrow().clone()
    }

    /// Whether visitors are told someone can answer: business hours are
    /// open and an agent is online.
    pub fn available(&self) -> bool {
        *self.available.borrow()
    }

    /// Availability, as it changes.
    pub fn subscribe_available(&self) -> watch::Receiver<bool> {
        self.available.subscribe()
    }

    fn recompute_availability(&self) {
        let open = self.hours().schedule.is_open(Utc::now());
        let value = open && self.presence.available();
        self.available
            .send_if_modified(|v| std::mem::replace(v, value) != value);
    }

    /// Reads rules and hours again.
    pub async fn reload(&self) -> Result<(), AppError> {
        let mut loaded = Vec::new();
        for view in self.store.rules(rules::MAX_RULES).await? {
            let name = view.name.clone();
            match Rule::new(view) {
                Ok(rule) => loaded.push(rule),
                Err(e) => {
                    tracing::error!(rule = %name, error = %e, "automated response unusable; skipped")
                }
            }
        }
        if let Ok(mut slot) = self.rules.write() {
            *slot = Arc::new(loaded);
        }
        let hours = match self.store.hours().await? {
            None => Hours::off(),
            Some(text) => match serde_json::from_str::<BusinessHours>(&text)
                .map_err(|e| e.to_string())
                .and_then(|h| {
                    Schedule::parse(&h)
                        .map(|s| (h, s))
                        .map_err(|e| e.to_string())
                }) {
                Ok((stored, schedule)) => Hours { stored, schedule },
                Err(e) => {
                    tracing::error!(error = %e, "saved business hours are unreadable; always open");
                    Hours::off()
                }
            },
        };
        self.hours.send_replace(Arc::new(hours));
        Ok(())
    }

    /// Applies a change here at once and on every other instance.
    async fn changed(&self) -> Result<(), AppError> {
        self.reload().await?;
        self.recompute_availability();
        self.bus
            .publish(Audience::Agents, Change::AutomationChanged);
        Ok(())
    }

    /// Every rule, highest priority first.
    pub async fn list(&self) -> Result<Vec<AutoResponse>, AppError> {
        self.store.rules(rules::MAX_RULES).await
    }

    pub async fn get(&self, id: &AutoResponseId) -> Result<AutoResponse, AppError> {
        self.store.rule(id).await?.ok_or_else(unknown)
    }

    /// Saves a new rule; admins only.
    pub async fn create(
        &self,
        actor: &AgentView,
        new: NewAutoResponse,
    ) -> Result<AutoResponse, AppError> {
        require_admin(actor)?;
        let made = insert(&self.store, self.max_chars, &new).await?;
        self.changed().await?;
        Ok(made)
    }

    /// Changes a rule; admins only.
    pub async fn update(
        &self,
        actor: &AgentView,
        id: &AutoResponseId,
        change: AutoResponseChange,
    ) -> Result<AutoResponse, AppError> {
        require_admin(actor)?;
        let current = self.get(id).await?;
        let changed = replace(&self.store, self.max_chars, current, change).await?;
        self.changed().await?;
        Ok(changed)
    }

    /// Ranks the rules in `ids`' order, the first highest: priorities
    /// become 10 × (how many follow + 1); rules not named keep theirs.
    /// Admins only. Answers every rule.
    pub async fn reorder(
        &self,
        actor: &AgentView,
        ids: &[AutoResponseId],
    ) -> Result<Vec<AutoResponse>, AppError> {
        require_admin(actor)?;
        if ids.len() as u64 > rules::MAX_RULES {
            return Err(AppError::Invalid(
                ErrorCode::InvalidRule,
                "At most 200 rules are ranked at once.".into(),
            ));
        }
        let n = ids.len() as i32;
        let mut changed = false;
        for (i, id) in ids.iter().enumerate() {
            let priority = (n - i as i32) * 10;
            let current = self.get(id).await?;
            if current.priority != priority {
                let change = AutoResponseChange {
                    priority: Some(priority),
                    ..AutoResponseChange::default()
                };
                replace(&self.store, self.max_chars, current, change).await?;
                changed = true;
            }
        }
        if changed {
            self.changed().await?;
        }
        self.list().await
    }

    /// Deletes a rule (its log entries stay, with its name); admins only.
    pub async fn delete(&self, actor: &AgentView, id: &AutoResponseId) -> Result<(), AppError> {
        require_admin(actor)?;
        if !self.store.delete(id).await? {
            return Err(unknown());
        }
        self.changed().await
    }

    /// Which rule would answer this message, and its reply; nothing is
    /// sent. Cooldowns and maximums are per conversation and not applied.
    pub async fn test(&self, t: AutoResponseTest) -> Result<AutoResponseVerdict, AppError> {
        let at = match &t.at {
            Some(raw) => parse_time(raw)
                .ok_or_else(|| AppError::Invalid(ErrorCode::InvalidBody, time_hint("at")))?,
            None => Utc::now(),
        };
        let content = crate::chat::domain::MessageText::parse(&t.content, self.max_chars)?;
        let hours = self.hours();
        let language = t
            .language
            .as_deref()
            .map(|l| l.trim().replace('_', "-").to_ascii_lowercase());
        let message = Message {
            content: content.as_str(),
            words: text::words(content.as_str()),
            first_message: t.first_message.unwrap_or(true),
            agents_online: t.agents_online.unwrap_or_else(|| self.presence.available()),
            open: hours.schedule.is_open(at),
            visitor: Visitor {
                language: language.as_deref(),
                page_url: t.page_url.as_deref(),
                identified: t.identified.unwrap_or(false),
                status: SessionStatus::Open,
            },
            at,
        };
        let rules = self.rules();
        let verdict = rules::evaluate(&rules, &message);
        let mut reasons = verdict.reasons;
        let Some(winner) = verdict.matched.first().map(|m| m.rule) else {
            return Ok(AutoResponseVerdict {
                rule: None,
                reply: None,
                reasons,
            });
        };
        let zone = t.time_zone.as_deref().and_then(hours::time_zone);
        let reply = compose(
            winner,
            &hours.schedule,
            Reader {
                language: language.as_deref(),
                zone,
                has_email: false,
            },
            Fill {
                customer_name: t.customer_name.as_deref(),
                agent_name: None,
                next_open: None,
                language: rules::widget_language(language.as_deref()),
            },
            at,
            self.max_chars,
        );
        if verdict.matched.len() > 1 {
            reasons.push(
                "In a conversation a rule in its cooldown or at its maximum is skipped \
                 and the next match answers; the dry run has no conversation."
                    .into(),
            );
        }
        Ok(AutoResponseVerdict {
            rule: Some(winner.view.clone()),
            reply: Some(reply),
            reasons,
        })
    }

    /// A page of the log, newest first.
    pub async fn logs(
        &self,
        rule: Option<&AutoResponseId>,
        from: Option<&str>,
        to: Option<&str>,
        cursor: Option<&str>,
        limit: Option<u64>,
    ) -> Result<AutoResponseLogPage, AppError> {
        let query_time = |field: &str, raw: Option<&str>| {
            raw.map(|r| {
                parse_time(r)
                    .ok_or_else(|| AppError::BadRequest(ErrorCode::InvalidQuery, time_hint(field)))
            })
            .transpose()
        };
        let from = query_time("from", from)?;
        let to = query_time("to", to)?;
        if let Some(c) = cursor {
            if uuid::Uuid::parse_str(c).is_err() {
                return Err(AppError::BadRequest(
                    ErrorCode::InvalidCursor,
                    "cursor is the next_cursor of an earlier page.".into(),
                ));
            }
        }
        let limit = limit.unwrap_or(50).clamp(1, LOG_PAGE_MAX);
        let mut logs = self.store.logs(rule, from, to, cursor, limit + 1).await?;
        let next_cursor = if logs.len() as u64 > limit {
            logs.truncate(limit as usize);
            logs.last().map(|l| l.id.clone())
        } else {
            None
        };
        Ok(AutoResponseLogPage { logs, next_cursor })
    }

    pub fn hours_view(&self) -> BusinessHoursView {
        let hours = self.hours();
        let at = Utc::now();
        BusinessHoursView {
            hours: hours.stored.clone(),
            open_now: hours.schedule.is_open(at),
            next_open: hours.schedule.next_open(at).map(rfc3339),
        }
    }

    /// Saves business hours and applies them on every instance; admins
    /// only.
    pub async fn set_hours(
        &self,
        actor: &AgentView,
        hours: BusinessHours,
    ) -> Result<BusinessHoursView, AppError> {
        require_admin(actor)?;
        let normalised = Schedule::normalised(&hours)?;
        let text = serde_json::to_string(&normalised)
            .map_err(|e| AppError::internal("business hours", e))?;
        self.store
            .save_hours(text, actor.id.as_str(), now())
            .await?;
        self.changed().await?;
        Ok(self.hours_view())
    }
}

/// Checks and inserts a rule (no reload).
async fn insert(
    store: &AutomationStore,
    max_chars: usize,
    new: &NewAutoResponse,
) -> Result<AutoResponse, AppError> {
    let (name, trigger, conditions, action) = rules::check(Draft::from(new), max_chars)?;
    let at = now();
    let rule = AutoResponse {
        id: uuid::Uuid::now_v7().to_string().into(),
        name,
        priority: new.priority,
        enabled: new.enabled,
        trigger,
        conditions,
        action,
        cooldown_seconds: new.cooldown_seconds,
        max_per_conversation: new.max_per_conversation,
        created_at: rfc3339(at),
        updated_at: rfc3339(at),
    };
    match store.insert(&rule, at, rules::MAX_RULES).await? {
        Ok(Some(())) => Ok(rule),
        Ok(None) => Err(AppError::Conflict(
            ErrorCode::TooMany,
            format!(
                "A team keeps at most {} automated responses; delete one first.",
                rules::MAX_RULES
            ),
        )),
        Err(store::NameTaken) => Err(taken(&rule.name)),
    }
}

/// Applies a change to a rule, checks the result and saves it (no reload).
async fn replace(
    store: &AutomationStore,
    max_chars: usize,
    current: AutoResponse,
    change: AutoResponseChange,
) -> Result<AutoResponse, AppError> {
    let mut next = current;
    if let Some(v) = change.name {
        next.name = v;
    }
    if let Some(v) = change.priority {
        next.priority = v;
    }
    if let Some(v) = change.enabled {
        next.enabled = v;
    }
    if let Some(v) = change.trigger {
        next.trigger = v;
    }
    if let Some(v) = change.conditions {
        next.conditions = v;
    }
    if let Some(v) = change.action {
        next.action = v;
    }
    if let Some(v) = change.cooldown_seconds {
        next.cooldown_seconds = v;
    }
    if let Some(v) = change.max_per_conversation {
        next.max_per_conversation = v;
    }
    let (name, trigger, conditions, action) = rules::check(Draft::from(&next), max_chars)?;
    let at = now();
    next.name = name;
    next.trigger = trigger;
    next.conditions = conditions;
    next.action = action;
    next.updated_at = rfc3339(at);
    match store.update(&next, at).await? {
        Ok(true) => Ok(next),
        Ok(false) => Err(unknown()),
        Err(store::NameTaken) => Err(taken(&next.name)),
    }
}

/// Installs the default rules ([`defaults::rules`]): missing ones are
/// added (by name); with `force`, existing ones are reset to the defaults.
/// Answers how many were added and reset. Running servers apply them at
/// their next reload (within [`RELOAD_EVERY`]).
pub async fn install_defaults(
    store: &AutomationStore,
    max_chars: usize,
    force: bool,
) -> Result<(usize, usize), AppError> {
    let (mut added, mut reset) = (0, 0);
    for new in defaults::rules() {
        match store.rule_by_name(&new.name).await? {
            None => {
                insert(store, max_chars, &new).await?;
                added += 1;
            }
            Some(current) if force => {
                let (_, trigger, conditions, action) = rules::check(Draft::from(&new), max_chars)?;
                let wanted = AutoResponse {
                    priority: new.priority,
                    enabled: new.enabled,
                    trigger,
                    conditions,
                    action,
                    cooldown_seconds: new.cooldown_seconds,
                    max_per_conversation: new.max_per_conversation,
                    ..current.clone()
                };
                if same_rule(&current, &wanted) {
                    continue;
                }
                // The name is what found the rule: unchanged.
                let change = AutoResponseChange {
                    name: None,
                    ..AutoResponseChange::from(new)
                };
                replace(store, max_chars, current, change).await?;
                reset += 1;
            }
            Some(_) => {}
        }
    }
    Ok((added, reset))
}

fn same_rule(a: &AutoResponse, b: &AutoResponse) -> bool {
    a.priority == b.priority
        && a.enabled == b.enabled
        && a.trigger == b.trigger
        && a.conditions == b.conditions
        && a.action == b.action
        && a.cooldown_seconds == b.cooldown_seconds
        && a.max_per_conversation == b.max_per_conversation
}

/// Who reads a reply: their language tag, their time zone, whether the
/// conversation has an e-mail address.
#[derive(Clone, Copy, Debug, Default)]
pub struct Reader<'a> {
    pub language: Option<&'a str>,
    pub zone: Option<chrono_tz::Tz>,
    pub has_email: bool,
}

/// A rule's reply as the visitor reads it: the template filled in (with
/// `{next_open}` in the visitor's time zone when known, else the team's,
/// named), the e-mail question when the rule asks and none is known, cut
/// to the longest message. The dry run and the real reply both use it.
pub fn compose(
    rule: &Rule,
    schedule: &Schedule,
    reader: Reader<'_>,
    mut fill: Fill<'_>,
    at: DateTime<Utc>,
    max_chars: usize,
) -> String {
    let Reader {
        language,
        zone: visitor_zone,
        has_email,
    } = reader;
    fill.next_open = schedule.next_open(at).map(|when| {
        let (zone, named) = match visitor_zone {
            Some(z) => (z, false),
            None => (schedule.tz(), true),
        };
        hours::describe(when, at, zone, named, fill.language)
    });
    let mut reply = rules::render(rules::template(&rule.view.action, language), &fill);
    if rule.view.action.ask_email && !has_email {
        reply.push_str("\n\n");
        reply.push_str(rules::ask_email_sentence(fill.language));
    }
    match reply.char_indices().nth(max_chars) {
        Some((cut, _)) => reply[..cut].to_string(),
        None => reply,
    }
}

/// Reloads on another instance's change (or a lost event) and every
/// [`RELOAD_EVERY`]; ends with the service.
async fn reload_loop(
    service: Weak<AutomationService>,
    mut events: broadcast::Receiver<Arc<crate::bus::Published>>,
) {
    let mut every = tokio::time::interval(RELOAD_EVERY);
    every.tick().await;
    loop {
        let due = tokio::select! {
            _ = every.tick() => true,
            event = events.recv() => match event {
                Ok(p) => matches!(p.event.change, Change::AutomationChanged | Change::Resync),
                Err(broadcast::error::RecvError::Lagged(_)) => true,
                Err(broadcast::error::RecvError::Closed) => return,
            },
        };
        if !due {
            continue;
        }
        let Some(service) = service.upgrade() else {
            return;
        };
        match tokio::time::timeout(Duration::from_secs(10), service.reload()).await {
            Ok(Ok(())) => service.recompute_availability(),
            Ok(Err(e)) => tracing::warn!(error = %e, "automated responses: reload failed"),
            Err(_) => tracing::warn!("automated responses: reload timed out"),
        }
    }
}

/// Keeps availability current: when presence or the hours change, when
/// business hours open or close, and every [`AVAILABILITY_EVERY`].
async fn availability_loop(
    service: Weak<AutomationService>,
    mut presence: watch::Receiver<bool>,
    mut hours: watch::Receiver<Arc<Hours>>,
) {
    loop {
        let wait = {
            let Some(service) = service.upgrade() else {
                return;
            };
            service.recompute_availability();
            let now = Utc::now();
            service
                .hours()
                .schedule
                .next_change(now)
                .and_then(|at| (at - now).to_std().ok())
                .map_or(AVAILABILITY_EVERY, |d| {
                    d.min(AVAILABILITY_EVERY) + Duration::from_millis(50)
                })
        };
        tokio::select! {
            changed = presence.changed() => if changed.is_err() { return },
            changed = hours.changed() => if changed.is_err() { return },
            _ = tokio::time::sleep(wait) => {}
        }
    }
}
