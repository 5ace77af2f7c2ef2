//! The dashboard's routes over a real sled store and token book, through axum's Router as a
//! tower service (no network): who may see what, the operator's zone, resolving a referral
//! through the shared code path, languages, and bad parameters.

#![allow(clippy::unwrap_used)] // test code: a failed setup is a failed test

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use bawaba_app::{App, Clock};
use bawaba_domain::access::{Principal, Role};
use bawaba_domain::calendar::{SlotLength, TransactionType, WindowCapacity, ZoneConfig};
use bawaba_domain::ids::{CompanyId, GateId, LaneId, PassageId, ZoneId};
use bawaba_domain::ledger::{Actor, Direction, Gate, Lane, NewBooking, Stop};
use bawaba_domain::passage::{Passage, Reason, Verdict};
use bawaba_store::{Setup, SledStore, Store, TokenBook};
use bawaba_web::Dashboard;
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use tower::ServiceExt;

#[derive(Debug)]
struct Fixed(DateTime<Utc>);

impl Clock for Fixed {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }

    /// This clock stands still: instants after it never come.
    fn sleep_until(&self, t: DateTime<Utc>) -> bawaba_app::clock::Sleep {
        if t <= self.0 {
            Box::pin(std::future::ready(()))
        } else {
            Box::pin(std::future::pending())
        }
    }
}

struct Bed {
    _dir: tempfile::TempDir,
    /// Live feeds end when this goes.
    _stop: tokio::sync::watch::Sender<bool>,
    app: Router,
    store: Arc<SledStore>,
    authority: String,
    operator_act: String,
    operator_siz: String,
    company: String,
    gate: String,
    alerts: String,
    security: String,
    refer_act: PassageId,
    refer_siz: PassageId,
    now: DateTime<Utc>,
}

/// Zone `id`, named `ID` in English; `act` also in Arabic.
fn zone(id: &str) -> ZoneConfig {
    let mut z = ZoneConfig::new(
        ZoneId::parse(id).unwrap(),
        id.to_uppercase(),
        SlotLength::from_minutes(60).unwrap(),
        WindowCapacity::uniform(10),
    );
    if id == "act" {
        z.name_ar = "محطة الحاويات".into();
    }
    z
}

fn passage(n: u128, zone: &str, gate: &str, at: DateTime<Utc>, verdict: Verdict) -> Passage {
    Passage {
        id: PassageId::new(at, n),
        zone: ZoneId::parse(zone).unwrap(),
        gate: GateId::parse(gate).unwrap(),
        lane: LaneId::parse("in-1").unwrap(),
        direction: Direction::In,
        first_read_at: at - TimeDelta::milliseconds(100),
        last_read_at: at - TimeDelta::milliseconds(5),
        decided_at: at,
        plate: Some(bawaba_domain::plate::Plate::parse("60-12345").unwrap()),
        confidence: Some(55),
        epc: None,
        verdict,
        reasons: vec![if verdict == Verdict::Refer {
            Reason::LowConfidence
        } else {
            Reason::NoBooking
        }],
        booking: None,
        offline: false,
    }
}

/// Both zones take alerts over the container terminal's outline; `siz` wants them confirmed,
/// `act` rebooks what its closures hit.
fn alert_zones() -> Vec<bawaba_app::AlertSetting> {
    let outline = bawaba_cap::Outline::new(&[
        (29.455, 34.968),
        (29.455, 34.982),
        (29.428, 34.985),
        (29.428, 34.970),
    ])
    .unwrap();
    ["act", "siz"]
        .into_iter()
        .map(|z| bawaba_app::AlertSetting {
            takes: bawaba_cap::AlertZone {
                zone: z.into(),
                outline: outline.clone(),
                min_severity: bawaba_cap::Severity::Severe,
                min_urgency: bawaba_cap::Urgency::Expected,
                confirm: z == "siz",
            },
            policy: if z == "act" {
                bawaba_domain::calendar::ClosurePolicy::Rebook
            } else {
                bawaba_domain::calendar::ClosurePolicy::Notify
            },
        })
        .collect()
}

async fn bed() -> Bed {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SledStore::open(&dir.path().join("data")).unwrap());
    let now = DateTime::parse_from_rfc3339("2026-11-26T09:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    for z in ["act", "siz"] {
        store.upsert_zone(zone(z)).await.unwrap();
        store
            .upsert_gate(Gate {
                id: GateId::parse(&format!("{z}-gate")).unwrap(),
                zone: ZoneId::parse(z).unwrap(),
                name: format!("{z} gate"),
                lanes: vec![Lane {
                    id: LaneId::parse("in-1").unwrap(),
                    direction: Direction::In,
                }],
                name_ar: if z == "act" {
                    "بوابة المحطة".into()
                } else {
                    String::new()
                },
            })
            .await
            .unwrap();
    }
    let at = now - TimeDelta::minutes(5);
    let refer_act = passage(1, "act", "act-gate", at, Verdict::Refer);
    let refer_siz = passage(2, "siz", "siz-gate", at, Verdict::Refer);
    let deny = passage(3, "act", "act-gate", at, Verdict::Deny);
    let (refer_act_id, refer_siz_id) = (refer_act.id, refer_siz.id);
    store
        .report_passages(vec![refer_act, refer_siz, deny])
        .await
        .unwrap();
    let tokens = Arc::new(TokenBook::new(dir.path()));
    let issue = |role, company: Option<&str>, zone: Option<&str>| {
        let p = Principal::new(
            role,
            company.map(|c| CompanyId::parse(c).unwrap()),
            zone.map(|z| ZoneId::parse(z).unwrap()),
        )
        .unwrap();
        tokens.issue(&p, None, now).unwrap()
    };
    let authority = issue(Role::Authority, None, None);
    let operator_act = issue(Role::Operator, None, Some("act"));
    let operator_siz = issue(Role::Operator, None, Some("siz"));
    let company = issue(Role::Company, Some("acme"), None);
    let gate = issue(Role::Gate, None, Some("act"));
    let alerts = issue(Role::Alerts, None, None);
    let security = issue(Role::Security, None, None);
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let app = bawaba_web::router(
        Dashboard {
            app: App::new(Arc::clone(&store), tokens, Arc::new(Fixed(now)))
                .with_alert_zones(alert_zones()),
            trusted_proxies: vec!["127.0.0.9".parse().unwrap()],
        },
        stop,
    );
    Bed {
        _dir: dir,
        _stop: stop_tx,
        app,
        store,
        authority,
        operator_act,
        operator_siz,
        company,
        gate,
        alerts,
        security,
        refer_act: refer_act_id,
        refer_siz: refer_siz_id,
        now,
    }
}

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

