//! The client commands of the `bawaba` binary against a running scheduler.

use std::process::Output;

use bawaba_e2e::*;
use chrono::{FixedOffset, SecondsFormat, TimeDelta};

struct Cli {
    addr: String,
    token: String,
}

impl Cli {
    /// `bawaba ARGS... --addr ADDR --token T` (the options before the subcommand are tested
    /// on their own in `global_options_go_before_or_after_the_subcommand`).
    fn run(&self, args: &[&str]) -> Output {
        let mut all = args.to_vec();
        all.extend_from_slice(&["--addr", &self.addr, "--token", &self.token]);
        run_bawaba(&all)
    }

    /// Runs and expects success; the stdout.
    #[track_caller]
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "`bawaba {}` failed:\n{}",
            args.join(" "),
            output_text(&out)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs and expects the contract's refusal: exit code 1 and `error: ` on stderr.
    #[track_caller]
    fn refused(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(1),
            "`bawaba {}` should exit with 1:\n{}",
            args.join(" "),
            output_text(&out)
        );
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            stderr.lines().any(|l| l.starts_with("error: ")),
            "`bawaba {}`: stderr should have an `error: ` line:\n{}",
            args.join(" "),
            output_text(&out)
        );
        stderr
    }

    /// Runs a listing expected to find nothing: exit status 3, nothing on stdout (an empty
    /// array with --output json); what it says on stderr.
    #[track_caller]
    fn nothing(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(3),
            "`bawaba {}` should exit with 3:\n{}",
            args.join(" "),
            output_text(&out)
        );
        assert!(out.stdout.is_empty(), "{}", output_text(&out));
        String::from_utf8_lossy(&out.stderr).trim().to_owned()
    }
}

