//! The scheduler's TOML configuration: zones (calendar, capacity, rules), gates, and where
//! drivers' SMS go (`[sms]`). The
//! built-in configuration is `deploy/config.example.toml`.

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use bawaba_app::AlertSetting;
use bawaba_cap::{AlertZone, Outline};
use bawaba_domain::calendar::{
    BookingRules, SlotLength, TransactionType, WindowCapacity, ZoneConfig,
};
use bawaba_domain::ids::{GateId, LaneId, ZoneId};
use bawaba_domain::ledger::{Direction, Gate, Lane};
use bawaba_notify::KannelConfig;
use chrono::Weekday;
use serde::Deserialize;

/// The Aqaba configuration shipped with the binary.
pub const BUILT_IN: &str = include_str!("../../../deploy/config.example.toml");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    zones: Vec<ZoneToml>,
    #[serde(default)]
    gates: Vec<GateToml>,
    #[serde(default)]
    sms: Option<SmsToml>,
}

/// `[sms]`: texting drivers through Kannel's sendsms interface.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SmsToml {
    /// smsbox's sendsms address, e.g. `http://127.0.0.1:13013/cgi-bin/sendsms`.
    sendsms_url: String,
    username: String,
    /// The sendsms-user's password; when empty, the scheduler's `--sms-password`
    /// (`BAWABA_SMS_PASSWORD`).
    #[serde(default)]
    password: String,
    /// The sender shown on the phone.
    #[serde(default = "default_sender")]
    from: String,
}

fn default_sender() -> String {
    "Bawaba".into()
}

