//! Serial lines: settings, the port type, per-device counters, and the one reconnecting link loop
//! that every device driver runs ([`link`]). Only this module (and the pty helper of
//! [`crate::emulator`], which builds on [`SerialPort`]) knows tokio-serial.

pub(crate) mod link;

use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bawaba_codec::DecoderStats;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_serial::{SerialPortBuilderExt, SerialStream};

/// Data bits per character.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DataBits {
    Five,
    Six,
    Seven,
    #[default]
    Eight,
}

/// Parity bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Parity {
    #[default]
    None,
    Odd,
    Even,
}

/// Stop bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum StopBits {
    #[default]
    One,
    Two,
}

/// Where a device is and how its line is set up. No flow control (none of the devices uses it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerialSettings {
    /// Device path; may be a symlink such as `/dev/serial/by-id/...`, resolved at every (re)open.
    pub path: PathBuf,
    pub baud: u32,
    pub data_bits: DataBits,
    pub parity: Parity,
    pub stop_bits: StopBits,
}

impl SerialSettings {
    /// `path` at `baud`, 8N1.
    pub fn new(path: impl Into<PathBuf>, baud: u32) -> Self {
        Self {
            path: path.into(),
            baud,
            data_bits: DataBits::default(),
            parity: Parity::default(),
            stop_bits: StopBits::default(),
        }
    }

    /// An ANPR camera: 9600 8N1.
    pub fn camera(path: impl Into<PathBuf>) -> Self {
        Self::new(path, 9600)
    }

    /// A Reader18 RFID reader: 57600 8N1.
    pub fn rfid(path: impl Into<PathBuf>) -> Self {
        Self::new(path, 57600)
    }

    /// A Modbus barrier relay board: 9600 8N1.
    pub fn barrier(path: impl Into<PathBuf>) -> Self {
        Self::new(path, 9600)
    }

    /// How long `bytes` characters take on a real line with these settings (start bit, data,
    /// parity and stop bits). A pty transmits instantly: add this to latencies measured on ptys.
    pub fn transmit_time(&self, bytes: usize) -> Duration {
        let data = match self.data_bits {
            DataBits::Five => 5,
            DataBits::Six => 6,
            DataBits::Seven => 7,
            DataBits::Eight => 8,
        };
        let bits = 1 + data + u64::from(self.parity != Parity::None) + 1;
        let bits = bits + u64::from(self.stop_bits == StopBits::Two);
        Duration::from_secs_f64((bits * bytes as u64) as f64 / f64::from(self.baud.max(1)))
    }
}

/// Reconnection and watchdog settings of a device link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkConfig {
    /// Pause after a lost link or a failed open; doubles after each unproductive attempt.
    pub backoff_initial: Duration,
    /// Upper bound of the pause.
    pub backoff_max: Duration,
    /// Idle watchdog: when no frame arrived for this long, the driver writes its probe command
    /// (if it has one) and, if the line stays silent for as long again, reopens the port.
    /// `None` disables the watchdog (for devices that are legitimately silent).
    pub idle: Option<Duration>,
    /// Silence after which bytes left in the decoder's buffer are declared stale
    /// (`line_idle()` of the RFID and Modbus codecs); also when garbage counters are refreshed.
    pub frame_gap: Duration,
}

impl Default for LinkConfig {
    /// 1 s doubling to 15 s, no watchdog, 20 ms frame gap.
    fn default() -> Self {
        Self {
            backoff_initial: Duration::from_secs(1),
            backoff_max: Duration::from_secs(15),
            idle: None,
            frame_gap: Duration::from_millis(20),
        }
    }
}

/// An open serial port (or pty end): a tokio-serial stream that remembers when bytes last
/// arrived.
///
/// Writes go straight to the kernel (there is no user-space buffer), so `poll_flush` does
/// nothing: tokio-serial's own flush calls `tcdrain`, which would block the runtime thread until
/// the UART has shifted every byte out (8 ms for a Modbus frame at 9600 baud).
#[derive(Debug)]
pub struct SerialPort {
    stream: SerialStream,
    last_rx: Option<Instant>,
    fresh: bool,
    /// A pty master's own descriptor, kept to register it afresh
    /// ([`SerialPort::reregistered`]).
    pty_master: Option<serialport::TTYPort>,
}

