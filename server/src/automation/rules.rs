//! Rules: checking one before it is saved, and deciding which rule answers
//! a visitor's message. [`evaluate`] is the one decision: the dry run and
//! the real firing both call it, so what the dry run says is what fires.

use app::automation::{
    Action, AutoResponse, Conditions, KeywordMatch, NewAutoResponse, Trigger, VisitorKind,
};
use app::types::{ErrorCode, SessionStatus};
use chrono::{DateTime, Utc};
use regex::{Regex, RegexBuilder};

use super::text;
use crate::chat::domain::MessageText;
use crate::error::AppError;

/// The most rules a team keeps.
pub const MAX_RULES: u64 = 200;
pub const NAME_MAX: usize = 100;
pub const PRIORITY_RANGE: std::ops::RangeInclusive<i32> = -1000..=1000;
pub const MAX_KEYWORDS: usize = 50;
pub const KEYWORD_MAX: usize = 100;
pub const PATTERN_MAX: usize = 500;
/// Compiled size limit of one regular expression (the regex crate's).
const REGEX_SIZE_LIMIT: usize = 256 * 1024;
pub const MAX_DELAY_SECONDS: u32 = 3600;
pub const MAX_COOLDOWN_SECONDS: u32 = 30 * 24 * 3600;
pub const MAX_PER_CONVERSATION: u32 = 100;
pub const NO_REPLY_MINUTES: std::ops::RangeInclusive<u32> = 1..=1440;
const MAX_LANGUAGES: usize = 20;
const URL_PATTERN_MAX: usize = 500;
/// The placeholders a template may hold.
pub const PLACEHOLDERS: [&str; 3] = ["customer_name", "agent_name", "next_open"];

fn invalid(message: impl Into<String>) -> AppError {
    AppError::Invalid(ErrorCode::InvalidRule, message.into())
}

/// A rule checked and ready to match: its stored form and its keywords
/// read once (words folded, expressions compiled).
#[derive(Clone, Debug)]
pub struct Rule {
    pub view: AutoResponse,
    matcher: Matcher,
}

#[derive(Clone, Debug)]
enum Matcher {
    /// Keywords as folded words; each must appear as whole words.
    Any(Vec<Vec<String>>),
    All(Vec<Vec<String>>),
    /// The whole message is one of these.
    Phrase(Vec<Vec<String>>),
    Regex(Vec<Regex>),
    Greeting,
    FirstMessage,
    OutsideHours,
    NoAgent,
    NoReply,
}

/// A rule as its author wrote it, before it is checked.
pub struct Draft<'a> {
    pub name: &'a str,
    pub priority: i32,
    pub trigger: &'a Trigger,
    pub conditions: &'a Conditions,
    pub action: &'a Action,
    pub cooldown_seconds: u32,
    pub max_per_conversation: u32,
}

impl<'a> From<&'a NewAutoResponse> for Draft<'a> {
    fn from(n: &'a NewAutoResponse) -> Self {
        Draft {
            name: &n.name,
            priority: n.priority,
            trigger: &n.trigger,
            conditions: &n.conditions,
            action: &n.action,
            cooldown_seconds: n.cooldown_seconds,
            max_per_conversation: n.max_per_conversation,
        }
    }
}

impl<'a> From<&'a AutoResponse> for Draft<'a> {
    fn from(n: &'a AutoResponse) -> Self {
        Draft {
            name: &n.name,
            priority: n.priority,
            trigger: &n.trigger,
            conditions: &n.conditions,
            action: &n.action,
            cooldown_seconds: n.cooldown_seconds,
            max_per_conversation: n.max_per_conversation,
        }
    }
}

/// Checks a draft; answers its normalised parts (trimmed name, template,
/// keywords and conditions) or `422 invalid_rule` naming the field.
pub fn check(
    draft: Draft<'_>,
    max_chars: usize,
) -> Result<(String, Trigger, Conditions, Action), AppError> {
    let name = draft.name.trim();
    if name.is_empty() || name.chars().count() > NAME_MAX || name.chars().any(char::is_control) {
        return Err(invalid(format!(
            "name is 1–{NAME_MAX} characters without control characters."
        )));
    }
    if !PRIORITY_RANGE.contains(&draft.priority) {
        return Err(invalid("priority is between -1000 and 1000."));
    }
    if draft.cooldown_seconds > MAX_COOLDOWN_SECONDS {
        return Err(invalid("cooldown_seconds is at most 2592000 (30 days)."));
    }
    if draft.max_per_conversation == 0 || draft.max_per_conversation > MAX_PER_CONVERSATION {
        return Err(invalid(format!(
            "max_per_conversation is between 1 and {MAX_PER_CONVERSATION}."
        )));
    }
    let trigger = check_trigger(draft.trigger)?;
    let conditions = check_conditions(draft.conditions)?;
    let action = check_action(draft.action, max_chars)?;
    Ok((name.to_string(), trigger, conditions, action))
}

