//! The scheduler's Prometheus metrics: one registry per process ([`Metrics`]), fed by the use
//! cases, by the gRPC door's request layer (`bawaba_grpc::metrics`, through
//! [`Metrics::call_opened`] and its pair), and by the task that refreshes the gauges read from
//! the store ([`Metrics::refresh`]).
//!
//! [`Metrics::encode`] renders the registry in the OpenMetrics text format
//! ([`CONTENT_TYPE`]); the web crate serves it at `GET /metrics` on the scheduler's HTTP port.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `bawaba_bookings_total` | counter | `operation` (create, move, cancel), `outcome` (created, replayed, moved, cancelled, refused), `reason` (`none`, or the refusal: `WINDOW_FULL`, `COMPANY_CAP`, else the gRPC code) |
//! | `bawaba_passages_total` | counter | `zone`, `gate`, `direction` (in, out), `decision` (ALLOW, DENY, REFER): passages recorded from ReportPassages, once per event id |
//! | `bawaba_passage_reasons_total` | counter | `zone`, `decision`, `reason`: one per reason of each recorded passage |
//! | `bawaba_window_capacity`, `bawaba_window_booked`, `bawaba_window_fill_ratio` | gauge | `zone`, `window` (current, next) |
//! | `bawaba_hour_capacity`, `bawaba_hour_booked` | gauge | `zone`: the windows of the current hour together |
//! | `bawaba_referrals_open` | gauge | `zone` |
//! | `bawaba_company_no_shows` | gauge | `company`: no-shows recorded so far |
//! | `bawaba_store_commits_total`, `bawaba_store_commit_requests_total` | counter | — : batches the store's writer committed (durable ones, and those with only refusals to answer), and the requests they answered (sled; as of the last refresh) |
//! | `bawaba_store_commit_seconds_total` | counter | `step` (apply: requests against the in-memory state, write: handing the batch to the database, sync: waiting until it is durable) |
//! | `bawaba_store_stopped` | gauge | — : 1 once the store has stopped serving (a commit could not be made durable: restart the scheduler; deploy/prometheus/alerts.yml alerts on it) |
//! | `bawaba_metrics_refresh_timestamp_seconds` | gauge | when the store gauges were last refreshed (the scheduler's clock) |
//! | `bawaba_grpc_requests_total` | counter | `service`, `method`, `code` |
//! | `bawaba_grpc_request_duration_seconds` | histogram | `service`, `method`: until the response headers (a unary call's whole handling) |
//! | `bawaba_grpc_in_flight` | gauge | `service`, `method`: calls and streams open |
//! | `bawaba_sync_streams_connected` | gauge | — : SyncBookings streams open (gate agents following a zone) |

use std::collections::{HashMap, HashSet};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bawaba_domain::ids::ZoneId;
use bawaba_domain::ledger::Direction;
use bawaba_domain::passage::Passage;
use bawaba_store::{CommitStats, Store};
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use crate::Clock;

/// The content type of [`Metrics::encode`]'s output: the Prometheus text format 0.0.4, which
/// every Prometheus and `promtool check metrics` read.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The content type of [`Metrics::encode_openmetrics`]'s output.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Upper bounds of the gRPC latency buckets, in seconds (100 µs to 10 s).
const GRPC_BUCKETS: [f64; 16] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

/// Upper bounds of the turn-time buckets (entry to exit of a zone), in seconds: 5 minutes to
/// 12 hours.
const TURN_TIME_BUCKETS: [f64; 12] = [
    300.0, 600.0, 900.0, 1200.0, 1800.0, 2700.0, 3600.0, 5400.0, 7200.0, 10800.0, 21600.0, 43200.0,
];

