//! The conformance suite (`bawaba_store::conformance`) on the PostgreSQL store: a fresh
//! database per test; "reopen" is a new `PgStore` on the same database.

#![allow(clippy::unwrap_used)] // test code: a failed setup is a failed test

use bawaba_store::conformance::Backend;
use bawaba_store_pg::PgStore;
use bawaba_store_pg::scratch::ScratchDatabase;

struct Pg(ScratchDatabase);

impl Backend for Pg {
    type Store = PgStore;

    async fn open(&self) -> PgStore {
        PgStore::connect(&self.0.url).await.unwrap()
    }

    async fn close(&self, store: PgStore) {
        let mismatches = store.usage_mismatches().await.unwrap();
        assert!(mismatches.is_empty(), "{mismatches:?}");
        store.close().await.unwrap();
    }
}

bawaba_store::conformance_tests!(backend: Pg(ScratchDatabase::create().await.unwrap()), cases: 8);
