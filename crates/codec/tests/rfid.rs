//! Reader18 codec: splits, garbage, round trips and robustness properties.
#![allow(clippy::unwrap_used)]

mod common;

use bawaba_codec::rfid::{self, CRC, MAX_FRAME};
use bawaba_codec::{
    CommandDecoder, DecoderStats, InventoryStatus, ReaderCodec, ReaderCommand, ReaderEvent,
};
use bytes::BytesMut;
use common::{assert_all_splits, cut, feed};
use proptest::prelude::*;
use tokio_util::codec::Decoder;

fn no_tag() -> ReaderEvent {
    ReaderEvent::Inventory {
        adr: 0,
        status: InventoryStatus::NoTag,
        tags: vec![],
    }
}

fn sample_events() -> Vec<ReaderEvent> {
    vec![
        no_tag(),
        ReaderEvent::Tag {
            adr: 0,
            epc: vec![
                0xE2, 0x00, 0x00, 0x17, 0x22, 0x11, 0x01, 0x44, 0x18, 0x90, 0xAB, 0xCD,
            ],
        },
        ReaderEvent::Inventory {
            adr: 0x0A,
            status: InventoryStatus::Done,
            tags: vec![vec![0x30, 0x00, 0x11, 0x22], vec![], vec![0xE2; 12]],
        },
        ReaderEvent::Other {
            adr: 0,
            re_cmd: 0x21,
            status: 0,
            data: vec![0x03, 0x01, 0x01, 0x09, 0x4E, 0x00, 0x1E, 0x0A],
        },
        ReaderEvent::Inventory {
            adr: 0xFF,
            status: InventoryStatus::Error(0xFE),
            tags: vec![],
        },
    ]
}

fn decode(bytes: &[u8], cuts: &[usize], eof: bool) -> (Vec<ReaderEvent>, DecoderStats, usize) {
    let mut codec = ReaderCodec::new();
    let (items, left) = feed(&mut codec, &cut(bytes, cuts), MAX_FRAME, eof);
    (items, codec.stats(), left)
}

fn encoded_len(events: &[ReaderEvent]) -> usize {
    events.iter().map(|e| e.encode().unwrap().len()).sum()
}

#[test]
fn every_split_decodes_the_same() {
    let events = sample_events();
    for e in &events {
        assert_all_splits(
            ReaderCodec::new,
            &e.encode().unwrap(),
            std::slice::from_ref(e),
            MAX_FRAME,
        );
    }
    let all: Vec<u8> = events.iter().flat_map(|e| e.encode().unwrap()).collect();
    assert_all_splits(ReaderCodec::new, &all, &events, MAX_FRAME);

    let commands = [
        ReaderCommand::Inventory { adr: 0 },
        ReaderCommand::Command {
            adr: 0xFF,
            cmd: 0x21,
            data: vec![],
        },
        ReaderCommand::Command {
            adr: 0,
            cmd: 0x25,
            data: vec![0x0A],
        },
    ];
    let all: Vec<u8> = commands.iter().flat_map(|c| c.encode().unwrap()).collect();
    assert_all_splits(CommandDecoder::new, &all, &commands, MAX_FRAME);
}

#[test]
fn garbage_before_inside_and_after_frames() {
    let [a, b, c, ..] = &sample_events()[..] else {
        unreachable!()
    };
    let (fa, fb, fc) = (
        a.encode().unwrap(),
        b.encode().unwrap(),
        c.encode().unwrap(),
    );
    let bytes = [
        &[0x00, 0x13, 0x07, 0x99][..],
        &fa,
        &[0x05, 0x00, 0x01],
        &fb[..7],
        &[0xAA, 0x55],
        &fb[7..],
        &fc,
        &[0x30, 0x00, 0x01, 0xFB],
    ]
    .concat();
    let (items, stats, left) = decode(&bytes, &[], true);
    assert_eq!(items, [a.clone(), c.clone()]);
    assert_eq!(stats.frames, 2);
    assert_eq!(
        stats.garbage_bytes as usize,
        bytes.len() - fa.len() - fc.len()
    );
    assert!(stats.bad_frames >= 4);
    assert_eq!(left, 0);

    // Live, the garbage byte 0x99 (a 154-byte candidate) holds everything after it back...
    let mut codec = ReaderCodec::new();
    let mut buf = BytesMut::from(&bytes[..]);
    assert_eq!(codec.decode(&mut buf).unwrap(), None);
    // ...until the line goes idle and the next reply arrives.
    codec.line_idle();
    buf.extend_from_slice(&fa);
    let mut items = Vec::new();
    while let Some(e) = codec.decode(&mut buf).unwrap() {
        items.push(e);
    }
    assert_eq!(items, [a.clone(), c.clone(), a.clone()]);
    assert!(buf.is_empty());
}

