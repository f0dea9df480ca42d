//! Reading a visitor's message the way a person would: words without case
//! or accents, greetings in the widget's languages, e-mail addresses.

use unicode_normalization::UnicodeNormalization;

/// The message's words: lower case, accents removed, split on anything
/// that is not a letter or a digit (`"¡Hola, José!"` → `["hola", "jose"]`).
pub fn words(text: &str) -> Vec<String> {
    fold(text)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// Lower case without accents (`"Crème Brûlée"` → `"creme brulee"`); `ß`
/// and the like stay as they are.
pub fn fold(text: &str) -> String {
    text.nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Whether `phrase` (one or more words) appears in `message` as whole
/// words, in order.
pub fn contains_phrase(message: &[String], phrase: &[String]) -> bool {
    !phrase.is_empty()
        && message.len() >= phrase.len()
        && message.windows(phrase.len()).any(|w| w == phrase)
}

/// Greetings in the widget's languages (en, es, fr, de, and the common
/// Portuguese and Italian ones), as folded words.
const GREETINGS: &[&str] = &[
    "hi",
    "hello",
    "hey",
    "hiya",
    "howdy",
    "yo",
    "greetings",
    "good morning",
    "good afternoon",
    "good evening",
    "good day",
    "hola",
    "buenas",
    "buenos dias",
    "buenas tardes",
    "buenas noches",
    "saludos",
    "bonjour",
    "bonsoir",
    "salut",
    "coucou",
    "hallo",
    "guten morgen",
    "guten tag",
    "guten abend",
    "servus",
    "moin",
    "gruss gott",
    "gruß gott",
    "ola",
    "oi",
    "bom dia",
    "boa tarde",
    "ciao",
    "buongiorno",
    "buonasera",
];

/// Words that may follow a greeting without making it more than one
/// ("hi there", "hello team", "hola a todos").
const FILLER: &[&str] = &[
    "there",
    "all",
    "everyone",
    "everybody",
    "team",
    "guys",
    "folks",
    "again",
    "a",
    "todos",
    "equipo",
    "tout",
    "le",
    "monde",
    "a",
    "zusammen",
    "team",
    "leute",
    "and",
    "y",
    "et",
    "und",
    "de",
    "nuevo",
    "how",
    "are",
    "you",
    "que",
    "tal",
    "ca",
    "va",
    "wie",
    "gehts",
    "geht",
    "es",
    "!",
    "me",
    "hey",
    "hi",
    "hello",
    "hola",
    "bonjour",
    "hallo",
    "oh",
];

/// Whether the message is a greeting and little else: a greeting first,
/// then at most a few filler words ("Hi!", "hello there", "¡Hola a
/// todos!", "Guten Tag"). "Hi, my order never came" is not: it asks for
/// something, which other rules (keywords, first message) answer.
pub fn is_greeting(message: &[String]) -> bool {
    let Some(rest) = GREETINGS.iter().find_map(|g| {
        let g: Vec<String> = words(g);
        (message.len() >= g.len() && message[..g.len()] == g[..]).then(|| &message[g.len()..])
    }) else {
        return false;
    };
    rest.len() <= 4 && rest.iter().all(|w| FILLER.contains(&w.as_str()))
}

/// The first e-mail address in the text, if any (`name@host.tld`, with
/// the punctuation around it trimmed).
pub fn find_email(text: &str) -> Option<String> {
    text.split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '<' | '>' | '(' | ')'))
        .map(|w| w.trim_matches(|c: char| matches!(c, '.' | '!' | '?' | ':' | '"' | '\'')))
        .find(|w| {
            let Some((user, host)) = w.split_once('@') else {
                return false;
            };
            !user.is_empty()
                && w.len() <= 254
                && !host.contains('@')
                && host.contains('.')
                && !host.starts_with('.')
                && !host.ends_with('.')
                && host
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '.' || c == '-')
                && user
                    .chars()
                    .all(|c| c.is_alphanumeric() || "._%+-".contains(c))
        })
        .map(str::to_string)
}

/// Whether a page URL matches a pattern: `*` stands for any text; a
/// pattern without `*` matches any URL that contains it. Case-insensitive.
pub fn url_matches(pattern: &str, url: &str) -> bool {
    let pattern = pattern.trim().to_lowercase();
    let url = url.to_lowercase();
    if !pattern.contains('*') {
        return url.contains(&pattern);
    }
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !url.starts_with(first) || url.len() < first.len() + last.len() || !url.ends_with(last) {
        return false;
    }
    // The middle parts, in order, between the first and the last.
    let mut at = first.len();
    let end = url.len() - last.len();
    for part in &parts[1..parts.len() - 1] {
        match url[at..end].find(part) {
            Some(i) => at += i + part.len(),
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Vec<String> {
        words(s)
    }

    #[test]
    fn words_ignore_case_accents_and_punctuation() {
        assert_eq!(w("¡Hola, José!"), ["hola", "jose"]);
        assert_eq!(w("CRÈME brûlée... 42€"), ["creme", "brulee", "42"]);
        assert!(w("  ?! ").is_empty());
    }

    #[test]
    fn phrases_are_whole_words_in_order() {
        assert!(contains_phrase(&w("I forgot my Password!"), &w("password")));
        assert!(!contains_phrase(&w("passwords"), &w("password")));
        assert!(contains_phrase(
            &w("reset my password please"),
            &w("my password")
        ));
        assert!(!contains_phrase(&w("password my"), &w("my password")));
        assert!(!contains_phrase(&w("anything"), &[]));
    }

    #[test]
    fn greetings_in_several_languages() {
        for yes in [
            "hi",
            "Hello!",
            "hello there",
            "¡Hola a todos!",
            "Buenos días",
            "bonjour",
            "Salut tout le monde",
            "Guten Tag",
            "hallo zusammen",
            "hey, how are you?",
            "Good morning team",
        ] {
            assert!(is_greeting(&w(yes)), "{yes:?} is a greeting");
        }
        for no in [
            "",
            "hi, my order never arrived",
            "hello I need a refund",
            "this is not hi",
            "history",
            "hijacked account",
        ] {
            assert!(!is_greeting(&w(no)), "{no:?} is not a greeting");
        }
    }

    #[test]
    fn emails_are_found_in_a_sentence() {
        assert_eq!(
            find_email("sure, it's Ana.Pérez@example.org.").as_deref(),
            Some("Ana.Pérez@example.org")
        );
        assert_eq!(
            find_email("write to <bob+x@mail.example.com>").as_deref(),
            Some("bob+x@mail.example.com")
        );
        assert_eq!(find_email("no address here @ all"), None);
        assert_eq!(find_email("me@localhost"), None);
        assert_eq!(find_email("a@b@c.com"), None);
    }

    #[test]
    fn url_patterns() {
        assert!(url_matches("/pricing", "https://shop.example/pricing?x=1"));
        assert!(url_matches(
            "https://shop.example/*",
            "https://shop.example/a/b"
        ));
        assert!(url_matches(
            "*/checkout/*/pay",
            "https://x.example/checkout/42/pay"
        ));
        assert!(!url_matches(
            "*/checkout/*/pay",
            "https://x.example/checkout/42/done"
        ));
        assert!(url_matches("*", "anything"));
        assert!(!url_matches("https://a.example/*", "https://b.example/"));
        assert!(url_matches("*PRICING*", "https://x/pricing"));
    }
}