impl SerialPort {
    /// Opens `settings.path` exclusively (`TIOCEXCL` and `flock`; note that root bypasses
    /// `TIOCEXCL`, not the `flock`). Needs a tokio runtime.
    pub fn open(settings: &SerialSettings) -> io::Result<Self> {
        let mut stream = tokio_serial::new(settings.path.to_string_lossy(), settings.baud)
            .data_bits(match settings.data_bits {
                DataBits::Five => tokio_serial::DataBits::Five,
                DataBits::Six => tokio_serial::DataBits::Six,
                DataBits::Seven => tokio_serial::DataBits::Seven,
                DataBits::Eight => tokio_serial::DataBits::Eight,
            })
            .parity(match settings.parity {
                Parity::None => tokio_serial::Parity::None,
                Parity::Odd => tokio_serial::Parity::Odd,
                Parity::Even => tokio_serial::Parity::Even,
            })
            .stop_bits(match settings.stop_bits {
                StopBits::One => tokio_serial::StopBits::One,
                StopBits::Two => tokio_serial::StopBits::Two,
            })
            .flow_control(tokio_serial::FlowControl::None)
            .open_native_async()?;
        stream.set_exclusive(true)?;
        Ok(Self::wrap(stream))
    }

    /// A new pseudo-terminal: the master end and the path of the slave end, which is left
    /// closed (see [`crate::emulator::Pty`]).
    pub(crate) fn pty() -> io::Result<(Self, PathBuf)> {
        use tokio_serial::SerialPort as _;
        let (master, slave) = serialport::TTYPort::pair()?;
        let name = slave
            .name()
            .ok_or_else(|| io::Error::other("pty slave without a name"))?;
        // The pair is opened without O_CLOEXEC: a child process (an agent under test) would
        // inherit the master and keep the line up after an unplug. Keep only a close-on-exec
        // duplicate (F_DUPFD_CLOEXEC).
        let cloexec = master.try_clone_native()?;
        let kept = master.try_clone_native()?;
        drop((master, slave));
        let mut port = Self::wrap(SerialStream::try_from(cloexec)?);
        port.pty_master = Some(kept);
        Ok((port, name.into()))
    }

    /// The same pty master under a fresh registration with the reactor (another close-on-exec
    /// duplicate of its descriptor). Once its slave has been closed, a pty master keeps a
    /// "read closed" readiness in tokio that is never cleared, so every read of it returns at
    /// once (`WouldBlock` again and again: a busy loop) even after an agent reopens the slave;
    /// a new registration starts from the pty's state as it is now. `None` for a device port.
    pub(crate) fn reregistered(&self) -> Option<io::Result<Self>> {
        let native = self.pty_master.as_ref()?;
        Some((|| {
            let mut fresh = Self::wrap(SerialStream::try_from(native.try_clone_native()?)?);
            fresh.pty_master = Some(native.try_clone_native()?);
            Ok(fresh)
        })())
    }

    fn wrap(stream: SerialStream) -> Self {
        Self {
            stream,
            last_rx: None,
            fresh: false,
            pty_master: None,
        }
    }

    /// When bytes were last read.
    pub fn last_rx(&self) -> Option<Instant> {
        self.last_rx
    }

    /// Whether bytes were read since the previous call.
    pub(crate) fn take_fresh(&mut self) -> bool {
        std::mem::take(&mut self.fresh)
    }

    /// A non-blocking read (`WouldBlock` when nothing is there).
    pub(crate) fn try_read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.stream.try_read(buf)
    }
}

impl AsyncRead for SerialPort {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.last_rx = Some(Instant::now());
            self.fresh = true;
        }
        polled
    }
}

