//! The rule editor: its fields as typed, and the rule they make.

use leptos::ev;
use leptos::prelude::*;

use super::super::fields::{save_or_cancel, Check, Choice, Field, Text};
use crate::automation::{
    Action, AutoResponse, AutoResponseId, Conditions, KeywordMatch, NewAutoResponse, Trigger,
    VisitorKind, DEFAULT_COOLDOWN_SECONDS,
};
use crate::pages::events::handle;
use crate::types::SessionStatus;

/// The editor's fields, as typed.
#[derive(Clone, Copy)]
pub(super) struct Form {
    pub(super) editing: RwSignal<Option<AutoResponseId>>,
    name: RwSignal<String>,
    priority: RwSignal<String>,
    enabled: RwSignal<bool>,
    kind: RwSignal<String>,
    matching: RwSignal<String>,
    keywords: RwSignal<String>,
    minutes: RwSignal<String>,
    page_url: RwSignal<String>,
    languages: RwSignal<String>,
    visitor: RwSignal<String>,
    status: RwSignal<String>,
    message: RwSignal<String>,
    es: RwSignal<String>,
    fr: RwSignal<String>,
    de: RwSignal<String>,
    delay: RwSignal<String>,
    close: RwSignal<bool>,
    ask_email: RwSignal<bool>,
    cooldown: RwSignal<String>,
    max: RwSignal<String>,
}

impl Form {
    pub(super) fn new() -> Self {
        let s = || RwSignal::new(String::new());
        let form = Self {
            editing: RwSignal::new(None),
            name: s(),
            priority: s(),
            enabled: RwSignal::new(true),
            kind: s(),
            matching: s(),
            keywords: s(),
            minutes: s(),
            page_url: s(),
            languages: s(),
            visitor: s(),
            status: s(),
            message: s(),
            es: s(),
            fr: s(),
            de: s(),
            delay: s(),
            close: RwSignal::new(false),
            ask_email: RwSignal::new(false),
            cooldown: s(),
            max: s(),
        };
        form.reset();
        form
    }

    pub(super) fn reset(&self) {
        self.editing.set(None);
        for f in [
            self.name,
            self.keywords,
            self.page_url,
            self.languages,
            self.visitor,
            self.status,
            self.message,
            self.es,
            self.fr,
            self.de,
        ] {
            f.set(String::new());
        }
        self.priority.set("0".into());
        self.enabled.set(true);
        self.kind.set("keyword".into());
        self.matching.set("any".into());
        self.minutes.set("5".into());
        self.delay.set("0".into());
        self.close.set(false);
        self.ask_email.set(false);
        self.cooldown
            .set((DEFAULT_COOLDOWN_SECONDS / 60).to_string());
        self.max.set("1".into());
    }

    pub(super) fn load(&self, r: &AutoResponse) {
        self.reset();
        self.editing.set(Some(r.id.clone()));
        self.name.set(r.name.clone());
        self.priority.set(r.priority.to_string());
        self.enabled.set(r.enabled);
        self.kind.set(r.trigger.kind().into());
        match &r.trigger {
            Trigger::Keyword { matching, keywords } => {
                self.matching.set(
                    match matching {
                        KeywordMatch::Any => "any",
                        KeywordMatch::All => "all",
                        KeywordMatch::Phrase => "phrase",
                        KeywordMatch::Regex => "regex",
                    }
                    .into(),
                );
                self.keywords.set(keywords.join("\n"));
            }
            Trigger::NoReply { minutes } => self.minutes.set(minutes.to_string()),
            _ => {}
        }
        let c = &r.conditions;
        self.page_url.set(c.page_url.clone().unwrap_or_default());
        self.languages.set(c.languages.join(", "));
        self.visitor.set(match c.visitor {
            Some(VisitorKind::Identified) => "identified".into(),
            Some(VisitorKind::Anonymous) => "anonymous".into(),
            None => String::new(),
        });
        self.status
            .set(c.status.map(|s| s.as_str().to_string()).unwrap_or_default());
        let a = &r.action;
        self.message.set(a.message.clone());
        let tr = |l: &str| a.translations.get(l).cloned().unwrap_or_default();
        self.es.set(tr("es"));
        self.fr.set(tr("fr"));
        self.de.set(tr("de"));
        self.delay.set(a.delay_seconds.to_string());
        self.close.set(a.close);
        self.ask_email.set(a.ask_email);
        self.cooldown.set((r.cooldown_seconds / 60).to_string());
        self.max.set(r.max_per_conversation.to_string());
    }

