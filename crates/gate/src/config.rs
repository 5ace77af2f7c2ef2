//! `gate.toml`: the gate agent's configuration (see deploy/gate.example.toml).

use std::path::{Path, PathBuf};
use std::time::Duration;

use bawaba_codec::anpr::{AnprFormat, Template};
use bawaba_domain::gate::{LaneConfig, OfflinePolicy};
use bawaba_domain::ids::{GateId, LaneId, ZoneId};
use bawaba_domain::ledger::Direction;
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
    lanes: Vec<LaneToml>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SchedulerToml {
    addr: String,
    token: Option<String>,
    token_file: Option<PathBuf>,
    ca_cert: Option<PathBuf>,
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
    pub addr: String,
    pub token: String,
    pub ca_cert: Option<PathBuf>,
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
        let token = match (f.scheduler.token, &f.scheduler.token_file) {
            (Some(t), None) => t,
            (None, Some(p)) => std::fs::read_to_string(p)
                .map_err(|e| err(format!("scheduler.token_file {}: {e}", p.display())))?
                .trim()
                .to_owned(),
            _ => return Err(err("scheduler: give exactly one of token and token_file")),
        };
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
        Ok(AgentConfig {
            gate,
            zone,
            data_dir: f.data_dir,
            scheduler: SchedulerLink {
                addr: f.scheduler.addr,
                token,
                ca_cert: f.scheduler.ca_cert,
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
