//! `defmis-load`: opens real visitor and agent WebSockets against a DEFMIS
//! Chat server on this machine, sends at an open-loop rate, and reports
//! throughput, latency, delivery to every agent and what was stored.
//! See README.md beside Cargo.toml.

mod agent;
mod args;
mod idle;
mod inbox;
mod net;
mod procfs;
mod report;
mod shared;
mod stats;
mod verify;
mod visitor;

use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::{sleep, sleep_until, Instant};

use crate::agent::{Agent, Sessions};
use crate::args::{Args, Parsed, Target};
use crate::net::HttpRefusal;
use crate::shared::{lock, Conv, Cpu, Idle, Shared};
use crate::visitor::{Cmd, Visitor};

/// After the send window: waiting for acks, deliveries, and the read-back.
pub const DRAIN_BUDGET: Duration = Duration::from_secs(60);
const ACK_DRAIN: Duration = Duration::from_secs(20);
const DELIVERY_DRAIN: Duration = Duration::from_secs(15);
const VERIFY_BUDGET: Duration = Duration::from_secs(20);
/// HTTP requests (start, read-back) each finish within this.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);
/// Conversations started at once, and visitor sockets opened at once.
const STARTING: usize = 32;
const OPENING: usize = 64;

/// Why a run stopped early.
enum Stop {
    /// Bad setup: exit 2, no report.
    Usage(String),
    /// The run failed part-way: report what there is, exit 1.
    Failed(String),
}

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let a = match args::parse(&argv) {
        Ok(Parsed::Help) => {
            println!("{}", args::USAGE);
            return;
        }
        Ok(Parsed::Run(a)) => *a,
        Err(e) => usage_exit(&format!("{e}\n\nRun with --help for the flags.")),
    };
    let token = a.api_token.clone().or_else(|| {
        std::env::var("DEFMIS_API_TOKEN")
            .ok()
            .filter(|t| !t.trim().is_empty())
    });
    let Some(token) = token else {
        usage_exit(
            "agent sockets and the read-back need an API token: pass --api-token TOKEN or set \
             DEFMIS_API_TOKEN. Make one with\n  \
             printf 'a-long-password\\n' | target/release/defmis-chat create-admin --username NAME\n  \
             target/release/defmis-chat create-api-token --username NAME --name load\n\
             (with the server's DATABASE_URL and SECRET_KEY in the environment)",
        );
    };
    if let Some(n) = a.inbox_bench {
        inbox_bench(&a, &token, n);
    }
    let fd = procfs::raise_fd_limit();
    let needed = a.visitors as u64 + a.agents as u64 + a.idle_sockets as u64 + 256;
    if fd.soft > 0 && needed > fd.soft {
        usage_exit(&format!(
            "this run needs about {needed} file descriptors but the limit is {} (hard {}): \
             raise it first, e.g. `ulimit -n {needed}` as root, or fewer --idle-sockets",
            fd.soft, fd.hard
        ));
    }
    if !a.url.addr.is_ipv4() && a.idle_sockets > idle::PER_SOURCE {
        usage_exit(&format!(
            "on [::1] there is one source address: at most {} idle sockets; use 127.0.0.1 for more",
            idle::PER_SOURCE
        ));
    }
    if let Some(pid) = a.server_pid {
        if procfs::rss_bytes(pid).is_none() {
            usage_exit(&format!(
                "--server-pid {pid}: no such process (or /proc/{pid}/status unreadable)"
            ));
        }
    }

    let idle_convs = a.idle_sockets.div_ceil(a.sockets_per_conversation);
    let setup = Duration::from_secs(30)
        + Duration::from_millis(20) * (a.visitors + idle_convs)
        + Duration::from_millis(5) * a.idle_sockets
        + Duration::from_millis(200) * a.agents;
    let hard = setup + Duration::from_secs(a.warmup + a.duration) + DRAIN_BUDGET;
    eprintln!(
        "defmis-load: {} visitors, {} agents, {} msg/s for {} s (+{} s warmup), {} idle sockets; \
         hard deadline {} s",
        a.visitors,
        a.agents,
        a.rate,
        a.duration,
        a.warmup,
        a.idle_sockets,
        hard.as_secs()
    );
    if fd.raised {
        eprintln!(
            "defmis-load: raised the open-file soft limit {} → {}",
            fd.soft_before, fd.soft
        );
    }

    let shared = Arc::new(Shared::new(a.visitors as usize, a.agents as usize));
    lock(&shared.results).fd = fd;
    // Last resort: whatever happens, the process ends.
    std::thread::spawn(move || {
        std::thread::sleep(hard + Duration::from_secs(20));
        eprintln!("defmis-load: watchdog: the run overran its hard deadline; exiting");
        std::process::exit(1);
    });

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => usage_exit(&format!("cannot start the async runtime: {e}")),
    };
    let code = runtime.block_on(async {
        let outcome = tokio::time::timeout(hard, run(&a, &token, &shared)).await;
        let deadline_hit = outcome.is_err();
        match outcome {
            Ok(Err(Stop::Usage(msg))) => usage_exit(&msg),
            Ok(Err(Stop::Failed(msg))) => {
                eprintln!("defmis-load: {msg}");
                lock(&shared.results).fatal = Some(msg);
            }
            Err(_) => {
                let phase = lock(&shared.results).phase.clone();
                shared.note(format!(
                    "hard deadline of {} s reached during: {phase}",
                    hard.as_secs()
                ));
            }
            Ok(Ok(())) => {}
        }
        let (json, table, code) = report::build(&a, &shared, deadline_hit);
        println!("{table}");
        if let Some(path) = &a.json {
            let pretty = serde_json::to_string_pretty(&json).unwrap_or_default();
            if let Err(e) = std::fs::write(path, pretty + "\n") {
                eprintln!("defmis-load: cannot write {path}: {e}");
            }
        }
        println!("JSON: {}", serde_json::to_string(&json).unwrap_or_default());
        code
    });
    let _ = std::io::stdout().flush();
    std::process::exit(code);
}

