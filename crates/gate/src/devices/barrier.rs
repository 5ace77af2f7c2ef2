//! Barrier relay board driver: Modbus RTU function 05 pulses, one command at a time.

use std::time::{Duration, Instant};

use bawaba_codec::modbus::is_echo_of;
use bawaba_codec::{BarrierCodec, BarrierCommand, ModbusReply};
use tokio::sync::{mpsc, oneshot, watch};

use super::DeviceTask;
use crate::serial::link::{FrameSink, Link, WriteRequest};
use crate::serial::{LinkConfig, SerialSettings, StatsHandle};

/// How a pulse is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PulseMode {
    /// One hardware-timed "flash on" command ([`BarrierCommand::FlashOn`]).
    #[default]
    Flash,
    /// Relay on, sleep the duration, relay off (boards without flash support).
    OnOff,
}

/// A barrier board's line and protocol settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BarrierConfig {
    pub serial: SerialSettings,
    pub link: LinkConfig,
    /// Modbus slave id of the board.
    pub slave: u8,
    pub mode: PulseMode,
    /// How long to wait for the echo of each command, from its last byte written.
    pub echo_timeout: Duration,
}

impl BarrierConfig {
    /// 9600 8N1, slave 1, flash mode, 200 ms echo timeout, no watchdog.
    pub fn new(path: impl Into<std::path::PathBuf>) -> Self {
        Self {
            serial: SerialSettings::barrier(path),
            link: LinkConfig::default(),
            slave: 1,
            mode: PulseMode::Flash,
            echo_timeout: Duration::from_millis(200),
        }
    }
}

/// A completed pulse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PulseReport {
    /// The command that closes the relay (flash, or "on").
    pub command: BarrierCommand,
    /// When its last byte was handed to the kernel (on a real line, add
    /// [`SerialSettings::transmit_time`] of 8 bytes for it to be on the wire).
    pub written_at: Instant,
    /// When its echo was decoded.
    pub echoed_at: Instant,
    /// On/off mode: when the echo of the "off" command was decoded.
    pub released_at: Option<Instant>,
}

/// Why a pulse failed. Faults are logged (`warn`) and counted in
/// [`crate::serial::DeviceStats::faults`], except [`BarrierFault::Stopped`] once the driver
/// has ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BarrierFault {
    #[error("barrier line not connected")]
    NotConnected,
    #[error("no echo of {command:?} within {timeout:?}")]
    NoEcho {
        command: BarrierCommand,
        timeout: Duration,
    },
    #[error("exception {code} in reply to {command:?}")]
    Exception { command: BarrierCommand, code: u8 },
    #[error("reply {reply:?} is not the echo of {command:?}")]
    WrongEcho {
        command: BarrierCommand,
        reply: ModbusReply,
    },
    #[error("barrier driver stopped")]
    Stopped,
}

/// Handle on a barrier driver; clones share the driver, which serialises their commands.
#[derive(Debug, Clone)]
pub struct Barrier {
    jobs: mpsc::Sender<Job>,
    stats: StatsHandle,
}

#[derive(Debug)]
struct Job {
    relay: u8,
    duration_100ms: u16,
    done: oneshot::Sender<Result<PulseReport, BarrierFault>>,
}

impl Barrier {
    /// Closes `relay` for `duration_100ms` × 100 ms and waits for the board's acknowledgement
    /// (in on/off mode, for the whole on–sleep–off sequence). Dropping the future does not cancel
    /// a pulse already started.
    pub async fn pulse(&self, relay: u8, duration_100ms: u16) -> Result<PulseReport, BarrierFault> {
        let (done, report) = oneshot::channel();
        let job = Job {
            relay,
            duration_100ms,
            done,
        };
        self.jobs
            .send(job)
            .await
            .map_err(|_| BarrierFault::Stopped)?;
        report.await.map_err(|_| BarrierFault::Stopped)?
    }

    /// The board's counters.
    pub fn stats(&self) -> &StatsHandle {
        &self.stats
    }
}

