//! The codecs inside a real `FramedRead`: split reads, garbage, and end of stream with bytes
//! left over (which the default `decode_eof` would turn into an error).
#![allow(clippy::unwrap_used)]

use bawaba_codec::{
    AnprDecoder, AnprFormat, BarrierCodec, BarrierCommand, InventoryStatus, ReaderCodec,
    ReaderEvent,
};
use tokio_stream::StreamExt;
use tokio_util::codec::FramedRead;

#[tokio::test]
async fn framed_read_over_a_noisy_line() {
    let no_tag = [0x05, 0x00, 0x01, 0xFB, 0xF2, 0x3D];
    let push = [
        0x11, 0x00, 0xEE, 0x00, 0xE2, 0x00, 0x00, 0x17, 0x22, 0x11, 0x01, 0x44, 0x18, 0x90, 0xAB,
        0xCD, 0x37, 0xBE,
    ];
    let bytes = [&[0x00, 0x01][..], &no_tag, &push, &[0x05, 0x00, 0x01]].concat();
    // A tiny read capacity splits the frames across reads.
    let mut framed = FramedRead::with_capacity(&bytes[..], ReaderCodec::new(), 4);
    let mut events = Vec::new();
    while let Some(e) = framed.next().await {
        events.push(e.unwrap());
    }
    assert_eq!(events.len(), 2);
    assert_eq!(
        events[0],
        ReaderEvent::Inventory {
            adr: 0,
            status: InventoryStatus::NoTag,
            tags: vec![]
        }
    );
    assert!(matches!(&events[1], ReaderEvent::Tag { epc, .. } if epc.len() == 12));
    assert_eq!(framed.decoder().stats().garbage_bytes, 5);

    let bytes = b"noise\x022025031407050901AB 123\x03\x02202503";
    let reads: Vec<_> = FramedRead::new(&bytes[..], AnprDecoder::new(AnprFormat::StxEtx))
        .collect::<Result<_, _>>()
        .await
        .unwrap();
    assert_eq!(reads.len(), 1);
    assert_eq!(reads[0].plate.as_deref(), Some("AB 123"));

    let cmd = BarrierCommand::FlashOn {
        slave: 1,
        relay: 0,
        duration_100ms: 5,
    };
    let bytes = [&[0xFF][..], &cmd.to_bytes(), &[0x01]].concat();
    let replies: Vec<_> = FramedRead::new(&bytes[..], BarrierCodec::new())
        .collect::<Result<_, _>>()
        .await
        .unwrap();
    assert!(bawaba_codec::modbus::is_echo_of(&cmd, &replies[0]));
}
