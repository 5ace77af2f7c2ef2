//! Barrier relay boards driven by Modbus RTU function 05, "write single coil" (9600 baud, 8N1).
//!
//! # Wire format
//!
//! ```text
//! request / normal reply:  Slave 05 Addr_H Addr_L Value_H Value_L CRC_L CRC_H   (8 bytes)
//! exception reply:         Slave (Function|0x80) Code CRC_L CRC_H                (5 bytes)
//! ```
//!
//! The CRC is CRC-16/MODBUS (init 0xFFFF, reflected polynomial 0xA001) over everything before
//! it, low byte first; address and value are big-endian. A normal reply echoes the request.
//!
//! Barrier commands:
//!
//! * Open pulse, preferred: a hardware-timed "flash on" is a write to coil `0x0200 + relay` with
//!   the pulse duration in 100 ms units as the value: `01 05 02 00 00 05 0C 71` closes relay 0
//!   for 500 ms.
//! * Fallback: a plain on/off pair on coil `relay` with value 0xFF00 (on) or 0x0000 (off):
//!   `01 05 00 00 FF 00 8C 3A` then `01 05 00 00 00 00 CD CA`.
//!
//! Framing uses the function code to know the frame length and the CRC to validate it (not the
//! RTU inter-frame silence, which the codec cannot see); on a bad frame one byte is dropped.
//! The agent may call `line_idle` after a silence so that a partial frame left by line noise is
//! dropped at the next `decode` rather than completed with the next reply's bytes.

use bytes::BytesMut;
use crc::{CRC_16_MODBUS, Crc};
use tokio_util::codec::{Decoder, Encoder};

use crate::framing::{BadFrame, Framer, Scan, check_crc, push_crc};
use crate::{DecoderStats, Error};

/// CRC-16/MODBUS.
pub const CRC: Crc<u16> = Crc::<u16>::new(&CRC_16_MODBUS);
/// Function code "write single coil".
pub const WRITE_SINGLE_COIL: u8 = 0x05;
/// Coil address of relay 0's hardware-timed "flash on".
pub const FLASH_BASE: u16 = 0x0200;
/// Coil value for "on".
pub const COIL_ON: u16 = 0xFF00;
/// Coil value for "off".
pub const COIL_OFF: u16 = 0x0000;
/// Longest frame of this codec.
pub const MAX_FRAME: usize = 8;

/// A command for a barrier relay board.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BarrierCommand {
    /// Close `relay` for `duration_100ms` × 100 ms, timed by the board.
    FlashOn {
        slave: u8,
        relay: u8,
        duration_100ms: u16,
    },
    /// Switch `relay` on or off.
    Coil { slave: u8, relay: u8, on: bool },
}

impl BarrierCommand {
    /// The function 05 request carrying this command.
    pub fn request(&self) -> CoilWrite {
        match *self {
            Self::FlashOn {
                slave,
                relay,
                duration_100ms,
            } => CoilWrite {
                slave,
                address: FLASH_BASE + u16::from(relay),
                value: duration_100ms,
            },
            Self::Coil { slave, relay, on } => CoilWrite {
                slave,
                address: relay.into(),
                value: if on { COIL_ON } else { COIL_OFF },
            },
        }
    }

    pub fn to_bytes(&self) -> [u8; 8] {
        self.request().to_bytes()
    }
}

/// A function 05 frame: a request, or the normal reply echoing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CoilWrite {
    pub slave: u8,
    pub address: u16,
    pub value: u16,
}

impl CoilWrite {
    pub fn to_bytes(&self) -> [u8; 8] {
        let [ah, al] = self.address.to_be_bytes();
        let [vh, vl] = self.value.to_be_bytes();
        let body = [self.slave, WRITE_SINGLE_COIL, ah, al, vh, vl];
        let [cl, ch] = CRC.checksum(&body).to_le_bytes();
        [self.slave, WRITE_SINGLE_COIL, ah, al, vh, vl, cl, ch]
    }

    /// The barrier command this request means, if any: addresses `0x0200..=0x02FF` are flash
    /// pulses, addresses `0..=0xFF` with value 0xFF00 or 0x0000 are on/off.
    pub fn command(&self) -> Option<BarrierCommand> {
        let Self {
            slave,
            address,
            value,
        } = *self;
        if let Some(relay) = address
            .checked_sub(FLASH_BASE)
            .and_then(|r| u8::try_from(r).ok())
        {
            return Some(BarrierCommand::FlashOn {
                slave,
                relay,
                duration_100ms: value,
            });
        }
        let relay = u8::try_from(address).ok()?;
        let on = match value {
            COIL_ON => true,
            COIL_OFF => false,
            _ => return None,
        };
        Some(BarrierCommand::Coil { slave, relay, on })
    }

    /// The normal reply to this request (an echo).
    pub fn echo(&self) -> ModbusReply {
        ModbusReply::Echo {
            slave: self.slave,
            address: self.address,
            value: self.value,
        }
    }
}

