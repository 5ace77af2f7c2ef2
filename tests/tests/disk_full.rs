//! A disk that fills up under the sled store: the commit that cannot be made durable is not
//! acknowledged, the scheduler then refuses everything, its health check says NOT_SERVING,
//! `/healthz` 503 and `bawaba_store_stopped` 1, and after a restart with room again every
//! acknowledged booking is there.
//!
//! The data directory is a small tmpfs mounted for the test, so it needs root (CI runs as
//! root); elsewhere the test says why it did not run.

use std::io::Write;
use std::path::Path;
use std::process::Command;

use bawaba_e2e::*;
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// A tmpfs mounted on a folder, unmounted on drop.
struct Mount(std::path::PathBuf);

impl Mount {
    fn tmpfs(at: &Path, size: &str) -> Mount {
        std::fs::create_dir_all(at).expect("creating the mount point");
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .output()
            .expect("running mount");
        assert!(
            out.status.success(),
            "mounting a tmpfs on {}: {}",
            at.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        Mount(at.to_path_buf())
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Writes zeros to `file` until the file system is full.
fn fill(file: &Path) {
    let mut f = std::fs::File::create(file).expect("creating the filler");
    let block = vec![0u8; 64 * 1024];
    loop {
        if let Err(e) = f.write_all(&block) {
            assert_eq!(e.raw_os_error(), Some(28), "ENOSPC expected: {e}");
            break;
        }
    }
    // Smaller pieces too, so not even one page is left.
    while f.write_all(&[0u8; 512]).is_ok() {}
}

/// Whether `check` holds within `seconds` (asked every 100 ms).
async fn within<F: std::future::Future<Output = bool>>(
    seconds: u64,
    check: impl Fn() -> F,
) -> bool {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(seconds);
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

async fn health(sched: &Scheduler, service: &str) -> i32 {
    let channel = bawaba_grpc::client::channel(&sched.url(), None)
        .await
        .expect("channel");
    HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: service.into(),
        })
        .await
        .unwrap_or_else(|s| panic!("health check {service:?}: {s:?}"))
        .into_inner()
        .status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_stops_the_store_and_loses_nothing_acknowledged() {
    if !is_root() {
        eprintln!("skipped: mounting the test's tmpfs needs root (CI runs as root)");
        return;
    }
    let dir = TestDir::new();
    let data = dir.path().join("small-disk");
    let _mount = Mount::tmpfs(&data, "32m");
    let http = free_addr();
    let http_arg = http.to_string();
    let mut sched = Scheduler::start(&data, Some(GATE_TEST_CONFIG), &["--http", &http_arg]);
    let acme = company_token(&data, "acme");
    let mut c = sched.clients(&acme).await;
    let window = hours_ahead(2);

    let mut acked = Vec::new();
    for n in 0..5 {
        let r = c
            .bookings
            .create_booking(act_booking(&plate(n), window))
            .await
            .expect("booking with room on the disk")
            .into_inner();
        acked.push(r.booking.expect("the booking").booking_id);
    }

    assert_eq!(http_get(http, "/healthz").0, 200);

    let filler = data.join("filler");
    fill(&filler);

    // Book until a commit cannot be written: sled fills the page it is in first.
    let mut refusal = None;
    for n in 5..2000 {
        match c
            .bookings
            .create_booking(act_booking(
                &plate(n),
                window + chrono::TimeDelta::hours(i64::from(n / 50)),
            ))
            .await
        {
            Ok(r) => acked.push(r.into_inner().booking.expect("the booking").booking_id),
            Err(s) => {
                refusal = Some(s);
                break;
            }
        }
    }
    let refusal = refusal.expect("a full disk refuses a booking");
    assert_eq!(refusal.code(), Code::Internal, "{refusal:?}");
    assert!(
        refusal.message().contains("storage failed")
            && refusal.message().contains("idempotency key"),
        "the refusal says what happened and how to retry: {refusal:?}"
    );

    // From now on everything is refused, reads too, and the health check says so.
    expect_code(
        c.bookings
            .create_booking(act_booking("6099999", window))
            .await,
        Code::Internal,
        "a booking after the failure",
    );
    expect_code(
        c.bookings
            .get_booking(pb::GetBookingRequest {
                booking_id: acked[0].clone(),
            })
            .await,
        Code::Internal,
        "a read after the failure",
    );
    assert!(
        within(5, || async {
            health(&sched, "").await == ServingStatus::NotServing as i32
        })
        .await,
        "the server's health turns NOT_SERVING"
    );
    assert_eq!(
        health(&sched, "bawaba.v1.BookingService").await,
        ServingStatus::NotServing as i32
    );
    let (status, _, body) = http_get(http, "/healthz");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("No space left on device"), "{body}");
    // The metrics say so at their next refresh (every 5 s): what the shipped alert fires on.
    assert!(
        within(20, || async {
            let (_, _, metrics) = http_get(http, "/metrics");
            metrics.lines().any(|l| l == "bawaba_store_stopped 1")
        })
        .await,
        "bawaba_store_stopped turns 1"
    );
    let logs = sched.logs();
    assert!(
        logs.contains("commit failed") && logs.contains("No space left on device"),
        "the failure and its cause are logged:\n{logs}"
    );
    assert!(
        logs.contains("until the scheduler is restarted"),
        "later refusals say why:\n{logs}"
    );

    // Room again, and a restart: every acknowledged booking is back, and booking works.
    sched.kill();
    std::fs::remove_file(&filler).expect("removing the filler");
    let sched = Scheduler::start(&data, Some(GATE_TEST_CONFIG), &[]);
    let mut c = sched.clients(&acme).await;
    assert_eq!(health(&sched, "").await, ServingStatus::Serving as i32);
    for id in &acked {
        c.bookings
            .get_booking(pb::GetBookingRequest {
                booking_id: id.clone(),
            })
            .await
            .unwrap_or_else(|s| panic!("acknowledged booking {id} after the restart: {s:?}"));
    }
    c.bookings
        .create_booking(act_booking(
            "6099998",
            window + chrono::TimeDelta::hours(50),
        ))
        .await
        .expect("booking after the restart");
}
