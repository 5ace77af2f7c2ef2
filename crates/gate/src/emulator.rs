//! Emulators of the gate devices on real pseudo-terminals, for the agent's tests and the
//! simulator.
//!
//! Each emulator keeps the master end of a pty and publishes the slave end through a symlink it
//! creates (e.g. `dir/camera-in-1` → `/dev/pts/7`), the path the agent opens. The emulator never
//! holds the slave open: the agent opens it exclusively, and the master then tells whether an
//! agent is there (reads fail with `EIO` while nobody has the slave open).
//!
//! Pty behaviour worth knowing (Linux):
//! * bytes written to the master while no one has the slave open are **kept** and delivered to the
//!   next opener, unlike a real line; emulators therefore refuse to write without a peer
//!   ([`EmulatorError::NoPeer`]), so that what a device sends while the agent is away is lost;
//! * closing the master makes the agent's reads return end of stream (`Ok(0)`) and its writes
//!   fail with `EIO`; the slave node disappears, and its number is reused by the next pty;
//! * baud rate, parity and stop bits are accepted and ignored: bytes arrive at once.
//!
//! [`EmulatedPort::unplug`] removes the symlink first (as udev does) and then closes the master,
//! so that an agent retrying its path cannot open an unrelated pty that reused the number;
//! [`EmulatedPort::replug`] creates a new pty and re-points the symlink atomically.

mod devices;

use std::future::pending;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::{mpsc, oneshot};
use tokio_util::codec::Decoder;

use crate::serial::SerialPort;

pub use devices::{BarrierEmulator, CameraEmulator, ReaderEmulator, ReaderMode};

/// How often a master without a peer checks whether an agent opened the slave.
const PEER_POLL: Duration = Duration::from_millis(5);
/// A write that takes longer (a peer that does not read) fails.
const WRITE_TIMEOUT: Duration = Duration::from_secs(1);

/// A pseudo-terminal: the master end, and the path of the slave end, which is left closed for the
/// agent to open. The master reads and writes like a serial port.
#[derive(Debug)]
pub struct Pty {
    master: SerialPort,
    slave: PathBuf,
}

impl Pty {
    /// Creates a pty whose slave is in raw mode. Needs a tokio runtime.
    pub fn open() -> io::Result<Self> {
        let (master, slave) = SerialPort::pty()?;
        Ok(Self { master, slave })
    }

    /// The slave device, e.g. `/dev/pts/7`.
    pub fn slave_path(&self) -> &Path {
        &self.slave
    }

    /// Points `link` at this pty's slave (see [`point_symlink`]).
    pub fn link(&self, link: &Path) -> io::Result<()> {
        point_symlink(link, &self.slave)
    }
}

impl AsyncRead for Pty {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.master).poll_read(cx, buf)
    }
}

impl AsyncWrite for Pty {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.master).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.master).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.master).poll_shutdown(cx)
    }
}

/// Makes `link` a symlink to `target`, atomically replacing whatever `link` was (a symlink to a
/// temporary name in the same directory, then a rename).
pub fn point_symlink(link: &Path, target: &Path) -> io::Result<()> {
    let name = link.file_name().ok_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidInput, "symlink path without a name")
    })?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(".tmp");
    let tmp = link.with_file_name(tmp_name);
    match std::fs::remove_file(&tmp) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    std::os::unix::fs::symlink(target, &tmp)?;
    std::fs::rename(&tmp, link)
}

