//! Device drivers: ANPR camera, RFID reader and barrier relay board, each a task running the
//! shared reconnecting link ([`crate::serial`]).
//!
//! Every `spawn_*` function needs a tokio runtime and returns a [`DeviceTask`]; the task ends when
//! `shutdown` turns `true` (or its sender is dropped), or when the receiver of its output is
//! dropped (the barrier's: when every [`Barrier`] handle is dropped).

mod barrier;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bawaba_codec::rfid::{BROADCAST, ReaderCommand};
use bawaba_codec::{AnprDecoder, AnprFormat, InventoryStatus, PlateRead, ReaderCodec, ReaderEvent};
use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::serial::link::{FrameSink, HostCodec, Link, Polling};
use crate::serial::{LinkConfig, SerialSettings, StatsHandle};

pub use barrier::{Barrier, BarrierConfig, BarrierFault, PulseMode, PulseReport, spawn_barrier};

/// The clock the agent runs on (real or simulated): its time, and waiting for an instant of
/// it (the lanes' fusion deadlines).
pub type Clock = Arc<dyn bawaba_app::Clock>;

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(bawaba_app::SystemClock)
}

/// A running device driver.
#[derive(Debug)]
pub struct DeviceTask {
    /// The device's counters.
    pub stats: StatsHandle,
    /// The driver task (it never panics; await it after shutdown).
    pub task: JoinHandle<()>,
}

/// One plate read by a camera.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CameraRead {
    /// When the agent decoded the frame.
    pub received_at: Instant,
    /// The agent's clock at that moment.
    pub at: DateTime<Utc>,
    pub read: PlateRead,
}

/// A camera's line and wire format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CameraConfig {
    pub serial: SerialSettings,
    pub link: LinkConfig,
    pub format: AnprFormat,
}

impl CameraConfig {
    /// 9600 8N1, default link settings (no watchdog: cameras are silent without traffic).
    pub fn new(path: impl Into<std::path::PathBuf>, format: AnprFormat) -> Self {
        Self {
            serial: SerialSettings::camera(path),
            link: LinkConfig::default(),
            format,
        }
    }
}

/// Starts a camera driver sending its reads to `out`.
pub fn spawn_camera(
    config: CameraConfig,
    clock: Clock,
    out: mpsc::Sender<CameraRead>,
    shutdown: watch::Receiver<bool>,
) -> DeviceTask {
    let format = config.format;
    let sink = CameraSink { clock, out };
    let codec = move || AnprDecoder::new(format.clone());
    DeviceTask::spawn(Link::new(
        "camera",
        config.serial,
        config.link,
        codec,
        sink,
        shutdown,
    ))
}

struct CameraSink {
    clock: Clock,
    out: mpsc::Sender<CameraRead>,
}

impl FrameSink<PlateRead> for CameraSink {
    async fn deliver(&mut self, received_at: Instant, read: PlateRead) -> bool {
        let at = self.clock.now();
        self.out
            .send(CameraRead {
                received_at,
                at,
                read,
            })
            .await
            .is_ok()
    }
}

/// One tag seen by an RFID reader. Every tag of every reply is reported, repeats included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagRead {
    /// When the agent decoded the frame.
    pub received_at: Instant,
    /// The agent's clock at that moment.
    pub at: DateTime<Utc>,
    pub epc: Vec<u8>,
    /// Address of the reader that sent it (Reader18 frames carry no antenna number).
    pub adr: u8,
}

/// How the agent talks to an RFID reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RfidMode {
    /// The agent polls with the inventory command every `poll_interval` (at most one poll
    /// outstanding; an unanswered one expires after `reply_timeout`).
    Answer {
        poll_interval: Duration,
        reply_timeout: Duration,
    },
    /// The reader pushes a frame per tag seen (scan mode); the agent listens.
    Push,
}

/// An RFID reader's line and mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RfidConfig {
    pub serial: SerialSettings,
    /// `idle` enables the watchdog; its probe is the inventory command.
    pub link: LinkConfig,
    pub mode: RfidMode,
    /// Reader address used in commands ([`BROADCAST`] reaches any reader).
    pub adr: u8,
}

impl RfidConfig {
    /// Answer mode, polling every 50 ms (reply timeout 1 s), watchdog after 1 s of silence,
    /// 57600 8N1, broadcast address.
    pub fn answer(path: impl Into<std::path::PathBuf>) -> Self {
        Self {
            serial: SerialSettings::rfid(path),
            link: LinkConfig {
                idle: Some(Duration::from_secs(1)),
                ..LinkConfig::default()
            },
            mode: RfidMode::Answer {
                poll_interval: Duration::from_millis(50),
                reply_timeout: Duration::from_secs(1),
            },
            adr: BROADCAST,
        }
    }

    /// Push mode (no watchdog: a reader in scan mode is silent without tags), 57600 8N1.
    pub fn push(path: impl Into<std::path::PathBuf>) -> Self {
        Self {
            link: LinkConfig::default(),
            mode: RfidMode::Push,
            ..Self::answer(path)
        }
    }
}

/// Starts an RFID reader driver sending every tag it reports to `out`.
pub fn spawn_rfid(
    config: RfidConfig,
    clock: Clock,
    out: mpsc::Sender<TagRead>,
    shutdown: watch::Receiver<bool>,
) -> DeviceTask {
    let inventory = ReaderCommand::Inventory { adr: config.adr }
        .encode()
        .unwrap_or_default();
    let polling = match config.mode {
        RfidMode::Answer {
            poll_interval,
            reply_timeout,
        } => Some(Polling {
            bytes: inventory.clone(),
            every: poll_interval,
            timeout: reply_timeout,
        }),
        RfidMode::Push => None,
    };
    let sink = ReaderSink { clock, out };
    let codec = ReaderCodec::new;
    DeviceTask::spawn(Link {
        probe: Some(inventory),
        polling,
        ..Link::new("rfid", config.serial, config.link, codec, sink, shutdown)
    })
}

struct ReaderSink {
    clock: Clock,
    out: mpsc::Sender<TagRead>,
}

impl FrameSink<ReaderEvent> for ReaderSink {
    async fn deliver(&mut self, received_at: Instant, event: ReaderEvent) -> bool {
        let (adr, tags) = match event {
            ReaderEvent::Inventory { adr, status, tags } => {
                if let InventoryStatus::Error(code) = status {
                    tracing::debug!(adr, code, "RFID reader reports an inventory error");
                }
                (adr, tags)
            }
            ReaderEvent::Tag { adr, epc } => (adr, vec![epc]),
            other @ ReaderEvent::Other { .. } => {
                tracing::debug!(?other, "unexpected RFID reader frame");
                return true;
            }
        };
        let at = self.clock.now();
        for epc in tags {
            let read = TagRead {
                received_at,
                at,
                epc,
                adr,
            };
            if self.out.send(read).await.is_err() {
                return false;
            }
        }
        true
    }
}

impl DeviceTask {
    fn spawn<C, F, S>(link: Link<F, S>) -> Self
    where
        C: HostCodec,
        F: Fn() -> C + Send + 'static,
        S: FrameSink<C::Item>,
    {
        Self {
            stats: link.stats.clone(),
            task: tokio::spawn(link.run()),
        }
    }
}
