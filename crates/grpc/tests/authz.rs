//! The authorization matrix: every RPC of the service descriptors × every kind of caller ×
//! an object inside and one outside the caller's scope, against a real server (sled store,
//! gRPC on 127.0.0.1). An RPC without a row fails the test, so a new one cannot ship
//! unchecked.
//!
//! Expected: no, malformed or revoked token → UNAUTHENTICATED; a role the RPC is not for →
//! PERMISSION_DENIED; an object out of scope → NOT_FOUND (exactly as one that does not exist);
//! otherwise OK.

#![allow(clippy::unwrap_used)] // test code: a failed setup is a failed test

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use bawaba_app::{App, SystemClock};
use bawaba_domain::access::{Principal, Role};
use bawaba_domain::calendar::{SlotLength, TransactionType, WindowCapacity, ZoneConfig};
use bawaba_domain::ids::{BookingId, CompanyId, GateId, LaneId, PassageId, ZoneId};
use bawaba_domain::ledger::{Direction, Gate, Lane, NewBooking, Stop};
use bawaba_domain::notify::Webhook;
use bawaba_domain::passage::{Passage, Reason, Verdict};
use bawaba_domain::plate::Plate;
use bawaba_grpc::{Scheduler, pb, timestamp};
use bawaba_store::{Setup, SledStore, Store, TokenBook};
use chrono::{DateTime, TimeDelta, Timelike, Utc};
use prost::Message;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic::{Code, Request, Status};

/// Which of the two worlds an object belongs to: zone `act` (company acme, gate act-gate)
/// or zone `siz` (company zeta, gate siz-gate).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Act,
    Siz,
}

impl Side {
    fn zone(self) -> &'static str {
        match self {
            Side::Act => "act",
            Side::Siz => "siz",
        }
    }
    fn company(self) -> &'static str {
        match self {
            Side::Act => "acme",
            Side::Siz => "zeta",
        }
    }
    fn gate(self) -> String {
        format!("{}-gate", self.zone())
    }
}

/// What an RPC's objects are scoped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// Names nothing scoped (the authority's administration, listings filtered to scope).
    Nothing,
    /// A zone every company may book in, but a zone-limited token only its own.
    Zone,
    /// A company's booking, or the company itself.
    Company,
    /// A gate, lane, referral or passage: staff of its zone.
    Staff,
}

struct Rule {
    roles: &'static [Role],
    scope: Scope,
}

const ANY: &[Role] = &[Role::Company, Role::Gate, Role::Operator, Role::Authority];
const BOOKERS: &[Role] = &[Role::Company, Role::Authority];
const AUTHORITY: &[Role] = &[Role::Authority];
const GATES: &[Role] = &[Role::Gate, Role::Authority];
const OPERATORS: &[Role] = &[Role::Operator, Role::Authority];
const SECURITY: &[Role] = &[Role::Security, Role::Authority];
/// Who may read the zones' configuration: everyone but the alerts feed.
const ZONE_READERS: &[Role] = &[
    Role::Company,
    Role::Gate,
    Role::Operator,
    Role::Authority,
    Role::Security,
];

