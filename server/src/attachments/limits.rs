//! What may be attached, in force: the environment's limits
//! (`ATTACHMENTS_ENABLED`, `ATTACHMENT_MAX_BYTES`, `ATTACHMENT_TYPES`) are
//! the most this server allows; an admin may narrow them from the
//! dashboard (saved with the widget's settings, applied on every instance
//! without a restart).

use app::types::AttachmentLimits;

use super::kind::Kind;
use crate::config::AttachmentSettings;

/// The smallest largest-file an admin may choose.
pub const MIN_MAX_BYTES: u64 = 1024;

/// The limits every upload is checked against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileLimits {
    pub enabled: bool,
    pub max_bytes: u64,
    /// In `Kind::ALL` order, without repeats.
    pub types: Vec<Kind>,
}

/// Why an admin's choice cannot be saved (for `422 invalid_setting`).
#[derive(Debug, PartialEq, Eq)]
pub struct Refused(pub String);

impl FileLimits {
    /// The environment's: the most this server allows.
    pub fn of(settings: &AttachmentSettings) -> Self {
        Self {
            enabled: settings.enabled,
            max_bytes: settings.max_bytes,
            types: in_order(&settings.types),
        }
    }

    /// As clients and the settings page see them.
    pub fn view(&self) -> AttachmentLimits {
        AttachmentLimits {
            enabled: self.enabled,
            max_bytes: self.max_bytes,
            types: self.types.iter().map(|k| k.as_str().to_string()).collect(),
        }
    }

    /// An admin's choice, checked against what the server allows.
    pub fn checked(wanted: &AttachmentLimits, allowed: &FileLimits) -> Result<FileLimits, Refused> {
        if wanted.enabled && !allowed.enabled {
            return Err(Refused(
                "Files are turned off on this server (ATTACHMENTS_ENABLED=false).".into(),
            ));
        }
        if wanted.max_bytes < MIN_MAX_BYTES {
            return Err(Refused(format!(
                "attachments.max_bytes is at least {MIN_MAX_BYTES}."
            )));
        }
        if wanted.max_bytes > allowed.max_bytes {
            return Err(Refused(format!(
                "attachments.max_bytes is at most {} on this server (ATTACHMENT_MAX_BYTES).",
                allowed.max_bytes
            )));
        }
        let mut types = Vec::new();
        for raw in &wanted.types {
            let kind: Kind = raw.trim().to_ascii_lowercase().parse().map_err(|_| {
                let known: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
                Refused(format!(
                    "attachments.types: unknown type {raw:?} (known: {}).",
                    known.join(", ")
                ))
            })?;
            if !allowed.types.contains(&kind) {
                return Err(Refused(format!(
                    "attachments.types: {} is not allowed on this server (ATTACHMENT_TYPES).",
                    kind.as_str()
                )));
            }
            types.push(kind);
        }
        if wanted.enabled && types.is_empty() {
            return Err(Refused(
                "attachments.types: choose at least one type, or turn files off.".into(),
            ));
        }
        Ok(FileLimits {
            enabled: wanted.enabled,
            max_bytes: wanted.max_bytes,
            types: in_order(&types),
        })
    }

    /// A saved choice within what the server allows now (the environment
    /// may have narrowed since it was saved): never more than `allowed`.
    pub fn within(saved: &AttachmentLimits, allowed: &FileLimits) -> FileLimits {
        let types: Vec<Kind> = allowed
            .types
            .iter()
            .copied()
            .filter(|k| saved.types.iter().any(|t| t == k.as_str()))
            .collect();
        FileLimits {
            enabled: saved.enabled && allowed.enabled,
            max_bytes: saved
                .max_bytes
                .clamp(MIN_MAX_BYTES, allowed.max_bytes.max(MIN_MAX_BYTES)),
            types: in_order(&types),
        }
    }
}

fn in_order(kinds: &[Kind]) -> Vec<Kind> {
    Kind::ALL
        .iter()
        .copied()
        .filter(|k| kinds.contains(k))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server() -> FileLimits {
        FileLimits {
            enabled: true,
            max_bytes: 10 << 20,
            types: vec![Kind::Png, Kind::Jpeg, Kind::Pdf, Kind::Txt],
        }
    }

    fn wanted(enabled: bool, max_bytes: u64, types: &[&str]) -> AttachmentLimits {
        AttachmentLimits {
            enabled,
            max_bytes,
            types: types.iter().map(|t| t.to_string()).collect(),
        }
    }

    #[test]
    fn an_admin_narrows_within_what_the_server_allows() {
        let ok = FileLimits::checked(&wanted(true, 2048, &[" TXT", "png", "png"]), &server());
        assert_eq!(
            ok,
            Ok(FileLimits {
                enabled: true,
                max_bytes: 2048,
                types: vec![Kind::Png, Kind::Txt],
            })
        );
        assert_eq!(ok.unwrap().view().types, ["png", "txt"]);
        // Turned off, with no types: fine.
        assert!(FileLimits::checked(&wanted(false, 2048, &[]), &server()).is_ok());
        let refused = |w: AttachmentLimits, server: &FileLimits| {
            FileLimits::checked(&w, server).unwrap_err().0
        };
        assert!(refused(wanted(true, 11 << 20, &["png"]), &server()).contains("at most"));
        assert!(refused(wanted(true, 100, &["png"]), &server()).contains("at least 1024"));
        assert!(refused(wanted(true, 2048, &["zip"]), &server()).contains("not allowed"));
        assert!(refused(wanted(true, 2048, &["svg"]), &server()).contains("unknown type"));
        assert!(refused(wanted(true, 2048, &[]), &server()).contains("at least one"));
        let off = FileLimits {
            enabled: false,
            ..server()
        };
        assert!(refused(wanted(true, 2048, &["png"]), &off).contains("turned off"));
    }

    #[test]
    fn a_saved_choice_never_passes_what_the_server_allows_now() {
        let saved = wanted(true, 8 << 20, &["png", "zip", "txt"]);
        let now = FileLimits {
            enabled: true,
            max_bytes: 1 << 20,
            types: vec![Kind::Txt, Kind::Png],
        };
        assert_eq!(
            FileLimits::within(&saved, &now),
            FileLimits {
                enabled: true,
                max_bytes: 1 << 20,
                types: vec![Kind::Png, Kind::Txt],
            }
        );
        let off = FileLimits {
            enabled: false,
            ..now
        };
        assert!(!FileLimits::within(&saved, &off).enabled);
    }
}
