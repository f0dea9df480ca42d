//! Logging: `tracing` with an `EnvFilter` (`RUST_LOG`), text or JSON.

use tracing_subscriber::{fmt, EnvFilter};

pub fn init(debug: bool, json: bool) {
    let default = if debug {
        "debug,hyper=info,sqlx=warn"
    } else {
        "info,sqlx=warn"
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = fmt().with_env_filter(filter).with_target(false);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
