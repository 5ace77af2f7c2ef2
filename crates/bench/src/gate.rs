//! `bawaba bench gate`: the decision latency end to end, on the gate test bed
//! (`bawaba_gate::testbed`): from the last byte of a plate read written on the camera's pty to
//! the barrier command read off the barrier's pty, against a bare pty echo round trip measured
//! in the same run.

use std::time::{Duration, Instant};

use bawaba_domain::stats::percentile;
use bawaba_gate::emulator::Pty;
use bawaba_gate::serial::{SerialPort, SerialSettings};
use bawaba_gate::testbed::{Bed, bench_plate, plate_read};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Latency figures, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Percentiles {
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}

impl Percentiles {
    pub fn of(mut samples: Vec<Duration>) -> Percentiles {
        samples.sort();
        let q = |p| percentile(&samples, p).map_or(0.0, |d| d.as_secs_f64() * 1e6);
        Percentiles {
            p50: q(50),
            p99: q(99),
            max: q(100),
        }
    }
}

impl std::fmt::Display for Percentiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "p50 {:8.1} µs   p99 {:8.1} µs   max {:9.1} µs",
            self.p50, self.p99, self.max
        )
    }
}

/// What `bawaba bench gate` prints.
#[derive(Debug, Clone)]
pub struct GateBenchReport {
    pub bookings: usize,
    pub passages: usize,
    pub echo: Percentiles,
    pub decision: Percentiles,
    pub missed: usize,
}

impl std::fmt::Display for GateBenchReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "gate decision latency: {} passages, replica of {} bookings",
            self.passages, self.bookings
        )?;
        writeln!(f, "  pty echo round trip (18 B, baseline)  {}", self.echo)?;
        writeln!(
            f,
            "  plate read → barrier command          {}",
            self.decision
        )?;
        writeln!(
            f,
            "  p99 / echo p99: {:.1}x",
            self.decision.p99 / self.echo.p99.max(f64::EPSILON)
        )?;
        writeln!(
            f,
            "  bar (p99 under 5 ms): {}",
            if self.decision.p99 < 5000.0 && self.missed == 0 {
                "met"
            } else {
                "NOT met"
            }
        )?;
        if self.missed > 0 {
            writeln!(f, "  passages with no barrier command: {}", self.missed)?;
        }
        Ok(())
    }
}

/// A bare echo round trip on a pseudo-terminal: the floor under any gate latency here.
async fn echo_baseline(n: usize) -> Result<Percentiles, BoxError> {
    let mut pty = Pty::open()?;
    let mut port = SerialPort::open(&SerialSettings::rfid(pty.slave_path()))?;
    let echo = tokio::spawn(async move {
        let mut buf = [0; 512];
        while let Ok(len @ 1..) = pty.read(&mut buf).await {
            if pty.write_all(&buf[..len]).await.is_err() {
                break;
            }
        }
    });
    let (msg, mut back) = ([0x55u8; 18], [0u8; 18]);
    let mut samples = Vec::with_capacity(n);
    for i in 0..n + n / 10 {
        let start = Instant::now();
        port.write_all(&msg).await?;
        port.read_exact(&mut back).await?;
        if i >= n / 10 {
            samples.push(start.elapsed());
        }
    }
    echo.abort();
    Ok(Percentiles::of(samples))
}

/// Runs the gate latency benchmark: `bookings` in the replica, `passages` trucks measured one
/// after another (plate read only, so each decides on its read).
pub async fn run_gate_bench(bookings: usize, passages: usize) -> Result<GateBenchReport, BoxError> {
    let passages = passages.min(bookings);
    let echo = echo_baseline(passages.max(100)).await?;
    let mut bed = Bed::start(false).await?;
    tracing::info!(bookings, "booking the bench trucks");
    bed.book_many(bookings).await?;
    bed.synced(bookings, Duration::from_secs(300)).await?;
    let mut samples = Vec::with_capacity(passages);
    let mut missed = 0;
    for i in 0..passages {
        let sent = bed.camera_in.send(&plate_read(&bench_plate(i))).await?;
        match tokio::time::timeout(Duration::from_secs(2), bed.barrier_in.recv()).await {
            Ok(Ok((at, _))) => samples.push(at.saturating_duration_since(sent)),
            _ => missed += 1,
        }
    }
    Ok(GateBenchReport {
        bookings,
        passages,
        echo,
        decision: Percentiles::of(samples),
        missed,
    })
}
