//! Automated responses in the dashboard: `/dashboard/automation` (the
//! rules: enable toggles, drag or ↑/↓ to rank, the editor, the "try it"
//! box), `/dashboard/automation/hours` (business hours with a week view)
//! and `/dashboard/automation/log` (what fired, and what was held back).
//! Every agent reads them and may try; admins change them.
//!
//! Stable selectors: `.rule-row[data-name]` (`input.rule-enabled`,
//! `button.rule-up`, `.rule-edit`, `.rule-delete`), `form.rule-form`
//! (named fields), `form.try-it` (`textarea[name=try]`), `.try-result`
//! (`.try-rule`, `.try-reply`, `.try-reasons li`), `form.hours-form`,
//! `.week-view`, `.log-row[data-outcome]`.

use futures_util::future::join;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;

use super::{error_box, status_line};
use crate::api::{
    auto_response_logs, auto_responses, change_auto_response, current_agent, delete_auto_response,
    get_business_hours, reorder_auto_responses, save_auto_response, save_business_hours,
    test_auto_response,
};
use crate::automation::{
    Action, AutoResponse, AutoResponseChange, AutoResponseId, AutoResponseLog, AutoResponseTest,
    AutoResponseVerdict, BusinessHours, BusinessHoursView, Conditions, DateHours, Interval,
    KeywordMatch, LogQuery, NewAutoResponse, Trigger, VisitorKind, DEFAULT_COOLDOWN_SECONDS,
};
use crate::types::{decimal, short_time, Role, SessionStatus};

/// The three pages' links.
#[component]
fn Tabs() -> impl IntoView {
    view! {
        <nav class="tabs">
            <A href="/dashboard/automation" exact=true>
                "Rules"
            </A>
            <A href="/dashboard/automation/hours">"Business hours"</A>
            <A href="/dashboard/automation/log">"Log"</A>
        </nav>
    }
}

fn is_admin(me: Result<Option<crate::types::AgentView>, crate::types::ApiError>) -> bool {
    me.ok().flatten().is_some_and(|a| a.role == Role::Admin)
}

#[component]
pub fn AutomationPage() -> impl IntoView {
    let page = crate::json::resource(|| (), |_| join(auto_responses(), current_agent()));
    view! {
            <div class="page-head">
                <h1>"Automated responses"</h1>
            </div>
            <Tabs />
            <p class="muted">
                "Rules answer a visitor's message with a bot message. The first rule that matches \
                 (highest first) answers, once per message; a rule in its cooldown or at its \
                 maximum in a conversation lets the next one answer."
            </p>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let (rules, me) = page.await;
                    let admin = is_admin(me);
                    match rules {
                        Ok(initial) => view! { <Rules initial admin /> }.into_any(),
                        Err(error) => error_box(error).into_any(),
                    }
                })}
            </Suspense>
    }
}

/// A rule's trigger in a few words.
fn describe(trigger: &Trigger) -> String {
    match trigger {
        Trigger::Keyword { matching, keywords } => {
            let how = match matching {
                KeywordMatch::Any => "any of",
                KeywordMatch::All => "all of",
                KeywordMatch::Phrase => "exactly",
                KeywordMatch::Regex => "pattern",
            };
            format!("Keywords ({how}): {}", keywords.join(", "))
        }
        Trigger::Greeting => "A greeting".into(),
        Trigger::FirstMessage => "The visitor's first message".into(),
        Trigger::OutsideBusinessHours => "Outside business hours".into(),
        Trigger::NoAgentOnline => "No agent online".into(),
        Trigger::NoReply { minutes } => format!("No reply within {minutes} min"),
    }
}

