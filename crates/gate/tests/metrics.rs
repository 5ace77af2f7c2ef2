//! The agent's metrics move for the right events (`testbed::Bed`: a real scheduler, a real agent,
//! devices on real pseudo-terminals): a bad camera frame, a decided passage and its latency,
//! the outbox and the link.

#![allow(clippy::unwrap_used)] // test code: a failed setup is a failed test

use std::time::Duration;

use bawaba_gate::testbed::{Bed, plate_read};

/// The value of the sample `name{labels...}` (all given labels must match).
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines().find_map(|line| {
        let (series, value) = line.rsplit_once(' ')?;
        let (metric, rest) = series.split_once('{').unwrap_or((series, "}"));
        if metric != name {
            return None;
        }
        let rest = rest.strip_suffix('}')?;
        labels
            .iter()
            .all(|(k, v)| rest.split(',').any(|kv| kv == format!("{k}=\"{v}\"")))
            .then(|| value.parse().ok())
            .flatten()
    })
}

async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..200 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_frames_passages_and_latency_are_counted() {
    let bed = Bed::start(false).await.unwrap();
    bed.synced(0, Duration::from_secs(10)).await.unwrap();
    let camera = [("lane", "in-1"), ("device", "camera")];
    let metrics = bed.agent.metrics.clone();
    eventually("the camera line open", || {
        sample(&metrics.encode(), "bawaba_gate_device_connected", &camera) == Some(1.0)
    })
    .await;
    let text = metrics.encode();
    assert_eq!(
        sample(&text, "bawaba_gate_device_bad_frames_total", &camera),
        Some(0.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "bawaba_gate_link_online", &[]),
        Some(1.0),
        "{text}"
    );

    // A frame with letters where the camera's time should be: one bad frame, no passage.
    bed.camera_in
        .send_raw(b"\x02ABCDEFGHIJKLMN0160-12345\x03")
        .await
        .unwrap();
    eventually("the bad frame counted", || {
        sample(
            &metrics.encode(),
            "bawaba_gate_device_bad_frames_total",
            &camera,
        ) == Some(1.0)
    })
    .await;
    assert_eq!(
        sample(
            &metrics.encode(),
            "bawaba_gate_passages_total",
            &[("lane", "in-1")]
        ),
        None
    );

    // An unbooked truck: one DENY with its reason, its latency observed once.
    bed.camera_in.send(&plate_read("71-99999")).await.unwrap();
    eventually("the DENY counted", || {
        sample(
            &metrics.encode(),
            "bawaba_gate_passages_total",
            &[("lane", "in-1"), ("direction", "in"), ("decision", "DENY")],
        ) == Some(1.0)
    })
    .await;
    let text = metrics.encode();
    assert_eq!(
        sample(
            &text,
            "bawaba_gate_passage_reasons_total",
            &[
                ("lane", "in-1"),
                ("decision", "DENY"),
                ("reason", "NO_BOOKING")
            ]
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "bawaba_gate_decision_latency_seconds_count",
            &[("lane", "in-1"), ("decision", "DENY")]
        ),
        Some(1.0),
        "{text}"
    );
    let frames = sample(&text, "bawaba_gate_device_frames_total", &camera).unwrap();
    assert!(frames >= 1.0, "{text}");
    // Delivered: the outbox drains and the scheduler acknowledged it.
    eventually("the outbox drained", || {
        let text = metrics.encode();
        sample(&text, "bawaba_gate_outbox_depth", &[]) == Some(0.0)
            && sample(&text, "bawaba_gate_passages_reported_total", &[]) == Some(1.0)
    })
    .await;
    let text = metrics.encode();
    assert!(
        sample(
            &text,
            "bawaba_gate_replica_last_sync_timestamp_seconds",
            &[("zone", "act")]
        )
        .unwrap()
            > 0.0,
        "{text}"
    );
}
