//! Prometheus metrics of the real processes: a scheduler (`--http`) and a gate agent
//! (`[metrics] listen`) are scraped over HTTP; `promtool check metrics` must accept both
//! outputs; a real `prometheus` scrapes both (`up == 1`); `promtool check config` accepts the
//! shipped scrape config; every query of the shipped Grafana dashboard names only metrics the
//! processes export. Needs `promtool` and `prometheus` (Debian package `prometheus`; `.ci/run`
//! installs it).

#![allow(clippy::unwrap_used)] // test code: a failed setup is a failed test

use std::collections::BTreeSet;
use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bawaba_codec::anpr::AnprFormat;
use bawaba_e2e::{Process, Scheduler, TestDir, free_addr, http_get, token, workspace_root};
use bawaba_gate::emulator::{BarrierEmulator, CameraEmulator};
use bawaba_gate::testbed::plate_read;

const CONFIG: &str = r#"
[[zones]]
id = "act"
name = "Aqaba Container Terminal"
slot_minutes = 60
capacity = 50

[[gates]]
id = "act-north"
zone = "act"
name = "ACT North Gate"
lanes = [{ id = "in-1", direction = "in" }]
"#;

fn scrape(addr: SocketAddr) -> String {
    let (status, ctype, body) = http_get(addr, "/metrics");
    assert_eq!(status, 200, "{body}");
    assert!(ctype.starts_with("text/plain; version=0.0.4"), "{ctype}");
    body
}

/// Runs `promtool ARGS` with `stdin`; panics with its output unless it exits 0.
fn promtool(args: &[&str], stdin: &str) {
    let mut child = Command::new("promtool")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian package prometheus) must be installed");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool {args:?}: {}\n{}\n{stdin}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every metric name in a scrape: families (`# TYPE`) and samples.
fn names(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in text.lines() {
        let name = match line.strip_prefix("# TYPE ") {
            Some(rest) => rest.split(' ').next(),
            None if line.starts_with('#') => None,
            None => line.split(['{', ' ']).next(),
        };
        if let Some(n) = name.filter(|n| !n.is_empty()) {
            out.insert(n.to_owned());
        }
    }
    out
}

/// The Bawaba metric names (`bawaba_...`) a PromQL expression uses.
fn expr_metrics(expr: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = expr;
    while let Some(i) = rest.find("bawaba_") {
        let before = rest[..i].chars().last();
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        if !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            out.insert(tail[..end].to_owned());
        }
        rest = &tail[end..];
    }
    out
}

fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines().find_map(|line| {
        let (series, v) = line.rsplit_once(' ')?;
        let (metric, rest) = series.split_once('{').unwrap_or((series, "}"));
        (metric == name
            && labels
                .iter()
                .all(|(k, val)| rest.contains(&format!("{k}=\"{val}\""))))
        .then(|| v.parse().ok())
        .flatten()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduler_and_gate_metrics_pass_promtool_prometheus_and_grafana() {
    let dir = TestDir::new();
    let grpc = free_addr();
    let http = free_addr();
    let http_arg = http.to_string();
    let scheduler = Scheduler::start_at(dir.data(), grpc, Some(CONFIG), &["--http", &http_arg]);
    let gate_token = token(dir.data(), "gate", None, Some("act"));
    let dev = |n: &str| dir.path().join(n);
    let ptys = bawaba_e2e::spawn_lock();
    let camera = CameraEmulator::spawn(dev("cam-in"), AnprFormat::StxEtx).unwrap();
    let _barrier = BarrierEmulator::spawn(dev("relay-in"), 1).unwrap();
    drop(ptys);
    let gate_metrics = free_addr();
    let config = format!(
        "gate_id = \"act-north\"\nzone_id = \"act\"\ndata_dir = \"{data}\"\n\
         [scheduler]\naddr = \"http://{grpc}\"\ntoken = \"{gate_token}\"\n\
         [decisions]\nfusion_window_ms = 200\nhold_off_ms = 2000\n\
         [metrics]\nlisten = \"{gate_metrics}\"\n\
         [[lanes]]\nid = \"in-1\"\ndirection = \"in\"\ncamera = {{ path = \"{cam}\" }}\nbarrier = {{ path = \"{relay}\" }}\n",
        data = dev("agent").display(),
        cam = dev("cam-in").display(),
        relay = dev("relay-in").display(),
    );
    std::fs::write(dev("gate.toml"), config).unwrap();
    let gate_toml = dev("gate.toml");
    let _agent = Process::start(
        &["gate", "--config", gate_toml.to_str().unwrap()],
        "connected to the scheduler",
    );

    // Traffic: a booking, a bad frame and an unbooked truck (DENY, reported to the scheduler).
    let company = token(dir.data(), "company", Some("acme"), None);
    let mut clients = bawaba_e2e::clients(grpc, &company).await;
    clients
        .bookings
        .create_booking(bawaba_e2e::create_req(
            "metrics-1",
            "60-12345",
            vec![bawaba_e2e::cargo_stop("act", bawaba_e2e::hours_ahead(24))],
        ))
        .await
        .unwrap();
    camera
        .send_raw(b"\x02ABCDEFGHIJKLMN0160-1\x03")
        .await
        .unwrap();
    camera.send(&plate_read("71-99999")).await.unwrap();
    let started = Instant::now();
    let (sched_text, gate_text) = loop {
        let s = scrape(http);
        let g = scrape(gate_metrics);
        if value(&s, "bawaba_passages_total", &[("decision", "DENY")]) == Some(1.0)
            && value(
                &g,
                "bawaba_gate_device_bad_frames_total",
                &[("device", "camera")],
            ) == Some(1.0)
        {
            break (s, g);
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no DENY or bad frame in the metrics:\n{s}\n{g}\n{}",
            scheduler.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        value(&sched_text, "bawaba_sync_streams_connected", &[]),
        Some(1.0),
        "{sched_text}"
    );
    // The configuration's zone and gate were committed before the first refresh.
    assert!(
        value(&sched_text, "bawaba_store_commits_total", &[]).is_some_and(|n| n >= 1.0),
        "{sched_text}"
    );
    for step in ["apply", "write", "sync"] {
        assert!(
            value(
                &sched_text,
                "bawaba_store_commit_seconds_total",
                &[("step", step)]
            )
            .is_some(),
            "{step}: {sched_text}"
        );
    }
    promtool(&["check", "metrics"], &sched_text);
    promtool(&["check", "metrics"], &gate_text);

    // The shipped scrape config.
    let shipped = workspace_root().join("deploy/prometheus/prometheus.yml");
    promtool(&["check", "config", shipped.to_str().unwrap()], "");

    // Every Grafana query names metrics the processes export.
    let exported: BTreeSet<String> = names(&sched_text)
        .union(&names(&gate_text))
        .cloned()
        .collect();
    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(workspace_root().join("deploy/grafana/dashboards/bawaba.json"))
            .unwrap(),
    )
    .unwrap();
    let mut exprs = Vec::new();
    fn collect(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                if let Some(serde_json::Value::String(e)) = m.get("expr") {
                    out.push(e.clone());
                }
                m.values().for_each(|x| collect(x, out));
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| collect(x, out)),
            _ => {}
        }
    }
    collect(&dashboard, &mut exprs);
    assert!(exprs.len() >= 10, "{exprs:?}");
    for e in &exprs {
        let used = expr_metrics(e);
        assert!(!used.is_empty(), "query names no Bawaba metric: {e}");
        for m in used {
            assert!(
                exported.contains(&m),
                "{m} (in {e}) is not exported: {exported:?}"
            );
        }
    }

    // The shipped alerting rules are valid and name only exported metrics (besides `up`).
    let rules = workspace_root().join("deploy/prometheus/alerts.yml");
    promtool(&["check", "rules", rules.to_str().unwrap()], "");
    let rule_exprs: Vec<String> = std::fs::read_to_string(&rules)
        .unwrap()
        .lines()
        .filter_map(|l| l.trim().strip_prefix("expr:").map(|e| e.trim().to_owned()))
        .collect();
    assert!(rule_exprs.len() >= 5, "{rule_exprs:?}");
    for e in &rule_exprs {
        for m in expr_metrics(e) {
            assert!(
                exported.contains(&m),
                "{m} (in alert {e}) is not exported: {exported:?}"
            );
        }
    }
    assert_eq!(
        value(&sched_text, "bawaba_store_stopped", &[]),
        Some(0.0),
        "a serving store: {sched_text}"
    );

    // A real Prometheus scrapes both.
    let prom = free_addr();
    let prom_dir = dir.path().join("prometheus");
    std::fs::create_dir_all(&prom_dir).unwrap();
    let prom_cfg = prom_dir.join("prometheus.yml");
    std::fs::write(
        &prom_cfg,
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: scheduler\n    static_configs:\n      - targets: ['{http}']\n  - job_name: gate\n    static_configs:\n      - targets: ['{gate_metrics}']\n"
        ),
    )
    .unwrap();
    let mut prometheus = Command::new("prometheus")
        .arg(format!("--config.file={}", prom_cfg.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            prom_dir.join("data").display()
        ))
        .arg(format!("--web.listen-address={prom}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("prometheus (Debian package prometheus) must be installed");
    let started = Instant::now();
    let mut last = String::new();
    let up = loop {
        if let Ok(s) = TcpStream::connect(prom) {
            drop(s);
            let (status, _, body) = http_get(prom, "/api/v1/query?query=up");
            if status == 200 {
                let v: serde_json::Value = serde_json::from_str(&body).unwrap();
                let results = v["data"]["result"].as_array().cloned().unwrap_or_default();
                let ups: Vec<(String, String)> = results
                    .iter()
                    .map(|r| {
                        (
                            r["metric"]["job"].as_str().unwrap_or("").to_owned(),
                            r["value"][1].as_str().unwrap_or("").to_owned(),
                        )
                    })
                    .collect();
                if ups.len() == 2 && ups.iter().all(|(_, v)| v == "1") {
                    break ups;
                }
                last = body;
            }
        }
        if started.elapsed() > Duration::from_secs(30) {
            let _ = prometheus.kill();
            panic!("prometheus did not see both targets up: {last}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let _ = prometheus.kill();
    let _ = prometheus.wait();
    let jobs: BTreeSet<_> = up.into_iter().map(|(j, _)| j).collect();
    assert_eq!(
        jobs,
        BTreeSet::from(["gate".to_owned(), "scheduler".to_owned()])
    );
}
