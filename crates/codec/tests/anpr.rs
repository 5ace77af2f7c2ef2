//! ANPR codecs: splits, garbage, round trips and robustness properties.
#![allow(clippy::unwrap_used)]

mod common;

use bawaba_codec::anpr::{ETX, MAX_LINE, MAX_STX_FRAME, STX, valid_plate};
use bawaba_codec::{
    AnprDecoder, AnprEncoder, AnprFormat, DecoderStats, Error, PlateRead, Template,
};
use chrono::{NaiveDate, NaiveDateTime};
use common::{assert_all_splits, cut, feed};
use proptest::prelude::*;

fn time(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, mo, d)
        .unwrap()
        .and_hms_opt(h, mi, s)
        .unwrap()
}

fn template(src: &str) -> AnprFormat {
    AnprFormat::Template(Template::parse(src).unwrap())
}

fn sample_stx() -> Vec<PlateRead> {
    let read = |plate: Option<&str>, lane| PlateRead {
        camera_time: Some(time(2025, 3, 14, 7, 5, 9)),
        lane: Some(lane),
        plate: plate.map(Into::into),
        ..PlateRead::default()
    };
    vec![
        read(Some("6012345"), 1),
        read(None, 2),
        read(Some("أ ب ١٢٣٤٥"), 99),
        read(Some("۱۲-AB"), 0),
    ]
}

fn encode_all(format: &AnprFormat, reads: &[PlateRead]) -> Vec<u8> {
    let enc = AnprEncoder::new(format.clone());
    reads
        .iter()
        .flat_map(|r| enc.to_bytes(r).unwrap())
        .collect()
}

fn decode(
    format: &AnprFormat,
    bytes: &[u8],
    cuts: &[usize],
    eof: bool,
) -> (Vec<PlateRead>, DecoderStats, usize) {
    let mut dec = AnprDecoder::new(format.clone());
    let max = match format {
        AnprFormat::StxEtx => MAX_STX_FRAME,
        AnprFormat::Template(_) => MAX_LINE,
    };
    let (items, left) = feed(&mut dec, &cut(bytes, cuts), max, eof);
    (items, dec.stats(), left)
}

#[test]
fn every_split_decodes_the_same() {
    let reads = sample_stx();
    let stx = AnprFormat::StxEtx;
    let new = || AnprDecoder::new(AnprFormat::StxEtx);
    for r in &reads {
        assert_all_splits(
            new,
            &encode_all(&stx, std::slice::from_ref(r)),
            std::slice::from_ref(r),
            MAX_STX_FRAME,
        );
    }
    assert_all_splits(new, &encode_all(&stx, &reads), &reads, MAX_STX_FRAME);

    let src = "<%LANE%> %TIME% %PLATE%;%CONF%;%COUNTRY%\r\n";
    let format = template(src);
    let reads: Vec<PlateRead> = reads
        .into_iter()
        .zip([87, 0, 100, 5])
        .map(|(r, c)| PlateRead {
            confidence: Some(c),
            country: Some("JOR".into()),
            ..r
        })
        .collect();
    let bytes = encode_all(&format, &reads);
    assert!(bytes.starts_with(b"<1> 20250314070509 6012345;87;JOR\r\n<2> "));
    let new = || AnprDecoder::new(template(src));
    assert_all_splits(new, &bytes, &reads, MAX_LINE);
}

