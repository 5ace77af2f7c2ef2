//! Chafon "Reader18" binary protocol: CF-RU5102, UHFReader18, ZK-RFID102 and relatives
//! (57600 baud, 8N1).
//!
//! # Wire format
//!
//! There is no start byte; every frame starts with its length:
//!
//! ```text
//! command  (host → reader): Len Adr Cmd   Data…        CRC_L CRC_H
//! response (reader → host): Len Adr reCmd Status Data… CRC_L CRC_H
//! ```
//!
//! `Len` counts every byte after itself, CRC included, so a command is at least 4 (`04 00 01 DB 4B`
//! is the inventory poll) and a response at least 5 (`05 00 01 FB F2 3D`, "no tag"). The CRC is
//! CRC-16/MCRF4XX (init 0xFFFF, reflected polynomial 0x8408, no final XOR) over `Len..Data`, sent
//! low byte first. `Adr` 0xFF is the broadcast address.
//!
//! * Answer mode: the host polls with the inventory command (Cmd 0x01); the reply (reCmd 0x01)
//!   carries `Num, {EpcLen, EPC[EpcLen]}*` when its status is 0x01 (done), 0x02 (scan time over),
//!   0x03 (more frames follow) or 0x04 (reader buffer full); 0xFB means no tag, other statuses
//!   are errors and normally carry no data.
//! * Scan (push) mode: the reader sends `Len Adr EE 00 EPC… CRC` for every tag it sees.
//!
//! # Resynchronisation guarantee
//!
//! Without a start byte, any byte may be a length. The decoders take the head byte as `Len`, wait
//! until `Len + 1` bytes are buffered, and check the CRC; on failure (or `Len` too small) they drop
//! one byte. Consequences, for a valid frame `F` that follows arbitrary garbage `G`:
//!
//! * `F` is decoded unless a candidate frame that starts inside `G` and ends after it (inside `F`,
//!   or in bytes that arrive later, up to 255 bytes after `G`) passes the CRC check, i.e. a 16-bit
//!   CRC collision; that candidate is then decoded instead (almost always as a meaningless
//!   [`ReaderEvent::Other`]) and `F` is lost. For random garbage this happens with probability
//!   about `n/65536`, where `n` is the number of such candidates: about `|F|` at end of stream or
//!   when [`ReaderCodec::line_idle`] is called after `F` (candidates reaching past the bytes
//!   received before the idle gap are then dropped), up to about 128 when the line keeps going.
//! * `F` may be *delayed*: a candidate starting in `G` whose length reaches past `F` is waited for.
//!   `F` is returned once every such candidate is resolved: when up to 255 further bytes have
//!   arrived after `G`, at end of stream (`decode_eof`), or on the first `decode` after
//!   [`ReaderCodec::line_idle`] (the agent calls it when the line has been silent for longer than a
//!   frame gap; a reader never pauses inside a frame).
//! * Frames that are not preceded by garbage are never affected: they are decoded as soon as
//!   their last byte arrives.

use bytes::BytesMut;
use crc::{CRC_16_MCRF4XX, Crc};
use tokio_util::codec::{Decoder, Encoder};

use crate::framing::{BadFrame, Framer, Scan, check_crc, push_crc};
use crate::{DecoderStats, Error};

/// CRC-16/MCRF4XX, the Reader18 checksum.
pub const CRC: Crc<u16> = Crc::<u16>::new(&CRC_16_MCRF4XX);
/// Inventory command (and reply) code.
pub const CMD_INVENTORY: u8 = 0x01;
/// reCmd of scan (push) mode frames.
pub const RE_CMD_PUSH_TAG: u8 = 0xEE;
/// Broadcast reader address.
pub const BROADCAST: u8 = 0xFF;
/// Longest frame on the wire: `Len` byte 255 plus the length byte itself.
pub const MAX_FRAME: usize = 256;

const MIN_COMMAND_LEN: u8 = 4;
const MIN_RESPONSE_LEN: u8 = 5;

/// Status of an inventory reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InventoryStatus {
    /// 0x01: inventory finished, all tags reported.
    Done,
    /// 0x02: the inventory scan time ran out.
    ScanTimeOver,
    /// 0x03: more reply frames follow.
    MoreFrames,
    /// 0x04: the reader's buffer is full.
    BufferFull,
    /// 0xFB: no tag in the field.
    NoTag,
    /// Any other status byte (0xF9–0xFF except 0xFB are the documented errors).
    Error(u8),
}

