//! The harness of Bawaba's end-to-end tests.
//!
//! The tests in `tests/tests/*.rs` start the real `bawaba` binary as child processes on
//! 127.0.0.1 (port 0, the real port read from the scheduler's log line) and talk to them over
//! real gRPC with [`bawaba_grpc::client::Clients`], or through the CLI. Nothing here links the
//! scheduler in-process: what is tested is what ships.
//!
//! [`bawaba_bin`] builds the binary once per test process (`cargo build -p bawaba`), so the
//! tests never run a stale binary, whatever `cargo test` selection started them.

use std::collections::VecDeque;
use std::fmt::Display;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, DurationRound, SecondsFormat, TimeDelta, Utc};
use tonic::{Code, Status};
use tonic_types::StatusExt;

pub use bawaba_grpc::client::Clients;
pub use bawaba_grpc::pb;

/// How long a scheduler may take to report that it listens.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a scheduler may take to stop after SIGTERM.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(20);
/// Lines of a scheduler's stderr kept for failure messages.
const LOG_LINES: usize = 300;

// ---- the binary ----------------------------------------------------------------------------

/// The workspace root (the parent of this crate).
pub fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lives inside the workspace")
}

/// The `bawaba` binary, freshly built: on first use in this process it runs
/// `cargo build --locked -p bawaba --bin bawaba` into the target directory this test binary
/// was built in (`target/<profile>/deps/<test>`), with the same profile.
///
/// `CARGO_BIN_EXE_bawaba`, when set in the environment, is used as is.
pub fn bawaba_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(build_bawaba)
}

fn build_bawaba() -> PathBuf {
    if let Some(bin) = std::env::var_os("CARGO_BIN_EXE_bawaba") {
        return PathBuf::from(bin);
    }
    let exe = std::env::current_exe().expect("the test binary knows its own path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binaries live in <target>/<profile>/deps/")
        .to_path_buf();
    let target_dir = profile_dir
        .parent()
        .expect("the profile directory is inside the target directory");
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => "dev".to_owned(),
        Some(other) => other.to_owned(),
    };
    let cargo = std::env::var_os("CARGO")
        .or_else(|| option_env!("CARGO").map(Into::into))
        .unwrap_or_else(|| "cargo".into());
    let out = Command::new(&cargo)
        .current_dir(workspace_root())
        .args([
            "build",
            "--locked",
            "-p",
            "bawaba",
            "--bin",
            "bawaba",
            "--profile",
            &profile,
            "--target-dir",
        ])
        .arg(target_dir)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "running {} to build the bawaba binary: {e}",
                Path::new(&cargo).display()
            )
        });
    assert!(
        out.status.success(),
        "`cargo build -p bawaba --bin bawaba` failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let bin = profile_dir.join(format!("bawaba{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.is_file(),
        "cargo built bawaba, but {} is not there",
        bin.display()
    );
    bin
}

/// A `bawaba` command with none of the `BAWABA_*` variables of the developer's shell (the
/// tests say what they mean on the command line) and plain logs at level info.
pub fn bawaba_command() -> Command {
    let mut cmd = Command::new(bawaba_bin());
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("BAWABA_") {
            cmd.env_remove(name);
        }
    }
    cmd.env("NO_COLOR", "1")
        .env("RUST_LOG", "info")
        .stdin(Stdio::null());
    cmd
}

/// Runs `bawaba ARGS` to the end.
pub fn run_bawaba<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    bawaba_command()
        .args(args)
        .output()
        .expect("running the bawaba binary")
}

