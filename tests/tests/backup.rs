//! Backups of a serving scheduler, restore, and a store moved between sled and PostgreSQL with
//! `bawaba export` and `bawaba import`: the real binary.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Instant;

use bawaba_e2e::*;
use bawaba_store_pg::scratch::ScratchDatabase;
use chrono::TimeDelta;
use tokio::sync::Mutex;

const WRITERS: usize = 4;
/// Places of the horizon the writers may fill (168 windows of 10 from three hours ahead).
const MOST: u32 = 1000;

/// A booking acknowledged, and when.
type Acked = Arc<Mutex<Vec<(String, Instant)>>>;

/// Writers booking one window after another until `stop`.
async fn load(
    sched: &Scheduler,
    token: &str,
    stop: &Arc<AtomicBool>,
    acked: &Acked,
) -> Vec<tokio::task::JoinHandle<()>> {
    let first = hours_ahead(3);
    let next = Arc::new(AtomicU32::new(0));
    let mut writers = Vec::new();
    for _ in 0..WRITERS {
        let mut c = sched.clients(token).await;
        let (stop, acked, next) = (Arc::clone(stop), Arc::clone(acked), Arc::clone(&next));
        writers.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= MOST {
                    return;
                }
                let w = first + TimeDelta::hours(i64::from(n / ACT_CAPACITY));
                let req = create_req(&unique_key("load"), &plate(n), vec![cargo_stop("act", w)]);
                let r = c.bookings.create_booking(req).await.expect("a place");
                let id = r.into_inner().booking.expect("the booking").booking_id;
                acked.lock().await.push((id, Instant::now()));
            }
        }));
    }
    writers
}

fn ok(args: &[&str]) -> String {
    let out = run_bawaba(args);
    let text = output_text(&out);
    assert!(out.status.success(), "bawaba {args:?}:\n{text}");
    text
}

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_under_load_holds_everything_acknowledged_before_it() {
    let dir = TestDir::new();
    let sched = start_test_scheduler(&dir);
    let acme = company_token(dir.data(), "acme");
    let authority = authority_token(dir.data());
    let (stop, acked): (Arc<AtomicBool>, Acked) = Default::default();
    let writers = load(&sched, &acme, &stop, &acked).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;

    let backup = dir.path().join("backup");
    let began = Instant::now();
    let url = sched.url();
    let args: Vec<String> = [
        "backup",
        "--to",
        path(&backup),
        "--addr",
        &url,
        "--token",
        &authority,
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let again_args = args.clone();
    let said = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        ok(&args)
    })
    .await
    .unwrap();
    let ended = Instant::now();
    assert!(said.contains("backed up"), "{said}");
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.await.expect("a writer");
    }
    let acked = std::mem::take(&mut *acked.lock().await);
    let before: Vec<&String> = acked
        .iter()
        .filter(|(_, t)| *t < began)
        .map(|(id, _)| id)
        .collect();
    let during = acked
        .iter()
        .filter(|(_, t)| *t >= began && *t < ended)
        .count();
    assert!(
        before.len() >= 10,
        "the load ran before the backup: {}",
        before.len()
    );
    eprintln!(
        "{} bookings before the backup, {during} while it ran",
        before.len()
    );

    // The backup folder is refused a second time; the restored store serves what it held.
    let again = run_bawaba(&again_args);
    assert!(!again.status.success());
    assert!(
        output_text(&again).contains("not empty"),
        "{}",
        output_text(&again)
    );
    let restored = dir.path().join("restored");
    let said = ok(&[
        "restore",
        "--from",
        path(&backup),
        "--data-dir",
        path(&restored),
    ]);
    assert!(said.contains("imported"), "{said}");
    std::fs::copy(dir.data().join("tokens"), restored.join("tokens")).unwrap();
    let second = Scheduler::start(&restored, Some(TEST_CONFIG), &[]);
    let mut c = second.clients(&acme).await;
    for id in before {
        let req = pb::GetBookingRequest {
            booking_id: id.clone(),
        };
        c.bookings
            .get_booking(req)
            .await
            .unwrap_or_else(|s| panic!("booking {id}, acknowledged before the backup: {s:?}"));
    }
    drop(sched);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_moves_to_postgres_and_back_with_the_cli() {
    let dir = TestDir::new();
    let mut sched = start_test_scheduler(&dir);
    let acme = company_token(dir.data(), "acme");
    let mut c = sched.clients(&acme).await;
    let w = hours_ahead(4);
    for n in 0..5 {
        let req = create_req(&unique_key("move"), &plate(n), vec![cargo_stop("act", w)]);
        c.bookings.create_booking(req).await.expect("a place");
    }
    let data = path(dir.data()).to_owned();
    let sled = dir.path().join("sled.ndjson");
    let locked = run_bawaba(["export", "--data-dir", &data, "--to", path(&sled)]);
    assert!(!locked.status.success(), "a store in use is not exported");
    assert!(
        output_text(&locked).contains("locked"),
        "{}",
        output_text(&locked)
    );
    assert!(!sled.exists(), "nothing half-written is left");
    sched.stop().await;
    let said = ok(&["export", "--data-dir", &data, "--to", path(&sled)]);
    assert!(said.contains("exported"), "{said}");

    let db = ScratchDatabase::create().await.unwrap();
    ok(&["import", "--from", path(&sled), "--store", &db.url]);
    let pg = dir.path().join("pg.ndjson");
    ok(&["export", "--store", &db.url, "--to", path(&pg)]);
    let back = dir.path().join("back");
    ok(&["import", "--from", path(&pg), "--data-dir", path(&back)]);
    let last = dir.path().join("back.ndjson");
    ok(&["export", "--data-dir", path(&back), "--to", path(&last)]);
    let records = |p: &Path| -> Vec<String> {
        let text = std::fs::read_to_string(p).unwrap();
        text.lines().skip(1).map(str::to_owned).collect()
    };
    let want = records(&sled);
    assert!(want.len() > 10);
    for (what, got) in [
        ("sled → PostgreSQL", records(&pg)),
        ("→ sled again", records(&last)),
    ] {
        let differs = got.iter().zip(&want).find(|(a, b)| a != b);
        assert!(differs.is_none(), "{what}: {differs:?}");
        assert_eq!(got.len(), want.len(), "{what}");
    }
    let cut = dir.path().join("cut.ndjson");
    let text = std::fs::read_to_string(&sled).unwrap();
    let half: Vec<&str> = text.lines().take(text.lines().count() / 2).collect();
    std::fs::write(&cut, half.join("\n")).unwrap();
    let into = dir.path().join("cut");
    let refused = run_bawaba(["import", "--from", path(&cut), "--data-dir", path(&into)]);
    assert!(!refused.status.success());
    let why = output_text(&refused);
    assert!(why.contains("cut short"), "{why}");
    assert!(!into.join("sled").exists(), "nothing imported");
}