/// `--inbox-bench N`: the inbox benchmark, then exit (0, or 1 on failure).
fn inbox_bench(a: &Args, token: &str, n: u32) -> ! {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => usage_exit(&format!("cannot start the async runtime: {e}")),
    };
    // Bounded: three cases of at most 10,000 requests plus the walk, each
    // with its timeout; and a last-resort deadline.
    let deadline = Duration::from_secs(3_600);
    let code = runtime.block_on(async {
        let client = match http_client(a) {
            Ok(c) => c,
            Err(Stop::Usage(m) | Stop::Failed(m)) => usage_exit(&m),
        };
        match tokio::time::timeout(deadline, inbox::run(&client, a, token, n)).await {
            Ok(Ok(report)) => {
                println!("{}", inbox::table(&report));
                let json = serde_json::to_string_pretty(&report).unwrap_or_default();
                if let Some(path) = &a.json {
                    if let Err(e) = std::fs::write(path, json.clone() + "\n") {
                        eprintln!("defmis-load: cannot write {path}: {e}");
                    }
                }
                println!(
                    "JSON: {}",
                    serde_json::to_string(&report).unwrap_or_default()
                );
                0
            }
            Ok(Err(e)) => {
                eprintln!("defmis-load: inbox benchmark failed: {e}");
                1
            }
            Err(_) => {
                eprintln!(
                    "defmis-load: inbox benchmark overran {} s",
                    deadline.as_secs()
                );
                1
            }
        }
    });
    let _ = std::io::stdout().flush();
    std::process::exit(code);
}

fn usage_exit(msg: &str) -> ! {
    eprintln!("defmis-load: {msg}");
    std::process::exit(2);
}

