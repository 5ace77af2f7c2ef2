//! The web dashboard in a real browser: the real `bawaba scheduler --http` process with real
//! bookings and passages reported over gRPC (as a gate agent does), headless Chromium driven
//! through chromedriver (Debian packages `chromium` and `chromium-driver`) with fantoccini.
//! Screenshots are kept in `target/test-artifacts/dashboard/`.

#![allow(clippy::unwrap_used)] // test code: a failed setup is a failed test

mod browser;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bawaba_domain::ids::PassageId;
use bawaba_e2e::{Scheduler, TestDir, free_addr, token, ts};
use bawaba_grpc::client::{BearerToken, channel};
use bawaba_grpc::pb;
use browser::{browser, cells, chromedriver, login, path, text, wait_for};
use chrono::{DateTime, TimeDelta, Utc};
use fantoccini::key::Key;
use fantoccini::{Client, Locator};

const TEST: &str = "dashboard";

async fn screenshot(c: &Client, name: &str) {
    browser::screenshot(c, TEST, name).await;
}

/// One zone whose next window can be entered now, and its gate.
const CONFIG: &str = r#"
[[zones]]
id = "act"
name = "Aqaba Container Terminal"
slot_minutes = 60
capacity = 20

[zones.rules]
booking_cutoff_minutes = 0
early_grace_minutes = 120
company_cap_percent = 100
require_containers = false

[[zones]]
id = "siz"
name = "Southern Industrial Zone"
slot_minutes = 30
capacity = 5

[[gates]]
id = "act-north"
zone = "act"
name = "ACT North Gate"
lanes = [{ id = "in-1", direction = "in" }, { id = "out-1", direction = "out" }]
"#;

fn passage(
    id: PassageId,
    lane: &str,
    plate: &str,
    at: DateTime<Utc>,
    verdict: pb::Verdict,
    reasons: &[pb::Reason],
    booking: &str,
) -> pb::Passage {
    let out = lane.starts_with("out");
    pb::Passage {
        event_id: id.to_string(),
        zone_id: "act".into(),
        gate_id: "act-north".into(),
        lane_id: lane.into(),
        direction: if out {
            pb::LaneDirection::Out
        } else {
            pb::LaneDirection::In
        } as i32,
        first_read_at: Some(ts(at - TimeDelta::milliseconds(300))),
        last_read_at: Some(ts(at - TimeDelta::milliseconds(4))),
        decided_at: Some(ts(at)),
        plate: plate.into(),
        confidence: Some(93),
        rfid_epc: String::new(),
        verdict: verdict as i32,
        reasons: reasons.iter().map(|r| *r as i32).collect(),
        booking_id: booking.into(),
        offline: false,
    }
}

