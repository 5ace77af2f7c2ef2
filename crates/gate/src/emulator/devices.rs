//! The three device emulators.

use std::io;
use std::ops::Deref;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bawaba_codec::modbus::WRITE_SINGLE_COIL;
use bawaba_codec::rfid::{BROADCAST, encode_inventory_reply, encode_push_tag};
use bawaba_codec::{
    AnprEncoder, AnprFormat, BarrierCommand, BarrierSlaveCodec, CoilWrite, CommandDecoder,
    InventoryStatus, ModbusReply, PlateRead, ReaderCommand,
};
use bytes::BytesMut;
use tokio::sync::{broadcast, mpsc};
use tokio_util::codec::Decoder;

use super::{Ctl, EmulatedPort, EmulatorError, Responder, spawn_port, write_via};

/// An ANPR camera: writes plate reads in its format. Dereferences to its [`EmulatedPort`]
/// (`send_raw` for garbage, `last_write`, `unplug`, `replug`).
#[derive(Debug)]
pub struct CameraEmulator {
    port: EmulatedPort,
    format: AnprFormat,
    encoder: AnprEncoder,
}

impl CameraEmulator {
    /// A camera on a new pty published at `link`. Needs a tokio runtime.
    pub fn spawn(link: impl Into<PathBuf>, format: AnprFormat) -> io::Result<Self> {
        Ok(Self {
            port: spawn_port(link.into(), Ignore)?,
            encoder: AnprEncoder::new(format.clone()),
            format,
        })
    }

    /// Sends one read; returns when its last byte was written.
    pub async fn send(&self, read: &PlateRead) -> Result<Instant, EmulatorError> {
        self.port.send_raw(&self.encoder.to_bytes(read)?).await
    }

    /// Sends line noise and then one read, in one write, as a camera on a noisy line does;
    /// returns when the last byte was written and the reads a listener's decoder (an agent's,
    /// from a clean start) takes from those bytes: the read, none (the noise destroyed the
    /// frame) or a garbled one.
    pub async fn send_after_noise(
        &self,
        noise: &[u8],
        read: &PlateRead,
    ) -> Result<(Instant, Vec<PlateRead>), EmulatorError> {
        let bytes = [noise, &self.encoder.to_bytes(read)?].concat();
        let mut decoder = bawaba_codec::AnprDecoder::new(self.format.clone());
        let mut buf = BytesMut::from(&bytes[..]);
        let mut taken = Vec::new();
        while let Ok(Some(r)) = decoder.decode(&mut buf) {
            taken.push(r);
        }
        Ok((self.port.send_raw(&bytes).await?, taken))
    }
}

/// A camera ignores what it receives.
struct Ignore;

/// Discards every byte.
#[derive(Debug, Default)]
struct Discard;

impl Decoder for Discard {
    type Item = ();
    type Error = bawaba_codec::Error;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<()>, Self::Error> {
        buf.clear();
        Ok(None)
    }
}

impl Responder for Ignore {
    type Decoder = Discard;

    fn respond(&mut self, _: Instant, (): ()) -> Option<Vec<u8>> {
        None
    }
}

/// How an emulated reader reports tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReaderMode {
    /// Answers each inventory poll with the tags in the field, or "no tag".
    Answer,
    /// Pushes a frame per tag in the field as soon as a new tag enters it, then every `every`
    /// (and still answers polls).
    Push { every: Duration },
}

/// A Reader18 RFID reader. Dereferences to its [`EmulatedPort`] (`send_raw` for garbage...).
#[derive(Debug)]
pub struct ReaderEmulator {
    port: EmulatedPort,
    state: Arc<ReaderState>,
}

#[derive(Debug)]
struct ReaderState {
    adr: u8,
    tags: Mutex<Vec<Vec<u8>>>,
    /// A new tag entered the field (push mode reports it at once).
    entered: tokio::sync::Notify,
    silent: AtomicBool,
    polls: AtomicU64,
}