/// Starts a barrier driver; it stops on shutdown or when every [`Barrier`] clone is dropped.
pub fn spawn_barrier(
    config: BarrierConfig,
    shutdown: watch::Receiver<bool>,
) -> (Barrier, DeviceTask) {
    let (requests_tx, requests) = mpsc::channel(1);
    let (replies_tx, replies) = mpsc::channel(8);
    let (jobs, jobs_rx) = mpsc::channel(16);
    let link = Link {
        requests: Some(requests),
        ..Link::new(
            "barrier",
            config.serial.clone(),
            config.link.clone(),
            BarrierCodec::new,
            ReplySink(replies_tx),
            shutdown,
        )
    };
    let stats = link.stats.clone();
    let worker = Worker {
        config,
        stats: stats.clone(),
        link: requests_tx,
        replies,
    };
    let task_stats = stats.clone();
    let task = tokio::spawn(async move {
        tokio::select! {
            () = link.run() => {}
            () = worker.run(jobs_rx) => {}
        }
        task_stats.disconnected();
    });
    (
        Barrier {
            jobs,
            stats: stats.clone(),
        },
        DeviceTask { stats, task },
    )
}

/// Passes replies to the worker; unsolicited ones beyond the channel's capacity are dropped.
struct ReplySink(mpsc::Sender<(Instant, ModbusReply)>);

impl FrameSink<ModbusReply> for ReplySink {
    async fn deliver(&mut self, received_at: Instant, reply: ModbusReply) -> bool {
        match self.0.try_send((received_at, reply)) {
            Err(mpsc::error::TrySendError::Closed(_)) => false,
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::debug!(?reply, "unsolicited barrier reply dropped");
                true
            }
            Ok(()) => true,
        }
    }
}

/// Runs pulses one after the other.
struct Worker {
    config: BarrierConfig,
    stats: StatsHandle,
    link: mpsc::Sender<WriteRequest>,
    replies: mpsc::Receiver<(Instant, ModbusReply)>,
}

impl Worker {
    async fn run(mut self, mut jobs: mpsc::Receiver<Job>) {
        while let Some(job) = jobs.recv().await {
            let result = self.pulse(job.relay, job.duration_100ms).await;
            if let Err(fault) = &result {
                self.stats.fault();
                tracing::warn!(
                    path = %self.config.serial.path.display(),
                    relay = job.relay,
                    %fault,
                    "barrier pulse failed"
                );
            }
            let _ = job.done.send(result);
        }
    }

    async fn pulse(&mut self, relay: u8, duration_100ms: u16) -> Result<PulseReport, BarrierFault> {
        let slave = self.config.slave;
        let command = match self.config.mode {
            PulseMode::Flash => BarrierCommand::FlashOn {
                slave,
                relay,
                duration_100ms,
            },
            PulseMode::OnOff => BarrierCommand::Coil {
                slave,
                relay,
                on: true,
            },
        };
        let (written_at, echoed_at) = self.exchange(command).await?;
        let released_at = match self.config.mode {
            PulseMode::Flash => None,
            PulseMode::OnOff => {
                tokio::time::sleep(Duration::from_millis(100) * u32::from(duration_100ms)).await;
                let off = BarrierCommand::Coil {
                    slave,
                    relay,
                    on: false,
                };
                Some(self.exchange(off).await?.1)
            }
        };
        Ok(PulseReport {
            command,
            written_at,
            echoed_at,
            released_at,
        })
    }

    /// Writes `command` and waits for its echo: (last byte written, echo decoded).
    async fn exchange(
        &mut self,
        command: BarrierCommand,
    ) -> Result<(Instant, Instant), BarrierFault> {
        while self.replies.try_recv().is_ok() {}
        let (done, written) = oneshot::channel();
        let bytes = command.to_bytes().to_vec();
        self.link
            .send(WriteRequest { bytes, done })
            .await
            .map_err(|_| BarrierFault::Stopped)?;
        let written_at = written
            .await
            .map_err(|_| BarrierFault::Stopped)?
            .map_err(|_| BarrierFault::NotConnected)?;
        let timeout = self.config.echo_timeout;
        let (echoed_at, reply) =
            tokio::time::timeout_at((written_at + timeout).into(), self.replies.recv())
                .await
                .map_err(|_| BarrierFault::NoEcho { command, timeout })?
                .ok_or(BarrierFault::Stopped)?;
        match reply {
            r if is_echo_of(&command, &r) => Ok((written_at, echoed_at)),
            ModbusReply::Exception { code, .. } => Err(BarrierFault::Exception { command, code }),
            reply => Err(BarrierFault::WrongEcho { command, reply }),
        }
    }
}
