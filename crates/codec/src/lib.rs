//! Pure device codecs for the Bawaba gate agent: [`tokio_util::codec::Decoder`] and
//! [`Encoder`](tokio_util::codec::Encoder) implementations with no I/O, meant for
//! [`Framed`](tokio_util::codec::Framed) / [`FramedRead`](tokio_util::codec::FramedRead) over
//! serial ports.
//!
//! * [`rfid`]: Chafon "Reader18" binary protocol (CF-RU5102 / UHFReader18 / ZK-RFID102),
//!   answer (polled) and scan (push) modes, CRC-16/MCRF4XX.
//! * [`anpr`]: number-plate cameras, STX/ETX plate lines or CR/LF template lines.
//! * [`modbus`]: barrier relay boards, Modbus RTU function 05 (write single coil), CRC-16/MODBUS.
//!
//! # Robustness contract (all decoders)
//!
//! * Frames may arrive split at any byte; the decoders keep partial frames in the buffer.
//! * Bad frames (bad CRC, impossible length, malformed content) are **not** stream errors: the
//!   decoder logs them (`tracing::debug!`), counts them in [`DecoderStats`], drops one byte and
//!   resynchronises on the next byte (RFID, Modbus) or the next start marker (ANPR STX/ETX), or
//!   drops the offending line (ANPR template lines, whose frames are delimited by line ends).
//! * No input makes a decoder panic, and whenever `decode` returns `Ok(None)` the bytes it left in
//!   the buffer are fewer than the longest possible frame of its protocol (RFID 256, Modbus 8,
//!   STX/ETX 50, template line 256), so a noisy line cannot grow the buffer.
//! * `decode_eof` never fails: complete frames still buffered are returned and the rest is counted
//!   as garbage.
//! * Counting: every byte given to a decoder ends up in exactly one of: a returned frame,
//!   [`DecoderStats::garbage_bytes`], or the buffer (still waiting).
//!   [`DecoderStats::bad_frames`] counts rejected frame candidates.
//! * The decoders never return an error themselves; their `Error` type is [`Error`], which is
//!   `From<std::io::Error>` as `Framed` requires.

mod framing;

pub mod anpr;
pub mod modbus;
pub mod rfid;

use std::io;

/// The error type of the whole crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// I/O error from the transport (`Framed` converts these into the codec's error type).
    #[error(transparent)]
    Io(#[from] io::Error),
    /// A value cannot be encoded because the frame or field would be too long.
    #[error("{what} too long: {len} bytes, at most {max}")]
    TooLong {
        /// What was too long.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The maximum the protocol allows.
        max: usize,
    },
    /// A value cannot be encoded because it is invalid or missing for the wire format.
    #[error("cannot encode {field}: {reason}")]
    Invalid {
        /// The offending field.
        field: &'static str,
        /// Why it is rejected.
        reason: &'static str,
    },
    /// An ANPR line template could not be parsed.
    #[error("invalid ANPR template: {0}")]
    Template(String),
}

impl From<Error> for io::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Io(e) => e,
            e => io::Error::new(io::ErrorKind::InvalidData, e),
        }
    }
}

/// Counters kept by every decoder of this crate (see the crate documentation for their meaning).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct DecoderStats {
    /// Frames decoded and returned.
    pub frames: u64,
    /// Frame candidates rejected (bad CRC, bad length, malformed content, truncated...).
    pub bad_frames: u64,
    /// Bytes discarded because they were not part of any valid frame.
    pub garbage_bytes: u64,
}

pub use anpr::{AnprDecoder, AnprEncoder, AnprFormat, PlateRead, Template};
pub use modbus::{BarrierCodec, BarrierCommand, BarrierSlaveCodec, CoilWrite, ModbusReply};
pub use rfid::{CommandDecoder, InventoryStatus, ReaderCodec, ReaderCommand, ReaderEvent};
