//! The one reconnecting link loop shared by every device driver.
//!
//! A [`Link`] opens its port, decodes frames with a fresh codec per connection
//! ([`FramedRead`]), hands them to its [`FrameSink`], writes what its driver asks for, and keeps
//! the line alive: on end of stream, any I/O error, or an idle watchdog timeout it drops the
//! port, backs off and reopens the path, until shut down.

use std::future::{Future, pending, poll_fn};
use std::io;
use std::pin::Pin;
use std::task::Poll;
use std::time::{Duration, Instant};

use bawaba_codec::{AnprDecoder, BarrierCodec, DecoderStats, ReaderCodec};
use tokio::io::AsyncWriteExt;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_stream::Stream;
use tokio_util::codec::{Decoder, FramedRead};

use super::{LinkConfig, SerialPort, SerialSettings, StatsHandle};

/// A write that takes longer than this (a stuck line) closes the connection.
const WRITE_TIMEOUT: Duration = Duration::from_secs(1);

/// A host-side codec of `bawaba_codec`.
pub(crate) trait HostCodec:
    Decoder<Item: Send, Error = bawaba_codec::Error> + Send + Unpin + 'static
{
    fn stats(&self) -> DecoderStats;
    /// The line has been silent for longer than a frame gap.
    fn line_idle(&mut self) {}
}

impl HostCodec for AnprDecoder {
    fn stats(&self) -> DecoderStats {
        AnprDecoder::stats(self)
    }
}

impl HostCodec for ReaderCodec {
    fn stats(&self) -> DecoderStats {
        ReaderCodec::stats(self)
    }
    fn line_idle(&mut self) {
        ReaderCodec::line_idle(self);
    }
}

impl HostCodec for BarrierCodec {
    fn stats(&self) -> DecoderStats {
        BarrierCodec::stats(self)
    }
    fn line_idle(&mut self) {
        BarrierCodec::line_idle(self);
    }
}

/// Where a link's frames go.
pub(crate) trait FrameSink<I>: Send + 'static {
    /// Delivers one frame decoded at `received_at`; `false` when nobody listens any more (the
    /// link then stops).
    fn deliver(&mut self, received_at: Instant, item: I) -> impl Future<Output = bool> + Send;
}

/// The port is closed (or the write failed, which closes it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("serial line not connected")]
pub(crate) struct NotConnected;

/// Bytes for a link to write; `done` gets the instant the last byte was handed to the kernel.
#[derive(Debug)]
pub(crate) struct WriteRequest {
    pub bytes: Vec<u8>,
    pub done: oneshot::Sender<Result<Instant, NotConnected>>,
}

/// Periodic command of a polled device: sent every `every` while connected, at most one
/// outstanding (any frame answers it; an unanswered poll expires after `timeout`).
#[derive(Debug, Clone)]
pub(crate) struct Polling {
    pub bytes: Vec<u8>,
    pub every: Duration,
    pub timeout: Duration,
}

/// One device link; [`Link::run`] is the device's task.
pub(crate) struct Link<F, S> {
    /// Device kind, for the logs.
    pub device: &'static str,
    pub settings: SerialSettings,
    pub config: LinkConfig,
    /// A fresh decoder for each connection.
    pub codec: F,
    /// What the idle watchdog writes before giving up on a silent line.
    pub probe: Option<Vec<u8>>,
    pub polling: Option<Polling>,
    pub stats: StatsHandle,
    /// Writes requested by the driver; the link stops when this channel closes.
    pub requests: Option<mpsc::Receiver<WriteRequest>>,
    pub sink: S,
    /// `true` (or a dropped sender) stops the link.
    pub shutdown: watch::Receiver<bool>,
}

/// Why a connection ended.
enum End {
    Stop,
    Lost { reason: String, productive: bool },
}

/// What woke a connected link up.
enum Event<T> {
    Stop,
    Frame(T),
    /// Bytes arrived but no frame yet.
    Bytes,
    Eof,
    Failed(io::Error),
    Request(WriteRequest),
    RequestsClosed,
    Timer,
}