/// The documented limitation: garbage whose candidate frame ends inside the next frame and whose
/// CRC happens to match swallows that frame. (Two garbage bytes chosen to force a collision.)
#[test]
fn a_crc_collision_in_garbage_can_swallow_a_frame() {
    let f = no_tag().encode().unwrap(); // 05 00 01 FB F2 3D
    let want = u16::from_le_bytes([f[1], f[2]]);
    let g = (0..=u16::MAX)
        .map(|x| {
            let [p, q] = x.to_le_bytes();
            vec![0x06, p, q, 0x77]
        })
        .find(|g| CRC.checksum(&[&g[..], &f[..1]].concat()) == want)
        .unwrap();
    let bytes = [&g[..], &f].concat();
    let (items, _, _) = decode(&bytes, &[], true);
    assert!(!items.contains(&no_tag()));
    assert!(swallowed(&bytes, g.len()));
}

/// Whether some candidate frame that starts in the garbage (`bytes[..g]`) and ends after it, within
/// `bytes`, has a valid CRC, i.e. may be decoded instead of the frame that follows the garbage.
fn swallowed(bytes: &[u8], g: usize) -> bool {
    (0..g).any(|i| {
        let end = i + usize::from(bytes[i]) + 1;
        bytes[i] >= 5 && end > g && end <= bytes.len() && {
            let (body, crc) = bytes[i..end].split_at(end - i - 2);
            CRC.checksum(body).to_le_bytes() == crc
        }
    })
}

fn arb_epc() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..=32)
}

fn arb_event() -> impl Strategy<Value = ReaderEvent> {
    let tag_status = prop_oneof![
        Just(InventoryStatus::Done),
        Just(InventoryStatus::ScanTimeOver),
        Just(InventoryStatus::MoreFrames),
        Just(InventoryStatus::BufferFull),
    ];
    let no_tag_status = prop_oneof![
        Just(InventoryStatus::NoTag),
        (0x05..=0xFAu8).prop_map(InventoryStatus::Error),
        (0xFC..=0xFFu8).prop_map(InventoryStatus::Error),
        Just(InventoryStatus::Error(0)),
    ];
    prop_oneof![
        (
            any::<u8>(),
            tag_status,
            prop::collection::vec(arb_epc(), 0..6)
        )
            .prop_map(|(adr, status, tags)| ReaderEvent::Inventory { adr, status, tags }),
        (any::<u8>(), no_tag_status).prop_map(|(adr, status)| ReaderEvent::Inventory {
            adr,
            status,
            tags: vec![]
        }),
        (any::<u8>(), prop::collection::vec(any::<u8>(), 1..=250))
            .prop_map(|(adr, epc)| ReaderEvent::Tag { adr, epc }),
        (
            any::<u8>(),
            any::<u8>(),
            any::<u8>(),
            prop::collection::vec(any::<u8>(), 0..=250)
        )
            .prop_filter("not an inventory or push frame", |(_, re_cmd, _, _)| {
                *re_cmd != rfid::CMD_INVENTORY && *re_cmd != rfid::RE_CMD_PUSH_TAG
            })
            .prop_map(|(adr, re_cmd, status, data)| ReaderEvent::Other {
                adr,
                re_cmd,
                status,
                data
            }),
    ]
}

fn arb_command() -> impl Strategy<Value = ReaderCommand> {
    prop_oneof![
        any::<u8>().prop_map(|adr| ReaderCommand::Inventory { adr }),
        (
            any::<u8>(),
            any::<u8>(),
            prop::collection::vec(any::<u8>(), 0..=251)
        )
            .prop_filter("not the inventory command", |(_, cmd, data)| {
                *cmd != rfid::CMD_INVENTORY || !data.is_empty()
            })
            .prop_map(|(adr, cmd, data)| ReaderCommand::Command { adr, cmd, data }),
    ]
}

