//! The agent end to end inside one process (`testbed::Bed`): a real scheduler server (sled
//! store, gRPC on 127.0.0.1), a real agent, and its devices emulated on real
//! pseudo-terminals. Process-level tests with kills live in the workspace's `tests/` crate.

#![allow(clippy::unwrap_used)] // test code: a failed setup is a failed test

use std::time::{Duration, Instant};

use bawaba_codec::modbus::BarrierCommand;
use bawaba_domain::epc::Epc;
use bawaba_domain::ledger::{Actor, BookingState};
use bawaba_domain::passage::{Reason, Verdict};
use bawaba_gate::testbed::{Bed, plate_read, zone};
use bawaba_store::Store;
use tokio::sync::broadcast;

const EPC: &str = "E2000017221101441890ABCD";

async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    for _ in 0..200 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn pulse_within(
    rx: &mut broadcast::Receiver<(Instant, BarrierCommand)>,
    wait: Duration,
) -> Option<BarrierCommand> {
    tokio::time::timeout(wait, rx.recv())
        .await
        .ok()
        .and_then(Result::ok)
        .map(|(_, c)| c)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn booked_truck_enters_and_leaves_unbooked_truck_is_denied() {
    let mut bed = Bed::start(true).await.unwrap();
    let epc = Epc::parse_hex(EPC).unwrap();
    let booked = bed.book("60-12345", Some(epc.clone())).await.unwrap();
    bed.synced(1, Duration::from_secs(10)).await.unwrap();

    // A booked truck: plate and tag → one pulse on the IN barrier, the booking ENTERED.
    bed.reader_in.set_tags(vec![epc.as_bytes().to_vec()]);
    for _ in 0..5 {
        bed.camera_in.send(&plate_read("60-12345")).await.unwrap();
    }
    let cmd = pulse_within(&mut bed.barrier_in, Duration::from_secs(3))
        .await
        .expect("the IN barrier opens");
    assert!(
        matches!(
            cmd,
            BarrierCommand::FlashOn {
                relay: 0,
                duration_100ms: 5,
                ..
            }
        ),
        "{cmd:?}"
    );
    let store = bed.store.clone();
    eventually("ENTERED at the scheduler", async || {
        store
            .get_booking(Actor::Authority, booked)
            .await
            .unwrap()
            .state
            == BookingState::Entered
    })
    .await;
    assert!(
        pulse_within(&mut bed.barrier_in, Duration::from_millis(800))
            .await
            .is_none(),
        "repeats make one passage"
    );
    bed.reader_in.set_tags(vec![]);

    // An unbooked truck: no pulse, a DENY recorded at the scheduler.
    bed.camera_in.send(&plate_read("71-99999")).await.unwrap();
    assert!(
        pulse_within(&mut bed.barrier_in, Duration::from_millis(1500))
            .await
            .is_none(),
        "no booking, no pulse"
    );
    eventually("the DENY at the scheduler", async || {
        store
            .passages(None, None, 100)
            .await
            .unwrap()
            .iter()
            .any(|p| {
                p.verdict == Verdict::Deny
                    && p.reasons.contains(&Reason::NoBooking)
                    && p.plate.as_ref().is_some_and(|x| x.as_str() == "7199999")
            })
    })
    .await;

    // Out: the booked truck leaves; the visit is EXITED.
    bed.camera_out.send(&plate_read("6012345")).await.unwrap();
    let cmd = pulse_within(&mut bed.barrier_out, Duration::from_secs(3))
        .await
        .expect("the OUT barrier opens");
    assert!(
        matches!(cmd, BarrierCommand::FlashOn { relay: 1, .. }),
        "{cmd:?}"
    );
    eventually("EXITED at the scheduler", async || {
        store
            .get_booking(Actor::Authority, booked)
            .await
            .unwrap()
            .state
            == BookingState::Exited
    })
    .await;
    eventually("an empty outbox", async || bed.agent.outbox_len() == 0).await;
    let passages = store.passages(None, None, 100).await.unwrap();
    assert_eq!(
        passages
            .iter()
            .filter(|p| p.verdict == Verdict::Allow)
            .count(),
        2,
        "{passages:#?}"
    );
    assert_eq!(bed.agent.replica_state(&zone()).1, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_barrier_is_a_counted_fault() {
    let mut bed = Bed::start(false).await.unwrap();
    bed.book("6055555", None).await.unwrap();
    bed.synced(1, Duration::from_secs(10)).await.unwrap();
    bed.barrier_board_in().set_echo(false);
    bed.camera_in.send(&plate_read("6055555")).await.unwrap();
    // The command still goes out on the line; the missing echo is a fault.
    assert!(
        pulse_within(&mut bed.barrier_in, Duration::from_secs(3))
            .await
            .is_some()
    );
    let counters = bed.agent.counters.clone();
    eventually("the barrier fault counted", async || {
        counters
            .barrier_faults
            .load(std::sync::atomic::Ordering::Relaxed)
            == 1
    })
    .await;
}