fn check_trigger(trigger: &Trigger) -> Result<Trigger, AppError> {
    Ok(match trigger {
        Trigger::Keyword { matching, keywords } => {
            let keywords: Vec<String> = keywords
                .iter()
                .map(|k| k.trim().to_string())
                .filter(|k| !k.is_empty())
                .collect();
            if keywords.is_empty() || keywords.len() > MAX_KEYWORDS {
                return Err(invalid(format!(
                    "trigger.keywords lists 1–{MAX_KEYWORDS} keywords."
                )));
            }
            for k in &keywords {
                if *matching == KeywordMatch::Regex {
                    if k.chars().count() > PATTERN_MAX {
                        return Err(invalid(format!(
                            "trigger.keywords: an expression is at most {PATTERN_MAX} characters."
                        )));
                    }
                    compile(k)?;
                } else {
                    if k.chars().count() > KEYWORD_MAX {
                        return Err(invalid(format!(
                            "trigger.keywords: a keyword is at most {KEYWORD_MAX} characters."
                        )));
                    }
                    if text::words(k).is_empty() {
                        return Err(invalid(format!(
                            "trigger.keywords: {k:?} has no letters or digits."
                        )));
                    }
                }
            }
            Trigger::Keyword {
                matching: *matching,
                keywords,
            }
        }
        Trigger::NoReply { minutes } => {
            if !NO_REPLY_MINUTES.contains(minutes) {
                return Err(invalid("trigger.minutes is between 1 and 1440."));
            }
            Trigger::NoReply { minutes: *minutes }
        }
        other => other.clone(),
    })
}

fn compile(pattern: &str) -> Result<Regex, AppError> {
    RegexBuilder::new(pattern)
        .case_insensitive(true)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| {
            let detail = e.to_string();
            let first = detail.lines().last().unwrap_or("invalid").trim();
            invalid(format!(
                "trigger.keywords: {pattern:?} is not a usable regular expression ({first})."
            ))
        })
}

fn check_conditions(c: &Conditions) -> Result<Conditions, AppError> {
    let page_url = match c.page_url.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(p) if p.chars().count() > URL_PATTERN_MAX || p.chars().any(char::is_control) => {
            return Err(invalid(format!(
                "conditions.page_url is at most {URL_PATTERN_MAX} characters."
            )));
        }
        Some(p) => Some(p.to_string()),
    };
    let mut languages = Vec::new();
    for raw in &c.languages {
        let Some(tag) = language(raw) else {
            return Err(invalid(format!(
                "conditions.languages: {raw:?} is not a language like es or fr-CA."
            )));
        };
        if !languages.contains(&tag) {
            languages.push(tag);
        }
    }
    if languages.len() > MAX_LANGUAGES {
        return Err(invalid(format!(
            "conditions.languages lists at most {MAX_LANGUAGES}."
        )));
    }
    Ok(Conditions {
        page_url,
        languages,
        visitor: c.visitor,
        status: c.status,
    })
}

fn check_action(a: &Action, max_chars: usize) -> Result<Action, AppError> {
    let message = check_template("action.message", &a.message, max_chars)?;
    if a.translations.len() > MAX_LANGUAGES {
        return Err(invalid(format!(
            "action.translations holds at most {MAX_LANGUAGES} languages."
        )));
    }
    let mut translations = std::collections::BTreeMap::new();
    for (lang, text) in &a.translations {
        let tag = language(lang).ok_or_else(|| {
            invalid(format!(
                "action.translations: {lang:?} is not a language like es."
            ))
        })?;
        let primary = tag.split('-').next().unwrap_or(&tag).to_string();
        translations.insert(
            primary,
            check_template(&format!("action.translations.{tag}"), text, max_chars)?,
        );
    }
    if a.delay_seconds > MAX_DELAY_SECONDS {
        return Err(invalid("action.delay_seconds is at most 3600."));
    }
    Ok(Action {
        message,
        translations,
        ..a.clone()
    })
}

