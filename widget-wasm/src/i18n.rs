//! The widget's visible strings and aria labels in English, Spanish, French
//! and German, picked from the snippet's `locale` or `navigator.language`.
//! One static table: no formatting machinery, a lookup is an index.

/// A supported language; the index into each row of [`TABLE`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    En = 0,
    Es = 1,
    Fr = 2,
    De = 3,
}

/// Every string the widget shows or reads out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    OpenChat,
    OpenChatUnread,
    CloseChat,
    Chat,
    Message,
    Placeholder,
    Send,
    Connecting,
    Connected,
    Reconnecting,
    Offline,
    Unavailable,
    Closed,
    NotSent,
    Retry,
    Sending,
    Seen,
    IsTyping,
    ReplyWithin,
    AwayIntro,
    Name,
    Email,
    Messages,
}

const TABLE: [[&str; 4]; 23] = [
    ["Open chat", "Abrir chat", "Ouvrir le chat", "Chat öffnen"],
    [
        "Open chat (new messages)",
        "Abrir chat (mensajes nuevos)",
        "Ouvrir le chat (nouveaux messages)",
        "Chat öffnen (neue Nachrichten)",
    ],
    [
        "Close chat",
        "Cerrar chat",
        "Fermer le chat",
        "Chat schließen",
    ],
    ["Chat", "Chat", "Chat", "Chat"],
    ["Message", "Mensaje", "Message", "Nachricht"],
    [
        "Type a message…",
        "Escribe un mensaje…",
        "Écrivez un message…",
        "Nachricht schreiben…",
    ],
    [
        "Send message",
        "Enviar mensaje",
        "Envoyer le message",
        "Nachricht senden",
    ],
    ["Connecting…", "Conectando…", "Connexion…", "Verbinde…"],
    ["Connected", "Conectado", "Connecté", "Verbunden"],
    [
        "Reconnecting…",
        "Reconectando…",
        "Reconnexion…",
        "Verbinde erneut…",
    ],
    [
        "Offline — messages will be sent when you are back online",
        "Sin conexión: los mensajes se enviarán al volver",
        "Hors ligne : les messages partiront au retour du réseau",
        "Offline – Nachrichten werden gesendet, sobald Sie wieder online sind",
    ],
    [
        "Chat unavailable",
        "Chat no disponible",
        "Chat indisponible",
        "Chat nicht verfügbar",
    ],
    [
        "This conversation has been closed.",
        "Esta conversación se ha cerrado.",
        "Cette conversation est close.",
        "Diese Unterhaltung wurde beendet.",
    ],
    ["Not sent", "No enviado", "Non envoyé", "Nicht gesendet"],
    ["Retry", "Reintentar", "Réessayer", "Erneut senden"],
    ["Sending…", "Enviando…", "Envoi…", "Wird gesendet…"],
    ["Seen", "Visto", "Vu", "Gesehen"],
    [" is typing…", " está escribiendo…", " écrit…", " schreibt…"],
    [
        "We usually reply within ",
        "Solemos responder en ",
        "Nous répondons généralement sous ",
        "Wir antworten in der Regel innerhalb von ",
    ],
    [
        "We are away right now. Leave a message and we will reply by e-mail.",
        "Ahora no estamos. Deja un mensaje y te responderemos por correo.",
        "Nous sommes absents. Laissez un message, nous répondrons par e-mail.",
        "Wir sind gerade nicht da. Hinterlassen Sie eine Nachricht, wir antworten per E-Mail.",
    ],
    ["Name", "Nombre", "Nom", "Name"],
    ["E-mail", "Correo electrónico", "E-mail", "E-Mail"],
    ["Messages", "Mensajes", "Messages", "Nachrichten"],
];

/// The string for `k` in `lang`.
pub fn t(lang: Lang, k: Key) -> &'static str {
    TABLE[k as usize][lang as usize]
}

/// The language for a BCP 47 tag (`es`, `fr-CA`, `DE_at`); English for
/// anything else.
pub fn pick(tag: &str) -> Lang {
    let b = tag.as_bytes();
    if b.len() < 2 || (b.len() > 2 && !matches!(b[2], b'-' | b'_')) {
        return Lang::En;
    }
    match [b[0].to_ascii_lowercase(), b[1].to_ascii_lowercase()] {
        [b'e', b's'] => Lang::Es,
        [b'f', b'r'] => Lang::Fr,
        [b'd', b'e'] => Lang::De,
        _ => Lang::En,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_languages_from_tags() {
        assert_eq!(pick("es"), Lang::Es);
        assert_eq!(pick("fr-CA"), Lang::Fr);
        assert_eq!(pick("DE_at"), Lang::De);
        assert_eq!(pick("en-GB"), Lang::En);
        assert_eq!(pick("pt-BR"), Lang::En);
        assert_eq!(pick("esperanto"), Lang::En);
        assert_eq!(pick(""), Lang::En);
    }

    #[test]
    fn every_string_is_translated() {
        for row in TABLE {
            for s in row {
                assert!(!s.is_empty());
            }
        }
        assert_eq!(t(Lang::Es, Key::Connected), "Conectado");
        assert_eq!(t(Lang::En, Key::Messages), "Messages");
        // The browser tests look for /connected/i when live.
        assert!(t(Lang::En, Key::Connected)
            .to_lowercase()
            .contains("connected"));
    }
}
