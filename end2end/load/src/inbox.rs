//! `--inbox-bench N`: how fast the admin API's inbox answers on a large
//! database (seed it with `defmis-chat seed-benchmark`). Three cases, each
//! requested N times one after the other (closed loop, one at a time):
//! the first page; a filtered page deep in the list (`status=open`, after
//! walking `--deep-pages` pages by cursor); a full-text search. Reports
//! p50/p99/max per case. Bounded: N ≤ 10,000, every request times out.

use std::time::Instant;

use serde::Serialize;
use serde_json::Value;

use crate::args::Args;
use crate::stats::Latency;

/// One case's figures.
#[derive(Debug, Serialize)]
pub struct Case {
    pub name: String,
    pub query: String,
    /// Conversations on the answered page (the last request's).
    pub rows: usize,
    pub latency: Latency,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub url: String,
    pub requests_per_case: u32,
    /// How many pages deep the filtered case starts.
    pub deep_pages: u32,
    pub cases: Vec<Case>,
}

async fn page(
    client: &reqwest::Client,
    a: &Args,
    token: &str,
    query: &str,
) -> Result<Value, String> {
    let url = format!("{}/chat/api/admin/sessions/?{query}", a.agent_url.http_base);
    let resp = client
        .get(&url)
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    let status = resp.status();
    if !status.is_success() {
        let body = resp.text().await.unwrap_or_default();
        return Err(format!("GET {url}: {status} {body}"));
    }
    resp.json().await.map_err(|e| format!("GET {url}: {e}"))
}

fn escape(v: &str) -> String {
    v.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

async fn measure(
    client: &reqwest::Client,
    a: &Args,
    token: &str,
    name: &str,
    query: String,
    n: u32,
) -> Result<Case, String> {
    let mut samples = Vec::with_capacity(n as usize);
    let mut rows = 0;
    for _ in 0..n {
        let t = Instant::now();
        let body = page(client, a, token, &query).await?;
        samples.push(t.elapsed().as_micros().min(u32::MAX as u128) as u32);
        rows = body["sessions"].as_array().map_or(0, Vec::len);
    }
    Ok(Case {
        name: name.to_string(),
        query,
        rows,
        latency: Latency::of(&mut samples),
    })
}

pub async fn run(
    client: &reqwest::Client,
    a: &Args,
    token: &str,
    n: u32,
) -> Result<Report, String> {
    // Warm the caches once, as a dashboard would have.
    page(client, a, token, "limit=50").await?;
    let mut cases = Vec::new();
    cases.push(measure(client, a, token, "first page", "limit=50".into(), n).await?);

    let mut cursor: Option<String> = None;
    let mut walked = 0;
    while walked < a.deep_pages {
        let query = match &cursor {
            Some(c) => format!("status=open&limit=50&cursor={}", escape(c)),
            None => "status=open&limit=50".to_string(),
        };
        let body = page(client, a, token, &query).await?;
        match body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
        walked += 1;
    }
    let deep = match &cursor {
        Some(c) => format!("status=open&limit=50&cursor={}", escape(c)),
        None => "status=open&limit=50".to_string(),
    };
    let mut case = measure(client, a, token, "filtered, deep", deep, n).await?;
    case.name = format!("open, {} pages deep", walked);
    cases.push(case);

    let search = format!("q={}&limit=50", escape(&a.search));
    cases.push(measure(client, a, token, "search", search, n).await?);
    Ok(Report {
        url: a.agent_url.http_base.clone(),
        requests_per_case: n,
        deep_pages: walked,
        cases,
    })
}

pub fn table(r: &Report) -> String {
    let mut out = format!(
        "inbox benchmark: {} requests per case, one at a time, against {}\n",
        r.requests_per_case, r.url
    );
    out.push_str(&format!(
        "{:<28} {:>5}  {:<28} {}\n",
        "case", "rows", "p50 / p99 / max", "query"
    ));
    for c in &r.cases {
        out.push_str(&format!(
            "{:<28} {:>5}  {:<28} {}\n",
            c.name,
            c.rows,
            c.latency.text(),
            if c.query.len() > 60 {
                format!("{}…", &c.query[..60])
            } else {
                c.query.clone()
            }
        ));
    }
    out
}
