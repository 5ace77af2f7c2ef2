//! `gate.toml`: the gate agent's configuration (see deploy/gate.example.toml).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use bawaba_codec::anpr::{AnprFormat, Template};
use bawaba_domain::gate::{LaneConfig, OfflinePolicy};
use bawaba_domain::ids::{GateId, LaneId, ZoneId};
use bawaba_domain::ledger::Direction;
use bawaba_grpc::client::{ClientIdentity, ClientTls};
use serde::Deserialize;

use crate::devices::{BarrierConfig, CameraConfig, PulseMode, RfidConfig, RfidMode};
use crate::serial::SerialSettings;

/// A configuration mistake, naming where it is.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(String);

fn err(e: impl std::fmt::Display) -> ConfigError {
    ConfigError(e.to_string())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    gate_id: String,
    zone_id: String,
    data_dir: PathBuf,
    scheduler: SchedulerToml,
    #[serde(default)]
    decisions: DecisionsToml,
    #[serde(default)]
    metrics: MetricsToml,
    lanes: Vec<LaneToml>,
}

/// `[metrics]`: where the agent serves Prometheus `/metrics` (absent: not served).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct MetricsToml {
    listen: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SchedulerToml {
    /// One scheduler (or a load balancer in front of several).
    addr: Option<String>,
    /// Several scheduler replicas (on one PostgreSQL database), tried in turn.
    addrs: Option<Vec<String>>,
    token: Option<String>,
    token_file: Option<PathBuf>,
    ca_cert: Option<PathBuf>,
    /// Client certificate and key (PEM) for a scheduler that requires them.
    client_cert: Option<PathBuf>,
    client_key: Option<PathBuf>,
    /// Longest wait between two attempts to reach the scheduler (ms; default 15000).
    retry_max_ms: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct DecisionsToml {
    fusion_window_ms: u64,
    hold_off_ms: u64,
    min_confidence: u8,
    offline_policy: String,
}

impl Default for DecisionsToml {
    fn default() -> Self {
        DecisionsToml {
            fusion_window_ms: 2000,
            hold_off_ms: 10_000,
            min_confidence: 70,
            offline_policy: "refer".into(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LaneToml {
    id: String,
    direction: String,
    camera: CameraToml,
    reader: Option<ReaderToml>,
    barrier: BarrierToml,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CameraToml {
    path: PathBuf,
    #[serde(default = "camera_baud")]
    baud: u32,
    /// "stx" for STX/ETX plate lines, or a template such as "%PLATE%,%CONF%,%COUNTRY%\r\n".
    #[serde(default = "stx")]
    format: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReaderToml {
    path: PathBuf,
    #[serde(default = "reader_baud")]
    baud: u32,
    /// "answer" (the agent polls) or "push".
    #[serde(default = "answer")]
    mode: String,
    #[serde(default = "poll_ms")]
    poll_ms: u64,
    #[serde(default)]
    address: u8,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BarrierToml {
    path: PathBuf,
    #[serde(default = "camera_baud")]
    baud: u32,
    #[serde(default = "one")]
    slave: u8,
    #[serde(default)]
    relay: u8,
    #[serde(default = "pulse_ms")]
    pulse_ms: u64,
    /// "flash" (hardware-timed pulse) or "on_off".
    #[serde(default = "flash")]
    mode: String,
    #[serde(default = "echo_ms")]
    echo_timeout_ms: u64,
}

fn camera_baud() -> u32 {
    9600
}
fn reader_baud() -> u32 {
    57600
}
fn stx() -> String {
    "stx".into()
}
fn answer() -> String {
    "answer".into()
}
fn flash() -> String {
    "flash".into()
}
fn poll_ms() -> u64 {
    50
}
fn pulse_ms() -> u64 {
    500
}
fn echo_ms() -> u64 {
    200
}
fn one() -> u8 {
    1
}

/// Where the scheduler is and how to reach it.
#[derive(Debug, Clone)]
pub struct SchedulerLink {
    /// The scheduler replicas' addresses, never empty: the link uses one and moves to the
    /// next when it cannot connect to it.
    pub addrs: Vec<String>,
    pub token: String,
    pub tls: ClientTls,
    /// The index in `addrs` of the replica the link tasks use now (shared by them, so the
    /// sync stream, the uplink and the command stream move together).
    pub current: Arc<AtomicUsize>,
    /// Longest wait between two attempts to reach the scheduler (the wait doubles from
    /// 500 ms, or this if shorter, up to it).
    pub retry_max: std::time::Duration,
}

/// One lane: its decision settings and its three devices.
#[derive(Debug, Clone)]
pub struct LaneSetup {
    pub logic: LaneConfig,
    pub camera: CameraConfig,
    pub reader: Option<RfidConfig>,
    pub barrier: BarrierConfig,
    pub relay: u8,
    /// The barrier pulse, in 100 ms units.
    pub pulse_100ms: u16,
}

/// A parsed, checked gate agent configuration.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    pub gate: GateId,
    pub zone: ZoneId,
    pub data_dir: PathBuf,
    pub scheduler: SchedulerLink,
    pub lanes: Vec<LaneSetup>,
    /// Where `/metrics` is served (`[metrics] listen`); None: nowhere.
    pub metrics_listen: Option<std::net::SocketAddr>,
}

impl AgentConfig {
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| err(format!("reading {}: {e}", path.display())))?;
        Self::parse(&text).map_err(|e| err(format!("{}: {e}", path.display())))
    }

    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let f: File = toml::from_str(text).map_err(err)?;
        let gate = GateId::parse(&f.gate_id).map_err(err)?;
        let zone = ZoneId::parse(&f.zone_id).map_err(err)?;
        let token = match (f.scheduler.token.clone(), &f.scheduler.token_file) {
            (Some(t), None) => t,
            (None, Some(p)) => std::fs::read_to_string(p)
                .map_err(|e| err(format!("scheduler.token_file {}: {e}", p.display())))?
                .trim()
                .to_owned(),
            _ => return Err(err("scheduler: give exactly one of token and token_file")),
        };
        let sch = f.scheduler;
        let retry_max = match sch.retry_max_ms {
            None => std::time::Duration::from_secs(15),
            Some(ms @ 10..=600_000) => std::time::Duration::from_millis(ms),
            Some(ms) => {
                return Err(err(format!(
                    "scheduler.retry_max_ms is {ms}; give 10 to 600000"
                )));
            }
        };
        let addrs = match (sch.addr, sch.addrs) {
            (Some(a), None) => vec![a],
            (None, Some(list)) if !list.is_empty() => list,
            (None, Some(_)) => return Err(err("scheduler.addrs: give at least one address")),
            _ => return Err(err("scheduler: give exactly one of addr and addrs")),
        };
        for a in &addrs {
            let Some(rest) = a
                .strip_prefix("http://")
                .or_else(|| a.strip_prefix("https://"))
            else {
                return Err(err(format!(
                    "scheduler address {a:?} must start with http:// or https://"
                )));
            };
            if rest.is_empty() {
                return Err(err(format!("scheduler address {a:?} has no host")));
            }
        }
        let identity = match (sch.client_cert, sch.client_key) {
            (Some(cert), Some(key)) => Some(ClientIdentity { cert, key }),
            (None, None) => None,
            _ => {
                return Err(err(
                    "scheduler: client_cert and client_key go together (PEM files)",
                ));
            }
        };
        if identity.is_some() && sch.ca_cert.is_none() {
            return Err(err(
                "scheduler.client_cert needs scheduler.ca_cert (the CA of the scheduler's certificate)",
            ));
        }
        let d = f.decisions;
        let offline_policy = match d.offline_policy.as_str() {
            "refer" => OfflinePolicy::Refer,
            "deny" => OfflinePolicy::Deny,
            other => {
                return Err(err(format!(
                    "decisions.offline_policy {other:?} must be \"refer\" or \"deny\""
                )));
            }
        };
        if d.min_confidence > 100 {
            return Err(err("decisions.min_confidence must be 0..=100"));
        }
        if f.lanes.is_empty() {
            return Err(err("a gate needs at least one [[lanes]]"));
        }
        let lanes = f
            .lanes
            .into_iter()
            .map(|l| {
                let at = format!("lane {}", l.id);
                let direction = match l.direction.as_str() {
                    "in" => Direction::In,
                    "out" => Direction::Out,
                    other => {
                        return Err(err(format!(
                            "{at}: direction {other:?} must be \"in\" or \"out\""
                        )));
                    }
                };
                let mut logic = LaneConfig::new(
                    zone.clone(),
                    gate.clone(),
                    LaneId::parse(&l.id).map_err(err)?,
                    direction,
                );
                logic.has_reader = l.reader.is_some();
                logic.min_confidence = d.min_confidence;
                logic.offline_policy = offline_policy;
                logic.window = chrono::TimeDelta::milliseconds(d.fusion_window_ms as i64);
                logic.hold_off = chrono::TimeDelta::milliseconds(d.hold_off_ms as i64);
                let format = match l.camera.format.as_str() {
                    "stx" => AnprFormat::StxEtx,
                    t => AnprFormat::Template(
                        t.parse::<Template>()
                            .map_err(|e| err(format!("{at}: camera.format: {e}")))?,
                    ),
                };
                let mut camera = CameraConfig::new(&l.camera.path, format);
                camera.serial = SerialSettings::new(&l.camera.path, l.camera.baud);
                let reader = l
                    .reader
                    .map(|r| {
                        let mut cfg = match r.mode.as_str() {
                            "answer" => RfidConfig::answer(&r.path),
                            "push" => RfidConfig::push(&r.path),
                            other => {
                                return Err(err(format!(
                                    "{at}: reader.mode {other:?} must be \"answer\" or \"push\""
                                )));
                            }
                        };
                        cfg.serial = SerialSettings::new(&r.path, r.baud);
                        cfg.adr = r.address;
                        if let RfidMode::Answer { poll_interval, .. } = &mut cfg.mode {
                            *poll_interval = Duration::from_millis(r.poll_ms.max(10));
                        }
                        Ok(cfg)
                    })
                    .transpose()?;
                let b = l.barrier;
                let mut barrier = BarrierConfig::new(&b.path);
                barrier.serial = SerialSettings::new(&b.path, b.baud);
                barrier.slave = b.slave;
                barrier.echo_timeout = Duration::from_millis(b.echo_timeout_ms);
                barrier.mode = match b.mode.as_str() {
                    "flash" => PulseMode::Flash,
                    "on_off" => PulseMode::OnOff,
                    other => {
                        return Err(err(format!(
                            "{at}: barrier.mode {other:?} must be \"flash\" or \"on_off\""
                        )));
                    }
                };
                let pulse_100ms = u16::try_from(b.pulse_ms.div_ceil(100))
                    .ok()
                    .filter(|p| (1..=600).contains(p))
                    .ok_or_else(|| err(format!("{at}: barrier.pulse_ms must be 100 to 60000")))?;
                Ok(LaneSetup {
                    logic,
                    camera,
                    reader,
                    barrier,
                    relay: b.relay,
                    pulse_100ms,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut ids: Vec<_> = lanes.iter().map(|l| &l.logic.lane).collect();
        ids.sort();
        if ids.windows(2).any(|w| w[0] == w[1]) {
            return Err(err("lane ids must be unique"));
        }
        let metrics_listen = f
            .metrics
            .listen
            .map(|a| {
                a.parse().map_err(|e| {
                    err(format!(
                        "metrics.listen: {a:?} is not an address and port such as 127.0.0.1:9101 ({e})"
                    ))
                })
            })
            .transpose()?;
        Ok(AgentConfig {
            gate,
            zone,
            data_dir: f.data_dir,
            metrics_listen,
            scheduler: SchedulerLink {
                addrs,
                token,
                tls: ClientTls {
                    ca: sch.ca_cert,
                    identity,
                },
                current: Arc::new(AtomicUsize::new(0)),
                retry_max,
            },
            lanes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shipped example, with its token file (absent here) swapped for a token.
    fn example() -> String {
        include_str!("../../../deploy/gate.example.toml").replace(
            "token_file = \"/etc/bawaba/gate.token\"",
            "token = \"bwb_test\"",
        )
    }

    #[test]
    fn the_shipped_example_parses() {
        let c = AgentConfig::parse(&example()).unwrap();
        assert_eq!(c.gate.as_str(), "act-north");
        assert_eq!(c.lanes.len(), 2);
        assert_eq!(c.lanes[0].logic.direction, Direction::In);
        assert!(c.lanes[0].reader.is_some());
        assert_eq!(c.lanes[0].pulse_100ms, 5);
    }

    #[test]
    fn one_address_or_several_replicas() {
        let c = AgentConfig::parse(&example()).unwrap();
        assert_eq!(c.scheduler.addrs, ["http://10.20.0.10:50051"]);
        assert_eq!(c.scheduler.tls, ClientTls::default());
        let several = example().replace(
            "addr = \"http://10.20.0.10:50051\"",
            "addrs = [\"https://10.20.0.10:50051\", \"https://10.20.0.11:50051\"]\n\
             ca_cert = \"/etc/bawaba/ca.pem\"\nclient_cert = \"/etc/bawaba/gate.crt\"\n\
             client_key = \"/etc/bawaba/gate.key\"",
        );
        let c = AgentConfig::parse(&several).unwrap();
        assert_eq!(c.scheduler.addrs.len(), 2);
        let id = c.scheduler.tls.identity.unwrap();
        assert_eq!(id.cert, Path::new("/etc/bawaba/gate.crt"));
        assert_eq!(id.key, Path::new("/etc/bawaba/gate.key"));

        let both = example().replace(
            "addr = \"http://10.20.0.10:50051\"",
            "addr = \"http://a:1\"\naddrs = [\"http://b:1\"]",
        );
        let e = AgentConfig::parse(&both).unwrap_err().to_string();
        assert!(e.contains("exactly one of addr and addrs"), "{e}");
        let none = example().replace("addr = \"http://10.20.0.10:50051\"", "addrs = []");
        let e = AgentConfig::parse(&none).unwrap_err().to_string();
        assert!(e.contains("scheduler.addrs"), "{e}");
        let bare = example().replace("http://10.20.0.10:50051", "10.20.0.10:50051");
        let e = AgentConfig::parse(&bare).unwrap_err().to_string();
        assert!(e.contains("http:// or https://"), "{e}");
        let half = example().replace(
            "addr = \"http://10.20.0.10:50051\"",
            "addr = \"https://s:1\"\nca_cert = \"/ca.pem\"\nclient_cert = \"/c.pem\"",
        );
        let e = AgentConfig::parse(&half).unwrap_err().to_string();
        assert!(e.contains("client_key"), "{e}");
        let no_ca = example().replace(
            "addr = \"http://10.20.0.10:50051\"",
            "addr = \"https://s:1\"\nclient_cert = \"/c.pem\"\nclient_key = \"/k.pem\"",
        );
        let e = AgentConfig::parse(&no_ca).unwrap_err().to_string();
        assert!(e.contains("ca_cert"), "{e}");
    }

    #[test]
    fn mistakes_are_named() {
        let bad = example().replace("direction = \"out\"", "direction = \"sideways\"");
        assert!(
            AgentConfig::parse(&bad)
                .unwrap_err()
                .to_string()
                .contains("sideways")
        );
        let bad = example().replace("offline_policy = \"refer\"", "offline_policy = \"maybe\"");
        assert!(
            AgentConfig::parse(&bad)
                .unwrap_err()
                .to_string()
                .contains("offline_policy")
        );
        let bad = example().replace("pulse_ms = 500", "pulse_ms = 0");
        assert!(
            AgentConfig::parse(&bad)
                .unwrap_err()
                .to_string()
                .contains("pulse_ms")
        );
    }
}