/// A command line for failure messages.
fn describe(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Stdout and stderr of a finished command, for failure messages.
pub fn output_text(out: &Output) -> String {
    format!(
        "exit: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

// ---- folders -----------------------------------------------------------------------------

/// A temporary folder with a data directory in it (`<tmp>/data`, created). Removed on drop.
#[derive(Debug)]
pub struct TestDir {
    tmp: tempfile::TempDir,
    data: PathBuf,
}

impl TestDir {
    pub fn new() -> TestDir {
        let tmp = tempfile::Builder::new()
            .prefix("bawaba-e2e-")
            .tempdir()
            .expect("creating a temporary folder");
        let data = tmp.path().join("data");
        std::fs::create_dir_all(&data).expect("creating the data directory");
        TestDir { tmp, data }
    }

    /// The scheduler's data directory.
    pub fn data(&self) -> &Path {
        &self.data
    }

    /// The temporary folder (for certificates and other files next to the data).
    pub fn path(&self) -> &Path {
        self.tmp.path()
    }
}

impl Default for TestDir {
    fn default() -> Self {
        Self::new()
    }
}

// ---- the scheduler -----------------------------------------------------------------------

type Log = Arc<Mutex<VecDeque<String>>>;

/// Held while a child process is spawned, and by tests while they make pseudo-terminals: a
/// pty pair is opened without close-on-exec for an instant, and a child forked in that
/// instant would keep the line open.
pub fn spawn_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A running `bawaba` child process whose stderr is drained (the last lines kept for
/// failure messages). Dropping it kills it (SIGKILL) and, while a test panics, prints them.
#[derive(Debug)]
pub struct Process {
    child: Child,
    name: String,
    log: Log,
    reader: Option<JoinHandle<()>>,
    stopped: Option<ExitStatus>,
}

impl Process {
    /// Starts `cmd` and waits (at most [`START_TIMEOUT`]) for a stderr line on which `ready`
    /// finds something; returns it with the process.
    pub fn spawn<T: Send + 'static>(
        mut cmd: Command,
        ready: fn(&str) -> Option<T>,
    ) -> (Process, T) {
        cmd.stdout(Stdio::null()).stderr(Stdio::piped());
        let what = describe(&cmd);
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("starting `{what}`: {e}"));
        let stderr = child.stderr.take().expect("stderr is piped");
        let log: Log = Arc::new(Mutex::new(VecDeque::new()));
        let (tx, rx) = mpsc::channel();
        let reader = {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                // Drains stderr to the end so the pipe never fills, keeping the last lines.
                let mut tx = Some(tx);
                let mut stderr = BufReader::new(stderr);
                let mut buf = Vec::new();
                loop {
                    buf.clear();
                    match stderr.read_until(b'\n', &mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(_) => {}
                    }
                    let line = strip_ansi(String::from_utf8_lossy(&buf).trim_end());
                    if tx.is_some()
                        && let Some(found) = ready(&line)
                        && let Some(tx) = tx.take()
                    {
                        // The receiver may have given up already.
                        let _ = tx.send(found);
                    }
                    let mut log = log
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    if log.len() == LOG_LINES {
                        log.pop_front();
                    }
                    log.push_back(line);
                }
            })
        };
        match rx.recv_timeout(START_TIMEOUT) {
            Ok(found) => (
                Process {
                    child,
                    name: what,
                    log,
                    reader: Some(reader),
                    stopped: None,
                },
                found,
            ),
            Err(e) => {
                let _ = child.kill();
                let status = child
                    .wait()
                    .map(|s| s.to_string())
                    .unwrap_or_else(|e| e.to_string());
                let _ = reader.join();
                let why = match e {
                    mpsc::RecvTimeoutError::Timeout => {
                        format!("did not log that it is ready within {START_TIMEOUT:?}")
                    }
                    mpsc::RecvTimeoutError::Disconnected => {
                        "closed stderr without logging that it is ready".to_owned()
                    }
                };
                panic!(
                    "`{what}` {why} (exit: {status}); its stderr:\n{}",
                    lines(&log)
                );
            }
        }
    }

    /// `bawaba ARGS`, ready once a stderr line contains `ready` (a fixed string).
    pub fn start(args: &[&str], ready: &'static str) -> Process {
        let mut cmd = bawaba_command();
        cmd.args(args);
        // A plain fn cannot capture `ready`; the few ready lines used are listed here.
        let found: fn(&str) -> Option<()> = match ready {
            "connected to the scheduler" => {
                |l| l.contains("connected to the scheduler").then_some(())
            }
            "gate agent starting" => |l| l.contains("gate agent starting").then_some(()),
            other => panic!("no ready matcher for {other:?}; add one to Process::start"),
        };
        Process::spawn(cmd, found).0
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The last lines it wrote to stderr.
    pub fn logs(&self) -> String {
        lines(&self.log)
    }

    /// Waits (at most `timeout`) until one of its last stderr lines contains `needle`; says
    /// whether one did.
    pub async fn logged(&self, needle: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            let found = self
                .log
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .iter()
                .any(|l| l.contains(needle));
            if found {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGKILL, and waits for the process to go.
    pub fn kill(&mut self) -> ExitStatus {
        if let Some(s) = self.stopped {
            return s;
        }
        let _ = self.child.kill();
        let status = self.child.wait().expect("waiting for the killed process");
        self.finish(status)
    }

    /// SIGTERM (a graceful stop), and waits at most [`STOP_TIMEOUT`] for the process to exit;
    /// panics (after a SIGKILL) if it does not.
    ///
    /// Async because a graceful stop waits for the clients to close their connections: the
    /// caller's runtime must keep running their connection tasks meanwhile.
    pub async fn stop(&mut self) -> ExitStatus {
        if let Some(s) = self.stopped {
            return s;
        }
        self.signal_term();
        let deadline = Instant::now() + STOP_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().expect("polling the process") {
                return self.finish(status);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "`{}` did not stop within {STOP_TIMEOUT:?} of SIGTERM; its stderr:\n{}",
                    self.name,
                    self.logs()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Sends SIGTERM (`kill -TERM PID`) without waiting.
    pub fn signal_term(&self) {
        let pid = self.child.id().to_string();
        let out = Command::new("kill").args(["-TERM", &pid]).output().expect(
            "running `kill -TERM` (the kill command is needed to stop a process gracefully)",
        );
        assert!(
            out.status.success(),
            "kill -TERM {pid} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn finish(&mut self, status: ExitStatus) -> ExitStatus {
        self.stopped = Some(status);
        self.join_reader();
        status
    }

    /// Waits (at most 5 s) for the stderr reader to reach the end of the pipe. A process the
    /// child started (chromedriver's browser) can hold the pipe open after the child is gone:
    /// then the reader thread is left to end on its own rather than hang the test.
    fn join_reader(&mut self) {
        let Some(reader) = self.reader.take() else {
            return;
        };
        let until = Instant::now() + Duration::from_secs(5);
        while !reader.is_finished() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(20));
        }
        if reader.is_finished() {
            let _ = reader.join();
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if self.stopped.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
            self.join_reader();
        }
        if std::thread::panicking() {
            #[allow(clippy::print_stderr)]
            {
                eprintln!(
                    "--- `{}` stderr (last lines) ---\n{}",
                    self.name,
                    self.logs()
                );
            }
        }
    }
}

/// A running `bawaba scheduler` child process. Dropping it kills it (SIGKILL).
#[derive(Debug)]
pub struct Scheduler {
    process: Process,
    addr: SocketAddr,
    tls: bool,
    data_dir: PathBuf,
}

/// The config file written for `config` text: next to the data directory, so the data
/// directory holds only what the scheduler puts there.
fn config_path(data_dir: &Path) -> PathBuf {
    let name = data_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "data".to_owned());
    data_dir.with_file_name(format!("{name}-config.toml"))
}

/// Removes ANSI escape sequences (in case the log is coloured despite NO_COLOR).
fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The address in `... scheduler listening on http://HOST:PORT (gRPC)`, and whether it is TLS.
pub fn listening_addr(line: &str) -> Option<(SocketAddr, bool)> {
    let line = strip_ansi(line);
    let rest = &line[line.find("scheduler listening on ")? + "scheduler listening on ".len()..];
    let (tls, rest) = if let Some(r) = rest.strip_prefix("https://") {
        (true, r)
    } else {
        (false, rest.strip_prefix("http://")?)
    };
    let addr = rest
        .split(|c: char| c.is_whitespace())
        .next()?
        .trim_end_matches('/');
    addr.parse().ok().map(|a| (a, tls))
}

/// A free port on 127.0.0.1 (bound and released: a restarted scheduler can take it again).
pub fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("finding a free port on 127.0.0.1")
}

impl Scheduler {
    /// Starts `bawaba scheduler --data-dir DATA_DIR --grpc-addr 127.0.0.1:0 [--config FILE]
    /// EXTRA_ARGS` and waits (at most [`START_TIMEOUT`]) until it logs where it listens.
    /// `config` is TOML text, written to a file next to the data directory.
    pub fn start(data_dir: &Path, config: Option<&str>, extra_args: &[&str]) -> Scheduler {
        Self::start_at(
            data_dir,
            "127.0.0.1:0".parse().expect("an address"),
            config,
            extra_args,
        )
    }

    /// [`Scheduler::start`] on a given address (to restart one where its clients expect it).
    pub fn start_at(
        data_dir: &Path,
        addr: SocketAddr,
        config: Option<&str>,
        extra_args: &[&str],
    ) -> Scheduler {
        let mut cmd = bawaba_command();
        cmd.arg("scheduler")
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--grpc-addr")
            .arg(addr.to_string());
        if let Some(text) = config {
            let file = config_path(data_dir);
            std::fs::write(&file, text)
                .unwrap_or_else(|e| panic!("writing {}: {e}", file.display()));
            cmd.arg("--config").arg(file);
        }
        cmd.args(extra_args);
        let (process, (addr, tls)) = Process::spawn(cmd, listening_addr);
        Scheduler {
            process,
            addr,
            tls,
            data_dir: data_dir.to_path_buf(),
        }
    }

    /// Where it listens (127.0.0.1 and the real port).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Whether it logged an `https://` address.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// The last lines it wrote to stderr.
    pub fn logs(&self) -> String {
        self.process.logs()
    }

    /// Clients with `token`, over plain HTTP/2.
    pub async fn clients(&self, token: &str) -> Clients {
        clients(self.addr, token).await
    }

    /// SIGKILL, and waits for the process to go.
    pub fn kill(&mut self) -> ExitStatus {
        self.process.kill()
    }

    /// SIGTERM, and waits (see [`Process::stop`]).
    pub async fn stop(&mut self) -> ExitStatus {
        self.process.stop().await
    }

    /// Sends SIGTERM without waiting.
    pub fn signal_term(&self) {
        self.process.signal_term()
    }
}

fn lines(log: &Log) -> String {
    let log = log
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    log.iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join("\n")
}

// ---- tokens and clients ------------------------------------------------------------------

/// `bawaba token create --data-dir DATA_DIR --role ROLE [--company C] [--zone Z]`: the token
/// (the last line of stdout).
pub fn token(data_dir: &Path, role: &str, company: Option<&str>, zone: Option<&str>) -> String {
    let mut cmd = bawaba_command();
    cmd.args(["token", "create", "--data-dir"])
        .arg(data_dir)
        .args(["--role", role]);
    if let Some(c) = company {
        cmd.args(["--company", c]);
    }
    if let Some(z) = zone {
        cmd.args(["--zone", z]);
    }
    let what = describe(&cmd);
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("running `{what}`: {e}"));
    assert!(
        out.status.success(),
        "`{what}` failed:\n{}",
        output_text(&out)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let token = stdout
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .unwrap_or_default()
        .to_owned();
    assert!(
        token.len() == 68
            && token.starts_with("bwb_")
            && token[4..].bytes().all(|b| b.is_ascii_hexdigit()),
        "`{what}`: the last line of stdout is not a token (`bwb_` + 64 hex):\n{}",
        output_text(&out)
    );
    token
}

/// A company token.
pub fn company_token(data_dir: &Path, company: &str) -> String {
    token(data_dir, "company", Some(company), None)
}

/// The authority token.
pub fn authority_token(data_dir: &Path) -> String {
    token(data_dir, "authority", None, None)
}

/// Clients of the scheduler at `addr` (plain HTTP/2) with `token`.
/// A one-stop GENERAL_CARGO booking of `plate` in zone `act` for the window starting at
/// `window` (idempotency key `k-PLATE`), as the gate tests book their trucks.
pub fn act_booking(plate: &str, window: DateTime<Utc>) -> pb::CreateBookingRequest {
    pb::CreateBookingRequest {
        idempotency_key: format!("k-{plate}"),
        truck_plate: plate.into(),
        stops: vec![pb::StopRequest {
            zone_id: "act".into(),
            window_start: Some(bawaba_grpc::timestamp(window)),
            transaction_type: pb::TransactionType::GeneralCargo as i32,
            container_numbers: vec![],
        }],
        ..Default::default()
    }
}

pub async fn clients(addr: impl Display, token: &str) -> Clients {
    let url = format!("http://{addr}");
    Clients::connect(&url, Some(token), None)
        .await
        .unwrap_or_else(|e| panic!("connecting to {url}: {e}"))
}

// ---- configuration -----------------------------------------------------------------------

/// The test configuration: zone `act` (60-minute windows of 10 trucks, a company may take a
/// whole window), zone `siz` (30-minute windows of 5, 40% per company: 2 trucks) and a gate.
pub const TEST_CONFIG: &str = r#"
[[zones]]
id = "act"
name = "Aqaba Container Terminal"
slot_minutes = 60
capacity = 10

[zones.rules]
horizon_minutes = 10080
booking_cutoff_minutes = 60
change_cutoff_minutes = 60
early_grace_minutes = 30
late_grace_minutes = 30
company_cap_percent = 100
require_containers = true

[[zones]]
id = "siz"
name = "Southern Industrial Zone"
slot_minutes = 30
capacity = 5

[zones.rules]
company_cap_percent = 40

[[gates]]
id = "act-north"
zone = "act"
name = "ACT North Gate"
lanes = [{ id = "in-1", direction = "in" }, { id = "out-1", direction = "out" }]
"#;

/// Zone `act` whose next window can be entered now (two hours' early grace, no cut-off),
/// closed by flash-flood alerts over the terminal's outline, and its gate with an IN and an
/// OUT lane.
pub const GATE_TEST_CONFIG: &str = r#"
[[zones]]
id = "act"
name = "Aqaba Container Terminal"
slot_minutes = 60
capacity = 50

[zones.rules]
booking_cutoff_minutes = 0
change_cutoff_minutes = 0
early_grace_minutes = 120
company_cap_percent = 100
require_containers = false

[zones.alerts]
area = [[29.455, 34.968], [29.455, 34.982], [29.428, 34.985], [29.428, 34.970]]

[[gates]]
id = "act-north"
zone = "act"
name = "ACT North Gate"
lanes = [{ id = "in-1", direction = "in" }, { id = "out-1", direction = "out" }]
"#;

/// Capacity of an `act` window in [`TEST_CONFIG`].
pub const ACT_CAPACITY: u32 = 10;
/// Capacity of a `siz` window in [`TEST_CONFIG`].
pub const SIZ_CAPACITY: u32 = 5;

/// Starts a scheduler on `dir` with [`TEST_CONFIG`].
pub fn start_test_scheduler(dir: &TestDir) -> Scheduler {
    Scheduler::start(dir.data(), Some(TEST_CONFIG), &[])
}

// ---- times -------------------------------------------------------------------------------

/// `now + hours`, truncated to the hour: the start of a window of every zone of
/// [`TEST_CONFIG`] (Asia/Amman is UTC+3, so whole UTC hours are aligned). From `hours = 3`
/// on, it is beyond the 60-minute booking cut-off.
pub fn hour_start(now: DateTime<Utc>, hours: i64) -> DateTime<Utc> {
    (now + TimeDelta::hours(hours))
        .duration_trunc(TimeDelta::hours(1))
        .expect("truncating a time to the hour")
}

/// [`hour_start`] from now.
pub fn hours_ahead(hours: i64) -> DateTime<Utc> {
    hour_start(Utc::now(), hours)
}

pub fn ts(t: DateTime<Utc>) -> prost_types::Timestamp {
    bawaba_grpc::timestamp(t)
}

/// A timestamp of a reply as a time; panics when absent.
pub fn time(t: Option<&prost_types::Timestamp>) -> DateTime<Utc> {
    bawaba_grpc::from_timestamp(t.expect("the reply has the timestamp"))
        .expect("the timestamp is in range")
}

/// RFC 3339, seconds, `Z`.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

// ---- requests ----------------------------------------------------------------------------

/// A stop.
pub fn stop(
    zone: &str,
    start: DateTime<Utc>,
    ty: pb::TransactionType,
    containers: &[&str],
) -> pb::StopRequest {
    pb::StopRequest {
        zone_id: zone.to_owned(),
        window_start: Some(ts(start)),
        transaction_type: ty as i32,
        container_numbers: containers.iter().map(|c| (*c).to_owned()).collect(),
    }
}

/// A general-cargo stop (no containers needed).
pub fn cargo_stop(zone: &str, start: DateTime<Utc>) -> pb::StopRequest {
    stop(zone, start, pb::TransactionType::GeneralCargo, &[])
}

/// A create request.
pub fn create_req(key: &str, plate: &str, stops: Vec<pb::StopRequest>) -> pb::CreateBookingRequest {
    pb::CreateBookingRequest {
        idempotency_key: key.to_owned(),
        truck_plate: plate.to_owned(),
        stops,
        ..Default::default()
    }
}

/// A Jordanian plate as typed (`60-0000N`); normalised by the scheduler to `600000N`.
pub fn plate(n: u32) -> String {
    format!("60-{n:05}")
}

/// A plate normalised the way the scheduler stores it.
pub fn normalised_plate(n: u32) -> String {
    format!("60{n:05}")
}

/// An idempotency key unique in this process (and very likely across processes).
pub fn unique_key(prefix: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}-{}-{}-{n}", std::process::id(), nanos_now())
}

fn nanos_now() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default()
}

