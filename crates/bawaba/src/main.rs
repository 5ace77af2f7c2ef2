//! `bawaba`: the one binary. Subcommands run the scheduler, issue tokens, and act as a client
//! of a running scheduler. The contract of every command is in docs/cli-contract.md.

mod account;
mod audit;
mod client;
mod config;
mod demo;
mod fleet;
mod output;
mod transfer;
mod watch;
mod webhook;
mod zones;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use bawaba_app::{App, SystemClock};
use bawaba_domain::access::{Principal, Role};
use bawaba_domain::ids::{CompanyId, ZoneId};
use bawaba_domain::notify::RetryPolicy;
use bawaba_grpc::{Scheduler, Tls};
use bawaba_store::{SledStore, Store, TokenBook};
use bawaba_store_pg::PgStore;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "bawaba",
    version,
    about = "Truck appointments and gate control for the port of Aqaba"
)]
struct Cli {
    /// Where and as whom client commands connect (before or after the subcommand).
    #[command(flatten)]
    conn: client::Conn,
    /// How `booking`, `slots`, `fleet`, `account`, `webhook` and the admin listings print
    /// what they got: `text`
    /// (key=value lines), `table` (aligned columns) or `json` (one document, for scripts;
    /// docs/cli-contract.md).
    #[arg(
        long,
        global = true,
        value_enum,
        default_value_t,
        env = "BAWABA_OUTPUT"
    )]
    output: output::Format,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the scheduler: the gRPC API on an embedded sled store.
    Scheduler(SchedulerArgs),
    /// Run a gate agent: serial cameras, RFID readers and barriers at one terminal gate.
    Gate {
        /// The agent's configuration (see deploy/gate.example.toml).
        #[arg(long, env = "BAWABA_GATE_CONFIG")]
        config: PathBuf,
    },
    /// Create or upgrade the PostgreSQL schema (the scheduler also does it at start).
    Migrate {
        #[arg(long, env = "BAWABA_STORE", hide_env_values = true)]
        store: String,
    },
    /// Write every record of a store as newline-delimited JSON (docs/export.md): to keep it,
    /// or to move it between sled and PostgreSQL. A sled store must be stopped.
    Export(transfer::ExportArgs),
    /// Read an export into an empty store: a new --data-dir, or an empty PostgreSQL
    /// database (--store).
    Import(transfer::ImportArgs),
    /// Take a backup of the running scheduler's store while it serves (authority token):
    /// every record acknowledged before the call, into a new folder.
    Backup(transfer::BackupArgs),
    /// Start a new store from a backup folder: a new --data-dir, or an empty PostgreSQL
    /// database (--store). Copy the token file (`tokens` in the old --data-dir) too for the old tokens.
    Restore(transfer::RestoreArgs),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Zones: list, and for the authority close, reopen, cap and change capacity (client of a running
    /// scheduler).
    #[command(subcommand)]
    Zones(zones::ZonesCommand),
    /// Closures in force or to come (client of a running scheduler).
    #[command(subcommand)]
    Closures(zones::ClosuresCommand),
    /// The security watchlist of plates and tags (security or authority; client of a running
    /// scheduler).
    #[command(subcommand)]
    Watch(watch::WatchCommand),
    /// A company's webhook: where its events are POSTed, and every delivery attempt (a
    /// company token, or the authority naming --company; client of a running scheduler).
    #[command(subcommand)]
    Webhook(webhook::WebhookCommand),
    /// A company's trucks and their drivers (a company token, or the authority naming
    /// --company; client of a running scheduler).
    #[command(subcommand)]
    Fleet(fleet::FleetCommand),
    /// A company's portal accounts: create (a first password made), list, disable, enable
    /// (the authority naming --company; client of a running scheduler).
    #[command(subcommand)]
    Account(account::AccountCommand),
    /// Bookings (client of a running scheduler).
    #[command(subcommand)]
    Booking(client::BookingCommand),
    /// The slot calendar (client of a running scheduler).
    #[command(subcommand)]
    Slots(client::SlotsCommand),
    /// The audit trail: who changed what, when, through which door (client of a running
    /// scheduler; authority token).
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Benchmarks.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Play a simulated day at Aqaba (scheduler, gate agents, emulated devices, companies
    /// and trucks) with the appointment system and the no-appointments baseline; print the
    /// report and write report.json/report.html.
    Demo(demo::DemoArgs),
    /// Run one simulation scenario.
    Sim(demo::SimArgs),
}

#[derive(Debug, clap::Args)]
struct SchedulerArgs {
    /// Folder of the store and the token file.
    #[arg(long, env = "BAWABA_DATA_DIR", default_value = "data")]
    data_dir: PathBuf,
    /// Where to listen for gRPC.
    #[arg(long, env = "BAWABA_GRPC_ADDR", default_value = "127.0.0.1:50051")]
    grpc_addr: SocketAddr,
    /// Zones and gates (TOML). Without it, the built-in Aqaba configuration.
    #[arg(long, env = "BAWABA_CONFIG")]
    config: Option<PathBuf>,
    /// A PostgreSQL store shared by several scheduler replicas (postgres://...). Without it,
    /// the embedded sled store in --data-dir (the token file stays in --data-dir either way).
    #[arg(long, env = "BAWABA_STORE", hide_env_values = true)]
    store: Option<String>,
    /// TLS certificate (PEM); with --tls-key, the listener speaks TLS.
    #[arg(long, env = "BAWABA_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, env = "BAWABA_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// CA certificate (PEM) of client certificates: with it, every client (gate agents, CLI,
    /// companies' systems) must present a certificate signed by this CA (mutual TLS); the
    /// token still decides the role. Needs --tls-cert and --tls-key.
    #[arg(long, env = "BAWABA_TLS_CLIENT_CA", requires = "tls_cert")]
    tls_client_ca: Option<PathBuf>,
    /// How often the no-show sweep runs.
    #[arg(long, default_value_t = 60)]
    sweep_interval_secs: u64,
    /// The wait before a failed webhook delivery or SMS is tried again; it doubles with each
    /// failure, up to an hour, and an event still failing a day after its first attempt is
    /// given up.
    #[arg(long, default_value_t = 10_000, value_name = "MS")]
    webhook_retry_ms: u64,
    /// How long before a booked visit's first window its company's log gets a reminder
    /// (webhooks deliver it, and the driver is texted when `[sms]` is configured); 0: none.
    #[arg(long, default_value_t = 120, value_name = "MINUTES")]
    reminder_minutes: u32,
    /// The password of the `[sms]` sendsms-user, when the configuration leaves it empty.
    #[arg(long, env = "BAWABA_SMS_PASSWORD", hide_env_values = true)]
    sms_password: Option<String>,
    /// Serve the web dashboard (authority and operator views, JSON API, Prometheus
    /// `/metrics`) over HTTP on this address, e.g. 127.0.0.1:8080. Without it, no HTTP.
    #[arg(long = "http", env = "BAWABA_HTTP_ADDR")]
    http: Option<SocketAddr>,
    /// A reverse proxy in front of the dashboard (repeat for several): its requests are
    /// counted against the client address its X-Forwarded-For names, so the failed-login
    /// limit stops that client and not every user behind the proxy.
    #[arg(
        long = "trusted-proxy",
        value_name = "IP",
        env = "BAWABA_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    trusted_proxies: Vec<std::net::IpAddr>,
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Issue a token. It is printed once, as the last line; only its hash is kept.
    Create {
        #[arg(long, env = "BAWABA_DATA_DIR", default_value = "data")]
        data_dir: PathBuf,
        /// company, gate, operator, authority, alerts (the early warning system: it may only
        /// post CAP alerts to the dashboard's /api/cap), or security (the watchlist).
        #[arg(long, value_parser = ["company", "gate", "operator", "authority", "alerts", "security"])]
        role: String,
        /// The company a company token acts for.
        #[arg(long)]
        company: Option<String>,
        /// Limit a gate, operator, alerts or security token to one zone.
        #[arg(long)]
        zone: Option<String>,
        /// Who holds it, kept in records (e.g. the operator who resolves a referral).
        #[arg(long)]
        name: Option<String>,
    },
    /// List the tokens issued (their ids, roles and scopes; never the tokens), revoked ones
    /// marked.
    List {
        #[arg(long, env = "BAWABA_DATA_DIR", default_value = "data")]
        data_dir: PathBuf,
    },
    /// Revoke a token: a running scheduler refuses it within a second.
    Revoke {
        #[arg(long, env = "BAWABA_DATA_DIR", default_value = "data")]
        data_dir: PathBuf,
        /// The token's id as `token list` shows it (or more of its hash), or the token itself.
        id: String,
    },
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Gate decision latency: plate read on the camera's pty to barrier command on the
    /// barrier's pty, with a replica of many bookings, against a bare pty echo.
    Gate {
        #[arg(long, default_value_t = 100_000)]
        bookings: usize,
        #[arg(long, default_value_t = 2000)]
        passages: usize,
    },
    /// Durable bookings over loopback gRPC against a no-op call on the same server.
    Booking {
        #[arg(long, default_value_t = 64)]
        clients: usize,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Bookings stored before measuring.
        #[arg(long, default_value_t = 0)]
        preload: usize,
        /// Instead: compare latency with two preload sizes, e.g. 10000,1000000.
        #[arg(long, value_delimiter = ',', value_name = "SMALL,LARGE")]
        growth: Option<Vec<usize>>,
    },
    /// A sled store with DAYS of Aqaba's traffic written through the store (bookings, moves,
    /// cancellations, passages, referrals, no-shows), then the scheduler's start-up time and
    /// resident memory on it against an empty store.
    Year {
        #[arg(long, default_value_t = 365)]
        days: u32,
        /// Truck visits booked a day.
        #[arg(long, default_value_t = 2500)]
        trucks: u32,
        /// Keep the store in this new folder (by default a temporary one, removed after).
        #[arg(long, conflicts_with = "store")]
        data_dir: Option<PathBuf>,
        /// Write into this empty PostgreSQL database instead (postgres://...), and compare
        /// with a scheduler on a fresh database.
        #[arg(long, value_name = "URL")]
        store: Option<String>,
    },
    /// Durable bookings on sled against PostgreSQL with 1 and 2 scheduler replicas, over
    /// many windows and on one hot window, each on a fresh store, in the same run.
    Stores {
        #[arg(long, default_value_t = 64)]
        clients: usize,
        /// Length of each case.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// A PostgreSQL database to book in (postgres://...); by default a fresh database
        /// per case on the server of BAWABA_TEST_PG (127.0.0.1:5432, user postgres).
        #[arg(long)]
        postgres: Option<String>,
        /// Replica counts to run on PostgreSQL.
        #[arg(long, value_delimiter = ',', default_value = "1,2")]
        replicas: Vec<usize>,
    },
}

/// Logs to stderr, filtered by `RUST_LOG`; without it, `default` (`info` for the services, `warn`
/// for the simulations and benchmarks, whose every booking and passage would drown their
/// progress bar and figures).
fn init_logs(default: &str) {
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| default.into());
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .init();
}