/// A slave's reply to a function 05 request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModbusReply {
    /// Normal reply: the request echoed.
    Echo { slave: u8, address: u16, value: u16 },
    /// Exception reply. `function` is the function of the request (without the 0x80 bit, which
    /// is set on the wire); `code` is the exception code (1 illegal function, 2 illegal address,
    /// 3 illegal value, 4 device failure…).
    Exception { slave: u8, function: u8, code: u8 },
}

impl ModbusReply {
    pub fn to_bytes(&self) -> Vec<u8> {
        match *self {
            Self::Echo {
                slave,
                address,
                value,
            } => CoilWrite {
                slave,
                address,
                value,
            }
            .to_bytes()
            .to_vec(),
            Self::Exception {
                slave,
                function,
                code,
            } => {
                let mut v = vec![slave, function | 0x80, code];
                push_crc(&CRC, &mut v);
                v
            }
        }
    }
}

/// Whether `reply` is the normal reply (exact echo) to `cmd`.
pub fn is_echo_of(cmd: &BarrierCommand, reply: &ModbusReply) -> bool {
    *reply == cmd.request().echo()
}

fn scan_reply(buf: &[u8]) -> Scan<ModbusReply> {
    scan(buf, |b| match *b {
        [slave, WRITE_SINGLE_COIL, ah, al, vh, vl, _, _] => Ok(ModbusReply::Echo {
            slave,
            address: u16::from_be_bytes([ah, al]),
            value: u16::from_be_bytes([vh, vl]),
        }),
        [slave, function, code, _, _] => Ok(ModbusReply::Exception {
            slave,
            function: function & 0x7F,
            code,
        }),
        _ => Err(BadFrame::Length(b.len())),
    })
}

fn scan_request(buf: &[u8]) -> Scan<CoilWrite> {
    scan(buf, |b| match *b {
        [slave, WRITE_SINGLE_COIL, ah, al, vh, vl, _, _] => Ok(CoilWrite {
            slave,
            address: u16::from_be_bytes([ah, al]),
            value: u16::from_be_bytes([vh, vl]),
        }),
        _ => Err(BadFrame::Length(b.len())),
    })
}

/// Frame length from the function code (function 05: 8, exception: 5), then CRC, then `parse`.
fn scan<T>(buf: &[u8], parse: impl FnOnce(&[u8]) -> Result<T, BadFrame>) -> Scan<T> {
    let Some(&function) = buf.get(1) else {
        return Scan::Incomplete;
    };
    let len = match function {
        WRITE_SINGLE_COIL => 8,
        f if f & 0x80 != 0 => 5,
        f => return Scan::Bad(1, BadFrame::Function(f)),
    };
    let Some(frame) = buf.get(..len) else {
        return Scan::Incomplete;
    };
    match check_crc(&CRC, frame).and_then(|()| parse(frame)) {
        Ok(item) => Scan::Frame(len, item),
        Err(why) => Scan::Bad(1, why),
    }
}

/// Master-side codec (gate agent): encodes [`BarrierCommand`]s, decodes [`ModbusReply`]s.
#[derive(Debug, Default)]
pub struct BarrierCodec {
    framer: Framer,
}

/// Slave-side codec (barrier emulator): decodes function 05 requests as [`CoilWrite`]s (any other
/// function is a bad frame), encodes [`ModbusReply`]s.
#[derive(Debug, Default)]
pub struct BarrierSlaveCodec {
    framer: Framer,
}

impl BarrierCodec {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn stats(&self) -> DecoderStats {
        self.framer.stats()
    }

    /// Tells the decoder that the line has been silent for longer than a frame gap: an incomplete
    /// candidate frame among the bytes already buffered is dropped at the next `decode` instead
    /// of being completed with later bytes.
    pub fn line_idle(&mut self) {
        self.framer.line_idle();
    }
}

impl Decoder for BarrierCodec {
    type Item = ModbusReply;
    type Error = Error;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<ModbusReply>, Error> {
        Ok(self.framer.run("modbus", buf, false, |b, _| scan_reply(b)))
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<ModbusReply>, Error> {
        Ok(self.framer.run("modbus", buf, true, |b, _| scan_reply(b)))
    }
}

impl Encoder<BarrierCommand> for BarrierCodec {
    type Error = Error;

    fn encode(&mut self, cmd: BarrierCommand, dst: &mut BytesMut) -> Result<(), Error> {
        dst.extend_from_slice(&cmd.to_bytes());
        Ok(())
    }
}

impl BarrierSlaveCodec {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn stats(&self) -> DecoderStats {
        self.framer.stats()
    }