/// The row of each RPC: who may call it, and what its objects are scoped by.
fn rule(method: &str) -> Option<Rule> {
    let (roles, scope) = match method {
        "BookingService/CreateBooking" => (BOOKERS, Scope::Company),
        "BookingService/GetBooking" => (ANY, Scope::Company),
        "BookingService/ListBookings" => (ANY, Scope::Zone),
        "BookingService/MoveBooking"
        | "BookingService/CancelBooking"
        | "BookingService/WatchEvents" => (BOOKERS, Scope::Company),
        "SlotService/ListWindows" | "SlotService/FindSlots" => (ANY, Scope::Zone),
        "AdminService/ListZones" => (ZONE_READERS, Scope::Nothing),
        "AdminService/ListGates" => (ANY, Scope::Nothing),
        "AdminService/UpsertZone"
        | "AdminService/SetCapacityTemplate"
        | "AdminService/SetCapacity"
        | "AdminService/RemoveCapacityOverride"
        | "AdminService/AddClosure"
        | "AdminService/RemoveClosure"
        | "AdminService/SetCompanyCap"
        | "AdminService/UpsertGate"
        | "AdminService/ListNoShows"
        | "AdminService/RunNoShowSweep"
        | "AdminService/ListAudit"
        | "AdminService/Backup" => (AUTHORITY, Scope::Nothing),
        "GateService/SyncBookings" | "GateService/ReportPassages" | "GateService/GateCommands" => {
            (GATES, Scope::Staff)
        }
        "OperatorService/ListReferrals"
        | "OperatorService/ListPassages"
        | "OperatorService/ResolveReferral" => (OPERATORS, Scope::Staff),
        "SecurityService/AddWatch"
        | "SecurityService/RemoveWatch"
        | "SecurityService/ListWatch" => (SECURITY, Scope::Staff),
        "CompanyService/SetWebhook"
        | "CompanyService/GetWebhook"
        | "CompanyService/RemoveWebhook"
        | "CompanyService/ListWebhookDeliveries"
        | "CompanyService/SaveTruck"
        | "CompanyService/RemoveTruck"
        | "CompanyService/ListTrucks"
        | "CompanyService/ListTexts" => (BOOKERS, Scope::Company),
        // Over gRPC only the authority keeps a company's accounts (a company's machine token
        // is no company admin; an admin's portal session is the web's).
        "CompanyService/CreateAccount"
        | "CompanyService/ListAccounts"
        | "CompanyService/UpdateAccount" => (AUTHORITY, Scope::Company),
        _ => return None,
    };
    Some(Rule { roles, scope })
}

/// A caller: how it authenticates, and (for a valid token) its role and side.
#[derive(Debug, Clone)]
struct Caller {
    name: &'static str,
    header: Option<String>,
    who: Option<(Role, Option<Side>)>,
}

fn expected(rule: &Rule, caller: &Caller, target: Side) -> Code {
    let Some((role, own)) = caller.who else {
        return Code::Unauthenticated;
    };
    if !rule.roles.contains(&role) {
        return Code::PermissionDenied;
    }
    let in_scope = match rule.scope {
        Scope::Nothing => true,
        Scope::Zone if role == Role::Company => true,
        Scope::Zone | Scope::Company | Scope::Staff => {
            role == Role::Authority || own == Some(target)
        }
    };
    if in_scope { Code::Ok } else { Code::NotFound }
}

/// Every RPC of bawaba.v1, as `Service/Method`, from the descriptors the server reflects.
fn rpcs() -> BTreeSet<String> {
    let set = prost_types::FileDescriptorSet::decode(pb::FILE_DESCRIPTOR_SET).unwrap();
    set.file
        .into_iter()
        .flat_map(|f| f.service)
        .flat_map(|s| {
            let service = s.name.unwrap_or_default();
            s.method
                .into_iter()
                .map(move |m| format!("{service}/{}", m.name.unwrap_or_default()))
        })
        .collect()
}

/// Adds the caller's `authorization` metadata, whatever it is.
#[derive(Debug, Clone)]
struct Header(Option<MetadataValue<Ascii>>);

impl tonic::service::Interceptor for Header {
    fn call(&mut self, mut req: Request<()>) -> Result<Request<()>, Status> {
        if let Some(v) = &self.0 {
            req.metadata_mut().insert("authorization", v.clone());
        }
        Ok(req)
    }
}

type Svc = InterceptedService<Channel, Header>;

struct Clients {
    bookings: pb::booking_service_client::BookingServiceClient<Svc>,
    slots: pb::slot_service_client::SlotServiceClient<Svc>,
    admin: pb::admin_service_client::AdminServiceClient<Svc>,
    security: pb::security_service_client::SecurityServiceClient<Svc>,
    company: pb::company_service_client::CompanyServiceClient<Svc>,
    gate: pb::gate_service_client::GateServiceClient<Svc>,
    operator: pb::operator_service_client::OperatorServiceClient<Svc>,
}