/// A language tag in lower case (`es`, `fr-ca`), or `None`.
fn language(raw: &str) -> Option<String> {
    let tag = raw.trim().replace('_', "-").to_ascii_lowercase();
    let ok = (2..=35).contains(&tag.len())
        && tag.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && tag
            .split('-')
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric()));
    ok.then_some(tag)
}

/// A template: the message rules, and only known placeholders.
fn check_template(field: &str, raw: &str, max_chars: usize) -> Result<String, AppError> {
    let message =
        MessageText::parse(raw, max_chars).map_err(|e| invalid(format!("{field}: {e}")))?;
    let mut rest = message.as_str();
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else { break };
        let name = &after[..close];
        let looks_like_one = !name.is_empty()
            && name.len() <= 40
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if looks_like_one && !PLACEHOLDERS.contains(&name) {
            return Err(invalid(format!(
                "{field}: {{{name}}} is not a placeholder; use {{customer_name}}, \
                 {{agent_name}} or {{next_open}}."
            )));
        }
        rest = &after[close + 1..];
    }
    Ok(message.as_str().to_string())
}

impl Rule {
    /// Reads a stored rule (checked when it was saved).
    pub fn new(view: AutoResponse) -> Result<Self, AppError> {
        let words = |ks: &[String]| ks.iter().map(|k| text::words(k)).collect::<Vec<_>>();
        let matcher = match &view.trigger {
            Trigger::Keyword { matching, keywords } => match matching {
                KeywordMatch::Any => Matcher::Any(words(keywords)),
                KeywordMatch::All => Matcher::All(words(keywords)),
                KeywordMatch::Phrase => Matcher::Phrase(words(keywords)),
                KeywordMatch::Regex => Matcher::Regex(
                    keywords
                        .iter()
                        .map(|k| compile(k))
                        .collect::<Result<_, _>>()?,
                ),
            },
            Trigger::Greeting => Matcher::Greeting,
            Trigger::FirstMessage => Matcher::FirstMessage,
            Trigger::OutsideBusinessHours => Matcher::OutsideHours,
            Trigger::NoAgentOnline => Matcher::NoAgent,
            Trigger::NoReply { .. } => Matcher::NoReply,
        };
        Ok(Self { view, matcher })
    }

    /// Whether the rule answers messages as they arrive (all but
    /// `no_reply`, which the scheduler checks).
    pub fn on_message(&self) -> bool {
        !matches!(self.matcher, Matcher::NoReply)
    }

    /// The minutes of a `no_reply` rule.
    pub fn no_reply_minutes(&self) -> Option<u32> {
        match self.view.trigger {
            Trigger::NoReply { minutes } => Some(minutes),
            _ => None,
        }
    }

    /// Why the trigger holds for this message, or why not.
    fn triggered(&self, m: &Message<'_>) -> Result<String, String> {
        let words = &m.words;
        match &self.matcher {
            Matcher::Any(ks) => ks
                .iter()
                .find(|k| text::contains_phrase(words, k))
                .map(|k| format!("the message has the keyword \"{}\"", k.join(" ")))
                .ok_or_else(|| "none of its keywords is in the message".to_string()),
            Matcher::All(ks) => match ks.iter().find(|k| !text::contains_phrase(words, k)) {
                None => Ok("the message has every keyword".into()),
                Some(k) => Err(format!(
                    "the keyword \"{}\" is not in the message",
                    k.join(" ")
                )),
            },
            Matcher::Phrase(ks) => ks
                .iter()
                .find(|k| **k == *words)
                .map(|k| format!("the message is \"{}\"", k.join(" ")))
                .ok_or_else(|| "the message is none of its phrases".to_string()),
            Matcher::Regex(rs) => rs
                .iter()
                .find(|r| r.is_match(m.content))
                .map(|r| format!("the expression /{}/ matches", r.as_str()))
                .ok_or_else(|| "none of its expressions matches".to_string()),
            Matcher::Greeting => {
                if text::is_greeting(words) {
                    Ok("the message is a greeting".into())
                } else {
                    Err("the message is not a greeting".into())
                }
            }
            Matcher::FirstMessage => {
                if m.first_message {
                    Ok("it is the visitor's first message".into())
                } else {
                    Err("it is not the visitor's first message".into())
                }
            }
            Matcher::OutsideHours => {
                if m.open {
                    Err("business hours are open".into())
                } else {
                    Ok("business hours are closed".into())
                }
            }
            Matcher::NoAgent => {
                if m.agents_online {
                    Err("an agent is online".into())
                } else {
                    Ok("no agent is online".into())
                }
            }
            Matcher::NoReply => {
                Err("no_reply rules fire from the scheduler, not on a message".into())
            }
        }
    }