impl Cli {
    /// Runs a command that follows a stream: its stdout up to the first line containing
    /// `until` (at most 20 s), then stops it.
    #[track_caller]
    fn follow(&self, args: &[&str], until: &str) -> String {
        use std::io::BufRead;
        let mut child = bawaba_command()
            .args(args)
            .args(["--addr", &self.addr, "--token", &self.token])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("starting bawaba");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let mut seen = String::new();
        while let Ok(line) = rx.recv_timeout(std::time::Duration::from_secs(20)) {
            seen.push_str(&line);
            seen.push('\n');
            if line.contains(until) {
                break;
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        assert!(
            seen.contains(until),
            "`bawaba {}` never printed {until:?}:\n{seen}",
            args.join(" ")
        );
        seen
    }

    /// `booking create` of a GENERAL_CARGO visit of zone `act` at `window`: its id.
    #[track_caller]
    fn book_act(&self, plate: &str, window: chrono::DateTime<chrono::Utc>) -> String {
        let stop = format!("act,{},GENERAL_CARGO", rfc3339(window));
        booking_id(&self.ok(&["booking", "create", "--plate", plate, "--stop", &stop]))
    }
}

/// `t` as typed in Amman time without an offset (`2026-12-08T10:00`).
fn amman_local(t: chrono::DateTime<chrono::Utc>) -> String {
    let amman = FixedOffset::east_opt(3 * 3600).expect("UTC+3");
    t.with_timezone(&amman).format("%Y-%m-%dT%H:%M").to_string()
}

/// The booking id: the 2nd word of the first line, which starts with `booking `.
#[track_caller]
fn booking_id(stdout: &str) -> String {
    let first = stdout.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("booking "),
        "the first line starts with `booking `: {stdout:?}"
    );
    let id = first
        .split_whitespace()
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    assert_eq!(id.len(), 26, "a booking id: {first:?}");
    id
}

#[tokio::test]
async fn cli_commands_work_against_a_scheduler() {
    let dir = TestDir::new();
    let sched = start_test_scheduler(&dir);
    let acme = company_token(dir.data(), "acme");
    let cli = Cli {
        addr: sched.url(),
        token: acme.clone(),
    };
    let mut c = sched.clients(&acme).await;
    let w = hours_ahead(4);
    let w_rfc = rfc3339(w);

    // zones list
    let zones = cli.ok(&["zones", "list"]);
    let words: Vec<_> = zones.split_whitespace().collect();
    assert!(
        words.contains(&"act") && words.contains(&"siz"),
        "zones list prints the zone ids:\n{zones}"
    );
    let json = cli.ok(&["zones", "list", "--output", "json"]);
    let listed: serde_json::Value = serde_json::from_str(&json).expect(&json);
    assert_eq!(listed[0]["id"], "act", "{json}");
    assert_eq!(listed[0]["rules"]["company_cap_percent"], 100, "{json}");

    // booking create / get
    let out = cli.ok(&[
        "booking",
        "create",
        "--plate",
        "60-12345",
        "--stop",
        &format!("act,{w_rfc},GENERAL_CARGO"),
    ]);
    let id = booking_id(&out);
    assert!(
        out.lines()
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .nth(2)
            == Some("BOOKED"),
        "`booking <ID> <STATE> ...`: {out}"
    );
    let b = c
        .bookings
        .get_booking(pb::GetBookingRequest {
            booking_id: id.clone(),
        })
        .await
        .expect("the CLI's booking is stored")
        .into_inner();
    assert_eq!(b.truck_plate, "6012345");
    assert_eq!(b.company_id, "acme");
    assert_eq!(time(b.stops[0].window_start.as_ref()), w);
    assert_eq!(
        b.stops[0].transaction_type,
        pb::TransactionType::GeneralCargo as i32
    );
    let got = cli.ok(&["booking", "get", &id]);
    assert!(got.contains(&id), "booking get prints the booking:\n{got}");

    // With containers, a key (replayed), local time with offset, and two stops.
    let amman = FixedOffset::east_opt(3 * 3600).expect("UTC+3");
    let w1_local = (w + TimeDelta::hours(1))
        .with_timezone(&amman)
        .to_rfc3339_opts(SecondsFormat::Secs, false);
    let container = container_number("CSQU", 305_438);
    let args = [
        "booking",
        "create",
        "--plate",
        "60-22222",
        "--key",
        "cli-key-1",
        "--stop",
        &format!("siz,{w_rfc},EMPTY_RETURN"),
        "--stop",
        &format!("act,{w1_local},IMPORT_PICKUP,{container}"),
    ];
    let first = booking_id(&cli.ok(&args));
    let second = booking_id(&cli.ok(&args));
    assert_eq!(first, second, "the same --key replays the same booking");
    let visit = c
        .bookings
        .get_booking(pb::GetBookingRequest {
            booking_id: first.clone(),
        })
        .await
        .expect("get")
        .into_inner();
    assert_eq!(visit.idempotency_key, "cli-key-1");
    assert_eq!(
        visit
            .stops
            .iter()
            .map(|s| (s.zone_id.as_str(), time(s.window_start.as_ref())))
            .collect::<Vec<_>>(),
        [("siz", w), ("act", w + TimeDelta::hours(1))]
    );
    assert_eq!(visit.stops[1].container_numbers, [container]);
    assert_eq!(
        window(&mut c, "act", w + TimeDelta::hours(1)).await.booked,
        1,
        "the replay took no second place"
    );

    // booking list
    let list = cli.ok(&["booking", "list"]);
    assert!(
        list.contains(&id) && list.contains(&first),
        "booking list shows both bookings:\n{list}"
    );
    let siz_list = cli.ok(&["booking", "list", "--zone", "siz"]);
    assert!(
        siz_list.contains(&first) && !siz_list.contains(&id),
        "booking list --zone siz:\n{siz_list}"
    );
    let all = cli.ok(&["booking", "list", "--all", "--page-size", "1"]);
    assert!(
        all.contains(&id) && all.contains(&first),
        "booking list --all over pages of 1:\n{all}"
    );

    // booking move
    let to = w + TimeDelta::hours(3);
    cli.ok(&["booking", "move", &id, "--window", &rfc3339(to)]);
    let b = c
        .bookings
        .get_booking(pb::GetBookingRequest {
            booking_id: id.clone(),
        })
        .await
        .expect("get")
        .into_inner();
    assert_eq!(
        time(b.stops[0].window_start.as_ref()),
        to,
        "booking move moved it"
    );
    cli.ok(&[
        "booking",
        "move",
        &first,
        "--window",
        &rfc3339(w + TimeDelta::hours(2)),
        "--stop-index",
        "1",
    ]);
    let v = c
        .bookings
        .get_booking(pb::GetBookingRequest {
            booking_id: first.clone(),
        })
        .await
        .expect("get")
        .into_inner();
    assert_eq!(
        time(v.stops[1].window_start.as_ref()),
        w + TimeDelta::hours(2),
        "--stop-index 1 moved the second stop"
    );
    assert_eq!(time(v.stops[0].window_start.as_ref()), w);

    // booking cancel
    cli.ok(&["booking", "cancel", &id, "--reason", "no driver"]);
    let b = c
        .bookings
        .get_booking(pb::GetBookingRequest {
            booking_id: id.clone(),
        })
        .await
        .expect("get")
        .into_inner();
    assert_eq!(b.state, pb::BookingState::Cancelled as i32);
    assert_eq!(b.cancel_reason, "no driver");
    // booking events: the company's log, followed from the first event; each line names the
    // event and the booking as it was left.
    let gone = format!("booking {id} CANCELLED");
    let seen = cli.follow(&["booking", "events"], &gone);
    assert!(seen.contains("event acme:1 created at="), "{seen}");
    assert!(seen.contains(" cancelled at="), "{seen}");
    let later = cli.follow(&["booking", "events", "--after", "1"], &gone);
    assert!(
        !later.contains("acme:1 "),
        "--after 1 starts after event 1:\n{later}"
    );
    let cancelled = cli.ok(&["booking", "list", "--state", "CANCELLED"]);
    assert!(
        cancelled.contains(&id) && !cancelled.contains(&first),
        "booking list --state CANCELLED:\n{cancelled}"
    );

    // slots
    let slots = cli.ok(&["slots", "list", "--zone", "act"]);
    assert!(!slots.trim().is_empty(), "slots list prints windows");
    let ranged = cli.ok(&[
        "slots",
        "list",
        "--zone",
        "act",
        "--from",
        &w_rfc,
        "--to",
        &rfc3339(w + TimeDelta::hours(2)),
    ]);
    assert!(
        ranged.lines().filter(|l| !l.trim().is_empty()).count() >= 2,
        "two windows listed:\n{ranged}"
    );
    let found = cli.ok(&["slots", "find", "--zone", "act", "--type", "GENERAL_CARGO"]);
    assert!(!found.trim().is_empty(), "slots find prints windows");
    let found = cli.ok(&[
        "slots",
        "find",
        "--zone",
        "act",
        "--type",
        "GENERAL_CARGO",
        "--preferred",
        &w_rfc,
        "--count",
        "2",
    ]);
    assert!(
        !found.trim().is_empty(),
        "slots find --preferred --count prints windows"
    );
    // --output json: one document, times in Amman time; --output table: a header, then rows.
    let json = cli.ok(&[
        "booking",
        "list",
        "--state",
        "CANCELLED",
        "--output",
        "json",
    ]);
    let listed: serde_json::Value = serde_json::from_str(&json).expect(&json);
    let one = &listed.as_array().expect("an array")[0];
    assert_eq!(
        (one["id"].as_str(), one["state"].as_str()),
        (Some(id.as_str()), Some("CANCELLED"))
    );
    let start = one["stops"][0]["window_start"].as_str().unwrap_or_default();
    assert!(start.ends_with("+03:00"), "{json}");
    let got: serde_json::Value =
        serde_json::from_str(&cli.ok(&["booking", "get", &id, "--output", "json"])).expect("json");
    assert_eq!(&got, one, "get answers the object the list holds");
    let table = cli.ok(&[
        "slots",
        "find",
        "--zone",
        "act",
        "--type",
        "GENERAL_CARGO",
        "--output",
        "table",
    ]);
    let mut lines = table.lines();
    let header = lines.next().unwrap_or_default();
    assert!(
        header.starts_with("ZONE") && header.contains("FREE"),
        "{table}"
    );
    assert_eq!(lines.count(), 5, "five windows by default:\n{table}");

    // Refusals: exit 1, `error: <code>: <message>` on stderr.
    let before = all_bookings(&mut c, pb::ListBookingsRequest::default())
        .await
        .len();
    let err = cli.refused(&[
        "booking",
        "create",
        "--plate",
        "60#12",
        "--stop",
        &format!("act,{w_rfc},GENERAL_CARGO"),
    ]);
    assert!(
        err.contains("truck_plate"),
        "the error names the field:\n{err}"
    );
    let err = cli.refused(&[
        "booking",
        "create",
        "--plate",
        "60-33333",
        "--stop",
        &format!("act,{w_rfc},IMPORT_PICKUP,CSQU3054384"),
    ]);
    assert!(err.contains("check digit"), "{err}");
    cli.refused(&["booking", "cancel", &id]);
    cli.refused(&["booking", "get", &random_booking_id()]);
    let bad_token = Cli {
        addr: sched.url(),
        token: format!("bwb_{}", "0".repeat(64)),
    };
    bad_token.refused(&["zones", "list"]);
    let after = all_bookings(&mut c, pb::ListBookingsRequest::default())
        .await
        .len();
    assert_eq!(before, after, "refused commands stored nothing");
}

/// `bawaba audit list` shows who changed what, through which door, in Amman time: a cap set
/// through the gRPC API, a company's booking cancelled by the authority from the CLI, the
/// tokens issued; filters (a local time without an offset is Amman time); only the
/// authority may read it, and a bad filter names its field.
#[tokio::test]
async fn the_audit_trail_from_the_command_line() {
    let dir = TestDir::new();
    let sched = start_test_scheduler(&dir);
    let acme = company_token(dir.data(), "acme");
    let authority = authority_token(dir.data());
    let cli = Cli {
        addr: sched.url(),
        token: authority.clone(),
    };
    // Through the gRPC API (not the CLI): a cap.
    let channel = bawaba_grpc::client::channel(&sched.url(), None)
        .await
        .unwrap();
    let auth = bawaba_grpc::client::BearerToken::new(Some(&authority)).unwrap();
    let mut admin = pb::admin_service_client::AdminServiceClient::with_interceptor(channel, auth);
    admin
        .set_company_cap(pb::SetCompanyCapRequest {
            zone_id: "act".into(),
            company_id: "acme".into(),
            percent: 40,
        })
        .await
        .unwrap();
    // Through the CLI: the authority cancels acme's booking.
    let company = Cli {
        addr: sched.url(),
        token: acme,
    };
    let id = company.book_act("60-12345", hours_ahead(4));
    cli.ok(&["booking", "cancel", &id, "--reason", "inspection campaign"]);

    let all = cli.ok(&["audit", "list"]);
    let line = |kind: &str| {
        all.lines()
            .find(|l| l.split_whitespace().nth(2) == Some(kind))
            .unwrap_or_else(|| panic!("no {kind} line:\n{all}"))
            .to_owned()
    };
    let cancel = line("booking.cancelled");
    assert!(
        cancel.contains("via cli") && cancel.contains("(authority"),
        "{cancel}"
    );
    assert!(cancel.contains(&format!("booking:{id}")), "{cancel}");
    assert!(
        cancel.starts_with("20") && cancel[..25].ends_with("+03:00"),
        "Amman time: {cancel}"
    );
    let cap = line("company_cap.set");
    assert!(
        cap.contains("via grpc") && cap.contains("zone=act"),
        "{cap}"
    );
    assert!(all.contains("    company_cap.acme: - -> 40%"), "{all}");
    assert!(all.contains("    state: BOOKED -> CANCELLED"), "{all}");
    let issued = line("token.issued");
    assert!(issued.contains("via cli"), "{issued}");
    // Newest first: the cancel before the cap, the cap before the tokens.
    let pos = |needle: &str| all.find(needle).unwrap();
    assert!(pos("booking.cancelled") < pos("company_cap.set"));
    assert!(pos("company_cap.set") < pos("token.issued"));

    let only = cli.ok(&["audit", "list", "--kind", "company_cap.set"]);
    assert_eq!(
        only.lines().filter(|l| !l.starts_with(' ')).count(),
        1,
        "{only}"
    );
    // Times without an offset are Amman time: an hour ago finds them, an hour ahead none.
    let local = |h: i64| amman_local(chrono::Utc::now() + TimeDelta::hours(h));
    let recent = cli.ok(&["audit", "list", "--from", &local(-1)]);
    assert!(
        recent.contains("booking.cancelled"),
        "--from {}: {recent}",
        local(-1)
    );
    let none = cli.nothing(&["audit", "list", "--from", &local(1)]);
    assert!(
        none.contains("no audit records match"),
        "--from {}",
        local(1)
    );
    let json = cli.ok(&[
        "audit",
        "list",
        "--kind",
        "company_cap.set",
        "--output",
        "json",
    ]);
    let entries: serde_json::Value = serde_json::from_str(&json).expect(&json);
    let first = &entries[0];
    assert_eq!(first["kind"], "company_cap.set", "{json}");
    assert!(first["at"].as_str().unwrap().ends_with("+03:00"), "{json}");
    assert!(first["changes"][0]["field"].is_string(), "{json}");
    let err = cli.refused(&["audit", "list", "--kind", "closure.maybe"]);
    assert!(
        err.contains("INVALID_ARGUMENT") && err.contains("kind"),
        "{err}"
    );
    let err = company.refused(&["audit", "list"]);
    assert!(err.contains("PERMISSION_DENIED"), "{err}");
}

/// The authority closes, reopens and caps zones from the command line, in Amman time: the
/// closure lists the bookings it hits, a booking into it is refused naming it, `closures
/// list` shows it until it is lifted; a company may not do any of it.
#[tokio::test]
async fn zones_are_closed_reopened_and_capped_from_the_command_line() {
    let dir = TestDir::new();
    let sched = start_test_scheduler(&dir);
    let company = Cli {
        addr: sched.url(),
        token: company_token(dir.data(), "acme"),
    };
    let authority = Cli {
        addr: sched.url(),
        token: authority_token(dir.data()),
    };
    let w = hours_ahead(4);
    let id = company.book_act("60-12345", w);
    let local = amman_local;
    let closed = authority.ok(&[
        "zones",
        "close",
        "act",
        "--from",
        &local(w),
        "--to",
        &local(w + TimeDelta::hours(2)),
        "--reason",
        "flash flood warning",
    ]);
    let first = closed.lines().next().unwrap_or_default();
    assert!(first.starts_with("closure 1 zone=act from="), "{closed}");
    assert!(
        first.contains("+03:00") && first.contains("flash flood warning"),
        "{closed}"
    );
    assert!(
        closed.contains("bookings hit: 1") && closed.contains(&id),
        "{closed}"
    );

    let listed = authority.ok(&["closures", "list"]);
    assert!(listed.starts_with("closure 1 zone=act"), "{listed}");
    let json = authority.ok(&["closures", "list", "--output", "json"]);
    let closures: serde_json::Value = serde_json::from_str(&json).expect(&json);
    assert_eq!(
        (&closures[0]["zone"], &closures[0]["id"]),
        (&"act".into(), &1.into())
    );
    assert!(
        closures[0]["from"].as_str().unwrap().ends_with("+03:00"),
        "{json}"
    );
    let none = authority.nothing(&["closures", "list", "--zone", "siz"]);
    assert!(none.contains("no closures"), "{none}");
    let err = company.refused(&[
        "booking",
        "create",
        "--plate",
        "60-22222",
        "--stop",
        &format!("act,{},GENERAL_CARGO", local(w + TimeDelta::hours(1))),
    ]);
    assert!(
        err.contains("FAILED_PRECONDITION")
            && err.contains("flash flood warning")
            && err.contains("closure 1"),
        "{err}"
    );
    let err = company.refused(&["zones", "reopen", "act", "1"]);
    assert!(err.contains("PERMISSION_DENIED"), "{err}");

    let reopened = authority.ok(&["zones", "reopen", "act", "1"]);
    assert!(
        reopened.starts_with("closure 1 of act lifted"),
        "{reopened}"
    );
    assert!(
        reopened.contains("bookings that can come as booked again: 1") && reopened.contains(&id),
        "the booking in the lifted window is named: {reopened}"
    );
    authority.nothing(&["closures", "list"]);
    authority.refused(&["zones", "reopen", "act", "1"]);

    let capped = authority.ok(&["zones", "cap", "act", "acme", "40"]);
    assert_eq!(capped.trim(), "act cap acme=40% of each window");
    let cleared = authority.ok(&["zones", "cap", "act", "acme", "0"]);
    assert!(cleared.starts_with("act cap acme cleared"), "{cleared}");
    let err = authority.refused(&["zones", "cap", "act", "acme", "140"]);
    assert!(
        err.contains("INVALID_ARGUMENT") && err.contains("percent"),
        "{err}"
    );
    let err = authority.refused(&[
        "zones", "close", "act", "--from", "soon", "--to", "later", "--reason", "x",
    ]);
    assert!(err.contains("Amman"), "{err}");

    // Closed over the whole horizon: `slots find` says there is no room instead of nothing.
    authority.ok(&[
        "zones",
        "close",
        "act",
        "--from",
        &local(chrono::Utc::now()),
        "--to",
        &local(chrono::Utc::now() + TimeDelta::days(9)),
        "--reason",
        "inspection campaign",
    ]);
    // Nothing found: exit status 3, what was searched on stderr, nothing on stdout.
    let none = company.run(&["slots", "find", "--zone", "act", "--type", "GENERAL_CARGO"]);
    let stderr = String::from_utf8_lossy(&none.stderr);
    assert_eq!(none.status.code(), Some(3), "{}", output_text(&none));
    assert!(
        stderr.contains("no free window for GENERAL_CARGO in zone act between ")
            && stderr.contains("+03:00 (the end of its booking horizon)"),
        "{stderr}"
    );
    assert!(none.stdout.is_empty(), "{}", output_text(&none));

    let trail = authority.ok(&["audit", "list", "--zone", "act"]);
    for kind in ["closure.added", "closure.removed", "company_cap.set"] {
        assert!(
            trail
                .lines()
                .any(|l| l.contains(kind) && l.contains("via cli")),
            "{kind}:\n{trail}"
        );
    }
}

/// The connection options are global, so every command takes them; one that does not read
/// them says so (on the command line, not from the environment, where they are meant for
/// the client commands), instead of silently acting elsewhere than asked.
#[test]
fn connection_options_a_command_ignores_are_warned_of() {
    let dir = TestDir::new();
    let data = dir.data().to_str().expect("a UTF-8 path").to_owned();
    for (args, option) in [
        (
            vec![
                "token",
                "list",
                "--data-dir",
                &data,
                "--addr",
                "http://127.0.0.1:9",
            ],
            "--addr",
        ),
        (
            vec!["--token", "bwb_x", "token", "list", "--data-dir", &data],
            "--token",
        ),
    ] {
        let out = run_bawaba(&args);
        assert!(out.status.success(), "{}", output_text(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("{option} has no effect on this command")),
            "`bawaba {}`:\n{}",
            args.join(" "),
            output_text(&out)
        );
    }
    let from_env = bawaba_command()
        .args(["token", "list", "--data-dir", &data])
        .env("BAWABA_ADDR", "http://127.0.0.1:9")
        .output()
        .expect("run bawaba");
    assert!(from_env.status.success(), "{}", output_text(&from_env));
    assert!(
        !output_text(&from_env).contains("has no effect"),
        "{}",
        output_text(&from_env)
    );
}

#[tokio::test]
async fn global_options_go_before_or_after_the_subcommand() {
    let dir = TestDir::new();
    let sched = start_test_scheduler(&dir);
    let acme = company_token(dir.data(), "acme");
    let url = sched.url();
    let lists_zones = |out: Output, how: &str| {
        assert!(
            out.status.success(),
            "zones list with {how}:\n{}",
            output_text(&out)
        );
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            stdout.split_whitespace().any(|w| w == "act"),
            "zones list with {how}:\n{stdout}"
        );
        assert!(
            !output_text(&out).contains("has no effect"),
            "a client command uses its connection options:\n{}",
            output_text(&out)
        );
    };
    lists_zones(
        run_bawaba(["zones", "list", "--addr", &url, "--token", &acme]),
        "the options after the subcommand",
    );
    lists_zones(
        bawaba_command()
            .args(["zones", "list"])
            .env("BAWABA_ADDR", &url)
            .env("BAWABA_TOKEN", &acme)
            .output()
            .expect("run bawaba"),
        "BAWABA_ADDR and BAWABA_TOKEN",
    );
    lists_zones(
        run_bawaba(["--addr", &url, "--token", &acme, "zones", "list"]),
        "the options before the subcommand",
    );
}