impl InventoryStatus {
    /// Whether replies with this status carry `Num, {EpcLen, EPC}*`.
    pub fn carries_tags(self) -> bool {
        matches!(
            self,
            Self::Done | Self::ScanTimeOver | Self::MoreFrames | Self::BufferFull
        )
    }
}

impl From<u8> for InventoryStatus {
    fn from(b: u8) -> Self {
        match b {
            0x01 => Self::Done,
            0x02 => Self::ScanTimeOver,
            0x03 => Self::MoreFrames,
            0x04 => Self::BufferFull,
            0xFB => Self::NoTag,
            b => Self::Error(b),
        }
    }
}

impl From<InventoryStatus> for u8 {
    fn from(s: InventoryStatus) -> Self {
        match s {
            InventoryStatus::Done => 0x01,
            InventoryStatus::ScanTimeOver => 0x02,
            InventoryStatus::MoreFrames => 0x03,
            InventoryStatus::BufferFull => 0x04,
            InventoryStatus::NoTag => 0xFB,
            InventoryStatus::Error(b) => b,
        }
    }
}

/// A frame sent by a reader.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ReaderEvent {
    /// Reply to an inventory command. `tags` is empty unless `status` [carries
    /// tags](InventoryStatus::carries_tags). (A reply whose status carries no tags but which
    /// nevertheless has data bytes is returned as [`ReaderEvent::Other`], so nothing is lost.)
    Inventory {
        adr: u8,
        status: InventoryStatus,
        tags: Vec<Vec<u8>>,
    },
    /// A scan-mode (push) frame with one tag's EPC (never empty).
    Tag { adr: u8, epc: Vec<u8> },
    /// Any other valid response.
    Other {
        adr: u8,
        re_cmd: u8,
        status: u8,
        data: Vec<u8>,
    },
}

impl ReaderEvent {
    /// Encodes this event as the reader would send it.
    pub fn encode(&self) -> Result<Vec<u8>, Error> {
        match self {
            Self::Inventory { adr, status, tags } => encode_inventory_reply(*adr, *status, tags),
            Self::Tag { adr, epc } => encode_push_tag(*adr, epc),
            Self::Other {
                adr,
                re_cmd,
                status,
                data,
            } => encode_response(*adr, *re_cmd, *status, data),
        }
    }
}

/// A command sent by the host to a reader.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ReaderCommand {
    /// Inventory (Cmd 0x01, no data): `04 adr 01 CRC_L CRC_H`.
    Inventory { adr: u8 },
    /// Any command. (`cmd` 0x01 with empty data is decoded as [`ReaderCommand::Inventory`].)
    Command { adr: u8, cmd: u8, data: Vec<u8> },
}

impl ReaderCommand {
    /// Encodes this command; fails only if `data` is longer than 251 bytes.
    pub fn encode(&self) -> Result<Vec<u8>, Error> {
        match self {
            Self::Inventory { adr } => frame(&[*adr, CMD_INVENTORY], &[]),
            Self::Command { adr, cmd, data } => frame(&[*adr, *cmd], data),
        }
    }
}

/// Encodes a response frame `Len adr re_cmd status data… CRC`.
pub fn encode_response(adr: u8, re_cmd: u8, status: u8, data: &[u8]) -> Result<Vec<u8>, Error> {
    frame(&[adr, re_cmd, status], data)
}

/// Encodes an inventory reply. Tags are only allowed with a status that [carries
/// tags](InventoryStatus::carries_tags); `InventoryStatus::Error` must not hold one of the
/// non-error codes.
pub fn encode_inventory_reply(
    adr: u8,
    status: InventoryStatus,
    tags: &[impl AsRef<[u8]>],
) -> Result<Vec<u8>, Error> {
    let code = u8::from(status);
    if InventoryStatus::from(code) != status {
        return Err(Error::Invalid {
            field: "status",
            reason: "error status holds a non-error code",
        });
    }
    if !status.carries_tags() {
        if !tags.is_empty() {
            return Err(Error::Invalid {
                field: "tags",
                reason: "this inventory status carries no tags",
            });
        }
        return encode_response(adr, CMD_INVENTORY, code, &[]);
    }
    let too_long = |what, len| Error::TooLong {
        what,
        len,
        max: 255,
    };
    let num = u8::try_from(tags.len()).map_err(|_| too_long("tag list", tags.len()))?;
    let mut data = vec![num];
    for epc in tags {
        let epc = epc.as_ref();
        data.push(u8::try_from(epc.len()).map_err(|_| too_long("EPC", epc.len()))?);
        data.extend_from_slice(epc);
    }
    encode_response(adr, CMD_INVENTORY, code, &data)
}