impl ReaderState {
    fn tags(&self) -> Vec<Vec<u8>> {
        self.tags
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl ReaderEmulator {
    /// A reader with address `adr` on a new pty published at `link`. Needs a tokio runtime.
    pub fn spawn(link: impl Into<PathBuf>, mode: ReaderMode, adr: u8) -> io::Result<Self> {
        let state = Arc::new(ReaderState {
            adr,
            tags: Mutex::default(),
            entered: tokio::sync::Notify::new(),
            silent: AtomicBool::new(false),
            polls: AtomicU64::new(0),
        });
        let port = spawn_port(link.into(), ReaderSide(state.clone()))?;
        if let ReaderMode::Push { every } = mode {
            tokio::spawn(push(port.ctl.downgrade(), state.clone(), every));
        }
        Ok(Self { port, state })
    }

    /// The tags (EPCs) now in the field.
    pub fn set_tags(&self, tags: Vec<Vec<u8>>) {
        let mut field = self
            .state
            .tags
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let entered = tags.iter().any(|t| !field.contains(t));
        *field = tags;
        if entered {
            self.state.entered.notify_one();
        }
    }

    /// A silent reader receives commands but neither answers nor pushes.
    pub fn set_silent(&self, silent: bool) {
        self.state.silent.store(silent, Ordering::Relaxed);
    }

    /// Inventory commands received for this reader (answered or not).
    pub fn polls(&self) -> u64 {
        self.state.polls.load(Ordering::Relaxed)
    }
}

/// Push mode: every tag in the field when one enters it and every `every`, while the
/// emulator exists.
async fn push(ctl: mpsc::WeakSender<Ctl>, state: Arc<ReaderState>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = state.entered.notified() => tick.reset(),
        }
        let Some(ctl) = ctl.upgrade() else {
            break;
        };
        if state.silent.load(Ordering::Relaxed) {
            continue;
        }
        let frames: Vec<u8> = state
            .tags()
            .iter()
            .filter_map(|epc| encode_push_tag(state.adr, epc).ok())
            .flatten()
            .collect();
        if !frames.is_empty() {
            // Lost when no agent listens, as on a real line.
            let _ = write_via(&ctl, frames).await;
        }
    }
}

struct ReaderSide(Arc<ReaderState>);

impl Responder for ReaderSide {
    type Decoder = CommandDecoder;

    fn respond(&mut self, _: Instant, command: ReaderCommand) -> Option<Vec<u8>> {
        let state = &self.0;
        match command {
            ReaderCommand::Inventory { adr } if adr == state.adr || adr == BROADCAST => {}
            other => {
                tracing::debug!(?other, "emulated reader ignores a command");
                return None;
            }
        }
        state.polls.fetch_add(1, Ordering::Relaxed);
        if state.silent.load(Ordering::Relaxed) {
            return None;
        }
        let tags = state.tags();
        let status = if tags.is_empty() {
            InventoryStatus::NoTag
        } else {
            InventoryStatus::Done
        };
        encode_inventory_reply(state.adr, status, &tags)
            .inspect_err(|e| tracing::warn!(error = %e, "emulated reader cannot encode its reply"))
            .ok()
    }
}

/// A Modbus barrier relay board. Dereferences to its [`EmulatedPort`].
#[derive(Debug)]
pub struct BarrierEmulator {
    port: EmulatedPort,
    state: Arc<BarrierState>,
}

#[derive(Debug)]
struct BarrierState {
    slave: u8,
    echo: AtomicBool,
    exception: Mutex<Option<u8>>,
    commands: broadcast::Sender<(Instant, BarrierCommand)>,
}

impl BarrierEmulator {
    /// A board with Modbus id `slave`, echoing every request, on a new pty published at `link`.
    /// Needs a tokio runtime.
    pub fn spawn(link: impl Into<PathBuf>, slave: u8) -> io::Result<Self> {
        let state = Arc::new(BarrierState {
            slave,
            echo: AtomicBool::new(true),
            exception: Mutex::new(None),
            commands: broadcast::channel(64).0,
        });
        let port = spawn_port(link.into(), BarrierSide(state.clone()))?;
        Ok(Self { port, state })
    }

    /// `false` emulates a dead relay board: requests are received but not answered.
    pub fn set_echo(&self, echo: bool) {
        self.state.echo.store(echo, Ordering::Relaxed);
    }

    /// Answers requests with this exception code instead of the echo (`None`: back to normal).
    pub fn set_exception(&self, code: Option<u8>) {
        *self
            .state
            .exception
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = code;
    }

    /// Every barrier command received from now on, with the instant it was fully read.
    pub fn subscribe(&self) -> broadcast::Receiver<(Instant, BarrierCommand)> {
        self.state.commands.subscribe()
    }
}

struct BarrierSide(Arc<BarrierState>);

impl Responder for BarrierSide {
    type Decoder = BarrierSlaveCodec;

    fn respond(&mut self, at: Instant, request: CoilWrite) -> Option<Vec<u8>> {
        let state = &self.0;
        if request.slave != state.slave {
            return None;
        }
        match request.command() {
            Some(command) => {
                let _ = state.commands.send((at, command));
            }
            None => tracing::debug!(?request, "emulated barrier got a non-barrier coil write"),
        }
        let exception = *state
            .exception
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let reply = match exception {
            Some(code) => ModbusReply::Exception {
                slave: state.slave,
                function: WRITE_SINGLE_COIL,
                code,
            },
            None if state.echo.load(Ordering::Relaxed) => request.echo(),
            None => return None,
        };
        Some(reply.to_bytes())
    }
}

/// The emulators dereference to their port.
macro_rules! deref_port {
    ($($emulator:ty),*) => {$(
        impl Deref for $emulator {
            type Target = EmulatedPort;
            fn deref(&self) -> &EmulatedPort {
                &self.port
            }
        }
    )*};
}
deref_port!(CameraEmulator, ReaderEmulator, BarrierEmulator);
