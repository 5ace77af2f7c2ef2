//! What an export reads a sled store's values from: the tree itself (a stopped store), or a
//! snapshot of a store that goes on serving, as of one moment, without stopping its writes:
//!
//! 1. the writer starts tracking: from its next staged change on, every key it writes or
//!    removes is also noted, with its value, in an overlay ([`Tracker`]);
//! 2. the tree is copied outside the writer, one file per key prefix; meanwhile commits go on,
//!    so the copy may hold some of them, whole or in part;
//! 3. the writer stops tracking, between two commits, and hands over the overlay.
//!
//! A key no commit touched since (1) was copied as it still is; every other key is in the
//! overlay as it is at (3). The copy read through the overlay ([`Source::scan`] merges them) is
//! the store at (3): every change acknowledged before it, none half-applied.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// A key and its value.
pub(super) type Entry = (Vec<u8>, Vec<u8>);

/// Values by key prefix, in key order.
pub(super) trait Source {
    fn scan(&self, prefix: u8) -> Box<dyn Iterator<Item = Result<Entry>> + '_>;
}

impl Source for sled::Db {
    fn scan(&self, prefix: u8) -> Box<dyn Iterator<Item = Result<Entry>> + '_> {
        Box::new(self.scan_prefix([prefix]).map(|kv| {
            let (k, v) = kv?;
            Ok((k.to_vec(), v.to_vec()))
        }))
    }
}

/// Keys changed since tracking started, with their latest value (none: removed).
pub(super) type Overlay = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// The writer's tracking of changed keys while a snapshot is copied (none: not tracking).
#[derive(Debug, Default, Clone)]
pub(super) struct Tracker(std::sync::Arc<std::sync::Mutex<Option<Overlay>>>);

impl Tracker {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Overlay>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Starts tracking; refused while another snapshot is being taken.
    pub(super) fn start(&self) -> Result<()> {
        let mut t = self.lock();
        if t.is_some() {
            return Err(Error::Storage(
                "a backup is already being taken; try again after it".into(),
            ));
        }
        *t = Some(Overlay::new());
        Ok(())
    }

    /// Stops tracking: what changed since it started.
    pub(super) fn stop(&self) -> Overlay {
        self.lock().take().unwrap_or_default()
    }

    pub(super) fn tracking(&self) -> bool {
        self.lock().is_some()
    }

    fn note(&self, k: &[u8], v: Option<&[u8]>) {
        if let Some(overlay) = self.lock().as_mut() {
            overlay.insert(k.to_vec(), v.map(<[u8]>::to_vec));
        }
    }
}

/// A sled batch that also tells the tracker what it changes.
pub(super) struct Batch<'a> {
    pub(super) inner: sled::Batch,
    tracker: Option<&'a Tracker>,
}

impl<'a> Batch<'a> {
    pub(super) fn new(tracker: Option<&'a Tracker>) -> Self {
        Batch {
            inner: sled::Batch::default(),
            tracker,
        }
    }

    pub(super) fn insert(&mut self, k: impl AsRef<[u8]>, v: Vec<u8>) {
        if let Some(t) = self.tracker {
            t.note(k.as_ref(), Some(&v));
        }
        self.inner.insert(k.as_ref(), v);
    }

    pub(super) fn remove(&mut self, k: impl AsRef<[u8]>) {
        if let Some(t) = self.tracker {
            t.note(k.as_ref(), None);
        }
        self.inner.remove(k.as_ref());
    }
}

/// A store's entries as files `XX` (the prefix byte in hex) of length-prefixed keys and
/// values, read through the overlay of what changed while they were written; the folder is
/// removed when this is dropped.
#[derive(Debug)]
pub(super) struct Snapshot {
    dir: PathBuf,
    pub(super) overlay: Overlay,
}

fn io(context: String) -> impl FnOnce(std::io::Error) -> Error {
    move |source| Error::Io { context, source }
}

impl Snapshot {
    /// Writes every entry of `db` into a new folder in `beside`, as sled iterates them (while
    /// the tracker notes what commits meanwhile).
    pub(super) fn take(db: &sled::Db, beside: &Path) -> Result<Snapshot> {
        let name = format!("export-{:016x}", super::random_u128() as u64);
        let snapshot = Snapshot {
            dir: beside.join(name),
            overlay: Overlay::new(),
        };
        std::fs::create_dir_all(&snapshot.dir)
            .map_err(io(format!("creating {}", snapshot.dir.display())))?;
        let mut files: BTreeMap<u8, BufWriter<File>> = BTreeMap::new();
        for kv in db.iter() {
            let (k, v) = kv?;
            let Some(&prefix) = k.first() else { continue };
            let file = match files.entry(prefix) {
                std::collections::btree_map::Entry::Occupied(f) => f.into_mut(),
                std::collections::btree_map::Entry::Vacant(slot) => {
                    let path = snapshot.file(prefix);
                    let f =
                        File::create(&path).map_err(io(format!("creating {}", path.display())))?;
                    slot.insert(BufWriter::with_capacity(1 << 20, f))
                }
            };
            frame(file, &k, &v).map_err(io(format!("writing {}", snapshot.dir.display())))?;
        }
        for (_, mut f) in files {
            f.flush()
                .map_err(io(format!("writing {}", snapshot.dir.display())))?;
        }
        Ok(snapshot)
    }