/// The connection options (`client::Conn`): only the client commands use them.
const CONNECTION_OPTIONS: [&str; 5] = ["addr", "token", "ca_cert", "client_cert", "client_key"];

impl Command {
    /// Whether it is a client of a running scheduler, the one kind of command that reads
    /// `--addr`, `--token` and the TLS options (the others run their own scheduler, or none).
    fn connects(&self) -> bool {
        matches!(
            self,
            Command::Zones(_)
                | Command::Closures(_)
                | Command::Watch(_)
                | Command::Webhook(_)
                | Command::Fleet(_)
                | Command::Account(_)
                | Command::Booking(_)
                | Command::Slots(_)
                | Command::Audit(_)
                | Command::Backup(_)
        )
    }
}

/// Warns of connection options given on the command line to a command that does not read
/// them (they are global, so every command accepts them): `bench booking --addr ...` measures
/// its own in-process scheduler, not the one at that address.
fn warn_unused_connection_options(matches: &clap::ArgMatches, command: &Command) {
    if command.connects() {
        return;
    }
    for id in CONNECTION_OPTIONS {
        if matches.value_source(id) == Some(clap::parser::ValueSource::CommandLine) {
            tracing::warn!(
                "--{} has no effect on this command: only `zones`, `closures`, `watch`, `webhook`, `fleet`, `account`, `booking`, `slots` and `audit` connect to a running scheduler",
                id.replace('_', "-")
            );
        }
    }
}

