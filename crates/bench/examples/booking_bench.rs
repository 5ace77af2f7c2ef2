//! Runs the booking benchmark and prints its report, as `bawaba bench booking` will:
//!
//! ```text
//! cargo run --release -p bawaba-sim --example booking_bench -- [--clients 64] [--seconds 10]
//!     [--preload N] [--growth SMALL,LARGE]
//! ```
//!
//! Logs go to stderr (RUST_LOG, default info); the report goes to stdout.
#![allow(clippy::print_stdout)]

use std::time::Duration;

use anyhow::{Context, bail};
use bawaba_bench::{BookingBenchOptions, run_booking_bench, run_growth_bench};

fn value<T: std::str::FromStr>(flag: &str, v: Option<String>) -> anyhow::Result<T>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    v.with_context(|| format!("{flag} needs a value"))?
        .parse()
        .with_context(|| format!("bad value for {flag}"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();

    let mut opts = BookingBenchOptions::default();
    let mut growth = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--clients" => opts.clients = value(&arg, args.next())?,
            "--seconds" => opts.duration = Duration::from_secs_f64(value(&arg, args.next())?),
            "--preload" => opts.preload = value(&arg, args.next())?,
            "--growth" => {
                let v: String = value(&arg, args.next())?;
                let (small, large) = v.split_once(',').context("--growth takes SMALL,LARGE")?;
                growth = Some((small.trim().parse()?, large.trim().parse()?));
            }
            other => bail!(
                "unknown argument {other:?}; expected --clients, --seconds, --preload or --growth"
            ),
        }
    }

    match growth {
        Some((small, large)) => {
            println!(
                "{}",
                run_growth_bench(opts.clients, opts.duration, small, large).await?
            );
        }
        None => println!("{}", run_booking_bench(&opts).await?),
    }
    Ok(())
}
