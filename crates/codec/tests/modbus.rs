//! Modbus RTU function 05 codecs: splits, garbage, round trips and robustness properties.
#![allow(clippy::unwrap_used)]

mod common;

use bawaba_codec::modbus::{CRC, MAX_FRAME, is_echo_of};
use bawaba_codec::{
    BarrierCodec, BarrierCommand, BarrierSlaveCodec, CoilWrite, DecoderStats, ModbusReply,
};
use common::{assert_all_splits, cut, feed};
use proptest::prelude::*;

fn flash() -> BarrierCommand {
    BarrierCommand::FlashOn {
        slave: 1,
        relay: 0,
        duration_100ms: 5,
    }
}

fn reply_len(r: &ModbusReply) -> usize {
    r.to_bytes().len()
}

#[test]
fn every_split_decodes_the_same() {
    let replies = [
        flash().request().echo(),
        ModbusReply::Exception {
            slave: 1,
            function: 5,
            code: 2,
        },
        BarrierCommand::Coil {
            slave: 1,
            relay: 0,
            on: false,
        }
        .request()
        .echo(),
    ];
    let bytes: Vec<u8> = replies.iter().flat_map(ModbusReply::to_bytes).collect();
    assert_all_splits(BarrierCodec::new, &bytes, &replies, MAX_FRAME);

    let commands = [
        flash(),
        BarrierCommand::Coil {
            slave: 1,
            relay: 0,
            on: true,
        },
        BarrierCommand::Coil {
            slave: 1,
            relay: 0,
            on: false,
        },
    ];
    let bytes: Vec<u8> = commands.iter().flat_map(BarrierCommand::to_bytes).collect();
    let requests: Vec<CoilWrite> = commands.iter().map(BarrierCommand::request).collect();
    assert_all_splits(BarrierSlaveCodec::new, &bytes, &requests, MAX_FRAME);
}

#[test]
fn garbage_before_inside_and_after_frames() {
    let (a, b, c) = (
        flash().request().echo(),
        BarrierCommand::Coil {
            slave: 1,
            relay: 0,
            on: true,
        }
        .request()
        .echo(),
        ModbusReply::Exception {
            slave: 1,
            function: 5,
            code: 4,
        },
    );
    let (fa, fb, fc) = (a.to_bytes(), b.to_bytes(), c.to_bytes());
    let bytes = [
        &[0x01, 0x05, 0x02, 0xFF][..],
        &fa,
        &[0x00],
        &fb[..4],
        &[0x13],
        &fb[4..],
        &fc,
        &[0x01, 0x85],
    ]
    .concat();
    let mut codec = BarrierCodec::new();
    let (items, left) = feed(&mut codec, &[&bytes], MAX_FRAME, true);
    assert_eq!(items, [a, c]);
    assert_eq!(left, 0);
    let stats = codec.stats();
    assert_eq!(stats.frames, 2);
    assert_eq!(
        stats.garbage_bytes as usize,
        bytes.len() - fa.len() - fc.len()
    );
}

/// Whether a candidate starting in `bytes[..g]` and ending after it has a valid CRC.
fn swallowed(bytes: &[u8], g: usize) -> bool {
    (0..g).any(|i| {
        let len = match bytes.get(i + 1) {
            Some(5) => 8,
            Some(f) if f & 0x80 != 0 => 5,
            _ => return false,
        };
        bytes.get(i..i + len).is_some_and(|cand| {
            let (body, crc) = cand.split_at(len - 2);
            i + len > g && CRC.checksum(body).to_le_bytes() == crc
        })
    })
}

fn arb_command() -> impl Strategy<Value = BarrierCommand> {
    prop_oneof![
        (any::<u8>(), any::<u8>(), any::<u16>()).prop_map(|(slave, relay, duration_100ms)| {
            BarrierCommand::FlashOn {
                slave,
                relay,
                duration_100ms,
            }
        }),
        (any::<u8>(), any::<u8>(), any::<bool>())
            .prop_map(|(slave, relay, on)| BarrierCommand::Coil { slave, relay, on }),
    ]
}