impl Clients {
    fn new(channel: &Channel, header: Option<&str>) -> Clients {
        let h = Header(header.map(|h| h.parse().unwrap()));
        Clients {
            bookings: pb::booking_service_client::BookingServiceClient::with_interceptor(
                channel.clone(),
                h.clone(),
            ),
            slots: pb::slot_service_client::SlotServiceClient::with_interceptor(
                channel.clone(),
                h.clone(),
            ),
            admin: pb::admin_service_client::AdminServiceClient::with_interceptor(
                channel.clone(),
                h.clone(),
            ),
            security: pb::security_service_client::SecurityServiceClient::with_interceptor(
                channel.clone(),
                h.clone(),
            ),
            company: pb::company_service_client::CompanyServiceClient::with_interceptor(
                channel.clone(),
                h.clone(),
            ),
            gate: pb::gate_service_client::GateServiceClient::with_interceptor(
                channel.clone(),
                h.clone(),
            ),
            operator: pb::operator_service_client::OperatorServiceClient::with_interceptor(
                channel.clone(),
                h,
            ),
        }
    }
}

struct Bed {
    store: Arc<SledStore>,
    booked: [BookingId; 2],
    n: AtomicU32,
    _stop: tokio::sync::watch::Sender<bool>,
    _dir: tempfile::TempDir,
}

fn zid(z: &str) -> ZoneId {
    ZoneId::parse(z).unwrap()
}

/// The next whole hour and `n` hours after it.
fn window(n: u32) -> DateTime<Utc> {
    let now = Utc::now();
    let hour = now
        .with_minute(0)
        .and_then(|t| t.with_second(0))
        .and_then(|t| t.with_nanosecond(0))
        .unwrap();
    hour + TimeDelta::hours(1 + i64::from(n % 100))
}

fn zone_config(id: &str) -> ZoneConfig {
    let mut cfg = ZoneConfig::new(
        zid(id),
        id,
        SlotLength::from_minutes(60).unwrap(),
        WindowCapacity::uniform(1000),
    );
    cfg.rules.booking_cutoff_minutes = 0;
    cfg.rules.change_cutoff_minutes = 0;
    cfg.rules.company_cap_percent = 100;
    cfg.rules.require_containers = false;
    cfg
}

fn gate(zone: &str) -> Gate {
    let lane = |id: &str, direction| Lane {
        id: LaneId::parse(id).unwrap(),
        direction,
    };
    Gate {
        id: GateId::parse(&format!("{zone}-gate")).unwrap(),
        zone: zid(zone),
        name: format!("{zone} gate"),
        lanes: vec![lane("in-1", Direction::In), lane("out-1", Direction::Out)],
        name_ar: String::new(),
    }
}

impl Bed {
    fn next(&self) -> u32 {
        self.n.fetch_add(1, Ordering::Relaxed)
    }

    /// Gives `side`'s company a webhook (whatever an earlier call did to it).
    async fn hook(&self, side: Side) {
        let company = CompanyId::parse(side.company()).unwrap();
        let url = "http://127.0.0.1:9/hook";
        let hook = Webhook::new(company.clone(), url, "0123456789abcdef", Utc::now()).unwrap();
        let who = bawaba_domain::audit::Who::system();
        let set = self.store.set_webhook(company, Some(hook), who, Utc::now());
        set.await.unwrap();
    }

    /// Puts truck 60-66666 in `side`'s company's fleet (whatever an earlier call did).
    async fn truck(&self, side: Side) {
        let company = CompanyId::parse(side.company()).unwrap();
        let plate = bawaba_domain::plate::Plate::parse("60-66666").unwrap();
        let truck =
            bawaba_domain::fleet::FleetTruck::new(company, plate, None, "", None, Utc::now());
        let who = bawaba_domain::audit::Who::system();
        self.store
            .save_truck(truck.unwrap(), who, Utc::now())
            .await
            .unwrap();
    }