async fn report(addr: SocketAddr, gate_token: &str, passages: Vec<pb::Passage>) {
    let mut g = pb::gate_service_client::GateServiceClient::with_interceptor(
        channel(&format!("http://{addr}"), None).await.unwrap(),
        BearerToken::new(Some(gate_token)).unwrap(),
    );
    g.report_passages(pb::ReportPassagesRequest {
        passages,
        ..Default::default()
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_in_a_real_browser() {
    let started = Instant::now();
    let dir = TestDir::new();
    let http = free_addr();
    let http_arg = http.to_string();
    let scheduler = Scheduler::start(dir.data(), Some(CONFIG), &["--http", &http_arg]);
    let addr = scheduler.addr();
    let base = format!("http://{http}");
    let authority = token(dir.data(), "authority", None, None);
    let operator = token(dir.data(), "operator", None, Some("act"));
    let company = token(dir.data(), "company", Some("acme"), None);
    let gate = token(dir.data(), "gate", None, Some("act"));

    // Three bookings of acme in the next window of act.
    let now = Utc::now();
    let window = bawaba_e2e::hour_start(now, 1);
    let mut c = scheduler.clients(&company).await;
    let mut ids = Vec::new();
    for n in 1..=3 {
        let b = c
            .bookings
            .create_booking(bawaba_e2e::create_req(
                &bawaba_e2e::unique_key("dash"),
                &format!("60-1000{n}"),
                vec![bawaba_e2e::cargo_stop("act", window)],
            ))
            .await
            .unwrap()
            .into_inner()
            .booking
            .unwrap();
        ids.push(b.booking_id);
    }

    // The gate reports: truck 1 in and out (an 8-minute visit), truck 2 in, truck 3
    // referred (plate and tag disagree). Times stay within today's local day.
    let day_start = bawaba_web::agg::Day::containing(now).start;
    let t_in = (now - TimeDelta::minutes(10)).max(day_start + TimeDelta::seconds(1));
    let t_out = t_in + TimeDelta::minutes(8);
    let id = |t: DateTime<Utc>, n: u128| PassageId::new(t, n);
    let refer_id = id(t_in + TimeDelta::minutes(2), 3);
    report(
        addr,
        &gate,
        vec![
            passage(
                id(t_in, 1),
                "in-1",
                "6010001",
                t_in,
                pb::Verdict::Allow,
                &[pb::Reason::BookingValid],
                &ids[0],
            ),
            passage(
                id(t_in + TimeDelta::minutes(1), 2),
                "in-1",
                "6010002",
                t_in + TimeDelta::minutes(1),
                pb::Verdict::Allow,
                &[pb::Reason::BookingValid],
                &ids[1],
            ),
            passage(
                refer_id,
                "in-1",
                "6010003",
                t_in + TimeDelta::minutes(2),
                pb::Verdict::Refer,
                &[pb::Reason::PlateTagMismatch],
                &ids[2],
            ),
            passage(
                id(t_out, 4),
                "out-1",
                "6010001",
                t_out,
                pb::Verdict::Allow,
                &[pb::Reason::ExitRecorded],
                &ids[0],
            ),
        ],
    )
    .await;

    // A gate agent listening for commands.
    let mut gates = pb::gate_service_client::GateServiceClient::with_interceptor(
        channel(&format!("http://{addr}"), None).await.unwrap(),
        BearerToken::new(Some(&gate)).unwrap(),
    );
    let mut commands = gates
        .gate_commands(pb::GateCommandsRequest {
            gate_id: "act-north".into(),
        })
        .await
        .unwrap()
        .into_inner();

    let (_driver, port) = chromedriver();
    let b = browser(port).await;

    // Without a session: the login page. A gate's token is refused; a company's opens the
    // portal, not the authority's page.
    b.goto(&format!("{base}/authority")).await.unwrap();
    assert_eq!(path(&b).await, "/login");
    login(&b, &base, &gate).await;
    let refused = wait_for(&b, "#login-error").await.text().await.unwrap();
    assert!(refused.contains("may not sign in here"), "{refused}");
    login(&b, &base, &company).await;
    wait_for(&b, "#bookings").await;
    assert_eq!(path(&b).await, "/portal");
    b.goto(&format!("{base}/authority")).await.unwrap();
    assert!(
        wait_for(&b, "#forbidden")
            .await
            .is_displayed()
            .await
            .unwrap()
    );

    // The authority sees the real figures.
    login(&b, &base, &authority).await;
    wait_for(&b, "#feed-card").await;
    assert_eq!(path(&b).await, "/authority");
    assert_eq!(text(&b, "#kpi-entries").await, "2");
    assert_eq!(text(&b, "#kpi-exits").await, "1");
    assert_eq!(text(&b, "#kpi-open").await, "1");
    assert_eq!(text(&b, "#kpi-inside").await, "1");
    assert_eq!(
        cells(&b, r#"#gates-table tr[data-gate="act-north"] td.num"#).await,
        ["2", "1"],
        "act-north: 2 in, 1 out"
    );
    let turn = text(&b, "#turn-times tr.all").await;
    assert!(turn.contains("8.0"), "an 8-minute visit: {turn}");
    // The bookings' window is in the next hour: the day after, just before midnight.
    let window_day = bawaba_web::agg::Day::containing(window).date;
    if window_day != bawaba_web::agg::Day::containing(now).date {
        b.goto(&format!("{base}/authority?day={window_day}"))
            .await
            .unwrap();
        wait_for(&b, "#slots").await;
    }
    assert_eq!(
        cells(&b, r#"#companies tr[data-company="acme"] td.num"#).await,
        ["3", "2", "0", "0", "0", "0"],
        "acme: 3 bookings, 2 arrived"
    );
    let booked: Vec<_> = b
        .find_all(Locator::Css(r#"#slots-heatmap rect[data-booked="3"]"#))
        .await
        .unwrap();
    assert_eq!(booked.len(), 1, "one window of act holds the 3 bookings");
    b.goto(&format!("{base}/authority")).await.unwrap();
    wait_for(&b, "#feed-card").await;
    assert_eq!(
        b.find_all(Locator::Css("#feed tr")).await.unwrap().len(),
        4,
        "the feed shows the 4 passages"
    );
    screenshot(&b, "01-authority").await;

    // The live feed: a new passage appears without reloading.
    b.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#feed-status.on"))
        .await
        .unwrap();
    // Its id sorts after the earlier passages (the exit may lie after `now` in the first
    // minutes of a local day): the feed follows passage ids.
    let fresh = PassageId::new(Utc::now().max(t_out + TimeDelta::seconds(1)), 5);
    report(
        addr,
        &gate,
        vec![passage(
            fresh,
            "in-1",
            "6099999",
            Utc::now(),
            pb::Verdict::Deny,
            &[pb::Reason::NoBooking],
            "",
        )],
    )
    .await;
    let row = wait_for(&b, &format!(r#"#feed tr[data-id="{fresh}"]"#)).await;
    let row_text = row.text().await.unwrap();
    // Codes are shown as words, the code in a tooltip.
    assert!(
        row_text.contains("6099999")
            && row_text.contains("denied")
            && row_text.contains("no booking")
            && row_text.contains("4.0 ms"),
        "{row_text}"
    );
    wait_for(
        &b,
        &format!(r#"#feed tr[data-id="{fresh}"] span[title="NO_BOOKING"]"#),
    )
    .await;
    let first = b.find(Locator::Css("#feed tr")).await.unwrap();
    assert_eq!(
        first.attr("data-id").await.unwrap().as_deref(),
        Some(fresh.to_string().as_str()),
        "newest first"
    );
    screenshot(&b, "02-live-feed").await;

    // A truck turned away for the security watchlist is raised above the live feed, its row
    // marked (a DENY entry: no referral, so the operator's count below stays).
    let watched = PassageId::new(Utc::now().max(t_out + TimeDelta::seconds(2)), 6);
    report(
        addr,
        &gate,
        vec![passage(
            watched,
            "in-1",
            "6077777",
            Utc::now(),
            pb::Verdict::Deny,
            &[pb::Reason::Watchlist, pb::Reason::NoBooking],
            "",
        )],
    )
    .await;
    let row = wait_for(&b, &format!(r#"#feed tr[data-id="{watched}"].watch"#)).await;
    assert!(
        row.text()
            .await
            .unwrap()
            .contains("on the security watchlist")
    );
    let banner = wait_for(&b, "#watch-alert:not([hidden])").await;
    let banner_text = banner.text().await.unwrap();
    assert!(
        banner_text.contains("On the security watchlist") && banner_text.contains("6077777"),
        "{banner_text}"
    );
    screenshot(&b, "02b-watchlist-raised").await;

    // Arabic, right to left, remembered.
    b.find(Locator::Id("lang-toggle"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(&b, r#"html[dir="rtl"]"#).await;
    b.goto(&format!("{base}/authority")).await.unwrap();
    let html = wait_for(&b, "html").await;
    assert_eq!(html.attr("dir").await.unwrap().as_deref(), Some("rtl"));
    assert_eq!(html.attr("lang").await.unwrap().as_deref(), Some("ar"));
    assert_eq!(text(&b, "h1").await, "سلطة الميناء");
    let direction = b
        .execute("return getComputedStyle(document.body).direction", vec![])
        .await
        .unwrap();
    assert_eq!(direction, serde_json::json!("rtl"));
    screenshot(&b, "03-arabic-rtl").await;
    // Closing a zone from the page, in Arabic: the form filled in the browser, then the
    // bookings the closure would hit before anything is closed.
    b.find(Locator::Id("close-zone"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(&b, "#close-form").await;
    let soon = (Utc::now() + TimeDelta::hours(2))
        .with_timezone(&chrono::FixedOffset::east_opt(3 * 3600).unwrap());
    let field = |t: chrono::DateTime<chrono::FixedOffset>| t.format("%Y-%m-%dT%H:%M").to_string();
    for (id, value) in [
        ("from", field(soon)),
        ("to", field(soon + TimeDelta::hours(1))),
        ("reason", "تحذير من السيول".to_owned()),
    ] {
        // datetime-local inputs take their value through script in every locale.
        b.execute(
            "document.getElementById(arguments[0]).value = arguments[1];",
            vec![serde_json::json!(id), serde_json::json!(value)],
        )
        .await
        .unwrap();
    }
    b.find(Locator::Id("preview"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(&b, "#impact").await;
    wait_for(&b, "#confirm-close").await;
    screenshot(&b, "03b-close-zone-impact-ar").await;
    b.goto(&format!("{base}/authority?lang=en")).await.unwrap();
    wait_for(&b, r#"html[dir="ltr"]"#).await;

    // The operator of act: not the authority view; approves the referral.
    b.find(Locator::Id("logout"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(&b, "#login-form").await;
    login(&b, &base, &operator).await;
    wait_for(&b, "#open-count").await;
    assert_eq!(path(&b).await, "/operator");
    assert_eq!(text(&b, "#open-count").await, "1");
    let evidence = text(&b, &format!("#ref-{refer_id}")).await;
    assert!(
        evidence.contains("6010003")
            && evidence.contains("plate and tag disagree")
            && evidence.contains("acme"),
        "{evidence}"
    );
    b.goto(&format!("{base}/authority")).await.unwrap();
    wait_for(&b, "#forbidden").await;
    b.goto(&format!("{base}/operator")).await.unwrap();
    // From the keyboard: "/" to the first reason; Enter alone decides nothing; Ctrl+Enter
    // approves.
    wait_for(&b, "#desk-keys").await;
    b.find(Locator::Css("body"))
        .await
        .unwrap()
        .send_keys("/")
        .await
        .unwrap();
    let reason = b.active_element().await.unwrap();
    assert_eq!(
        reason.attr("id").await.unwrap(),
        Some(format!("reason-{refer_id}")),
        "/ puts the cursor in the first referral's reason"
    );
    reason
        .send_keys("tag replaced yesterday, plate checked")
        .await
        .unwrap();
    reason.send_keys(&Key::Enter.to_string()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(text(&b, "#open-count").await, "1", "Enter alone decided");
    reason
        .send_keys(&(Key::Control + &Key::Enter))
        .await
        .unwrap();
    let flash = wait_for(&b, "#flash").await;
    assert_eq!(
        flash.attr("data-done").await.unwrap(),
        Some(format!("{refer_id}-approved"))
    );
    assert!(
        flash.text().await.unwrap().contains("barrier command sent"),
        "the gate's agent was listening"
    );
    assert_eq!(text(&b, "#open-count").await, "0");
    screenshot(&b, "04-operator-approved").await;

    // A new referral at act reaches the operator's desk without a reload, announced.
    let arriving = PassageId::new(Utc::now().max(t_out + TimeDelta::seconds(3)), 7);
    report(
        addr,
        &gate,
        vec![passage(
            arriving,
            "in-1",
            "6055555",
            Utc::now(),
            pb::Verdict::Refer,
            &[pb::Reason::LowConfidence],
            "",
        )],
    )
    .await;
    wait_for(&b, &format!("#ref-{arriving}")).await;
    let alert = wait_for(&b, "#referral-alert:not([hidden])").await;
    assert!(alert.text().await.unwrap().contains("6055555"));
    assert_eq!(text(&b, "#open-count").await, "1");
    assert_eq!(
        b.find_all(Locator::Css("#flash")).await.unwrap().len(),
        1,
        "the page was not reloaded (the approval's notice is still there)"
    );
    screenshot(&b, "04b-operator-new-referral").await;

    // The operator finds the truck by its plate from the desk, then reads it in Arabic.
    wait_for(&b, "#q")
        .await
        .send_keys("60-55555")
        .await
        .unwrap();
    b.find(Locator::Id("search-go"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(&b, "#search-passages").await;
    assert_eq!(path(&b).await, "/operator/search");
    let found = text(&b, "#search-passages").await;
    assert!(found.contains("6055555"), "{found}");
    b.goto(&format!("{base}/operator/search?q=6055555&lang=ar"))
        .await
        .unwrap();
    let found = text(&b, "#search-passages").await;
    assert!(
        found.contains("6055555") && found.contains("أُحيل"),
        "{found}"
    );
    screenshot(&b, "04c-operator-search-ar").await;
    b.goto(&format!("{base}/operator?lang=en")).await.unwrap();

    // Through gRPC: resolved, with the reason and the operator; the gate got the pulse.
    let mut ops = pb::operator_service_client::OperatorServiceClient::with_interceptor(
        channel(&format!("http://{addr}"), None).await.unwrap(),
        BearerToken::new(Some(&operator)).unwrap(),
    );
    let all = ops
        .list_referrals(pb::ListReferralsRequest {
            zone_id: String::new(),
            include_resolved: true,
        })
        .await
        .unwrap()
        .into_inner()
        .referrals;
    let r = all
        .iter()
        .find(|r| {
            r.passage
                .as_ref()
                .is_some_and(|p| p.event_id == refer_id.to_string())
        })
        .unwrap();
    assert_eq!(r.state, pb::ReferralState::Approved as i32, "{r:?}");
    assert_eq!(r.resolution, "tag replaced yesterday, plate checked");
    let command = tokio::time::timeout(Duration::from_secs(5), commands.message())
        .await
        .expect("a gate command within 5 s")
        .unwrap()
        .expect("the command stream is open");
    match command.command {
        Some(pb::gate_command::Command::PulseBarrier(p)) => {
            assert_eq!(p.event_id, refer_id.to_string());
            assert_eq!(p.lane_id, "in-1");
        }
        other => panic!("expected a barrier pulse, got {other:?}"),
    }

    layouts(&b, &base, &authority).await;
    b.close().await.unwrap();
    drop(scheduler);
    eprintln!("dashboard browser test took {:?}", started.elapsed());
}

/// Every desk in both languages at a phone's width and a desktop's: nothing spills out of its
/// box, the page never scrolls sideways, each evidence label sits on its value's row, and
/// the Arabic pages show no raw code. Screenshots of each are kept.
async fn layouts(b: &Client, base: &str, authority: &str) {
    login(b, base, authority).await;
    wait_for(b, "#feed-card").await;
    let pages = [
        ("authority", "/authority"),
        ("operator", "/operator"),
        ("search", "/operator/search?q=6055555"),
        ("decisions", "/operator/decisions?who=all"),
        ("audit", "/authority/audit"),
        ("passages", "/authority/passages"),
        ("capacity", "/authority/capacity"),
        ("close", "/authority/closures/new"),
        ("watchlist", "/security"),
        ("accounts", "/authority/accounts?company=acme"),
    ];
    let wrong = browser::layout_problems(b, base, TEST, &pages).await;
    assert!(wrong.is_empty(), "layout problems:\n{}", wrong.join("\n"));
}