/// Byte soup: valid frames mixed with random bytes.
fn arb_stream() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            arb_event().prop_map(|e| e.encode().unwrap()),
            prop::collection::vec(any::<u8>(), 0..40),
        ],
        0..24,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn event_round_trip(event in arb_event(), cuts in prop::collection::vec(any::<usize>(), 0..4)) {
        let bytes = event.encode().unwrap();
        prop_assert!(bytes.len() <= MAX_FRAME);
        let (items, stats, left) = decode(&bytes, &cuts, false);
        prop_assert_eq!(items, vec![event]);
        prop_assert_eq!(stats, DecoderStats { frames: 1, bad_frames: 0, garbage_bytes: 0 });
        prop_assert_eq!(left, 0);
    }

    #[test]
    fn command_round_trip(cmd in arb_command(), cuts in prop::collection::vec(any::<usize>(), 0..4)) {
        let bytes = cmd.encode().unwrap();
        let (items, left) = feed(&mut CommandDecoder::new(), &cut(&bytes, &cuts), MAX_FRAME, false);
        prop_assert_eq!(items, vec![cmd]);
        prop_assert_eq!(left, 0);
    }

    /// Garbage then a valid frame: the frame is decoded unless a CRC collision lets a candidate
    /// from the garbage swallow it; at end of stream, after 255 more bytes, or after line_idle.
    #[test]
    fn frame_after_garbage_is_found(
        garbage in prop::collection::vec(any::<u8>(), 0..300),
        event in arb_event(),
        cuts in prop::collection::vec(any::<usize>(), 0..4),
    ) {
        let frame = event.encode().unwrap();
        let bytes = [&garbage[..], &frame].concat();
        let excused = swallowed(&bytes, garbage.len());
        let found = |items: &[ReaderEvent]| items.last() == Some(&event);

        let (items, _, _) = decode(&bytes, &cuts, true);
        prop_assert!(found(&items) || excused);

        // Live: 255 more bytes (here zeros, which are never a frame) resolve every candidate.
        let padded = [&bytes[..], &[0u8; 255]].concat();
        let (items, _, _) = decode(&padded, &cuts, false);
        prop_assert!(found(&items) || swallowed(&padded, garbage.len()));

        let mut codec = ReaderCodec::new();
        let mut buf = BytesMut::new();
        let mut items = Vec::new();
        let chunks = cut(&bytes, &cuts);
        let last = chunks.len();
        for (i, chunk) in chunks.into_iter().chain([&[0u8][..]]).enumerate() {
            if i == last {
                codec.line_idle();
            }
            buf.extend_from_slice(chunk);
            while let Some(e) = codec.decode(&mut buf).unwrap() {
                items.push(e);
            }
        }
        prop_assert!(found(&items) || excused);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Never panics, keeps fewer than MAX_FRAME bytes buffered (checked in `feed`), and accounts
    /// for every byte: returned frames + garbage + left in the buffer = input.
    #[test]
    fn arbitrary_bytes(
        bytes in prop_oneof![prop::collection::vec(any::<u8>(), 0..2048), arb_stream()],
        cuts in prop::collection::vec(any::<usize>(), 0..8),
        eof in any::<bool>(),
    ) {
        let (items, stats, left) = decode(&bytes, &cuts, eof);
        prop_assert_eq!(stats.frames as usize, items.len());
        prop_assert_eq!(encoded_len(&items) + stats.garbage_bytes as usize + left, bytes.len());
        let (commands, left) = feed(&mut CommandDecoder::new(), &cut(&bytes, &cuts), MAX_FRAME, eof);
        let len: usize = commands.iter().map(|c| c.encode().unwrap().len()).sum();
        prop_assert!(len + left <= bytes.len());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6))]

    #[test]
    fn huge_input(seed in any::<u64>(), chunk in 1usize..70_000) {
        let bytes = common::noise(seed, 1 << 20);
        let chunks: Vec<&[u8]> = bytes.chunks(chunk).collect();
        let mut codec = ReaderCodec::new();
        let (items, left) = feed(&mut codec, &chunks, MAX_FRAME, true);
        prop_assert_eq!(encoded_len(&items) + codec.stats().garbage_bytes as usize + left, bytes.len());
    }
}