    /// `Err(why)` when a condition does not hold.
    pub fn conditions_hold(&self, m: &Visitor<'_>) -> Result<(), String> {
        let c = &self.view.conditions;
        if let Some(pattern) = &c.page_url {
            match m.page_url {
                Some(url) if text::url_matches(pattern, url) => {}
                Some(_) => return Err(format!("the page is not {pattern}")),
                None => return Err("the visitor's page is not known".into()),
            }
        }
        if !c.languages.is_empty() {
            let lang = m.language.unwrap_or("");
            let primary = lang.split('-').next().unwrap_or("");
            let fits = c
                .languages
                .iter()
                .any(|l| l == lang || (!l.contains('-') && l == primary));
            if !fits {
                return Err(format!(
                    "the visitor's language ({}) is not {}",
                    if lang.is_empty() { "unknown" } else { lang },
                    c.languages.join(", ")
                ));
            }
        }
        match c.visitor {
            Some(VisitorKind::Identified) if !m.identified => {
                return Err("the visitor is anonymous".into())
            }
            Some(VisitorKind::Anonymous) if m.identified => {
                return Err("the visitor is identified".into())
            }
            _ => {}
        }
        if let Some(status) = c.status {
            if status != m.status {
                return Err(format!("the conversation was {}", m.status.as_str()));
            }
        }
        Ok(())
    }
}

/// Who wrote, as a rule's conditions read it.
#[derive(Clone, Copy, Debug)]
pub struct Visitor<'a> {
    pub language: Option<&'a str>,
    pub page_url: Option<&'a str>,
    pub identified: bool,
    /// The conversation's status when the message arrived.
    pub status: SessionStatus,
}

/// A visitor's message and the moment it arrived in.
#[derive(Clone, Debug)]
pub struct Message<'a> {
    pub content: &'a str,
    pub words: Vec<String>,
    pub first_message: bool,
    pub agents_online: bool,
    /// Business hours are open.
    pub open: bool,
    pub visitor: Visitor<'a>,
    pub at: DateTime<Utc>,
}

/// What [`evaluate`] decided: the rules whose trigger and conditions hold,
/// best first (the first that is not suppressed in its conversation
/// answers), and a reason for every rule.
#[derive(Debug)]
pub struct Verdict<'r> {
    pub matched: Vec<Matched<'r>>,
    pub reasons: Vec<String>,
}

/// A rule whose trigger and conditions hold, with its entry of
/// [`Verdict::reasons`] (why it fires, or which match comes first).
#[derive(Debug)]
pub struct Matched<'r> {
    pub rule: &'r Rule,
    pub reason: String,
}

/// Which rules answer `message`: enabled rules whose trigger and
/// conditions hold, by priority (highest first; equal priorities by name).
/// `rules` may be in any order.
pub fn evaluate<'r>(rules: &'r [Rule], message: &Message<'_>) -> Verdict<'r> {
    let mut sorted: Vec<&Rule> = rules.iter().collect();
    sorted.sort_by(|a, b| {
        b.view
            .priority
            .cmp(&a.view.priority)
            .then_with(|| a.view.name.cmp(&b.view.name))
    });
    let mut matched = Vec::new();
    let mut reasons = Vec::new();
    for rule in sorted {
        let name = &rule.view.name;
        if !rule.view.enabled {
            reasons.push(format!("\"{name}\" is turned off."));
            continue;
        }
        if !rule.on_message() {
            continue;
        }
        let why = match rule.triggered(message) {
            Ok(why) => why,
            Err(why_not) => {
                reasons.push(format!("\"{name}\" did not match: {why_not}."));
                continue;
            }
        };
        if let Err(why_not) = rule.conditions_hold(&message.visitor) {
            reasons.push(format!(
                "\"{name}\" matched ({why}) but a condition does not hold: {why_not}."
            ));
            continue;
        }
        let reason = match matched.first() {
            Some(Matched { rule: first, .. }) => format!(
                "\"{name}\" matched ({why}) but \"{}\" comes first (priority {} ≥ {}).",
                first.view.name, first.view.priority, rule.view.priority
            ),
            None => format!("\"{name}\" fires: {why} (priority {}).", rule.view.priority),
        };
        reasons.push(reason.clone());
        matched.push(Matched { rule, reason });
    }
    Verdict { matched, reasons }
}