impl AsyncWrite for SerialPort {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// A snapshot of one device's counters. Decoder counters add up over every connection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceStats {
    /// Frames decoded.
    pub frames: u64,
    /// Frame candidates the decoder rejected.
    pub bad_frames: u64,
    /// Bytes discarded by the decoder.
    pub garbage_bytes: u64,
    /// Successful opens after the first one.
    pub reconnects: u64,
    /// Failed opens (missing device, busy, permissions...).
    pub open_failures: u64,
    /// Probe commands written by the idle watchdog.
    pub probes: u64,
    /// Connections the idle watchdog closed.
    pub watchdog_resets: u64,
    /// Commands the device did not acknowledge properly (barrier faults).
    pub faults: u64,
    /// When the last frame was decoded.
    pub last_frame: Option<Instant>,
    /// Whether the port is open.
    pub connected: bool,
}

/// Shared handle on a device's counters: cloned freely, read with [`StatsHandle::snapshot`].
#[derive(Debug, Clone, Default)]
pub struct StatsHandle(Arc<Mutex<Counters>>);

#[derive(Debug, Default)]
struct Counters {
    now: DeviceStats,
    /// Decoder counters of the closed connections.
    closed: DecoderStats,
    opened: bool,
}

impl StatsHandle {
    /// The current counters.
    pub fn snapshot(&self) -> DeviceStats {
        self.with(|c| c.now.clone())
    }

    /// Whether the port is open.
    pub fn connected(&self) -> bool {
        self.with(|c| c.now.connected)
    }

    fn with<T>(&self, f: impl FnOnce(&mut Counters) -> T) -> T {
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    pub(crate) fn opened(&self) {
        self.with(|c| {
            c.now.reconnects += u64::from(c.opened);
            c.opened = true;
            c.now.connected = true;
        });
    }

    /// The connection is closed; `codec` holds its decoder's final counters.
    pub(crate) fn closed(&self, codec: DecoderStats) {
        self.with(|c| {
            c.closed.frames += codec.frames;
            c.closed.bad_frames += codec.bad_frames;
            c.closed.garbage_bytes += codec.garbage_bytes;
            c.set_codec(DecoderStats::default());
            c.now.connected = false;
        });
    }

    /// The decoder of the open connection now has these counters.
    pub(crate) fn codec(&self, codec: DecoderStats, frame_at: Option<Instant>) {
        self.with(|c| {
            c.set_codec(codec);
            c.now.last_frame = frame_at.or(c.now.last_frame);
        });
    }

    pub(crate) fn disconnected(&self) {
        self.with(|c| c.now.connected = false);
    }

    pub(crate) fn open_failed(&self) {
        self.with(|c| c.now.open_failures += 1);
    }

    pub(crate) fn probed(&self) {
        self.with(|c| c.now.probes += 1);
    }

    pub(crate) fn watchdog_reset(&self) {
        self.with(|c| c.now.watchdog_resets += 1);
    }

    pub(crate) fn fault(&self) {
        self.with(|c| c.now.faults += 1);
    }
}

impl Counters {
    fn set_codec(&mut self, codec: DecoderStats) {
        self.now.frames = self.closed.frames + codec.frames;
        self.now.bad_frames = self.closed.bad_frames + codec.bad_frames;
        self.now.garbage_bytes = self.closed.garbage_bytes + codec.garbage_bytes;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transmit_time() {
        let s = SerialSettings::barrier("/dev/null");
        assert_eq!(s.transmit_time(8), Duration::from_secs_f64(80.0 / 9600.0));
    }

    #[test]
    fn counters_add_up_over_connections() {
        let stats = StatsHandle::default();
        let codec = |frames| DecoderStats {
            frames,
            bad_frames: 1,
            garbage_bytes: 2,
        };
        stats.opened();
        stats.codec(codec(3), Some(Instant::now()));
        stats.closed(codec(4));
        stats.opened();
        stats.codec(codec(1), None);
        let s = stats.snapshot();
        assert_eq!((s.frames, s.bad_frames, s.garbage_bytes), (5, 2, 4));
        assert_eq!(s.reconnects, 1);
        assert!(s.connected && s.last_frame.is_some());
    }
}