fn main() -> std::process::ExitCode {
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    init_logs(match cli.command {
        // Their traffic would drown the progress bar, or the figures.
        Command::Demo(_) | Command::Sim(_) | Command::Bench(_) => "warn",
        _ => "info",
    });
    warn_unused_connection_options(&matches, &cli.command);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!("cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) if e.downcast_ref::<output::NothingFound>().is_some() => {
            client::say(format_args!("{e}"));
            std::process::ExitCode::from(output::NothingFound::EXIT)
        }
        Err(e) => {
            client::report_error(&e);
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Scheduler(args) => scheduler(args).await,
        Command::Gate { config } => gate(&config).await,
        Command::Demo(args) => demo::demo(args).await,
        Command::Sim(args) => demo::sim(args).await,
        Command::Export(args) => transfer::export(args).await,
        Command::Import(args) => transfer::import(args).await,
        Command::Backup(args) => transfer::backup(&cli.conn, args).await,
        Command::Restore(args) => transfer::restore(args).await,
        Command::Migrate { store } => {
            let applied = bawaba_store_pg::migrate(&store).await?;
            client::out(format_args!(
                "schema up to date; applied migrations: {applied:?}"
            ));
            Ok(())
        }
        Command::Token(TokenCommand::Create {
            data_dir,
            role,
            company,
            zone,
            name,
        }) => {
            let role: Role = role.parse()?;
            let company = company.map(|c| CompanyId::parse(&c)).transpose()?;
            let zone = zone.map(|z| ZoneId::parse(&z)).transpose()?;
            let principal = Principal::new(role, company, zone)?;
            let token =
                TokenBook::new(&data_dir).issue(&principal, name.as_deref(), chrono::Utc::now())?;
            client::out(format_args!(
                "{} token issued; it is shown only once:",
                role.as_str()
            ));
            client::out(format_args!("{token}"));
            Ok(())
        }
        Command::Token(TokenCommand::List { data_dir }) => {
            let tokens = TokenBook::new(&data_dir).list()?;
            client::out(format_args!(
                "{:<12}  {:<9}  {:<20}  {:<12}  {:<25}  {:<20}  revoked",
                "id", "role", "company", "zone", "issued", "name"
            ));
            let or_dash = |s: Option<&str>| s.unwrap_or("-").to_owned();
            for t in tokens {
                let p = &t.principal;
                client::out(format_args!(
                    "{:<12}  {:<9}  {:<20}  {:<12}  {:<25}  {:<20}  {}",
                    t.id,
                    p.role.as_str(),
                    or_dash(p.company.as_ref().map(CompanyId::as_str)),
                    or_dash(p.zone.as_ref().map(ZoneId::as_str)),
                    t.issued_at
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    or_dash(t.name.as_deref()),
                    t.revoked_at.map_or_else(
                        || "-".to_owned(),
                        |at| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                    ),
                ));
            }
            Ok(())
        }
        Command::Token(TokenCommand::Revoke { data_dir, id }) => {
            let t = TokenBook::new(&data_dir).revoke(&id, chrono::Utc::now())?;
            let p = &t.principal;
            let held = [
                Some(p.role.as_str()),
                p.company.as_ref().map(CompanyId::as_str),
                p.zone.as_ref().map(ZoneId::as_str),
                t.name.as_deref(),
            ];
            client::out(format_args!(
                "token {} ({}) revoked; a running scheduler refuses it within {} s",
                t.id,
                held.into_iter().flatten().collect::<Vec<_>>().join(" "),
                TokenBook::RECHECK.as_secs(),
            ));
            Ok(())
        }
        Command::Zones(cmd) => zones::zones(&cli.conn, cmd, cli.output).await,
        Command::Closures(cmd) => zones::closures(&cli.conn, cmd, cli.output).await,
        Command::Watch(cmd) => watch::watch(&cli.conn, cmd, cli.output).await,
        Command::Webhook(cmd) => webhook::webhook(&cli.conn, cmd, cli.output).await,
        Command::Fleet(cmd) => fleet::fleet(&cli.conn, cmd, cli.output).await,
        Command::Account(cmd) => account::account(&cli.conn, cmd, cli.output).await,
        Command::Booking(cmd) => client::booking(&cli.conn, cmd, cli.output).await,
        Command::Slots(cmd) => client::slots(&cli.conn, cmd, cli.output).await,
        Command::Audit(cmd) => audit::audit(&cli.conn, cmd, cli.output).await,
        Command::Bench(BenchCommand::Year {
            days,
            trucks,
            data_dir,
            store,
        }) => {
            let opts = bawaba_bench::YearOptions {
                days,
                trucks,
                data_dir,
                store,
            };
            let me = std::env::current_exe().context("finding the bawaba binary")?;
            let report = bawaba_bench::run_year_bench(opts, &me).await?;
            client::out(format_args!("{report}"));
            Ok(())
        }
        Command::Bench(BenchCommand::Gate { bookings, passages }) => {
            let report = bawaba_bench::run_gate_bench(bookings, passages)
                .await
                .map_err(|e| anyhow::anyhow!(e))?;
            client::out(format_args!("{report}"));
            Ok(())
        }
        Command::Bench(BenchCommand::Booking {
            clients,
            seconds,
            preload,
            growth,
        }) => {
            let duration = Duration::from_secs(seconds);
            match growth.as_deref() {
                Some([small, large]) => {
                    let report =
                        bawaba_bench::run_growth_bench(clients, duration, *small, *large).await?;
                    client::out(format_args!("{report}"));
                }
                Some(other) => anyhow::bail!(
                    "--growth takes two preload sizes, e.g. --growth 10000,1000000 (got {} values)",
                    other.len()
                ),
                None => {
                    let opts = bawaba_bench::BookingBenchOptions {
                        clients,
                        duration,
                        preload,
                    };
                    let report = bawaba_bench::run_booking_bench(&opts).await?;
                    client::out(format_args!("{report}"));
                }
            }
            Ok(())
        }
        Command::Bench(BenchCommand::Stores {
            clients,
            seconds,
            postgres,
            replicas,
        }) => {
            let opts = bawaba_bench::StoresBenchOptions {
                clients,
                duration: Duration::from_secs(seconds),
                postgres,
                replicas,
            };
            let report = bawaba_bench::run_stores_bench(&opts).await?;
            client::out(format_args!("{report}"));
            anyhow::ensure!(
                report.checks_passed(),
                "a store check failed: see the table above"
            );
            Ok(())
        }
    }
}