/// The editor's fields, as typed.
#[derive(Clone, Copy)]
struct Form {
    editing: RwSignal<Option<AutoResponseId>>,
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
    fn new() -> Self {
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

    fn reset(&self) {
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

    fn load(&self, r: &AutoResponse) {
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
    fn rule(&self) -> Result<NewAutoResponse, String> {
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

fn sort(list: &mut Vec<AutoResponse>) {
    crate::sort::sort_by(list, |a, b| {
        b.priority
            .cmp(&a.priority)
            .then_with(|| a.name.cmp(&b.name))
    });
}

#[component]
fn Rules(initial: Vec<AutoResponse>, admin: bool) -> impl IntoView {
    let list = RwSignal::new(initial);
    let error = RwSignal::new(None::<String>);
    let form = Form::new();
    let saving = RwSignal::new(false);
    let dragging = RwSignal::new(None::<usize>);
    let fail = move |e: crate::types::ApiError| error.set(Some(e.message));

    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if saving.get_untracked() {
            return;
        }
        let rule = match form.rule() {
            Ok(rule) => rule,
            Err(e) => return error.set(Some(e)),
        };
        saving.set(true);
        let id = form.editing.get_untracked();
        spawn_local(async move {
            match save_auto_response(id, rule).await {
                Ok(saved) => {
                    list.update(|l| {
                        l.retain(|r| r.id != saved.id);
                        l.push(saved);
                        sort(l);
                    });
                    form.reset();
                    error.set(None);
                }
                Err(e) => fail(e),
            }
            saving.set(false);
        });
    };
    let toggle = move |id: AutoResponseId, enabled: bool| {
        spawn_local(async move {
            let change = AutoResponseChange {
                enabled: Some(enabled),
                ..AutoResponseChange::default()
            };
            match change_auto_response(id, change).await {
                Ok(saved) => list.update(|l| {
                    if let Some(r) = l.iter_mut().find(|r| r.id == saved.id) {
                        *r = saved;
                    }
                }),
                Err(e) => fail(e),
            }
        });
    };
    // Moves rule `from` to position `to` and saves the ranking.
    let rank = move |from: usize, to: usize| {
        let mut ids: Vec<AutoResponseId> =
            list.with_untracked(|l| l.iter().map(|r| r.id.clone()).collect());
        if from >= ids.len() || to >= ids.len() || from == to {
            return;
        }
        let moved = ids.remove(from);
        ids.insert(to, moved);
        list.update(|l| {
            let moved = l.remove(from);
            l.insert(to, moved);
        });
        spawn_local(async move {
            match reorder_auto_responses(ids).await {
                Ok(all) => list.set(all),
                Err(e) => fail(e),
            }
        });
    };
    let remove = move |id: AutoResponseId| {
        spawn_local(async move {
            match delete_auto_response(id.clone()).await {
                Ok(()) => {
                    list.update(|l| l.retain(|r| r.id != id));
                    if form.editing.get_untracked() == Some(id) {
                        form.reset();
                    }
                }
                Err(e) => fail(e),
            }
        });
    };

    view! {
        <p class="empty" hidden=move || list.with(|l| !l.is_empty())>
            "No rules yet. Add one below, or install the defaults with "
            <code>"defmis-chat create-default-responses"</code> "."
        </p>
        <ol class="rule-list" hidden=move || list.with(Vec::is_empty)>
                <For
                    each=move || list.get().into_iter().enumerate()
                    key=|(i, r)| (*i, r.id.clone(), r.updated_at.clone())
                    let:item
                >
                    {
                        let (i, rule) = item;
                        let id = rule.id.clone();
                        let (for_toggle, for_edit, for_delete) = (id.clone(), rule.clone(), id.clone());
                        view! {
                            <li
                                class="rule-row"
                                class:off=!rule.enabled
                                data-name=rule.name.clone()
                                draggable=admin.then_some("true")
                                on:dragstart=move |_| dragging.set(Some(i))
                                on:dragover=move |ev| ev.prevent_default()
                                on:drop=move |ev| {
                                    ev.prevent_default();
                                    if let Some(from) = dragging.get_untracked() {
                                        rank(from, i);
                                    }
                                    dragging.set(None);
                                }
                            >
                                <label class="toggle" title="Enabled">
                                    <input
                                        type="checkbox"
                                        class="rule-enabled"
                                        checked=rule.enabled
                                        disabled=!admin
                                        on:change=move |ev| toggle(for_toggle.clone(), event_target_checked(&ev))
                                    />
                                </label>
                                <div class="rule-main">
                                    <strong class="rule-name">{rule.name.clone()}</strong>
                                    <span class="muted">{describe(&rule.trigger)}</span>
                                    <div class="rule-message">{rule.action.message.clone()}</div>
                                </div>
                                <span class="priority" title="Priority">{rule.priority}</span>
                                {admin
                                    .then(|| {
                                        view! {
                                            <span class="actions">
                                                <button type="button" class="link rule-up" title="Move up" on:click=move |_| rank(i, i.saturating_sub(1))>"↑"</button>
                                                <button type="button" class="link rule-down" title="Move down" on:click=move |_| rank(i, i + 1)>"↓"</button>
                                                <button type="button" class="link rule-edit" on:click=move |_| form.load(&for_edit)>"Edit"</button>
                                                <button type="button" class="link danger rule-delete" on:click=move |_| remove(for_delete.clone())>"Delete"</button>
                                            </span>
                                        }
                                    })}
                            </li>
                        }
                    }
                </For>
        </ol>
        {status_line("error", error)}
        {admin.then(|| view! { <RuleForm form save saving /> })}
        <TryIt />
    }
}

/// A `<select>` bound to a text signal.
#[component]
fn Choice(
    label: &'static str,
    name: &'static str,
    value: RwSignal<String>,
    options: &'static [(&'static str, &'static str)],
) -> impl IntoView {
    view! {
        <label>
            {label}
            <select name=name on:change=move |ev| value.set(event_target_value(&ev)) prop:value=move || value.get()>
                {options
                    .iter()
                    .map(|(v, text)| view! { <option value=*v selected=move || value.get() == *v>{*text}</option> })
                    .collect_view()}
            </select>
        </label>
    }
}

/// A text input bound to a signal.
#[component]
fn Field(
    label: &'static str,
    name: &'static str,
    value: RwSignal<String>,
    #[prop(optional)] kind: Option<&'static str>,
    #[prop(optional)] placeholder: Option<&'static str>,
) -> impl IntoView {
    view! {
        <label>
            {label}
            <input
                type=kind.unwrap_or("text")
                name=name
                placeholder=placeholder
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))
            />
        </label>
    }
}

/// A checkbox bound to a signal.
#[component]
fn Check(label: &'static str, name: &'static str, value: RwSignal<bool>) -> impl IntoView {
    view! {
        <label class="check">
            <input
                type="checkbox"
                name=name
                prop:checked=move || value.get()
                on:change=move |ev| value.set(event_target_checked(&ev))
            />
            {label}
        </label>
    }
}

/// A textarea bound to a signal.
#[component]
fn Text(
    label: &'static str,
    name: &'static str,
    value: RwSignal<String>,
    #[prop(optional)] placeholder: Option<&'static str>,
) -> impl IntoView {
    view! {
        <label>
            {label}
            <textarea
                name=name
                placeholder=placeholder
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))
            ></textarea>
        </label>
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
fn RuleForm(
    form: Form,
    save: impl Fn(leptos::ev::SubmitEvent) + 'static,
    saving: RwSignal<bool>,
) -> impl IntoView {
    view! {
        <h2>{move || if form.editing.with(Option::is_some) { "Edit the rule" } else { "Add a rule" }}</h2>
        <form class="stack rule-form" on:submit=save>
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
            <span>
                <button type="submit" class="primary" disabled=move || saving.get()>
                    "Save"
                </button>
                <button
                    type="button"
                    class="link"
                    hidden=move || form.editing.with(Option::is_none)
                    on:click=move |_| form.reset()
                >
                    " Cancel"
                </button>
            </span>
        </form>
    }
}

/// `datetime-local`'s value (the browser's time) as RFC 3339.
fn local_time_to_rfc3339(value: &str) -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_str(value));
        (!date.get_time().is_nan()).then(|| String::from(date.to_iso_string()))
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = value;
        None
    }
}