fn http_client(a: &Args) -> Result<reqwest::Client, Stop> {
    let mut builder = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(HTTP_TIMEOUT)
        .connect_timeout(Duration::from_secs(5))
        .pool_max_idle_per_host(64);
    // Never ask DNS: `localhost` goes to the loopback address already chosen.
    for t in [&a.url, &a.agent_url] {
        if t.host.eq_ignore_ascii_case("localhost") {
            builder = builder.resolve(&t.host, t.addr);
        }
    }
    builder
        .build()
        .map_err(|e| Stop::Usage(format!("HTTP client: {e}")))
}

async fn run(a: &Args, token: &str, shared: &Arc<Shared>) -> Result<(), Stop> {
    let client = http_client(a)?;
    shared.phase("checking the server");
    preflight(&client, a, token).await?;
    let pid = match a.server_pid {
        Some(p) => Some((p, "given")),
        None => procfs::find_listener(a.url.addr).map(|p| (p, "auto")),
    };
    if pid.is_none() {
        shared.note("no server pid (give --server-pid): no RSS or CPU figures");
    }
    lock(&shared.results).server_pid = pid;
    let pid = pid.map(|p| p.0);

    // Agents first, so that a bad token fails fast and no event is missed.
    shared.phase("connecting agent sockets");
    let sessions: Sessions = Arc::new(OnceLock::new());
    let (stop_agents, stop_agents_rx) = watch::channel(false);
    let mut agent_tasks: Vec<JoinHandle<()>> = Vec::new();
    for idx in 0..a.agents as usize {
        let agent = Agent {
            idx,
            target: a.agent_url.clone(),
            token: token.to_string(),
            shared: shared.clone(),
            sessions: sessions.clone(),
        };
        let ws = agent
            .open()
            .await
            .map_err(|e| match e.downcast_ref::<HttpRefusal>() {
                Some(HttpRefusal(401 | 403)) => Stop::Usage(format!(
                    "the agent socket refused the API token ({e}); make a new one with \
                 `defmis-chat create-api-token --username NAME --name load`"
                )),
                _ => Stop::Failed(format!("agent socket {idx}: {e:#}")),
            })?;
        agent_tasks.push(tokio::spawn(agent.run(ws, stop_agents_rx.clone())));
        lock(&shared.results).agents_connected += 1;
    }

    shared.phase("starting conversations");
    lock(&shared.results).conversations_wanted = a.visitors;
    let convs = start_conversations(&client, &a.url, a.visitors, "load", shared).await?;
    let map: HashMap<String, u32> = convs
        .iter()
        .enumerate()
        .map(|(i, c)| (c.session_id.clone(), i as u32))
        .collect();
    let _ = sessions.set(map);

    // Idle sockets, measured before any traffic; they stay up throughout.
    let (stop_idle, stop_idle_rx) = watch::channel(false);
    let mut idle_tasks: Vec<JoinHandle<()>> = Vec::new();
    if a.idle_sockets > 0 {
        shared.phase("opening idle sockets");
        let n_convs = a.idle_sockets.div_ceil(a.sockets_per_conversation);
        let idle_convs = start_conversations(&client, &a.url, n_convs, "load-idle", shared).await?;
        let rss_before = pid.and_then(procfs::rss_bytes);
        let started = Instant::now();
        let budget = Duration::from_secs(30) + Duration::from_millis(5) * a.idle_sockets;
        let (holders, open, failed, first_error) = idle::open_all(
            &a.url,
            &idle_convs,
            a.sockets_per_conversation,
            a.idle_sockets,
            shared,
            &stop_idle_rx,
            budget,
        )
        .await;
        let open_seconds = started.elapsed().as_secs_f64();
        idle_tasks = holders;
        sleep(Duration::from_secs(2)).await;
        let rss_after = pid.and_then(procfs::rss_bytes);
        let bytes_each = match (rss_before, rss_after) {
            (Some(b), Some(af)) if open > 0 => Some((af as f64 - b as f64) / open as f64),
            _ => None,
        };
        let sources = (0..idle::sources_needed(a.idle_sockets))
            .filter_map(|i| idle::source_for(&a.url, i * idle::PER_SOURCE))
            .map(|ip| ip.to_string())
            .collect();
        eprintln!("defmis-load: idle sockets: {open} open, {failed} failed in {open_seconds:.1} s");
        lock(&shared.results).idle = Some(Idle {
            requested: a.idle_sockets,
            conversations: n_convs,
            open,
            failed,
            first_error,
            source_addresses: sources,
            rss_before,
            rss_after,
            bytes_each,
            open_seconds,
        });
    }

    shared.phase("connecting visitor sockets");
    let (stop_visitors, stop_visitors_rx) = watch::channel(false);
    let opened = futures_util::stream::iter(convs.iter().cloned().enumerate())
        .map(|(i, conv)| {
            let v = Visitor {
                idx: i as u32,
                conv,
                target: a.url.clone(),
                shared: shared.clone(),
            };
            async move {
                let r = v.open(None).await;
                (v, r)
            }
        })
        .buffer_unordered(OPENING);
    tokio::pin!(opened);
    let mut senders: Vec<Option<mpsc::UnboundedSender<Cmd>>> = vec![None; a.visitors as usize];
    let mut visitor_tasks: Vec<JoinHandle<()>> = Vec::new();
    while let Some((v, r)) = opened.next().await {
        let idx = v.idx;
        let (ws, _) = r.map_err(|e| Stop::Failed(format!("visitor socket {idx}: {e:#}")))?;
        let (tx, rx) = mpsc::unbounded_channel();
        senders[idx as usize] = Some(tx);
        visitor_tasks.push(tokio::spawn(v.run(ws, rx, stop_visitors_rx.clone())));
        lock(&shared.results).visitors_connected += 1;
    }
    let senders: Vec<mpsc::UnboundedSender<Cmd>> = senders.into_iter().flatten().collect();
    sleep(Duration::from_millis(500)).await;

    // The send window: an open-loop schedule, with CPU read at its edges.
    shared.phase("sending");
    let start = Instant::now();
    let start_ns = shared.now_ns();
    let warmup_ns = a.warmup * 1_000_000_000;
    let total_ns = (a.warmup + a.duration) * 1_000_000_000;
    shared
        .measure_from_ns
        .store(start_ns + warmup_ns, Ordering::Relaxed);
    shared
        .measure_to_ns
        .store(start_ns + total_ns, Ordering::Relaxed);
    lock(&shared.results).send_start_ns = Some(start_ns);
    let scheduler = tokio::spawn(schedule(
        shared.clone(),
        senders,
        a.rate,
        start,
        start_ns,
        a.warmup + a.duration,
    ));
    sleep_until(start + Duration::from_nanos(warmup_ns)).await;
    let cpu_before = pid.and_then(procfs::cpu_ticks);
    sleep_until(start + Duration::from_nanos(total_ns)).await;
    let cpu_after = pid.and_then(procfs::cpu_ticks);
    if let (Some(b), Some(af)) = (cpu_before, cpu_after) {
        let clk = procfs::clk_tck();
        let ticks = af.saturating_sub(b);
        lock(&shared.results).cpu = Some(Cpu {
            ticks,
            clk_tck: clk,
            ms: ticks as f64 * 1000.0 / clk as f64,
        });
    }
    let _ = tokio::time::timeout(Duration::from_secs(5), scheduler).await;
    lock(&shared.results).send_end_ns = Some(shared.now_ns());

    shared.phase("waiting for acknowledgements");
    let until = Instant::now() + ACK_DRAIN;
    loop {
        let done = {
            let v = lock(&shared.visitors);
            v.acked + v.failed >= v.dispatched
        };
        if done {
            break;
        }
        if Instant::now() >= until {
            lock(&shared.results).drain_timed_out = true;
            shared.note("some acknowledgements did not come within the drain time");
            break;
        }
        sleep(Duration::from_millis(50)).await;
    }
    let _ = stop_visitors.send(true);
    join_all(visitor_tasks, Duration::from_secs(3)).await;

    shared.phase("waiting for deliveries to agents");
    let acked: Vec<Vec<(u32, u32)>> = lock(&shared.visitors).acked_by_conv.clone();
    let until = Instant::now() + DELIVERY_DRAIN;
    loop {
        let all_there = shared.agents.iter().all(|m| {
            let a = lock(m);
            a.dead || report::missing(&a.received, &acked) == 0
        });
        if all_there {
            break;
        }
        if Instant::now() >= until {
            lock(&shared.results).delivery_timed_out = true;
            break;
        }
        sleep(Duration::from_millis(100)).await;
    }
    let _ = stop_agents.send(true);
    if let Some(idle) = lock(&shared.results).idle.as_mut() {
        let dropped = shared.idle_dropped.load(Ordering::Relaxed);
        if dropped > 0 {
            idle.first_error
                .get_or_insert(format!("{dropped} idle sockets were closed by the server"));
        }
    }
    let _ = stop_idle.send(true);
    join_all(agent_tasks, Duration::from_secs(3)).await;
    join_all(idle_tasks, Duration::from_secs(5)).await;

    shared.phase("reading every conversation back");
    let fetcher = verify::Fetcher::new(
        client.clone(),
        a.agent_url.http_base.clone(),
        token.to_string(),
    );
    let jobs: Vec<verify::Job> = {
        let v = lock(&shared.visitors);
        convs
            .iter()
            .enumerate()
            .map(|(i, c)| verify::Job {
                visitor: i as u32,
                session_id: c.session_id.clone(),
                acked: v.acked_by_conv[i].clone(),
                sent: v.dispatched_by_conv[i],
            })
            .collect()
    };
    let (check, error) = verify::verify_all(&fetcher, jobs, VERIFY_BUDGET).await;
    if let Some(e) = &error {
        shared.note(format!("read-back: {e}"));
    }
    lock(&shared.results).verification = Some((check, fetcher.endpoint(), error));
    shared.phase("done");
    Ok(())
}

