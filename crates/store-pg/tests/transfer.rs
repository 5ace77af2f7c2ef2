//! Export and import between the two stores: sled → PostgreSQL → sled gives back the same
//! records, line for line, and each imported store serves them.

#![allow(clippy::unwrap_used)] // test code: a failed setup is a failed test

use std::collections::BTreeSet;
use std::path::Path;

use bawaba_domain::ledger::Actor;
use bawaba_store::conformance::{every_kind_of_record, now, simple};
use bawaba_store::dump::{self, Header, Line};
use bawaba_store::{Changes, Error, SledStore, Store};
use bawaba_store_pg::PgStore;
use bawaba_store_pg::scratch::ScratchDatabase;

/// Every kind of record an export may hold (the header and end line aside).
const KINDS: &[&str] = &[
    "zone",
    "gate",
    "booking",
    "idempotency",
    "change",
    "passage",
    "referral",
    "reported",
    "event",
    "webhook",
    "delivery",
    "truck",
    "sms",
    "text",
    "reminded",
    "account",
    "session",
    "audit",
];

fn file(lines: Vec<Line>) -> String {
    let mut w = dump::Writer::start(Vec::new(), Header::new("test", now())).unwrap();
    for l in &lines {
        w.write(l).unwrap();
    }
    String::from_utf8(w.finish().unwrap().0).unwrap()
}

fn export_sled(dir: &Path) -> String {
    let mut lines = Vec::new();
    SledStore::export_dir(dir, &mut |l| {
        lines.push(l);
        Ok(())
    })
    .unwrap();
    file(lines)
}

async fn export_pg(store: &PgStore) -> String {
    let mut lines = Vec::new();
    store
        .export_to(&mut |l| {
            lines.push(l);
            Ok(())
        })
        .await
        .unwrap();
    file(lines)
}

/// [`Store::export`]: what a backup takes of a store that goes on serving.
async fn backup(s: &impl Store) -> String {
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    let (sent, lines) = tokio::join!(s.export(tx), async {
        let mut lines = Vec::new();
        while let Some(l) = rx.recv().await {
            lines.push(l);
        }
        lines
    });
    sent.unwrap();
    file(lines)
}

fn imported(text: &str) -> dump::Imported {
    dump::assemble(dump::read(text.as_bytes()).unwrap()).unwrap()
}

fn kinds(text: &str) -> BTreeSet<String> {
    text.lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["kind"].to_string())
        .map(|k| k.trim_matches('"').to_owned())
        .filter(|k| k != "export" && k != "end")
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sled_to_postgres_and_back_keeps_every_record() {
    let tmp = tempfile::tempdir().unwrap();
    let (first, last) = (tmp.path().join("first"), tmp.path().join("last"));
    let sled = SledStore::open(&first).unwrap();
    every_kind_of_record(&sled).await;
    let live = backup(&sled).await;
    drop(sled);
    let from_sled = export_sled(&first);
    assert_eq!(
        live, from_sled,
        "a backup while open holds what the stopped store does"
    );
    let want: BTreeSet<String> = KINDS.iter().map(|k| (*k).to_owned()).collect();
    assert_eq!(kinds(&from_sled), want, "every kind is exported");

    let db = ScratchDatabase::create().await.unwrap();
    bawaba_store_pg::migrate(&db.url).await.unwrap();
    let pg = PgStore::connect(&db.url).await.unwrap();
    pg.import(&imported(&from_sled)).await.unwrap();
    let from_pg = export_pg(&pg).await;
    assert_eq!(from_pg, from_sled, "PostgreSQL holds what sled held");
    assert_eq!(backup(&pg).await, from_pg);
    assert!(pg.usage_mismatches().await.unwrap().is_empty());
    let again = pg.import(&imported(&from_sled)).await.unwrap_err();
    assert!(
        matches!(&again, Error::Import(why) if why.contains("already holds")),
        "{again}"
    );
    serves_what_it_imported(&pg).await;

    SledStore::import_dir(&last, &imported(&from_pg)).unwrap();
    assert_eq!(export_sled(&last), from_sled, "and sled again");
    let again = SledStore::import_dir(&last, &imported(&from_sled)).unwrap_err();
    assert!(
        matches!(&again, Error::Import(why) if why.contains("already holds")),
        "{again}"
    );
    let sled = SledStore::open(&last).unwrap();
    serves_what_it_imported(&sled).await;
    pg.close().await.unwrap();
}

/// An imported store knows its idempotency keys and goes on numbering its change log.
async fn serves_what_it_imported(s: &impl Store) {
    let replay = s
        .create_booking(simple("acme", "k1", "601", 5), now())
        .await
        .unwrap();
    assert!(replay.replayed, "the key made a booking before the export");
    let head = match s
        .changes(replay.booking.stops[0].zone.clone(), 1, 100, now())
        .await
        .unwrap()
    {
        Changes::Entries { head, .. } => head,
        Changes::Snapshot { seq, .. } => seq,
    };
    let next = s
        .create_booking(simple("acme", "k9", "609", 7), now())
        .await
        .unwrap();
    let after = s
        .changes(next.booking.stops[0].zone.clone(), head, 100, now())
        .await
        .unwrap();
    let Changes::Entries { entries, .. } = after else {
        panic!("entries after {head}");
    };
    assert_eq!(entries[0].seq, head + 1);
    let got = s
        .get_booking(Actor::Authority, next.booking.id)
        .await
        .unwrap();
    assert_eq!(got, next.booking);
}