/// The browser's IANA time zone.
fn browser_zone() -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        let options =
            js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &js_sys::Object::new())
                .resolved_options();
        js_sys::Reflect::get(&options, &wasm_bindgen::JsValue::from_str("timeZone"))
            .ok()
            .and_then(|z| z.as_string())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        None
    }
}

/// Type a message (and a time), see which rule fires and its reply.
#[component]
fn TryIt() -> impl IntoView {
    let content = RwSignal::new(String::new());
    let at = RwSignal::new(String::new());
    let language = RwSignal::new(String::new());
    let first = RwSignal::new(true);
    let online = RwSignal::new(String::new());
    let verdict = RwSignal::new(None::<AutoResponseVerdict>);
    let error = RwSignal::new(None::<String>);
    let run = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let text = |s: RwSignal<String>| Some(s.get_untracked()).filter(|v| !v.trim().is_empty());
        let test = AutoResponseTest {
            content: content.get_untracked(),
            at: text(at).and_then(|v| local_time_to_rfc3339(&v)),
            language: text(language),
            first_message: Some(first.get_untracked()),
            agents_online: match online.get_untracked().as_str() {
                "yes" => Some(true),
                "no" => Some(false),
                _ => None,
            },
            time_zone: browser_zone(),
            ..AutoResponseTest::default()
        };
        spawn_local(async move {
            match test_auto_response(test).await {
                Ok(v) => {
                    verdict.set(Some(v));
                    error.set(None);
                }
                Err(e) => error.set(Some(e.message)),
            }
        });
    };
    view! {
        <h2>"Try it"</h2>
        <form class="stack try-it" on:submit=run>
            <Text label="A visitor writes" name="try" value=content placeholder="Hello! How much is it?" />
            <div class="row">
                <Field label="At (empty: now)" name="try_at" value=at kind="datetime-local" />
                <Choice
                    label="Language"
                    name="try_language"
                    value=language
                    options=&[("", "Unknown"), ("en", "English"), ("es", "Español"), ("fr", "Français"), ("de", "Deutsch")]
                />
                <Choice
                    label="Agents"
                    name="try_online"
                    value=online
                    options=&[("", "As now"), ("yes", "One online"), ("no", "None online")]
                />
                <Check label="First message" name="try_first" value=first />
            </div>
            <span>
                <button type="submit" class="primary">"Try"</button>
            </span>
        </form>
        {status_line("error", error)}
        {move || {
            verdict
                .get()
                .map(|v| {
                    view! {
                        <div class="try-result" aria-live="polite">
                            <p>
                                {match &v.rule {
                                    Some(r) => view! { "Fires: " <strong class="try-rule">{r.name.clone()}</strong> }.into_any(),
                                    None => view! { <strong class="try-rule none">"No rule fires."</strong> }.into_any(),
                                }}
                            </p>
                            {v.reply.clone().map(|reply| view! { <div class="try-reply bubble bot">{reply}</div> })}
                            <ul class="try-reasons">
                                {v.reasons.iter().map(|r| view! { <li>{r.clone()}</li> }).collect_view()}
                            </ul>
                        </div>
                    }
                })
        }}
    }
}

const DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// `"09:00-14:00, 15:00-18:00"` for a day's intervals.
fn intervals_text(list: &[Interval]) -> String {
    list.iter()
        .map(|i| format!("{}-{}", i.open, i.close))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The intervals typed as `"09:00-14:00, 15:00-18:00"` (the server checks
/// the times).
fn parse_intervals(text: &str) -> Vec<Interval> {
    text.split([',', ';'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (open, close) = p.split_once(['-', '–']).unwrap_or((p, ""));
            Interval {
                open: open.trim().to_string(),
                close: close.trim().to_string(),
            }
        })
        .collect()
}

/// Minutes of `"HH:MM"`, for the week view.
fn minutes_of(t: &str) -> Option<u32> {
    let (h, m) = t.trim().split_once(':')?;
    Some(h.parse::<u32>().ok()? * 60 + m.parse::<u32>().ok()?)
}

#[component]
pub fn HoursPage() -> impl IntoView {
    let page = crate::json::resource(|| (), |_| join(get_business_hours(), current_agent()));
    view! {
            <div class="page-head">
                <h1>"Business hours"</h1>
            </div>
            <Tabs />
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let (hours, me) = page.await;
                    let admin = is_admin(me);
                    match hours {
                        Ok(initial) => view! { <HoursForm initial admin /> }.into_any(),
                        Err(error) => error_box(error).into_any(),
                    }
                })}
            </Suspense>
    }
}