fn arb_reply() -> impl Strategy<Value = ModbusReply> {
    prop_oneof![
        (any::<u8>(), any::<u16>(), any::<u16>()).prop_map(|(slave, address, value)| {
            ModbusReply::Echo {
                slave,
                address,
                value,
            }
        }),
        (any::<u8>(), 0..0x80u8, any::<u8>()).prop_map(|(slave, function, code)| {
            ModbusReply::Exception {
                slave,
                function,
                code,
            }
        }),
    ]
}

fn arb_stream() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            arb_reply().prop_map(|r| r.to_bytes()),
            prop::collection::vec(any::<u8>(), 0..12),
        ],
        0..40,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn command_round_trip(cmd in arb_command(), cuts in prop::collection::vec(any::<usize>(), 0..4)) {
        let bytes = cmd.to_bytes();
        let mut slave = BarrierSlaveCodec::new();
        let (requests, _) = feed(&mut slave, &cut(&bytes, &cuts), MAX_FRAME, false);
        prop_assert_eq!(requests.len(), 1);
        prop_assert_eq!(requests[0].command(), Some(cmd));
        // The normal reply echoes the request.
        let (replies, _) = feed(&mut BarrierCodec::new(), &[&bytes], MAX_FRAME, false);
        prop_assert!(is_echo_of(&cmd, &replies[0]));
    }

    #[test]
    fn reply_round_trip(reply in arb_reply(), cuts in prop::collection::vec(any::<usize>(), 0..4)) {
        let mut codec = BarrierCodec::new();
        let (items, left) = feed(&mut codec, &cut(&reply.to_bytes(), &cuts), MAX_FRAME, false);
        prop_assert_eq!(items, vec![reply]);
        prop_assert_eq!(left, 0);
        prop_assert_eq!(codec.stats(), DecoderStats { frames: 1, bad_frames: 0, garbage_bytes: 0 });
    }

    /// Garbage then a valid reply: found unless a CRC collision, at end of stream or 7 bytes later.
    #[test]
    fn frame_after_garbage_is_found(
        garbage in prop::collection::vec(any::<u8>(), 0..64),
        reply in arb_reply(),
        cuts in prop::collection::vec(any::<usize>(), 0..4),
    ) {
        let bytes = [&garbage[..], &reply.to_bytes()].concat();
        let (items, _) = feed(&mut BarrierCodec::new(), &cut(&bytes, &cuts), MAX_FRAME, true);
        prop_assert!(items.last() == Some(&reply) || swallowed(&bytes, garbage.len()));
        let padded = [&bytes[..], &[0u8; 7]].concat();
        let (items, _) = feed(&mut BarrierCodec::new(), &cut(&padded, &cuts), MAX_FRAME, false);
        prop_assert!(items.last() == Some(&reply) || swallowed(&padded, garbage.len()));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Never panics, stays bounded (checked in `feed`), accounts for every byte.
    #[test]
    fn arbitrary_bytes(
        bytes in prop_oneof![prop::collection::vec(any::<u8>(), 0..4096), arb_stream()],
        cuts in prop::collection::vec(any::<usize>(), 0..8),
        eof in any::<bool>(),
    ) {
        let mut codec = BarrierCodec::new();
        let (items, left) = feed(&mut codec, &cut(&bytes, &cuts), MAX_FRAME, eof);
        let framed: usize = items.iter().map(reply_len).sum();
        prop_assert_eq!(framed + codec.stats().garbage_bytes as usize + left, bytes.len());

        let mut slave = BarrierSlaveCodec::new();
        let (items, left) = feed(&mut slave, &cut(&bytes, &cuts), MAX_FRAME, eof);
        prop_assert_eq!(items.len() * 8 + slave.stats().garbage_bytes as usize + left, bytes.len());
    }

}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6))]

    #[test]
    fn huge_input(seed in any::<u64>(), chunk in 1usize..70_000) {
        let bytes = common::noise(seed, 1 << 20);
        let chunks: Vec<&[u8]> = bytes.chunks(chunk).collect();
        let mut codec = BarrierCodec::new();
        let (items, left) = feed(&mut codec, &chunks, MAX_FRAME, true);
        let framed: usize = items.iter().map(reply_len).sum();
        prop_assert_eq!(framed + codec.stats().garbage_bytes as usize + left, bytes.len());
    }
}
