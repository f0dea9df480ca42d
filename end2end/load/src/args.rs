//! Command-line flags, parsed by hand, and the loopback-only rule.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use url::Url;

pub const USAGE: &str = "\
defmis-load — load test a DEFMIS Chat server on this machine (loopback only)

Usage:
  defmis-load --url http://127.0.0.1:8000 [flags]

Flags:
  --url URL                     server for visitors (default http://127.0.0.1:8000)
  --agent-url URL               server for agent sockets and verification (default: --url)
  --visitors N                  visitor sockets, one conversation each (default 100)
  --agents N                    agent (dashboard) sockets (default 2)
  --rate R                      offered messages per second, all visitors together (default 200)
  --duration SECS               measured send window (default 10)
  --warmup SECS                 traffic before the window, excluded from figures (default 2)
  --idle-sockets N              extra visitor sockets that authenticate and stay idle (default 0)
  --sockets-per-conversation N  idle sockets sharing one conversation (default 5)
  --api-token TOKEN             agent API token (default: env DEFMIS_API_TOKEN)
  --server-pid PID              server process for RSS/CPU figures (default: the pid listening on --url's port)
  --json PATH                   also write the JSON report to PATH
  --inbox-bench N               instead: time the inbox (admin API) N times per case —
                                first page, a deep filtered page, a search — on a
                                database seeded by `defmis-chat seed-benchmark`
  --deep-pages P                with --inbox-bench: pages walked before the deep case (default 200)
  --search WORD                 with --inbox-bench: the search case's words (default zebra)
  -h, --help                    this text

Every address must be loopback: 127.0.0.0/8, localhost or [::1].
Exit codes: 0 zero loss, 1 loss or a failed run, 2 bad usage or setup.";

/// Everything the run needs, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct Args {
    pub url: Target,
    pub agent_url: Target,
    pub visitors: u32,
    pub agents: u32,
    pub rate: f64,
    pub duration: u64,
    pub warmup: u64,
    pub idle_sockets: u32,
    pub sockets_per_conversation: u32,
    pub api_token: Option<String>,
    pub server_pid: Option<u32>,
    pub json: Option<String>,
    /// `--inbox-bench N`: the inbox benchmark instead of the load run.
    pub inbox_bench: Option<u32>,
    pub deep_pages: u32,
    pub search: String,
}

/// What `parse` found: a run, or a request for the usage text.
#[derive(Debug, PartialEq)]
pub enum Parsed {
    Run(Box<Args>),
    Help,
}

/// A checked server address: plain HTTP on loopback.
#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    /// As given, without a trailing slash, e.g. `http://127.0.0.1:8000`.
    pub http_base: String,
    /// The same with `ws://`.
    pub ws_base: String,
    /// The host name as written (`localhost`, `127.0.0.1`, `[::1]`).
    pub host: String,
    /// Where to connect: never resolved through DNS, always loopback.
    pub addr: SocketAddr,
}

/// Most messages one run may schedule (bounds memory and time).
pub const MAX_MESSAGES: f64 = 20_000_000.0;