/// What a template's placeholders become.
pub struct Fill<'a> {
    pub customer_name: Option<&'a str>,
    pub agent_name: Option<&'a str>,
    pub next_open: Option<String>,
    /// The visitor's language, for the fallbacks.
    pub language: &'a str,
}

/// The visitor's language among the widget's (en, es, fr, de).
pub fn widget_language(tag: Option<&str>) -> &'static str {
    match tag.and_then(|t| t.split('-').next()) {
        Some("es") => "es",
        Some("fr") => "fr",
        Some("de") => "de",
        _ => "en",
    }
}

/// Fills a template: a missing name leaves nothing behind; no agent yet is
/// "our team"; no known opening is "soon" (in the visitor's language).
pub fn render(template: &str, fill: &Fill<'_>) -> String {
    let (team, soon) = match fill.language {
        "es" => ("nuestro equipo", "pronto"),
        "fr" => ("notre équipe", "bientôt"),
        "de" => ("unser Team", "bald"),
        _ => ("our team", "soon"),
    };
    // A missing name takes the comma or space before it along ("Hi
    // {customer_name}!" → "Hi!", "Merci, {customer_name} !" → "Merci !").
    let mut out = template.to_string();
    match fill.customer_name.map(str::trim).filter(|n| !n.is_empty()) {
        Some(name) => out = out.replace("{customer_name}", name),
        None => {
            for gap in [
                ", {customer_name}",
                " {customer_name}",
                "{customer_name} ",
                "{customer_name}",
            ] {
                out = out.replace(gap, "");
            }
        }
    }
    out.replace("{agent_name}", fill.agent_name.unwrap_or(team))
        .replace("{next_open}", fill.next_open.as_deref().unwrap_or(soon))
}

/// The template for a visitor: the translation for their language when
/// there is one, else the message.
pub fn template<'a>(action: &'a Action, language: Option<&str>) -> &'a str {
    language
        .and_then(|l| l.split('-').next())
        .and_then(|primary| action.translations.get(primary))
        .map_or(action.message.as_str(), String::as_str)
}

