//! The rules `defmis-chat create-default-responses` installs: a greeting,
//! outside business hours (with `{next_open}`), no agent online, no reply
//! within 5 minutes, and keywords for pricing, refunds and passwords — in
//! English, with Spanish, French and German translations (the widget's
//! languages); keywords in all four. Keyed by name: installing twice adds
//! nothing.

use std::collections::BTreeMap;

use app::automation::{Action, Conditions, KeywordMatch, NewAutoResponse, Trigger};

fn tr(es: &str, fr: &str, de: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("es".to_string(), es.to_string()),
        ("fr".to_string(), fr.to_string()),
        ("de".to_string(), de.to_string()),
    ])
}

#[allow(clippy::too_many_arguments)]
fn rule(
    name: &str,
    priority: i32,
    trigger: Trigger,
    message: &str,
    translations: BTreeMap<String, String>,
    ask_email: bool,
    cooldown_seconds: u32,
    max_per_conversation: u32,
) -> NewAutoResponse {
    NewAutoResponse {
        name: name.into(),
        priority,
        enabled: true,
        trigger,
        conditions: Conditions::default(),
        action: Action {
            message: message.into(),
            translations,
            delay_seconds: 0,
            close: false,
            ask_email,
        },
        cooldown_seconds,
        max_per_conversation,
    }
}

fn keywords(words: &[&str]) -> Trigger {
    Trigger::Keyword {
        matching: KeywordMatch::Any,
        keywords: words.iter().map(|w| w.to_string()).collect(),
    }
}

/// The default rules, highest priority first.
pub fn rules() -> Vec<NewAutoResponse> {
    vec![
        rule(
            "Outside business hours",
            50,
            Trigger::OutsideBusinessHours,
            "Thanks for your message, {customer_name}! We're closed right now and back {next_open}. \
             We'll answer here as soon as we're back.",
            tr(
                "¡Gracias por tu mensaje, {customer_name}! Ahora estamos cerrados y volvemos {next_open}. \
                 Te responderemos aquí en cuanto volvamos.",
                "Merci pour votre message, {customer_name} ! Nous sommes fermés et de retour {next_open}. \
                 Nous vous répondrons ici dès notre retour.",
                "Danke für Ihre Nachricht, {customer_name}! Wir sind gerade nicht da und ab {next_open} zurück. \
                 Wir antworten Ihnen hier, sobald wir zurück sind.",
            ),
            true,
            4 * 3600,
            1,
        ),
        rule(
            "No agent online",
            40,
            Trigger::NoAgentOnline,
            "Thanks for your message! Nobody from the team is online right now; \
             we'll answer here as soon as someone is back.",
            tr(
                "¡Gracias por tu mensaje! Ahora mismo no hay nadie del equipo conectado; \
                 te responderemos aquí en cuanto alguien vuelva.",
                "Merci pour votre message ! Personne de l'équipe n'est en ligne pour le moment ; \
                 nous vous répondrons ici dès que possible.",
                "Danke für Ihre Nachricht! Gerade ist niemand aus dem Team online; \
                 wir antworten Ihnen hier, sobald jemand zurück ist.",
            ),
            true,
            4 * 3600,
            1,
        ),
        rule(
            "Greeting",
            30,
            Trigger::Greeting,
            "Hi {customer_name}! How can we help you today?",
            tr(
                "¡Hola, {customer_name}! ¿En qué podemos ayudarte?",
                "Bonjour {customer_name} ! Comment pouvons-nous vous aider ?",
                "Hallo {customer_name}! Wie können wir Ihnen helfen?",
            ),
            false,
            600,
            1,
        ),
        rule(
            "Pricing",
            20,
            keywords(&[
                "price", "prices", "pricing", "cost", "costs", "how much", "plans",
                "precio", "precios", "cuánto cuesta", "tarifa", "tarifas",
                "prix", "tarif", "tarifs", "combien", "abonnement",
                "preis", "preise", "kosten", "kostet", "tarif",
            ]),
            "Our plans and prices are on our pricing page. An agent will join shortly to answer any question about them.",
            tr(
                "Nuestros planes y precios están en la página de precios. Un agente se unirá en breve para resolver tus dudas.",
                "Nos offres et nos prix sont sur notre page tarifs. Un agent vous rejoint bientôt pour répondre à vos questions.",
                "Unsere Tarife und Preise finden Sie auf unserer Preisseite. Gleich meldet sich jemand aus dem Team bei Ihnen.",
            ),
            false,
            3600,
            1,
        ),
        rule(
            "Refund",
            20,
            keywords(&[
                "refund", "refunds", "money back", "reimbursement", "return my",
                "reembolso", "devolución", "devolver",
                "remboursement", "rembourser", "remboursé",
                "erstattung", "rückerstattung", "geld zurück", "rückgabe",
            ]),
            "Sorry to hear that. Please tell us your order number, and an agent will look into your refund here.",
            tr(
                "Lamentamos oírlo. Indícanos tu número de pedido y un agente revisará tu reembolso aquí.",
                "Désolés de l'apprendre. Indiquez-nous votre numéro de commande et un agent étudiera votre remboursement ici.",
                "Das tut uns leid. Nennen Sie uns Ihre Bestellnummer, dann kümmert sich jemand hier um Ihre Erstattung.",
            ),
            false,
            3600,
            1,
        ),
        rule(
            "Password",
            20,
            keywords(&[
                "password", "log in", "login", "sign in", "locked out",
                "contraseña", "iniciar sesión",
                "mot de passe", "connexion", "me connecter",
                "passwort", "kennwort", "anmelden", "einloggen",
            ]),
            "To reset your password, use \"Forgot password?\" on the sign-in page. \
             If that does not help, tell us your account's e-mail address and an agent will help.",
            tr(
                "Para restablecer tu contraseña, usa «¿Olvidaste tu contraseña?» en la página de inicio de sesión. \
                 Si no funciona, dinos el correo de tu cuenta y un agente te ayudará.",
                "Pour réinitialiser votre mot de passe, utilisez « Mot de passe oublié ? » sur la page de connexion. \
                 Sinon, indiquez-nous l'e-mail de votre compte et un agent vous aidera.",
                "Um Ihr Passwort zurückzusetzen, nutzen Sie „Passwort vergessen?“ auf der Anmeldeseite. \
                 Hilft das nicht, nennen Sie uns die E-Mail-Adresse Ihres Kontos.",
            ),
            false,
            3600,
            1,
        ),
        rule(
            "No reply within 5 minutes",
            10,
            Trigger::NoReply { minutes: 5 },
            "Sorry for the wait, {customer_name}! Everyone is busy right now, but we haven't forgotten you.",
            tr(
                "¡Perdona la espera, {customer_name}! Ahora mismo estamos todos ocupados, pero no nos olvidamos de ti.",
                "Désolés pour l'attente, {customer_name} ! Tout le monde est occupé, mais nous ne vous oublions pas.",
                "Entschuldigen Sie die Wartezeit, {customer_name}! Gerade sind alle beschäftigt, aber wir haben Sie nicht vergessen.",
            ),
            false,
            0,
            1,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::automation::rules::{check, Draft};

    #[test]
    fn every_default_rule_is_valid_and_named_once() {
        let all = rules();
        for r in &all {
            check(Draft::from(r), 2000).unwrap_or_else(|e| panic!("{}: {e}", r.name));
        }
        let mut names: Vec<_> = all.iter().map(|r| r.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all.len());
    }
}
