//! `ferrostack`: a cloud management server that speaks the Apache CloudStack API.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use ferrostack_server::config::{Config, DbOpts, ServeOpts};

#[derive(Parser)]
#[command(
    name = "ferrostack",
    version,
    about = "A cloud management server that speaks the Apache CloudStack API",
    long_about = "ferrostack manages zones, hosts, templates, networks, virtual machines and virtual routers \
through the Apache CloudStack HTTP API, so CloudMonkey, the cs client, libcloud, Ansible and Terraform work \
unchanged. With no options it keeps its state in an embedded SQLite database.\n\n\
Every option can also be given as a FERROSTACK_* environment variable or in a TOML file (--config); \
the command line wins over the environment, which wins over the file."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the CloudStack API at http://ADDR/client/api (default 127.0.0.1:8080).
    ///
    /// Creates and migrates the database on first start and seeds the ROOT domain, the
    /// `system` account and the `admin` user (password `password`). Refuses a non-loopback
    /// address while that default password is unchanged. SIGINT/SIGTERM stop it gracefully:
    /// in-flight requests finish and running jobs pause at a step boundary, to resume at the
    /// next start.
    Serve(ServeOpts),
    /// Run the host agent of a KVM host (or a simulated one): the management server adds it
    /// with `addHost hypervisor=KVM url=http://HOST:PORT username=… password=…`.
    Agent(ferrostack_server::host_agent::AgentOpts),
    /// Set a user's password directly in the database (e.g. the admin's before exposing the
    /// server). Reads the new password from standard input.
    SetPassword {
        #[command(flatten)]
        db: DbOpts,
        /// The user whose password to set
        #[arg(long, default_value = "admin")]
        username: String,
        /// The user's domain path
        #[arg(long, default_value = "ROOT")]
        domain: String,
    },
}

fn init_logging(filter: Option<&str>) {
    let filter = std::env::var("FERROSTACK_LOG")
        .ok()
        .or(filter.map(str::to_string))
        .unwrap_or_else(|| "info,sqlx=warn".to_string());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .try_init();
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

async fn serve(opts: ServeOpts) -> Result<(), String> {
    let cfg = Config::resolve(&opts)?;
    init_logging(cfg.log.as_deref());
    tracing::info!(database = %ferrostack_db::redact_url(&cfg.database), data_dir = %cfg.data_dir.display(), "starting ferrostack");
    let server = ferrostack_server::start(&cfg).await?;
    println!("ferrostack listening on {}", server.url());
    tracing::info!(url = %server.url(), "serving the CloudStack API");
    shutdown_signal().await;
    tracing::info!("shutting down: finishing in-flight requests, pausing jobs at a step boundary");
    server.stop().await;
    Ok(())
}

async fn set_password(db: DbOpts, username: String, domain: String) -> Result<(), String> {
    let cfg = Config::db_only(&db)?;
    init_logging(cfg.log.as_deref());
    let mut line = String::new();
    eprintln!("new password for {username} (domain {domain}), then Enter:");
    std::io::stdin().read_line(&mut line).map_err(|e| e.to_string())?;
    let pw = line.trim_end_matches(['\r', '\n']);
    let database = ferrostack_db::Db::open(&cfg.database)
        .await
        .map_err(|e| e.client_message(""))?;
    ferrostack_app::bootstrap::seed(&database)
        .await
        .map_err(|e| e.client_message(""))?;
    ferrostack_app::bootstrap::set_password(&database, &domain, &username, pw)
        .await
        .map_err(|e| e.client_message(""))?;
    database.close().await;
    eprintln!("password updated");
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let r = match cli.command {
        Command::Serve(o) => serve(o).await,
        Command::Agent(o) => {
            init_logging(None);
            ferrostack_server::host_agent::run(o, shutdown_signal()).await
        }
        Command::SetPassword { db, username, domain } => set_password(db, username, domain).await,
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ferrostack: {e}");
            ExitCode::FAILURE
        }
    }
}
