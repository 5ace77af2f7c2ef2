//! `bawaba zones ...` and `bawaba closures list`: the zones, and the authority's changes to
//! them from the command line (close, reopen, company caps), local times in and out.

use anyhow::{Context, Result};
use bawaba_domain::calendar::ClosurePolicy;
use bawaba_grpc::pb;
use clap::Subcommand;

use serde_json::json;

use crate::client::{Conn, local, out, print_booking, time, type_arg, type_name};
use crate::output::{self, Format, NothingFound, Shape};

#[derive(Debug, Subcommand)]
pub enum ZonesCommand {
    /// The configured zones.
    List,
    /// Close a zone over [FROM, TO) (authority): its windows take no bookings and its gates
    /// let no truck in; prints the closure and the bookings it hits. Times: 2026-12-08T10:00
    /// is Amman time; an offset may be given.
    Close {
        zone: String,
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        /// Why (shown to companies, operators and on refusals).
        #[arg(long)]
        reason: String,
        /// What happens to the bookings it hits: notify (they stay; their companies are told),
        /// rebook (each moves to the nearest free windows after the closure; one that cannot
        /// stays) or cancel (cancelled, naming the closure).
        #[arg(long, default_value = "notify")]
        policy: String,
    },
    /// Lift a closure (authority): `bawaba closures list` shows the ids.
    Reopen { zone: String, closure_id: u64 },
    /// Change a zone's capacity (authority), the rest as it was: local --hours (e.g. 6-22) of
    /// --days (mon,tue,... or *), or a one-off capacity for the windows starting in
    /// [--from, --to) with a --reason (Eid, an inspection campaign). A change that would leave
    /// booked windows over their new capacity names them and is made only with --confirm
    /// (the bookings are kept).
    Capacity {
        zone: String,
        /// Places per window.
        #[arg(long)]
        capacity: u32,
        /// A split per transaction type, TYPE=N (repeatable; IMPORT_PICKUP, EXPORT_DROPOFF,
        /// EMPTY_RETURN, EMPTY_PICKUP, GENERAL_CARGO).
        #[arg(long = "type", value_name = "TYPE=N")]
        per_type: Vec<String>,
        #[arg(long, value_delimiter = ',')]
        days: Vec<String>,
        /// Local hours FROM-TO (TO excluded), e.g. 6-22.
        #[arg(long)]
        hours: Option<String>,
        #[arg(long, requires = "to", conflicts_with_all = ["days", "hours"])]
        from: Option<String>,
        #[arg(long, requires = "from")]
        to: Option<String>,
        #[arg(long)]
        reason: Option<String>,
        /// Apply even if booked windows would be over their new capacity.
        #[arg(long)]
        confirm: bool,
    },
    /// Remove a one-off capacity (authority): `zones list` shows the ids.
    ClearCapacity { zone: String, override_id: u64 },
    /// Cap a company at PERCENT of each window of a zone (1-100; 0 clears it) (authority).
    Cap {
        zone: String,
        company: String,
        percent: u32,
    },
}

#[derive(Debug, Subcommand)]
pub enum ClosuresCommand {
    /// Closures in force or to come (times in Asia/Amman), of one zone or all.
    List {
        #[arg(long)]
        zone: Option<String>,
    },
}

async fn list_zones(conn: &Conn) -> Result<Vec<pb::Zone>> {
    let mut admin = conn.admin().await?;
    Ok(admin
        .list_zones(pb::ListZonesRequest {})
        .await?
        .into_inner()
        .zones)
}