#[component]
fn HoursForm(initial: BusinessHoursView, admin: bool) -> impl IntoView {
    let view_now = RwSignal::new(initial.clone());
    let h = initial.hours;
    let enabled = RwSignal::new(h.enabled);
    let zone = RwSignal::new(h.time_zone.clone());
    let days: [RwSignal<String>; 7] = {
        let d = h.week.days();
        std::array::from_fn(|i| RwSignal::new(intervals_text(d[i])))
    };
    let holidays = RwSignal::new(h.holidays.join("\n"));
    let exceptions = RwSignal::new(
        h.exceptions
            .iter()
            .map(|e| {
                let hours = intervals_text(&e.intervals);
                if hours.is_empty() {
                    format!("{} closed", e.date)
                } else {
                    format!("{} {hours}", e.date)
                }
            })
            .collect::<Vec<_>>()
            .join("\n"),
    );
    let error = RwSignal::new(None::<String>);
    let saved = RwSignal::new(false);
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let mut hours = BusinessHours {
            enabled: enabled.get_untracked(),
            time_zone: zone.get_untracked().trim().to_string(),
            ..BusinessHours::default()
        };
        for (i, day) in hours.week.days_mut().into_iter().enumerate() {
            *day = parse_intervals(&days[i].get_untracked());
        }
        hours.holidays = holidays
            .get_untracked()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect();
        hours.exceptions = exceptions
            .get_untracked()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|l| {
                let (date, rest) = l.split_once(' ').unwrap_or((l, ""));
                let rest = rest.trim();
                DateHours {
                    date: date.to_string(),
                    intervals: if rest.eq_ignore_ascii_case("closed") {
                        Vec::new()
                    } else {
                        parse_intervals(rest)
                    },
                }
            })
            .collect();
        spawn_local(async move {
            match save_business_hours(hours).await {
                Ok(v) => {
                    view_now.set(v);
                    error.set(None);
                    saved.set(true);
                }
                Err(e) => {
                    error.set(Some(e.message));
                    saved.set(false);
                }
            }
        });
    };
    view! {
        <p class="hours-state">
            {move || {
                let v = view_now.get();
                if !v.hours.enabled {
                    "Business hours are off: always open.".to_string()
                } else if v.open_now {
                    "Open now.".to_string()
                } else {
                    match v.next_open {
                        Some(t) => format!("Closed now; opens {}.", short_time(&t)),
                        None => "Closed, and no opening is scheduled.".to_string(),
                    }
                }
            }}
        </p>
        <div class="week-view" aria-hidden="true">
            {(0..7)
                .map(|i| {
                    view! {
                        <div class="week-day">
                            <span class="week-name">{&DAYS[i][..3]}</span>
                            <span class="week-bar">
                                {move || {
                                    parse_intervals(&days[i].get())
                                        .into_iter()
                                        .filter_map(|iv| Some((minutes_of(&iv.open)?, minutes_of(&iv.close)?)))
                                        .filter(|(o, c)| o < c && *c <= 1440)
                                        .map(|(o, c)| {
                                            let style = format!(
                                                "left:{}%;width:{}%",
                                                decimal(f64::from(o) / 14.4, 2),
                                                decimal(f64::from(c - o) / 14.4, 2),
                                            );
                                            view! { <span class="week-open" style=style></span> }
                                        })
                                        .collect_view()
                                }}
                            </span>
                        </div>
                    }
                })
                .collect_view()}
        </div>
        <form class="stack hours-form" on:submit=save>
            <Check label="Use business hours (off: always open)" name="enabled" value=enabled />
            <Field label="Time zone (IANA, like Europe/Madrid)" name="time_zone" value=zone />
            <fieldset>
                <legend>"Week (like 09:00-14:00, 15:00-18:00; empty: closed)"</legend>
                {(0..7)
                    .map(|i| {
                        let name = DAYS[i].to_ascii_lowercase();
                        view! {
                            <label class="day">
                                {DAYS[i]}
                                <input
                                    type="text"
                                    name=name
                                    prop:value=move || days[i].get()
                                    on:input=move |ev| days[i].set(event_target_value(&ev))
                                />
                            </label>
                        }
                    })
                    .collect_view()}
            </fieldset>
            <Text label="Holidays, one date per line (2026-12-25)" name="holidays" value=holidays />
            <Text
                label="Other hours on a date, one per line (2026-12-24 10:00-12:00, or 2026-12-26 closed)"
                name="exceptions"
                value=exceptions
            />
            {admin.then(|| view! { <span><button type="submit" class="primary">"Save"</button></span> })}
        </form>
        {status_line("error", error)}
        <p class="saved" role="status" hidden=move || !saved.get()>
            "Saved; the widget follows at once."
        </p>
    }
}

