//! A data directory written by an earlier release still opens and holds everything: the
//! fixture `fixtures/store-1` (every kind of record, written by release 0.1 through the
//! store's own interface) is opened by this build, and its export equals `fixtures/store-1.ndjson`,
//! the export that release wrote of it.
//!
//! `BAWABA_BLESS=1 cargo test -p bawaba-store --test upgrade` writes the fixture again: only
//! when a release is cut, never to make a failing test pass (a failure means this build no
//! longer reads what an earlier one stored).

#![allow(clippy::unwrap_used)] // test code: a failed setup is a failed test

use std::path::{Path, PathBuf};

use bawaba_store::SledStore;
use bawaba_store::conformance::every_kind_of_record;
use bawaba_store::dump::Line;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The store's records as export lines (without the header and end line).
fn export(dir: &Path) -> String {
    let mut out = String::new();
    SledStore::export_dir(dir, &mut |line: Line| {
        out.push_str(&serde_json::to_string(&line).unwrap());
        out.push('\n');
        Ok(())
    })
    .unwrap();
    out
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[tokio::test]
async fn a_store_written_by_release_1_opens_with_everything_in_it() {
    let (dir, want) = (fixture().join("store-1"), fixture().join("store-1.ndjson"));
    if std::env::var_os("BAWABA_BLESS").is_some() {
        let _ = std::fs::remove_dir_all(&dir);
        let store = SledStore::open(&dir).unwrap();
        every_kind_of_record(&store).await;
        drop(store);
        std::fs::write(&want, export(&dir)).unwrap();
    }
    // Opened (and so possibly upgraded) in a copy: the fixture stays as that release left it.
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&dir, tmp.path());
    let store = SledStore::open(tmp.path()).unwrap();
    drop(store);
    let want = std::fs::read_to_string(want).unwrap();
    let got = export(tmp.path());
    for (n, (g, w)) in got.lines().zip(want.lines()).enumerate() {
        assert_eq!(g, w, "record {} differs", n + 1);
    }
    assert_eq!(got.lines().count(), want.lines().count());
    assert!(want.lines().count() > 40, "the fixture holds every kind");
}
