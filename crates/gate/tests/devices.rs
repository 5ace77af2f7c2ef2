//! The device drivers against the emulators, over real pseudo-terminals. Every test has its own
//! temporary directory (and ptys), so they run in parallel.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bawaba_codec::{AnprFormat, BarrierCommand, PlateRead, Template};
use bawaba_gate::emulator::{BarrierEmulator, CameraEmulator, ReaderEmulator, ReaderMode};
use bawaba_gate::{
    BarrierConfig, BarrierFault, CameraConfig, CameraRead, Clock, LinkConfig, PulseMode,
    RfidConfig, RfidMode, TagRead, spawn_barrier, spawn_camera, spawn_rfid,
};
use chrono::{NaiveDate, TimeZone, Utc};
use tokio::sync::{mpsc, watch};

const WAIT: Duration = Duration::from_secs(5);
const EPC_1: [u8; 12] = [
    0xE2, 0, 0, 0x17, 0x22, 0x11, 0x01, 0x44, 0x18, 0x90, 0xAB, 0xCD,
];
const EPC_2: [u8; 4] = [0x30, 0x08, 0x33, 0xB2];

/// Quick recovery, for tests.
fn fast_link() -> LinkConfig {
    LinkConfig {
        backoff_initial: Duration::from_millis(50),
        backoff_max: Duration::from_millis(200),
        idle: None,
        frame_gap: Duration::from_millis(10),
    }
}

fn fixed_clock() -> Clock {
    Arc::new(bawaba_app::SimClock::new(
        Utc.with_ymd_and_hms(2025, 3, 14, 7, 5, 9).unwrap(),
    ))
}

async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn recv<T>(rx: &mut mpsc::Receiver<T>) -> T {
    tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("timed out waiting for a read")
        .expect("driver stopped")
}

fn plate(plate: &str) -> PlateRead {
    PlateRead {
        camera_time: NaiveDate::from_ymd_opt(2025, 3, 14)
            .unwrap()
            .and_hms_opt(7, 5, 9),
        lane: Some(1),
        plate: Some(plate.to_owned()),
        ..PlateRead::default()
    }
}

/// A camera emulator and its driver, connected.
async fn camera(
    dir: &Path,
    format: AnprFormat,
) -> (
    CameraEmulator,
    bawaba_gate::DeviceTask,
    mpsc::Receiver<CameraRead>,
    watch::Sender<bool>,
) {
    let cam = CameraEmulator::spawn(dir.join("camera-in-1"), format.clone()).unwrap();
    let (tx, rx) = mpsc::channel(16);
    let (stop, shutdown) = watch::channel(false);
    let config = CameraConfig {
        link: fast_link(),
        ..CameraConfig::new(cam.path(), format)
    };
    let dev = spawn_camera(config, fixed_clock(), tx, shutdown);
    eventually("camera connected", || dev.stats.connected()).await;
    (cam, dev, rx, stop)
}

#[tokio::test]
async fn camera_stx_etx_reads_survive_garbage() {
    let dir = tempfile::tempdir().unwrap();
    let (cam, dev, mut rx, stop) = camera(dir.path(), AnprFormat::StxEtx).await;

    let sent = cam.send(&plate("AB 123")).await.unwrap();
    let got = recv(&mut rx).await;
    assert_eq!(got.read, plate("AB 123"));
    assert_eq!(got.at, fixed_clock().now());
    assert!(got.received_at >= sent);
    assert_eq!(cam.last_write(), Some(sent));

    cam.send_raw(b"\xFFnoise").await.unwrap();
    cam.send(&plate("6012345")).await.unwrap();
    assert_eq!(recv(&mut rx).await.read, plate("6012345"));
    let stats = dev.stats.snapshot();
    assert_eq!((stats.frames, stats.garbage_bytes), (2, 6));
    assert!(stats.last_frame.is_some());

    stop.send(true).unwrap();
    tokio::time::timeout(WAIT, dev.task).await.unwrap().unwrap();
    assert!(!dev.stats.connected());
}

#[tokio::test]
async fn camera_template_lines() {
    let dir = tempfile::tempdir().unwrap();
    let template = Template::parse("%PLATE%,%CONF%,%COUNTRY%").unwrap();
    let (cam, dev, mut rx, _stop) = camera(dir.path(), AnprFormat::Template(template)).await;
    let read = PlateRead {
        plate: Some("6012345".into()),
        confidence: Some(87),
        country: Some("JO".into()),
        ..PlateRead::default()
    };
    cam.send(&read).await.unwrap();
    assert_eq!(recv(&mut rx).await.read, read);
    cam.send_raw(b"not a plate line\r\n").await.unwrap();
    cam.send(&read).await.unwrap();
    assert_eq!(recv(&mut rx).await.read, read);
    let stats = dev.stats.snapshot();
    assert_eq!((stats.frames, stats.bad_frames), (2, 1));
}

