//! The connection as one state machine. The browser glue (`chat.rs`) feeds
//! it what happened (a socket opened, answered, died; the network went away
//! or came back) and acts on the state it returns; the rules live here,
//! pure and tested natively.

/// Where the widget's connection to the server is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Conn {
    /// No usable socket; one is being opened (or will be, after backoff).
    #[default]
    Connecting,
    /// The socket is open and the auth frame sent; waiting for the first
    /// answer, which proves the socket carries frames both ways.
    Authenticating,
    /// The socket answered: messages go over it.
    Live,
    /// The socket failed repeatedly (or the site asked for HTTP): messages
    /// are POSTed and received by long polling; the socket is retried now
    /// and then.
    FallbackHttp,
    /// The browser says it is offline: nothing is tried until it is back.
    Offline,
    /// `shutdown()`: nothing more happens.
    Closed,
}

/// The snippet's `transport` option.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    #[default]
    Auto,
    WebSocket,
    Http,
}

impl Mode {
    pub fn parse(s: &str) -> Mode {
        match s {
            "websocket" => Mode::WebSocket,
            "http" => Mode::Http,
            _ => Mode::Auto,
        }
    }
}

/// Socket attempts that never reached [`Conn::Live`] before `Auto` falls
/// back to HTTP.
pub const FAILS_BEFORE_HTTP: u32 = 3;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Machine {
    pub conn: Conn,
    pub mode: Mode,
    /// Socket attempts in a row that died before going live.
    pub fails: u32,
}

impl Machine {
    pub fn new(mode: Mode) -> Machine {
        Machine {
            conn: if mode == Mode::Http {
                Conn::FallbackHttp
            } else {
                Conn::Connecting
            },
            mode,
            fails: 0,
        }
    }

    fn http(&self) -> bool {
        self.mode == Mode::Http || (self.mode == Mode::Auto && self.fails >= FAILS_BEFORE_HTTP)
    }

    /// Whether a socket may be opened now (also as a probe while on HTTP).
    pub fn may_open_socket(&self) -> bool {
        self.mode != Mode::Http && matches!(self.conn, Conn::Connecting | Conn::FallbackHttp)
    }

    /// The socket opened and the auth frame went out.
    pub fn opened(&mut self) -> Conn {
        if self.conn == Conn::Connecting {
            self.conn = Conn::Authenticating;
        }
        self.conn
    }

    /// A frame arrived on the current socket: it works.
    pub fn answered(&mut self) -> Conn {
        if matches!(
            self.conn,
            Conn::Connecting | Conn::Authenticating | Conn::FallbackHttp
        ) {
            self.conn = Conn::Live;
            self.fails = 0;
        }
        self.conn
    }

    /// The socket closed, failed to open, or stayed silent (no answer to
    /// auth, no pong to a ping).
    pub fn died(&mut self) -> Conn {
        match self.conn {
            Conn::Connecting | Conn::Authenticating => {
                self.fails = self.fails.saturating_add(1);
                self.conn = if self.http() {
                    Conn::FallbackHttp
                } else {
                    Conn::Connecting
                };
            }
            Conn::Live => self.conn = Conn::Connecting,
            // A probe failed while on HTTP, or we are offline or closed.
            Conn::FallbackHttp | Conn::Offline | Conn::Closed => {}
        }
        self.conn
    }

    /// The browser went offline (or a request found no network).
    pub fn offline(&mut self) -> Conn {
        if self.conn != Conn::Closed {
            self.conn = Conn::Offline;
        }
        self.conn
    }

    /// The browser is back online.
    pub fn online(&mut self) -> Conn {
        if self.conn == Conn::Offline {
            self.conn = if self.http() {
                Conn::FallbackHttp
            } else {
                Conn::Connecting
            };
        }
        self.conn
    }

    /// Starting over (new identity, or forgotten credentials): the ladder
    /// keeps what it learnt about the socket.
    pub fn restart(&mut self) -> Conn {
        if self.conn != Conn::Closed {
            self.conn = if self.http() {
                Conn::FallbackHttp
            } else {
                Conn::Connecting
            };
        }
        self.conn
    }

    pub fn close(&mut self) -> Conn {
        self.conn = Conn::Closed;
        self.conn
    }

    /// Short name for the `data-state` attribute of `.dc-status`.
    pub fn name(&self) -> &'static str {
        match self.conn {
            Conn::Connecting => "connecting",
            Conn::Authenticating => "authenticating",
            Conn::Live => "live",
            Conn::FallbackHttp => "http",
            Conn::Offline => "offline",
            Conn::Closed => "closed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_socket_goes_live_after_its_first_answer() {
        let mut m = Machine::new(Mode::Auto);
        assert_eq!(m.conn, Conn::Connecting);
        assert_eq!(m.opened(), Conn::Authenticating);
        assert_eq!(m.answered(), Conn::Live);
        assert_eq!(m.died(), Conn::Connecting);
        assert_eq!(m.fails, 0);
    }

    #[test]
    fn three_failed_sockets_fall_back_to_http_and_a_probe_comes_back() {
        let mut m = Machine::new(Mode::Auto);
        assert_eq!(m.died(), Conn::Connecting);
        m.opened();
        assert_eq!(m.died(), Conn::Connecting);
        assert_eq!(m.died(), Conn::FallbackHttp);
        assert!(m.may_open_socket());
        // A failed probe keeps HTTP.
        assert_eq!(m.opened(), Conn::FallbackHttp);
        assert_eq!(m.died(), Conn::FallbackHttp);
        // A probe that answers goes live.
        assert_eq!(m.answered(), Conn::Live);
        assert_eq!(m.fails, 0);
    }

    #[test]
    fn websocket_mode_never_falls_back_and_http_mode_never_opens_a_socket() {
        let mut m = Machine::new(Mode::WebSocket);
        for _ in 0..10 {
            assert_eq!(m.died(), Conn::Connecting);
        }
        let h = Machine::new(Mode::Http);
        assert_eq!(h.conn, Conn::FallbackHttp);
        assert!(!h.may_open_socket());
        assert_eq!(Mode::parse("http"), Mode::Http);
        assert_eq!(Mode::parse("websocket"), Mode::WebSocket);
        assert_eq!(Mode::parse("anything"), Mode::Auto);
    }

    #[test]
    fn offline_and_back() {
        let mut m = Machine::new(Mode::Auto);
        m.opened();
        m.answered();
        assert_eq!(m.offline(), Conn::Offline);
        assert_eq!(m.died(), Conn::Offline);
        assert!(!m.may_open_socket());
        assert_eq!(m.online(), Conn::Connecting);
        m.fails = FAILS_BEFORE_HTTP;
        m.offline();
        assert_eq!(m.online(), Conn::FallbackHttp);
    }

    #[test]
    fn closed_is_final() {
        let mut m = Machine::new(Mode::Auto);
        m.close();
        assert_eq!(m.offline(), Conn::Closed);
        assert_eq!(m.online(), Conn::Closed);
        assert_eq!(m.restart(), Conn::Closed);
        assert_eq!(m.died(), Conn::Closed);
        assert_eq!(m.answered(), Conn::Closed);
        assert_eq!(m.name(), "closed");
    }
}
