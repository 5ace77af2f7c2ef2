//! The resynchronising decode loop shared by every decoder of the crate.

use std::fmt;

use bytes::{Buf, BytesMut};
use crc::Crc;

use crate::DecoderStats;

/// What a protocol's scanner found at the head of the buffer.
#[derive(Debug)]
pub(crate) enum Scan<T> {
    /// The head may be the beginning of a frame: wait for more bytes.
    Incomplete,
    /// A valid frame of that many bytes.
    Frame(usize, T),
    /// The candidate frame at the head is bad: drop that many bytes (1, except for text lines).
    Bad(usize, BadFrame),
    /// That many bytes cannot start a frame (e.g. bytes before an STX).
    Garbage(usize),
}

/// Why a frame candidate was rejected (for the logs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BadFrame {
    Crc { got: u16, computed: u16 },
    Length(usize),
    Function(u8),
    Truncated,
    TooLong,
    Malformed(&'static str),
}

impl fmt::Display for BadFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Crc { got, computed } => {
                write!(f, "bad CRC: got {got:#06x}, computed {computed:#06x}")
            }
            Self::Length(n) => write!(f, "impossible length byte {n}"),
            Self::Function(c) => write!(f, "unexpected function code {c:#04x}"),
            Self::Truncated => f.write_str("frame cut short by an idle line or end of stream"),
            Self::TooLong => f.write_str("no terminator within the maximum frame length"),
            Self::Malformed(why) => f.write_str(why),
        }
    }
}

/// Resynchronising frame extractor: owns the statistics and applies the scanners' verdicts.
#[derive(Debug, Default)]
pub(crate) struct Framer {
    stats: DecoderStats,
    /// Bytes left in the buffer by the previous `run`.
    kept: usize,
    /// The line went idle since the previous `run`.
    idle: bool,
    /// Number of head bytes that arrived before an idle gap or end of stream: a candidate frame
    /// starting there can get no more bytes.
    stale: usize,
}

impl Framer {
    pub(crate) fn stats(&self) -> DecoderStats {
        self.stats
    }

    pub(crate) fn line_idle(&mut self) {
        self.idle = true;
    }

    /// Returns the next valid frame of `buf`, consuming it and everything bad before it.
    ///
    /// `scan(head, truncated)` examines the candidate frame at the start of `head`; `truncated`
    /// says that this candidate will never receive more bytes (end of stream, or it started before
    /// an idle gap), so `Incomplete`, or a frame ending after the gap, is dropped as truncated.
    pub(crate) fn run<T>(
        &mut self,
        codec: &'static str,
        buf: &mut BytesMut,
        eof: bool,
        mut scan: impl FnMut(&[u8], bool) -> Scan<T>,
    ) -> Option<T> {
        if eof {
            self.stale = buf.len();
        } else if std::mem::take(&mut self.idle) {
            self.stale = self.kept.min(buf.len());
        }
        let found = loop {
            if buf.is_empty() {
                break None;
            }
            let truncated = self.stale > 0;
            let (n, item) = match scan(buf, truncated) {
                Scan::Incomplete if !truncated => break None,
                // A frame starting before an idle gap cannot end after it.
                Scan::Incomplete => self.reject(codec, buf, 1, BadFrame::Truncated),
                Scan::Frame(n, _) if truncated && n > self.stale => {
                    self.reject(codec, buf, 1, BadFrame::Truncated)
                }
                Scan::Bad(n, why) => self.reject(codec, buf, n, why),
                Scan::Garbage(n) => {
                    let n = n.clamp(1, buf.len());
                    tracing::trace!(codec, bytes = n, "skipping garbage");
                    self.stats.garbage_bytes += n as u64;
                    (n, None)
                }
                Scan::Frame(n, item) => {
                    self.stats.frames += 1;
                    (n, Some(item))
                }
            };
            let n = n.clamp(1, buf.len());
            buf.advance(n);
            self.stale = self.stale.saturating_sub(n);
            if item.is_some() {
                break item;
            }
        };
        self.kept = buf.len();
        found
    }

    /// The one place where bad frames are logged, counted and dropped.
    fn reject<T>(
        &mut self,
        codec: &'static str,
        buf: &[u8],
        n: usize,
        why: BadFrame,
    ) -> (usize, Option<T>) {
        let n = n.clamp(1, buf.len());
        tracing::debug!(
            codec,
            reason = %why,
            head = ?&buf[..buf.len().min(8)],
            dropped = n,
            "bad frame, resynchronising"
        );
        self.stats.bad_frames += 1;
        self.stats.garbage_bytes += n as u64;
        (n, None)
    }
}

/// Checks the CRC stored little-endian in the last two bytes of `frame`.
pub(crate) fn check_crc(crc: &Crc<u16>, frame: &[u8]) -> Result<(), BadFrame> {
    let Some((body, tail)) = frame.split_last_chunk::<2>() else {
        return Err(BadFrame::Length(frame.len()));
    };
    let got = u16::from_le_bytes(*tail);
    let computed = crc.checksum(body);
    if got == computed {
        Ok(())
    } else {
        Err(BadFrame::Crc { got, computed })
    }
}

/// Appends the CRC of `frame`, low byte first.
pub(crate) fn push_crc(crc: &Crc<u16>, frame: &mut Vec<u8>) {
    let c = crc.checksum(frame);
    frame.extend_from_slice(&c.to_le_bytes());
}