/// Encodes a scan-mode (push) frame `Len adr EE 00 EPC… CRC` (EPC 1–250 bytes).
pub fn encode_push_tag(adr: u8, epc: &[u8]) -> Result<Vec<u8>, Error> {
    if epc.is_empty() {
        return Err(Error::Invalid {
            field: "epc",
            reason: "empty",
        });
    }
    encode_response(adr, RE_CMD_PUSH_TAG, 0x00, epc)
}

fn frame(head: &[u8], data: &[u8]) -> Result<Vec<u8>, Error> {
    let len = head.len() + data.len() + 2;
    let len_byte = u8::try_from(len).map_err(|_| Error::TooLong {
        what: "Reader18 frame",
        len: len + 1,
        max: MAX_FRAME,
    })?;
    let mut v = Vec::with_capacity(len + 1);
    v.push(len_byte);
    v.extend_from_slice(head);
    v.extend_from_slice(data);
    push_crc(&CRC, &mut v);
    Ok(v)
}

/// Finds the CRC-valid frame at the head of `buf`; returns its content between `Len` and the CRC.
fn scan_frame<T>(
    buf: &[u8],
    min_len: u8,
    parse: impl FnOnce(&[u8]) -> Result<T, BadFrame>,
) -> Scan<T> {
    let Some(&len) = buf.first() else {
        return Scan::Incomplete;
    };
    if len < min_len {
        return Scan::Bad(1, BadFrame::Length(len.into()));
    }
    let total = usize::from(len) + 1;
    let Some(frame) = buf.get(..total) else {
        return Scan::Incomplete;
    };
    if let Err(why) = check_crc(&CRC, frame) {
        return Scan::Bad(1, why);
    }
    match parse(frame.get(1..total - 2).unwrap_or_default()) {
        Ok(item) => Scan::Frame(total, item),
        Err(why) => Scan::Bad(1, why),
    }
}

fn parse_response(content: &[u8]) -> Result<ReaderEvent, BadFrame> {
    let &[adr, re_cmd, status, ref data @ ..] = content else {
        return Err(BadFrame::Length(content.len() + 3));
    };
    Ok(match (re_cmd, InventoryStatus::from(status)) {
        (CMD_INVENTORY, s) if s.carries_tags() => ReaderEvent::Inventory {
            adr,
            status: s,
            tags: parse_tags(data)?,
        },
        (CMD_INVENTORY, s) if data.is_empty() => ReaderEvent::Inventory {
            adr,
            status: s,
            tags: Vec::new(),
        },
        (RE_CMD_PUSH_TAG, _) if status == 0 && !data.is_empty() => ReaderEvent::Tag {
            adr,
            epc: data.to_vec(),
        },
        _ => ReaderEvent::Other {
            adr,
            re_cmd,
            status,
            data: data.to_vec(),
        },
    })
}

fn parse_tags(data: &[u8]) -> Result<Vec<Vec<u8>>, BadFrame> {
    let bad = BadFrame::Malformed;
    let (&num, mut rest) = data
        .split_first()
        .ok_or(bad("inventory reply without tag count"))?;
    let mut tags = Vec::with_capacity(num.into());
    for _ in 0..num {
        let (&n, after) = rest
            .split_first()
            .ok_or(bad("inventory reply has fewer EPCs than its tag count"))?;
        let (epc, after) = after
            .split_at_checked(n.into())
            .ok_or(bad("EPC length overruns the inventory reply"))?;
        tags.push(epc.to_vec());
        rest = after;
    }
    if rest.is_empty() {
        Ok(tags)
    } else {
        Err(bad("bytes after the last EPC of an inventory reply"))
    }
}

fn parse_command(content: &[u8]) -> Result<ReaderCommand, BadFrame> {
    match *content {
        [adr, CMD_INVENTORY] => Ok(ReaderCommand::Inventory { adr }),
        [adr, cmd, ref data @ ..] => Ok(ReaderCommand::Command {
            adr,
            cmd,
            data: data.to_vec(),
        }),
        _ => Err(BadFrame::Length(content.len() + 2)),
    }
}

/// Host-side codec (gate agent): decodes reader frames into [`ReaderEvent`]s (answer and push
/// mode alike) and encodes [`ReaderCommand`]s.
#[derive(Debug, Default)]
pub struct ReaderCodec {
    framer: Framer,
}

impl ReaderCodec {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn stats(&self) -> DecoderStats {
        self.framer.stats()
    }

    /// Tells the decoder that the line has been silent for longer than a frame gap: an incomplete
    /// candidate frame among the bytes already buffered is dropped at the next `decode` instead of
    /// being waited for (see the module documentation).
    pub fn line_idle(&mut self) {
        self.framer.line_idle();
    }
}