/// `bawaba sim --load`: an in-process scheduler driven in a closed loop and in an open loop;
/// every acknowledged booking and passage is found stored; a bad option is named.
#[test]
fn sim_load_drives_bookings_and_passages_and_checks_the_store() {
    for pace in [&[][..], &["--rate", "200"][..]] {
        let mut args = vec!["sim", "--load", "--seconds", "1", "--clients", "4"];
        args.extend_from_slice(pace);
        let out = run_bawaba(&args);
        let text = output_text(&out);
        assert!(out.status.success(), "{text}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("bookings (durable)"), "{stdout}");
        assert!(stdout.contains("passages (durable)"), "{stdout}");
        assert!(stdout.contains("check passed"), "{stdout}");
    }
    let out = run_bawaba(["sim", "--load", "--clients", "0"]);
    assert_eq!(out.status.code(), Some(1), "{}", output_text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("clients"));
    // The report's language is en or ar, checked before anything runs.
    let out = run_bawaba(["sim", "--lang", "fr"]);
    assert_eq!(out.status.code(), Some(2), "{}", output_text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("[possible values: en, ar]"));
}

/// `bawaba demo`, short and as fast as the machine goes: a real scheduler, gate agents and pty
/// devices, the no-appointments baseline, every proof, the report on stdout and in the data
/// folder (`--lang ar`: report.html in Arabic, right to left); with `--http` and `--serve` its
/// dashboard answers until Ctrl-C (SIGINT).
#[test]
fn a_short_demo_reports_and_serves_its_dashboard_until_ctrl_c() {
    let dir = TestDir::new();
    let http = free_addr();
    let mut child = bawaba_command()
        .args(["demo", "--data-dir", dir.data().to_str().unwrap()])
        .args([
            "--hours", "0.5", "--trucks", "40", "--speed", "0", "--serve", "--lang", "ar",
        ])
        .args(["--http", &http.to_string()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in stdout.lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut printed = Vec::new();
    while !printed
        .iter()
        .any(|l: &String| l.contains("serving until Ctrl-C"))
    {
        match rx.recv_timeout(std::time::Duration::from_secs(300)) {
            Ok(line) => printed.push(line),
            Err(e) => {
                let _ = child.kill();
                let out = child.wait_with_output().unwrap();
                panic!(
                    "the demo did not get to serving ({e}); stdout:\n{}\nstderr:\n{}",
                    printed.join("\n"),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
    }
    let text = printed.join("\n");
    assert!(
        text.contains(&format!("dashboard: http://{http}/")),
        "{text}"
    );
    assert!(
        text.contains("baseline"),
        "the report compares with the baseline:\n{text}"
    );
    assert!(!text.contains("FAILED"), "{text}");
    let run = dir.data().join("normal-day");
    for f in ["report.json", "report.html", "tokens.toml"] {
        assert!(
            run.join(f).is_file() || dir.data().join(f).is_file(),
            "no {f} in {}",
            dir.data().display()
        );
    }
    let html = std::fs::read_to_string(dir.data().join("report.html")).unwrap();
    assert!(
        html.contains(r#"<html lang="ar" dir="rtl">"#),
        "report.html is not in Arabic"
    );
    let (status, _, body) = http_get(http, "/healthz");
    assert_eq!(status, 200, "{body}");
    let (status, ctype, body) = http_get(http, "/login");
    assert_eq!(status, 200, "{body}");
    assert!(ctype.starts_with("text/html"), "{ctype}");
    let (status, _, _) = http_get(http, "/api/overview");
    assert_eq!(status, 401, "the data needs a login");
    // Ctrl-C: it stops and says whether every proof passed (exit 0).
    assert!(
        std::process::Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The security services keep the watchlist from the command line: a plate (matched also by
/// its look-alikes) or a tag, REFER or DENY, an expiry in Amman time; listed with the zones
/// that hold it; removed. A company may not touch it, nor see it in `zones list`.
#[tokio::test]
async fn the_watchlist_is_kept_from_the_command_line() {
    let dir = TestDir::new();
    let sched = start_test_scheduler(&dir);
    let security = Cli {
        addr: sched.url(),
        token: token(dir.data(), "security", None, None),
    };
    let company = Cli {
        addr: sched.url(),
        token: company_token(dir.data(), "acme"),
    };
    let empty = security.nothing(&["watch", "list"]);
    assert!(empty.contains("the watchlist is empty"), "{empty}");
    let until = amman_local(hours_ahead(48));
    let added = security.ok(&[
        "watch",
        "add",
        "--plate",
        "60-12345",
        "--reason",
        "stolen truck",
        "--deny",
        "--until",
        &until,
    ]);
    assert!(
        added.starts_with("watch plate=6012345 action=DENY until=")
            && added.contains("+03:00")
            && added.contains("zones=act,siz")
            && added.contains("reason=\"stolen truck\""),
        "{added}"
    );
    security.ok(&[
        "watch",
        "add",
        "--tag",
        "E2000017221101441890ABCD",
        "--reason",
        "cloned tag",
        "--zone",
        "act",
    ]);
    let listed = security.ok(&["watch", "list"]);
    assert_eq!(listed.lines().count(), 2, "{listed}");
    let table = security.ok(&["watch", "list", "--output", "table"]);
    assert!(
        table.starts_with("PLATE") && table.lines().count() == 3,
        "{table}"
    );
    assert!(
        listed.contains("tag=E2000017221101441890ABCD action=REFER until removed"),
        "{listed}"
    );
    let err = security.refused(&["watch", "add", "--plate", "60-54321", "--reason", " "]);
    assert!(
        err.contains("INVALID_ARGUMENT") && err.contains("reason"),
        "{err}"
    );
    let err = company.refused(&["watch", "list"]);
    assert!(err.contains("PERMISSION_DENIED"), "{err}");
    // A company's zone listing carries no watchlist (nothing there tells who is watched).
    let zones = company.ok(&["zones", "list"]);
    assert!(!zones.contains("6012345"), "{zones}");
    let removed = security.ok(&["watch", "remove", "--plate", "60-12345"]);
    assert_eq!(removed.trim(), "removed from act,siz");
    let err = security.refused(&["watch", "remove", "--plate", "60-12345"]);
    assert!(err.contains("NOT_FOUND"), "{err}");
}

/// The authority changes capacity from the command line without resetting what it did not
/// name: some hours of some weekdays, a one-off for an inspection campaign; a cut below the
/// bookings names the window and how far over it would be, and is made only with --confirm.
#[tokio::test]
async fn capacity_is_changed_in_part_and_a_cut_below_the_bookings_asks_first() {
    let dir = TestDir::new();
    let sched = start_test_scheduler(&dir);
    let company = Cli {
        addr: sched.url(),
        token: company_token(dir.data(), "acme"),
    };
    let authority = Cli {
        addr: sched.url(),
        token: authority_token(dir.data()),
    };
    let w = hours_ahead(4);
    company.book_act("60-12345", w);
    company.book_act("60-12346", w);
    let hours = authority.ok(&[
        "zones",
        "capacity",
        "act",
        "--days",
        "fri",
        "--hours",
        "6-8",
        "--capacity",
        "4",
    ]);
    assert!(hours.starts_with("act slot=60min"), "{hours}");
    let (from, to) = (amman_local(w), amman_local(w + TimeDelta::hours(1)));
    let args = [
        "zones",
        "capacity",
        "act",
        "--from",
        &from,
        "--to",
        &to,
        "--capacity",
        "1",
        "--reason",
        "inspection campaign",
    ];
    let err = authority.refused(&args);
    assert!(
        err.contains("FAILED_PRECONDITION")
            && err.contains("2 booked of 1 (1 over)")
            && err.contains("+03:00")
            && err.contains("confirm"),
        "{err}"
    );
    assert!(
        !authority
            .ok(&["zones", "list"])
            .contains("inspection campaign")
    );
    let mut confirmed = args.to_vec();
    confirmed.push("--confirm");
    let done = authority.ok(&confirmed);
    assert!(
        done.contains("capacity 1 zone=act from=")
            && done.contains("capacity=1 reason=\"inspection campaign\""),
        "{done}"
    );
    let err = company.refused(&["zones", "clear-capacity", "act", "1"]);
    assert!(err.contains("PERMISSION_DENIED"), "{err}");
    let cleared = authority.ok(&["zones", "clear-capacity", "act", "1"]);
    assert!(
        cleared.starts_with("capacity 1 of act removed"),
        "{cleared}"
    );
    assert!(!cleared.contains("inspection campaign"), "{cleared}");
}

/// README's form of the growth benchmark runs (here with small sizes); one size alone is
/// refused saying what the flag takes.
#[test]
fn the_growth_benchmark_takes_two_sizes_as_readme_writes_them() {
    let ran = run_bawaba([
        "bench",
        "booking",
        "--growth",
        "10,200",
        "--seconds",
        "1",
        "--clients",
        "2",
    ]);
    assert!(ran.status.success(), "{}", output_text(&ran));
    let stdout = String::from_utf8_lossy(&ran.stdout);
    assert!(
        stdout.contains("growth 10 → 200 preloaded bookings"),
        "{stdout}"
    );
    let one = run_bawaba(["bench", "booking", "--growth", "10"]);
    assert_eq!(one.status.code(), Some(1), "{}", output_text(&one));
    let stderr = String::from_utf8_lossy(&one.stderr);
    assert!(
        stderr.contains("--growth takes two preload sizes"),
        "{stderr}"
    );
}

/// A company keeps its fleet from the command line: a truck with its driver's number as
/// dialled in Jordan is kept in international form; another company's fleet stays apart; an
/// empty fleet lists nothing and exits 3; a bad number is refused naming the field.
#[tokio::test]
async fn a_company_keeps_its_fleet_from_the_command_line() {
    let dir = TestDir::new();
    let sched = start_test_scheduler(&dir);
    let acme = Cli {
        addr: sched.url(),
        token: company_token(dir.data(), "acme"),
    };
    let zeta = Cli {
        addr: sched.url(),
        token: company_token(dir.data(), "zeta"),
    };
    let added = acme.ok(&[
        "fleet",
        "add",
        "--plate",
        "٦٠-١٢٣٤٥",
        "--driver",
        "علي حسن",
        "--phone",
        "079 123 4567",
    ]);
    assert!(
        added.starts_with("truck 6012345 company=acme")
            && added.contains("phone=+962791234567")
            && added.contains("علي حسن"),
        "{added}"
    );
    assert!(acme.ok(&["fleet", "list"]).contains("truck 6012345"));
    let json = acme.ok(&["fleet", "list", "--output", "json"]);
    let fleet: serde_json::Value = serde_json::from_str(&json).expect(&json);
    assert_eq!(fleet[0]["phone"], "+962791234567", "{json}");
    assert_eq!(fleet[0]["tag"], serde_json::Value::Null, "{json}");
    let theirs = zeta.run(&["fleet", "list"]);
    assert_eq!(theirs.status.code(), Some(3), "{}", output_text(&theirs));
    let texts = acme.run(&["fleet", "texts"]);
    assert_eq!(texts.status.code(), Some(3), "{}", output_text(&texts));
    assert!(output_text(&texts).contains("no SMS texted yet"));
    let bad = acme.refused(&["fleet", "add", "--plate", "60-1", "--phone", "call me"]);
    assert!(
        bad.contains("INVALID_ARGUMENT") && bad.contains("truck.driver_phone"),
        "{bad}"
    );
    let long = "x".repeat(101);
    let bad = acme.refused(&["fleet", "add", "--plate", "60-1", "--driver", &long]);
    assert!(bad.contains("truck.driver_name"), "{bad}");
    acme.ok(&["fleet", "remove", "--plate", "60-12345"]);
    let gone = acme.refused(&["fleet", "remove", "--plate", "60-12345"]);
    assert!(gone.contains("NOT_FOUND"), "{gone}");
}

/// A company sets its webhook from the command line: the secret made is printed once; `show`
/// answers in text or JSON; no delivery yet lists nothing (exit 3); another company does not
/// see it; `remove` takes it away.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_company_sets_its_webhook_from_the_command_line() {
    let dir = TestDir::new();
    let sched = start_test_scheduler(&dir);
    let acme = Cli {
        addr: sched.url(),
        token: company_token(dir.data(), "acme"),
    };
    let zeta = Cli {
        addr: sched.url(),
        token: company_token(dir.data(), "zeta"),
    };
    let set = acme.ok(&["webhook", "set", "--url", "https://tms.acme.jo/bawaba"]);
    assert!(
        set.starts_with("company=acme url=https://tms.acme.jo/bawaba")
            && set.contains("secret=whsec_"),
        "{set}"
    );
    let json = acme.ok(&["webhook", "show", "--output", "json"]);
    let shown: serde_json::Value = serde_json::from_str(&json).expect(&json);
    assert_eq!(shown["url"], "https://tms.acme.jo/bawaba", "{json}");
    assert_eq!(shown["failing"], serde_json::Value::Null, "{json}");
    assert!(
        shown["set_at"].as_str().unwrap().ends_with("+03:00"),
        "{json}"
    );
    assert!(!json.contains("whsec_"), "never the secret again: {json}");
    acme.nothing(&["webhook", "deliveries"]);
    let theirs = zeta.refused(&["webhook", "show"]);
    assert!(theirs.contains("NOT_FOUND"), "{theirs}");
    acme.ok(&["webhook", "remove"]);
    assert!(acme.refused(&["webhook", "show"]).contains("NOT_FOUND"));
}

/// The authority keeps a company's portal accounts from the command line: a first password
/// made and printed once (text and JSON), the list, disable and enable; a company's own token
/// may not; a company without accounts lists nothing (exit 3).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_authority_keeps_portal_accounts_from_the_command_line() {
    let dir = TestDir::new();
    let sched = start_test_scheduler(&dir);
    let authority = Cli {
        addr: sched.url(),
        token: authority_token(dir.data()),
    };
    let acme = Cli {
        addr: sched.url(),
        token: company_token(dir.data(), "acme"),
    };
    let made = authority.ok(&[
        "account",
        "create",
        "--company",
        "acme",
        "--login",
        "Ahmad.Acme",
        "--name",
        "أحمد",
        "--admin",
    ]);
    assert!(
        made.starts_with("account ahmad.acme company=acme") && made.contains("admin=true"),
        "{made}"
    );
    let password = made
        .rsplit("first password (shown once): ")
        .next()
        .unwrap()
        .trim();
    assert_eq!(password.len(), 19, "{made}");
    let json = authority.ok(&[
        "account",
        "create",
        "--company",
        "acme",
        "--login",
        "omar",
        "--name",
        "Omar",
        "--output",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&json).expect(&json);
    assert_eq!(
        (v["login"].as_str(), v["admin"].as_bool()),
        (Some("omar"), Some(false))
    );
    assert_eq!(v["password"].as_str().map(str::len), Some(19), "{json}");
    authority.ok(&["account", "disable", "--company", "acme", "--login", "omar"]);
    let listed = authority.ok(&["account", "list", "--company", "acme", "--output", "json"]);
    let all: serde_json::Value = serde_json::from_str(&listed).expect(&listed);
    assert_eq!(all[1]["disabled"], true, "{listed}");
    authority.ok(&["account", "enable", "--company", "acme", "--login", "omar"]);
    let refused = acme.refused(&["account", "list"]);
    assert!(refused.contains("PERMISSION_DENIED"), "{refused}");
    authority.nothing(&["account", "list", "--company", "zeta"]);
    let taken = authority.refused(&[
        "account",
        "create",
        "--company",
        "zeta",
        "--login",
        "omar",
        "--name",
        "Omar",
    ]);
    assert!(taken.contains("taken"), "{taken}");
}