#[tokio::test]
async fn rfid_answer_mode_polls_and_recovers_from_noise() {
    let dir = tempfile::tempdir().unwrap();
    let reader =
        ReaderEmulator::spawn(dir.path().join("rfid-in-1"), ReaderMode::Answer, 0).unwrap();
    let (tx, mut rx) = mpsc::channel(64);
    let (_stop, shutdown) = watch::channel(false);
    let config = RfidConfig {
        link: fast_link(),
        // A long reply timeout: after noise, only the frame gap (line_idle) keeps polls going.
        mode: RfidMode::Answer {
            poll_interval: Duration::from_millis(20),
            reply_timeout: Duration::from_secs(30),
        },
        ..RfidConfig::answer(reader.path())
    };
    let dev = spawn_rfid(config, fixed_clock(), tx, shutdown);

    // No tag in the field: polls are answered "no tag", nothing is emitted.
    eventually("polls", || reader.polls() >= 3).await;
    assert!(rx.try_recv().is_err());
    assert!(dev.stats.snapshot().frames >= 2);

    reader.set_tags(vec![EPC_1.to_vec(), EPC_2.to_vec()]);
    let first: TagRead = recv(&mut rx).await;
    let second = recv(&mut rx).await;
    assert_eq!(
        (first.epc.as_slice(), second.epc.as_slice()),
        (&EPC_1[..], &EPC_2[..])
    );
    assert_eq!((first.adr, first.at), (0, fixed_clock().now()));
    assert_eq!(first.received_at, second.received_at);

    // A noise byte makes the decoder wait for a 256-byte candidate; the frame gap resolves it.
    let noise_at = reader.send_raw(&[0xFF]).await.unwrap();
    eventually("bad frame", || dev.stats.snapshot().bad_frames >= 1).await;
    loop {
        if recv(&mut rx).await.received_at > noise_at + Duration::from_millis(50) {
            break;
        }
    }
}

#[tokio::test]
async fn rfid_push_mode() {
    let dir = tempfile::tempdir().unwrap();
    let every = Duration::from_millis(20);
    let reader =
        ReaderEmulator::spawn(dir.path().join("rfid"), ReaderMode::Push { every }, 3).unwrap();
    reader.set_tags(vec![EPC_1.to_vec()]);
    let (tx, mut rx) = mpsc::channel(64);
    let (_stop, shutdown) = watch::channel(false);
    let config = RfidConfig {
        link: fast_link(),
        ..RfidConfig::push(reader.path())
    };
    let dev = spawn_rfid(config, fixed_clock(), tx, shutdown);
    for _ in 0..3 {
        let read = recv(&mut rx).await;
        assert_eq!((read.epc.as_slice(), read.adr), (&EPC_1[..], 3));
    }
    // The driver does not poll in push mode.
    assert_eq!(reader.polls(), 0);
    assert!(dev.stats.snapshot().frames >= 3);
}

async fn barrier(
    dir: &Path,
    mode: PulseMode,
) -> (
    BarrierEmulator,
    bawaba_gate::Barrier,
    bawaba_gate::DeviceTask,
    watch::Sender<bool>,
) {
    let emu = BarrierEmulator::spawn(dir.join("barrier-in-1"), 1).unwrap();
    let (stop, shutdown) = watch::channel(false);
    let config = BarrierConfig {
        link: fast_link(),
        mode,
        ..BarrierConfig::new(emu.path())
    };
    let (barrier, dev) = spawn_barrier(config, shutdown);
    eventually("barrier connected", || dev.stats.connected()).await;
    (emu, barrier, dev, stop)
}

#[tokio::test]
async fn barrier_flash_pulse() {
    let dir = tempfile::tempdir().unwrap();
    let (emu, barrier, _dev, _stop) = barrier(dir.path(), PulseMode::Flash).await;
    let mut seen = emu.subscribe();
    let report = barrier.pulse(0, 5).await.unwrap();
    let (at, command) = seen.try_recv().unwrap();
    assert_eq!(
        command.to_bytes(),
        [0x01, 0x05, 0x02, 0x00, 0x00, 0x05, 0x0C, 0x71]
    );
    assert_eq!(report.command, command);
    assert!(report.echoed_at >= at && at >= report.written_at);
    assert!(report.released_at.is_none());
    assert!(seen.try_recv().is_err(), "exactly one frame");
    assert_eq!(barrier.stats().snapshot().faults, 0);
}