impl<C, F, S> Link<F, S>
where
    C: HostCodec,
    F: Fn() -> C + Send + 'static,
    S: FrameSink<C::Item>,
{
    /// A link with neither probe, polling nor requests.
    pub(crate) fn new(
        device: &'static str,
        settings: SerialSettings,
        config: LinkConfig,
        codec: F,
        sink: S,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        Self {
            device,
            settings,
            config,
            codec,
            probe: None,
            polling: None,
            stats: StatsHandle::default(),
            requests: None,
            sink,
            shutdown,
        }
    }

    /// Runs until shut down, the sink's receiver is dropped or the request channel closes.
    pub(crate) async fn run(mut self) {
        let path = self.settings.path.display().to_string();
        let device = self.device;
        let mut backoff = self.config.backoff_initial;
        let mut failing = false;
        while !*self.shutdown.borrow() {
            match SerialPort::open(&self.settings) {
                Ok(port) => {
                    failing = false;
                    self.stats.opened();
                    tracing::info!(device, path, "serial line open");
                    let mut framed = FramedRead::new(port, (self.codec)());
                    let end = self.connected(&mut framed).await;
                    self.stats.closed(framed.decoder().stats());
                    drop(framed);
                    match end {
                        End::Stop => break,
                        End::Lost { reason, productive } => {
                            tracing::warn!(device, path, reason, "serial line lost, reopening");
                            if productive {
                                backoff = self.config.backoff_initial;
                            }
                        }
                    }
                }
                Err(error) => {
                    self.stats.open_failed();
                    if failing {
                        tracing::debug!(device, path, %error, "cannot open serial line");
                    } else {
                        tracing::warn!(device, path, %error, "cannot open serial line, retrying");
                    }
                    failing = true;
                }
            }
            if !self.pause(backoff).await {
                break;
            }
            backoff = (backoff * 2).min(self.config.backoff_max);
        }
        self.stats.disconnected();
        tracing::debug!(device, path, "serial link stopped");
    }

    /// Sleeps `d` while disconnected, refusing write requests; `false` if the link must stop.
    async fn pause(&mut self, d: Duration) -> bool {
        let until = tokio::time::Instant::now() + d;
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(until) => return true,
                r = self.shutdown.changed() => if stop_requested(r, &self.shutdown) {
                    return false;
                },
                req = recv(self.requests.as_mut()) => match req {
                    Some(req) => { let _ = req.done.send(Err(NotConnected)); }
                    None => return false,
                },
            }
        }
    }

    /// Serves one open connection until it ends.
    async fn connected(&mut self, framed: &mut FramedRead<SerialPort, C>) -> End {
        let start = Instant::now();
        let mut productive = false;
        let mut last_frame = start;
        let mut probed_at: Option<Instant> = None;
        let mut gap_pending = false;
        let mut next_poll = start;
        let mut poll_sent: Option<Instant> = None;
        let lost = |reason: String, productive| End::Lost { reason, productive };
        loop {
            let gap_at = framed
                .get_ref()
                .last_rx()
                .filter(|_| gap_pending && !framed.read_buffer().is_empty())
                .map(|t| t + self.config.frame_gap);
            let dog_at = self
                .config
                .idle
                .map(|i| probed_at.unwrap_or(last_frame) + i);
            let poll_at = self.polling.as_ref().map(|p| match poll_sent {
                Some(sent) => (sent + p.timeout).max(next_poll),
                None => next_poll,
            });
            let wake_at = [gap_at, dog_at, poll_at].into_iter().flatten().min();
            let event = tokio::select! {
                biased;
                r = self.shutdown.changed() => if stop_requested(r, &self.shutdown) {
                    Event::Stop
                } else {
                    continue;
                },
                e = next_event(framed) => e,
                r = recv(self.requests.as_mut()) => r.map_or(Event::RequestsClosed, Event::Request),
                () = sleep_until(wake_at) => Event::Timer,
            };
            let now = Instant::now();
            // A frame is counted once it is delivered (stamped with the clock): whoever
            // watches the counters then knows its read is on its way with that instant.
            if !matches!(event, Event::Frame(_)) {
                self.stats.codec(framed.decoder().stats(), None);
            }
            match event {
                Event::Stop | Event::RequestsClosed => return End::Stop,
                Event::Eof => return lost("end of stream (unplugged?)".into(), productive),
                Event::Failed(e) => return lost(e.to_string(), productive),
                Event::Bytes => gap_pending = true,
                Event::Frame(item) => {
                    (productive, gap_pending, last_frame) = (true, true, now);
                    (probed_at, poll_sent) = (None, None);
                    let delivered = self.sink.deliver(now, item).await;
                    self.stats.codec(framed.decoder().stats(), Some(now));
                    if !delivered {
                        return End::Stop;
                    }
                }
                Event::Request(req) => {
                    let written = write(framed.get_mut(), &req.bytes).await;
                    let _ = req
                        .done
                        .send(written.as_ref().map_err(|_| NotConnected).copied());
                    if let Err(e) = written {
                        return lost(e.to_string(), productive);
                    }
                }
                Event::Timer => {
                    if gap_at.is_some_and(|t| t <= now) {
                        framed.decoder_mut().line_idle();
                        // Bytes then silence: the poll got a (garbled) answer.
                        (gap_pending, poll_sent) = (false, None);
                    }
                    if dog_at.is_some_and(|t| t <= now) {
                        if probed_at.is_some() {
                            self.stats.watchdog_reset();
                            return lost("silent after a probe (idle watchdog)".into(), productive);
                        }
                        probed_at = Some(now);
                        self.stats.probed();
                        tracing::debug!(device = self.device, "line idle, probing");
                        if let Some(probe) = &self.probe
                            && let Err(e) = write(framed.get_mut(), probe).await
                        {
                            return lost(e.to_string(), productive);
                        }
                    }
                    if let Some(p) = &self.polling
                        && poll_at.is_some_and(|t| t <= now)
                    {
                        if let Err(e) = write(framed.get_mut(), &p.bytes).await {
                            return lost(e.to_string(), productive);
                        }
                        (poll_sent, next_poll) = (Some(now), now + p.every);
                    }
                }
            }
        }
    }
}