impl Reply {
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

async fn call(app: &Router, req: Request<Body>) -> Reply {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = axum::body::to_bytes(res.into_body(), 1 << 22)
        .await
        .unwrap();
    Reply {
        status,
        headers,
        body: String::from_utf8(body.to_vec()).unwrap(),
    }
}

async fn get(app: &Router, uri: &str, session: Option<&str>) -> Reply {
    let mut req = Request::get(uri);
    if let Some(t) = session {
        req = req.header(header::COOKIE, format!("bawaba_session={t}"));
    }
    call(app, req.body(Body::empty()).unwrap()).await
}

#[tokio::test]
async fn the_authority_view_is_for_the_authority_only() {
    let b = bed().await;
    let r = get(&b.app, "/authority", None).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers[header::LOCATION], "/login");
    for t in [&b.company, &b.operator_act, &b.gate] {
        let r = get(&b.app, "/authority", Some(t)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert!(r.body.contains(r#"id="forbidden""#));
        assert!(!r.body.contains("kpi-entries"), "nothing of the view leaks");
    }
    let r = get(&b.app, "/authority", Some(&b.authority)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains(r#"<html lang="en" dir="ltr">"#));
    assert!(r.body.contains(r#"id="kpi-open">2<"#), "two open referrals");
    assert!(
        r.headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'self'")
    );
    assert!(
        !r.body.contains("http://") && !r.body.contains("https://"),
        "nothing from elsewhere"
    );
}

#[tokio::test]
async fn json_endpoints_check_the_role() {
    let b = bed().await;
    for uri in [
        "/api/throughput",
        "/api/slots?day=2026-11-26",
        "/api/turn-times",
        "/api/companies",
        "/api/closures",
        "/api/queue",
        "/api/overview",
    ] {
        assert_eq!(
            get(&b.app, uri, None).await.status,
            StatusCode::UNAUTHORIZED,
            "{uri}"
        );
        for t in [&b.company, &b.gate, &b.operator_act] {
            let r = get(&b.app, uri, Some(t)).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{uri}");
            assert!(r.json()["error"].as_str().unwrap().contains("may not"));
        }
        let r = get(&b.app, uri, Some(&b.authority)).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.body);
    }
    // A bearer header works as well as the cookie.
    let r = call(
        &b.app,
        Request::get("/api/queue")
            .header(header::AUTHORIZATION, format!("Bearer {}", b.authority))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let q = r.json();
    assert_eq!(q["open_referrals"], 2);
    assert_eq!(q["zones"][0]["denied_today"], 1);
    // A company token sees no referrals or passages either.
    for uri in ["/api/referrals", "/api/passages", "/api/feed"] {
        assert_eq!(
            get(&b.app, uri, Some(&b.company)).await.status,
            StatusCode::FORBIDDEN
        );
    }
    // Metrics need no login: the scheduler's own registry, in Prometheus' text format.
    let r = get(&b.app, "/metrics", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.headers[header::CONTENT_TYPE],
        bawaba_app::metrics::CONTENT_TYPE
    );
    assert!(r.body.contains("\nbawaba_store_stopped 0\n"), "{}", r.body);
}

#[tokio::test]
async fn an_operator_sees_and_resolves_only_their_zone() {
    let b = bed().await;
    let r = get(&b.app, "/api/referrals", Some(&b.operator_act)).await;
    let open = r.json()["open"].as_array().unwrap().clone();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0]["event_id"], b.refer_act.to_string());
    assert_eq!(open[0]["passage"]["zone"], "act");
    let page = get(&b.app, "/operator", Some(&b.operator_siz)).await;
    assert!(page.body.contains(&b.refer_siz.to_string()));
    assert!(!page.body.contains(&b.refer_act.to_string()));
    let passages = get(&b.app, "/api/passages?limit=10", Some(&b.operator_siz))
        .await
        .json();
    assert!(
        passages["passages"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["zone"] == "siz")
    );

    let resolve = |token: &str, id: PassageId, body: &str| {
        Request::post(format!("/api/referrals/{id}/resolve"))
            .header(header::COOKIE, format!("bawaba_session={token}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_owned()))
            .unwrap()
    };
    // Another zone's referral: refused, and it stays open.
    let r = call(
        &b.app,
        resolve(
            &b.operator_act,
            b.refer_siz,
            r#"{"approve":true,"reason":"x"}"#,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    // A reason is required.
    let r = call(
        &b.app,
        resolve(
            &b.operator_act,
            b.refer_act,
            r#"{"approve":true,"reason":" "}"#,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json()["field"], "reason");
    // Approved through the shared code path: stored with the reason.
    let r = call(
        &b.app,
        resolve(
            &b.operator_act,
            b.refer_act,
            r#"{"approve":true,"reason":"driver known"}"#,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["state"], "APPROVED");
    assert_eq!(
        r.json()["command_delivered"],
        false,
        "no agent listens in this test"
    );
    let stored = b.store.referrals(None, true).await.unwrap();
    let act = stored.iter().find(|x| x.passage.id == b.refer_act).unwrap();
    assert_eq!(act.resolution.as_deref(), Some("driver known"));
    let siz = stored.iter().find(|x| x.passage.id == b.refer_siz).unwrap();
    assert_eq!(siz.state, bawaba_domain::passage::ReferralState::Open);

    // The form path: reject with a reason, redirected back with the outcome.
    let r = call(
        &b.app,
        form_post(
            format!("/operator/referrals/{}", b.refer_siz),
            &b.operator_siz,
            "decision=reject&reason=plate+unreadable",
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let to = r.headers[header::LOCATION].to_str().unwrap().to_owned();
    assert!(
        to.contains(&format!("done={}-rejected", b.refer_siz)),
        "{to}"
    );
    let page = get(&b.app, &to, Some(&b.operator_siz)).await;
    assert!(page.body.contains(r#"id="open-count">0<"#));
    assert!(page.body.contains("plate unreadable"));
    let _ = b.now;
}

/// An operator's decision on the dashboard is in the audit trail: who (the token's label and
/// id), through the dashboard, before and after; the authority reads it on the audit page
/// (both languages) and as JSON, filtered; bad filters name their field.
#[tokio::test]
async fn the_audit_trail_shows_who_decided_through_the_dashboard() {
    let b = bed().await;
    let r = call(
        &b.app,
        form_post(
            format!("/operator/referrals/{}", b.refer_siz),
            &b.operator_siz,
            "decision=reject&reason=plate+unreadable",
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);

    let j = get(
        &b.app,
        "/api/audit?kind=referral.resolved",
        Some(&b.authority),
    )
    .await
    .json();
    let entries = j["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{j}");
    let rec = &entries[0]["record"];
    assert_eq!(rec["who"]["door"], "Web");
    assert_eq!(rec["who"]["role"], "Operator");
    assert_eq!(rec["zone"], "siz");
    assert!(rec["who"]["name"].as_str().unwrap().starts_with("token:"));
    assert!(rec["who"]["token"].as_str().unwrap().len() == 12, "{rec}");
    assert_eq!(rec["objects"][0], format!("referral:{}", b.refer_siz));
    let changes = rec["changes"].as_array().unwrap();
    assert_eq!(changes[0]["field"], "state");
    assert_eq!(
        (changes[0]["before"].as_str(), changes[0]["after"].as_str()),
        (Some("OPEN"), Some("REJECTED"))
    );
    // The set-up (zones and gates from the system) is there too; another zone filters it out.
    let all = get(&b.app, "/api/audit", Some(&b.authority)).await.json();
    assert!(all["entries"].as_array().unwrap().len() >= 5, "{all}");
    let act = get(
        &b.app,
        "/api/audit?zone=act&kind=referral.resolved",
        Some(&b.authority),
    )
    .await
    .json();
    assert!(act["entries"].as_array().unwrap().is_empty());

    for lang in ["en", "ar"] {
        let page = get(
            &b.app,
            &format!("/authority/audit?lang={lang}&zone=siz"),
            Some(&b.authority),
        )
        .await;
        assert_eq!(page.status, StatusCode::OK);
        let words = if lang == "ar" {
            "البت في إحالة"
        } else {
            "Referral decided"
        };
        assert!(page.body.contains(words), "{lang}: {}", page.body);
        assert!(page.body.contains("referral.resolved"));
        assert!(page.body.contains(&format!("referral:{}", b.refer_siz)));
    }
    // A page of one links to the older records, and following it gives the next one.
    let first = get(&b.app, "/api/audit?page_size=1", Some(&b.authority))
        .await
        .json();
    let next = first["next_page_token"].as_str().unwrap().to_owned();
    let second = get(
        &b.app,
        &format!("/api/audit?page_size=1&page={next}"),
        Some(&b.authority),
    )
    .await
    .json();
    assert_ne!(first["entries"][0]["id"], second["entries"][0]["id"]);

    for (query, field) in [
        ("kind=nope", "kind"),
        ("from=yesterday", "from"),
        ("zone=NOT%20A%20ZONE", "zone"),
        ("page=garbage", "page_token"),
        ("page_size=9999", "page_size"),
        ("from=2026-11-27T10:00&to=2026-11-27T09:00", "to"),
    ] {
        let r = get(&b.app, &format!("/api/audit?{query}"), Some(&b.authority)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{query}: {}", r.body);
        assert_eq!(r.json()["field"], field, "{query}");
    }
}

/// An exit referral approved here is the truck's exit: its turn time reaches the scheduler's
/// metrics through the code path the gRPC OperatorService uses.
#[tokio::test]
async fn an_exit_approved_here_gives_the_turn_time() {
    let b = bed().await;
    let booked = book_act(&b, "web-exit", "60-77777").await;
    let mut entry = passage(
        10,
        "act",
        "act-gate",
        b.now - TimeDelta::minutes(40),
        Verdict::Allow,
    );
    entry.booking = Some(booked.id);
    let mut exit = passage(
        11,
        "act",
        "act-gate",
        b.now - TimeDelta::minutes(2),
        Verdict::Refer,
    );
    exit.direction = Direction::Out;
    exit.booking = Some(booked.id);
    b.store
        .report_passages(vec![entry, exit.clone()])
        .await
        .unwrap();
    let r = call(
        &b.app,
        Request::post(format!("/api/referrals/{}/resolve", exit.id))
            .header(header::COOKIE, format!("bawaba_session={}", b.operator_act))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(r#"{"approve":true,"reason":"seal checked"}"#))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // The dashboard's clock stands at `now`: the truck left 40 minutes after it entered.
    let text = get(&b.app, "/metrics", None).await.body;
    assert!(
        text.contains(r#"bawaba_turn_time_seconds_count{zone="act"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"bawaba_turn_time_seconds_sum{zone="act"} 2400.0"#),
        "{text}"
    );
}

#[tokio::test]
async fn login_sets_a_strict_http_only_cookie_and_refuses_other_roles() {
    let b = bed().await;
    let login = |token: &str| login_post(&format!("token={token}"));
    let r = call(&b.app, login(&b.gate)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.headers.get(header::SET_COOKIE).is_none());
    let r = call(&b.app, login("bwb_nonsense")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = call(&b.app, login(&b.operator_act)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let cookie = r.headers[header::SET_COOKIE].to_str().unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let home = get(&b.app, "/", Some(&b.operator_act)).await;
    assert_eq!(home.headers[header::LOCATION], "/operator");
}

#[tokio::test]
async fn arabic_is_right_to_left_and_remembered() {
    let b = bed().await;
    let r = get(&b.app, "/authority?lang=ar", Some(&b.authority)).await;
    assert!(r.body.contains(r#"<html lang="ar" dir="rtl">"#));
    assert!(r.body.contains("سلطة الميناء"));
    let cookie = r.headers[header::SET_COOKIE].to_str().unwrap();
    assert!(cookie.starts_with("bawaba_lang=ar"), "{cookie}");
    let r = call(
        &b.app,
        Request::get("/operator")
            .header(
                header::COOKIE,
                format!("bawaba_session={}; bawaba_lang=ar", b.operator_act),
            )
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert!(r.body.contains(r#"dir="rtl""#));
    // The gate's name as configured in Arabic; a gate without one keeps its name.
    assert!(r.body.contains("بوابة المحطة"), "{}", r.body);
    let en = get(&b.app, "/operator?lang=en", Some(&b.operator_act)).await;
    assert!(en.body.contains("act gate") && !en.body.contains("بوابة المحطة"));
    let all = get(&b.app, "/authority?lang=ar", Some(&b.authority)).await;
    assert!(all.body.contains("بوابة المحطة") && all.body.contains("siz gate"));
}

#[tokio::test]
async fn bad_parameters_name_the_field() {
    let b = bed().await;
    let r = get(&b.app, "/api/throughput?day=yesterday", Some(&b.authority)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json()["field"], "day");
    let r = get(&b.app, "/api/passages?since=nope", Some(&b.authority)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json()["field"], "since");
    let r = get(&b.app, "/api/passages?limit=0", Some(&b.authority)).await;
    assert_eq!(r.json()["field"], "limit");
    let r = get(&b.app, "/authority?day=2026-13-01", Some(&b.authority)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn passages_since_and_recent() {
    let b = bed().await;
    let all = get(&b.app, "/api/passages?limit=10", Some(&b.authority))
        .await
        .json();
    let rows = all["passages"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["latency_ms"], 5);
    assert_eq!(rows[0]["latency_us"], 5_000);
    assert_eq!(rows[0]["latency"], "5.0 ms");
    assert_eq!(rows[0]["local_time"], "11:55:00", "Asia/Amman");
    let first = rows[0]["id"].as_str().unwrap();
    let after = get(
        &b.app,
        &format!("/api/passages?since={first}"),
        Some(&b.authority),
    )
    .await
    .json();
    assert_eq!(after["passages"].as_array().unwrap().len(), 2);
}

/// Reads server-sent events from a streaming body until `n` events have come (or 10 s).
async fn events(
    stream: &mut axum::body::BodyDataStream,
    n: usize,
) -> Vec<(String, serde_json::Value)> {
    use tokio_stream::StreamExt;
    let mut text = String::new();
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while out.len() < n {
        let chunk = tokio::time::timeout_at(deadline, stream.next())
            .await
            .unwrap_or_else(|_| panic!("only {} of {n} events came: {text:?}", out.len()))
            .unwrap()
            .unwrap();
        text.push_str(std::str::from_utf8(&chunk).unwrap());
        while let Some(end) = text.find("\n\n") {
            let block: String = text.drain(..end + 2).collect();
            let field = |name: &str| {
                block
                    .lines()
                    .find_map(|l| l.strip_prefix(name))
                    .map(|v| v.trim_start().to_owned())
            };
            if field("event:").as_deref() == Some("passage") {
                let data = field("data:").unwrap();
                out.push((field("id:").unwrap(), serde_json::from_str(&data).unwrap()));
            }
        }
    }
    out
}

#[tokio::test]
async fn the_live_feed_sends_late_passages_in_the_order_they_were_recorded() {
    let b = bed().await;
    let open = |uri: &'static str, session: String| {
        let app = b.app.clone();
        async move {
            let req = Request::get(uri)
                .header(header::COOKIE, format!("bawaba_session={session}"))
                .body(Body::empty())
                .unwrap();
            let res = app.oneshot(req).await.unwrap();
            assert_eq!(res.status(), StatusCode::OK);
            res.into_body().into_data_stream()
        }
    };
    // The page starts its feed after the last passage recorded (the bed recorded three).
    let page = get(&b.app, "/authority", Some(&b.authority)).await;
    assert!(page.body.contains(r#"data-since="3""#), "{}", page.body);

    let mut authority = open("/api/feed?since=3", b.authority.clone()).await;
    let mut siz = open("/api/feed", b.operator_siz.clone()).await;
    // A passage decided now, then one a gate decided offline an hour ago and reports only
    // now: an older id, recorded later. Both come, in the order they were recorded.
    let now = passage(10, "act", "act-gate", b.now, Verdict::Deny);
    let late = passage(
        11,
        "siz",
        "siz-gate",
        b.now - TimeDelta::hours(1),
        Verdict::Deny,
    );
    b.store.report_passages(vec![now.clone()]).await.unwrap();
    b.store.report_passages(vec![late.clone()]).await.unwrap();
    let got = events(&mut authority, 2).await;
    assert_eq!(got[0].0, "4");
    assert_eq!(got[0].1["id"], now.id.to_string());
    assert_eq!(got[1].0, "5");
    assert_eq!(got[1].1["id"], late.id.to_string());
    // The siz operator's feed (opened with no `since`: from the head) has only siz's.
    let got = events(&mut siz, 1).await;
    assert_eq!(
        (got[0].0.as_str(), got[0].1["id"].clone()),
        ("5", serde_json::json!(late.id.to_string()))
    );

    // A browser reconnecting sends the last event id it saw.
    let req = Request::get("/api/feed")
        .header(header::COOKIE, format!("bawaba_session={}", b.authority))
        .header("last-event-id", "4")
        .body(Body::empty())
        .unwrap();
    let mut again = b
        .app
        .clone()
        .oneshot(req)
        .await
        .unwrap()
        .into_body()
        .into_data_stream();
    let got = events(&mut again, 1).await;
    assert_eq!(got[0].0, "5");

    let r = get(&b.app, "/api/feed?since=01J", Some(&b.authority)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json()["field"], "since");
}

/// Who calls a route in the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Nobody,
    Unknown,
    Company,
    Gate,
    OperatorAct,
    Authority,
    Alerts,
    Security,
}

/// What a route is: who may use it, and what it answers the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Door {
    /// Anyone, logged in or not.
    Public(StatusCode),
    /// The home page: to the login, the refusal, or the caller's view.
    Home,
    /// A page for `roles`: the login redirect, the refusal page, or the page.
    Page(&'static [Role]),
    /// A JSON endpoint for `roles`: 401, 403, or 200.
    Api(&'static [Role]),
    /// An operator's decision on a referral of zone act or siz (POST, JSON or form).
    Resolve { form: bool },
    /// A form of the authority's page (deciding an alert, closing or lifting): the login
    /// redirect, the refusal, or back to the page — here with an error, as the matrix's
    /// forms name nothing that exists (no pending alert, a bad closure, no such closure).
    AuthorityForm,
    /// A form of the security desk (watch, unwatch): the login redirect, the refusal, back
    /// to the desk saying what was done, or the desk saying what does not exist.
    SecurityForm,
    /// A form of the capacity page: the login redirect, the refusal, or the page again with
    /// the matrix's bad input named (400) or what does not exist (404).
    CapacityForm,
    /// A form of the portal or of the accounts pages for `roles`: the login redirect, the
    /// refusal, or the page again naming the matrix's bad input (400).
    PortalForm(&'static [Role]),
    /// A company's own booking (page or form): the login redirect, the refusal for any other
    /// role, and for a company this status (the matrix names no booking of its own: 404, or
    /// 400 for a form whose input is checked first).
    Owned(StatusCode),
}

const AUTH_ONLY: &[Role] = &[Role::Authority];
const SECURITY_DESK: &[Role] = &[Role::Security, Role::Authority];
const STAFF: &[Role] = &[Role::Operator, Role::Authority];
const WEB: &[Role] = &[
    Role::Operator,
    Role::Authority,
    Role::Security,
    Role::Company,
];
const COMPANY_ONLY: &[Role] = &[Role::Company];
const ALERTS: &[Role] = &[Role::Alerts, Role::Authority];

/// The row of every route the router has (as written in `routes.rs`).
fn door(method: &str, path: &str) -> Option<Door> {
    Some(match (method, path) {
        ("GET", "/login" | "/assets/app.css" | "/assets/app.js" | "/healthz" | "/metrics") => {
            Door::Public(StatusCode::OK)
        }
        ("POST", "/logout") => Door::Public(StatusCode::SEE_OTHER),
        ("POST", "/login") => Door::Page(WEB),
        ("GET", "/portal" | "/portal/fleet") => Door::Page(COMPANY_ONLY),
        ("POST", "/portal/fleet" | "/portal/fleet/remove") => Door::PortalForm(COMPANY_ONLY),
        ("GET", "/portal/book" | "/portal/events") => Door::Page(COMPANY_ONLY),
        ("POST", "/portal/webhook") => Door::PortalForm(COMPANY_ONLY),
        ("POST", "/portal/book") => Door::PortalForm(COMPANY_ONLY),
        (
            "GET" | "POST",
            "/portal/bookings/{id}"
            | "/portal/bookings/{id}/slip"
            | "/portal/bookings/{id}/slip.png"
            | "/portal/bookings/{id}/cancel",
        ) => Door::Owned(StatusCode::NOT_FOUND),
        ("POST", "/portal/bookings/{id}/move") => Door::Owned(StatusCode::BAD_REQUEST),
        // A company token is no company admin: only the authority keeps accounts here.
        ("GET", "/portal/accounts" | "/authority/accounts") => Door::Page(AUTH_ONLY),
        (
            "POST",
            "/portal/accounts"
            | "/portal/accounts/change"
            | "/authority/accounts"
            | "/authority/accounts/change",
        ) => Door::PortalForm(AUTH_ONLY),
        ("GET", "/security") => Door::Page(SECURITY_DESK),
        ("GET", "/authority/capacity") => Door::Page(AUTH_ONLY),
        (
            "POST",
            "/authority/capacity/override"
            | "/authority/capacity/remove"
            | "/authority/capacity/cap",
        ) => Door::CapacityForm,
        ("POST", "/security/watch" | "/security/watch/remove") => Door::SecurityForm,
        ("GET", "/") => Door::Home,
        ("GET", "/authority" | "/authority/audit" | "/authority/passages") => Door::Page(AUTH_ONLY),
        ("GET", "/authority/export/{file}") => Door::Api(AUTH_ONLY),
        ("GET", "/operator" | "/operator/search" | "/operator/decisions") => Door::Page(STAFF),
        ("POST", "/operator/referrals/{id}") => Door::Resolve { form: true },
        ("POST", "/api/referrals/{id}/resolve") => Door::Resolve { form: false },
        ("POST", "/api/cap") => Door::Api(ALERTS),
        ("GET", "/api/alerts/pending") => Door::Api(AUTH_ONLY),
        ("POST", "/authority/alerts" | "/authority/closures" | "/authority/closures/lift") => {
            Door::AuthorityForm
        }
        ("GET", "/authority/closures/new") => Door::Page(AUTH_ONLY),
        (
            "GET",
            "/api/overview" | "/api/throughput" | "/api/slots" | "/api/turn-times"
            | "/api/companies" | "/api/closures" | "/api/queue" | "/api/audit",
        ) => Door::Api(AUTH_ONLY),
        ("GET", "/api/referrals" | "/api/passages" | "/api/feed") => Door::Api(STAFF),
        _ => return None,
    })
}

/// Every `(method, path)` the router declares: read from its source, so a new route without
/// a row fails the matrix.
fn declared_routes() -> Vec<(String, String)> {
    let src = include_str!("../src/routes.rs");
    let mut out = Vec::new();
    for chunk in src.split(".route(\"").skip(1) {
        let (path, rest) = chunk.split_once('"').unwrap();
        let handlers = rest.split(".route(").next().unwrap_or(rest);
        for (needle, method) in [("get(", "GET"), ("post(", "POST")] {
            if handlers.contains(needle) {
                out.push((method.to_owned(), path.to_owned()));
            }
        }
    }
    out
}

/// A fresh open referral of zone `zone` (so every cell resolves one that is open).
async fn fresh_referral(b: &Bed, n: u128, zone: &str) -> PassageId {
    let x = passage(n, zone, &format!("{zone}-gate"), b.now, Verdict::Refer);
    b.store.report_passages(vec![x.clone()]).await.unwrap();
    x.id
}

/// The status of `req`, without waiting for the body (the live feed never ends).
async fn status_of(app: &Router, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap) {
    let res = app.clone().oneshot(req).await.unwrap();
    (res.status(), res.headers().clone())
}

#[tokio::test]
async fn every_route_by_every_caller_in_and_out_of_scope() {
    let b = bed().await;
    let routes = declared_routes();
    assert!(routes.len() >= 20, "{routes:?}");
    let missing: Vec<_> = routes
        .iter()
        .filter(|(m, p)| door(m, p).is_none())
        .collect();
    assert!(missing.is_empty(), "routes with no row: {missing:?}");
    let token = |w: Who| match w {
        Who::Nobody => None,
        Who::Unknown => Some(format!("bwb_{}", "0".repeat(64))),
        Who::Company => Some(b.company.clone()),
        Who::Gate => Some(b.gate.clone()),
        Who::OperatorAct => Some(b.operator_act.clone()),
        Who::Authority => Some(b.authority.clone()),
        Who::Alerts => Some(b.alerts.clone()),
        Who::Security => Some(b.security.clone()),
    };
    let role = |w: Who| match w {
        Who::Nobody | Who::Unknown => None,
        Who::Company => Some(Role::Company),
        Who::Gate => Some(Role::Gate),
        Who::OperatorAct => Some(Role::Operator),
        Who::Authority => Some(Role::Authority),
        Who::Alerts => Some(Role::Alerts),
        Who::Security => Some(Role::Security),
    };
    let mut wrong = Vec::new();
    let mut n = 100;
    for (method, path) in &routes {
        let d = door(method, path).unwrap();
        for who in [
            Who::Nobody,
            Who::Unknown,
            Who::Company,
            Who::Gate,
            Who::OperatorAct,
            Who::Authority,
            Who::Alerts,
            Who::Security,
        ] {
            for zone in ["act", "siz"] {
                n += 1;
                let id = fresh_referral(&b, n, zone).await;
                let uri = path
                    .replace("{id}", &id.to_string())
                    .replace("{file}", "passages.csv");
                let mut req = Request::builder().method(method.as_str()).uri(&uri);
                let t = token(who);
                if let Some(t) = &t {
                    req = req.header(header::COOKIE, format!("bawaba_session={t}"));
                }
                let body = match (d, path.as_str()) {
                    (Door::Resolve { form: false }, _) => {
                        req = req.header(header::CONTENT_TYPE, "application/json");
                        Body::from(r#"{"approve":false,"reason":"matrix"}"#)
                    }
                    (
                        Door::Resolve { form: true }
                        | Door::AuthorityForm
                        | Door::SecurityForm
                        | Door::CapacityForm
                        | Door::PortalForm(_),
                        _,
                    )
                    | (Door::Owned(_), _)
                    | (_, "/login" | "/logout")
                        if method == "POST" =>
                    {
                        req = req.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
                        let form_key = match path.as_str() {
                            "/login" => {
                                req = req.header(header::COOKIE, LOGIN_FORM);
                                Some("form-of-this-browser")
                            }
                            _ => t.as_deref(),
                        };
                        let csrf = form_key
                            .map(|k| format!("&csrf={}", bawaba_web::csrf_for(k)))
                            .unwrap_or_default();
                        Body::from(csrf_after(
                            csrf,
                            match path.as_str() {
                                "/login" => format!("token={}", t.clone().unwrap_or_default()),
                                "/logout" => String::new(),
                                "/authority/alerts" => {
                                    format!("zone={zone}&key=x%2Cy&decision=confirm")
                                }
                                "/authority/closures" => format!(
                                    "zone={zone}&from=2026-11-27T10%3A00&to=2026-11-27T09%3A00&reason=matrix"
                                ),
                                "/authority/closures/lift" => format!("zone={zone}&id=999"),
                                "/security/watch" => {
                                    format!("zone={zone}&plate=60-77777&reason=matrix&action=refer")
                                }
                                "/security/watch/remove" => "plate=60-99999".to_owned(),
                                "/authority/capacity/override" => format!(
                                    "zone={zone}&from=2026-11-27T10%3A00&to=2026-11-27T09%3A00&capacity=5&reason=matrix"
                                ),
                                "/authority/capacity/remove" => format!("zone={zone}&id=999"),
                                "/authority/capacity/cap" => {
                                    format!("zone={zone}&company=acme&percent=500")
                                }
                                _ => "decision=reject&reason=matrix".to_owned(),
                            },
                        ))
                    }
                    (_, "/api/cap") => {
                        req = req.header(header::CONTENT_TYPE, "application/cap+xml");
                        Body::from(cap_alert("matrix", "Alert", "", AMMAN))
                    }
                    _ => Body::empty(),
                };
                let (got, headers) = status_of(&b.app, req.body(body).unwrap()).await;
                let location = headers
                    .get(header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                let allowed = |roles: &[Role]| role(who).is_some_and(|r| roles.contains(&r));
                let in_scope = who == Who::Authority || zone == "act";
                let (want, want_location): (StatusCode, Option<&str>) = match d {
                    Door::Public(s) => (s, None),
                    Door::Home => match role(who) {
                        None => (StatusCode::SEE_OTHER, Some("/login")),
                        Some(Role::Authority) => (StatusCode::SEE_OTHER, Some("/authority")),
                        Some(Role::Operator) => (StatusCode::SEE_OTHER, Some("/operator")),
                        Some(Role::Security) => (StatusCode::SEE_OTHER, Some("/security")),
                        Some(Role::Company) => (StatusCode::SEE_OTHER, Some("/portal")),
                        Some(_) => (StatusCode::FORBIDDEN, None),
                    },
                    Door::Page(roles) if path == "/login" => match role(who) {
                        None => (StatusCode::UNAUTHORIZED, None),
                        Some(_) if allowed(roles) => (StatusCode::SEE_OTHER, Some("/")),
                        Some(_) => (StatusCode::FORBIDDEN, None),
                    },
                    Door::Page(roles) => match role(who) {
                        None => (StatusCode::SEE_OTHER, Some("/login")),
                        Some(_) if allowed(roles) => (StatusCode::OK, None),
                        Some(_) => (StatusCode::FORBIDDEN, None),
                    },
                    Door::Api(roles) => match role(who) {
                        None => (StatusCode::UNAUTHORIZED, None),
                        Some(_) if allowed(roles) => (StatusCode::OK, None),
                        Some(_) => (StatusCode::FORBIDDEN, None),
                    },
                    Door::Resolve { form } => match (role(who), form) {
                        (None, true) => (StatusCode::SEE_OTHER, Some("/login")),
                        (None, false) => (StatusCode::UNAUTHORIZED, None),
                        (Some(_), _) if !allowed(STAFF) => (StatusCode::FORBIDDEN, None),
                        (Some(_), true) if in_scope => {
                            (StatusCode::SEE_OTHER, Some("/operator?done="))
                        }
                        (Some(_), true) => (StatusCode::SEE_OTHER, Some("/operator?error=")),
                        (Some(_), false) if in_scope => (StatusCode::OK, None),
                        (Some(_), false) => (StatusCode::NOT_FOUND, None),
                    },
                    Door::AuthorityForm => match role(who) {
                        None => (StatusCode::SEE_OTHER, Some("/login")),
                        Some(_) if allowed(AUTH_ONLY) => {
                            (StatusCode::SEE_OTHER, Some("/authority?error="))
                        }
                        Some(_) => (StatusCode::FORBIDDEN, None),
                    },
                    Door::CapacityForm => match role(who) {
                        None => (StatusCode::SEE_OTHER, Some("/login")),
                        Some(_) if allowed(AUTH_ONLY) && path.ends_with("/remove") => {
                            (StatusCode::NOT_FOUND, None)
                        }
                        Some(_) if allowed(AUTH_ONLY) => (StatusCode::BAD_REQUEST, None),
                        Some(_) => (StatusCode::FORBIDDEN, None),
                    },
                    Door::Owned(status) => match role(who) {
                        None => (StatusCode::SEE_OTHER, Some("/login")),
                        Some(Role::Company) => (status, None),
                        Some(_) => (StatusCode::FORBIDDEN, None),
                    },
                    Door::PortalForm(roles) => match role(who) {
                        None => (StatusCode::SEE_OTHER, Some("/login")),
                        Some(_) if allowed(roles) => (StatusCode::BAD_REQUEST, None),
                        Some(_) => (StatusCode::FORBIDDEN, None),
                    },
                    // The matrix takes off a truck nobody watches: "does not exist".
                    Door::SecurityForm => match role(who) {
                        None => (StatusCode::SEE_OTHER, Some("/login")),
                        Some(_) if allowed(SECURITY_DESK) && path.ends_with("/remove") => {
                            (StatusCode::NOT_FOUND, None)
                        }
                        Some(_) if allowed(SECURITY_DESK) => {
                            (StatusCode::SEE_OTHER, Some("/security?done="))
                        }
                        Some(_) => (StatusCode::FORBIDDEN, None),
                    },
                };
                let location_ok = want_location.is_none_or(|l| location.starts_with(l));
                if got != want || !location_ok {
                    wrong.push(format!(
                        "{method} {path} by {who:?} on {zone}: {got} {location:?}, expected {want} {want_location:?}"
                    ));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

const EXAMPLE_ALERT: &str = include_str!("../../../deploy/cap/flash-flood.example.xml");
/// The example alert's area: the coast south of Aqaba, over the container terminal.
const COAST: &str = "29.478,34.962 29.478,35.010 29.420,35.010 29.420,34.962 29.478,34.962";
const AMMAN: &str = "31.9,35.9 31.9,36.0 32.0,36.0 32.0,35.9 31.9,35.9";

/// The example alert as `id`, of `msg_type`, naming `references`, over `polygon`, the day
/// after the bed's clock (12:00-14:00 Amman time).
fn cap_alert(id: &str, msg_type: &str, references: &str, polygon: &str) -> String {
    let refs = if references.is_empty() {
        String::new()
    } else {
        format!(
            "<references>warnings@jmd.gov.jo,{references},2026-11-27T09:00:00+03:00</references>"
        )
    };
    EXAMPLE_ALERT
        .replace("JMD-FF-2026-0310-01", id)
        .replace(
            "<msgType>Alert</msgType>",
            &format!("<msgType>{msg_type}</msgType>{refs}"),
        )
        .replace(COAST, polygon)
        .replace("2026-03-10", "2026-11-27")
}

/// A form's `body` and then its CSRF field.
fn csrf_after(csrf: String, body: String) -> String {
    body + &csrf
}

/// A form posted by a browser logged in with `session`, carrying the session's CSRF token.
fn form_post(path: impl AsRef<str>, session: &str, body: impl AsRef<str>) -> Request<Body> {
    let csrf = bawaba_web::csrf_for(session);
    Request::post(path.as_ref())
        .header(header::COOKIE, format!("bawaba_session={session}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("{}&csrf={csrf}", body.as_ref())))
        .unwrap()
}

async fn post_cap(b: &Bed, token: &str, xml: String) -> Reply {
    let req = Request::post("/api/cap")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/cap+xml")
        .body(Body::from(xml))
        .unwrap();
    call(&b.app, req).await
}

async fn closures(b: &Bed, zone: &str) -> Vec<bawaba_domain::calendar::Closure> {
    b.store
        .zone(ZoneId::parse(zone).unwrap())
        .await
        .unwrap()
        .closures
}

#[tokio::test]
async fn a_cap_alert_closes_the_zone_it_meets_once_and_its_cancel_lifts_it() {
    let b = bed().await;
    // A truck booked at 12:00 local, inside the warning: `act` rebooks what its closures hit.
    let utc = |h: u32| Utc.with_ymd_and_hms(2026, 11, 27, h, 0, 0).unwrap();
    let req = NewBooking {
        by: None,
        company: CompanyId::parse("acme").unwrap(),
        idempotency_key: "flood-1".into(),
        plate: bawaba_domain::plate::Plate::parse("60-55555").unwrap(),
        epc: None,
        stops: vec![Stop::new(
            ZoneId::parse("act").unwrap(),
            utc(9),
            TransactionType::GeneralCargo,
            vec![],
        )],
    };
    let booked = b.store.create_booking(req, b.now).await.unwrap().booking.id;
    let window = async || {
        let got = b
            .store
            .get_booking(bawaba_domain::ledger::Actor::Authority, booked);
        got.await.unwrap().stops[0].window_start
    };
    let r = post_cap(&b, &b.alerts, cap_alert("ff-1", "Alert", "", COAST)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let j = r.json();
    assert_eq!(j["alert"], "warnings@jmd.gov.jo,ff-1");
    let act = &j["zones"][0];
    assert_eq!(
        (act["zone"].as_str(), act["effect"].as_str()),
        (Some("act"), Some("closed"))
    );
    assert_eq!(
        (
            act["bookings_hit"].as_u64(),
            act["bookings_rebooked"].as_u64()
        ),
        (Some(1), Some(1))
    );
    assert_eq!(
        window().await,
        utc(11),
        "14:00 local, when the warning ends"
    );
    assert_eq!(act["closure"]["from_local"], "2026-11-27 12:00 (+03:00)");
    assert_eq!(act["closure"]["to_local"], "2026-11-27 14:00 (+03:00)");
    assert!(
        act["closure"]["reason"]
            .as_str()
            .unwrap()
            .starts_with("Flash flood warning: Wadi Yutm"),
        "{act}"
    );
    // siz confirms its closures: pending, not closed.
    assert_eq!(j["zones"][1]["effect"], "pending");
    assert_eq!(closures(&b, "act").await.len(), 1);
    assert!(closures(&b, "siz").await.is_empty());

    // The same alert again changes nothing.
    let again = post_cap(&b, &b.alerts, cap_alert("ff-1", "Alert", "", COAST))
        .await
        .json();
    assert_eq!(again["zones"][0]["repeated"], true, "{again}");
    assert_eq!(closures(&b, "act").await.len(), 1);

    // The audit trail says the alerts feed closed it, through the web door.
    let audit = get(&b.app, "/api/audit?kind=closure.added", Some(&b.authority))
        .await
        .json();
    let rec = &audit["entries"][0]["record"];
    assert_eq!(
        (rec["who"]["role"].as_str(), rec["who"]["door"].as_str()),
        (Some("Alerts"), Some("Web")),
        "{rec}"
    );
    assert_eq!(
        audit["entries"].as_array().unwrap().len(),
        1,
        "one record, not two"
    );

    // An update moves the end; the cancellation lifts it.
    let update =
        cap_alert("ff-2", "Update", "ff-1", COAST).replace("14:00:00+03:00", "16:00:00+03:00");
    let j = post_cap(&b, &b.alerts, update).await.json();
    assert_eq!(j["zones"][0]["effect"], "changed", "{j}");
    assert_eq!(j["zones"][0]["bookings_rebooked"], 1, "{j}");
    assert_eq!(
        window().await,
        utc(13),
        "moved again, after the longer warning"
    );
    assert_eq!(
        closures(&b, "act").await[0].to.to_rfc3339(),
        "2026-11-27T13:00:00+00:00"
    );
    let j = post_cap(&b, &b.alerts, cap_alert("ff-3", "Cancel", "ff-2", COAST))
        .await
        .json();
    assert_eq!(j["zones"][0]["effect"], "lifted", "{j}");
    assert!(closures(&b, "act").await.is_empty());
}

#[tokio::test]
async fn bad_alerts_are_refused_naming_what_is_wrong_and_change_nothing() {
    let b = bed().await;
    let missing_expiry = cap_alert("ff-9", "Alert", "", COAST)
        .replace("<expires>2026-11-27T14:00:00+03:00</expires>", "");
    for (xml, field) in [
        ("this is not XML".to_owned(), "xml"),
        (
            "<feed xmlns=\"http://www.w3.org/2005/Atom\"/>".to_owned(),
            "alert",
        ),
        (missing_expiry, "info[0].expires"),
    ] {
        let r = post_cap(&b, &b.alerts, xml).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
        assert_eq!(r.json()["field"], field, "{}", r.body);
    }
    assert!(closures(&b, "act").await.is_empty());
    // An alert for elsewhere, a test, or an expired one: 200, nothing closed, and why.
    let far = post_cap(&b, &b.alerts, cap_alert("ff-10", "Alert", "", AMMAN))
        .await
        .json();
    assert!(
        far["note"].as_str().unwrap().contains("meets no zone"),
        "{far}"
    );
    let test = cap_alert("ff-11", "Alert", "", COAST).replace(">Actual<", ">Test<");
    let j = post_cap(&b, &b.alerts, test).await.json();
    assert!(
        j["note"].as_str().unwrap().contains("not an Actual alert"),
        "{j}"
    );
    let old = cap_alert("ff-12", "Alert", "", COAST).replace("2026-11-27", "2026-11-20");
    let j = post_cap(&b, &b.alerts, old).await.json();
    assert!(j["note"].as_str().unwrap().contains("expired"), "{j}");
    assert!(closures(&b, "act").await.is_empty());
    // The alerts token may do nothing else.
    let r = get(&b.app, "/api/overview", Some(&b.alerts)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_authority_confirms_a_pending_alert_on_its_page() {
    let b = bed().await;
    post_cap(&b, &b.alerts, cap_alert("ff-1", "Alert", "", COAST)).await;
    let pending = get(&b.app, "/api/alerts/pending", Some(&b.authority))
        .await
        .json();
    assert_eq!(pending["pending"].as_array().unwrap().len(), 1, "{pending}");
    assert_eq!(pending["pending"][0]["zone"], "siz");
    for lang in ["en", "ar"] {
        let page = get(
            &b.app,
            &format!("/authority?lang={lang}"),
            Some(&b.authority),
        )
        .await;
        assert!(page.body.contains(r#"id="pending-alerts""#), "{lang}");
        assert!(
            page.body
                .contains("<bdi dir=\"ltr\">warnings@jmd.gov.jo,ff-1</bdi>")
        );
    }
    assert!(
        page_text(&b, "ar")
            .await
            .contains("إنذارات بانتظار التأكيد")
    );
    let form = |decision: &str| {
        form_post(
            "/authority/alerts",
            &b.authority,
            format!("zone=siz&key=warnings%40jmd.gov.jo%2Cff-1&decision={decision}"),
        )
    };
    let r = call(&b.app, form("confirm")).await;
    assert_eq!(r.headers[header::LOCATION], "/authority?alert=confirmed");
    assert_eq!(closures(&b, "siz").await.len(), 1);
    let r = call(&b.app, form("confirm")).await;
    assert!(
        r.headers[header::LOCATION]
            .to_str()
            .unwrap()
            .starts_with("/authority?error="),
        "decided once"
    );
    let page = get(&b.app, "/authority?alert=confirmed", Some(&b.authority)).await;
    assert!(page.body.contains(r#"id="outcome""#));
    assert!(!page.body.contains(r#"id="pending-alerts""#));
}

async fn page_text(b: &Bed, lang: &str) -> String {
    get(
        &b.app,
        &format!("/authority?lang={lang}"),
        Some(&b.authority),
    )
    .await
    .body
}

/// A truck held for the watchlist is marked on the operator's card and in the authority's
/// feed (the live feed raises it too: the banner it fills is on the page, hidden).
#[tokio::test]
async fn a_watched_truck_is_marked_for_the_operator_and_the_authority() {
    let b = bed().await;
    let mut held = passage(900, "act", "act-gate", b.now, Verdict::Refer);
    held.reasons = vec![Reason::Watchlist, Reason::BookingValid];
    b.store.report_passages(vec![held]).await.unwrap();
    for lang in ["en", "ar"] {
        let op = get(
            &b.app,
            &format!("/operator?lang={lang}"),
            Some(&b.operator_act),
        )
        .await;
        assert!(op.body.contains(r#"<p class="watch-mark">⚠ "#), "{lang}");
    }
    let op = get(&b.app, "/operator?lang=ar", Some(&b.operator_act)).await;
    assert!(op.body.contains("على قائمة المراقبة الأمنية"));
    let auth = get(&b.app, "/authority", Some(&b.authority)).await;
    assert!(
        auth.body.contains(r#"class="watch""#),
        "the feed row is marked"
    );
    assert!(auth.body.contains(r#"id="watch-alert""#));
}

/// The authority closes a zone from its page: the form, the bookings the closure would hit
/// shown before confirming (in both languages), the closure made and listed with a Lift
/// button, lifted; bad fields answer 400 naming the field, and nothing is closed.
#[tokio::test]
async fn the_authority_closes_a_zone_after_seeing_the_bookings_it_hits() {
    let b = bed().await;
    let zone = ZoneId::parse("act").unwrap();
    let cfg = b.store.zone(zone.clone()).await.unwrap();
    let w = cfg.window_containing(b.now + TimeDelta::hours(2));
    let req = NewBooking {
        by: None,
        company: CompanyId::parse("acme").unwrap(),
        idempotency_key: "close-1".into(),
        plate: bawaba_domain::plate::Plate::parse("60-44444").unwrap(),
        epc: None,
        stops: vec![Stop::new(
            zone.clone(),
            w,
            TransactionType::GeneralCargo,
            vec![],
        )],
    };
    let booked = b.store.create_booking(req.clone(), b.now).await.unwrap();
    let booked = booked.booking.id;
    let blank = get(&b.app, "/authority/closures/new", Some(&b.authority)).await;
    assert_eq!(blank.status, StatusCode::OK);
    assert!(blank.body.contains(r#"id="close-form""#) && !blank.body.contains(r#"id="impact""#));
    let local = |t: DateTime<Utc>| {
        t.with_timezone(&chrono::FixedOffset::east_opt(3 * 3600).unwrap())
            .format("%Y-%m-%dT%H:%M")
            .to_string()
    };
    let query = format!(
        "zone=act&from={}&to={}&reason=flash+flood+warning",
        local(w),
        local(w + TimeDelta::hours(1))
    );
    for lang in ["en", "ar"] {
        let uri = format!("/authority/closures/new?{query}&lang={lang}");
        let preview = get(&b.app, &uri, Some(&b.authority)).await;
        assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
        assert!(
            preview
                .body
                .contains(r#"<strong id="hit-count">1</strong>"#),
            "{lang}"
        );
        let id = format!(r#"<bdi dir="ltr">{booked}</bdi>"#);
        assert!(preview.body.contains(&id), "{lang}");
    }
    let z = b.store.zone(zone.clone()).await.unwrap();
    assert!(z.closures.is_empty(), "a preview closes nothing");
    let uri = "/authority/closures/new?zone=act&from=tomorrow&to=x&reason=y";
    let bad = get(&b.app, uri, Some(&b.authority)).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("from"), "{}", bad.body);
    let form = |path: &str, body: String| form_post(path, &b.authority, body);
    let r = call(&b.app, form("/authority/closures", query.clone())).await;
    assert_eq!(
        r.headers[header::LOCATION],
        "/authority?closed=1&rebooked=0&cancelled=0&kept=1#closures"
    );
    let made = closures(&b, "act").await;
    assert_eq!(made.len(), 1);
    assert_eq!(made[0].reason, "flash flood warning");
    let page = get(&b.app, "/authority?closed=1", Some(&b.authority)).await;
    assert!(page.body.contains(r#"id="outcome""#) && page.body.contains(r#"id="lift-act-1""#));
    let r = call(
        &b.app,
        form("/authority/closures/lift", "zone=act&id=1".into()),
    )
    .await;
    assert_eq!(
        r.headers[header::LOCATION],
        "/authority?lifted=1&back=1#closures",
        "the booking in the lifted window can come again"
    );
    let page = get(
        &b.app,
        "/authority?lifted=1&back=1&lang=ar",
        Some(&b.authority),
    )
    .await;
    assert!(
        page.body
            .contains(r#"<p class="flash" id="back"><strong>1</strong>"#)
    );
    assert!(closures(&b, "act").await.is_empty());
    // The preview offers what to do with the bookings hit; an unknown choice is refused and
    // closes nothing; "cancel" cancels them, naming the closure.
    let preview = get(
        &b.app,
        &format!("/authority/closures/new?{query}"),
        Some(&b.authority),
    )
    .await;
    assert!(preview.body.contains(r#"name="policy" value="cancel""#));
    let r = call(
        &b.app,
        form("/authority/closures", format!("{query}&policy=sometimes")),
    )
    .await;
    let to = r.headers[header::LOCATION].to_str().unwrap().to_owned();
    assert!(to.contains("policy"), "{to}");
    assert!(closures(&b, "act").await.is_empty());
    let r = call(
        &b.app,
        form("/authority/closures", format!("{query}&policy=cancel")),
    )
    .await;
    assert_eq!(
        r.headers[header::LOCATION],
        "/authority?closed=2&rebooked=0&cancelled=1&kept=0#closures"
    );
    let gone = b
        .store
        .get_booking(bawaba_domain::ledger::Actor::Authority, booked);
    let gone = gone.await.unwrap();
    assert_eq!(gone.state, bawaba_domain::ledger::BookingState::Cancelled);
    assert!(gone.cancel_reason.unwrap().contains("closure 2"));
    // "rebook" moves a booking hit to the window after the closure; the page says so.
    let r = call(
        &b.app,
        form("/authority/closures/lift", "zone=act&id=2".into()),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let req = NewBooking {
        idempotency_key: "close-2".into(),
        ..req
    };
    let moved = b.store.create_booking(req, b.now).await.unwrap().booking.id;
    let r = call(
        &b.app,
        form("/authority/closures", format!("{query}&policy=rebook")),
    )
    .await;
    let to = "/authority?closed=3&rebooked=1&cancelled=0&kept=0#closures";
    assert_eq!(r.headers[header::LOCATION], to);
    let moved = b
        .store
        .get_booking(bawaba_domain::ledger::Actor::Authority, moved)
        .await
        .unwrap();
    assert_eq!(moved.stops[0].window_start, w + TimeDelta::hours(1));
    for (lang, words) in [
        ("en", "moved after the closure"),
        ("ar", "نُقلت إلى ما بعد الإغلاق"),
    ] {
        let uri = format!("/authority?closed=3&rebooked=1&cancelled=0&kept=0&lang={lang}");
        let page = get(&b.app, &uri, Some(&b.authority)).await;
        let outcome = r#"<p class="flash" id="hit-outcome"><strong>1</strong> "#;
        assert!(
            page.body.contains(outcome) && page.body.contains(words),
            "{lang}"
        );
    }
}

/// The authority exports a day's passages, bookings, no-shows and audit trail as CSV: Amman
/// time, UTF-8 with a byte-order mark (Arabic intact), one row per stop; a bad range names
/// its field; an operator may not export.
#[tokio::test]
async fn the_authority_exports_a_day_as_csv() {
    let b = bed().await;
    let kept = book_act(&b, "k-export-1", "60-10001").await;
    let gone = book_act(&b, "k-export-2", "60-10002").await;
    let reason = "إغلاق بسبب السيول";
    b.store
        .cancel_booking(
            bawaba_domain::ledger::Actor::Authority,
            gone.id,
            reason.into(),
            b.now - TimeDelta::hours(2),
        )
        .await
        .unwrap();
    let csv = async |file: &str, query: &str, who: Option<&str>| {
        get(&b.app, &format!("/authority/export/{file}{query}"), who).await
    };
    let day = "?from=2026-11-26&to=2026-11-27";
    let bookings = csv("bookings.csv", day, Some(&b.authority)).await;
    assert_eq!(bookings.status, StatusCode::OK, "{}", bookings.body);
    assert_eq!(
        bookings.headers[header::CONTENT_TYPE],
        "text/csv; charset=utf-8"
    );
    assert!(
        bookings.body.starts_with('\u{feff}'),
        "a byte-order mark first"
    );
    let lines: Vec<&str> = bookings
        .body
        .trim_start_matches('\u{feff}')
        .lines()
        .collect();
    assert!(lines[0].starts_with("booking,company,plate,tag,state,stop,zone,window_start"));
    let row = |id: String| {
        lines
            .iter()
            .find(|l| l.starts_with(&id))
            .copied()
            .unwrap_or_default()
    };
    // 09:00 UTC is 12:00 in Amman.
    assert!(row(kept.id.to_string()).contains(",BOOKED,1,act,2026-11-26 12:00:00,GENERAL_CARGO,"));
    assert!(
        row(gone.id.to_string()).ends_with(reason),
        "{}",
        bookings.body
    );
    let passages = csv("passages.csv", day, Some(&b.authority)).await;
    let rows: Vec<&str> = passages.body.lines().skip(1).collect();
    assert_eq!(rows.len(), 3, "the bed's three passages: {}", passages.body);
    assert!(
        rows.iter().all(|r| r.contains(",2026-11-26 11:55:00,")),
        "{}",
        passages.body
    );
    let other_day = csv("passages.csv", "?from=2026-11-27", Some(&b.authority)).await;
    assert_eq!(
        other_day.body.lines().count(),
        1,
        "a header only: {}",
        other_day.body
    );
    let audit = csv("audit.csv", day, Some(&b.authority)).await;
    assert!(audit.body.contains(",token.issued,"), "{}", audit.body);
    let none = csv("no-shows.csv", day, Some(&b.authority)).await;
    assert_eq!(none.body.lines().count(), 1, "{}", none.body);
    let long = csv(
        "bookings.csv",
        "?from=2026-11-01&to=2026-12-31",
        Some(&b.authority),
    )
    .await;
    assert_eq!(long.status, StatusCode::BAD_REQUEST);
    assert_eq!(long.json()["field"], "to", "{}", long.body);
    let unknown = csv("cars.csv", day, Some(&b.authority)).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let operator = csv("bookings.csv", day, Some(&b.operator_act)).await;
    assert_eq!(operator.status, StatusCode::FORBIDDEN);
}

async fn book_act(b: &Bed, key: &str, plate: &str) -> bawaba_domain::ledger::Booking {
    b.store
        .create_booking(
            NewBooking {
                by: None,
                company: CompanyId::parse("acme").unwrap(),
                idempotency_key: key.into(),
                plate: bawaba_domain::plate::Plate::parse(plate).unwrap(),
                epc: None,
                stops: vec![Stop::new(
                    ZoneId::parse("act").unwrap(),
                    b.now,
                    TransactionType::GeneralCargo,
                    vec![],
                )],
            },
            b.now - TimeDelta::hours(3),
        )
        .await
        .unwrap()
        .booking
}

/// The gate matched no booking (no plate read): the operator types the booking id from the
/// driver's slip into the referral's form, and the approval moves that booking on.
#[tokio::test]
async fn an_operator_names_the_booking_from_the_drivers_slip() {
    let b = bed().await;
    let booked = book_act(&b, "slip", "60-55555").await;
    for lang in ["en", "ar"] {
        let page = get(
            &b.app,
            &format!("/operator?lang={lang}"),
            Some(&b.operator_act),
        )
        .await;
        let input = format!(
            r#"id="booking-{}" name="booking_id" dir="ltr""#,
            b.refer_act
        );
        assert!(page.body.contains(&input), "{lang}: {}", page.body);
    }
    let form = |body: String| {
        form_post(
            format!("/operator/referrals/{}", b.refer_act),
            &b.operator_act,
            body,
        )
    };
    let r = call(
        &b.app,
        form("decision=approve&reason=slip&booking_id=nope".into()),
    )
    .await;
    let to = r.headers[header::LOCATION].to_str().unwrap().to_owned();
    assert!(to.contains("error=") && to.contains("booking_id"), "{to}");
    let body = format!(
        "decision=approve&reason=slip+shown&booking_id={}",
        booked.id
    );
    let r = call(&b.app, form(body)).await;
    let to = r.headers[header::LOCATION].to_str().unwrap().to_owned();
    assert!(to.contains("-approved"), "{to}");
    let now = b
        .store
        .get_booking(bawaba_domain::ledger::Actor::Authority, booked.id);
    assert_eq!(
        now.await.unwrap().state,
        bawaba_domain::ledger::BookingState::Entered
    );
    let stored = b.store.referrals(None, true).await.unwrap();
    let act = stored.iter().find(|x| x.passage.id == b.refer_act).unwrap();
    assert_eq!(act.passage.booking, Some(booked.id));
}

/// A gate silent for 40 minutes holds its zone's no-shows back: the authority's page says
/// which, in both languages, and the JSON carries every gate's mark.
#[tokio::test]
async fn the_authority_sees_which_gate_holds_the_no_show_sweep() {
    let b = bed().await;
    let mark = |gate: &str, ago| Some((GateId::parse(gate).unwrap(), b.now - ago));
    let silent = mark("act-gate", TimeDelta::minutes(40));
    b.store
        .report_passages_through(vec![], silent)
        .await
        .unwrap();
    let alive = mark("siz-gate", TimeDelta::seconds(20));
    b.store
        .report_passages_through(vec![], alive)
        .await
        .unwrap();
    for (lang, word, behind) in [
        ("en", "holds its zone", "40 min"),
        ("ar", "تؤخر تسجيل", "40 د"),
    ] {
        let page = get(
            &b.app,
            &format!("/authority?lang={lang}"),
            Some(&b.authority),
        )
        .await;
        assert!(page.body.contains(r#"id="sweep-held""#), "{lang}");
        assert!(
            page.body
                .contains(r#"data-gate="act-gate" data-holds="true""#),
            "{lang}"
        );
        assert!(
            page.body
                .contains(r#"data-gate="siz-gate" data-holds="false""#)
        );
        assert!(page.body.contains(word), "{lang}");
        assert!(page.body.contains(behind), "{lang}");
    }
    let o = get(&b.app, "/api/overview", Some(&b.authority))
        .await
        .json();
    let rows = o["gate_reports"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0]["gate"], "act-gate");
    assert_eq!(rows[0]["behind_s"], 2400);
    assert_eq!(rows[0]["holds_sweep"], true);
    assert_eq!(rows[1]["holds_sweep"], false);
    // Once it reports again, nothing is held.
    let back = mark("act-gate", TimeDelta::zero());
    b.store.report_passages_through(vec![], back).await.unwrap();
    let page = get(&b.app, "/authority", Some(&b.authority)).await;
    assert!(!page.body.contains(r#"id="sweep-held""#));
}

/// Codes are shown as words in the page's language, the code kept in a tooltip: no raw code
/// among the visible text of the Arabic operator and authority pages.
#[tokio::test]
async fn codes_are_words_in_both_languages() {
    let b = bed().await;
    let cases = [
        ("en", "LOW_CONFIDENCE", "camera unsure", "DENY", "denied"),
        ("ar", "LOW_CONFIDENCE", "الكاميرا غير متأكدة", "DENY", "رُفض"),
    ];
    let units = [("(5 min)", "gate operator"), ("(5 د)", "مشغّل البوابة")];
    for ((lang, reason, word, verdict, said), (waited, role)) in cases.into_iter().zip(units) {
        let desk = get(
            &b.app,
            &format!("/operator?lang={lang}"),
            Some(&b.operator_act),
        )
        .await;
        assert!(
            desk.body.contains(waited),
            "{lang}: waiting in the language's units"
        );
        let who = format!(r#"title="operator">{role}<"#);
        assert!(desk.body.contains(&who), "{lang}: the role as a word");
        let shown = format!(r#"<span class="code" title="{reason}">{word}</span>"#);
        assert!(desk.body.contains(&shown), "{lang}: {}", desk.body);
        assert!(
            !desk.body.contains(&format!(">{reason}<")),
            "{lang}: a raw code"
        );
        let page = get(
            &b.app,
            &format!("/authority?lang={lang}"),
            Some(&b.authority),
        )
        .await;
        let decided = format!(r#"title="{verdict}">{said}</span>"#);
        assert!(page.body.contains(&decided), "{lang}");
        // Zones by their name in the page's language (the English one where none is given).
        let act = if lang == "ar" {
            "محطة الحاويات"
        } else {
            "ACT"
        };
        assert!(page.body.contains(&format!("<td>{act}</td>")), "{lang}");
        assert!(page.body.contains("<td>SIZ</td>"), "{lang}");
        assert!(
            page.body
                .contains(r#"<script type="application/json" id="words">"#)
        );
    }
}

/// The security services keep the watchlist from their desk, in both languages: a truck put
/// on it for every zone is listed with the zones' names and reaches the zones' configuration
/// (so their gates); a bad plate is refused naming the field, with what was typed kept; the
/// truck taken off is gone. The desk is theirs and the authority's only.
#[tokio::test]
async fn the_security_desk_watches_and_unwatches_trucks() {
    let b = bed().await;
    let home = get(&b.app, "/", Some(&b.security)).await;
    assert_eq!(home.status, StatusCode::SEE_OTHER);
    assert_eq!(home.headers[header::LOCATION], "/security");
    let form = |path: &str, body: &str| form_post(path, &b.security, body);
    let body = "zone=&plate=60-12345&reason=stolen+truck&action=deny&until=2026-11-28T18%3A00";
    let r = call(&b.app, form("/security/watch", body)).await;
    assert_eq!(r.headers[header::LOCATION], "/security?done=added");
    for z in ["act", "siz"] {
        let cfg = b.store.zone(ZoneId::parse(z).unwrap()).await.unwrap();
        let w = &cfg.watch[0];
        assert_eq!(w.target.to_string(), "plate:6012345", "{z}");
        assert_eq!(w.action, bawaba_domain::watch::WatchAction::Deny);
        assert_eq!(
            w.until.unwrap().to_rfc3339(),
            "2026-11-28T15:00:00+00:00",
            "Amman time"
        );
    }
    for (lang, title, zone, deny) in [
        ("en", "Security watchlist", "ACT", "denied"),
        ("ar", "قائمة المراقبة الأمنية", "محطة الحاويات", "رُفض"),
    ] {
        let page = get(
            &b.app,
            &format!("/security?done=added&lang={lang}"),
            Some(&b.security),
        )
        .await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(
            page.body.contains(title) && page.body.contains(r#"id="done""#),
            "{lang}"
        );
        assert!(
            page.body.contains(r#"<bdi dir="ltr">6012345</bdi>"#),
            "{lang}"
        );
        assert!(
            page.body.contains(zone) && page.body.contains(deny),
            "{lang}"
        );
        assert!(page.body.contains(r#"id="nav-watch""#), "{lang}");
    }
    // A bad plate: 400 naming it, the reason typed kept, nothing added.
    let r = call(
        &b.app,
        form(
            "/security/watch",
            "zone=act&plate=%3F%3F&reason=kept+reason",
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("plate") && r.body.contains(r#"value="kept reason""#));
    let act = b.store.zone(ZoneId::parse("act").unwrap()).await.unwrap();
    assert_eq!(act.watch.len(), 1);
    let r = call(&b.app, form("/security/watch/remove", "plate=6012345")).await;
    assert_eq!(r.headers[header::LOCATION], "/security?done=removed");
    let page = get(&b.app, "/security", Some(&b.security)).await;
    assert!(page.body.contains(r#"id="watch-empty""#));
    let act = b.store.zone(ZoneId::parse("act").unwrap()).await.unwrap();
    assert!(act.watch.is_empty());
    // Operators and companies have no desk here.
    let op = get(&b.app, "/security", Some(&b.operator_act)).await;
    assert_eq!(op.status, StatusCode::FORBIDDEN);
}

/// The authority sets a one-off capacity from its page (in Amman time): one that would leave a
/// booked window over its new capacity names it and changes nothing until confirmed; then it
/// is listed and removed again; a company's own cap is set and cleared. Both languages.
#[tokio::test]
async fn the_authority_sets_one_off_capacities_and_caps_from_its_page() {
    let b = bed().await;
    let booked = book_act(&b, "cap-1", "60-31313").await;
    let form = |path: &str, body: String| form_post(path, &b.authority, body);
    let local = |t: DateTime<Utc>| {
        t.with_timezone(&chrono::FixedOffset::east_opt(3 * 3600).unwrap())
            .format("%Y-%m-%dT%H:%M")
            .to_string()
    };
    let w = booked.stops[0].window_start;
    let fields = format!(
        "zone=act&from={}&to={}&capacity=0&reason=inspection+campaign",
        local(w),
        local(w + TimeDelta::hours(2))
    );
    // Booked 1 of a new 0: named, nothing changed, the confirmation offered with the fields.
    let r = call(&b.app, form("/authority/capacity/override", fields.clone())).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert!(r.body.contains("1 booked of 0") && r.body.contains(r#"id="confirm""#));
    assert!(r.body.contains(r#"value="inspection campaign""#));
    let act = b.store.zone(ZoneId::parse("act").unwrap()).await.unwrap();
    assert!(act.overrides.is_empty());
    let r = call(
        &b.app,
        form(
            "/authority/capacity/override",
            format!("{fields}&confirm=true"),
        ),
    )
    .await;
    assert_eq!(
        r.headers[header::LOCATION],
        "/authority/capacity?zone=act&done=override"
    );
    let act = b.store.zone(ZoneId::parse("act").unwrap()).await.unwrap();
    assert_eq!((act.overrides.len(), act.capacity(w).total), (1, 0));
    for (lang, words) in [("en", "Places per window"), ("ar", "الأماكن في كل فترة")]
    {
        let uri = format!("/authority/capacity?zone=act&done=override&lang={lang}");
        let page = get(&b.app, &uri, Some(&b.authority)).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(
            page.body.contains(words) && page.body.contains(r#"id="done""#),
            "{lang}"
        );
        assert!(
            page.body.contains("inspection campaign")
                && page.body.contains(r#"id="remove-override-1""#)
        );
    }
    let r = call(
        &b.app,
        form("/authority/capacity/remove", "zone=act&id=1".into()),
    )
    .await;
    assert_eq!(
        r.headers[header::LOCATION],
        "/authority/capacity?zone=act&done=removed"
    );
    let act = b.store.zone(ZoneId::parse("act").unwrap()).await.unwrap();
    assert_eq!(act.capacity(w).total, 10);
    // A company's own cap, set then cleared; a bad percent is named.
    let cap = async |percent: &str| {
        let body = format!("zone=act&company=acme&percent={percent}");
        call(&b.app, form("/authority/capacity/cap", body)).await
    };
    let r = cap("30").await;
    assert_eq!(
        r.headers[header::LOCATION],
        "/authority/capacity?zone=act&done=cap"
    );
    let act = b.store.zone(ZoneId::parse("act").unwrap()).await.unwrap();
    assert_eq!(
        act.company_caps.get(&CompanyId::parse("acme").unwrap()),
        Some(&30)
    );
    let page = get(&b.app, "/authority/capacity?zone=act", Some(&b.authority)).await;
    assert!(page.body.contains(r#"id="clear-cap-acme""#));
    let r = cap("0").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("percent"));
    let r = cap("").await;
    assert_eq!(
        r.headers[header::LOCATION],
        "/authority/capacity?zone=act&done=cap"
    );
    let act = b.store.zone(ZoneId::parse("act").unwrap()).await.unwrap();
    assert!(act.company_caps.is_empty());
}

/// The operator's search finds a truck's passages in the operator's zone only (another
/// zone's answer as nothing found), in both languages; a query that is no id, plate or tag is
/// a 400 naming it.
#[tokio::test]
async fn the_operator_searches_by_plate_within_their_zone() {
    let b = bed().await;
    let all = get(&b.app, "/operator/search?q=60-12345", Some(&b.authority)).await;
    assert_eq!(all.status, StatusCode::OK);
    let rows = |body: &str| body.matches(r#"<tr data-id=""#).count();
    assert!(all.body.contains("act/act-gate/in-1") && all.body.contains("siz/siz-gate/in-1"));
    let act = get(&b.app, "/operator/search?q=60-12345", Some(&b.operator_act)).await;
    assert!(rows(&act.body) >= 1 && rows(&act.body) < rows(&all.body));
    assert!(act.body.contains("act/act-gate/in-1") && !act.body.contains("siz/"));
    let none = get(&b.app, "/operator/search?q=60-99999", Some(&b.operator_act)).await;
    assert!(none.body.contains(r#"id="search-none""#), "{}", none.body);
    let ar = get(
        &b.app,
        "/operator/search?q=%D9%A6%D9%A0-12345&lang=ar",
        Some(&b.operator_act),
    )
    .await;
    assert!(ar.body.contains(r#"dir="rtl""#) && ar.body.contains("العبور"));
    assert!(
        ar.body.contains(r#"<bdi dir="ltr">6012345</bdi>"#),
        "{}",
        ar.body
    );
    let bad = get(&b.app, "/operator/search?q=%21%21", Some(&b.operator_act)).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains(r#"id="search-error""#) && bad.body.contains("q"));
    let desk = get(&b.app, "/operator", Some(&b.operator_act)).await;
    assert!(desk.body.contains(r#"action="/operator/search""#));
}

/// A referral whose plate as read differs from the booked one shows both, the differing
/// characters marked.
#[tokio::test]
async fn the_referral_marks_where_the_plate_read_differs_from_the_booking() {
    let b = bed().await;
    let req = NewBooking {
        by: None,
        company: CompanyId::parse("acme").unwrap(),
        idempotency_key: "k-mark".into(),
        plate: bawaba_domain::plate::Plate::parse("60-12346").unwrap(),
        epc: None,
        stops: vec![Stop::new(
            ZoneId::parse("act").unwrap(),
            b.now + TimeDelta::hours(3),
            TransactionType::ImportPickup,
            vec![bawaba_domain::container::ContainerNumber::parse("CSQU3054383").unwrap()],
        )],
    };
    let booked = b.store.create_booking(req, b.now).await.unwrap().booking.id;
    let mut read = passage(9, "act", "act-gate", b.now, Verdict::Refer);
    read.booking = Some(booked);
    b.store.report_passages(vec![read]).await.unwrap();
    let desk = get(&b.app, "/operator", Some(&b.operator_act)).await;
    assert!(
        desk.body
            .contains(r#"<bdi dir="ltr">601234<mark>5</mark></bdi>"#)
            && desk
                .body
                .contains(r#"<bdi dir="ltr">601234<mark>6</mark></bdi>"#),
        "{}",
        desk.body
    );
    assert!(
        desk.body
            .contains(r#"<dd class="containers"><bdi dir="ltr">CSQU3054383</bdi></dd>"#),
        "the booked containers: {}",
        desk.body
    );
}

/// The referral card names the truck and company the tag read belongs to (from the
/// fleets), or says it is in no fleet; in Arabic too.
#[tokio::test]
async fn the_referral_names_whose_truck_the_tag_is() {
    use bawaba_domain::epc::Epc;
    use bawaba_domain::fleet::FleetTruck;
    let b = bed().await;
    let tag = "E2801160600002084A1C77B1";
    let truck = FleetTruck::new(
        CompanyId::parse("zeta").unwrap(),
        bawaba_domain::plate::Plate::parse("60-77777").unwrap(),
        Some(Epc::parse_hex(tag).unwrap()),
        "Omar",
        None,
        b.now,
    )
    .unwrap();
    let who = bawaba_domain::audit::Who::system();
    b.store.save_truck(truck, who, b.now).await.unwrap();
    let mut known = passage(11, "act", "act-gate", b.now, Verdict::Refer);
    known.epc = Some(Epc::parse_hex(tag).unwrap());
    let mut unknown = passage(12, "act", "act-gate", b.now, Verdict::Refer);
    unknown.epc = Some(Epc::parse_hex("E2801160600002084A1C0000").unwrap());
    b.store.report_passages(vec![known, unknown]).await.unwrap();
    let desk = get(&b.app, "/operator", Some(&b.operator_act)).await;
    assert!(
        desk.body.contains(
            r#"<dd class="tag-trucks"><bdi dir="ltr">6077777</bdi> · <bdi>zeta</bdi></dd>"#
        ),
        "{}",
        desk.body
    );
    assert!(desk.body.contains("In no company's fleet"), "{}", desk.body);
    let ar = get(&b.app, "/operator?lang=ar", Some(&b.operator_act)).await;
    assert!(ar.body.contains("شاحنة الوسم") && ar.body.contains("ليس في أسطول أي شركة"));
}

/// The authority's feed shows the last 10 passages and links to the day's full list; the
/// list pages 100 at a time newest first, filters by zone and decision, names a bad filter,
/// and speaks Arabic.
#[tokio::test]
async fn the_days_passages_page_by_page() {
    let b = bed().await;
    let mut day = Vec::new();
    for n in 0..130u32 {
        let verdict = if n % 10 == 0 {
            Verdict::Deny
        } else {
            Verdict::Allow
        };
        let zone = if n % 2 == 0 { "act" } else { "siz" };
        let gate = if zone == "act" {
            "act-gate"
        } else {
            "siz-gate"
        };
        let at = b.now - TimeDelta::minutes(200 - i64::from(n));
        day.push(passage(u128::from(n) + 1000, zone, gate, at, verdict));
    }
    b.store.report_passages(day.clone()).await.unwrap();
    let home = get(&b.app, "/authority", Some(&b.authority)).await;
    let feed = home.body.split(r#"id="feed""#).nth(1).unwrap();
    let feed = feed.split("</tbody>").next().unwrap();
    assert_eq!(feed.matches("<tr ").count(), 10, "{feed}");
    assert!(
        home.body.contains(r#"id="feed-all""#),
        "the link to the full list"
    );

    let first = get(&b.app, "/authority/passages", Some(&b.authority)).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let rows = |body: &str| body.matches(r#"<tr data-id=""#).count();
    assert_eq!(rows(&first.body), 100);
    let newest = day.last().unwrap().id.to_string();
    assert!(
        first.body.find(&newest).unwrap() < first.body.find(&day[100].id.to_string()).unwrap(),
        "newest first"
    );
    let older = first
        .body
        .split(r#"id="passages-older" href=""#)
        .nth(1)
        .unwrap();
    let older = older.split('"').next().unwrap().replace("&amp;", "&");
    let second = get(&b.app, &older, Some(&b.authority)).await;
    assert!(rows(&second.body) >= 30, "the other 30 (and the bed's own)");
    assert!(!second.body.contains("passages-older"), "the last page");
    assert!(second.body.contains(&day[0].id.to_string()));

    let denied = get(
        &b.app,
        "/authority/passages?zone=act&verdict=DENY",
        Some(&b.authority),
    )
    .await;
    for p in day
        .iter()
        .filter(|p| p.verdict == Verdict::Deny && p.zone.as_str() == "act")
    {
        assert!(denied.body.contains(&p.id.to_string()), "{}", p.id);
    }
    assert!(!denied.body.contains("v-ALLOW") && !denied.body.contains("siz/"));
    let bad = get(
        &b.app,
        "/authority/passages?verdict=MAYBE",
        Some(&b.authority),
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("verdict"), "{}", bad.body);
    let ar = get(
        &b.app,
        "/authority/passages?lang=ar&verdict=DENY",
        Some(&b.authority),
    )
    .await;
    assert!(ar.body.contains(r#"dir="rtl""#) && ar.body.contains("العبور"));
    assert!(ar.body.contains("رُفض"), "the decision in words");
    let bad_ar = get(
        &b.app,
        "/authority/passages?lang=ar&verdict=MAYBE",
        Some(&b.authority),
    )
    .await;
    assert_eq!(bad_ar.status, StatusCode::BAD_REQUEST);
    assert!(
        bad_ar.body.contains("يرجى التحقق مما كتبته: القرار"),
        "the field named in Arabic: {}",
        bad_ar.body
    );
}

/// An operator's own decisions, the latest first, 50 a page; everyone's in their zone on
/// the other tab; another zone's operator sees none; in Arabic too.
#[tokio::test]
async fn an_operator_reads_their_own_decisions_page_by_page() {
    let b = bed().await;
    let resolve = |who: &str, id: PassageId| {
        Request::post(format!("/api/referrals/{id}/resolve"))
            .header(header::AUTHORIZATION, format!("Bearer {who}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(r#"{"approve":false,"reason":"checked"}"#))
            .unwrap()
    };
    let mut mine = Vec::new();
    for n in 0..56 {
        let id = fresh_referral(&b, 5000 + n, "act").await;
        let who = if n == 55 {
            &b.authority
        } else {
            &b.operator_act
        };
        let r = call(&b.app, resolve(who, id)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        if n < 55 {
            mine.push(id);
        }
    }
    let rows = |body: &str| body.matches(r#"<tr data-id=""#).count();
    let desk = get(&b.app, "/operator", Some(&b.operator_act)).await;
    assert!(desk.body.contains(r#"href="/operator/decisions""#));
    let first = get(&b.app, "/operator/decisions", Some(&b.operator_act)).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(rows(&first.body), 50);
    let older = first
        .body
        .split(r#"id="decisions-older" href=""#)
        .nth(1)
        .unwrap();
    let older = older.split('"').next().unwrap().replace("&amp;", "&");
    let second = get(&b.app, &older, Some(&b.operator_act)).await;
    assert_eq!(rows(&second.body), 5, "{}", second.body);
    assert!(!second.body.contains("decisions-older"));
    let all = get(&b.app, "/operator/decisions?who=all", Some(&b.operator_act)).await;
    assert_eq!(rows(&all.body), 50);
    let all_older = all
        .body
        .split(r#"id="decisions-older" href=""#)
        .nth(1)
        .unwrap();
    assert!(
        all_older.starts_with("/operator/decisions?who=all&amp;after="),
        "{all_older}"
    );
    let siz = get(&b.app, "/operator/decisions?who=all", Some(&b.operator_siz)).await;
    assert_eq!(rows(&siz.body), 0, "another zone's");
    let bad = get(
        &b.app,
        "/operator/decisions?after=nope",
        Some(&b.operator_act),
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let ar = get(&b.app, "/operator/decisions?lang=ar", Some(&b.operator_act)).await;
    assert!(ar.body.contains("قراراتي") && ar.body.contains(r#"dir="rtl""#));
}

// ---- the company portal ------------------------------------------------------------------

/// Logs in with a login name and password: the session's secret from the cookie set.
async fn log_in(b: &Bed, login: &str, password: &str) -> Reply {
    call(
        &b.app,
        login_post(&format!("login={login}&password={password}")),
    )
    .await
}

/// What a browser's login form holds: its cookie (as the form set it) and its CSRF token.
const LOGIN_FORM: &str = "bawaba_login=form-of-this-browser";

/// The login form sent with `body`, as the browser that got the form sends it.
fn login_post(body: &str) -> Request<Body> {
    let csrf = bawaba_web::csrf_for("form-of-this-browser");
    Request::post("/login")
        .header(header::COOKIE, LOGIN_FORM)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("{body}&csrf={csrf}")))
        .unwrap()
}

fn session_of(r: &Reply) -> String {
    let cookie = r.headers[header::SET_COOKIE].to_str().unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let value = cookie.split(';').next().unwrap();
    value.strip_prefix("bawaba_session=").unwrap().to_owned()
}

/// The authority makes acme's admin, who logs in, keeps the fleet and makes a user; the
/// user may not keep accounts; disabled, the user's session ends; logging out ends the
/// admin's.
#[tokio::test]
async fn a_company_admin_keeps_the_fleet_and_the_accounts() {
    let b = bed().await;
    let made = call(
        &b.app,
        form_post(
            "/authority/accounts",
            &b.authority,
            "company=acme&login=Ahmad.Acme&name=%D8%A3%D8%AD%D9%85%D8%AF&password=long-enough-pw&admin=on",
        ),
    )
    .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER);
    assert_eq!(
        made.headers[header::LOCATION],
        "/authority/accounts?company=acme&done=created"
    );
    let listed = get(
        &b.app,
        "/authority/accounts?company=acme",
        Some(&b.authority),
    )
    .await;
    assert!(
        listed.body.contains(r#"id="account-ahmad.acme""#),
        "{}",
        listed.body
    );

    let r = log_in(&b, "ahmad.acme", "long-enough-pw").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers[header::LOCATION], "/portal");
    let admin = session_of(&r);
    assert!(admin.starts_with("bws_"), "{admin}");
    let home = get(&b.app, "/", Some(&admin)).await;
    assert_eq!(home.headers[header::LOCATION], "/portal");
    let portal = get(&b.app, "/portal", Some(&admin)).await;
    assert_eq!(portal.status, StatusCode::OK);
    assert!(
        portal.body.contains(r#"id="nav-accounts""#),
        "an admin's link"
    );

    // Every post form of the page carries the session's CSRF token; a post without it
    // changes nothing.
    let fleet = get(&b.app, "/portal/fleet", Some(&admin)).await;
    let field = format!(
        r#"<input type="hidden" name="csrf" value="{}">"#,
        bawaba_web::csrf_for(&admin)
    );
    assert!(fleet.body.contains(&field), "{}", fleet.body);
    let forged = call(
        &b.app,
        Request::post("/portal/fleet")
            .header(header::COOKIE, format!("bawaba_session={admin}"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from("plate=60-12345&driver=Ali"))
            .unwrap(),
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let acme = CompanyId::parse("acme").unwrap();
    assert!(b.store.fleet(acme.clone()).await.unwrap().is_empty());
    let bad = call(
        &b.app,
        form_post(
            "/portal/fleet",
            &admin,
            "plate=60-12345&driver=Ali&phone=12",
        ),
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("phone") && bad.body.contains(r#"value="60-12345""#));
    let saved = call(
        &b.app,
        form_post(
            "/portal/fleet",
            &admin,
            "plate=60-12345&driver=Ali&phone=0791234567",
        ),
    )
    .await;
    assert_eq!(saved.headers[header::LOCATION], "/portal/fleet?done=saved");
    let fleet = get(&b.app, "/portal/fleet", Some(&admin)).await;
    assert!(fleet.body.contains("+962791234567"), "{}", fleet.body);
    let trucks = b.store.fleet(acme).await.unwrap();
    assert_eq!(trucks[0].driver, "Ali");

    let user = call(
        &b.app,
        form_post(
            "/portal/accounts",
            &admin,
            "login=omar&name=Omar&password=omar-long-pw&company=zeta",
        ),
    )
    .await;
    assert_eq!(
        user.headers[header::LOCATION],
        "/portal/accounts?done=created"
    );
    let zeta = CompanyId::parse("zeta").unwrap();
    assert!(
        b.store.accounts(zeta).await.unwrap().is_empty(),
        "the admin's own company"
    );
    let omar = session_of(&log_in(&b, "omar", "omar-long-pw").await);
    let refused = get(&b.app, "/portal/accounts", Some(&omar)).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let off = call(
        &b.app,
        form_post(
            "/portal/accounts/change",
            &admin,
            "login=omar&change=disable",
        ),
    )
    .await;
    assert_eq!(
        off.headers[header::LOCATION],
        "/portal/accounts?done=changed"
    );
    let ended = get(&b.app, "/portal", Some(&omar)).await;
    assert_eq!(
        ended.headers[header::LOCATION],
        "/login",
        "disabled: logged out"
    );

    let out = call(&b.app, form_post("/logout", &admin, "")).await;
    assert_eq!(out.headers[header::LOCATION], "/login");
    let ended = get(&b.app, "/portal", Some(&admin)).await;
    assert_eq!(ended.headers[header::LOCATION], "/login", "logged out");
}

/// Five wrong passwords lock the account: the right one is refused the same way until the
/// lockout ends; an unknown name gets the same answer. In Arabic too.
#[tokio::test]
async fn failed_logins_lock_the_account_and_say_nothing_more() {
    let b = bed().await;
    let made = call(
        &b.app,
        form_post(
            "/authority/accounts",
            &b.authority,
            "company=acme&login=sami&name=Sami&password=sami-long-pw",
        ),
    )
    .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER);
    let unknown = log_in(&b, "nobody", "whatever-pw").await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    for _ in 0..5 {
        let r = log_in(&b, "sami", "wrong-password").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert_eq!(r.body, unknown.body, "the same page");
    }
    let locked = log_in(&b, "sami", "sami-long-pw").await;
    assert_eq!(locked.status, StatusCode::UNAUTHORIZED);
    assert!(locked.body.contains("15 minutes"), "{}", locked.body);
    let ar = call(&b.app, {
        let mut r = login_post("login=sami&password=sami-long-pw");
        r.headers_mut()
            .append(header::COOKIE, "bawaba_lang=ar".parse().unwrap());
        r
    })
    .await;
    assert!(ar.body.contains("خمس محاولات فاشلة"), "{}", ar.body);
}

/// The login form comes with a cookie of its own and a token derived from it; a login sent
/// without them (from another site's form) is refused and gets the form again, new.
#[tokio::test]
async fn the_login_form_carries_its_own_token() {
    let b = bed().await;
    let form = get(&b.app, "/login", None).await;
    let set = form.headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        set.contains("Path=/login") && set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    let key = set
        .split(';')
        .next()
        .and_then(|kv| kv.strip_prefix("bawaba_login="))
        .unwrap();
    let token = bawaba_web::csrf_for(key);
    let field = format!(r#"name="csrf" value="{token}""#);
    assert_eq!(
        form.body.matches(&field).count(),
        2,
        "both forms: {}",
        form.body
    );
    let send = |cookie: Option<&str>, csrf: &str| {
        let mut r = Request::post("/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(c) = cookie {
            r = r.header(header::COOKIE, c);
        }
        r.body(Body::from(format!("token={}&csrf={csrf}", b.operator_act)))
            .unwrap()
    };
    let forged = call(&b.app, send(None, &token)).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "no form cookie");
    assert!(forged.body.contains("had expired"), "{}", forged.body);
    assert!(
        forged.headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .starts_with("bawaba_login=")
    );
    let cookie = format!("bawaba_login={key}");
    let wrong = call(&b.app, send(Some(&cookie), "0123")).await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN, "a wrong token");
    let ok = call(&b.app, send(Some(&cookie), &token)).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
}

/// An address that failed 20 times in its window must wait (429, Retry-After, in its
/// language), whichever names it tried; another address signs in.
#[tokio::test]
async fn an_address_that_fails_too_often_waits() {
    let b = bed().await;
    let from = |last: u8, body: &str| {
        let mut r = login_post(body);
        let peer = std::net::SocketAddr::from(([198, 51, 100, last], 40000));
        r.extensions_mut().insert(axum::extract::ConnectInfo(peer));
        r
    };
    for n in 0..20 {
        let r = call(
            &b.app,
            from(9, &format!("login=guess{n}&password=guess-pw-1")),
        )
        .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{n}");
    }
    let stopped = call(&b.app, from(9, &format!("token={}", b.operator_act))).await;
    assert_eq!(stopped.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(stopped.headers[header::RETRY_AFTER], "900");
    assert!(
        stopped.body.contains("Try again in 15 minutes"),
        "{}",
        stopped.body
    );
    let mut ar = from(9, "login=guess&password=guess-pw-1");
    ar.headers_mut()
        .append(header::COOKIE, "bawaba_lang=ar".parse().unwrap());
    let ar = call(&b.app, ar).await;
    assert!(
        ar.body.contains("حاول مرة أخرى بعد 15 دقيقة"),
        "{}",
        ar.body
    );
    let other = call(&b.app, from(10, &format!("token={}", b.operator_act))).await;
    assert_eq!(other.status, StatusCode::SEE_OTHER, "another address");

    // Behind the trusted proxy, each client counts for itself: the guesser is stopped, a
    // colleague behind the same proxy is not.
    let proxied = |client: &str, body: &str| {
        let mut r = login_post(body);
        let proxy = std::net::SocketAddr::from(([127, 0, 0, 9], 40000));
        r.extensions_mut().insert(axum::extract::ConnectInfo(proxy));
        r.headers_mut()
            .insert("x-forwarded-for", client.parse().unwrap());
        r
    };
    for n in 0..20 {
        let r = call(
            &b.app,
            proxied("198.51.100.50", &format!("login=g{n}&password=guess-pw-1")),
        )
        .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let token = format!("token={}", b.operator_act);
    let stopped = call(&b.app, proxied("198.51.100.50", &token)).await;
    assert_eq!(stopped.status, StatusCode::TOO_MANY_REQUESTS, "the guesser");
    let colleague = call(&b.app, proxied("198.51.100.51", &token)).await;
    assert_eq!(
        colleague.status,
        StatusCode::SEE_OTHER,
        "behind the same proxy"
    );
}

/// The slip image of booking `id`, as `session` gets it: status, headers, bytes.
async fn slip_image(
    b: &Bed,
    id: &str,
    session: &str,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let req = Request::get(format!("/portal/bookings/{id}/slip.png"))
        .header(header::COOKIE, format!("bawaba_session={session}"))
        .body(Body::empty())
        .unwrap();
    let res = b.app.clone().oneshot(req).await.unwrap();
    let (status, headers) = (res.status(), res.headers().clone());
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 22)
        .await
        .unwrap();
    (status, headers, bytes.to_vec())
}

/// The text of the one QR code in a PNG image.
fn read_qr(png_bytes: &[u8]) -> String {
    let mut r = png::Decoder::new(std::io::Cursor::new(png_bytes))
        .read_info()
        .unwrap();
    let mut grey = vec![0; r.output_buffer_size().unwrap()];
    let info = r.next_frame(&mut grey).unwrap();
    let w = info.width as usize;
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, info.height as usize, |x, y| {
        grey[y * w + x]
    });
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one code");
    grids[0].decode().unwrap().1
}

/// Past its change cut-off a booking's page offers no move and no cancel (they would be
/// refused): it says when the cut-off was, in both languages.
#[tokio::test]
async fn past_the_change_cut_off_the_page_offers_no_change() {
    let b = bed().await;
    let admin = portal_admin(&b, "acme").await;
    let bk = book_act(&b, "late", "60-44444").await;
    let page = get(&b.app, &format!("/portal/bookings/{}", bk.id), Some(&admin)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Too late to change"), "{}", page.body);
    assert!(!page.body.contains(r#"id="move-0""#) && !page.body.contains("cancel-form"));
    let ar = get(
        &b.app,
        &format!("/portal/bookings/{}?lang=ar", bk.id),
        Some(&admin),
    )
    .await;
    assert!(ar.body.contains("فات وقت التعديل"), "{}", ar.body);
}

/// The portal's pages in Arabic: right to left, the words translated, plates isolated.
#[tokio::test]
async fn the_portal_speaks_arabic() {
    let b = bed().await;
    call(
        &b.app,
        form_post(
            "/authority/accounts",
            &b.authority,
            "company=acme&login=ahmad&name=Ahmad&password=ahmad-long-pw&admin=on",
        ),
    )
    .await;
    let admin = session_of(&log_in(&b, "ahmad", "ahmad-long-pw").await);
    call(
        &b.app,
        form_post(
            "/portal/fleet",
            &admin,
            "plate=60-12345&driver=%D8%B9%D9%84%D9%8A",
        ),
    )
    .await;
    for path in [
        "/portal?lang=ar",
        "/portal/fleet?lang=ar",
        "/portal/accounts?lang=ar",
    ] {
        let r = get(&b.app, path, Some(&admin)).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert!(r.body.contains(r#"dir="rtl""#), "{path}");
        assert!(r.body.contains("الأسطول"), "{path}: the nav in Arabic");
    }
    let fleet = get(&b.app, "/portal/fleet?lang=ar", Some(&admin)).await;
    assert!(fleet.body.contains(r#"<bdi dir="ltr">6012345</bdi>"#));
}

/// `name="<field>" value="..."` of the first input named `field` in `html`.
fn input_value(html: &str, field: &str) -> String {
    let needle = format!(r#"name="{field}" value=""#);
    let at = html
        .find(&needle)
        .unwrap_or_else(|| panic!("no {field} in {html}"))
        + needle.len();
    html[at..].split('"').next().unwrap().to_owned()
}

/// An admin of `company` logged in: the session.
async fn portal_admin(b: &Bed, company: &str) -> String {
    let login = format!("{company}-admin");
    let made = call(
        &b.app,
        form_post(
            "/authority/accounts",
            &b.authority,
            format!("company={company}&login={login}&name=Admin&password=admin-long-pw&admin=on"),
        ),
    )
    .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER);
    session_of(&log_in(b, &login, "admin-long-pw").await)
}

/// A company books from the portal: it picks a window of the week, books a truck of its
/// fleet with a container, sending the form twice books once; the booking's page, slip (QR)
/// move and cancel work; another company finds nothing; a bad container is named.
#[tokio::test]
async fn a_company_books_moves_and_cancels_from_the_portal() {
    let b = bed().await;
    let admin = portal_admin(&b, "acme").await;
    call(
        &b.app,
        form_post(
            "/portal/fleet",
            &admin,
            "plate=60-12345&driver=Ali&tag=E2801160600002084A2B5C1D",
        ),
    )
    .await;
    let week = get(
        &b.app,
        "/portal/book?zone=act&type=IMPORT_PICKUP&from=2026-11-27",
        Some(&admin),
    )
    .await;
    assert_eq!(week.status, StatusCode::OK);
    assert!(
        week.body.contains(r#"<option value="6012345">"#),
        "the fleet's plates"
    );
    let window = input_value(&week.body, "window");
    assert_eq!(
        window, "2026-11-26T21:00:00+00:00",
        "midnight in Amman, the first window"
    );
    let key = input_value(&week.body, "key");
    let form = format!(
        "zone=act&type=IMPORT_PICKUP&key={key}&plate=60-12345&containers=CSQU3054383&window={}",
        url(&window)
    );
    let booked = call(&b.app, form_post("/portal/book", &admin, &form)).await;
    assert_eq!(booked.status, StatusCode::SEE_OTHER, "{}", booked.body);
    let to = booked.headers[header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(to.ends_with("?done=booked"), "{to}");
    let again = call(&b.app, form_post("/portal/book", &admin, &form)).await;
    assert_eq!(
        again.headers[header::LOCATION],
        to.as_str(),
        "sent twice, booked once"
    );
    let id = to
        .trim_start_matches("/portal/bookings/")
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let stored = b
        .store
        .get_booking(Actor::Authority, id.parse().unwrap())
        .await
        .unwrap();
    assert!(stored.epc.is_some(), "the fleet's tag");
    let page = get(&b.app, &to, Some(&admin)).await;
    assert!(page.body.contains(&id) && page.body.contains("CSQU3054383"));
    let slip = get(
        &b.app,
        &format!("/portal/bookings/{id}/slip?lang=ar"),
        Some(&admin),
    )
    .await;
    assert_eq!(slip.status, StatusCode::OK);
    assert!(slip.body.contains("<svg") && slip.body.contains(r#"dir="rtl""#));
    assert!(
        slip.body.contains("02:00–03:00") || slip.body.contains("00:00–01:00"),
        "{}",
        slip.body
    );

    assert!(
        slip.body
            .contains(&format!(r#"href="/portal/bookings/{id}/slip.png""#))
    );
    let image = slip_image(&b, &id, &admin).await;
    assert_eq!(image.0, StatusCode::OK);
    assert_eq!(image.1[header::CONTENT_TYPE], "image/png");
    assert_eq!(read_qr(&image.2), id, "the image's code is the booking id");

    let other = portal_admin(&b, "zeta").await;
    let hidden = get(&b.app, &to, Some(&other)).await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND, "another company's");
    let hidden = slip_image(&b, &id, &other).await;
    assert_eq!(hidden.0, StatusCode::NOT_FOUND, "another company's image");

    let bad = format!(
        "zone=act&type=IMPORT_PICKUP&key=k2&plate=60-22222&containers=CSQU3054384&window={}",
        url(&window)
    );
    let refused = call(&b.app, form_post("/portal/book", &admin, &bad)).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.body.contains("containers") && refused.body.contains(r#"value="60-22222""#));

    let moved = call(
        &b.app,
        form_post(
            format!("/portal/bookings/{id}/move"),
            &admin,
            "stop=0&window=2026-11-27T10%3A00",
        ),
    )
    .await;
    assert_eq!(
        moved.headers[header::LOCATION],
        format!("/portal/bookings/{id}?done=moved").as_str()
    );
    let cancelled = call(
        &b.app,
        form_post(
            format!("/portal/bookings/{id}/cancel"),
            &admin,
            "reason=truck+broke+down",
        ),
    )
    .await;
    assert_eq!(cancelled.status, StatusCode::SEE_OTHER);
    let page = get(
        &b.app,
        &format!("/portal/bookings/{id}?lang=ar"),
        Some(&admin),
    )
    .await;
    assert!(page.body.contains("ملغى"), "cancelled, in Arabic");
    assert!(!page.body.contains(r#"id="move-forms""#), "no more changes");
    let listed = |q: &str| {
        let q = q.to_owned();
        let admin = admin.clone();
        let app = b.app.clone();
        async move { get(&app, &format!("/portal?{q}"), Some(&admin)).await }
    };
    assert!(
        listed("state=CANCELLED&from=2026-11-26")
            .await
            .body
            .contains(&id)
    );
    assert!(
        !listed("state=BOOKED&from=2026-11-26")
            .await
            .body
            .contains(&id)
    );
    assert!(
        !listed("from=2026-11-28").await.body.contains(&id),
        "before the range"
    );
    let bad = listed("state=GONE").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("state"));
}

/// A window the company may no longer take: refused (409) in the page's language, the
/// nearest free windows marked and the first of them chosen.
#[tokio::test]
async fn a_refused_booking_offers_the_nearest_windows() {
    let b = bed().await;
    let admin = portal_admin(&b, "acme").await;
    let mut refused = None;
    for n in 0..12 {
        let form = format!(
            "zone=act&type=GENERAL_CARGO&key=k{n}&plate=60-{:05}&containers=&window=2026-11-27T10%3A00",
            20000 + n
        );
        let r = call(&b.app, form_post("/portal/book", &admin, &form)).await;
        if r.status != StatusCode::SEE_OTHER {
            refused = Some((n, form));
            break;
        }
    }
    let (n, form) = refused.expect("the company's share or the window runs out");
    let ar = call(
        &b.app,
        Request::post("/portal/book")
            .header(
                header::COOKIE,
                format!("bawaba_session={admin}; bawaba_lang=ar"),
            )
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!(
                "{form}&csrf={}",
                bawaba_web::csrf_for(&admin)
            )))
            .unwrap(),
    )
    .await;
    assert_eq!(ar.status, StatusCode::CONFLICT, "after {n}: {}", ar.body);
    assert!(
        ar.body.contains("تشغل شركتك حصتها") || ar.body.contains("ممتلئة"),
        "{}",
        ar.body
    );
    assert!(
        ar.body.contains(r#"class="window alt""#),
        "the alternatives marked"
    );
    assert!(ar.body.contains(" checked"), "the nearest chosen");
}

/// `v` as a form value (the times of these tests: `:` and `+`).
fn url(v: &str) -> String {
    v.replace(':', "%3A").replace('+', "%2B")
}

/// The events page lists the company's events with their deliveries; an admin sets the
/// webhook there (the secret shown once); a user who is not an admin may not.
#[tokio::test]
async fn the_events_page_and_the_webhook() {
    let b = bed().await;
    let admin = portal_admin(&b, "acme").await;
    book_act(&b, "events-1", "60-31313").await;
    let page = get(&b.app, "/portal/events", Some(&admin)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(r#"id="event-1""#), "{}", page.body);
    assert!(page.body.contains("booked") && page.body.contains("not sent"));
    let set = call(
        &b.app,
        form_post(
            "/portal/webhook",
            &admin,
            "url=https%3A%2F%2Ftms.acme.jo%2Fbawaba&secret=",
        ),
    )
    .await;
    assert_eq!(set.status, StatusCode::OK);
    assert!(set.body.contains("shown this once"), "{}", set.body);
    assert!(set.body.contains("https://tms.acme.jo/bawaba"));
    let bad = call(
        &b.app,
        form_post("/portal/webhook", &admin, "url=ftp%3A%2F%2Fx"),
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    call(
        &b.app,
        form_post(
            "/portal/accounts",
            &admin,
            "login=omar&name=Omar&password=omar-long-pw",
        ),
    )
    .await;
    let omar = session_of(&log_in(&b, "omar", "omar-long-pw").await);
    let page = get(&b.app, "/portal/events?lang=ar", Some(&omar)).await;
    assert!(
        !page.body.contains(r#"id="webhook-form""#),
        "not an admin's page"
    );
    assert!(page.body.contains("تم الحجز"), "the event in Arabic");
    let refused = call(
        &b.app,
        form_post("/portal/webhook", &omar, "url=https%3A%2F%2Fevil.example"),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}
