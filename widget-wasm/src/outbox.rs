//! Messages the visitor typed that the server has not acknowledged yet.
//!
//! Each is keyed by its `client_id` (the server stores a `client_id` once,
//! so resending is always safe) and is `Sending` until its acknowledgement
//! (the echoed message with its seq, or the POST's 201) removes it, or
//! `Failed` after a refusal that retrying cannot fix by itself (the retry
//! button makes it `Sending` again). The list is persisted in localStorage
//! by `chat.rs` and resent after a reload.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Sending,
    Failed,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    pub client_id: String,
    pub content: String,
    pub state: State,
    /// The transport generation it was last sent on (0: not on the current
    /// one), so each socket or HTTP round sends it once.
    pub sent_on: u32,
    /// When it was last sent (ms since the epoch; 0 when not in flight).
    pub sent_at: f64,
    /// Not before this time (ms): `retry_after_ms` of a rate limit.
    pub not_before: f64,
}

/// How long a sent message may wait for its acknowledgement before the
/// transport is suspected.
pub const ACK_TIMEOUT_MS: f64 = 5000.0;

#[derive(Default, Debug)]
pub struct Outbox {
    pub items: Vec<Item>,
}

impl Outbox {
    pub fn push(&mut self, client_id: String, content: String) {
        if self.find(&client_id).is_none() {
            self.items.push(Item {
                client_id,
                content,
                state: State::Sending,
                sent_on: 0,
                sent_at: 0.0,
                not_before: 0.0,
            });
        }
    }

    fn find(&mut self, client_id: &str) -> Option<&mut Item> {
        self.items.iter_mut().find(|i| i.client_id == client_id)
    }

    /// The acknowledgement arrived: the message is stored. `true` if it was
    /// ours.
    pub fn ack(&mut self, client_id: &str) -> bool {
        let before = self.items.len();
        self.items.retain(|i| i.client_id != client_id);
        self.items.len() != before
    }

    /// A refusal that resending will not fix: keep it for the retry button.
    pub fn fail(&mut self, client_id: &str) {
        if let Some(i) = self.find(client_id) {
            i.state = State::Failed;
            i.sent_on = 0;
            i.sent_at = 0.0;
        }
    }

    /// A transient refusal: send again, not before `not_before`.
    pub fn later(&mut self, client_id: &str, not_before: f64) {
        if let Some(i) = self.find(client_id) {
            i.sent_on = 0;
            i.sent_at = 0.0;
            i.not_before = not_before;
        }
    }

    /// The retry button: a new attempt with the same `client_id`.
    pub fn retry(&mut self, client_id: &str) -> bool {
        match self.find(client_id) {
            Some(i) if i.state == State::Failed => {
                i.state = State::Sending;
                true
            }
            _ => false,
        }
    }

    /// The visitor gave up on a failed message.
    pub fn remove(&mut self, client_id: &str) {
        self.ack(client_id);
    }

    /// The messages to send on transport generation `generation` now.
    pub fn due(&self, generation: u32, now: f64) -> Vec<(String, String)> {
        self.items
            .iter()
            .filter(|i| i.state == State::Sending && i.sent_on != generation && i.not_before <= now)
            .map(|i| (i.client_id.clone(), i.content.clone()))
            .collect()
    }

    pub fn sent(&mut self, client_id: &str, generation: u32, now: f64) {
        if let Some(i) = self.find(client_id) {
            i.sent_on = generation;
            i.sent_at = now;
        }
    }

    /// Whether a message has waited for its acknowledgement too long.
    pub fn overdue(&self, now: f64) -> bool {
        self.items.iter().any(|i| {
            i.state == State::Sending && i.sent_at > 0.0 && now - i.sent_at > ACK_TIMEOUT_MS
        })
    }

    /// The transport changed (reconnect, switch): everything unacknowledged
    /// goes out again, with the same `client_id`.
    pub fn resend_all(&mut self) {
        for i in &mut self.items {
            i.sent_on = 0;
            i.sent_at = 0.0;
        }
    }

    pub fn state(&self, client_id: &str) -> Option<State> {
        self.items
            .iter()
            .find(|i| i.client_id == client_id)
            .map(|i| i.state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boxed() -> Outbox {
        let mut o = Outbox::default();
        o.push("a".into(), "hello".into());
        o.push("b".into(), "world".into());
        o.push("a".into(), "again".into());
        o
    }

    #[test]
    fn sends_once_per_generation_until_acknowledged() {
        let mut o = boxed();
        assert_eq!(o.items.len(), 2);
        let due = o.due(1, 0.0);
        assert_eq!(due.len(), 2);
        o.sent("a", 1, 1000.0);
        o.sent("b", 1, 1000.0);
        assert!(o.due(1, 2000.0).is_empty());
        assert!(!o.overdue(5000.0));
        assert!(o.overdue(6001.0));
        assert!(o.ack("a"));
        assert!(!o.ack("a"));
        // A reconnect resends what is left, same client_id.
        assert_eq!(
            o.due(2, 7000.0),
            vec![("b".to_string(), "world".to_string())]
        );
        o.resend_all();
        assert_eq!(o.due(1, 7000.0).len(), 1);
    }

    #[test]
    fn failed_messages_wait_for_the_retry_button() {
        let mut o = boxed();
        o.fail("a");
        assert_eq!(o.state("a"), Some(State::Failed));
        assert_eq!(o.due(1, 0.0).len(), 1);
        assert!(!o.retry("b"));
        assert!(o.retry("a"));
        assert_eq!(o.state("a"), Some(State::Sending));
        assert_eq!(o.due(1, 0.0).len(), 2);
        o.remove("a");
        assert_eq!(o.state("a"), None);
    }

    #[test]
    fn rate_limited_messages_wait() {
        let mut o = boxed();
        o.sent("a", 1, 10.0);
        o.later("a", 2000.0);
        assert_eq!(o.due(1, 1000.0).len(), 1);
        assert_eq!(o.due(1, 2000.0).len(), 2);
        assert!(!o.overdue(100_000.0));
    }
}