    fn file(&self, prefix: u8) -> PathBuf {
        self.dir.join(format!("{prefix:02x}"))
    }
}

fn frame(out: &mut impl Write, k: &[u8], v: &[u8]) -> std::io::Result<()> {
    for part in [k, v] {
        let len = u32::try_from(part.len()).map_err(std::io::Error::other)?;
        out.write_all(&len.to_le_bytes())?;
        out.write_all(part)?;
    }
    Ok(())
}

/// The next length-prefixed part, or none at the end of the file.
fn part(input: &mut impl Read) -> std::io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 4];
    match input.read_exact(&mut len) {
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        other => other?,
    }
    let mut bytes = vec![0; u32::from_le_bytes(len) as usize];
    input.read_exact(&mut bytes)?;
    Ok(Some(bytes))
}

impl Snapshot {
    /// The copied entries under `prefix`, in key order.
    fn copied(&self, prefix: u8) -> Box<dyn Iterator<Item = Result<Entry>> + '_> {
        let path = self.file(prefix);
        let mut input = match File::open(&path) {
            Ok(f) => BufReader::with_capacity(1 << 20, f),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Box::new(std::iter::empty());
            }
            Err(e) => {
                let e = io(format!("reading {}", path.display()))(e);
                return Box::new(std::iter::once(Err(e)));
            }
        };
        Box::new(std::iter::from_fn(move || {
            entry(&mut input)
                .map_err(io(format!("reading {}", path.display())))
                .transpose()
        }))
    }
}

fn entry(input: &mut impl Read) -> std::io::Result<Option<Entry>> {
    let Some(k) = part(input)? else {
        return Ok(None);
    };
    let v = part(input)?.ok_or_else(|| std::io::Error::other("a key without its value"))?;
    Ok(Some((k, v)))
}

impl Source for Snapshot {
    /// The copy merged with the overlay: a key in the overlay is as the overlay has it.
    fn scan(&self, prefix: u8) -> Box<dyn Iterator<Item = Result<Entry>> + '_> {
        let mut copied = self.copied(prefix).peekable();
        let mut changed = self
            .overlay
            .range(vec![prefix]..)
            .take_while(move |(k, _)| k.first() == Some(&prefix))
            .peekable();
        Box::new(std::iter::from_fn(move || {
            loop {
                if matches!(copied.peek(), Some(Err(_))) {
                    return copied.next();
                }
                let next_copied = copied
                    .peek()
                    .and_then(|e| e.as_ref().ok())
                    .map(|(k, _)| k.clone());
                let take_changed = match (next_copied, changed.peek()) {
                    (_, None) => false,
                    (None, Some(_)) => true,
                    (Some(c), Some((k, _))) => **k <= c,
                };
                if !take_changed {
                    return copied.next();
                }
                let (k, v) = changed.next()?;
                if copied
                    .peek()
                    .is_some_and(|e| e.as_ref().is_ok_and(|(c, _)| c == k))
                {
                    copied.next(); // replaced by the overlay
                }
                if let Some(v) = v {
                    return Some(Ok((k.clone(), v.clone())));
                }
            }
        }))
    }
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.dir) {
            tracing::warn!(dir = %self.dir.display(), error = %e, "export snapshot not removed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(pairs: &[(&[u8], &[u8])]) -> Vec<Entry> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_vec(), v.to_vec()))
            .collect()
    }

    /// Commits made while the tree is copied (some seen by the copy, some not) are read as
    /// they are when the tracking stops; those after it are not read at all.
    #[test]
    fn a_snapshot_is_the_store_as_of_when_tracking_stopped() {
        let tmp = tempfile::tempdir().unwrap();
        let db = sled::Config::new().temporary(true).open().unwrap();
        let before: [(&[u8], &[u8]); 4] =
            [(b"b2", b"two"), (b"a1", b""), (b"b1", b"one"), (b"c", b"x")];
        for (k, v) in before {
            db.insert(k, v).unwrap();
        }
        let tracker = Tracker::default();
        tracker.start().unwrap();
        assert!(tracker.start().is_err(), "one snapshot at a time");
        let mut snap = Snapshot::take(&db, tmp.path()).unwrap();
        let mut batch = Batch::new(Some(&tracker));
        batch.insert(b"b0", b"new".to_vec());
        batch.insert(b"b2", b"changed".to_vec());
        batch.remove(b"b1");
        batch.insert(b"b9", b"last".to_vec());
        batch.remove(b"c");
        db.apply_batch(batch.inner).unwrap();
        snap.overlay = tracker.stop();
        assert!(!tracker.tracking());
        db.insert(b"b3", &b"after"[..]).unwrap();
        let got: Vec<Entry> = snap.scan(b'b').collect::<Result<_>>().unwrap();
        assert_eq!(
            got,
            entries(&[(b"b0", b"new"), (b"b2", b"changed"), (b"b9", b"last")])
        );
        assert_eq!(snap.scan(b'a').count(), 1);
        assert_eq!(snap.scan(b'c').count(), 0, "removed meanwhile");
        assert_eq!(snap.scan(b'z').count(), 0);
        let dir = snap.dir.clone();
        drop(snap);
        assert!(!dir.exists(), "removed when dropped");
    }
}
