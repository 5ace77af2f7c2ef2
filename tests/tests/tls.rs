//! The scheduler over TLS, with certificates made at test time by the openssl CLI: a
//! self-signed server certificate, and mutual TLS (`--tls-client-ca`) with a test CA.

#![allow(clippy::unwrap_used)] // test code: a failed setup is a failed test

use std::path::{Path, PathBuf};
use std::process::Command;

use bawaba_e2e::*;
use bawaba_grpc::client::{ClientIdentity, ClientTls};

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

// ---- mutual TLS (`--tls-client-ca`) ---------------------------------------------------------

/// Runs `openssl ARGS` in `dir`; panics with its output when it fails.
fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "the mTLS test needs the `openssl` command-line tool, and running it failed: {e}"
            )
        });
    assert!(
        out.status.success(),
        "openssl {args:?} failed:\n{}",
        output_text(&out)
    );
}

/// A certificate authority made by openssl in `dir`: `<name>-ca.pem` and its key.
struct Ca {
    dir: PathBuf,
    name: String,
}

impl Ca {
    fn new(dir: &Path, name: &str) -> Ca {
        let ca = Ca {
            dir: dir.to_path_buf(),
            name: name.to_owned(),
        };
        openssl(
            dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-days",
                "1",
                "-subj",
                &format!("/CN=Bawaba test CA {name}"),
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
                "-keyout",
                &format!("{name}-ca.key"),
                "-out",
                &format!("{name}-ca.pem"),
            ],
        );
        ca
    }

    fn cert(&self) -> PathBuf {
        self.dir.join(format!("{}-ca.pem", self.name))
    }

    /// A certificate signed by this CA for `cn`, with `extensions` (openssl extension lines):
    /// the certificate and key files.
    fn issue(&self, cn: &str, extensions: &str) -> (PathBuf, PathBuf) {
        let (cert, key, csr, ext) = (
            format!("{cn}.pem"),
            format!("{cn}.key"),
            format!("{cn}.csr"),
            format!("{cn}.ext"),
        );
        std::fs::write(self.dir.join(&ext), extensions).unwrap();
        openssl(
            &self.dir,
            &[
                "req",
                "-new",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-subj",
                &format!("/CN={cn}"),
                "-keyout",
                &key,
                "-out",
                &csr,
            ],
        );
        openssl(
            &self.dir,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-days",
                "1",
                "-set_serial",
                "0x1001",
                "-CA",
                &format!("{}-ca.pem", self.name),
                "-CAkey",
                &format!("{}-ca.key", self.name),
                "-extfile",
                &ext,
                "-out",
                &cert,
            ],
        );
        (self.dir.join(cert), self.dir.join(key))
    }

    fn server(&self) -> (PathBuf, PathBuf) {
        self.issue(
            "server",
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n\
             extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n",
        )
    }

    fn client(&self, cn: &str) -> ClientIdentity {
        let (cert, key) = self.issue(
            cn,
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n\
             extendedKeyUsage=clientAuth\n",
        );
        ClientIdentity { cert, key }
    }
}