#[component]
pub fn LogPage() -> impl IntoView {
    let rules = crate::json::resource(|| (), |_| auto_responses());
    let rule = RwSignal::new(String::new());
    let from = RwSignal::new(String::new());
    let to = RwSignal::new(String::new());
    let query = move || {
        let day = |s: &str, end: bool| {
            (!s.is_empty()).then(|| {
                if end {
                    format!("{s}T23:59:59.999999Z")
                } else {
                    format!("{s}T00:00:00Z")
                }
            })
        };
        LogQuery {
            rule: Some(rule.get())
                .filter(|r| !r.is_empty())
                .map(AutoResponseId::from),
            from: day(&from.get(), false),
            to: day(&to.get(), true),
            cursor: None,
        }
    };
    let first = crate::json::resource(query, auto_response_logs);
    view! {
            <div class="page-head">
                <h1>"Response log"</h1>
            </div>
            <Tabs />
            <form class="row log-filters" on:submit=|ev| ev.prevent_default()>
                <label>
                    "Rule"
                    <select name="rule" on:change=move |ev| rule.set(event_target_value(&ev))>
                        <option value="">"Every rule"</option>
                        <Suspense>
                            {move || Suspend::new(async move {
                                rules
                                    .await
                                    .unwrap_or_default()
                                    .into_iter()
                                    .map(|r| view! { <option value=r.id.to_string()>{r.name}</option> })
                                    .collect_view()
                            })}
                        </Suspense>
                    </select>
                </label>
                <Field label="From" name="from" value=from kind="date" />
                <Field label="To" name="to" value=to kind="date" />
            </form>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match first.await {
                        Ok(page) => view! { <LogList page filter=query() /> }.into_any(),
                        Err(error) => error_box(error).into_any(),
                    }
                })}
            </Suspense>
    }
}

fn outcome_label(l: &AutoResponseLog) -> &'static str {
    use crate::automation::LogOutcome::*;
    match l.outcome {
        Fired => "Sent",
        Cooldown => "Held back: cooldown",
        MaxReached => "Held back: most times",
        AgentReplied => "Not sent: an agent replied",
        Failed => "Failed",
    }
}

#[component]
fn LogList(page: crate::automation::AutoResponseLogPage, filter: LogQuery) -> impl IntoView {
    let logs = RwSignal::new(page.logs);
    let cursor = RwSignal::new(page.next_cursor);
    let error = RwSignal::new(None::<String>);
    let filter = StoredValue::new(filter);
    let more = move |_| {
        let Some(c) = cursor.get_untracked() else {
            return;
        };
        let q = LogQuery {
            cursor: Some(c),
            ..filter.get_value()
        };
        spawn_local(async move {
            match auto_response_logs(q).await {
                Ok(next) => {
                    logs.update(|l| l.extend(next.logs));
                    cursor.set(next.next_cursor);
                }
                Err(e) => error.set(Some(e.message)),
            }
        });
    };
    view! {
        <p class="empty" hidden=move || logs.with(|l| !l.is_empty())>"Nothing logged yet."</p>
        <table class="log" hidden=move || logs.with(Vec::is_empty)>
                <thead>
                    <tr>
                        <th>"When"</th>
                        <th>"Rule"</th>
                        <th>"What"</th>
                        <th>"Why"</th>
                        <th>"Conversation"</th>
                    </tr>
                </thead>
                <tbody>
                    <For each=move || logs.get() key=|l| l.id.clone() let:l>
                        <tr class="log-row" data-outcome=l.outcome.as_str()>
                            <td>{short_time(&l.at)}</td>
                            <td>{l.rule_name.clone()}</td>
                            <td>{outcome_label(&l)}</td>
                            <td class="reason">{l.reason.clone()}</td>
                            <td>
                                <A href=format!("/dashboard/conversations/{}", l.session_id)>"Open"</A>
                            </td>
                        </tr>
                    </For>
                </tbody>
        </table>
        <button type="button" class="link" hidden=move || cursor.with(Option::is_none) on:click=more>
            "Load more"
        </button>
        {status_line("error", error)}
    }
}
