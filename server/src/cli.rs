//! The command line: `defmis-chat [serve|migrate|create-admin|…]` (see
//! [`USAGE`]).

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;

use anyhow::{bail, Context};
use app::types::Role;

use crate::agents::AgentService;
use crate::auth::TokenHasher;
use crate::config::Config;
use crate::limits::Limits;
use crate::startup::Application;
use crate::{storage, telemetry};

pub const USAGE: &str = "\
DEFMIS Chat — self-hosted customer-support chat

Usage:
  defmis-chat [serve]                      run the server (migrates first)
  defmis-chat migrate                      apply database migrations and exit
  defmis-chat create-admin [--username NAME] [--role admin|agent] [--display-name SHOWN]
                                           create an account; the password is read
                                           from a prompt, or from stdin when piped
  defmis-chat create-api-token --username NAME [--name LABEL]
                                           print a new API token for programs
  defmis-chat list-agents                  accounts, roles, and whether active
  defmis-chat deactivate-agent --username NAME
                                           no more sign-ins; open sockets close
                                           within seconds (activate-agent undoes)
  defmis-chat reset-password --username NAME
                                           new password from a prompt or stdin;
                                           ends every dashboard session of NAME
  defmis-chat list-api-tokens              ids, owners, labels (never values)
  defmis-chat revoke-api-token --id ID     sockets using it close within seconds
  defmis-chat seed-benchmark --conversations N --messages M [--agent NAME]
                                           add N conversations holding M messages
                                           in all (the inbox benchmark's data;
                                           agent replies by NAME when given)
  defmis-chat create-default-responses [--force]
                                           install the default automated responses
                                           (greeting, outside hours, no agent online,
                                           no reply in 5 min, pricing, refund,
                                           password; en/es/fr/de); running it again
                                           adds nothing, --force restores them
  defmis-chat help

Configuration comes from the environment and ./.env; see README.md.";