    /// Gives `side`'s company the portal account `user-<company>` (whatever an earlier call
    /// did).
    async fn account(&self, side: Side) {
        let login = bawaba_domain::account::Login::parse(&format!("user-{}", side.company()));
        let account = bawaba_domain::account::Account {
            login: login.unwrap(),
            company: CompanyId::parse(side.company()).unwrap(),
            name: "User".into(),
            admin: false,
            hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
            disabled: false,
            failures: 0,
            locked_until: None,
            created_at: Utc::now(),
        };
        let who = bawaba_domain::audit::Who::system();
        let _taken_by_an_earlier_call = self.store.create_account(account, who, Utc::now()).await;
    }

    /// A fresh booking of `side`'s company in `side`'s zone.
    async fn book(&self, side: Side) -> BookingId {
        let n = self.next();
        let req = NewBooking {
            by: None,
            company: CompanyId::parse(side.company()).unwrap(),
            idempotency_key: format!("bed-{n}"),
            plate: Plate::parse(&format!("60-{:05}", 20_000 + n)).unwrap(),
            epc: None,
            stops: vec![Stop::new(
                zid(side.zone()),
                window(n),
                TransactionType::GeneralCargo,
                vec![],
            )],
        };
        self.store
            .create_booking(req, Utc::now())
            .await
            .unwrap()
            .booking
            .id
    }

    /// A fresh one-off capacity of zone `tmp` (put there through the store): its id.
    async fn one_off(&self) -> u64 {
        let from = Utc::now() + TimeDelta::days(30);
        let change = bawaba_domain::ledger::AdminChange::AddOverride {
            zone: zid("tmp"),
            from,
            to: from + TimeDelta::hours(2),
            capacity: WindowCapacity::uniform(2),
            reason: "matrix".into(),
        };
        let done = self
            .store
            .administer(change, bawaba_domain::audit::Who::system(), Utc::now())
            .await
            .unwrap();
        match done {
            bawaba_domain::ledger::Administered::Zone(z) => z.overrides.last().unwrap().id,
            other => panic!("{other:?}"),
        }
    }

    /// A fresh plate on `side`'s zone's watchlist (put there through the store).
    async fn watched(&self, side: Side) -> String {
        use bawaba_domain::watch::{WatchAction, WatchEntry, WatchTarget};
        let plate = format!("73-{:05}", 50_000 + self.next());
        let entry = WatchEntry {
            target: WatchTarget::Plate(Plate::parse(&plate).unwrap()),
            reason: "matrix".into(),
            action: WatchAction::Refer,
            until: None,
            added: Utc::now(),
        };
        let change = bawaba_domain::ledger::AdminChange::Watch {
            zone: zid(side.zone()),
            entry,
        };
        self.store
            .administer(change, bawaba_domain::audit::Who::system(), Utc::now())
            .await
            .unwrap();
        plate
    }

    /// A passage at `side`'s gate, through its IN lane.
    fn passage(&self, side: Side, verdict: Verdict) -> Passage {
        let now = Utc::now();
        Passage {
            id: PassageId::new(now, u128::from(self.next())),
            zone: zid(side.zone()),
            gate: GateId::parse(&side.gate()).unwrap(),
            lane: LaneId::parse("in-1").unwrap(),
            direction: Direction::In,
            first_read_at: now,
            last_read_at: now,
            decided_at: now,
            plate: Some(Plate::parse("60-12345").unwrap()),
            confidence: Some(40),
            epc: None,
            verdict,
            reasons: vec![Reason::LowConfidence],
            booking: None,
            offline: false,
        }
    }

    /// A fresh open referral at `side`'s gate.
    async fn referral(&self, side: Side) -> PassageId {
        let x = self.passage(side, Verdict::Refer);
        self.store.report_passages(vec![x.clone()]).await.unwrap();
        x.id
    }
}

