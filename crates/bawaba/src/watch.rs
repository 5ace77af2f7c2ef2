//! `bawaba watch add|list|remove`: the security services' watchlist from the command line
//! (a security or authority token), local times in and out.

use anyhow::Result;
use bawaba_grpc::pb;
use clap::Subcommand;

use serde_json::json;

use crate::client::{Conn, local, out, time};
use crate::output::{self, Format, NothingFound, Shape};

#[derive(Debug, Subcommand)]
pub enum WatchCommand {
    /// Put a plate or an RFID tag on the watchlist: the gates hold the truck (REFER, or with
    /// --deny DENY at IN lanes) whatever its booking says. A plate also matches its
    /// look-alikes (6O-12345 matches 60-12345). The same plate or tag again replaces its entry.
    Add {
        /// The plate (any spelling: 60-12345, ٦٠-١٢٣٤٥).
        #[arg(long, conflicts_with = "tag", required_unless_present = "tag")]
        plate: Option<String>,
        /// The tag's EPC, hex.
        #[arg(long)]
        tag: Option<String>,
        /// Why (shown to operators and kept in the audit trail).
        #[arg(long)]
        reason: String,
        /// Turn the truck away at IN lanes instead of referring it to an operator.
        #[arg(long)]
        deny: bool,
        /// When the entry lapses (2026-12-08T10:00 is Amman time); without it, until removed.
        #[arg(long)]
        until: Option<String>,
        /// One zone only (default: every zone the token keeps).
        #[arg(long)]
        zone: Option<String>,
    },
    /// The entries in force, with the zones that hold them.
    List {
        #[arg(long)]
        zone: Option<String>,
    },
    /// Take a plate or a tag off the watchlist.
    Remove {
        #[arg(long, conflicts_with = "tag", required_unless_present = "tag")]
        plate: Option<String>,
        #[arg(long)]
        tag: Option<String>,
        #[arg(long)]
        zone: Option<String>,
    },
}

pub async fn watch(conn: &Conn, cmd: WatchCommand, format: Format) -> Result<()> {
    let mut security = conn.security().await?;
    match cmd {
        WatchCommand::Add {
            plate,
            tag,
            reason,
            deny,
            until,
            zone,
        } => {
            let action = if deny {
                pb::WatchAction::Deny
            } else {
                pb::WatchAction::Refer
            };
            let entry = pb::WatchEntry {
                plate: plate.unwrap_or_default(),
                tag: tag.unwrap_or_default(),
                reason,
                action: action as i32,
                until: until
                    .map(|u| time(&u))
                    .transpose()?
                    .map(bawaba_grpc::timestamp),
                added: None,
            };
            let req = pb::AddWatchRequest {
                zone_id: zone.unwrap_or_default(),
                entry: Some(entry),
            };
            let r = security.add_watch(req).await?.into_inner();
            let added = pb::WatchListing {
                entry: r.entry,
                zone_ids: r.zone_ids,
            };
            output::one(format, &added, &LISTING);
        }
        WatchCommand::List { zone } => {
            let req = pb::ListWatchRequest {
                zone_id: zone.unwrap_or_default(),
            };
            let listed = security.list_watch(req).await?.into_inner().entries;
            output::listing(format, &listed, &LISTING);
            if listed.is_empty() {
                return Err(NothingFound("the watchlist is empty".into()).into());
            }
        }
        WatchCommand::Remove { plate, tag, zone } => {
            let req = pb::RemoveWatchRequest {
                zone_id: zone.unwrap_or_default(),
                plate: plate.unwrap_or_default(),
                tag: tag.unwrap_or_default(),
            };
            let r = security.remove_watch(req).await?.into_inner();
            out(format_args!("removed from {}", r.zone_ids.join(",")));
        }
    }
    Ok(())
}

/// Watchlist entries with the zones they hold in.
const LISTING: Shape<pb::WatchListing> = Shape {
    text: |l| {
        if let Some(e) = &l.entry {
            print_entry(e, &l.zone_ids);
        }
    },
    json: |l| {
        let e = l.entry.clone().unwrap_or_default();
        json!({
            "plate": output::text_or_null(&e.plate),
            "tag": output::text_or_null(&e.tag),
            "action": action(&e),
            "until": output::time(e.until.as_ref()),
            "added": output::time(e.added.as_ref()),
            "zones": l.zone_ids,
            "reason": e.reason,
        })
    },
    headers: &[
        "PLATE", "TAG", "ACTION", "UNTIL", "ADDED", "ZONES", "REASON",
    ],
    rows: |l| {
        let e = l.entry.clone().unwrap_or_default();
        vec![vec![
            e.plate.clone(),
            e.tag.clone(),
            action(&e).to_owned(),
            e.until
                .as_ref()
                .map_or_else(|| "-".into(), |u| local(Some(u))),
            local(e.added.as_ref()),
            l.zone_ids.join(","),
            e.reason,
        ]]
    },
};

fn action(e: &pb::WatchEntry) -> &'static str {
    match pb::WatchAction::try_from(e.action) {
        Ok(pb::WatchAction::Deny) => "DENY",
        _ => "REFER",
    }
}

fn print_entry(e: &pb::WatchEntry, zones: &[String]) {
    let target = if e.plate.is_empty() {
        format!("tag={}", e.tag)
    } else {
        format!("plate={}", e.plate)
    };
    let action = action(e);
    let until = e.until.as_ref().map_or_else(
        || "until removed".to_owned(),
        |u| format!("until={}", local(Some(u))),
    );
    out(format_args!(
        "watch {target} action={action} {until} added={} zones={} reason=\"{}\"",
        local(e.added.as_ref()),
        zones.join(","),
        e.reason
    ));
}