#[test]
fn garbage_before_inside_and_after_frames() {
    let reads = sample_stx();
    let stx = AnprFormat::StxEtx;
    let f: Vec<Vec<u8>> = reads
        .iter()
        .map(|r| encode_all(&stx, std::slice::from_ref(r)))
        .collect();
    let bytes = [
        &b"\x02\x02123\x03junk"[..],
        &f[0],
        b"\x00\xFF",
        &f[1][..10],
        b"\x02",
        &f[1][10..],
        &f[2][..20],
        b"\xFF",
        &f[2][20..],
        &f[3],
        b"\x0220250314",
    ]
    .concat();
    let (items, stats, left) = decode(&stx, &bytes, &[], false);
    assert_eq!(items, [reads[0].clone(), reads[3].clone()]);
    assert_eq!(left, 9);
    assert_eq!(
        stats.garbage_bytes as usize + left + f[0].len() + f[3].len(),
        bytes.len()
    );
    let (_, stats, left) = decode(&stx, &bytes, &[], true);
    assert_eq!((stats.frames, left), (2, 0));

    let format = template("%PLATE%,%CONF%,%COUNTRY%");
    let bytes = b"\xFF\xFE\r\n6012345,87,JO\r\n60#12345,87,JO\r\n6012345,87,J0\r\n60123\x0045,1,JO\r\nAB,1,SA\r\n12,3";
    let (items, stats, left) = decode(&format, bytes, &[], true);
    let plates: Vec<_> = items.iter().map(|r| r.plate.as_deref().unwrap()).collect();
    assert_eq!(plates, ["6012345", "AB"]);
    assert_eq!(stats.bad_frames, 5);
    assert_eq!(left, 0);
}

#[test]
fn encoder_rejections() {
    let stx = AnprEncoder::new(AnprFormat::StxEtx);
    let ok = sample_stx()[0].clone();
    let bad = [
        PlateRead {
            lane: Some(100),
            ..ok.clone()
        },
        PlateRead {
            lane: None,
            ..ok.clone()
        },
        PlateRead {
            camera_time: None,
            ..ok.clone()
        },
        PlateRead {
            camera_time: Some(time(10_000, 1, 1, 0, 0, 0)),
            ..ok.clone()
        },
        PlateRead {
            plate: Some("Not defined".into()),
            ..ok.clone()
        },
        PlateRead {
            plate: Some("AB_1".into()),
            ..ok.clone()
        },
        PlateRead {
            plate: Some(String::new()),
            ..ok.clone()
        },
    ];
    for r in bad {
        assert!(stx.to_bytes(&r).is_err(), "{r:?}");
    }
    assert!(matches!(
        stx.to_bytes(&PlateRead {
            plate: Some("A".repeat(33)),
            ..ok.clone()
        }),
        Err(Error::TooLong {
            len: 33,
            max: 32,
            ..
        })
    ));
    // Sub-seconds are truncated.
    let precise = PlateRead {
        camera_time: Some(time(2025, 3, 14, 7, 5, 9) + chrono::Duration::milliseconds(999)),
        ..ok.clone()
    };
    assert_eq!(stx.to_bytes(&precise).unwrap(), stx.to_bytes(&ok).unwrap());
}

fn arb_plate() -> impl Strategy<Value = Option<String>> {
    let plate = "[A-Za-z0-9\u{0621}-\u{064A}\u{0660}-\u{0669}\u{06F0}-\u{06F9}][A-Za-z0-9 \\-\u{0621}-\u{064A}\u{0660}-\u{0669}\u{06F0}-\u{06F9}]{0,15}"
        .prop_filter("plate", |p| valid_plate(p));
    prop::option::weighted(0.9, plate)
}

fn arb_time() -> impl Strategy<Value = NaiveDateTime> {
    (
        0i32..=9999,
        1u32..=12,
        1u32..=31,
        0u32..24,
        0u32..60,
        0u32..60,
    )
        .prop_filter_map("date", |(y, mo, d, h, mi, s)| {
            NaiveDate::from_ymd_opt(y, mo, d)?.and_hms_opt(h, mi, s)
        })
}

fn arb_read() -> impl Strategy<Value = PlateRead> {
    (
        arb_time(),
        any::<u8>(),
        arb_plate(),
        0u8..=100,
        "[A-Za-z]{1,16}",
    )
        .prop_map(
            |(camera_time, lane, plate, confidence, country)| PlateRead {
                camera_time: Some(camera_time),
                lane: Some(lane),
                plate,
                confidence: Some(confidence),
                country: Some(country),
            },
        )
}