pub async fn zones(conn: &Conn, cmd: ZonesCommand, format: Format) -> Result<()> {
    match cmd {
        ZonesCommand::List => {
            let zones = list_zones(conn).await?;
            output::listing(format, &zones, &ZONE);
        }
        ZonesCommand::Close {
            zone,
            from,
            to,
            reason,
            policy,
        } => {
            let policy = match policy.parse::<ClosurePolicy>()? {
                ClosurePolicy::Notify => pb::ClosurePolicy::Notify,
                ClosurePolicy::Cancel => pb::ClosurePolicy::Cancel,
                ClosurePolicy::Rebook => pb::ClosurePolicy::Rebook,
            };
            let req = pb::AddClosureRequest {
                zone_id: zone.clone(),
                from: Some(bawaba_grpc::timestamp(time(&from)?)),
                to: Some(bawaba_grpc::timestamp(time(&to)?)),
                reason,
                policy: policy.into(),
            };
            let r = conn.admin().await?.add_closure(req).await?.into_inner();
            if let Some(c) = &r.closure {
                print_closure(&zone, c);
            }
            out(format_args!("bookings hit: {}", r.affected_bookings.len()));
            if !r.rebooked_booking_ids.is_empty() {
                let moved = r.rebooked_booking_ids.join(" ");
                out(format_args!("rebooked: {moved}"));
            }
            for b in &r.affected_bookings {
                print_booking(b);
            }
        }
        ZonesCommand::Capacity {
            zone,
            capacity,
            per_type,
            days,
            hours,
            from,
            to,
            reason,
            confirm,
        } => {
            let mut req = pb::SetCapacityRequest {
                zone_id: zone,
                capacity,
                per_type: split(&per_type)?,
                reason: reason.unwrap_or_default(),
                confirm,
                ..Default::default()
            };
            if let (Some(from), Some(to)) = (from, to) {
                req.from = Some(bawaba_grpc::timestamp(time(&from)?));
                req.to = Some(bawaba_grpc::timestamp(time(&to)?));
            } else {
                let (a, b) = hour_range(hours.as_deref().unwrap_or("0-24"))?;
                let days = crate::config::weekdays(&days)?;
                req.weekdays = days.iter().map(|d| d.number_from_monday()).collect();
                (req.from_hour, req.to_hour) = (a, b);
            }
            let z = conn.admin().await?.set_capacity(req).await?.into_inner();
            print_zone(&z);
        }
        ZonesCommand::ClearCapacity { zone, override_id } => {
            let req = pb::RemoveCapacityOverrideRequest {
                zone_id: zone,
                override_id,
            };
            let z = conn
                .admin()
                .await?
                .remove_capacity_override(req)
                .await?
                .into_inner();
            out(format_args!(
                "capacity {override_id} of {} removed",
                z.zone_id
            ));
            print_zone(&z);
        }
        ZonesCommand::Reopen { zone, closure_id } => {
            let req = pb::RemoveClosureRequest {
                zone_id: zone,
                closure_id,
            };
            let r = conn.admin().await?.remove_closure(req).await?.into_inner();
            if let Some(z) = &r.zone {
                out(format_args!("closure {closure_id} of {} lifted", z.zone_id));
                print_zone(z);
            }
            out(format_args!(
                "bookings that can come as booked again: {}",
                r.can_return.len()
            ));
            r.can_return.iter().for_each(print_booking);
        }
        ZonesCommand::Cap {
            zone,
            company,
            percent,
        } => {
            let req = pb::SetCompanyCapRequest {
                zone_id: zone,
                company_id: company.clone(),
                percent,
            };
            let z = conn.admin().await?.set_company_cap(req).await?.into_inner();
            match z.company_caps.iter().find(|c| c.company_id == company) {
                Some(c) => out(format_args!(
                    "{} cap {}={}% of each window",
                    z.zone_id, c.company_id, c.percent
                )),
                None => out(format_args!(
                    "{} cap {company} cleared: the zone's rule applies ({}%)",
                    z.zone_id,
                    z.rules.map_or(0, |r| r.company_cap_percent)
                )),
            }
        }
    }
    Ok(())
}

pub async fn closures(conn: &Conn, cmd: ClosuresCommand, format: Format) -> Result<()> {
    let ClosuresCommand::List { zone } = cmd;
    let mut all = Vec::new();
    for z in list_zones(conn).await? {
        if zone.as_ref().is_none_or(|want| *want == z.zone_id) {
            all.extend(z.closures.into_iter().map(|c| (z.zone_id.clone(), c)));
        }
    }
    output::listing(format, &all, &CLOSURE);
    if all.is_empty() {
        return Err(NothingFound("no closures".into()).into());
    }
    Ok(())
}

/// A zone's closures: its id with each.
const CLOSURE: Shape<(String, pb::Closure)> = Shape {
    text: |(zone, c)| print_closure(zone, c),
    json: |(zone, c)| {
        json!({
            "zone": zone,
            "id": c.id,
            "from": output::time(c.from.as_ref()),
            "to": output::time(c.to.as_ref()),
            "reason": c.reason,
        })
    },
    headers: &["ZONE", "CLOSURE", "FROM", "TO", "REASON"],
    rows: |(zone, c)| {
        vec![vec![
            zone.clone(),
            c.id.to_string(),
            local(c.from.as_ref()),
            local(c.to.as_ref()),
            c.reason.clone(),
        ]]
    },
};