/// Why an emulator could not do something.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmulatorError {
    #[error("the emulated device is unplugged")]
    Unplugged,
    /// No agent has the port open: what the device sends is lost.
    #[error("no agent has the port open")]
    NoPeer,
    #[error("the emulator task stopped")]
    Stopped,
    #[error("cannot encode the frame: {0}")]
    Encode(#[from] bawaba_codec::Error),
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// The pty side shared by the three emulators (they dereference to it): the link path, raw
/// writes, unplug and replug. A task owns the pty; it stops when this handle is dropped, and then
/// removes the symlink.
#[derive(Debug)]
pub struct EmulatedPort {
    link: PathBuf,
    ctl: mpsc::Sender<Ctl>,
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    last_write: Mutex<Option<Instant>>,
    peer: AtomicBool,
}

#[derive(Debug)]
enum Ctl {
    Write(Vec<u8>, oneshot::Sender<Result<Instant, EmulatorError>>),
    Unplug(oneshot::Sender<()>),
    Replug(oneshot::Sender<io::Result<()>>),
}

impl EmulatedPort {
    /// The symlink the agent opens.
    pub fn path(&self) -> &Path {
        &self.link
    }

    /// Writes raw bytes (garbage, partial frames...); returns when the last byte was written.
    pub async fn send_raw(&self, bytes: &[u8]) -> Result<Instant, EmulatorError> {
        write_via(&self.ctl, bytes.to_vec()).await
    }

    /// When the last write completed.
    pub fn last_write(&self) -> Option<Instant> {
        *self
            .shared
            .last_write
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether an agent had the port open at the last check (checked every few milliseconds and
    /// before every write).
    pub fn peer_connected(&self) -> bool {
        self.shared.peer.load(Ordering::Relaxed)
    }

    /// Removes the symlink and closes the pty: the agent sees end of stream.
    pub async fn unplug(&self) -> Result<(), EmulatorError> {
        let (done, rx) = oneshot::channel();
        self.ctl
            .send(Ctl::Unplug(done))
            .await
            .map_err(|_| EmulatorError::Stopped)?;
        rx.await.map_err(|_| EmulatorError::Stopped)
    }

    /// Creates a new pty (closing the current one, if any) and re-points the symlink at it.
    pub async fn replug(&self) -> Result<(), EmulatorError> {
        let (done, rx) = oneshot::channel();
        self.ctl
            .send(Ctl::Replug(done))
            .await
            .map_err(|_| EmulatorError::Stopped)?;
        Ok(rx.await.map_err(|_| EmulatorError::Stopped)??)
    }
}

/// Asks the port task to write `bytes`.
async fn write_via(ctl: &mpsc::Sender<Ctl>, bytes: Vec<u8>) -> Result<Instant, EmulatorError> {
    let (done, rx) = oneshot::channel();
    ctl.send(Ctl::Write(bytes, done))
        .await
        .map_err(|_| EmulatorError::Stopped)?;
    rx.await.map_err(|_| EmulatorError::Stopped)?
}

/// The device-specific part of an emulator: how it answers what the agent sends.
pub(crate) trait Responder: Send + 'static {
    type Decoder: Decoder<Item: Send, Error = bawaba_codec::Error> + Default + Send;
    /// Handles a frame fully read at `at`; returns the bytes to answer with.
    fn respond(&mut self, at: Instant, item: <Self::Decoder as Decoder>::Item) -> Option<Vec<u8>>;
}

/// Creates the pty and its symlink and spawns the port task.
pub(crate) fn spawn_port<R: Responder>(link: PathBuf, responder: R) -> io::Result<EmulatedPort> {
    let pty = Pty::open()?;
    pty.link(&link)?;
    let (ctl, rx) = mpsc::channel(16);
    let shared = Arc::new(Shared::default());
    let task = PortTask {
        link: link.clone(),
        pty: Some(pty),
        decoder: R::Decoder::default(),
        buf: BytesMut::new(),
        responder,
        shared: shared.clone(),
    };
    tokio::spawn(task.run(rx));
    Ok(EmulatedPort { link, ctl, shared })
}

/// Owns the pty of one emulator.
struct PortTask<R: Responder> {
    link: PathBuf,
    pty: Option<Pty>,
    decoder: R::Decoder,
    buf: BytesMut,
    responder: R,
    shared: Arc<Shared>,
}

impl<R: Responder> PortTask<R> {
    async fn run(mut self, mut ctl: mpsc::Receiver<Ctl>) {
        loop {
            tokio::select! {
                c = ctl.recv() => match c {
                    None => break,
                    Some(Ctl::Write(bytes, done)) => {
                        let r = self.write(&bytes).await;
                        let _ = done.send(r);
                    }
                    Some(Ctl::Unplug(done)) => {
                        self.unplug();
                        let _ = done.send(());
                    }
                    Some(Ctl::Replug(done)) => {
                        let _ = done.send(self.replug());
                    }
                },
                () = self.read() => self.process(Instant::now()).await,
            }
        }
        self.unplug();
    }

    fn set_peer(&self, peer: bool) {
        if self.shared.peer.swap(peer, Ordering::Relaxed) != peer {
            tracing::debug!(link = %self.link.display(), peer, "emulated port peer");
        }
    }

    fn peer(&self) -> bool {
        self.shared.peer.load(Ordering::Relaxed)
    }

    /// Waits for bytes from the agent (into `buf`) or a change of peer; cancel-safe.
    async fn read(&mut self) {
        if self.pty.is_none() {
            return pending().await;
        }
        if !self.peer() {
            tokio::time::sleep(PEER_POLL).await;
            return self.check_peer();
        }
        let Some(pty) = self.pty.as_mut() else {
            return;
        };
        // Once the agent closes the slave the master reads EIO (a pty has no end of stream).
        if !matches!(pty.master.read_buf(&mut self.buf).await, Ok(n) if n > 0) {
            self.set_peer(false);
        }
    }

    /// Non-blocking read: `WouldBlock` means an agent holds the slave, `EIO` that nobody does.
    fn check_peer(&mut self) {
        let Some(pty) = self.pty.as_mut() else {
            return;
        };
        let mut tmp = [0; 256];
        let peer = match pty.master.try_read(&mut tmp) {
            Ok(n) => {
                self.buf.extend_from_slice(&tmp[..n]);
                n > 0
            }
            Err(e) => e.kind() == io::ErrorKind::WouldBlock,
        };
        if peer && !self.shared.peer.load(Ordering::Relaxed) {
            // The slave was closed until now: wait on a fresh registration (see
            // `SerialPort::reregistered`), or reading would spin.
            match pty.master.reregistered() {
                Some(Ok(fresh)) => pty.master = fresh,
                Some(Err(e)) => {
                    tracing::warn!(link = %self.link.display(), error = %e, "cannot register the pty again");
                }
                None => {}
            }
        }
        self.set_peer(peer);
    }

    /// Decodes what the agent sent and answers it.
    async fn process(&mut self, at: Instant) {
        loop {
            let item = match self.decoder.decode(&mut self.buf) {
                Ok(Some(item)) => item,
                Ok(None) => break,
                Err(e) => {
                    tracing::debug!(error = %e, "emulator decoder failed");
                    self.buf.clear();
                    break;
                }
            };
            if let Some(reply) = self.responder.respond(at, item)
                && let Err(e) = self.write_raw(&reply).await
            {
                tracing::debug!(error = %e, "emulator reply not written");
            }
        }
    }

    /// Writes `bytes` if an agent has the port open.
    async fn write(&mut self, bytes: &[u8]) -> Result<Instant, EmulatorError> {
        if self.pty.is_none() {
            return Err(EmulatorError::Unplugged);
        }
        if !self.peer() {
            self.check_peer();
            self.process(Instant::now()).await;
        }
        if !self.peer() {
            return Err(EmulatorError::NoPeer);
        }
        self.write_raw(bytes).await
    }

    async fn write_raw(&mut self, bytes: &[u8]) -> Result<Instant, EmulatorError> {
        let pty = self.pty.as_mut().ok_or(EmulatorError::Unplugged)?;
        match tokio::time::timeout(WRITE_TIMEOUT, pty.master.write_all(bytes)).await {
            Ok(Ok(())) => {
                let now = Instant::now();
                *self
                    .shared
                    .last_write
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = Some(now);
                Ok(now)
            }
            Ok(Err(e)) => {
                self.set_peer(false);
                Err(e.into())
            }
            Err(_) => Err(io::Error::new(io::ErrorKind::TimedOut, "pty write timed out").into()),
        }
    }

    fn unplug(&mut self) {
        if self.pty.is_some() {
            // The symlink goes first: the slave's number is free again once the master closes.
            if let Err(e) = std::fs::remove_file(&self.link) {
                tracing::debug!(link = %self.link.display(), error = %e, "cannot remove symlink");
            }
            self.pty = None;
            tracing::debug!(link = %self.link.display(), "emulated device unplugged");
        }
        self.set_peer(false);
        self.buf.clear();
        self.decoder = R::Decoder::default();
    }

    fn replug(&mut self) -> io::Result<()> {
        self.unplug();
        let pty = Pty::open()?;
        pty.link(&self.link)?;
        tracing::debug!(link = %self.link.display(), slave = %pty.slave.display(), "emulated device plugged in");
        self.pty = Some(pty);
        Ok(())
    }
}