fn sms(t: SmsToml) -> Result<KannelConfig> {
    if !(t.sendsms_url.starts_with("http://") || t.sendsms_url.starts_with("https://")) {
        bail!(
            "sms.sendsms_url: {:?} is not an http:// or https:// address",
            t.sendsms_url
        );
    }
    Ok(KannelConfig {
        url: t.sendsms_url,
        username: t.username,
        password: t.password,
        from: t.from,
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ZoneToml {
    id: String,
    name: String,
    #[serde(default)]
    name_ar: String,
    #[serde(default)]
    when_closed: Option<String>,
    slot_minutes: u32,
    capacity: u32,
    #[serde(default)]
    capacity_per_type: Option<BTreeMap<String, u32>>,
    #[serde(default)]
    rules: RulesToml,
    #[serde(default)]
    hours: Vec<HoursToml>,
    #[serde(default)]
    alerts: Option<AlertsToml>,
}

/// What a zone takes alerts for: its outline (latitude, longitude corners, WGS 84) and the
/// least severity and urgency of a CAP alert that closes it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AlertsToml {
    area: Vec<[f64; 2]>,
    #[serde(default = "default_severity")]
    min_severity: String,
    #[serde(default = "default_urgency")]
    min_urgency: String,
    /// Hold the closure until the authority confirms it on the dashboard.
    #[serde(default)]
    confirm: bool,
    /// What its closures do to the bookings they hit: notify, rebook or cancel.
    #[serde(default = "default_policy")]
    policy: String,
}

fn default_policy() -> String {
    "notify".into()
}

fn default_severity() -> String {
    "Severe".into()
}

fn default_urgency() -> String {
    "Expected".into()
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesToml {
    horizon_minutes: Option<u32>,
    booking_cutoff_minutes: Option<u32>,
    change_cutoff_minutes: Option<u32>,
    early_grace_minutes: Option<u32>,
    late_grace_minutes: Option<u32>,
    company_cap_percent: Option<u8>,
    require_containers: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HoursToml {
    days: Vec<String>,
    hours: [u32; 2],
    capacity: u32,
    #[serde(default)]
    capacity_per_type: Option<BTreeMap<String, u32>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GateToml {
    id: String,
    zone: String,
    name: String,
    #[serde(default)]
    name_ar: String,
    lanes: Vec<LaneToml>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LaneToml {
    id: String,
    direction: String,
}

/// A parsed, validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub zones: Vec<ZoneConfig>,
    pub gates: Vec<Gate>,
    /// The zones that take alerts (those with an `[zones.alerts]` section).
    pub alert_zones: Vec<AlertSetting>,
    /// Where drivers' SMS go (none: no SMS). An empty password is given at start
    /// ([`Config::with_sms_password`]).
    pub sms: Option<KannelConfig>,
}

fn capacity(total: u32, split: Option<&BTreeMap<String, u32>>) -> Result<WindowCapacity> {
    let Some(split) = split else {
        return Ok(WindowCapacity::uniform(total));
    };
    let mut per_type = [0u32; 5];
    for (name, n) in split {
        let t: TransactionType = name.parse()?;
        per_type[t.index()] = *n;
    }
    Ok(WindowCapacity {
        total,
        per_type: Some(per_type),
    })
}

pub(crate) fn weekdays(days: &[String]) -> Result<Vec<Weekday>> {
    let mut out = Vec::new();
    for d in days {
        if d == "*" {
            out.extend(bawaba_domain::calendar::WEEKDAYS);
        } else {
            out.push(
                d.parse::<Weekday>()
                    .map_err(|_| anyhow::anyhow!("unknown day {d:?} (mon..sun or \"*\")"))?,
            );
        }
    }
    Ok(out)
}

fn zone(z: ZoneToml) -> Result<ZoneConfig> {
    let id = ZoneId::parse(&z.id)?;
    let base = capacity(z.capacity, z.capacity_per_type.as_ref())?;
    let mut cfg = ZoneConfig::new(id, z.name, SlotLength::from_minutes(z.slot_minutes)?, base);
    cfg.name_ar = z.name_ar;
    if let Some(w) = &z.when_closed {
        cfg.when_closed = w.parse()?;
    }
    let d = BookingRules::default();
    let r = z.rules;
    cfg.rules = BookingRules {
        horizon_minutes: r.horizon_minutes.unwrap_or(d.horizon_minutes),
        booking_cutoff_minutes: r.booking_cutoff_minutes.unwrap_or(d.booking_cutoff_minutes),
        change_cutoff_minutes: r.change_cutoff_minutes.unwrap_or(d.change_cutoff_minutes),
        early_grace_minutes: r.early_grace_minutes.unwrap_or(d.early_grace_minutes),
        late_grace_minutes: r.late_grace_minutes.unwrap_or(d.late_grace_minutes),
        company_cap_percent: r.company_cap_percent.unwrap_or(d.company_cap_percent),
        require_containers: r.require_containers.unwrap_or(d.require_containers),
    };
    for (i, h) in z.hours.iter().enumerate() {
        let [from, to] = h.hours;
        if from >= to || to > 24 {
            bail!("hours[{i}]: [{from}, {to}) is not a range of local hours within 0..24");
        }
        let cap = capacity(h.capacity, h.capacity_per_type.as_ref())
            .with_context(|| format!("hours[{i}]"))?;
        for day in weekdays(&h.days).with_context(|| format!("hours[{i}]"))? {
            for hour in from..to {
                cfg.template.set(day, hour, cap)?;
            }
        }
    }
    cfg.validate()?;
    Ok(cfg)
}

fn alert_zone(zone: &str, a: &AlertsToml) -> Result<AlertSetting> {
    let corners: Vec<(f64, f64)> = a.area.iter().map(|&[lat, lon]| (lat, lon)).collect();
    let takes = AlertZone {
        zone: zone.to_owned(),
        outline: Outline::new(&corners).context("alerts.area")?,
        min_severity: a.min_severity.parse().context("alerts.min_severity")?,
        min_urgency: a.min_urgency.parse().context("alerts.min_urgency")?,
        confirm: a.confirm,
    };
    let policy = a.policy.parse().context("alerts.policy")?;
    Ok(AlertSetting { takes, policy })
}

fn gate(g: GateToml) -> Result<Gate> {
    let lanes = g
        .lanes
        .into_iter()
        .map(|l| {
            let direction = match l.direction.to_ascii_lowercase().as_str() {
                "in" => Direction::In,
                "out" => Direction::Out,
                other => bail!(
                    "lane {}: direction {other:?} must be \"in\" or \"out\"",
                    l.id
                ),
            };
            Ok(Lane {
                id: LaneId::parse(&l.id)?,
                direction,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Gate {
        id: GateId::parse(&g.id)?,
        zone: ZoneId::parse(&g.zone)?,
        name: g.name,
        lanes,
        name_ar: g.name_ar,
    })
}

impl Config {
    pub fn parse(text: &str) -> Result<Self> {
        let file: File = toml::from_str(text)?;
        let alert_zones = file
            .zones
            .iter()
            .filter_map(|z| Some((&z.id, z.alerts.as_ref()?)))
            .map(|(id, a)| alert_zone(id, a).with_context(|| format!("zone {id}")))
            .collect::<Result<Vec<_>>>()?;
        let zones = file
            .zones
            .into_iter()
            .map(|z| {
                let id = z.id.clone();
                zone(z).with_context(|| format!("zone {id}"))
            })
            .collect::<Result<Vec<_>>>()?;
        let gates = file
            .gates
            .into_iter()
            .map(|g| {
                let id = g.id.clone();
                let gate = gate(g).with_context(|| format!("gate {id}"))?;
                if !zones.iter().any(|z| z.id == gate.zone) {
                    bail!("gate {id}: zone {} is not configured", gate.zone);
                }
                Ok(gate)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Config {
            zones,
            gates,
            alert_zones,
            sms: file.sms.map(sms).transpose()?,
        })
    }

    /// Fills in the SMS password the file left empty with `password` (the scheduler's
    /// `--sms-password`); an error when neither gives one.
    pub fn with_sms_password(mut self, password: Option<String>) -> Result<Self> {
        if let Some(k) = self.sms.as_mut().filter(|k| k.password.is_empty()) {
            k.password = password.filter(|p| !p.is_empty()).context(
                "[sms] password is empty and --sms-password (BAWABA_SMS_PASSWORD) is not given",
            )?;
        }
        Ok(self)
    }

    pub fn load(path: Option<&std::path::Path>) -> Result<Self> {
        match path {
            None => Self::parse(BUILT_IN).context("the built-in configuration"),
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("reading {}", p.display()))?;
                Self::parse(&text).with_context(|| format!("in {}", p.display()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sms_goes_to_the_configured_sendsms_user() {
        assert_eq!(Config::parse(BUILT_IN).unwrap().sms, None, "none built in");
        let with = |section: &str| Config::parse(&format!("{BUILT_IN}\n[sms]\n{section}"));
        let c = with(
            "sendsms_url = \"http://k:13013/cgi-bin/sendsms\"\nusername = \"u\"\npassword = \"p\"",
        );
        let k = c.unwrap().sms.unwrap();
        assert_eq!(
            (k.url.as_str(), k.from.as_str()),
            ("http://k:13013/cgi-bin/sendsms", "Bawaba")
        );
        let bad = with("sendsms_url = \"k:13013\"\nusername = \"u\"\npassword = \"p\"");
        assert!(format!("{:#}", bad.unwrap_err()).contains("sms.sendsms_url"));
        let unset = with("sendsms_url = \"http://k/\"\nusername = \"u\"").unwrap();
        assert!(unset.clone().with_sms_password(None).is_err());
        let given = unset.with_sms_password(Some("s3cret".into())).unwrap();
        assert_eq!(given.sms.unwrap().password, "s3cret");
    }

    /// The example flash-flood warning (the coast south of the city) closes the container
    /// terminal and no other zone of the built-in configuration.
    #[test]
    fn the_example_alert_meets_the_terminal_only() {
        let c = Config::parse(BUILT_IN).unwrap();
        let zones: Vec<_> = c
            .alert_zones
            .iter()
            .map(|a| a.takes.zone.as_str())
            .collect();
        assert_eq!(zones, ["act", "main-port", "siz", "aiie"]);
        let example = include_str!("../../../deploy/cap/flash-flood.example.xml");
        let alert = bawaba_cap::parse(example).unwrap();
        let closing: Vec<_> = c
            .alert_zones
            .iter()
            .filter(|a| a.takes.assess(&alert).is_some())
            .map(|a| a.takes.zone.as_str())
            .collect();
        assert_eq!(closing, ["act"]);
        assert!(
            c.alert_zones[3].takes.confirm,
            "aiie asks the authority first"
        );
        let policies: Vec<_> = c.alert_zones.iter().map(|a| a.policy.as_str()).collect();
        assert_eq!(policies, ["notify", "rebook", "notify", "notify"]);
    }

    #[test]
    fn bad_alert_sections_name_the_field() {
        let zone = "[[zones]]\nid = \"x\"\nname = \"X\"\nslot_minutes = 30\ncapacity = 1\n";
        for (alerts, words) in [
            ("area = [[29.4, 34.9], [29.5, 34.9]]", "three corners"),
            (
                "area = [[129.4, 34.9], [29.5, 34.9], [29.5, 35.0]]",
                "WGS 84",
            ),
            (
                "area = [[29.4, 34.9], [29.5, 34.9], [29.5, 35.0]]\nmin_severity = \"Bad\"",
                "Extreme",
            ),
            (
                "area = [[29.4, 34.9], [29.5, 34.9], [29.5, 35.0]]\npolicy = \"move\"",
                "alerts.policy",
            ),
        ] {
            let e = Config::parse(&format!("{zone}[zones.alerts]\n{alerts}\n")).unwrap_err();
            assert!(format!("{e:#}").contains(words), "{e:#}");
        }
    }

    #[test]
    fn built_in_config_is_aqaba() {
        let c = Config::parse(BUILT_IN).unwrap();
        let ids: Vec<_> = c.zones.iter().map(|z| z.id.as_str()).collect();
        assert_eq!(ids, ["act", "main-port", "siz", "aiie"]);
        let act = &c.zones[0];
        assert_eq!(act.name_ar, "محطة حاويات العقبة");
        assert!(
            c.zones.iter().all(|z| !z.name_ar.is_empty()),
            "every zone named in Arabic"
        );
        assert_eq!(act.slot.minutes(), 30);
        assert_eq!(act.template.get(Weekday::Mon, 10).total, 30);
        assert_eq!(act.template.get(Weekday::Mon, 3).total, 12);
        assert_eq!(act.template.get(Weekday::Fri, 10).total, 18);
        assert_eq!(
            act.template
                .get(Weekday::Mon, 10)
                .for_type(TransactionType::ImportPickup),
            12
        );
        assert!(
            c.gates
                .iter()
                .all(|g| c.zones.iter().any(|z| z.id == g.zone))
        );
    }

    #[test]
    fn mistakes_are_named() {
        let e =
            Config::parse("[[zones]]\nid = \"x\"\nname = \"X\"\nslot_minutes = 25\ncapacity = 1\n")
                .unwrap_err();
        assert!(format!("{e:#}").contains("slot_minutes"), "{e:#}");
        let e = Config::parse(
            "[[zones]]\nid = \"x\"\nname = \"X\"\nslot_minutes = 30\ncapacity = 1\ncapcity = 2\n",
        )
        .unwrap_err();
        assert!(format!("{e:#}").contains("capcity"), "{e:#}");
        let e = Config::parse(
            "[[zones]]\nid = \"x\"\nname = \"X\"\nslot_minutes = 30\ncapacity = 1\nwhen_closed = \"wait\"\n",
        )
        .unwrap_err();
        assert!(format!("{e:#}").contains("when_closed"), "{e:#}");
        let e = Config::parse("[[gates]]\nid = \"g\"\nzone = \"nowhere\"\nname = \"G\"\nlanes = [{ id = \"in-1\", direction = \"in\" }]\n")
            .unwrap_err();
        assert!(format!("{e:#}").contains("not configured"), "{e:#}");
    }
}
