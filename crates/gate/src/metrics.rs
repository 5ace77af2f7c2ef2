//! The gate agent's Prometheus metrics and its `/metrics` HTTP listener (`[metrics] listen` in
//! gate.toml). Passages and decision latency are counted as the lanes decide; everything else
//! is read at scrape time from what the agent already keeps (the devices' [`DeviceStats`],
//! the outbox, the replica, the link), so nothing is counted twice.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `bawaba_gate_passages_total` | counter | `lane`, `direction` (in, out), `decision` (ALLOW, DENY, REFER) |
//! | `bawaba_gate_passage_reasons_total` | counter | `lane`, `decision`, `reason` |
//! | `bawaba_gate_decision_latency_seconds` | histogram | `lane`, `decision`: from the arrival of the truck's last read to the barrier command (ALLOW) or to the durable record (DENY, REFER); 0.5 ms to 1 s |
//! | `bawaba_gate_device_frames_total`, `_bad_frames_total`, `_garbage_bytes_total`, `_reconnects_total`, `_open_failures_total`, `_watchdog_resets_total`, `_faults_total` (barrier commands not confirmed) | counter | `lane`, `device` (camera, reader, barrier) |
//! | `bawaba_gate_device_connected` | gauge | `lane`, `device` |
//! | `bawaba_gate_outbox_depth` | gauge | — : passages not yet acknowledged by the scheduler |
//! | `bawaba_gate_link_online` | gauge | — : 1 while the sync stream is up |
//! | `bawaba_gate_replica_cursor` | gauge | `zone`: the last change sequence applied |
//! | `bawaba_gate_replica_bookings` | gauge | `zone` |
//! | `bawaba_gate_replica_last_sync_timestamp_seconds` | gauge | `zone`: when the last sync message was applied (agent clock) |
//! | `bawaba_gate_passages_reported_total`, `bawaba_gate_passages_unrecorded_total`, `bawaba_gate_unreadable_plates_total` | counter | — |
//!
//! [`DeviceStats`]: crate::serial::DeviceStats

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Instant;

use bawaba_domain::gate::Replica;
use bawaba_domain::ids::{LaneId, ZoneId};
use bawaba_domain::ledger::Direction;
use bawaba_domain::passage::{Passage, Verdict};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use tokio::sync::watch;

use crate::agent::AgentCounters;
use crate::serial::StatsHandle;

pub use bawaba_app::metrics::CONTENT_TYPE;