/// Templates: the fields in any order, any subset with PLATE, separated by various literals.
fn arb_template() -> impl Strategy<Value = String> {
    let sep = prop::sample::select(vec![
        ",", ";", "|", "\t", " ", "-", " - ", "::", "/", "X", "0",
    ]);
    (
        prop::sample::subsequence(vec!["%CONF%", "%COUNTRY%", "%LANE%", "%TIME%"], 0..=4),
        any::<prop::sample::Index>(),
        prop::collection::vec(sep, 5),
        prop::sample::select(vec!["", "<", "plate="]),
        prop::sample::select(vec!["", ">", ";"]),
    )
        .prop_map(|(mut fields, at, seps, prefix, suffix)| {
            fields.insert(at.index(fields.len() + 1), "%PLATE%");
            let mut s = prefix.to_owned();
            for (i, f) in fields.iter().enumerate() {
                if i > 0 {
                    s.push_str(seps[i]);
                }
                s.push_str(f);
            }
            s + suffix + "\r\n"
        })
}

/// What a format carries of a read.
fn project(format: &AnprFormat, r: &PlateRead) -> PlateRead {
    let has = |name: &str| match format {
        AnprFormat::StxEtx => matches!(name, "TIME" | "LANE" | "PLATE"),
        AnprFormat::Template(t) => t.fields().any(|f| f.name() == name),
    };
    PlateRead {
        camera_time: r.camera_time.filter(|_| has("TIME")),
        lane: r.lane.filter(|_| has("LANE")),
        plate: r.plate.clone(),
        confidence: r.confidence.filter(|_| has("CONF")),
        country: r.country.clone().filter(|_| has("COUNTRY")),
    }
}

fn arb_stx_stream() -> impl Strategy<Value = Vec<u8>> {
    let noise = prop::collection::vec(
        prop_oneof![
            Just(STX),
            Just(ETX),
            b'0'..=b'9',
            b'A'..=b'Z',
            Just(b' '),
            any::<u8>()
        ],
        0..60,
    );
    let frame = (arb_read(), 0u8..100).prop_map(|(r, lane)| {
        AnprEncoder::new(AnprFormat::StxEtx)
            .to_bytes(&PlateRead {
                lane: Some(lane),
                ..r
            })
            .unwrap()
    });
    prop::collection::vec(prop_oneof![frame, noise], 0..20).prop_map(|p| p.concat())
}