    /// See [`BarrierCodec::line_idle`].
    pub fn line_idle(&mut self) {
        self.framer.line_idle();
    }
}

impl Decoder for BarrierSlaveCodec {
    type Item = CoilWrite;
    type Error = Error;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<CoilWrite>, Error> {
        Ok(self
            .framer
            .run("modbus-slave", buf, false, |b, _| scan_request(b)))
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<CoilWrite>, Error> {
        Ok(self
            .framer
            .run("modbus-slave", buf, true, |b, _| scan_request(b)))
    }
}

impl Encoder<ModbusReply> for BarrierSlaveCodec {
    type Error = Error;

    fn encode(&mut self, reply: ModbusReply, dst: &mut BytesMut) -> Result<(), Error> {
        dst.extend_from_slice(&reply.to_bytes());
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn check_values() {
        assert_eq!(CRC.checksum(b"123456789"), 0x4B37);
        let flash = BarrierCommand::FlashOn {
            slave: 1,
            relay: 0,
            duration_100ms: 5,
        };
        assert_eq!(
            flash.to_bytes(),
            [0x01, 0x05, 0x02, 0x00, 0x00, 0x05, 0x0C, 0x71]
        );
        let on = BarrierCommand::Coil {
            slave: 1,
            relay: 0,
            on: true,
        };
        assert_eq!(
            on.to_bytes(),
            [0x01, 0x05, 0x00, 0x00, 0xFF, 0x00, 0x8C, 0x3A]
        );
        let off = BarrierCommand::Coil {
            slave: 1,
            relay: 0,
            on: false,
        };
        assert_eq!(
            off.to_bytes(),
            [0x01, 0x05, 0x00, 0x00, 0x00, 0x00, 0xCD, 0xCA]
        );
        let mut dst = BytesMut::new();
        BarrierCodec::new().encode(flash, &mut dst).unwrap();
        assert_eq!(dst[..], flash.to_bytes());
    }

    #[test]
    fn echo_and_exception_replies() {
        let cmd = BarrierCommand::FlashOn {
            slave: 1,
            relay: 0,
            duration_100ms: 5,
        };
        let mut buf = BytesMut::from(&cmd.to_bytes()[..]);
        let exception = ModbusReply::Exception {
            slave: 1,
            function: 5,
            code: 2,
        };
        buf.extend_from_slice(&exception.to_bytes());
        assert_eq!(buf[8..], [0x01, 0x85, 0x02, 0xC3, 0x51]);
        let mut codec = BarrierCodec::new();
        let echo = codec.decode(&mut buf).unwrap().unwrap();
        assert!(is_echo_of(&cmd, &echo));
        let other = BarrierCommand::FlashOn {
            slave: 1,
            relay: 0,
            duration_100ms: 6,
        };
        assert!(!is_echo_of(&other, &echo));
        let reply = codec.decode(&mut buf).unwrap().unwrap();
        assert_eq!(reply, exception);
        assert!(!is_echo_of(&cmd, &reply));
        assert_eq!(codec.decode(&mut buf).unwrap(), None);
        assert_eq!(codec.stats().frames, 2);
    }

    #[test]
    fn request_to_command() {
        let req = |address, value| CoilWrite {
            slave: 9,
            address,
            value,
        };
        assert_eq!(
            req(0x0203, 30).command(),
            Some(BarrierCommand::FlashOn {
                slave: 9,
                relay: 3,
                duration_100ms: 30
            })
        );
        assert_eq!(
            req(2, COIL_ON).command(),
            Some(BarrierCommand::Coil {
                slave: 9,
                relay: 2,
                on: true
            })
        );
        assert_eq!(req(2, 0x1234).command(), None);
        assert_eq!(req(0x0300, 1).command(), None);
        assert_eq!(req(0x0100, COIL_ON).command(), None);
    }

    #[test]
    fn slave_decoder_rejects_other_functions() {
        // Read coils (function 01) is not a barrier request: dropped byte by byte, never decoded.
        let mut frame = vec![0x01, 0x01, 0x00, 0x00, 0x00, 0x08];
        push_crc(&CRC, &mut frame);
        let mut buf = BytesMut::from(&frame[..]);
        let mut codec = BarrierSlaveCodec::new();
        assert_eq!(codec.decode_eof(&mut buf).unwrap(), None);
        assert!(buf.is_empty());
        assert_eq!(codec.stats().garbage_bytes, 8);
    }

    #[test]
    fn line_idle_drops_a_partial_frame() {
        let cmd = BarrierCommand::Coil {
            slave: 1,
            relay: 0,
            on: true,
        };
        let mut codec = BarrierCodec::new();
        // Noise "01 05 00" then silence, then the real echo.
        let mut buf = BytesMut::from(&[0x01, 0x05, 0x00][..]);
        assert_eq!(codec.decode(&mut buf).unwrap(), None);
        codec.line_idle();
        buf.extend_from_slice(&cmd.to_bytes());
        let reply = codec.decode(&mut buf).unwrap().unwrap();
        assert!(is_echo_of(&cmd, &reply));
        assert_eq!(codec.stats().garbage_bytes, 3);
    }
}