/// How often [`Metrics::spawn_refresher`] reads the store.
pub const REFRESH_EVERY: Duration = Duration::from_secs(5);

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BookingLabels {
    operation: &'static str,
    outcome: &'static str,
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PassageLabels {
    zone: String,
    gate: String,
    direction: &'static str,
    decision: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    zone: String,
    decision: &'static str,
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct WindowLabels {
    zone: String,
    window: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ZoneLabel {
    zone: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GateLabel {
    gate: String,
}

/// No-shows per company, as last read from the store.
#[derive(Debug, Default)]
struct NoShows(Mutex<std::collections::BTreeMap<String, u64>>);

impl prometheus_client::collector::Collector for NoShows {
    fn encode(
        &self,
        mut encoder: prometheus_client::encoding::DescriptorEncoder,
    ) -> Result<(), std::fmt::Error> {
        use prometheus_client::encoding::EncodeMetric;
        let counts = self.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let mut family = encoder.encode_descriptor(
            "bawaba_company_no_shows",
            "No-shows recorded for each company",
            None,
            prometheus_client::metrics::MetricType::Gauge,
        )?;
        for (company, n) in counts {
            let labels = [("company", company)];
            prometheus_client::metrics::gauge::ConstGauge::new(
                i64::try_from(n).unwrap_or(i64::MAX),
            )
            .encode(family.encode_family(&labels)?)?;
        }
        Ok(())
    }
}

/// The store writer's commit counters, as last read from the store (none: a store without
/// one writer, whose families are left out).
#[derive(Debug, Default)]
struct Commits(Mutex<Option<CommitStats>>);

impl prometheus_client::collector::Collector for Commits {
    fn encode(
        &self,
        mut encoder: prometheus_client::encoding::DescriptorEncoder,
    ) -> Result<(), std::fmt::Error> {
        use prometheus_client::encoding::EncodeMetric;
        use prometheus_client::metrics::MetricType;
        use prometheus_client::metrics::counter::ConstCounter;
        let Some(stats) = *self.0.lock().unwrap_or_else(|e| e.into_inner()) else {
            return Ok(());
        };
        for (name, help, n) in [
            (
                "bawaba_store_commits",
                "Batches the store's writer committed (durable ones, and those that only answered refusals)",
                stats.commits,
            ),
            (
                "bawaba_store_commit_requests",
                "Requests the store's commits answered",
                stats.requests,
            ),
        ] {
            let family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            ConstCounter::new(n).encode(family)?;
        }
        let mut family = encoder.encode_descriptor(
            "bawaba_store_commit",
            "Time the store's writer spent committing, by step",
            Some(&Unit::Seconds),
            MetricType::Counter,
        )?;
        for (step, took) in [
            ("apply", stats.apply),
            ("write", stats.write),
            ("sync", stats.sync),
        ] {
            ConstCounter::new(took.as_secs_f64())
                .encode(family.encode_family(&[("step", step)])?)?;
        }
        Ok(())
    }
}

/// A gRPC method, as the call metrics label it.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MethodLabels {
    pub service: String,
    pub method: String,
}

impl MethodLabels {
    fn is_sync_stream(&self) -> bool {
        self.service == "bawaba.v1.GateService" && self.method == "SyncBookings"
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    service: String,
    method: String,
    code: &'static str,
}

type FloatGauge = Gauge<f64, AtomicU64>;

/// The scheduler's metrics: one per process, shared by the gRPC services, the request layer,
/// the refresher and the HTTP `/metrics` route.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    bookings: Family<BookingLabels, Counter>,
    passages: Family<PassageLabels, Counter>,
    passage_reasons: Family<ReasonLabels, Counter>,
    turn_time: Family<ZoneLabel, Histogram, fn() -> Histogram>,
    window_capacity: Family<WindowLabels, Gauge>,
    window_booked: Family<WindowLabels, Gauge>,
    window_fill: Family<WindowLabels, FloatGauge>,
    hour_capacity: Family<ZoneLabel, Gauge>,
    hour_booked: Family<ZoneLabel, Gauge>,
    referrals_open: Family<ZoneLabel, Gauge>,
    no_shows: Arc<NoShows>,
    commits: Arc<Commits>,
    refreshed: Gauge,
    store_stopped: Gauge,
    grpc_requests: Family<RequestLabels, Counter>,
    grpc_latency: Family<MethodLabels, Histogram, fn() -> Histogram>,
    grpc_in_flight: Family<MethodLabels, Gauge>,
    sync_streams: Gauge,
    gate_reported: Family<GateLabel, Gauge>,
    sweep_held: Family<ZoneLabel, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

fn grpc_histogram() -> Histogram {
    Histogram::new(GRPC_BUCKETS)
}

fn turn_time_histogram() -> Histogram {
    Histogram::new(TURN_TIME_BUCKETS)
}

impl Metrics {
    /// A fresh registry with every scheduler metric registered.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let bookings = Family::default();
        registry.register(
            "bawaba_bookings",
            "Booking requests by operation, outcome and refusal reason",
            bookings.clone(),
        );
        let passages = Family::default();
        registry.register(
            "bawaba_passages",
            "Gate passages recorded (once per event id) by zone, gate, direction and decision",
            passages.clone(),
        );
        let passage_reasons = Family::default();
        registry.register(
            "bawaba_passage_reasons",
            "Reasons of the recorded passages, by zone and decision",
            passage_reasons.clone(),
        );
        let turn_time = Family::<ZoneLabel, Histogram, fn() -> Histogram>::new_with_constructor(
            turn_time_histogram,
        );
        registry.register_with_unit(
            "bawaba_turn_time",
            "Truck turn time in a zone, from its entry to its exit through the gates",
            Unit::Seconds,
            turn_time.clone(),
        );
        let window_capacity = Family::default();
        registry.register(
            "bawaba_window_capacity",
            "Trucks the zone's current or next window can take",
            window_capacity.clone(),
        );
        let window_booked = Family::default();
        registry.register(
            "bawaba_window_booked",
            "Bookings held in the zone's current or next window",
            window_booked.clone(),
        );
        let window_fill = Family::default();
        registry.register(
            "bawaba_window_fill_ratio",
            "Booked over capacity of the zone's current or next window (0 when closed)",
            window_fill.clone(),
        );
        let hour_capacity = Family::default();
        registry.register(
            "bawaba_hour_capacity",
            "Trucks the zone's windows of the current hour can take together",
            hour_capacity.clone(),
        );
        let hour_booked = Family::default();
        registry.register(
            "bawaba_hour_booked",
            "Bookings held in the zone's windows of the current hour",
            hour_booked.clone(),
        );
        let referrals_open = Family::default();
        registry.register(
            "bawaba_referrals_open",
            "Referred passages waiting for an operator",
            referrals_open.clone(),
        );
        // A collector, so the family is listed even before the first no-show.
        let no_shows = Arc::new(NoShows::default());
        registry.register_collector(Box::new(Arc::clone(&no_shows)));
        let commits = Arc::new(Commits::default());
        registry.register_collector(Box::new(Arc::clone(&commits)));
        let refreshed = Gauge::default();
        registry.register_with_unit(
            "bawaba_metrics_refresh_timestamp",
            "When the gauges read from the store were last refreshed (Unix time)",
            Unit::Seconds,
            refreshed.clone(),
        );
        let store_stopped = Gauge::default();
        registry.register(
            "bawaba_store_stopped",
            "1 once the store has stopped serving (a commit could not be made durable; restart the scheduler), else 0",
            store_stopped.clone(),
        );
        let grpc_requests = Family::default();
        registry.register(
            "bawaba_grpc_requests",
            "gRPC calls finished, by service, method and status code",
            grpc_requests.clone(),
        );
        let grpc_latency =
            Family::<MethodLabels, Histogram, fn() -> Histogram>::new_with_constructor(
                grpc_histogram,
            );
        registry.register_with_unit(
            "bawaba_grpc_request_duration",
            "Time from a gRPC request to its response headers",
            Unit::Seconds,
            grpc_latency.clone(),
        );
        let grpc_in_flight = Family::default();
        registry.register(
            "bawaba_grpc_in_flight",
            "gRPC calls and streams open",
            grpc_in_flight.clone(),
        );
        let sync_streams = Gauge::default();
        registry.register(
            "bawaba_sync_streams_connected",
            "SyncBookings streams open (gate agents following a zone)",
            sync_streams.clone(),
        );
        let gate_reported = Family::default();
        registry.register(
            "bawaba_gate_reported_through_timestamp_seconds",
            "Per gate: every passage it decided before this instant (Unix seconds) has reached the scheduler",
            gate_reported.clone(),
        );
        let sweep_held = Family::default();
        registry.register(
            "bawaba_no_show_sweep_held_seconds",
            "Per zone: how far behind now the no-show sweep is held, waiting for the zone's gate that has reported least far (0: not held)",
            sweep_held.clone(),
        );
        Metrics {
            registry,
            gate_reported,
            sweep_held,
            bookings,
            passages,
            passage_reasons,
            turn_time,
            window_capacity,
            window_booked,
            window_fill,
            hour_capacity,
            hour_booked,
            referrals_open,
            no_shows,
            commits,
            refreshed,
            store_stopped,
            grpc_requests,
            grpc_latency,
            grpc_in_flight,
            sync_streams,
        }
    }

    /// The registry in the Prometheus text format 0.0.4 ([`CONTENT_TYPE`]).
    pub fn encode(&self) -> String {
        openmetrics_to_text(&self.encode_openmetrics())
    }

    /// The registry in the OpenMetrics text format ([`OPENMETRICS_CONTENT_TYPE`]).
    pub fn encode_openmetrics(&self) -> String {
        encode_registry(&self.registry)
    }

    /// A booking operation that succeeded: `outcome` is created, replayed, moved or cancelled.
    pub fn booking_done(&self, operation: &'static str, outcome: &'static str) {
        self.bookings
            .get_or_create(&BookingLabels {
                operation,
                outcome,
                reason: "none".to_owned(),
            })
            .inc();
    }

    /// A booking operation refused for `reason` (WINDOW_FULL, COMPANY_CAP, else the kind of
    /// refusal, named as the gRPC code it maps to: see `Error::reason`).
    pub fn booking_refused(&self, operation: &'static str, reason: &str) {
        self.bookings
            .get_or_create(&BookingLabels {
                operation,
                outcome: "refused",
                reason: reason.to_owned(),
            })
            .inc();
    }

    /// A truck left `zone` this long after it entered.
    pub fn turn_time(&self, zone: &ZoneId, took: TimeDelta) {
        self.turn_time
            .get_or_create(&ZoneLabel {
                zone: zone.to_string(),
            })
            .observe(took.as_seconds_f64().max(0.0));
    }

    /// Counts passages the store recorded. Only those it recorded for the first time (see
    /// `bawaba_store::Reported::new`), so a resend, even after a restart or to another
    /// replica, is not counted again.
    pub fn passages_recorded(&self, passages: &[&Passage]) {
        for p in passages {
            let decision = p.verdict.as_str();
            self.passages
                .get_or_create(&PassageLabels {
                    zone: p.zone.to_string(),
                    gate: p.gate.to_string(),
                    direction: match p.direction {
                        Direction::In => "in",
                        Direction::Out => "out",
                    },
                    decision,
                })
                .inc();
            for r in &p.reasons {
                self.passage_reasons
                    .get_or_create(&ReasonLabels {
                        zone: p.zone.to_string(),
                        decision,
                        reason: r.as_str(),
                    })
                    .inc();
            }
        }
    }

    /// Reads the gauges that live in the store: current and next window of every zone, the
    /// current hour, open referrals, no-shows per company.
    pub async fn refresh<S: Store>(
        &self,
        store: &S,
        now: DateTime<Utc>,
    ) -> Result<(), bawaba_store::Error> {
        // First: a stopped store refuses the reads below.
        let stopped = store.failure().borrow().is_some();
        self.store_stopped.set(i64::from(stopped));
        let zones = store.zones().await?;
        let hour = now.duration_trunc(TimeDelta::hours(1)).unwrap_or(now);
        for z in &zones {
            // Every zone's turn-time series exists (count 0) before its first exit.
            let _ = self.turn_time.get_or_create(&ZoneLabel {
                zone: z.id.to_string(),
            });
            let slot = z.slot.duration();
            let current = z.window_containing(now);
            let windows = store
                .list_windows(z.id.clone(), current, current + slot + slot, 2)
                .await?;
            for (i, window) in ["current", "next"].into_iter().enumerate() {
                let labels = WindowLabels {
                    zone: z.id.to_string(),
                    window,
                };
                let (capacity, booked) = windows
                    .get(i)
                    .map_or((0, 0), |w| (w.capacity.total, w.booked));
                self.window_capacity
                    .get_or_create(&labels)
                    .set(i64::from(capacity));
                self.window_booked
                    .get_or_create(&labels)
                    .set(i64::from(booked));
                let ratio = if capacity == 0 {
                    0.0
                } else {
                    f64::from(booked) / f64::from(capacity)
                };
                self.window_fill.get_or_create(&labels).set(ratio);
            }
            let in_hour = store
                .list_windows(z.id.clone(), hour, hour + TimeDelta::hours(1), 60)
                .await?;
            let zone = ZoneLabel {
                zone: z.id.to_string(),
            };
            self.hour_capacity.get_or_create(&zone).set(
                in_hour
                    .iter()
                    .map(|w| i64::from(w.capacity.total))
                    .sum::<i64>(),
            );
            self.hour_booked
                .get_or_create(&zone)
                .set(in_hour.iter().map(|w| i64::from(w.booked)).sum::<i64>());
        }
        let mut open: HashMap<String, i64> = zones.iter().map(|z| (z.id.to_string(), 0)).collect();
        for r in store.referrals(None, false).await? {
            *open.entry(r.passage.zone.to_string()).or_default() += 1;
        }
        for (zone, n) in open {
            self.referrals_open
                .get_or_create(&ZoneLabel { zone })
                .set(n);
        }
        let counts = store.no_shows().await?;
        *self.no_shows.0.lock().unwrap_or_else(|e| e.into_inner()) = counts
            .into_iter()
            .map(|(c, n)| (c.to_string(), n))
            .collect();
        *self.commits.0.lock().unwrap_or_else(|e| e.into_inner()) = store.commit_stats();
        self.refresh_reports(store, &zones, now).await?;
        self.refreshed.set(now.timestamp());
        Ok(())
    }

    /// Each gate's report mark, and how far each zone's no-show sweep is held behind `now`.
    async fn refresh_reports<S: Store>(
        &self,
        store: &S,
        zones: &[bawaba_domain::calendar::ZoneConfig],
        now: DateTime<Utc>,
    ) -> Result<(), bawaba_store::Error> {
        let reported = store.reported().await?;
        for (gate, at) in &reported {
            self.gate_reported
                .get_or_create(&GateLabel {
                    gate: gate.to_string(),
                })
                .set(at.timestamp());
        }
        let holds = bawaba_domain::ledger::sweep_holds(&store.gates().await?, &reported);
        for z in zones {
            let behind = holds
                .get(&z.id)
                .map_or(0, |h| (now - *h).num_seconds().max(0));
            self.sweep_held
                .get_or_create(&ZoneLabel {
                    zone: z.id.to_string(),
                })
                .set(behind);
        }
        Ok(())
    }

    /// Refreshes the store gauges now and every [`REFRESH_EVERY`], on the scheduler's clock,
    /// until the returned task is aborted.
    pub fn spawn_refresher<S: Store>(
        self: &Arc<Self>,
        store: Arc<S>,
        clock: Arc<dyn Clock>,
    ) -> tokio::task::JoinHandle<()> {
        let metrics = Arc::clone(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(REFRESH_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(e) = metrics.refresh(store.as_ref(), clock.now()).await {
                    tracing::warn!(error = %e, "refreshing metrics from the store");
                }
            }
        })
    }

    /// A call of `method` opened (a front door's request layer calls these three).
    pub fn call_opened(&self, method: &MethodLabels) {
        self.grpc_in_flight.get_or_create(method).inc();
        if method.is_sync_stream() {
            self.sync_streams.inc();
        }
    }

    /// The call's response headers went out `secs` after it opened.
    pub fn call_responded(&self, method: &MethodLabels, secs: f64) {
        self.grpc_latency.get_or_create(method).observe(secs);
    }

    /// The call finished with `code` (the canonical gRPC code name).
    pub fn call_finished(&self, method: &MethodLabels, code: &'static str) {
        self.grpc_requests
            .get_or_create(&RequestLabels {
                service: method.service.clone(),
                method: method.method.clone(),
                code,
            })
            .inc();
        self.grpc_in_flight.get_or_create(method).dec();
        if method.is_sync_stream() {
            self.sync_streams.dec();
        }
    }
}

/// `registry` in the OpenMetrics text format.
pub fn encode_registry(registry: &Registry) -> String {
    let mut out = String::new();
    if let Err(e) = prometheus_client::encoding::text::encode(&mut out, registry) {
        // Writing to a String fails only if a metric's encoder does; say so, keep the rest.
        tracing::error!(error = %e, "encoding metrics");
    }
    out
}

/// Rewrites prometheus-client's OpenMetrics text as the Prometheus text format 0.0.4: a
/// counter's HELP and TYPE name its `_total` samples, and the `# UNIT` and `# EOF` lines go
/// (the samples themselves are the same in both formats; no exemplars or `_created` are used).
pub fn openmetrics_to_text(om: &str) -> String {
    let counters: HashSet<&str> = om
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(om.len() + 16 * counters.len());
    for line in om.lines() {
        if line.starts_with("# UNIT ") || line == "# EOF" {
            continue;
        }
        let family = ["# HELP ", "# TYPE "].into_iter().find_map(|p| {
            let rest = line.strip_prefix(p)?;
            let (name, tail) = rest.split_once(' ')?;
            counters.contains(name).then_some((p, name, tail))
        });
        match family {
            Some((prefix, name, tail)) => {
                out.push_str(prefix);
                out.push_str(name);
                out.push_str("_total ");
                out.push_str(tail);
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use bawaba_store::Setup;
    use bawaba_store::SledStore;

    #[tokio::test]
    async fn store_commits_are_exported_after_a_refresh() {
        let metrics = Metrics::new();
        assert!(
            !metrics.encode().contains("bawaba_store_commits"),
            "nothing is exported before the store was read"
        );
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path()).unwrap();
        let zone = bawaba_domain::calendar::ZoneConfig::new(
            ZoneId::parse("act").unwrap(),
            "Container terminal",
            bawaba_domain::calendar::SlotLength::from_minutes(60).unwrap(),
            bawaba_domain::calendar::WindowCapacity::uniform(5),
        );
        store.upsert_zone(zone).await.unwrap();
        metrics.refresh(&store, Utc::now()).await.unwrap();
        let text = metrics.encode();
        for line in [
            "# TYPE bawaba_store_commits_total counter",
            "bawaba_store_commits_total 1",
            "bawaba_store_commit_requests_total 1",
            "# TYPE bawaba_store_commit_seconds_total counter",
        ] {
            assert!(text.contains(line), "{line:?} missing from\n{text}");
        }
        for step in ["apply", "write", "sync"] {
            let series = format!("bawaba_store_commit_seconds_total{{step=\"{step}\"}} ");
            assert!(text.contains(&series), "{series:?} missing from\n{text}");
        }
    }
}