#[tokio::test]
async fn barrier_on_off_pulse() {
    let dir = tempfile::tempdir().unwrap();
    let (emu, barrier, _dev, _stop) = barrier(dir.path(), PulseMode::OnOff).await;
    let mut seen = emu.subscribe();
    let report = barrier.pulse(0, 2).await.unwrap();
    let (on_at, on) = seen.try_recv().unwrap();
    let (off_at, off) = seen.try_recv().unwrap();
    assert_eq!(
        on.to_bytes(),
        [0x01, 0x05, 0x00, 0x00, 0xFF, 0x00, 0x8C, 0x3A]
    );
    assert_eq!(
        off.to_bytes(),
        [0x01, 0x05, 0x00, 0x00, 0x00, 0x00, 0xCD, 0xCA]
    );
    assert!(off_at - on_at >= Duration::from_millis(200));
    assert!(report.released_at.is_some_and(|t| t >= off_at));
    assert!(matches!(
        report.command,
        BarrierCommand::Coil { on: true, .. }
    ));
}

#[tokio::test]
async fn barrier_faults() {
    let dir = tempfile::tempdir().unwrap();
    let (emu, barrier, _dev, _stop) = barrier(dir.path(), PulseMode::Flash).await;

    emu.set_echo(false);
    let start = Instant::now();
    let fault = barrier.pulse(0, 5).await.unwrap_err();
    let elapsed = start.elapsed();
    assert!(matches!(fault, BarrierFault::NoEcho { .. }), "{fault:?}");
    assert!(
        elapsed >= Duration::from_millis(200) && elapsed < Duration::from_millis(400),
        "{elapsed:?}"
    );
    assert_eq!(barrier.stats().snapshot().faults, 1);

    emu.set_exception(Some(4));
    let fault = barrier.pulse(0, 5).await.unwrap_err();
    assert!(
        matches!(fault, BarrierFault::Exception { code: 4, .. }),
        "{fault:?}"
    );
    emu.set_exception(None);
    emu.set_echo(true);
    barrier.pulse(0, 5).await.unwrap();
    assert_eq!(barrier.stats().snapshot().faults, 2);

    emu.unplug().await.unwrap();
    eventually("disconnected", || !barrier.stats().connected()).await;
    assert_eq!(barrier.pulse(0, 5).await, Err(BarrierFault::NotConnected));
    assert_eq!(barrier.stats().snapshot().faults, 3);
}

#[tokio::test]
async fn unplug_and_replug() {
    let dir = tempfile::tempdir().unwrap();
    let (cam, dev, mut rx, _stop) = camera(dir.path(), AnprFormat::StxEtx).await;
    cam.send(&plate("AB 123")).await.unwrap();
    recv(&mut rx).await;

    cam.unplug().await.unwrap();
    assert!(!cam.path().exists());
    eventually("disconnected", || !dev.stats.connected()).await;
    assert!(cam.send(&plate("AB 124")).await.is_err());
    eventually("failed reopen", || dev.stats.snapshot().open_failures >= 1).await;
    assert_eq!(dev.stats.snapshot().reconnects, 0);

    cam.replug().await.unwrap();
    eventually("reconnected", || {
        let s = dev.stats.snapshot();
        s.connected && s.reconnects == 1
    })
    .await;
    cam.send(&plate("AB 125")).await.unwrap();
    assert_eq!(recv(&mut rx).await.read, plate("AB 125"));
    assert_eq!(dev.stats.snapshot().frames, 2);
}

#[tokio::test]
async fn watchdog_probes_then_reopens_a_silent_reader() {
    let dir = tempfile::tempdir().unwrap();
    let every = Duration::from_millis(20);
    let reader =
        ReaderEmulator::spawn(dir.path().join("rfid"), ReaderMode::Push { every }, 0).unwrap();
    reader.set_silent(true);
    let (tx, mut rx) = mpsc::channel(64);
    let (_stop, shutdown) = watch::channel(false);
    let config = RfidConfig {
        link: LinkConfig {
            idle: Some(Duration::from_millis(150)),
            ..fast_link()
        },
        ..RfidConfig::push(reader.path())
    };
    let dev = spawn_rfid(config, fixed_clock(), tx, shutdown);

    eventually("probe", || reader.polls() >= 1).await;
    let stats = dev.stats.snapshot();
    assert_eq!((stats.probes, stats.reconnects), (1, 0));
    eventually("reopened", || dev.stats.snapshot().reconnects >= 1).await;
    assert_eq!(dev.stats.snapshot().watchdog_resets, 1);

    // A talking reader keeps the watchdog quiet.
    reader.set_tags(vec![EPC_2.to_vec()]);
    reader.set_silent(false);
    assert_eq!(recv(&mut rx).await.epc, EPC_2);
    let resets = dev.stats.snapshot().watchdog_resets;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(dev.stats.snapshot().watchdog_resets, resets);
}