pub fn parse(argv: &[String]) -> Result<Parsed, String> {
    let mut url = "http://127.0.0.1:8000".to_string();
    let mut agent_url: Option<String> = None;
    let mut visitors: u32 = 100;
    let mut agents: u32 = 2;
    let mut rate: f64 = 200.0;
    let mut duration: u64 = 10;
    let mut warmup: u64 = 2;
    let mut idle_sockets: u32 = 0;
    let mut spc: u32 = 5;
    let mut api_token: Option<String> = None;
    let mut server_pid: Option<u32> = None;
    let mut json: Option<String> = None;
    let mut inbox_bench: Option<u32> = None;
    let mut deep_pages: u32 = 200;
    let mut search = "zebra".to_string();

    let mut i = 0;
    while i < argv.len() {
        let arg = argv[i].as_str();
        i += 1;
        if arg == "-h" || arg == "--help" {
            return Ok(Parsed::Help);
        }
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
            _ => (arg, None),
        };
        if !name.starts_with("--") {
            return Err(format!("unexpected argument {arg:?}"));
        }
        let value = match inline {
            Some(v) => v,
            None => {
                let v = argv
                    .get(i)
                    .ok_or_else(|| format!("{name} needs a value"))?
                    .clone();
                i += 1;
                v
            }
        };
        match name {
            "--url" => url = value,
            "--agent-url" => agent_url = Some(value),
            "--visitors" => visitors = number(name, &value, 1, 100_000)?,
            "--agents" => agents = number(name, &value, 0, 1_000)?,
            "--rate" => {
                rate = value
                    .parse::<f64>()
                    .ok()
                    .filter(|r| r.is_finite() && *r > 0.0 && *r <= 1_000_000.0)
                    .ok_or_else(|| {
                        format!("--rate must be a number in (0, 1000000], not {value:?}")
                    })?
            }
            "--duration" => duration = number(name, &value, 1, 3_600)?,
            "--warmup" => warmup = number(name, &value, 0, 600)?,
            "--idle-sockets" => idle_sockets = number(name, &value, 0, 5_000_000)?,
            "--sockets-per-conversation" => spc = number(name, &value, 1, 1_000)?,
            "--api-token" => api_token = Some(value).filter(|t| !t.trim().is_empty()),
            "--server-pid" => server_pid = Some(number(name, &value, 1, u32::MAX as u64)?),
            "--json" => json = Some(value),
            "--inbox-bench" => inbox_bench = Some(number(name, &value, 1, 10_000)?),
            "--deep-pages" => deep_pages = number(name, &value, 0, 100_000)?,
            "--search" => {
                if value.trim().is_empty() || value.len() > 200 {
                    return Err("--search needs 1–200 bytes of words".into());
                }
                search = value
            }
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if rate * (duration + warmup) as f64 > MAX_MESSAGES {
        return Err(format!(
            "--rate × (--warmup + --duration) schedules more than {MAX_MESSAGES} messages"
        ));
    }
    let url = target(&url).map_err(|e| format!("--url: {e}"))?;
    let agent_url = match agent_url {
        Some(a) => target(&a).map_err(|e| format!("--agent-url: {e}"))?,
        None => url.clone(),
    };
    Ok(Parsed::Run(Box::new(Args {
        url,
        agent_url,
        visitors,
        agents,
        rate,
        duration,
        warmup,
        idle_sockets,
        sockets_per_conversation: spc,
        api_token,
        server_pid,
        json,
        inbox_bench,
        deep_pages,
        search,
    })))
}

fn number<T: TryFrom<u64>>(name: &str, value: &str, min: u64, max: u64) -> Result<T, String> {
    value
        .parse::<u64>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .and_then(|n| T::try_from(n).ok())
        .ok_or_else(|| format!("{name} must be a whole number in {min}..={max}, not {value:?}"))
}

/// Parses a server URL and refuses anything that is not plain HTTP on loopback.
pub fn target(raw: &str) -> Result<Target, String> {
    let url = Url::parse(raw).map_err(|e| format!("{raw:?} is not a URL ({e})"))?;
    if url.scheme() != "http" {
        return Err(format!(
            "{raw:?}: only http:// is supported (the tool talks to loopback only)"
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!("{raw:?}: credentials in the URL are not supported"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("{raw:?}: no query or fragment, please"));
    }
    let port = url.port_or_known_default().unwrap_or(80);
    let (host, ip) = match url.host() {
        Some(url::Host::Ipv4(ip)) => (ip.to_string(), IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => (format!("[{ip}]"), IpAddr::V6(ip)),
        Some(url::Host::Domain(d)) if d.eq_ignore_ascii_case("localhost") => {
            (d.to_string(), IpAddr::V4(Ipv4Addr::LOCALHOST))
        }
        Some(url::Host::Domain(d)) => {
            return Err(format!(
            "refusing {d:?}: the load tool only sends traffic to 127.0.0.0/8, localhost or [::1]"
        ))
        }
        None => return Err(format!("{raw:?} has no host")),
    };
    if !is_loopback(ip) {
        return Err(format!(
            "refusing {host}: the load tool only sends traffic to 127.0.0.0/8, localhost or [::1]"
        ));
    }
    let path = url.path().trim_end_matches('/');
    let authority = match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.clone(),
    };
    Ok(Target {
        http_base: format!("http://{authority}{path}"),
        ws_base: format!("ws://{authority}{path}"),
        host,
        addr: SocketAddr::new(ip, port),
    })
}

/// 127.0.0.0/8 or ::1, nothing else (not even ::ffff:127.0.0.1).
pub fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.octets()[0] == 127,
        IpAddr::V6(v6) => v6 == Ipv6Addr::LOCALHOST,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    fn run(s: &str) -> Args {
        match parse(&argv(s)).unwrap() {
            Parsed::Run(a) => *a,
            Parsed::Help => panic!("help"),
        }
    }

    #[test]
    fn defaults_and_flags() {
        let a = run("");
        assert_eq!(a.url.http_base, "http://127.0.0.1:8000");
        assert_eq!(a.visitors, 100);
        assert_eq!(a.warmup, 2);
        assert_eq!(a.sockets_per_conversation, 5);
        let a = run(
            "--url http://127.0.0.1:8123/ --visitors 1000 --agents 10 --rate 2000 \
             --duration 20 --idle-sockets 0 --api-token abc --server-pid 42 --json out.json \
             --warmup=0 --sockets-per-conversation 3",
        );
        assert_eq!(a.url.http_base, "http://127.0.0.1:8123");
        assert_eq!(a.url.ws_base, "ws://127.0.0.1:8123");
        assert_eq!(a.agent_url, a.url);
        assert_eq!(
            (a.visitors, a.agents, a.rate, a.duration, a.warmup),
            (1000, 10, 2000.0, 20, 0)
        );
        assert_eq!(a.api_token.as_deref(), Some("abc"));
        assert_eq!(a.server_pid, Some(42));
        assert_eq!(a.json.as_deref(), Some("out.json"));
        assert_eq!(a.sockets_per_conversation, 3);
        let a = run("--url http://localhost:8000 --agent-url http://127.0.0.2:9000/prefix/");
        assert_eq!(a.url.addr, "127.0.0.1:8000".parse().unwrap());
        assert_eq!(a.url.host, "localhost");
        assert_eq!(a.agent_url.http_base, "http://127.0.0.2:9000/prefix");
        assert_eq!(a.agent_url.ws_base, "ws://127.0.0.2:9000/prefix");
    }

    #[test]
    fn bad_flags() {
        assert_eq!(parse(&argv("--help")).unwrap(), Parsed::Help);
        for bad in [
            "--visitors 0",
            "--visitors x",
            "--rate -1",
            "--rate nan",
            "--duration 0",
            "--nope 1",
            "--visitors",
            "stray",
            "--rate 1000000 --duration 3600",
        ] {
            assert!(parse(&argv(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn loopback_only() {
        for ok in [
            "http://127.0.0.1:8000",
            "http://127.1.2.3",
            "http://localhost:1",
            "http://LOCALHOST:1/",
            "http://[::1]:8000",
        ] {
            let t = target(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
            assert!(is_loopback(t.addr.ip()), "{ok}");
        }
        assert_eq!(
            target("http://[::1]:8000").unwrap().ws_base,
            "ws://[::1]:8000"
        );
        assert_eq!(target("http://127.0.0.1").unwrap().addr.port(), 80);
        for bad in [
            "http://10.0.0.1:8000",
            "http://192.168.1.1",
            "http://8.8.8.8",
            "http://0.0.0.0:8000",
            "http://example.com",
            "http://localhost.example.com",
            "http://[::ffff:127.0.0.1]:80",
            "http://[fe80::1]",
            "https://127.0.0.1",
            "ws://127.0.0.1",
            "http://user:pw@127.0.0.1",
            "127.0.0.1:8000",
        ] {
            assert!(target(bad).is_err(), "{bad}");
        }
        assert!(parse(&argv("--agent-url http://10.1.1.1")).is_err());
    }
}
