//! `bawaba demo` and `bawaba sim`: a simulated day at Aqaba through the real scheduler, gate
//! agents and emulated devices (bawaba-sim's engine), then the KPI report.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use bawaba_sim::record::RunRecord;
use bawaba_sim::report::{Lang, Report};
use bawaba_sim::{RunOptions, Scenario, Site};
use clap::builder::TypedValueParser as _;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use crate::{client, config};

/// What `demo` and `sim` play: the scenario and its overrides.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Scenario name (normal-day, no-appointments, flash-flood-closure, scheduler-outage,
    /// noisy-devices) or a scenario file.
    #[arg(long, default_value = "normal-day")]
    pub scenario: String,
    #[arg(long)]
    pub seed: Option<u64>,
    /// Simulated seconds per real second (default: the scenario's, a day in ~3 minutes);
    /// 0 runs as fast as the machine can.
    #[arg(long)]
    pub speed: Option<f64>,
    /// Override the number of trucks.
    #[arg(long)]
    pub trucks: Option<usize>,
    /// Override the simulated hours (trucks scale with them unless --trucks is given).
    #[arg(long)]
    pub hours: Option<f64>,
    /// The language of report.html: en, or ar (Arabic, right to left). report.json and the
    /// summary printed stay in English.
    #[arg(
        long,
        default_value = "en",
        value_parser = clap::builder::PossibleValuesParser::new(["en", "ar"])
            .try_map(|s| Lang::parse(&s).ok_or("unknown language")),
    )]
    pub lang: Lang,
}

impl RunArgs {
    /// The site, the scenario and the run's options, its data folder created.
    fn prepare(&self, data_dir: &std::path::Path) -> Result<(Site, Scenario, RunOptions)> {
        let scenario = Scenario::load(&self.scenario)?;
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("creating {}", data_dir.display()))?;
        Ok((site()?, scenario, self.options(data_dir)))
    }

    fn options(&self, data_dir: &std::path::Path) -> RunOptions {
        let mut o = RunOptions::new(data_dir);
        o.seed = self.seed;
        o.speed = self.speed;
        o.trucks = self.trucks;
        o.hours = self.hours;
        o
    }
}

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Folder of the run's stores, tokens and report.
    #[arg(long, default_value = "./demo-data")]
    pub data_dir: PathBuf,
    #[command(flatten)]
    pub run: RunArgs,
    /// Keep the scheduler and the agents running after the report, until Ctrl-C.
    #[arg(long)]
    pub serve: bool,
    /// Serve the web dashboard of the run (authority and operator views, /metrics) here,
    /// on the simulated clock, while the day plays (and after it, with --serve).
    #[arg(long)]
    pub http: Option<std::net::SocketAddr>,
}

#[derive(Debug, clap::Args)]
pub struct SimArgs {
    #[arg(long, default_value = "./sim-data")]
    pub data_dir: PathBuf,
    #[command(flatten)]
    pub run: RunArgs,
    /// Load mode instead of a scenario: drive bookings and passages at the highest rate the
    /// machine allows (an in-process scheduler on a fresh sled store) and print rates and
    /// latency percentiles.
    #[arg(long)]
    pub load: bool,
    /// Load mode: what to drive, in order (noop, bookings, passages).
    #[arg(long, value_delimiter = ',', default_value = "bookings,passages")]
    pub ops: Vec<bawaba_bench::load::Operation>,
    /// Load mode: concurrent clients (closed loop), or most calls in flight (open loop).
    #[arg(long, default_value_t = 64)]
    pub clients: usize,
    /// Load mode: an open loop at this many calls per second instead of a closed loop.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Load mode: longest length of each phase, in seconds.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
}

/// The site of the built-in configuration (deploy/config.example.toml).
fn site() -> Result<Site> {
    let c = config::Config::load(None)?;
    Ok(Site {
        zones: c.zones,
        gates: c.gates,
        alert_zones: c.alert_zones,
    })
}