/// The server answers at all, and the API token opens the admin API.
async fn preflight(client: &reqwest::Client, a: &Args, token: &str) -> Result<(), Stop> {
    for t in [&a.url, &a.agent_url] {
        let url = format!("{}/healthz", t.http_base);
        client.get(&url).send().await.map_err(|e| {
            Stop::Usage(format!(
                "no server answers at {} ({e}); start one first (see end2end/load/README.md)",
                t.http_base
            ))
        })?;
    }
    let url = format!(
        "{}/chat/api/admin/sessions/?status=open",
        a.agent_url.http_base
    );
    let resp = client
        .get(&url)
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| Stop::Usage(format!("GET {url}: {e}")))?;
    match resp.status().as_u16() {
        200 => Ok(()),
        401 | 403 => Err(Stop::Usage(format!(
            "the server refused the API token (HTTP {}); make one with \
             `target/release/defmis-chat create-api-token --username NAME --name load`",
            resp.status().as_u16()
        ))),
        other => Err(Stop::Usage(format!("GET {url}: HTTP {other}"))),
    }
}

/// Starts `n` conversations, STARTING at a time, each retried a few times.
async fn start_conversations(
    client: &reqwest::Client,
    target: &Target,
    n: u32,
    prefix: &str,
    shared: &Arc<Shared>,
) -> Result<Vec<Conv>, Stop> {
    let url = format!("{}/chat/api/chat/start/", target.http_base);
    let results = futures_util::stream::iter(0..n)
        .map(|i| {
            let url = url.clone();
            async move { (i, start_one(client, &url, &format!("{prefix}-{i}")).await) }
        })
        .buffer_unordered(STARTING);
    tokio::pin!(results);
    let mut convs: Vec<Option<Conv>> = vec![None; n as usize];
    while let Some((i, r)) = results.next().await {
        let conv =
            r.map_err(|e| Stop::Failed(format!("starting conversation {prefix}-{i}: {e}")))?;
        convs[i as usize] = Some(conv);
        if prefix == "load" {
            lock(&shared.results).conversations_started += 1;
        }
    }
    Ok(convs.into_iter().flatten().collect())
}