fn arb_line_stream() -> impl Strategy<Value = Vec<u8>> {
    let noise = prop::collection::vec(
        prop_oneof![
            Just(b'\r'),
            Just(b'\n'),
            Just(b','),
            b'0'..=b'9',
            b'A'..=b'Z',
            any::<u8>()
        ],
        0..300,
    );
    let line = arb_read().prop_filter_map("encodable", |r| {
        AnprEncoder::new(template("%PLATE%,%CONF%,%COUNTRY%"))
            .to_bytes(&r)
            .ok()
    });
    prop::collection::vec(prop_oneof![line, noise], 0..20).prop_map(|p| p.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn stx_round_trip(read in arb_read(), lane in 0u8..100, cuts in prop::collection::vec(any::<usize>(), 0..4)) {
        let format = AnprFormat::StxEtx;
        let read = PlateRead { lane: Some(lane), ..read };
        let bytes = AnprEncoder::new(format.clone()).to_bytes(&read).unwrap();
        prop_assert!(bytes.len() <= MAX_STX_FRAME);
        let (items, stats, _) = decode(&format, &bytes, &cuts, false);
        prop_assert_eq!(items, vec![project(&format, &read)]);
        prop_assert_eq!(stats, DecoderStats { frames: 1, bad_frames: 0, garbage_bytes: 0 });
    }

    /// Every read encodes under every template, except when a separator can occur inside a value
    /// in a way that makes the line ambiguous; what encodes decodes back.
    #[test]
    fn template_round_trip(src in arb_template(), read in arb_read(), cuts in prop::collection::vec(any::<usize>(), 0..4)) {
        let format = template(&src);
        match AnprEncoder::new(format.clone()).to_bytes(&read) {
            Ok(bytes) => {
                let (items, stats, _) = decode(&format, &bytes, &cuts, false);
                prop_assert_eq!(items, vec![project(&format, &read)]);
                prop_assert_eq!(stats.bad_frames, 0);
            }
            Err(Error::Invalid { field: "line", .. }) => {
                prop_assert!(src.contains([' ', '-', 'X', '0']), "{src:?} is not ambiguous");
            }
            Err(e) => prop_assert!(false, "{e}"),
        }
    }

    /// Any garbage before a frame: an STX frame is always found, without end of stream (its STX
    /// ends any candidate started in the garbage); a line is always found when the garbage ends
    /// with a line feed.
    #[test]
    fn frame_after_garbage_is_found(
        garbage in prop::collection::vec(prop_oneof![Just(STX), Just(b'\n'), b'0'..=b'9', any::<u8>()], 0..400),
        read in arb_read(),
        lane in 0u8..100,
        cuts in prop::collection::vec(any::<usize>(), 0..4),
    ) {
        let format = AnprFormat::StxEtx;
        let read = PlateRead { lane: Some(lane), ..read };
        let frame = AnprEncoder::new(format.clone()).to_bytes(&read).unwrap();
        let (items, _, left) = decode(&format, &[&garbage[..], &frame].concat(), &cuts, false);
        prop_assert_eq!(items.last(), Some(&project(&format, &read)));
        prop_assert_eq!(left, 0);

        let format = template("%PLATE%,%CONF%,%COUNTRY%");
        if let Ok(line) = AnprEncoder::new(format.clone()).to_bytes(&read) {
            let bytes = [&garbage[..], b"\n", &line].concat();
            let (items, _, _) = decode(&format, &bytes, &cuts, false);
            prop_assert_eq!(items.last(), Some(&project(&format, &read)));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Never panics, stays bounded (checked in `feed`), accounts for every byte (STX/ETX frames
    /// re-encode to exactly the bytes they were decoded from).
    #[test]
    fn arbitrary_bytes_stx(
        bytes in prop_oneof![prop::collection::vec(any::<u8>(), 0..2048), arb_stx_stream()],
        cuts in prop::collection::vec(any::<usize>(), 0..8),
        eof in any::<bool>(),
    ) {
        let format = AnprFormat::StxEtx;
        let (items, stats, left) = decode(&format, &bytes, &cuts, eof);
        let framed = encode_all(&format, &items).len();
        prop_assert_eq!(framed + stats.garbage_bytes as usize + left, bytes.len());
    }

    #[test]
    fn arbitrary_bytes_lines(
        bytes in prop_oneof![prop::collection::vec(any::<u8>(), 0..2048), arb_line_stream()],
        cuts in prop::collection::vec(any::<usize>(), 0..8),
        eof in any::<bool>(),
    ) {
        let format = template("%TIME% %PLATE% %LANE% %CONF%,%COUNTRY%");
        let (_, stats, left) = decode(&format, &bytes, &cuts, eof);
        prop_assert!(stats.garbage_bytes as usize + left <= bytes.len());
        let format = template("%PLATE%,%CONF%,%COUNTRY%");
        let (items, stats, left) = decode(&format, &bytes, &cuts, eof);
        prop_assert!(items.len() as u64 == stats.frames);
        prop_assert!(stats.garbage_bytes as usize + left <= bytes.len());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6))]

    #[test]
    fn huge_input(seed in any::<u64>(), chunk in 1usize..70_000) {
        let bytes = common::noise(seed, 1 << 20);
        let chunks: Vec<&[u8]> = bytes.chunks(chunk).collect();
        for format in [AnprFormat::StxEtx, template("%PLATE%,%CONF%")] {
            let max = if format == AnprFormat::StxEtx { MAX_STX_FRAME } else { MAX_LINE };
            let mut dec = AnprDecoder::new(format);
            let (_, left) = feed(&mut dec, &chunks, max, true);
            prop_assert_eq!(left, 0);
        }
    }
}
