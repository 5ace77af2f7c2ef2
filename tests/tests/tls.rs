//! The scheduler over TLS, with a certificate made at test time by the openssl CLI.

use std::path::{Path, PathBuf};
use std::process::Command;

use bawaba_e2e::*;

/// A self-signed certificate for localhost and 127.0.0.1, and its key, in `dir`.
///
/// The certificate says `CA:FALSE`: it is used as its own trust anchor, and rustls refuses an
/// end-entity certificate that claims to be a CA (openssl's default for `req -x509`).
fn self_signed(dir: &Path) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let out = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .args(["-addext", "keyUsage=critical,digitalSignature,keyEncipherment"])
        .args(["-addext", "extendedKeyUsage=serverAuth"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap_or_else(|e| {
            panic!("the TLS test needs the `openssl` command-line tool to make a certificate, and running it failed: {e}")
        });
    assert!(
        out.status.success(),
        "openssl req -x509 failed:\n{}",
        output_text(&out)
    );
    (cert, key)
}

#[tokio::test]
async fn scheduler_serves_tls() {
    let dir = TestDir::new();
    let (cert, key) = self_signed(dir.path());
    let (cert_s, key_s) = (
        cert.to_string_lossy().into_owned(),
        key.to_string_lossy().into_owned(),
    );
    let sched = Scheduler::start(
        dir.data(),
        Some(TEST_CONFIG),
        &["--tls-cert", &cert_s, "--tls-key", &key_s],
    );
    assert!(
        sched.is_tls(),
        "with --tls-cert the scheduler logs an https:// address:\n{}",
        sched.logs()
    );
    let port = sched.addr().port();
    let token = company_token(dir.data(), "acme");

    // By name and by address, trusting the certificate.
    for host in ["localhost", "127.0.0.1"] {
        let url = format!("https://{host}:{port}");
        let mut c = Clients::connect(&url, Some(&token), Some(&cert))
            .await
            .unwrap_or_else(|e| panic!("connecting to {url}: {e}"));
        let zones = c
            .admin
            .list_zones(pb::ListZonesRequest {})
            .await
            .unwrap_or_else(|s| panic!("ListZones over {url}: {s:?}"));
        assert_eq!(zones.into_inner().zones.len(), 2);
    }

    // A booking over TLS.
    let mut c = Clients::connect(
        &format!("https://localhost:{port}"),
        Some(&token),
        Some(&cert),
    )
    .await
    .expect("connect");
    let w = hours_ahead(4);
    c.bookings
        .create_booking(create_req("tls-1", &plate(1), vec![cargo_stop("act", w)]))
        .await
        .expect("booking over TLS");

    // Plain HTTP/2 to the TLS port fails.
    let plain =
        match Clients::connect(&format!("http://127.0.0.1:{port}"), Some(&token), None).await {
            Err(_) => None,
            Ok(mut c) => Some(c.admin.list_zones(pb::ListZonesRequest {}).await),
        };
    assert!(
        matches!(plain, None | Some(Err(_))),
        "a plain-HTTP client must not get an answer from the TLS port: {plain:?}"
    );

    // A client that trusts another certificate fails.
    let untrusted = Clients::connect(
        &format!("https://localhost:{port}"),
        Some(&token),
        Some(&other_ca(dir.path())),
    )
    .await;
    let refused = match untrusted {
        Err(_) => true,
        Ok(mut c) => c.admin.list_zones(pb::ListZonesRequest {}).await.is_err(),
    };
    assert!(refused, "a client trusting another CA must not connect");

    // The CLI with --ca-cert.
    let out = run_bawaba([
        "zones",
        "list",
        "--addr",
        &format!("https://localhost:{port}"),
        "--token",
        &token,
        "--ca-cert",
        &cert_s,
    ]);
    assert!(
        out.status.success(),
        "bawaba zones list over TLS with --ca-cert:\n{}",
        output_text(&out)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("act"));
}

/// Another self-signed certificate, in a subfolder.
fn other_ca(dir: &Path) -> PathBuf {
    let other = dir.join("other");
    std::fs::create_dir_all(&other).expect("mkdir");
    self_signed(&other).0
}