/// Zones as `zones list` shows them.
const ZONE: Shape<pb::Zone> = Shape {
    text: print_zone,
    json: |z| {
        let r = z.rules.unwrap_or_default();
        json!({
            "id": z.zone_id,
            "name": z.name,
            "name_ar": output::text_or_null(&z.name_ar),
            "slot_minutes": z.slot_minutes,
            "rules": {
                "horizon_minutes": r.horizon_minutes,
                "booking_cutoff_minutes": r.booking_cutoff_minutes,
                "change_cutoff_minutes": r.change_cutoff_minutes,
                "early_grace_minutes": r.early_grace_minutes,
                "late_grace_minutes": r.late_grace_minutes,
                "company_cap_percent": r.company_cap_percent,
                "require_containers": r.require_containers,
            },
            "when_closed": when_closed(z),
            "closures": z.closures.iter().map(|c| json!({
                "id": c.id,
                "from": output::time(c.from.as_ref()),
                "to": output::time(c.to.as_ref()),
                "reason": c.reason,
            })).collect::<Vec<_>>(),
            "company_caps": z.company_caps.iter().map(|c| json!({
                "company": c.company_id,
                "percent": c.percent,
            })).collect::<Vec<_>>(),
        })
    },
    headers: &[
        "ZONE",
        "NAME",
        "SLOT",
        "HORIZON",
        "CAP",
        "CLOSURES",
        "WHEN_CLOSED",
    ],
    rows: |z| {
        let r = z.rules.unwrap_or_default();
        vec![vec![
            z.zone_id.clone(),
            z.name.clone(),
            format!("{} min", z.slot_minutes),
            format!("{} min", r.horizon_minutes),
            format!("{}%", r.company_cap_percent),
            z.closures.len().to_string(),
            when_closed(z).to_owned(),
        ]]
    },
};

fn when_closed(z: &pb::Zone) -> &'static str {
    match z.when_closed() {
        pb::WhenClosed::Refer => "refer",
        pb::WhenClosed::Unspecified | pb::WhenClosed::Deny => "deny",
    }
}

fn print_closure(zone: &str, c: &pb::Closure) {
    out(format_args!(
        "closure {} zone={} from={} to={} reason=\"{}\"",
        c.id,
        zone,
        local(c.from.as_ref()),
        local(c.to.as_ref()),
        c.reason
    ));
}

/// `TYPE=N` arguments as a split.
fn split(args: &[String]) -> Result<Vec<pb::TypeCapacity>> {
    args.iter()
        .map(|a| {
            let (t, n) = a
                .split_once('=')
                .with_context(|| format!("--type {a:?}: expected TYPE=N"))?;
            Ok(pb::TypeCapacity {
                transaction_type: type_arg(t)? as i32,
                capacity: n
                    .parse()
                    .with_context(|| format!("--type {a:?}: {n:?} is not a number"))?,
            })
        })
        .collect()
}

/// `FROM-TO` local hours.
fn hour_range(s: &str) -> Result<(u32, u32)> {
    let bad = || anyhow::anyhow!("--hours {s:?}: expected FROM-TO local hours, e.g. 6-22");
    let (a, b) = s.split_once('-').ok_or_else(bad)?;
    Ok((
        a.trim().parse().map_err(|_| bad())?,
        b.trim().parse().map_err(|_| bad())?,
    ))
}

fn print_zone(z: &pb::Zone) {
    let r = z.rules.unwrap_or_default();
    let when_closed = when_closed(z);
    out(format_args!(
        "{} slot={}min horizon={}min cutoff={}min grace=-{}/+{}min cap={}% closures={} when_closed={when_closed} \"{}\" \"{}\"",
        z.zone_id,
        z.slot_minutes,
        r.horizon_minutes,
        r.booking_cutoff_minutes,
        r.early_grace_minutes,
        r.late_grace_minutes,
        r.company_cap_percent,
        z.closures.len(),
        z.name,
        z.name_ar
    ));
    for o in &z.overrides {
        let split: Vec<String> = o
            .per_type
            .iter()
            .map(|t| format!("{}={}", type_name(t.transaction_type), t.capacity))
            .collect();
        out(format_args!(
            "capacity {} zone={} from={} to={} capacity={}{} reason=\"{}\"",
            o.id,
            z.zone_id,
            local(o.from.as_ref()),
            local(o.to.as_ref()),
            o.capacity,
            if split.is_empty() {
                String::new()
            } else {
                format!(" ({})", split.join(","))
            },
            o.reason
        ));
    }
}