async fn scheduler(args: SchedulerArgs) -> Result<()> {
    let config = config::Config::load(args.config.as_deref())?
        .with_sms_password(args.sms_password.clone())?;
    match args.store.as_deref() {
        None => run_scheduler(Arc::new(SledStore::open(&args.data_dir)?), args, config).await,
        Some(url) if is_postgres(url) => {
            let store = Arc::new(
                PgStore::connect(url)
                    .await
                    .context("connecting to PostgreSQL")?,
            );
            run_scheduler(Arc::clone(&store), args, config).await?;
            // Hand the no-show sweep lease back, so another replica takes it at once.
            tokio::task::yield_now().await;
            match Arc::try_unwrap(store) {
                Ok(store) => store.close().await?,
                Err(_) => {
                    tracing::debug!("streams still hold the store; the sweep lease will expire")
                }
            }
            Ok(())
        }
        Some(other) => anyhow::bail!(
            "--store {other:?}: expected a PostgreSQL URL (postgres://... or host=...); without --store the scheduler uses the embedded sled store in --data-dir"
        ),
    }
}

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://") || url.starts_with("host=")
}

async fn run_scheduler<S: Store>(
    store: Arc<S>,
    args: SchedulerArgs,
    config: config::Config,
) -> Result<()> {
    let tokens = Arc::new(TokenBook::new(&args.data_dir));
    // One application under every door: gRPC and the dashboard share its gate command
    // channels and metrics.
    let app = App::new(store, tokens, Arc::new(SystemClock)).with_alert_zones(config.alert_zones);
    app.bootstrap(config.zones, config.gates).await?;
    let listener = tokio::net::TcpListener::bind(args.grpc_addr)
        .await
        .with_context(|| format!("listening on {}", args.grpc_addr))?;
    let sweeper = app.spawn_sweeper(
        Duration::from_secs(args.sweep_interval_secs.max(1)),
        chrono::TimeDelta::minutes(i64::from(args.reminder_minutes)),
    );
    let retry = RetryPolicy {
        first: chrono::TimeDelta::milliseconds(args.webhook_retry_ms.clamp(1, 3_600_000) as i64),
        ..RetryPolicy::default()
    };
    let webhooks = app.spawn_webhooks(Arc::new(bawaba_notify::HttpPoster::default()), retry);
    let texts = config
        .sms
        .map(|k| app.spawn_texts(Arc::new(bawaba_notify::Kannel::new(k)), retry));
    let tls = args.tls_cert.zip(args.tls_key).map(|(cert, key)| Tls {
        cert,
        key,
        client_ca: args.tls_client_ca,
    });
    let (web_stop, web_stopping) = tokio::sync::watch::channel(false);
    let web = match args.http {
        None => None,
        Some(addr) => {
            let http = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("listening on {addr} (--http)"))?;
            let dashboard = bawaba_web::Dashboard {
                app: app.clone(),
                trusted_proxies: args.trusted_proxies.clone(),
            };
            let mut stopping = web_stopping.clone();
            Some(tokio::spawn(dashboard.serve(http, async move {
                let _ = stopping.wait_for(|s| *s).await;
            })))
        }
    };
    // A graceful stop waits for open calls, but not forever: a client that stopped
    // answering must not keep the scheduler from stopping. Everything acknowledged is
    // already on disk.
    let (signalled, stopping) = tokio::sync::oneshot::channel();
    let web_stop = &web_stop;
    let shutdown = async move {
        shutdown_signal().await;
        let _ = web_stop.send(true);
        let _ = signalled.send(());
    };
    let serve = Scheduler { app, tls }.serve(listener, shutdown);
    let result = tokio::select! {
        r = serve => r,
        () = async {
            let _ = stopping.await;
            tokio::time::sleep(GRACEFUL_STOP).await;
        } => {
            tracing::warn!("calls still open {GRACEFUL_STOP:?} after the stop signal; stopping anyway");
            Ok(())
        }
    };
    sweeper.abort();
    webhooks.abort();
    if let Some(texts) = texts {
        texts.abort();
    }
    let _ = sweeper.await;
    let _ = web_stop.send(true);
    if let Some(web) = web {
        match tokio::time::timeout(GRACEFUL_STOP, web).await {
            Ok(Ok(Err(e))) => tracing::error!(error = %e, "dashboard failed"),
            Ok(_) => {}
            Err(_) => tracing::warn!("the dashboard did not stop in {GRACEFUL_STOP:?}"),
        }
    }
    Ok(result?)
}

/// How long a stopping scheduler waits for open calls.
const GRACEFUL_STOP: Duration = Duration::from_secs(10);

async fn gate(config: &std::path::Path) -> Result<()> {
    let cfg = bawaba_gate::config::AgentConfig::load(config)?;
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let agent = bawaba_gate::agent::start(cfg, bawaba_gate::system_clock(), shutdown)?;
    shutdown_signal().await;
    let _ = stop.send(true);
    agent.join().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!("cannot listen for SIGTERM: {e}");
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
    tracing::info!("shutting down");
}
