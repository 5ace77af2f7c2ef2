//! Helpers shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used)]

use std::fmt::Debug;

use bytes::BytesMut;
use tokio_util::codec::Decoder;

/// Feeds `chunks` to `dec` one after the other, decoding after each. After every `Ok(None)` the
/// buffer must hold fewer than `max_frame` bytes. With `eof`, drains with `decode_eof`, which must
/// empty the buffer. Returns the items and the number of bytes left in the buffer.
pub fn feed<D>(dec: &mut D, chunks: &[&[u8]], max_frame: usize, eof: bool) -> (Vec<D::Item>, usize)
where
    D: Decoder,
    D::Error: Debug,
{
    let mut buf = BytesMut::new();
    let mut items = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        while let Some(item) = dec.decode(&mut buf).unwrap() {
            items.push(item);
        }
        assert!(buf.len() < max_frame, "{} bytes left buffered", buf.len());
    }
    if eof {
        while let Some(item) = dec.decode_eof(&mut buf).unwrap() {
            items.push(item);
        }
        assert!(buf.is_empty());
    }
    (items, buf.len())
}

/// Splits `bytes` at the given positions (taken modulo `bytes.len() + 1`, in any order).
pub fn cut<'a>(bytes: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut at: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    at.push(0);
    at.push(bytes.len());
    at.sort_unstable();
    at.windows(2).map(|w| &bytes[w[0]..w[1]]).collect()
}

/// `bytes` (whole valid frames) decodes to `expected`, however it is split: whole, at every
/// position, at every pair of positions, one byte at a time; and without garbage.
pub fn assert_all_splits<D>(
    new: impl Fn() -> D,
    bytes: &[u8],
    expected: &[D::Item],
    max_frame: usize,
) where
    D: Decoder,
    D::Item: PartialEq + Debug,
    D::Error: Debug,
{
    let n = bytes.len();
    let mut splits: Vec<Vec<&[u8]>> = vec![vec![bytes], bytes.chunks(1).collect()];
    for i in 0..=n {
        splits.push(cut(bytes, &[i]));
        for j in i..=n {
            splits.push(cut(bytes, &[i, j]));
        }
    }
    for chunks in splits {
        let (items, left) = feed(&mut new(), &chunks, max_frame, false);
        assert_eq!(
            items,
            expected,
            "split {:?}",
            chunks.iter().map(|c| c.len()).collect::<Vec<_>>()
        );
        assert_eq!(left, 0);
    }
}

/// `len` pseudo-random bytes (xorshift), cheaper than a proptest strategy for huge inputs.
pub fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[0]
        })
        .collect()
}