/// The next frame, or news that bytes arrived without completing one (so that the caller can
/// refresh its counters and frame-gap timer).
fn next_event<C: HostCodec>(
    framed: &mut FramedRead<SerialPort, C>,
) -> impl Future<Output = Event<C::Item>> + '_ {
    poll_fn(move |cx| {
        let polled = Pin::new(&mut *framed).poll_next(cx);
        let fresh = framed.get_mut().take_fresh();
        match polled {
            Poll::Ready(Some(Ok(item))) => Poll::Ready(Event::Frame(item)),
            Poll::Ready(Some(Err(e))) => Poll::Ready(Event::Failed(e.into())),
            Poll::Ready(None) => Poll::Ready(Event::Eof),
            Poll::Pending if fresh => Poll::Ready(Event::Bytes),
            Poll::Pending => Poll::Pending,
        }
    })
}

/// Writes `bytes`; returns when the last one was handed to the kernel.
async fn write(port: &mut SerialPort, bytes: &[u8]) -> io::Result<Instant> {
    tokio::time::timeout(WRITE_TIMEOUT, port.write_all(bytes))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "serial write timed out"))??;
    Ok(Instant::now())
}

/// `None` when the channel is closed; never resolves without a channel.
async fn recv<T>(rx: Option<&mut mpsc::Receiver<T>>) -> Option<T> {
    match rx {
        Some(rx) => rx.recv().await,
        None => pending().await,
    }
}

/// Never resolves for `None`.
async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => pending().await,
    }
}

fn stop_requested(
    changed: Result<(), watch::error::RecvError>,
    rx: &watch::Receiver<bool>,
) -> bool {
    changed.is_err() || *rx.borrow()
}