    /// The rule as typed, or what is wrong with a number.
    pub(super) fn rule(&self) -> Result<NewAutoResponse, String> {
        fn number<T: std::str::FromStr>(field: &str, raw: &str) -> Result<T, String> {
            raw.trim()
                .parse()
                .map_err(|_| format!("{field} must be a whole number."))
        }
        let trigger = match self.kind.get_untracked().as_str() {
            "greeting" => Trigger::Greeting,
            "first_message" => Trigger::FirstMessage,
            "outside_business_hours" => Trigger::OutsideBusinessHours,
            "no_agent_online" => Trigger::NoAgentOnline,
            "no_reply" => Trigger::NoReply {
                minutes: number("Minutes", &self.minutes.get_untracked())?,
            },
            _ => Trigger::Keyword {
                matching: match self.matching.get_untracked().as_str() {
                    "all" => KeywordMatch::All,
                    "phrase" => KeywordMatch::Phrase,
                    "regex" => KeywordMatch::Regex,
                    _ => KeywordMatch::Any,
                },
                keywords: self
                    .keywords
                    .get_untracked()
                    .lines()
                    .map(str::trim)
                    .filter(|k| !k.is_empty())
                    .map(str::to_string)
                    .collect(),
            },
        };
        let text = |s: RwSignal<String>| {
            let v = s.get_untracked().trim().to_string();
            (!v.is_empty()).then_some(v)
        };
        let conditions = Conditions {
            page_url: text(self.page_url),
            languages: self
                .languages
                .get_untracked()
                .split([',', ' '])
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect(),
            visitor: match self.visitor.get_untracked().as_str() {
                "identified" => Some(VisitorKind::Identified),
                "anonymous" => Some(VisitorKind::Anonymous),
                _ => None,
            },
            status: match self.status.get_untracked().as_str() {
                "open" => Some(SessionStatus::Open),
                "closed" => Some(SessionStatus::Closed),
                _ => None,
            },
        };
        let mut translations = std::collections::BTreeMap::new();
        for (lang, s) in [("es", self.es), ("fr", self.fr), ("de", self.de)] {
            if let Some(t) = text(s) {
                translations.insert(lang.to_string(), t);
            }
        }
        let minutes: u32 = number("Cooldown", &self.cooldown.get_untracked())?;
        Ok(NewAutoResponse {
            name: self.name.get_untracked(),
            priority: number("Priority", &self.priority.get_untracked())?,
            enabled: self.enabled.get_untracked(),
            trigger,
            conditions,
            action: Action {
                message: self.message.get_untracked(),
                translations,
                delay_seconds: number("Delay", &self.delay.get_untracked())?,
                close: self.close.get_untracked(),
                ask_email: self.ask_email.get_untracked(),
            },
            cooldown_seconds: minutes.saturating_mul(60),
            max_per_conversation: number("Most times", &self.max.get_untracked())?,
        })
    }
}

const TRIGGERS: &[(&str, &str)] = &[
    ("keyword", "Keywords"),
    ("greeting", "A greeting"),
    ("first_message", "The visitor's first message"),
    ("outside_business_hours", "Outside business hours"),
    ("no_agent_online", "No agent online"),
    ("no_reply", "No reply within some minutes"),
];
const MATCHES: &[(&str, &str)] = &[
    ("any", "Any of them"),
    ("all", "All of them"),
    ("phrase", "The whole message is one"),
    ("regex", "Regular expressions"),
];
const VISITORS: &[(&str, &str)] = &[
    ("", "Anyone"),
    ("identified", "Identified"),
    ("anonymous", "Anonymous"),
];
const STATUSES: &[(&str, &str)] = &[
    ("", "Any"),
    ("open", "Open"),
    ("closed", "Closed (reopened by the message)"),
];

#[component]
pub(super) fn RuleForm(
    form: Form,
    save: impl Fn(leptos::ev::SubmitEvent) + 'static,
    saving: RwSignal<bool>,
) -> impl IntoView {
    view! {
        <h2>{move || if form.editing.with(Option::is_some) { "Edit the rule" } else { "Add a rule" }}</h2>
        <form class="stack rule-form" on:submit={handle(ev::submit, save)}>
            <div class="row">
                <Field label="Name" name="name" value=form.name />
                <Field label="Priority (higher first)" name="priority" value=form.priority kind="number" />
                <Check label="Enabled" name="enabled" value=form.enabled />
            </div>
            <fieldset>
                <legend>"When"</legend>
                <Choice label="Trigger" name="trigger" value=form.kind options=TRIGGERS />
                <div hidden=move || form.kind.get() != "keyword">
                    <Choice label="Match" name="match" value=form.matching options=MATCHES />
                    <Text
                        label="Keywords, one per line (whole words; case and accents do not matter)"
                        name="keywords"
                        value=form.keywords
                        placeholder="price\nhow much"
                    />
                </div>
                <div hidden=move || form.kind.get() != "no_reply">
                    <Field label="Minutes without an agent's reply" name="minutes" value=form.minutes kind="number" />
                </div>
            </fieldset>
            <fieldset>
                <legend>"Only if (optional)"</legend>
                <div class="row">
                    <Field label="Page URL (* is any text)" name="page_url" value=form.page_url placeholder="*/pricing*" />
                    <Field label="Languages (es, fr-CA…)" name="languages" value=form.languages />
                    <Choice label="Visitor" name="visitor" value=form.visitor options=VISITORS />
                    <Choice label="Conversation" name="status" value=form.status options=STATUSES />
                </div>
            </fieldset>
            <fieldset>
                <legend>"Reply"</legend>
                <Text
                    label="Message ({customer_name}, {agent_name}, {next_open})"
                    name="message"
                    value=form.message
                />
                <details>
                    <summary>"Translations"</summary>
                    <Text label="Español" name="message_es" value=form.es />
                    <Text label="Français" name="message_fr" value=form.fr />
                    <Text label="Deutsch" name="message_de" value=form.de />
                </details>
                <div class="row">
                    <Field label="Delay (seconds)" name="delay" value=form.delay kind="number" />
                    <Field label="Cooldown (minutes)" name="cooldown" value=form.cooldown kind="number" />
                    <Field label="Most times per conversation" name="max" value=form.max kind="number" />
                </div>
                <Check label="Then close the conversation" name="close" value=form.close />
                <Check label="Ask for an e-mail address when none is known" name="ask_email" value=form.ask_email />
            </fieldset>
            {save_or_cancel(saving, move || form.editing.with(Option::is_some), move || form.reset())}
        </form>
    }
}
