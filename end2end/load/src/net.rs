//! Opening WebSockets to loopback, optionally from a chosen source address.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{header, HeaderValue};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;

use crate::args::{is_loopback, Target};

pub type Ws = WebSocketStream<TcpStream>;

/// TCP connect, and separately the WebSocket handshake, must finish within this.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Buffers for busy sockets (agents, visitors) and for idle ones.
pub fn ws_config(idle: bool) -> WebSocketConfig {
    let base = WebSocketConfig::default().max_message_size(Some(1 << 20));
    if idle {
        base.read_buffer_size(4 * 1024).write_buffer_size(0)
    } else {
        base.read_buffer_size(64 * 1024).write_buffer_size(0)
    }
}

/// Why a connection attempt failed, when the server said so.
#[derive(Debug)]
pub struct HttpRefusal(pub u16);

impl std::fmt::Display for HttpRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the server refused the WebSocket upgrade with HTTP {}",
            self.0
        )
    }
}

impl std::error::Error for HttpRefusal {}

/// Connects `{ws_base}{path}` at `target.addr` (never DNS), from `source`
/// if given, with an optional bearer token.
pub async fn connect(
    target: &Target,
    path: &str,
    source: Option<IpAddr>,
    bearer: Option<&str>,
    idle: bool,
) -> anyhow::Result<Ws> {
    let addr: SocketAddr = target.addr;
    if !is_loopback(addr.ip()) {
        bail!("refusing to connect to non-loopback {addr}");
    }
    let url = format!("{}{path}", target.ws_base);
    let mut request = url
        .as_str()
        .into_client_request()
        .with_context(|| format!("bad WebSocket URL {url}"))?;
    if let Some(token) = bearer {
        let value = HeaderValue::from_str(&format!("Bearer {token}"))
            .context("the API token is not a valid header value")?;
        request.headers_mut().insert(header::AUTHORIZATION, value);
    }
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    if let Some(ip) = source {
        socket
            .bind(SocketAddr::new(ip, 0))
            .with_context(|| format!("bind to source address {ip}"))?;
    }
    let stream = timeout(CONNECT_TIMEOUT, socket.connect(addr))
        .await
        .map_err(|_| anyhow!("TCP connect to {addr} timed out"))?
        .with_context(|| format!("TCP connect to {addr}"))?;
    stream.set_nodelay(true)?;
    let handshake =
        tokio_tungstenite::client_async_with_config(request, stream, Some(ws_config(idle)));
    match timeout(CONNECT_TIMEOUT, handshake).await {
        Err(_) => bail!("WebSocket handshake with {url} timed out"),
        Ok(Err(WsError::Http(resp))) => Err(HttpRefusal(resp.status().as_u16()).into()),
        Ok(Err(e)) => Err(anyhow!("WebSocket handshake with {url}: {e}")),
        Ok(Ok((ws, _))) => Ok(ws),
    }
}

/// Sends the visitor auth frame (`after` resumes after that seq).
pub async fn visitor_auth(ws: &mut Ws, token: &str, after: Option<i64>) -> anyhow::Result<()> {
    let mut auth = serde_json::json!({ "type": "auth", "token": token });
    if let Some(after) = after {
        auth["after"] = after.into();
    }
    send_text(ws, auth.to_string()).await
}

/// How long one frame may take to be written (the server must be reading).
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Writes one text frame within [`SEND_TIMEOUT`].
pub async fn send_text(ws: &mut Ws, text: String) -> anyhow::Result<()> {
    timeout(SEND_TIMEOUT, ws.send(Message::Text(text.into())))
        .await
        .map_err(|_| anyhow!("writing a frame took more than {SEND_TIMEOUT:?}"))??;
    Ok(())
}

/// Sends `{"type":"ping"}` and waits (bounded) for the `pong`, which the
/// server only answers after accepting the auth frame; a close means refused.
/// Frames that came before the pong are returned for the caller to process.
pub async fn confirm(ws: &mut Ws, wait: Duration) -> anyhow::Result<Vec<String>> {
    send_text(ws, r#"{"type":"ping"}"#.to_string()).await?;
    let mut early = Vec::new();
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let next = tokio::time::timeout_at(deadline, ws.next())
            .await
            .map_err(|_| anyhow!("no answer to the auth frame within {wait:?}"))?;
        match next {
            None => bail!("the server closed the socket after auth"),
            Some(Err(e)) => bail!("socket error after auth: {e}"),
            Some(Ok(Message::Close(frame))) => {
                let (code, reason) = frame
                    .map(|f| (u16::from(f.code), f.reason.to_string()))
                    .unwrap_or((1005, String::new()));
                bail!("the server closed the socket after auth: {code} {reason}")
            }
            Some(Ok(Message::Text(t))) => {
                if t.as_str().contains(r#""type":"pong""#) {
                    return Ok(early);
                }
                if t.as_str().contains(r#""type":"error""#) {
                    bail!("error after auth: {}", t.as_str());
                }
                early.push(t.as_str().to_string());
                // Proof enough that auth passed; the pong will be ignored later.
                if early.len() >= 64 {
                    return Ok(early);
                }
            }
            Some(Ok(_)) => {}
        }
    }
}

/// `127.0.0.2 + index` as a source address (index < 253).
pub fn source_address(index: u32) -> IpAddr {
    let n = 2 + index.min(252);
    IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, n as u8))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_addresses_stay_in_loopback() {
        assert_eq!(source_address(0).to_string(), "127.0.0.2");
        assert_eq!(source_address(3).to_string(), "127.0.0.5");
        assert_eq!(source_address(10_000).to_string(), "127.0.0.254");
        assert!(is_loopback(source_address(999)));
    }
}
