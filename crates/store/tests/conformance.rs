//! The conformance suite (`bawaba_store::conformance`) on the sled store.

#![allow(clippy::unwrap_used)] // test code: a failed setup is a failed test

use bawaba_store::SledStore;
use bawaba_store::conformance::Backend;

/// A temporary folder; "reopen" drops the store and opens the folder again.
struct Sled(tempfile::TempDir);

impl Backend for Sled {
    type Store = SledStore;

    async fn open(&self) -> SledStore {
        SledStore::open(self.0.path()).unwrap()
    }

    /// sled stores no counters: the ledger recounts them from the bookings at open.
    async fn close(&self, store: SledStore) {
        drop(store);
    }
}

bawaba_store::conformance_tests!(backend: Sled(tempfile::tempdir().unwrap()), cases: 24);
