//! Identity verification: a site proves a visitor is its user `customer_id`
//! with `customer_hash` = hex HMAC-SHA256(`IDENTITY_SECRET`, customer_id),
//! computed on the site's server. A verified visitor gets the conversation's
//! *derived* token, the same on every device, so no token has to travel
//! between devices.

use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

use std::sync::Arc;

use tokio::sync::watch;

use crate::auth::{hex, hmac_sha256 as mac};
use crate::settings::Live;

/// What a `customer_hash` said about a customer_id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// No hash given, or no `IDENTITY_SECRET` configured (then a hash is
    /// ignored).
    Unchecked,
    Verified,
    Wrong,
}

/// The identity secret and the required toggle in force (the widget
/// settings: saved in the dashboard, else `IDENTITY_SECRET` and
/// `IDENTITY_REQUIRED`), and the key derived tokens are made with.
#[derive(Clone)]
pub struct Identity {
    settings: watch::Receiver<Arc<Live>>,
    /// HMAC-SHA256(SECRET_KEY, "identity-token"): never the secret itself.
    token_key: [u8; 32],
}

impl Identity {
    pub fn new(settings: watch::Receiver<Arc<Live>>, secret_key: &SecretString) -> Self {
        Self {
            settings,
            token_key: mac(secret_key.expose_secret().as_bytes(), &[b"identity-token"]),
        }
    }

    pub fn required(&self) -> bool {
        self.settings.borrow().widget.identity_required
    }

    /// Checks `hash` (hex, either case) against `customer_id`, in constant
    /// time.
    pub fn check(&self, customer_id: &str, hash: Option<&str>) -> Verdict {
        let secret = self.settings.borrow().identity_secret.clone();
        let (Some(secret), Some(hash)) = (secret, hash.map(str::trim).filter(|h| !h.is_empty()))
        else {
            return Verdict::Unchecked;
        };
        let expected = hex(&mac(
            secret.expose_secret().as_bytes(),
            &[customer_id.as_bytes()],
        ));
        let given = hash.to_ascii_lowercase();
        if bool::from(expected.as_bytes().ct_eq(given.as_bytes())) {
            Verdict::Verified
        } else {
            Verdict::Wrong
        }
    }

    /// The token of a verified customer's conversation: the same on every
    /// device, unknowable without `SECRET_KEY`.
    pub fn token_for(&self, session_id: &str) -> String {
        hex(&mac(&self.token_key, &[session_id.as_bytes()]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity() -> Identity {
        Identity::new(
            crate::settings::test_settings(Some("test-identity-secret"), false),
            &"k".repeat(40).into(),
        )
    }

    #[test]
    fn hashes_are_checked_in_either_case() {
        let id = identity();
        // Computed with the Python example of docs/identity.md:
        // hmac.new(b"test-identity-secret", b"42", hashlib.sha256).hexdigest()
        let real = "3af477e48c56f09fa4c49c81735244847b37a9c701fc5fb41841d754c9efc7a3";
        assert_eq!(id.check("42", Some(real)), Verdict::Verified);
        assert_eq!(
            id.check("42", Some(&real.to_uppercase())),
            Verdict::Verified
        );
        assert_eq!(id.check("43", Some(real)), Verdict::Wrong);
        assert_eq!(id.check("42", Some(&real[1..])), Verdict::Wrong);
        assert_eq!(id.check("42", Some("zz")), Verdict::Wrong);
        assert_eq!(id.check("42", None), Verdict::Unchecked);
        assert_eq!(id.check("42", Some("")), Verdict::Unchecked);
    }

    #[test]
    fn without_a_secret_hashes_are_ignored() {
        let id = Identity::new(
            crate::settings::test_settings(None, false),
            &"k".repeat(40).into(),
        );
        assert_eq!(id.check("42", Some("abc")), Verdict::Unchecked);
    }

    #[test]
    fn derived_tokens_are_stable_and_distinct() {
        let id = identity();
        assert_eq!(id.token_for("s1"), id.token_for("s1"));
        assert_ne!(id.token_for("s1"), id.token_for("s2"));
        assert_eq!(id.token_for("s1").len(), 64);
    }
}
