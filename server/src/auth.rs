//! Secrets: random tokens, their keyed hashes, and password hashing.
//!
//! Tokens (visitor, dashboard session, API) are 256 random bits shown once;
//! only `HMAC-SHA256(SECRET_KEY, token)` is stored, so a database leak
//! grants nothing. Passwords are hashed with argon2id.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Refuses agents without the admin role (403 `forbidden`). Every
/// domain's admin-only rule calls this, so the check is one line there.
pub(crate) fn require_admin(actor: &app::types::AgentView) -> Result<(), crate::error::AppError> {
    if actor.role == app::types::Role::Admin {
        Ok(())
    } else {
        Err(crate::error::AppError::Forbidden(
            app::types::ErrorCode::Forbidden,
            "Only admins may do this.".into(),
        ))
    }
}

/// The token of an `Authorization: Bearer <token>` header.
pub fn bearer_token(headers: &axum::http::HeaderMap) -> Option<String> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty())
        .then(|| token.trim().to_string())
}

/// A fresh unguessable token: 32 random bytes, hex.
pub fn random_token() -> String {
    let bytes: [u8; 32] = rand::random();
    hex(&bytes)
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 0xf) as usize] as char);
    }
    out
}

/// HMAC-SHA256 of `parts`, one after another, under `key`.
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    #[allow(clippy::expect_used, reason = "HMAC accepts keys of any length")]
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts any key length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// Keyed hashes of tokens.
#[derive(Clone)]
pub struct TokenHasher {
    key: SecretString,
}

impl TokenHasher {
    pub fn new(key: SecretString) -> Self {
        Self { key }
    }

    pub fn hash(&self, token: &str) -> String {
        #[allow(clippy::expect_used, reason = "HMAC accepts keys of any length")]
        let mut mac = Hmac::<Sha256>::new_from_slice(self.key.expose_secret().as_bytes())
            .expect("HMAC accepts any key length");
        mac.update(token.as_bytes());
        hex(&mac.finalize().into_bytes())
    }

    /// Whether `token` hashes to `stored`, in constant time.
    pub fn matches(&self, token: &str, stored: &str) -> bool {
        self.hash(token).as_bytes().ct_eq(stored.as_bytes()).into()
    }
}

/// Equality that does not leak where two secrets differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// Hashes a password with argon2id and a random salt. CPU-heavy: call it
/// from `spawn_blocking`.
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// Checks a password against a stored argon2 hash. CPU-heavy.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_and_distinct() {
        let a = random_token();
        assert_eq!(a.len(), 64);
        assert_ne!(a, random_token());
    }

    #[test]
    fn hashes_depend_on_key() {
        let h1 = TokenHasher::new("k1".to_string().into());
        let h2 = TokenHasher::new("k2".to_string().into());
        assert_ne!(h1.hash("t"), h2.hash("t"));
        assert!(h1.matches("t", &h1.hash("t")));
        assert!(!h1.matches("u", &h1.hash("t")));
    }

    #[test]
    fn passwords_round_trip() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong horse", &hash));
        assert!(!verify_password("x", "not a hash"));
    }
}