impl Decoder for ReaderCodec {
    type Item = ReaderEvent;
    type Error = Error;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<ReaderEvent>, Error> {
        Ok(self.framer.run("rfid", buf, false, |b, _| {
            scan_frame(b, MIN_RESPONSE_LEN, parse_response)
        }))
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<ReaderEvent>, Error> {
        Ok(self.framer.run("rfid", buf, true, |b, _| {
            scan_frame(b, MIN_RESPONSE_LEN, parse_response)
        }))
    }
}

impl Encoder<ReaderCommand> for ReaderCodec {
    type Error = Error;

    fn encode(&mut self, cmd: ReaderCommand, dst: &mut BytesMut) -> Result<(), Error> {
        dst.extend_from_slice(&cmd.encode()?);
        Ok(())
    }
}

/// Reader-side codec (reader emulator): decodes host commands into [`ReaderCommand`]s and encodes
/// [`ReaderEvent`]s as a reader would send them.
#[derive(Debug, Default)]
pub struct CommandDecoder {
    framer: Framer,
}

impl CommandDecoder {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn stats(&self) -> DecoderStats {
        self.framer.stats()
    }

    /// See [`ReaderCodec::line_idle`].
    pub fn line_idle(&mut self) {
        self.framer.line_idle();
    }
}

impl Decoder for CommandDecoder {
    type Item = ReaderCommand;
    type Error = Error;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<ReaderCommand>, Error> {
        Ok(self.framer.run("rfid-cmd", buf, false, |b, _| {
            scan_frame(b, MIN_COMMAND_LEN, parse_command)
        }))
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<ReaderCommand>, Error> {
        Ok(self.framer.run("rfid-cmd", buf, true, |b, _| {
            scan_frame(b, MIN_COMMAND_LEN, parse_command)
        }))
    }
}

impl Encoder<ReaderEvent> for CommandDecoder {
    type Error = Error;

