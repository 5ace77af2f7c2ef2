//! `bawaba watch add|list|remove`: the security services' watchlist from the command line
//! (a security or authority token), local times in and out.

use anyhow::Result;
use bawaba_grpc::pb;
use clap::Subcommand;

use crate::client::{Conn, local, out, time};

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

pub async fn watch(conn: &Conn, cmd: WatchCommand) -> Result<()> {
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
            if let Some(e) = &r.entry {
                print_entry(e, &r.zone_ids);
            }
        }
        WatchCommand::List { zone } => {
            let req = pb::ListWatchRequest {
                zone_id: zone.unwrap_or_default(),
            };
            let listed = security.list_watch(req).await?.into_inner().entries;
            if listed.is_empty() {
                out(format_args!("the watchlist is empty"));
            }
            for l in &listed {
                if let Some(e) = &l.entry {
                    print_entry(e, &l.zone_ids);
                }
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

fn print_entry(e: &pb::WatchEntry, zones: &[String]) {
    let target = if e.plate.is_empty() {
        format!("tag={}", e.tag)
    } else {
        format!("plate={}", e.plate)
    };
    let action = match pb::WatchAction::try_from(e.action) {
        Ok(pb::WatchAction::Deny) => "DENY",
        _ => "REFER",
    };
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
