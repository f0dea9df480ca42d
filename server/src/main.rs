//! `defmis-chat`: see [`server::cli::USAGE`].

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Err(e) = server::cli::run(args).await {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
