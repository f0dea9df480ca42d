//! E-mail to the team when a visitor leaves an offline message (`SMTP_URL`).
//!
//! Sent after the message is committed, off the answer path: notices go
//! into a bounded queue (full: the notice is dropped and logged, the
//! visitor's message is stored all the same) and one task sends them, each
//! within [`SEND_TIMEOUT`].

use std::time::Duration;

use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;
use tokio::sync::mpsc;

use crate::config::SmtpSettings;

/// Notices waiting to be sent.
pub const QUEUE: usize = 64;
/// The most one e-mail may take (connect, greet, send).
pub const SEND_TIMEOUT: Duration = Duration::from_secs(20);

/// What the team is told about an offline message.
#[derive(Clone, Debug)]
pub struct OfflineNotice {
    pub name: Option<String>,
    pub email: String,
    pub message: String,
    pub customer_id: String,
    pub session_id: String,
}

/// The sending side of the queue. Cheap to clone.
#[derive(Clone)]
pub struct Mailer {
    tx: mpsc::Sender<OfflineNotice>,
}

impl Mailer {
    /// Checks the settings and starts the sending task; `Err` names the
    /// variable at fault.
    pub fn start(settings: &SmtpSettings) -> Result<Self, crate::config::ConfigError> {
        let bad = |var: &'static str, e: String| crate::config::ConfigError { var, message: e };
        let transport =
            AsyncSmtpTransport::<Tokio1Executor>::from_url(settings.url.expose_secret())
                .map_err(|e| bad("SMTP_URL", e.to_string()))?
                .timeout(Some(SEND_TIMEOUT))
                .build();
        let from: Mailbox = settings
            .from
            .parse()
            .map_err(|e| bad("SMTP_FROM", format!("{e}")))?;
        let to = settings
            .to
            .iter()
            .map(|a| a.parse::<Mailbox>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad("SMTP_TO", format!("{e}")))?;
        let (tx, mut rx) = mpsc::channel::<OfflineNotice>(QUEUE);
        tokio::spawn(async move {
            while let Some(notice) = rx.recv().await {
                let session = notice.session_id.clone();
                let email = match compose(&from, &to, notice) {
                    Ok(email) => email,
                    Err(e) => {
                        tracing::warn!(session.id = %session, error.cause = %e, "offline e-mail not composed");
                        continue;
                    }
                };
                match tokio::time::timeout(SEND_TIMEOUT, transport.send(email)).await {
                    Ok(Ok(_)) => tracing::info!(session.id = %session, "offline e-mail sent"),
                    Ok(Err(e)) => {
                        tracing::warn!(session.id = %session, error.cause = %e, "offline e-mail failed")
                    }
                    Err(_) => tracing::warn!(session.id = %session, "offline e-mail timed out"),
                }
            }
        });
        Ok(Self { tx })
    }

    /// Queues a notice; never waits.
    pub fn notify(&self, notice: OfflineNotice) {
        if self.tx.try_send(notice).is_err() {
            tracing::warn!("offline e-mail queue full; this notice is dropped");
        }
    }
}

fn compose(
    from: &Mailbox,
    to: &[Mailbox],
    notice: OfflineNotice,
) -> Result<Message, lettre::error::Error> {
    let who = notice.name.clone().unwrap_or_else(|| notice.email.clone());
    let mut builder = Message::builder()
        .from(from.clone())
        .subject(format!("Offline message from {who}"));
    for mailbox in to {
        builder = builder.to(mailbox.clone());
    }
    if let Ok(reply_to) = notice.email.parse::<Mailbox>() {
        builder = builder.reply_to(reply_to);
    }
    let body = format!(
        "Name: {}\nE-mail: {}\nCustomer id: {}\nConversation: {}\n\n{}\n",
        notice.name.as_deref().unwrap_or("-"),
        notice.email,
        notice.customer_id,
        notice.session_id,
        notice.message,
    );
    builder.body(body)
}