/// A progress bar on stderr (drawn only on a terminal) and the engine's callback feeding it:
/// the share of the simulated span played, and a note.
fn progress(label: &'static str) -> (ProgressBar, bawaba_sim::engine::Progress) {
    const STEPS: u64 = 1000;
    let bar = ProgressBar::new(STEPS).with_prefix(label);
    if let Ok(style) = ProgressStyle::with_template(
        "{prefix:>10} [{wide_bar}] {percent:>3}% {elapsed:>4} (ETA {eta:>4}) {msg}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    let feed = bar.clone();
    let callback = Arc::new(move |f: f64, msg: &str| {
        feed.set_position((f.clamp(0.0, 1.0) * STEPS as f64) as u64);
        feed.set_message(msg.to_owned());
    });
    (bar, callback)
}

fn print_report(
    run: &RunRecord,
    baseline: Option<&RunRecord>,
    dir: &std::path::Path,
    lang: Lang,
) -> Result<()> {
    let report = Report::build(run, baseline);
    let mut out = std::io::stdout().lock();
    writeln!(out, "{report}")?;
    let (json, html) = report
        .write(dir, lang)
        .with_context(|| format!("writing the report to {}", dir.display()))?;
    writeln!(out, "report: {} and {}", json.display(), html.display())?;
    Ok(())
}

pub async fn demo(args: DemoArgs) -> Result<()> {
    let (site, scenario, mut opts) = args.run.prepare(&args.data_dir)?;
    opts.http = args.http;
    if let Some(addr) = args.http {
        client::out(format_args!(
            "dashboard: http://{addr}/ (log in with the authority or operator token in {}, or as a company with the portal login and password in it)",
            args.data_dir
                .join(&scenario.name)
                .join("tokens.toml")
                .display()
        ));
    }
    // The baseline: the same demand and seed with no appointments, as fast as possible, played
    // at the same time as the day (each run has its own store, agents and devices; the day
    // mostly waits on its pace and on disk syncs, which the baseline fills).
    let mut base_scenario = Scenario::load("no-appointments")?;
    base_scenario.start = scenario.start;
    base_scenario.hours = scenario.hours;
    base_scenario.trucks = scenario.trucks;
    base_scenario.companies = scenario.companies;
    base_scenario.seed = scenario.seed;
    base_scenario.demand = scenario.demand.clone();
    base_scenario.arrivals = scenario.arrivals.clone();
    base_scenario.reads = scenario.reads.clone();
    base_scenario.gate = scenario.gate.clone();
    let mut base_opts = args.run.options(&args.data_dir);
    base_opts.speed = Some(0.0);
    let bars = MultiProgress::new();
    let (day_bar, feed) = progress("the day");
    let day_bar = bars.add(day_bar);
    opts.progress = Some(feed);
    let (base_bar, feed) = progress("baseline");
    let base_bar = bars.add(base_bar);
    base_opts.progress = Some(feed);
    let (day, baseline) = tokio::join!(
        async {
            let r = bawaba_sim::run(&site, &scenario, &opts).await;
            day_bar.finish();
            r
        },
        async {
            let r = bawaba_sim::run_and_stop(&site, &base_scenario, &base_opts).await;
            base_bar.finish();
            r
        },
    );
    let (run, live) = day?;
    let baseline = baseline?;
    print_report(&run, Some(&baseline), &args.data_dir, args.run.lang)?;
    let passed = run.proofs_passed();
    if args.serve {
        let mut out = std::io::stdout().lock();
        writeln!(out, "scheduler (gRPC): http://{}", live.addr)?;
        if let Some(http) = live.http {
            writeln!(out, "dashboard: http://{http}/")?;
        }
        writeln!(out, "tokens: {}", live.tokens_file.display())?;
        writeln!(out, "serving until Ctrl-C")?;
        drop(out);
        let _ = tokio::signal::ctrl_c().await;
    }
    live.stop().await;
    if !passed {
        bail!("a proof failed (see the report)");
    }
    Ok(())
}

pub async fn sim(args: SimArgs) -> Result<()> {
    if args.load {
        let opts = bawaba_bench::LoadOptions {
            operations: args.ops,
            clients: args.clients,
            pace: match args.rate {
                Some(per_second) => bawaba_bench::load::Pace::Open { per_second },
                None => bawaba_bench::load::Pace::Closed,
            },
            duration: std::time::Duration::from_secs(args.seconds),
            ..bawaba_bench::LoadOptions::default()
        };
        opts.validate()?;
        let report = bawaba_bench::run_load(&opts).await?;
        client::out(format_args!("{report}"));
        return Ok(());
    }
    let (site, scenario, mut opts) = args.run.prepare(&args.data_dir)?;
    let (bar, feed) = progress("simulating");
    opts.progress = Some(feed);
    let run = bawaba_sim::run_and_stop(&site, &scenario, &opts).await?;
    bar.finish();
    print_report(&run, None, &args.data_dir, args.run.lang)?;
    if !run.proofs_passed() {
        bail!("a proof failed (see the report)");
    }
    Ok(())
}