/// Upper bounds of the decision latency buckets, in seconds (0.5 ms to 1 s).
const LATENCY_BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.002, 0.003, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PassageLabels {
    lane: String,
    direction: &'static str,
    decision: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    lane: String,
    decision: &'static str,
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LatencyLabels {
    lane: String,
    decision: &'static str,
}

/// What the agent keeps that the metrics read at scrape time.
#[derive(Debug)]
pub struct AgentView {
    pub zone: ZoneId,
    pub online: Arc<AtomicBool>,
    pub counters: Arc<AgentCounters>,
    pub outbox: Arc<Mutex<VecDeque<Passage>>>,
    pub replica: Arc<RwLock<Replica>>,
    /// Per lane: each device's counters.
    pub devices: Vec<(LaneId, Vec<(&'static str, StatsHandle)>)>,
}

/// Reads an [`AgentView`] on each scrape.
#[derive(Debug, Default)]
struct StateCollector {
    view: OnceLock<AgentView>,
}

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// The agent's metrics: one per process.
#[derive(Debug)]
pub struct AgentMetrics {
    registry: Registry,
    passages: Family<PassageLabels, Counter>,
    reasons: Family<ReasonLabels, Counter>,
    latency: Family<LatencyLabels, Histogram, fn() -> Histogram>,
    state: Arc<StateCollector>,
}

impl Default for AgentMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl AgentMetrics {
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let passages = Family::default();
        registry.register(
            "bawaba_gate_passages",
            "Passages this agent decided, by lane, direction and decision",
            passages.clone(),
        );
        let reasons = Family::default();
        registry.register(
            "bawaba_gate_passage_reasons",
            "Reasons of the passages this agent decided",
            reasons.clone(),
        );
        let latency = Family::<LatencyLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        registry.register_with_unit(
            "bawaba_gate_decision_latency",
            "From the arrival of a truck's last read to the barrier command (ALLOW) or the durable record (DENY, REFER)",
            Unit::Seconds,
            latency.clone(),
        );
        let state = Arc::new(StateCollector::default());
        registry.register_collector(Box::new(Arc::clone(&state)));
        AgentMetrics {
            registry,
            passages,
            reasons,
            latency,
            state,
        }
    }

    /// Tells the metrics where the agent's state is (once, when the agent has started).
    pub fn attach(&self, view: AgentView) {
        let _ = self.state.view.set(view);
    }

    /// A passage decided and recorded; `last_read` is when its last read arrived.
    pub fn passage(&self, p: &Passage, last_read: Instant) {
        let decision = p.verdict.as_str();
        let lane = p.lane.to_string();
        self.latency
            .get_or_create(&LatencyLabels {
                lane: lane.clone(),
                decision,
            })
            .observe(last_read.elapsed().as_secs_f64());
        self.passages
            .get_or_create(&PassageLabels {
                lane: lane.clone(),
                direction: match p.direction {
                    Direction::In => "in",
                    Direction::Out => "out",
                },
                decision,
            })
            .inc();
        for r in &p.reasons {
            self.reasons
                .get_or_create(&ReasonLabels {
                    lane: lane.clone(),
                    decision,
                    reason: r.as_str(),
                })
                .inc();
        }
    }

    /// Whether a passage's latency ends at the barrier command.
    pub fn ends_at_barrier(p: &Passage) -> bool {
        p.verdict == Verdict::Allow
    }

    /// The registry in the Prometheus text format 0.0.4 ([`CONTENT_TYPE`]).
    pub fn encode(&self) -> String {
        bawaba_app::metrics::openmetrics_to_text(&bawaba_app::metrics::encode_registry(
            &self.registry,
        ))
    }
}

/// Reads one counter of a device.
type StatOf = fn(&crate::serial::DeviceStats) -> u64;

type Labels<'a> = Vec<(&'static str, &'a str)>;

/// One family of constant samples (a counter's `name` without `_total`: the encoder adds it).
fn family<'a, M: EncodeMetric>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    kind: MetricType,
    samples: impl IntoIterator<Item = (Labels<'a>, M)>,
) -> Result<(), std::fmt::Error> {
    let mut family = encoder.encode_descriptor(name, help, None, kind)?;
    for (labels, metric) in samples {
        metric.encode(family.encode_family(&labels)?)?;
    }
    Ok(())
}

fn counter(v: u64) -> ConstCounter<u64> {
    ConstCounter::new(v)
}

fn gauge(v: i64) -> ConstGauge<i64> {
    ConstGauge::new(v)
}

impl Collector for StateCollector {
    fn encode(&self, mut enc: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Some(v) = self.view.get() else {
            return Ok(());
        };
        let devices: Vec<(String, &'static str, crate::serial::DeviceStats)> = v
            .devices
            .iter()
            .flat_map(|(lane, ds)| {
                ds.iter()
                    .map(move |(kind, s)| (lane.to_string(), *kind, s.snapshot()))
            })
            .collect();
        let per_device = |f: fn(&crate::serial::DeviceStats) -> u64| {
            devices.iter().map(move |(lane, kind, s)| {
                (vec![("lane", lane.as_str()), ("device", *kind)], f(s))
            })
        };
        let device_counters: [(&str, &str, StatOf); 7] = [
            ("frames", "Frames decoded from the device", |s| s.frames),
            (
                "bad_frames",
                "Frame candidates the decoder rejected (bad checksum, length, layout)",
                |s| s.bad_frames,
            ),
            ("garbage_bytes", "Bytes the decoder discarded", |s| {
                s.garbage_bytes
            }),
            (
                "reconnects",
                "Successful reopenings of the serial line after the first",
                |s| s.reconnects,
            ),
            (
                "open_failures",
                "Failed openings of the serial line (missing, busy, permissions)",
                |s| s.open_failures,
            ),
            (
                "watchdog_resets",
                "Connections the idle watchdog closed",
                |s| s.watchdog_resets,
            ),
            (
                "faults",
                "Commands the device did not confirm (barrier faults)",
                |s| s.faults,
            ),
        ];
        for (name, help, f) in device_counters {
            family(
                &mut enc,
                &format!("bawaba_gate_device_{name}"),
                help,
                MetricType::Counter,
                per_device(f).map(|(l, n)| (l, counter(n))),
            )?;
        }
        family(
            &mut enc,
            "bawaba_gate_device_connected",
            "Whether the device's serial line is open",
            MetricType::Gauge,
            per_device(|s| u64::from(s.connected)).map(|(l, n)| (l, gauge(n as i64))),
        )?;
        let outbox = v.outbox.lock().map_or(0, |o| o.len());
        family(
            &mut enc,
            "bawaba_gate_outbox_depth",
            "Passages recorded but not yet acknowledged by the scheduler",
            MetricType::Gauge,
            [(vec![], gauge(i64::try_from(outbox).unwrap_or(i64::MAX)))],
        )?;
        family(
            &mut enc,
            "bawaba_gate_link_online",
            "1 while the sync stream to the scheduler is up",
            MetricType::Gauge,
            [(vec![], gauge(i64::from(v.online.load(Ordering::Relaxed))))],
        )?;
        let (cursor, bookings) = v
            .replica
            .read()
            .map_or((0, 0), |r| (r.seq(&v.zone), r.len()));
        let zone = v.zone.to_string();
        family(
            &mut enc,
            "bawaba_gate_replica_cursor",
            "The last change sequence of the zone applied to the local replica",
            MetricType::Gauge,
            [(
                vec![("zone", zone.as_str())],
                gauge(i64::try_from(cursor).unwrap_or(i64::MAX)),
            )],
        )?;
        family(
            &mut enc,
            "bawaba_gate_replica_bookings",
            "Bookings in the local replica",
            MetricType::Gauge,
            [(
                vec![("zone", zone.as_str())],
                gauge(i64::try_from(bookings).unwrap_or(i64::MAX)),
            )],
        )?;
        let c = &v.counters;
        let head = c.head_seq.load(Ordering::Relaxed);
        family(
            &mut enc,
            "bawaba_gate_replica_lag",
            "Changes of the zone the local replica has not applied yet (the scheduler's head as \
             of the last sync message, minus the cursor)",
            MetricType::Gauge,
            [(
                vec![("zone", zone.as_str())],
                gauge(i64::try_from(head.saturating_sub(cursor)).unwrap_or(i64::MAX)),
            )],
        )?;
        let last_sync_ms = c.last_sync_ms.load(Ordering::Relaxed);
        family(
            &mut enc,
            "bawaba_gate_replica_last_sync_timestamp_seconds",
            "When the last sync message was applied (Unix time on the agent's clock; 0: never)",
            MetricType::Gauge,
            [(
                vec![("zone", zone.as_str())],
                ConstGauge::new(last_sync_ms as f64 / 1000.0),
            )],
        )?;
        for (name, help, n) in [
            (
                "bawaba_gate_passages_reported",
                "Passages the scheduler acknowledged",
                c.reported.load(Ordering::Relaxed),
            ),
            (
                "bawaba_gate_passages_unrecorded",
                "Passages that could not be written to the outbox (the barrier stayed closed)",
                c.unrecorded.load(Ordering::Relaxed),
            ),
            (
                "bawaba_gate_unreadable_plates",
                "Camera reads whose plate could not be parsed",
                c.unreadable_plates.load(Ordering::Relaxed),
            ),
        ] {
            family(
                &mut enc,
                name,
                help,
                MetricType::Counter,
                [(vec![], counter(n))],
            )?;
        }
        Ok(())
    }
}

/// Errors of the metrics listener.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("metrics listener on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// Binds `addr` now (so a busy port fails the start) and serves `GET /metrics` until
/// `shutdown` becomes true. Must be called inside a tokio runtime.
pub fn serve(
    addr: SocketAddr,
    metrics: Arc<AgentMetrics>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<tokio::task::JoinHandle<()>, MetricsError> {
    let bind = |source| MetricsError::Bind { addr, source };
    let std_listener = std::net::TcpListener::bind(addr).map_err(bind)?;
    std_listener.set_nonblocking(true).map_err(bind)?;
    let listener = tokio::net::TcpListener::from_std(std_listener).map_err(bind)?;
    let local = listener.local_addr().map_err(bind)?;
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let metrics = Arc::clone(&metrics);
            async move {
                (
                    [(axum::http::header::CONTENT_TYPE, CONTENT_TYPE)],
                    metrics.encode(),
                )
            }
        }),
    );
    tracing::info!("gate agent metrics on http://{local}/metrics");
    Ok(tokio::spawn(async move {
        let stop = async move {
            while !*shutdown.borrow() {
                if shutdown.changed().await.is_err() {
                    return;
                }
            }
        };
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(stop)
            .await
        {
            tracing::error!(error = %e, "metrics listener stopped");
        }
    }))
}