/// A valid ISO 6346 container number: `owner` (4 letters, e.g. `CSQU`), a 6-digit serial and
/// its check digit.
pub fn container_number(owner: &str, serial: u32) -> String {
    const VALUES: [u32; 26] = [
        10, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 34, 35,
        36, 37, 38,
    ];
    let first10 = format!("{}{serial:06}", owner.to_ascii_uppercase());
    assert!(
        first10.len() == 10 && first10[..4].bytes().all(|b| b.is_ascii_uppercase()),
        "bad owner code {owner}"
    );
    let sum: u32 = first10
        .bytes()
        .enumerate()
        .map(|(i, b)| {
            let v = if i < 4 {
                VALUES[usize::from(b - b'A')]
            } else {
                u32::from(b - b'0')
            };
            v << i
        })
        .sum();
    format!("{first10}{}", sum % 11 % 10)
}

/// A well-formed booking id (a ULID in Crockford base32) that no scheduler made.
pub fn random_booking_id() -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut x = (nanos_now() as u64) ^ 0x9E37_79B9_7F4A_7C15 ^ u64::from(std::process::id());
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    // First character 0..=7 (128 bits); `7` and a random tail: far from any real id's time.
    let mut id = String::from("7");
    for _ in 0..25 {
        id.push(char::from(ALPHABET[(next() % 32) as usize]));
    }
    id
}

