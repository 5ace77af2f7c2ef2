//! Append-only record files (the gate agent's outbox).
//!
//! - A record is `len: u32 LE`, `crc: u32 LE` (CRC-32C of the body), `body` (a stored value:
//!   format byte, postcard).
//! - Opening reads the records in order and stops at the first that is torn, does not check
//!   or does not decode (a crash mid-append): the file is cut there, so nothing after a bad
//!   record is trusted and nothing is half-read.
//! - An append that fails is cut off again, so the next one does not land behind a torn
//!   record (where opening would never reach it). If even the cut fails, the file refuses
//!   every later append.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::codec::{decode, encode};
use crate::{Error, Result};

const CRC: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISCSI);

/// One record as bytes.
pub fn frame<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    let body = encode(value)?;
    let mut out = Vec::with_capacity(8 + body.len());
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&CRC.checksum(&body).to_le_bytes());
    out.extend_from_slice(&body);
    Ok(out)
}

/// The records of `bytes` up to the first one that is torn, does not check or does not
/// decode, and the length of that good prefix.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> (Vec<T>, usize) {
    let mut records = Vec::new();
    let mut at = 0;
    while let Some(head) = bytes.get(at..at + 8) {
        let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let crc = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
        let Some(body) = bytes.get(at + 8..at + 8 + len) else {
            break;
        };
        if CRC.checksum(body) != crc {
            break;
        }
        match decode::<T>(b"log record", body) {
            Ok(r) => records.push(r),
            Err(_) => break,
        }
        at += 8 + len;
    }
    (records, at)
}

fn io(context: &str, path: &Path) -> impl Fn(std::io::Error) -> Error {
    let context = format!("{context} {}", path.display());
    move |source| Error::Io {
        context: context.clone(),
        source,
    }
}

/// An open record file, positioned at its end.
#[derive(Debug)]
pub struct LogFile {
    file: File,
    path: PathBuf,
    len: u64,
    broken: bool,
}

impl LogFile {
    /// Opens (or creates) the file and reads its records, cutting a torn tail.
    pub fn open<T: DeserializeOwned>(path: PathBuf) -> Result<(LogFile, Vec<T>)> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io("opening", &path))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io("reading", &path))?;
        let (records, good) = parse(&bytes);
        if good < bytes.len() {
            tracing::warn!(
                file = %path.display(),
                kept = good,
                dropped = bytes.len() - good,
                "log ends in a torn or corrupt record (a crash mid-write); cutting it there"
            );
            file.set_len(good as u64)
                .and_then(|()| file.sync_data())
                .map_err(io("cutting", &path))?;
        }
        file.seek(SeekFrom::End(0)).map_err(io("seeking", &path))?;
        let log = LogFile {
            file,
            path,
            len: good as u64,
            broken: false,
        };
        Ok((log, records))
    }

    /// Appends one record with one `write`; with `durable`, synced (`fdatasync`) before this
    /// returns. On failure the record is cut off again.
    pub fn append<T: Serialize>(&mut self, record: &T, durable: bool) -> Result<()> {
        if self.broken {
            return Err(Error::Storage(format!(
                "{} could not be repaired after a failed write; restart to recover",
                self.path.display()
            )));
        }
        let bytes = frame(record)?;
        let written = self.file.write_all(&bytes).and_then(|()| {
            if durable {
                self.file.sync_data()
            } else {
                Ok(())
            }
        });
        match written {
            Ok(()) => {
                self.len += bytes.len() as u64;
                Ok(())
            }
            Err(e) => {
                let err = io("appending to", &self.path)(e);
                self.cut(self.len)?;
                Err(err)
            }
        }
    }

    /// Cuts the file back to `len` bytes, synced.
    fn cut(&mut self, len: u64) -> Result<()> {
        let path = self.path.clone();
        let cut = self
            .file
            .set_len(len)
            .and_then(|()| self.file.seek(SeekFrom::Start(len)).map(drop))
            .and_then(|()| self.file.sync_data());
        match cut {
            Ok(()) => {
                self.len = len;
                Ok(())
            }
            Err(e) => {
                self.broken = true;
                Err(io("cutting", &path)(e))
            }
        }
    }

    /// Empties the file, not synced: callers only empty it once its records are of no more
    /// use, so getting them back after a crash is harmless.
    pub fn clear(&mut self) -> Result<()> {
        let path = self.path.clone();
        self.file
            .set_len(0)
            .and_then(|()| self.file.seek(SeekFrom::Start(0)).map(drop))
            .map_err(io("emptying", &path))?;
        self.len = 0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn after_a_torn_append_is_cut_later_records_are_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.log");
        let (mut log, _) = LogFile::open::<u32>(path.clone()).unwrap();
        log.append(&1u32, true).unwrap();
        // What a write that failed halfway leaves behind.
        let good = log.len;
        log.file.write_all(&frame(&2u32).unwrap()[..5]).unwrap();
        log.cut(good).unwrap();
        log.append(&3u32, true).unwrap();
        let (_, records) = LogFile::open::<u32>(path).unwrap();
        assert_eq!(records, vec![1, 3]);
    }

    #[test]
    fn a_file_that_cannot_be_cut_refuses_later_appends() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.log");
        let (mut log, _) = LogFile::open::<u32>(path.clone()).unwrap();
        log.append(&1u32, true).unwrap();
        let before = std::fs::read(&path).unwrap();
        // Opened read-only: the append fails, and so does the cut.
        let mut log = LogFile {
            file: OpenOptions::new().read(true).open(&path).unwrap(),
            path: path.clone(),
            len: before.len() as u64,
            broken: false,
        };
        assert!(log.append(&2u32, true).is_err());
        assert!(log.broken);
        let refused = log.append(&3u32, true).unwrap_err().to_string();
        assert!(refused.contains("could not be repaired"), "{refused}");
        assert_eq!(std::fs::read(&path).unwrap(), before);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Any byte string parses without panicking, to a prefix that frames back to itself.
        #[test]
        fn any_bytes_parse_to_a_good_prefix(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            let (records, good) = parse::<Vec<u16>>(&bytes);
            prop_assert!(good <= bytes.len());
            let again: Vec<u8> = records.iter().flat_map(|r| frame(r).unwrap()).collect();
            prop_assert_eq!(&again[..], &bytes[..good]);
        }

        /// Records written come back; cut at any byte, exactly the whole ones before the cut.
        #[test]
        fn records_come_back_up_to_a_cut(values in prop::collection::vec(any::<Vec<u16>>(), 0..12), cut in any::<prop::sample::Index>()) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("x.log");
            let (mut log, none) = LogFile::open::<Vec<u16>>(path.clone()).unwrap();
            prop_assert!(none.is_empty());
            for v in &values {
                log.append(v, false).unwrap();
            }
            drop(log);
            let (log, back) = LogFile::open::<Vec<u16>>(path.clone()).unwrap();
            prop_assert_eq!(&back, &values);
            let bytes = std::fs::read(&path).unwrap();
            prop_assert_eq!(log.len, bytes.len() as u64);
            let keep = cut.index(bytes.len() + 1);
            std::fs::write(&path, &bytes[..keep]).unwrap();
            let (_, back) = LogFile::open::<Vec<u16>>(path.clone()).unwrap();
            let whole = values.iter().scan(0, |at, v| { *at += frame(v).unwrap().len(); Some(*at) }).filter(|&end| end <= keep).count();
            prop_assert_eq!(&back[..], &values[..whole]);
        }
    }
}