async fn start() -> (Bed, String, Vec<Caller>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SledStore::open(dir.path()).unwrap());
    for z in ["act", "siz", "tmp"] {
        store.upsert_zone(zone_config(z)).await.unwrap();
        store.upsert_gate(gate(z)).await.unwrap();
    }
    let tokens = Arc::new(TokenBook::new(dir.path()));
    let issue = |role, company: Option<&str>, zone: Option<&str>| {
        let p = Principal::new(
            role,
            company.map(|c| CompanyId::parse(c).unwrap()),
            zone.map(zid),
        )
        .unwrap();
        format!("Bearer {}", tokens.issue(&p, None, Utc::now()).unwrap())
    };
    let revoked = issue(Role::Authority, None, None);
    let id = tokens.list().unwrap().last().unwrap().id.clone();
    tokens.revoke(&id, Utc::now()).unwrap();
    let callers = vec![
        Caller {
            name: "no token",
            header: None,
            who: None,
        },
        Caller {
            name: "malformed",
            header: Some("Basic YWxpOnNlc2FtZQ==".into()),
            who: None,
        },
        Caller {
            name: "revoked",
            header: Some(revoked),
            who: None,
        },
        Caller {
            name: "company acme",
            header: Some(issue(Role::Company, Some("acme"), None)),
            who: Some((Role::Company, Some(Side::Act))),
        },
        Caller {
            name: "company zeta",
            header: Some(issue(Role::Company, Some("zeta"), None)),
            who: Some((Role::Company, Some(Side::Siz))),
        },
        Caller {
            name: "gate of act",
            header: Some(issue(Role::Gate, None, Some("act"))),
            who: Some((Role::Gate, Some(Side::Act))),
        },
        Caller {
            name: "operator of act",
            header: Some(issue(Role::Operator, None, Some("act"))),
            who: Some((Role::Operator, Some(Side::Act))),
        },
        Caller {
            name: "authority",
            header: Some(issue(Role::Authority, None, None)),
            who: Some((Role::Authority, None)),
        },
        // The early warning system's token: it posts CAP alerts over HTTP and may call no
        // RPC at all.
        Caller {
            name: "security of act",
            header: Some(issue(Role::Security, None, Some("act"))),
            who: Some((Role::Security, Some(Side::Act))),
        },
        Caller {
            name: "alerts feed",
            header: Some(issue(Role::Alerts, None, None)),
            who: Some((Role::Alerts, None)),
        },
    ];
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = format!("http://{}", listener.local_addr().unwrap());
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let app = App::new(Arc::clone(&store), tokens, Arc::new(SystemClock));
    tokio::spawn(Scheduler { app, tls: None }.serve(listener, async move {
        let _ = stopped.changed().await;
    }));
    let mut bed = Bed {
        store,
        booked: [BookingId::new(Utc::now(), 0); 2],
        n: AtomicU32::new(0),
        _stop: stop,
        _dir: dir,
    };
    bed.booked = [bed.book(Side::Act).await, bed.book(Side::Siz).await];
    (bed, addr, callers)
}