/// Whether ListZones with these TLS files (and a valid token) gets an answer.
async fn lists_zones(url: &str, token: &str, tls: &ClientTls) -> Result<usize, String> {
    let mut c = Clients::connect_tls(url, Some(token), tls)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    c.admin
        .list_zones(pb::ListZonesRequest {})
        .await
        .map(|r| r.into_inner().zones.len())
        .map_err(|s| format!("ListZones: {s:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_tls_client_ca_only_clients_with_a_certificate_of_that_ca_get_in() {
    let dir = TestDir::new();
    let pki = dir.path().join("pki");
    std::fs::create_dir_all(&pki).unwrap();
    let ca = Ca::new(&pki, "port");
    let (server_cert, server_key) = ca.server();
    let gate_id = ca.client("gate-act-north");
    let stranger = Ca::new(&pki, "stranger").client("intruder");
    let s = |p: &Path| p.to_string_lossy().into_owned();

    let sched = Scheduler::start(
        dir.data(),
        Some(TEST_CONFIG),
        &[
            "--tls-cert",
            &s(&server_cert),
            "--tls-key",
            &s(&server_key),
            "--tls-client-ca",
            &s(&ca.cert()),
        ],
    );
    assert!(sched.is_tls(), "{}", sched.logs());
    let url = format!("https://localhost:{}", sched.addr().port());
    let company = company_token(dir.data(), "acme");

    // A client certificate of the port's CA: in.
    let good = ClientTls {
        ca: Some(ca.cert()),
        identity: Some(gate_id.clone()),
    };
    assert_eq!(lists_zones(&url, &company, &good).await, Ok(2));

    // No client certificate: the handshake is refused.
    let none = ClientTls {
        ca: Some(ca.cert()),
        identity: None,
    };
    let r = lists_zones(&url, &company, &none).await;
    assert!(
        r.is_err(),
        "a client without a certificate got an answer: {r:?}"
    );

    // A certificate of another CA: refused too.
    let other = ClientTls {
        ca: Some(ca.cert()),
        identity: Some(stranger.clone()),
    };
    let r = lists_zones(&url, &company, &other).await;
    assert!(
        r.is_err(),
        "a certificate of another CA got an answer: {r:?}"
    );

    // The certificate opens the connection; the token still decides the role.
    let mut c = Clients::connect_tls(&url, None, &good).await.unwrap();
    let s_ = c
        .admin
        .list_zones(pb::ListZonesRequest {})
        .await
        .unwrap_err();
    assert_eq!(s_.code(), tonic::Code::Unauthenticated, "{s_:?}");
    let mut gate_calls = pb::gate_service_client::GateServiceClient::with_interceptor(
        bawaba_grpc::client::channel_tls(&url, &good).await.unwrap(),
        bawaba_grpc::client::BearerToken::new(Some(&company)).unwrap(),
    );
    let s_ = gate_calls
        .sync_bookings(pb::SyncBookingsRequest {
            zone_id: "act".into(),
            after_seq: 0,
        })
        .await
        .unwrap_err();
    assert_eq!(
        s_.code(),
        tonic::Code::PermissionDenied,
        "a company token is no gate token: {s_:?}"
    );

    // The CLI with --client-cert/--client-key; without them it is refused.
    let base = [
        "zones".to_owned(),
        "list".to_owned(),
        "--addr".to_owned(),
        url.clone(),
        "--token".to_owned(),
        company.clone(),
        "--ca-cert".to_owned(),
        s(&ca.cert()),
    ];
    let with = run_bawaba(base.iter().cloned().chain([
        "--client-cert".to_owned(),
        s(&gate_id.cert),
        "--client-key".to_owned(),
        s(&gate_id.key),
    ]));
    assert!(with.status.success(), "{}", output_text(&with));
    assert!(String::from_utf8_lossy(&with.stdout).contains("act"));
    let without = run_bawaba(base.iter().cloned());
    assert!(!without.status.success(), "{}", output_text(&without));

    // A gate agent with `client_cert`/`client_key` in gate.toml connects and syncs. Its
    // devices are absent: it keeps retrying them, which does not stop the link.
    let gate_token = token(dir.data(), "gate", None, Some("act"));
    let config = dir.path().join("gate.toml");
    let dev = |n: &str| s(&dir.path().join(n));
    std::fs::write(
        &config,
        format!(
            "gate_id = \"act-north\"\nzone_id = \"act\"\ndata_dir = \"{data}\"\n\
             [scheduler]\naddr = \"{url}\"\ntoken = \"{gate_token}\"\nca_cert = \"{ca}\"\n\
             client_cert = \"{cert}\"\nclient_key = \"{key}\"\n\
             [[lanes]]\nid = \"in-1\"\ndirection = \"in\"\ncamera = {{ path = \"{cam}\" }}\n\
             barrier = {{ path = \"{relay}\" }}\n",
            data = dev("agent"),
            ca = s(&ca.cert()),
            cert = s(&gate_id.cert),
            key = s(&gate_id.key),
            cam = dev("no-camera"),
            relay = dev("no-relay"),
        ),
    )
    .unwrap();
    let mut agent = Process::start(
        &["gate", "--config", &s(&config)],
        "connected to the scheduler",
    );
    agent.stop().await;
}