pub async fn run(args: Vec<String>) -> anyhow::Result<()> {
    let command = args.first().map(String::as_str).unwrap_or("serve");
    if matches!(command, "help" | "--help" | "-h") {
        println!("{USAGE}");
        return Ok(());
    }
    let config = Config::from_env().map_err(|e| anyhow::anyhow!("{e}"))?;
    telemetry::init(config.debug, config.json_logs);
    match command {
        "serve" => serve(config).await,
        "migrate" => {
            let db = storage::connect(&config)
                .await
                .context("DATABASE_URL: cannot connect")?;
            storage::migrate(&db).await.context("migrations failed")?;
            println!("migrations applied");
            Ok(())
        }
        "create-admin" => create_admin(config, &args[1..]).await,
        "create-api-token" => create_api_token(config, &args[1..]).await,
        "list-agents" => list_agents(config).await,
        "deactivate-agent" => set_active(config, &args[1..], false).await,
        "activate-agent" => set_active(config, &args[1..], true).await,
        "reset-password" => reset_password(config, &args[1..]).await,
        "list-api-tokens" => list_api_tokens(config).await,
        "revoke-api-token" => revoke_api_token(config, &args[1..]).await,
        "seed-benchmark" => seed_benchmark(config, &args[1..]).await,
        "create-default-responses" => create_default_responses(config, &args[1..]).await,
        other => bail!("unknown command {other:?}\n\n{USAGE}"),
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    tracing::info!(config = ?config, "starting");
    let app = Application::build(config).await?;
    if let Some(url) = app.setup_url().await? {
        println!("\nNo agent account exists yet. Create the first admin here (one-time link):\n\n    {url}\n\nor run `defmis-chat create-admin`.\n");
    }
    let addr = app.state().config.public_url.clone();
    tracing::info!(port = app.port(), "listening");
    println!("DEFMIS Chat is running: demo page {addr}/  dashboard {addr}/dashboard");
    app.run_until_stopped().await?;
    Ok(())
}

fn flag(args: &[String], name: &str) -> anyhow::Result<Option<String>> {
    match args.iter().position(|a| a == name) {
        Some(i) => args
            .get(i + 1)
            .cloned()
            .map(Some)
            .with_context(|| format!("{name} needs a value")),
        None => Ok(None),
    }
}

async fn agent_service(config: &Config) -> anyhow::Result<AgentService> {
    let db = storage::connect(config)
        .await
        .context("DATABASE_URL: cannot connect")?;
    storage::migrate(&db).await.context("migrations failed")?;
    let limits = Arc::new(Limits::new(
        config.limits.clone(),
        Vec::new(),
        Default::default(),
    ));
    Ok(AgentService::new(
        db,
        TokenHasher::new(config.secret_key.clone()),
        config.session_ttl_hours,
        limits,
    ))
}

fn prompt(label: &str) -> anyhow::Result<String> {
    print!("{label}");
    std::io::stdout().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

async fn create_admin(config: Config, args: &[String]) -> anyhow::Result<()> {
    let role = match flag(args, "--role")?.as_deref() {
        None | Some("admin") => Role::Admin,
        Some("agent") => Role::Agent,
        Some(other) => bail!("--role must be admin or agent, not {other:?}"),
    };
    let interactive = std::io::stdin().is_terminal();
    let username = match flag(args, "--username")? {
        Some(u) => u,
        None if interactive => prompt("Username: ")?,
        None => bail!("--username is required when stdin is not a terminal"),
    };
    let password = read_password(interactive)?;
    let agents = agent_service(&config).await?;
    let display_name = flag(args, "--display-name")?.unwrap_or_default();
    let agent = agents
        .create_named(&username, &display_name, &password, role)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("created {} {:?}", agent.role.as_str(), agent.username);
    Ok(())
}

async fn create_api_token(config: Config, args: &[String]) -> anyhow::Result<()> {
    let username = flag(args, "--username")?.context("--username is required")?;
    let name = flag(args, "--name")?;
    let agents = agent_service(&config).await?;
    let token = agents
        .create_api_token(&username, name)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("{token}");
    Ok(())
}

/// A new password: prompted twice on a terminal, else one line of stdin.
fn read_password(interactive: bool) -> anyhow::Result<String> {
    if interactive {
        let first = rpassword::prompt_password("Password: ")?;
        let second = rpassword::prompt_password("Password (again): ")?;
        if first != second {
            bail!("the passwords differ");
        }
        Ok(first)
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        Ok(line.trim_end_matches(['\n', '\r']).to_string())
    }
}

fn fail(e: crate::error::AppError) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

async fn list_agents(config: Config) -> anyhow::Result<()> {
    let agents = agent_service(&config).await?.list().await.map_err(fail)?;
    println!(
        "{:<36}  {:<6}  {:<6}  {:<24}  display name",
        "id", "role", "active", "username"
    );
    for a in agents {
        let active = if a.active { "yes" } else { "no" };
        println!(
            "{:<36}  {:<6}  {:<6}  {:<24}  {}",
            a.id.to_string(),
            a.role.as_str(),
            active,
            a.username,
            a.display_name
        );
    }
    Ok(())
}

async fn set_active(config: Config, args: &[String], active: bool) -> anyhow::Result<()> {
    let username = flag(args, "--username")?.context("--username is required")?;
    agent_service(&config)
        .await?
        .set_active(&username, active)
        .await
        .map_err(fail)?;
    let state = if active { "activated" } else { "deactivated" };
    println!("{state} {username:?}");
    Ok(())
}

async fn reset_password(config: Config, args: &[String]) -> anyhow::Result<()> {
    let username = flag(args, "--username")?.context("--username is required")?;
    let password = read_password(std::io::stdin().is_terminal())?;
    agent_service(&config)
        .await?
        .reset_password(&username, &password)
        .await
        .map_err(fail)?;
    println!("password of {username:?} changed; their dashboard sessions ended");
    Ok(())
}

async fn list_api_tokens(config: Config) -> anyhow::Result<()> {
    let agents = agent_service(&config).await?;
    let names: std::collections::HashMap<_, _> = agents
        .list()
        .await
        .map_err(fail)?
        .into_iter()
        .map(|a| (a.id, a.username))
        .collect();
    println!("{:<36}  {:<20}  {:<20}  label", "id", "created", "agent");
    for t in agents.api_tokens().await.map_err(fail)? {
        let owner = names.get(&t.agent_id).map_or("?", String::as_str);
        println!(
            "{:<36}  {:<20}  {:<20}  {}",
            t.id,
            t.created_at.format("%Y-%m-%d %H:%M:%S"),
            owner,
            t.name.unwrap_or_default()
        );
    }
    Ok(())
}

async fn revoke_api_token(config: Config, args: &[String]) -> anyhow::Result<()> {
    let id = flag(args, "--id")?.context("--id is required")?;
    agent_service(&config)
        .await?
        .revoke_api_token(&id)
        .await
        .map_err(fail)?;
    println!("revoked {id}");
    Ok(())
}

async fn create_default_responses(config: Config, args: &[String]) -> anyhow::Result<()> {
    let force = args.iter().any(|a| a == "--force");
    if let Some(other) = args.iter().find(|a| *a != "--force") {
        bail!("create-default-responses takes only --force, not {other:?}");
    }
    let db = storage::connect(&config)
        .await
        .context("DATABASE_URL: cannot connect")?;
    storage::migrate(&db).await.context("migrations failed")?;
    let store = crate::automation::store::AutomationStore::new(db);
    let (added, reset) =
        crate::automation::install_defaults(&store, config.max_message_chars, force)
            .await
            .map_err(fail)?;
    let total = crate::automation::defaults::rules().len();
    println!(
        "default automated responses: {added} added, {reset} restored, {} kept as they are \
         (running servers apply changes within a minute)",
        total - added - reset
    );
    Ok(())
}

async fn seed_benchmark(config: Config, args: &[String]) -> anyhow::Result<()> {
    use crate::chat::seed;
    let count = |name: &str, max: u64| -> anyhow::Result<u64> {
        let raw = flag(args, name)?.with_context(|| format!("{name} is required"))?;
        let n: u64 = raw
            .parse()
            .with_context(|| format!("{name} must be a whole number"))?;
        if n > max {
            bail!("{name} is at most {max}");
        }
        Ok(n)
    };
    let conversations = count("--conversations", seed::MAX_CONVERSATIONS)?;
    let messages = count("--messages", seed::MAX_MESSAGES)?;
    let agents = agent_service(&config).await?;
    let agent = match flag(args, "--agent")? {
        Some(name) => {
            let agent = agents.view_by_username(&name).await.map_err(fail)?;
            let shown = app::types::shown_agent_name(&agent.display_name);
            Some((agent.id, shown))
        }
        None => None,
    };
    let db = storage::connect(&config)
        .await
        .context("DATABASE_URL: cannot connect")?;
    let hasher = TokenHasher::new(config.secret_key.clone());
    let done = seed::run(db, &hasher, agent, conversations, messages, |line| {
        eprintln!("seed-benchmark: {line}")
    })
    .await
    .map_err(fail)?;
    println!(
        "added {} conversations and {} messages in {:.1} s",
        done.conversations,
        done.messages,
        done.took.as_secs_f64()
    );
    Ok(())
}