/// Calls `method` as `c` on an object of `side`: the code of the answer.
async fn call(b: &Bed, c: &mut Clients, method: &str, side: Side) -> Code {
    let zone_id = side.zone().to_owned();
    let booked = b.booked[usize::from(side == Side::Siz)].to_string();
    let at = |t: DateTime<Utc>| Some(timestamp(t));
    let r: Result<(), Status> = match method {
        "BookingService/CreateBooking" => {
            let n = b.next();
            let req = pb::CreateBookingRequest {
                company_id: side.company().into(),
                idempotency_key: format!("m-{n}"),
                truck_plate: format!("71-{:05}", 30_000 + n),
                stops: vec![pb::StopRequest {
                    zone_id,
                    window_start: at(window(n)),
                    transaction_type: pb::TransactionType::GeneralCargo as i32,
                    container_numbers: vec![],
                }],
                ..Default::default()
            };
            c.bookings.create_booking(req).await.map(drop)
        }
        "BookingService/GetBooking" => {
            let req = pb::GetBookingRequest { booking_id: booked };
            c.bookings.get_booking(req).await.map(drop)
        }
        "BookingService/WatchEvents" => {
            // A stream: refused at once, or open (its events are the stream test's).
            let req = pb::WatchEventsRequest {
                company_id: side.company().into(),
                after_seq: 0,
            };
            c.bookings.watch_events(req).await.map(drop)
        }
        "BookingService/ListBookings" => {
            let req = pb::ListBookingsRequest {
                zone_id,
                ..Default::default()
            };
            c.bookings.list_bookings(req).await.map(drop)
        }
        "BookingService/MoveBooking" => {
            let id = b.book(side).await;
            let req = pb::MoveBookingRequest {
                booking_id: id.to_string(),
                stop_index: 0,
                new_window_start: at(window(b.next())),
            };
            c.bookings.move_booking(req).await.map(drop)
        }
        "BookingService/CancelBooking" => {
            let id = b.book(side).await;
            let req = pb::CancelBookingRequest {
                booking_id: id.to_string(),
                reason: "matrix".into(),
            };
            c.bookings.cancel_booking(req).await.map(drop)
        }
        "SlotService/ListWindows" => {
            let req = pb::ListWindowsRequest {
                zone_id,
                from: at(window(0)),
                to: at(window(3)),
            };
            c.slots.list_windows(req).await.map(drop)
        }
        "SlotService/FindSlots" => {
            let req = pb::FindSlotsRequest {
                zone_id,
                transaction_type: pb::TransactionType::GeneralCargo as i32,
                ..Default::default()
            };
            c.slots.find_slots(req).await.map(drop)
        }
        "AdminService/ListZones" => c
            .admin
            .list_zones(pb::ListZonesRequest::default())
            .await
            .map(drop),
        "AdminService/ListGates" => c
            .admin
            .list_gates(pb::ListGatesRequest::default())
            .await
            .map(drop),
        "AdminService/UpsertZone" => {
            let req = pb::UpsertZoneRequest {
                zone_id: "tmp".into(),
                name: "Temporary".into(),
                slot_minutes: 60,
                default_capacity: 5,
                ..Default::default()
            };
            c.admin.upsert_zone(req).await.map(drop)
        }
        "AdminService/SetCapacityTemplate" => {
            let req = pb::SetCapacityTemplateRequest {
                zone_id: "tmp".into(),
                default_capacity: 5,
                ..Default::default()
            };
            c.admin.set_capacity_template(req).await.map(drop)
        }
        "AdminService/SetCapacity" => {
            let req = pb::SetCapacityRequest {
                zone_id: "tmp".into(),
                weekdays: vec![5],
                from_hour: 6,
                to_hour: 8,
                capacity: 4,
                ..Default::default()
            };
            c.admin.set_capacity(req).await.map(drop)
        }
        "AdminService/RemoveCapacityOverride" => {
            // A one-off capacity of the zone, put there first, so the call has one to remove.
            let id = b.one_off().await;
            let req = pb::RemoveCapacityOverrideRequest {
                zone_id: "tmp".into(),
                override_id: id,
            };
            c.admin.remove_capacity_override(req).await.map(drop)
        }
        "AdminService/AddClosure" => {
            let req = pb::AddClosureRequest {
                zone_id: "tmp".into(),
                from: at(window(50)),
                to: at(window(51)),
                reason: "matrix".into(),
                ..Default::default()
            };
            c.admin.add_closure(req).await.map(drop)
        }
        "AdminService/RemoveClosure" => {
            let (closure, _) = b
                .store
                .add_closure(zid("tmp"), window(60), window(61), "matrix".into())
                .await
                .unwrap();
            let req = pb::RemoveClosureRequest {
                zone_id: "tmp".into(),
                closure_id: closure.id,
            };
            c.admin.remove_closure(req).await.map(drop)
        }
        "AdminService/SetCompanyCap" => {
            let req = pb::SetCompanyCapRequest {
                zone_id: "tmp".into(),
                company_id: "acme".into(),
                percent: 50,
            };
            c.admin.set_company_cap(req).await.map(drop)
        }
        "AdminService/UpsertGate" => {
            let g = bawaba_grpc::convert::pb_gate(&gate("tmp"));
            c.admin.upsert_gate(g).await.map(drop)
        }
        "AdminService/ListNoShows" => c
            .admin
            .list_no_shows(pb::ListNoShowsRequest::default())
            .await
            .map(drop),
        "AdminService/RunNoShowSweep" => c
            .admin
            .run_no_show_sweep(pb::RunNoShowSweepRequest::default())
            .await
            .map(drop),
        "AdminService/Backup" => {
            // A stream: refused at once, or every record (the backup tests read it whole).
            async {
                let mut chunks = c.admin.backup(pb::BackupRequest {}).await?.into_inner();
                while chunks.message().await?.is_some() {}
                Ok(())
            }
            .await
        }
        "AdminService/ListAudit" => {
            let req = pb::ListAuditRequest {
                zone_id,
                ..Default::default()
            };
            c.admin.list_audit(req).await.map(drop)
        }
        "SecurityService/AddWatch" => {
            let entry = pb::WatchEntry {
                plate: format!("72-{:05}", 40_000 + b.next()),
                reason: "matrix".into(),
                action: pb::WatchAction::Refer as i32,
                ..Default::default()
            };
            let req = pb::AddWatchRequest {
                zone_id,
                entry: Some(entry),
            };
            c.security.add_watch(req).await.map(drop)
        }
        "SecurityService/RemoveWatch" => {
            // An entry of the zone, put there first, so the call has something to remove.
            let plate = b.watched(side).await;
            let req = pb::RemoveWatchRequest {
                zone_id,
                plate,
                tag: String::new(),
            };
            c.security.remove_watch(req).await.map(drop)
        }
        "CompanyService/SetWebhook" => {
            let req = pb::SetWebhookRequest {
                company_id: side.company().into(),
                url: "http://127.0.0.1:9/hook".into(),
                secret: String::new(),
            };
            c.company.set_webhook(req).await.map(drop)
        }
        "CompanyService/GetWebhook" => {
            b.hook(side).await;
            let req = pb::GetWebhookRequest {
                company_id: side.company().into(),
            };
            c.company.get_webhook(req).await.map(drop)
        }
        "CompanyService/RemoveWebhook" => {
            b.hook(side).await;
            let req = pb::GetWebhookRequest {
                company_id: side.company().into(),
            };
            c.company.remove_webhook(req).await.map(drop)
        }
        "CompanyService/SaveTruck" => {
            let req = pb::SaveTruckRequest {
                company_id: side.company().into(),
                truck: Some(pb::FleetTruck {
                    truck_plate: "60-55555".into(),
                    driver_name: "Ali".into(),
                    driver_phone: "0791234567".into(),
                    ..Default::default()
                }),
            };
            c.company.save_truck(req).await.map(drop)
        }
        "CompanyService/RemoveTruck" => {
            b.truck(side).await;
            let req = pb::RemoveTruckRequest {
                company_id: side.company().into(),
                truck_plate: "60-66666".into(),
            };
            c.company.remove_truck(req).await.map(drop)
        }
        "CompanyService/ListTrucks" => {
            let req = pb::ListTrucksRequest {
                company_id: side.company().into(),
            };
            c.company.list_trucks(req).await.map(drop)
        }
        "CompanyService/ListTexts" => {
            let req = pb::ListTextsRequest {
                company_id: side.company().into(),
                ..Default::default()
            };
            c.company.list_texts(req).await.map(drop)
        }
        "CompanyService/CreateAccount" => {
            let req = pb::CreateAccountRequest {
                company_id: side.company().into(),
                login: format!("new-{}", b.next()),
                name: "Ahmad".into(),
                ..Default::default()
            };
            c.company.create_account(req).await.map(drop)
        }
        "CompanyService/ListAccounts" => {
            let req = pb::ListAccountsRequest {
                company_id: side.company().into(),
            };
            c.company.list_accounts(req).await.map(drop)
        }
        "CompanyService/UpdateAccount" => {
            b.account(side).await;
            let req = pb::UpdateAccountRequest {
                company_id: side.company().into(),
                login: format!("user-{}", side.company()),
                name: Some("Omar".into()),
                ..Default::default()
            };
            c.company.update_account(req).await.map(drop)
        }
        "CompanyService/ListWebhookDeliveries" => {
            let req = pb::ListWebhookDeliveriesRequest {
                company_id: side.company().into(),
                ..Default::default()
            };
            c.company.list_webhook_deliveries(req).await.map(drop)
        }
        "SecurityService/ListWatch" => {
            let req = pb::ListWatchRequest { zone_id };
            c.security.list_watch(req).await.map(drop)
        }
        "GateService/SyncBookings" => {
            let req = pb::SyncBookingsRequest {
                zone_id,
                after_seq: 0,
            };
            c.gate.sync_bookings(req).await.map(drop)
        }
        "GateService/ReportPassages" => {
            let x = bawaba_grpc::convert::pb_passage(&b.passage(side, Verdict::Deny));
            let req = pb::ReportPassagesRequest {
                passages: vec![x],
                ..Default::default()
            };
            c.gate.report_passages(req).await.map(drop)
        }
        "GateService/GateCommands" => {
            let req = pb::GateCommandsRequest {
                gate_id: side.gate(),
            };
            c.gate.gate_commands(req).await.map(drop)
        }
        "OperatorService/ListReferrals" => {
            let req = pb::ListReferralsRequest {
                zone_id,
                include_resolved: true,
            };
            c.operator.list_referrals(req).await.map(drop)
        }
        "OperatorService/ListPassages" => {
            let req = pb::ListPassagesRequest {
                zone_id,
                ..Default::default()
            };
            c.operator.list_passages(req).await.map(drop)
        }
        "OperatorService/ResolveReferral" => {
            // The operator names the truck's booking too (one of the referral's side).
            let id = b.referral(side).await;
            let req = pb::ResolveReferralRequest {
                event_id: id.to_string(),
                approve: true,
                reason: "matrix".into(),
                booking_id: b.book(side).await.to_string(),
            };
            c.operator.resolve_referral(req).await.map(drop)
        }
        other => panic!("{other} has a rule but no call"),
    };
    r.map_or_else(|s| s.code(), |()| Code::Ok)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rpc_by_every_caller_in_and_out_of_scope() {
    let (bed, addr, callers) = start().await;
    let rpcs = rpcs();
    let missing: Vec<_> = rpcs.iter().filter(|m| rule(m).is_none()).collect();
    assert!(
        missing.is_empty(),
        "RPCs with no row in the authorization matrix: {missing:?}"
    );
    assert!(rpcs.len() >= 23, "{rpcs:?}");
    let channel = bawaba_grpc::client::channel(&addr, None).await.unwrap();
    let mut wrong = Vec::new();
    let mut cells = 0;
    for caller in &callers {
        let mut clients = Clients::new(&channel, caller.header.as_deref());
        for method in &rpcs {
            let rule = rule(method).unwrap();
            for side in [Side::Act, Side::Siz] {
                let want = expected(&rule, caller, side);
                let got = call(&bed, &mut clients, method, side).await;
                cells += 1;
                if got != want {
                    wrong.push(format!(
                        "{method} by {} on {side:?}: {got:?}, expected {want:?}",
                        caller.name
                    ));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {cells} cells wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