/// The sentence that asks for an e-mail address, in the visitor's language.
pub fn ask_email_sentence(language: &str) -> &'static str {
    match language {
        "es" => "Déjanos aquí tu correo electrónico y te responderemos por ahí.",
        "fr" => "Laissez-nous ici votre adresse e-mail et nous vous répondrons par ce biais.",
        "de" => "Hinterlassen Sie hier Ihre E-Mail-Adresse, dann antworten wir Ihnen dort.",
        _ => "Leave your e-mail address here and we will write back there.",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn rule(name: &str, priority: i32, trigger: Trigger) -> Rule {
        Rule::new(AutoResponse {
            id: name.into(),
            name: name.into(),
            priority,
            enabled: true,
            trigger,
            conditions: Conditions::default(),
            action: Action {
                message: format!("reply of {name}"),
                ..Action::default()
            },
            cooldown_seconds: 0,
            max_per_conversation: 1,
            created_at: String::new(),
            updated_at: String::new(),
        })
        .unwrap()
    }

    fn kw(matching: KeywordMatch, keywords: &[&str]) -> Trigger {
        Trigger::Keyword {
            matching,
            keywords: keywords.iter().map(|k| k.to_string()).collect(),
        }
    }

    fn msg(content: &str) -> Message<'_> {
        Message {
            content,
            words: text::words(content),
            first_message: false,
            agents_online: true,
            open: true,
            visitor: Visitor {
                language: Some("en"),
                page_url: Some("https://shop.example/pricing"),
                identified: false,
                status: SessionStatus::Open,
            },
            at: Utc::now(),
        }
    }

    fn fired<'r>(rules: &'r [Rule], m: &Message<'_>) -> Option<&'r str> {
        evaluate(rules, m)
            .matched
            .first()
            .map(|m| m.rule.view.name.as_str())
    }

    #[test]
    fn keywords_any_all_phrase_and_regex() {
        let rules = [rule(
            "any",
            0,
            kw(KeywordMatch::Any, &["price", "how much"]),
        )];
        assert_eq!(fired(&rules, &msg("What's the PRICE?")), Some("any"));
        assert_eq!(fired(&rules, &msg("how much is it")), Some("any"));
        assert_eq!(fired(&rules, &msg("prices")), None, "whole words only");
        assert_eq!(fired(&rules, &msg("much how")), None, "in order");

        let rules = [rule(
            "all",
            0,
            kw(KeywordMatch::All, &["reset", "password"]),
        )];
        assert_eq!(
            fired(&rules, &msg("password: please reset it")),
            Some("all")
        );
        assert_eq!(fired(&rules, &msg("reset my account")), None);

        let rules = [rule("phrase", 0, kw(KeywordMatch::Phrase, &["Reembolso"]))];
        assert_eq!(fired(&rules, &msg("¡reembolso!")), Some("phrase"));
        assert_eq!(fired(&rules, &msg("quiero un reembolso")), None);

        let rules = [rule("accents", 0, kw(KeywordMatch::Any, &["désolé"]))];
        assert_eq!(fired(&rules, &msg("DESOLE pour ça")), Some("accents"));

        let rules = [rule(
            "re",
            0,
            kw(KeywordMatch::Regex, &[r"order\s*#?\d{5}"]),
        )];
        assert_eq!(fired(&rules, &msg("Where is ORDER #12345?")), Some("re"));
        assert_eq!(fired(&rules, &msg("order 12")), None);
    }

    #[test]
    fn triggers_read_the_moment() {
        let rules = [
            rule("greeting", 0, Trigger::Greeting),
            rule("first", 0, Trigger::FirstMessage),
            rule("closed", 0, Trigger::OutsideBusinessHours),
            rule("nobody", 0, Trigger::NoAgentOnline),
            rule("wait", 0, Trigger::NoReply { minutes: 5 }),
        ];
        let mut m = msg("hello there");
        assert_eq!(fired(&rules, &m), Some("greeting"));
        m = msg("my order");
        assert_eq!(fired(&rules, &m), None, "no_reply never fires on a message");
        m.first_message = true;
        assert_eq!(fired(&rules, &m), Some("first"));
        m.first_message = false;
        m.open = false;
        assert_eq!(fired(&rules, &m), Some("closed"));
        m.open = true;
        m.agents_online = false;
        assert_eq!(fired(&rules, &m), Some("nobody"));
    }

    #[test]
    fn the_highest_priority_wins_and_every_rule_says_why() {
        let mut off = rule("off", 100, kw(KeywordMatch::Any, &["refund"]));
        off.view.enabled = false;
        let rules = [
            rule("low", 1, kw(KeywordMatch::Any, &["refund"])),
            rule("high", 10, kw(KeywordMatch::Any, &["refund"])),
            rule("b-tie", 5, kw(KeywordMatch::Any, &["refund"])),
            rule("a-tie", 5, kw(KeywordMatch::Any, &["refund"])),
            rule("other", 50, kw(KeywordMatch::Any, &["pricing"])),
            off,
        ];
        let v = evaluate(&rules, &msg("I want a refund"));
        let names: Vec<_> = v
            .matched
            .iter()
            .map(|m| m.rule.view.name.as_str())
            .collect();
        assert_eq!(names, ["high", "a-tie", "b-tie", "low"]);
        assert_eq!(v.reasons.len(), 6);
        assert!(v.reasons[0].contains("\"off\" is turned off"));
        assert!(v.reasons[1].contains("\"other\" did not match"));
        assert!(v.reasons[2].starts_with("\"high\" fires"));
        assert!(v.reasons[3].contains("but \"high\" comes first"));
    }

    #[test]
    fn conditions_narrow_a_rule() {
        let mut r = rule("cond", 0, kw(KeywordMatch::Any, &["help"]));
        r.view.conditions = Conditions {
            page_url: Some("*/pricing*".into()),
            languages: vec!["en".into(), "es".into()],
            visitor: Some(VisitorKind::Anonymous),
            status: Some(SessionStatus::Open),
        };
        let rules = [r];
        let mut m = msg("help");
        assert_eq!(fired(&rules, &m), Some("cond"));
        m.visitor.language = Some("en-gb");
        assert_eq!(fired(&rules, &m), Some("cond"), "en matches en-GB");
        m.visitor.language = Some("fr");
        assert_eq!(fired(&rules, &m), None);
        m.visitor.language = Some("es");
        m.visitor.page_url = Some("https://shop.example/cart");
        assert_eq!(fired(&rules, &m), None);
        m.visitor.page_url = Some("https://shop.example/pricing");
        m.visitor.identified = true;
        assert_eq!(fired(&rules, &m), None);
        m.visitor.identified = false;
        m.visitor.status = SessionStatus::Closed;
        let v = evaluate(&rules, &m);
        assert!(v.matched.is_empty());
        assert!(
            v.reasons[0].contains("the conversation was closed"),
            "{:?}",
            v.reasons
        );
    }

    #[test]
    fn drafts_are_checked() {
        let ok = NewAutoResponse {
            name: " Pricing ".into(),
            priority: 0,
            enabled: true,
            trigger: kw(KeywordMatch::Any, &[" price ", ""]),
            conditions: Conditions {
                languages: vec!["ES_mx".into()],
                ..Conditions::default()
            },
            action: Action {
                message: "Hi {customer_name}, see {next_open}".into(),
                ..Action::default()
            },
            cooldown_seconds: 60,
            max_per_conversation: 1,
        };
        let (name, trigger, conditions, _) = check(Draft::from(&ok), 2000).unwrap();
        assert_eq!(name, "Pricing");
        assert_eq!(trigger, kw(KeywordMatch::Any, &["price"]));
        assert_eq!(conditions.languages, ["es-mx"]);
        let bad = |f: &dyn Fn(&mut NewAutoResponse)| {
            let mut n = ok.clone();
            f(&mut n);
            check(Draft::from(&n), 2000).unwrap_err().code()
        };
        assert_eq!(bad(&|n| n.name = " ".into()), ErrorCode::InvalidRule);
        assert_eq!(bad(&|n| n.priority = 5000), ErrorCode::InvalidRule);
        assert_eq!(bad(&|n| n.max_per_conversation = 0), ErrorCode::InvalidRule);
        assert_eq!(
            bad(&|n| n.trigger = kw(KeywordMatch::Any, &[])),
            ErrorCode::InvalidRule
        );
        assert_eq!(
            bad(&|n| n.trigger = kw(KeywordMatch::Any, &["!!"])),
            ErrorCode::InvalidRule
        );
        assert_eq!(
            bad(&|n| n.trigger = kw(KeywordMatch::Regex, &["(unclosed"])),
            ErrorCode::InvalidRule
        );
        assert_eq!(
            bad(&|n| n.trigger = kw(KeywordMatch::Regex, &[r"\w{1000}{1000}"])),
            ErrorCode::InvalidRule,
            "past the size limit"
        );
        assert_eq!(
            bad(&|n| n.trigger = Trigger::NoReply { minutes: 0 }),
            ErrorCode::InvalidRule
        );
        assert_eq!(
            bad(&|n| n.action.message = "  ".into()),
            ErrorCode::InvalidRule
        );
        assert_eq!(
            bad(&|n| n.action.message = "Hi {name}".into()),
            ErrorCode::InvalidRule
        );
        assert_eq!(
            bad(&|n| n.action.delay_seconds = 3601),
            ErrorCode::InvalidRule
        );
        assert_eq!(
            bad(&|n| n.conditions.languages = vec!["<b>".into()]),
            ErrorCode::InvalidRule
        );
        // Braces that are not placeholders are text.
        let mut n = ok.clone();
        n.action.message = "Use {} or { this }".into();
        assert!(check(Draft::from(&n), 2000).is_ok());
    }

    #[test]
    fn templates_are_filled_and_tidied() {
        let fill = Fill {
            customer_name: None,
            agent_name: None,
            next_open: None,
            language: "en",
        };
        assert_eq!(
            render(
                "Hi {customer_name}! {agent_name} answers {next_open}.",
                &fill
            ),
            "Hi! our team answers soon."
        );
        assert_eq!(
            render(
                "Hola {customer_name}, ¿qué tal?",
                &Fill {
                    language: "es",
                    ..fill
                }
            ),
            "Hola, ¿qué tal?"
        );
        let fill = Fill {
            customer_name: Some("Ana"),
            agent_name: Some("Bo"),
            next_open: Some("Monday at 09:00".into()),
            language: "en",
        };
        assert_eq!(
            render(
                "Hi {customer_name}!\n{agent_name} is back {next_open}.",
                &fill
            ),
            "Hi Ana!\nBo is back Monday at 09:00."
        );
    }
}