async fn start_one(client: &reqwest::Client, url: &str, name: &str) -> Result<Conv, String> {
    #[derive(serde::Deserialize)]
    struct Started {
        customer_id: String,
        token: String,
        session_id: String,
    }
    let mut last = String::new();
    for attempt in 0..4u32 {
        if attempt > 0 {
            sleep(Duration::from_millis(200 << attempt)).await;
        }
        let resp = match client
            .post(url)
            .json(&serde_json::json!({ "name": name }))
            .send()
            .await
        {
            Ok(r) => r,
            Err(e) => {
                last = format!("POST {url}: {e}");
                continue;
            }
        };
        let status = resp.status().as_u16();
        if status == 200 || status == 201 {
            let s: Started = resp
                .json()
                .await
                .map_err(|e| format!("POST {url}: bad JSON ({e})"))?;
            return Ok(Conv {
                customer_id: s.customer_id,
                token: s.token,
                session_id: s.session_id,
            });
        }
        let body = resp.text().await.unwrap_or_default();
        last = format!(
            "POST {url}: HTTP {status} {}",
            body.chars().take(200).collect::<String>()
        );
        if !(status == 429 || status >= 500) {
            break;
        }
    }
    Err(last)
}

/// The open-loop scheduler: message k is due at start + k/rate, whatever
/// the acknowledgements do; round-robin over the visitors.
async fn schedule(
    shared: Arc<Shared>,
    senders: Vec<mpsc::UnboundedSender<Cmd>>,
    rate: f64,
    start: Instant,
    start_ns: u64,
    seconds: u64,
) {
    let v = senders.len() as u64;
    if v == 0 {
        return;
    }
    let total = (rate * seconds as f64).floor() as u64;
    let step_ns = 1e9 / rate;
    let mut k: u64 = 0;
    let mut per_visitor = vec![0u32; senders.len()];
    while k < total {
        let elapsed = start.elapsed().as_secs_f64();
        let due = ((elapsed * rate).floor() as u64 + 1).min(total);
        let mut batch = Vec::new();
        while k < due {
            let sched_ns = start_ns + (k as f64 * step_ns) as u64;
            let idx = (k % v) as usize;
            let n = per_visitor[idx];
            per_visitor[idx] += 1;
            let ok = senders[idx].send(Cmd { n, sched_ns }).is_ok();
            batch.push((idx, sched_ns, ok));
            k += 1;
        }
        {
            let mut s = lock(&shared.visitors);
            for (idx, sched_ns, ok) in batch {
                s.dispatched += 1;
                s.dispatched_by_conv[idx] += 1;
                let measured = shared.measured(sched_ns);
                if measured {
                    s.dispatched_measured += 1;
                }
                if !ok {
                    s.failed += 1;
                    if measured {
                        s.failed_measured += 1;
                    }
                }
            }
        }
        if k >= total {
            break;
        }
        sleep_until(start + Duration::from_nanos((k as f64 * step_ns) as u64)).await;
    }
}

/// Waits for tasks to end, at most `within`; aborts the ones still running.
async fn join_all(tasks: Vec<JoinHandle<()>>, within: Duration) {
    let aborts: Vec<_> = tasks.iter().map(|t| t.abort_handle()).collect();
    let all = futures_util::future::join_all(tasks);
    let _ = tokio::time::timeout(within, all).await;
    for a in aborts {
        a.abort();
    }
}
