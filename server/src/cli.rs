//! The command line: `defmis-chat [serve|migrate|create-admin|create-api-token]`.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{bail, Context};
use app::types::Role;

use crate::agents::AgentService;
use crate::auth::TokenHasher;
use crate::config::Config;
use crate::startup::Application;
use crate::{storage, telemetry};

pub const USAGE: &str = "\
DEFMIS Chat — self-hosted customer-support chat

Usage:
  defmis-chat [serve]                      run the server (migrates first)
  defmis-chat migrate                      apply database migrations and exit
  defmis-chat create-admin [--username NAME] [--role admin|agent]
                                           create an account; the password is read
                                           from a prompt, or from stdin when piped
  defmis-chat create-api-token --username NAME [--name LABEL]
                                           print a new API token for programs
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
    Ok(AgentService::new(
        db,
        TokenHasher::new(config.secret_key.clone()),
        config.session_ttl_hours,
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
    let password = if interactive {
        let first = rpassword::prompt_password("Password: ")?;
        let second = rpassword::prompt_password("Password (again): ")?;
        if first != second {
            bail!("the passwords differ");
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim_end_matches(['\n', '\r']).to_string()
    };
    let agents = agent_service(&config).await?;
    let agent = agents
        .create(&username, &password, role)
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
