//! `bawaba audit list`: the audit trail of a running scheduler, newest first, in Amman time.

use anyhow::Result;
use bawaba_grpc::pb;
use clap::Subcommand;

use crate::client::{Conn, local, out, time};

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Who changed what and when, newest first (times in Asia/Amman). Kinds: zone.saved,
    /// zone.template_set, zone.rules_set, closure.added, closure.removed, company_cap.set,
    /// gate.saved, referral.resolved, booking.created, booking.moved, booking.cancelled,
    /// token.issued, token.revoked.
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

pub async fn audit(conn: &Conn, cmd: AuditCommand) -> Result<()> {
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
    let mut shown = 0;
    while shown < limit {
        req.page_size = u32::try_from((limit - shown).min(500)).unwrap_or(500);
        let page = admin.list_audit(req.clone()).await?.into_inner();
        for e in &page.entries {
            print_entry(e);
        }
        shown += page.entries.len();
        if page.next_page_token.is_empty() || page.entries.is_empty() {
            break;
        }
        req.page_token = page.next_page_token;
    }
    if shown == 0 {
        out(format_args!("no audit records match"));
    }
    Ok(())
}

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