    fn encode(&mut self, event: ReaderEvent, dst: &mut BytesMut) -> Result<(), Error> {
        dst.extend_from_slice(&event.encode()?);
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn decode_all(bytes: &[u8]) -> (Vec<ReaderEvent>, DecoderStats) {
        let mut codec = ReaderCodec::new();
        let mut buf = BytesMut::from(bytes);
        let mut out = Vec::new();
        while let Some(e) = codec.decode_eof(&mut buf).unwrap() {
            out.push(e);
        }
        (out, codec.stats())
    }

    #[test]
    fn crc_check_values() {
        assert_eq!(CRC.checksum(b"123456789"), 0x6F91);
        assert_eq!(
            ReaderCommand::Inventory { adr: 0 }.encode().unwrap(),
            [0x04, 0x00, 0x01, 0xDB, 0x4B]
        );
        assert_eq!(
            encode_inventory_reply(0, InventoryStatus::NoTag, &[] as &[&[u8]]).unwrap(),
            [0x05, 0x00, 0x01, 0xFB, 0xF2, 0x3D]
        );
    }

    #[test]
    fn no_tag_reply() {
        let (events, stats) = decode_all(&[0x05, 0x00, 0x01, 0xFB, 0xF2, 0x3D]);
        let no_tag = ReaderEvent::Inventory {
            adr: 0,
            status: InventoryStatus::NoTag,
            tags: vec![],
        };
        assert_eq!(events, [no_tag]);
        assert_eq!(
            stats,
            DecoderStats {
                frames: 1,
                bad_frames: 0,
                garbage_bytes: 0
            }
        );
    }

    #[test]
    fn push_mode_example() {
        let frame = [
            0x11, 0x00, 0xEE, 0x00, 0xE2, 0x00, 0x00, 0x17, 0x22, 0x11, 0x01, 0x44, 0x18, 0x90,
            0xAB, 0xCD, 0x37, 0xBE,
        ];
        let epc = vec![
            0xE2, 0x00, 0x00, 0x17, 0x22, 0x11, 0x01, 0x44, 0x18, 0x90, 0xAB, 0xCD,
        ];
        assert_eq!(encode_push_tag(0, &epc).unwrap(), frame);
        let (events, _) = decode_all(&frame);
        assert_eq!(events, [ReaderEvent::Tag { adr: 0, epc }]);
    }

    #[test]
    fn inventory_reply_with_two_tags() {
        let tags = [
            vec![0xE2, 0x00, 0x00, 0x17],
            vec![0x30, 0x08, 0x33, 0xB2, 0xDD, 0xD9],
        ];
        let bytes = encode_inventory_reply(0x07, InventoryStatus::MoreFrames, &tags).unwrap();
        assert_eq!(bytes[..6], [18, 0x07, 0x01, 0x03, 2, 4]);
        let (events, _) = decode_all(&bytes);
        let expected = ReaderEvent::Inventory {
            adr: 7,
            status: InventoryStatus::MoreFrames,
            tags: tags.to_vec(),
        };
        assert_eq!(events, [expected]);
    }

    #[test]
    fn inconsistent_inventory_is_a_bad_frame() {
        // Valid CRC, but the EPC length (5) overruns the frame; then tag count 2 with one tag;
        // then a trailing byte after the last EPC.
        for data in [
            &[1, 5, 0xAA, 0xBB][..],
            &[2, 1, 0xAA],
            &[1, 1, 0xAA, 0xBB],
            &[],
        ] {
            let bytes = encode_response(0, CMD_INVENTORY, 0x01, data).unwrap();
            let (events, stats) = decode_all(&bytes);
            assert!(events.is_empty(), "{data:?} gave {events:?}");
            assert!(stats.bad_frames >= 1);
            assert_eq!(stats.garbage_bytes, bytes.len() as u64);
        }
    }

    #[test]
    fn statuses() {
        for b in 0..=u8::MAX {
            let s = InventoryStatus::from(b);
            assert_eq!(u8::from(s), b);
        }
        assert_eq!(InventoryStatus::from(0xFE), InventoryStatus::Error(0xFE));
        // An error reply that carries data is passed on as Other, not dropped.
        let bytes = encode_response(3, CMD_INVENTORY, 0xFC, &[0x0B]).unwrap();
        let other = ReaderEvent::Other {
            adr: 3,
            re_cmd: 1,
            status: 0xFC,
            data: vec![0x0B],
        };
        assert_eq!(decode_all(&bytes).0, [other]);
    }

    #[test]
    fn encoder_rejects_what_it_cannot_encode() {
        assert!(encode_push_tag(0, &[]).is_err());
        assert!(encode_push_tag(0, &[0; 250]).is_ok());
        assert!(matches!(
            encode_push_tag(0, &[0; 251]),
            Err(Error::TooLong { len: 257, .. })
        ));
        assert!(encode_inventory_reply(0, InventoryStatus::NoTag, &[[1u8]]).is_err());
        assert!(encode_inventory_reply(0, InventoryStatus::Error(0x01), &[] as &[&[u8]]).is_err());
        let long = ReaderCommand::Command {
            adr: 0,
            cmd: 0x21,
            data: vec![0; 252],
        };
        assert!(long.encode().is_err());
    }

    #[test]
    fn command_decoder() {
        let mut codec = CommandDecoder::new();
        let mut buf = BytesMut::from(&[0x04, 0x00, 0x01, 0xDB, 0x4B][..]);
        let cmd = ReaderCommand::Command {
            adr: 0xFF,
            cmd: 0x21,
            data: vec![],
        };
        buf.extend_from_slice(&cmd.encode().unwrap());
        assert_eq!(
            codec.decode(&mut buf).unwrap(),
            Some(ReaderCommand::Inventory { adr: 0 })
        );
        assert_eq!(codec.decode(&mut buf).unwrap(), Some(cmd));
        assert_eq!(codec.decode(&mut buf).unwrap(), None);
        assert!(buf.is_empty());
    }

    #[test]
    fn line_idle_resolves_a_pending_candidate() {
        // A noise byte 0xFF makes the decoder wait for a 256-byte candidate.
        let mut codec = ReaderCodec::new();
        let mut buf = BytesMut::from(&[0xFF, 0x05, 0x00, 0x01, 0xFB, 0xF2, 0x3D][..]);
        assert_eq!(codec.decode(&mut buf).unwrap(), None);
        codec.line_idle();
        // Nothing happens until the next decode call, i.e. until the next bytes arrive.
        assert_eq!(codec.stats(), DecoderStats::default());
        buf.extend_from_slice(&[0x05, 0x00, 0x01, 0xFB, 0xF2, 0x3D]);
        assert!(matches!(
            codec.decode(&mut buf).unwrap(),
            Some(ReaderEvent::Inventory { .. })
        ));
        assert!(matches!(
            codec.decode(&mut buf).unwrap(),
            Some(ReaderEvent::Inventory { .. })
        ));
        assert_eq!(codec.decode(&mut buf).unwrap(), None);
        assert_eq!(
            codec.stats(),
            DecoderStats {
                frames: 2,
                bad_frames: 1,
                garbage_bytes: 1
            }
        );
    }
}
