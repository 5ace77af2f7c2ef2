//! Baseline of the gate latency benchmark, on pseudo-terminals:
//!
//! * bare echo: the agent side writes N bytes to the pty slave, a task echoes them from the
//!   master, the agent reads them back (round trip);
//! * camera: emulator's last byte written → `CameraRead::received_at` (driver, codec, channel);
//! * barrier: `Barrier::pulse` flash command written → echo decoded.
//!
//! `cargo run --release -p bawaba-gate --example pty_echo [round_trips]` (default 2000), on a
//! current-thread and on a two-worker runtime.
#![allow(clippy::print_stdout)]

use std::error::Error;
use std::time::{Duration, Instant};

use bawaba_codec::{AnprFormat, PlateRead};
use bawaba_gate::emulator::{BarrierEmulator, CameraEmulator, Pty};
use bawaba_gate::serial::{SerialPort, SerialSettings};
use bawaba_gate::{BarrierConfig, CameraConfig, spawn_barrier, spawn_camera, system_clock};
use chrono::NaiveDate;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, watch};

const WARM_UP: usize = 200;

fn main() -> Result<(), Box<dyn Error>> {
    let n = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(2000);
    let current = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let multi = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    for (flavor, rt) in [("current_thread", current), ("multi_thread(2)", multi)] {
        println!("{flavor}, {n} round trips after {WARM_UP} warm-up:");
        rt.block_on(run(n))?;
    }
    Ok(())
}

async fn run(n: usize) -> Result<(), Box<dyn Error>> {
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
    for size in [1, 8, 18, 64] {
        let msg = vec![0x55; size];
        let mut back = vec![0; size];
        let mut samples = Vec::with_capacity(n);
        for i in 0..n + WARM_UP {
            let start = Instant::now();
            port.write_all(&msg).await?;
            port.read_exact(&mut back).await?;
            if i >= WARM_UP {
                samples.push(start.elapsed());
            }
        }
        report(&format!("bare echo {size:2} B"), samples);
    }
    drop(port);
    echo.abort();

    let dir = tempfile::tempdir()?;
    let (_stop, shutdown) = watch::channel(false);
    let cam = CameraEmulator::spawn(dir.path().join("camera"), AnprFormat::StxEtx)?;
    let (tx, mut rx) = mpsc::channel(16);
    let camera = spawn_camera(
        CameraConfig::new(cam.path(), AnprFormat::StxEtx),
        system_clock(),
        tx,
        shutdown.clone(),
    );
    let read = PlateRead {
        camera_time: NaiveDate::from_ymd_opt(2025, 3, 14).and_then(|d| d.and_hms_opt(7, 5, 9)),
        lane: Some(1),
        plate: Some("6012345".into()),
        ..PlateRead::default()
    };
    wait_connected(|| camera.stats.connected()).await;
    let mut samples = Vec::with_capacity(n);
    for i in 0..n + WARM_UP {
        let sent = cam.send(&read).await?;
        let got = rx.recv().await.ok_or("camera driver stopped")?;
        if i >= WARM_UP {
            samples.push(got.received_at - sent);
        }
    }
    report("camera read (27 B)", samples);

    let board = BarrierEmulator::spawn(dir.path().join("barrier"), 1)?;
    let (barrier, dev) = spawn_barrier(BarrierConfig::new(board.path()), shutdown);
    wait_connected(|| dev.stats.connected()).await;
    let mut samples = Vec::with_capacity(n);
    for i in 0..n + WARM_UP {
        let pulse = barrier.pulse(0, 5).await?;
        if i >= WARM_UP {
            samples.push(pulse.echoed_at - pulse.written_at);
        }
    }
    report("barrier pulse echo", samples);
    Ok(())
}

async fn wait_connected(connected: impl Fn() -> bool) {
    while !connected() {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

fn report(what: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let q = |p: f64| {
        let i = ((samples.len() as f64 * p) as usize).min(samples.len().saturating_sub(1));
        samples.get(i).map_or(0.0, |d| d.as_secs_f64() * 1e6)
    };
    println!(
        "  {what:20} p50 {:7.1} µs   p99 {:7.1} µs   max {:8.1} µs",
        q(0.5),
        q(0.99),
        q(1.0)
    );
}