// ---- reading the scheduler ---------------------------------------------------------------

/// Every booking the token sees, all pages.
pub async fn all_bookings(c: &mut Clients, mut req: pb::ListBookingsRequest) -> Vec<pb::Booking> {
    req.page_size = 500;
    let mut out = Vec::new();
    loop {
        let page = c
            .bookings
            .list_bookings(req.clone())
            .await
            .expect("ListBookings")
            .into_inner();
        out.extend(page.bookings);
        if page.next_page_token.is_empty() {
            return out;
        }
        req.page_token = page.next_page_token;
    }
}

/// The windows of `zone` starting in `[from, to)`.
pub async fn windows(
    c: &mut Clients,
    zone: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<pb::Window> {
    c.slots
        .list_windows(pb::ListWindowsRequest {
            zone_id: zone.to_owned(),
            from: Some(ts(from)),
            to: Some(ts(to)),
        })
        .await
        .unwrap_or_else(|e| panic!("ListWindows {zone}: {e:?}"))
        .into_inner()
        .windows
}

/// The window of `zone` starting at `start`.
pub async fn window(c: &mut Clients, zone: &str, start: DateTime<Utc>) -> pb::Window {
    let ws = windows(c, zone, start, start + TimeDelta::minutes(1)).await;
    assert_eq!(
        ws.len(),
        1,
        "ListWindows {zone} [{start}, +1 min) should give exactly the window at {start}: {ws:?}"
    );
    let w = ws.into_iter().next().expect("one window");
    assert_eq!(
        time(w.start.as_ref()),
        start,
        "the window listed starts at the asked time"
    );
    w
}

// ---- assertions --------------------------------------------------------------------------

/// The error of `r`, which must have failed with `code`.
#[track_caller]
pub fn expect_code<T: std::fmt::Debug>(r: Result<T, Status>, code: Code, what: &str) -> Status {
    match r {
        Ok(v) => panic!("{what}: expected {code:?}, but it succeeded: {v:?}"),
        Err(s) => {
            assert_eq!(
                s.code(),
                code,
                "{what}: expected {code:?}, got {:?}: {}",
                s.code(),
                s.message()
            );
            s
        }
    }
}

/// INVALID_ARGUMENT naming `field` in the message (`field: ...`) and in a
/// google.rpc.BadRequest field violation.
#[track_caller]
pub fn assert_invalid(s: &Status, field: &str, what: &str) {
    assert_eq!(
        s.code(),
        Code::InvalidArgument,
        "{what}: expected INVALID_ARGUMENT, got {:?}: {}",
        s.code(),
        s.message()
    );
    assert!(
        s.message().starts_with(&format!("{field}:")),
        "{what}: the message should start with `{field}:`, got {:?}",
        s.message()
    );
    let br = s.get_details_bad_request().unwrap_or_else(|| {
        panic!(
            "{what}: INVALID_ARGUMENT without google.rpc.BadRequest details: {}",
            s.message()
        )
    });
    assert!(
        br.field_violations.iter().any(|v| v.field == field),
        "{what}: the BadRequest should name field {field}, got {:?}",
        br.field_violations
    );
}

/// Fails with INVALID_ARGUMENT naming `field`; returns the status.
#[track_caller]
pub fn expect_invalid<T: std::fmt::Debug>(r: Result<T, Status>, field: &str, what: &str) -> Status {
    let s = expect_code(r, Code::InvalidArgument, what);
    assert_invalid(&s, field, what);
    s
}

/// The google.rpc.ErrorInfo of a RESOURCE_EXHAUSTED status: its reason and its alternatives.
#[track_caller]
pub fn exhausted_info(s: &Status, what: &str) -> (String, Vec<DateTime<Utc>>) {
    assert_eq!(
        s.code(),
        Code::ResourceExhausted,
        "{what}: expected RESOURCE_EXHAUSTED, got {:?}: {}",
        s.code(),
        s.message()
    );
    let info = s.get_details_error_info().unwrap_or_else(|| {
        panic!(
            "{what}: RESOURCE_EXHAUSTED without google.rpc.ErrorInfo: {}",
            s.message()
        )
    });
    let alternatives = info
        .metadata
        .get("alternatives")
        .map(|a| {
            a.split(',')
                .filter(|x| !x.is_empty())
                .map(|x| {
                    DateTime::parse_from_rfc3339(x.trim())
                        .unwrap_or_else(|e| {
                            panic!("{what}: alternative {x:?} is not RFC 3339: {e}")
                        })
                        .with_timezone(&Utc)
                })
                .collect()
        })
        .unwrap_or_default();
    (info.reason, alternatives)
}

/// `GET path` over HTTP/1.0: the status code, the content type and the body.
pub fn http_get(addr: SocketAddr, path: &str) -> (u16, String, String) {
    http_request(addr, "GET", path, &[], "")
}

/// `method path` over HTTP/1.0 with `headers` and `body`: the status code, the content type
/// and the body of the answer.
pub fn http_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connecting to {addr}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("a read timeout");
    let mut head = format!("{method} {path} HTTP/1.0\r\nHost: {addr}\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    write!(s, "{head}\r\n{body}").expect("sending the request");
    let mut raw = String::new();
    s.read_to_string(&mut raw).expect("reading the response");
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("not an HTTP response: {raw}"));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status code in {head}"));
    let ctype = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-type")
                .then(|| v.trim().to_owned())
        })
        .unwrap_or_default();
    (status, ctype, body.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_numbers_have_their_check_digit() {
        assert_eq!(container_number("CSQU", 305_438), "CSQU3054383");
        assert_eq!(container_number("MSKU", 907_032), "MSKU9070323");
    }

    #[test]
    fn listening_line_is_parsed() {
        let line = "2026-01-01T00:00:00Z  INFO bawaba_grpc::server: scheduler listening on http://127.0.0.1:4321 (gRPC)";
        assert_eq!(
            listening_addr(line),
            Some(("127.0.0.1:4321".parse().unwrap(), false))
        );
        let line = "\u{1b}[2m2026\u{1b}[0m \u{1b}[32m INFO\u{1b}[0m scheduler listening on https://127.0.0.1:99 (gRPC)";
        assert_eq!(
            listening_addr(line),
            Some(("127.0.0.1:99".parse().unwrap(), true))
        );
        assert_eq!(listening_addr("scheduler stopped"), None);
    }

    #[test]
    fn random_ids_look_like_booking_ids() {
        let id = random_booking_id();
        assert_eq!(id.len(), 26);
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
        );
        assert!(!id.contains(['I', 'L', 'O', 'U']));
    }

    #[test]
    fn hours_are_window_starts() {
        let t = hour_start(Utc::now(), 3);
        assert_eq!(t.timestamp() % 3600, 0);
        assert!(t > Utc::now() + TimeDelta::hours(2));
    }
}
