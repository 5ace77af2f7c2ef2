//! `bawaba audit list`: the audit trail of a running scheduler, newest first, in Amman time.

use anyhow::Result;
use bawaba_grpc::pb;
use clap::Subcommand;

use serde_json::json;

use crate::client::{Conn, local, out, time};
use crate::output::{self, Format, NothingFound, Shape};

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Who changed what and when, newest first (times in Asia/Amman; nothing found: exit 3).
    ///
    /// Kinds: zone.saved, zone.template_set, zone.rules_set, closure.added, closure.removed,
    /// closure.changed, company_cap.set, capacity.override_added, capacity.override_removed,
    /// gate.saved, referral.resolved, booking.created, booking.moved, booking.cancelled,
    /// booking.no_show_taken_back, token.issued, token.revoked, alert.received,
    /// alert.dismissed, watch.added, watch.removed, webhook.set, webhook.removed,
    /// fleet.truck_saved, fleet.truck_removed, account.created, account.changed,
    /// account.locked.
    #[command(
        after_help = "Example:\n  bawaba audit list --kind closure.added --from 2026-12-08T00:00 --output table"
    )]
    List {
        /// Only changes of this zone.
        #[arg(long)]
        zone: Option<String>,
        /// Only changes by this token id or name.
        #[arg(long)]
        actor: Option<String>,
        /// Only changes of this kind (e.g. closure.added).
        #[arg(long)]
        kind: Option<String>,
        /// Only changes at or after this time (2026-12-08T10:00 is Amman time; an offset
        /// may be given).
        #[arg(long)]
        from: Option<String>,
        /// Only changes before this time.
        #[arg(long)]
        to: Option<String>,
        /// How many records, newest first (all pages are followed up to this many).
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
}

pub async fn audit(conn: &Conn, cmd: AuditCommand, format: Format) -> Result<()> {
    let AuditCommand::List {
        zone,
        actor,
        kind,
        from,
        to,
        limit,
    } = cmd;
    let ts = |s: Option<String>| -> Result<_> {
        s.map(|s| time(&s).map(bawaba_grpc::timestamp)).transpose()
    };
    let mut req = pb::ListAuditRequest {
        zone_id: zone.unwrap_or_default(),
        actor: actor.unwrap_or_default(),
        kind: kind.unwrap_or_default(),
        from: ts(from)?,
        to: ts(to)?,
        page_size: 0,
        page_token: String::new(),
    };
    let mut admin = conn.admin().await?;
    let mut entries = Vec::new();
    while entries.len() < limit {
        req.page_size = u32::try_from((limit - entries.len()).min(500)).unwrap_or(500);
        let page = admin.list_audit(req.clone()).await?.into_inner();
        let done = page.next_page_token.is_empty() || page.entries.is_empty();
        entries.extend(page.entries);
        if done {
            break;
        }
        req.page_token = page.next_page_token;
    }
    output::listing(format, &entries, &ENTRY);
    if entries.is_empty() {
        return Err(NothingFound("no audit records match".into()).into());
    }
    Ok(())
}

/// Audit records.
const ENTRY: Shape<pb::AuditEntry> = Shape {
    text: print_entry,
    json: |e| {
        let who = e.actor.clone().unwrap_or_default();
        json!({
            "id": e.id,
            "at": output::time(e.at.as_ref()),
            "kind": e.kind,
            "actor": {
                "name": who.name,
                "role": output::text_or_null(&who.role),
                "company": output::text_or_null(&who.company_id),
                "zone": output::text_or_null(&who.zone_id),
                "token": output::text_or_null(&who.token_id),
            },
            "door": e.door,
            "zone": output::text_or_null(&e.zone_id),
            "objects": e.objects,
            "changes": e.changes.iter().map(|c| json!({
                "field": c.field,
                "before": output::text_or_null(&c.before),
                "after": output::text_or_null(&c.after),
            })).collect::<Vec<_>>(),
        })
    },
    headers: &["AT", "ID", "KIND", "BY", "DOOR", "ZONE", "OBJECTS"],
    rows: |e| {
        vec![vec![
            local(e.at.as_ref()),
            e.id.to_string(),
            e.kind.clone(),
            e.actor.as_ref().map(|a| a.name.clone()).unwrap_or_default(),
            e.door.clone(),
            e.zone_id.clone(),
            e.objects.join(","),
        ]]
    },
};

fn print_entry(e: &pb::AuditEntry) {
    let who = e.actor.clone().unwrap_or_default();
    let mut role = who.role.clone();
    for (k, v) in [("company", &who.company_id), ("zone", &who.zone_id)] {
        if !v.is_empty() {
            role.push_str(&format!(" {k}={v}"));
        }
    }
    if !who.token_id.is_empty() {
        role.push_str(&format!(" token={}", who.token_id));
    }
    out(format_args!(
        "{} #{} {} by {}{} via {}{} {}",
        local(e.at.as_ref()),
        e.id,
        e.kind,
        who.name,
        if role.is_empty() {
            String::new()
        } else {
            format!(" ({})", role.trim())
        },
        e.door,
        if e.zone_id.is_empty() {
            String::new()
        } else {
            format!(" zone={}", e.zone_id)
        },
        e.objects.join(","),
    ));
    for c in &e.changes {
        out(format_args!(
            "    {}: {} -> {}",
            c.field,
            shown(&c.before),
            shown(&c.after)
        ));
    }
}

fn shown(v: &str) -> &str {
    if v.is_empty() { "-" } else { v }
}

#[cfg(test)]
mod tests {
    use bawaba_domain::audit::AuditKind;
    use clap::Subcommand as _;

    use super::*;

    #[test]
    fn the_help_names_every_kind() {
        let cmd = AuditCommand::augment_subcommands(clap::Command::new("audit"));
        let list = cmd.find_subcommand("list").unwrap();
        let help = list.get_long_about().unwrap().to_string();
        for k in AuditKind::ALL {
            assert!(
                help.contains(k.as_str()),
                "{} is missing from: {help}",
                k.as_str()
            );
        }
    }
}
