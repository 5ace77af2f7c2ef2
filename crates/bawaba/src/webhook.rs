//! `bawaba webhook set|show|remove|deliveries`: a company's webhook from the command line,
//! local times out.

use anyhow::Result;
use bawaba_grpc::pb;
use clap::{Args, Subcommand};

use crate::client::{Conn, local, out};
use serde_json::json;

use crate::output::{self, Format, NothingFound, Shape};

#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Send the company's events to URL: each a JSON POST signed with the secret (header
    /// Bawaba-Signature; README "Webhooks"), at least once, in order, retried for a day.
    Set {
        /// http:// or https://, e.g. https://hooks.example.jo/bawaba
        #[arg(long)]
        url: String,
        /// 16 to 256 printable characters; without it, one is made and printed (only now).
        #[arg(long, env = "BAWABA_WEBHOOK_SECRET")]
        secret: Option<String>,
        #[command(flatten)]
        company: Company,
    },
    /// The webhook and how far delivery has come.
    Show {
        #[command(flatten)]
        company: Company,
    },
    /// Stop delivering: remove the webhook.
    Remove {
        #[command(flatten)]
        company: Company,
    },
    /// Delivery attempts, newest first.
    Deliveries {
        /// How many (1 to 500).
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[command(flatten)]
        company: Company,
    },
}

#[derive(Debug, Args)]
pub struct Company {
    /// The company (the authority's tokens only; a company token acts for its own).
    #[arg(long)]
    company: Option<String>,
}

impl Company {
    /// The `company_id` of a request: empty for a company token's own.
    pub fn id(self) -> String {
        self.company.unwrap_or_default()
    }
}

pub async fn webhook(conn: &Conn, cmd: WebhookCommand, format: Format) -> Result<()> {
    let mut c = conn.company().await?;
    match cmd {
        WebhookCommand::Set {
            url,
            secret,
            company,
        } => {
            let req = pb::SetWebhookRequest {
                company_id: company.id(),
                url,
                secret: secret.clone().unwrap_or_default(),
            };
            let r = c.set_webhook(req).await?.into_inner();
            let w = r.webhook.unwrap_or_default();
            let made = secret.is_none().then_some(r.secret);
            match format {
                Format::Json => {
                    let mut v = (WEBHOOK.json)(&w);
                    v["secret"] = json!(made);
                    out(format_args!("{v}"));
                }
                _ => {
                    output::one(format, &w, &WEBHOOK);
                    if let Some(s) = made {
                        out(format_args!("secret={s} (shown only now)"));
                    }
                }
            }
        }
        WebhookCommand::Show { company } => {
            let req = pb::GetWebhookRequest {
                company_id: company.id(),
            };
            output::one(format, &c.get_webhook(req).await?.into_inner(), &WEBHOOK);
        }
        WebhookCommand::Remove { company } => {
            let req = pb::GetWebhookRequest {
                company_id: company.id(),
            };
            c.remove_webhook(req).await?;
            out(format_args!("removed: events are no longer delivered"));
        }
        WebhookCommand::Deliveries { limit, company } => {
            let req = pb::ListWebhookDeliveriesRequest {
                company_id: company.id(),
                page_size: limit,
                ..Default::default()
            };
            let listed = c
                .list_webhook_deliveries(req)
                .await?
                .into_inner()
                .deliveries;
            output::listing(format, &listed, &output::delivery_shape(print_delivery));
            if listed.is_empty() {
                return Err(NothingFound("no delivery attempts yet".into()).into());
            }
        }
    }
    Ok(())
}

/// A webhook and how far its delivery has come.
const WEBHOOK: Shape<pb::Webhook> = Shape {
    text: print_webhook,
    json: |w| {
        json!({
            "company": w.company_id,
            "url": w.url,
            "set_at": output::time(w.set_at.as_ref()),
            "delivered_through": w.delivered_through,
            "newest_event": w.head,
            "failing": (w.failing_event > 0).then(|| json!({
                "event": w.failing_event,
                "attempts": w.failing_attempts,
                "next_attempt": output::time(w.next_attempt.as_ref()),
            })),
        })
    },
    headers: &["COMPANY", "URL", "SET_AT", "DELIVERED", "NEWEST", "FAILING"],
    rows: |w| {
        vec![vec![
            w.company_id.clone(),
            w.url.clone(),
            local(w.set_at.as_ref()),
            w.delivered_through.to_string(),
            w.head.to_string(),
            match w.failing_event {
                0 => "-".into(),
                e => format!("{e} ({} attempts)", w.failing_attempts),
            },
        ]]
    },
};

fn print_webhook(w: &pb::Webhook) {
    out(format_args!(
        "company={} url={} set_at={} delivered_through={} newest_event={}",
        w.company_id,
        w.url,
        local(w.set_at.as_ref()),
        w.delivered_through,
        w.head
    ));
    if w.failing_event > 0 {
        out(format_args!(
            "failing: event={} attempts={} next_attempt={}",
            w.failing_event,
            w.failing_attempts,
            local(w.next_attempt.as_ref())
        ));
    }
}

fn print_delivery(d: &pb::WebhookDelivery) {
    out(format_args!("{}", describe_delivery(d)));
}

/// A delivery attempt as a line of text.
pub fn describe_delivery(d: &pb::WebhookDelivery) -> String {
    let outcome = output::outcome_name(d.outcome);
    let status = match d.status {
        0 => "-".to_owned(),
        s => s.to_string(),
    };
    format!(
        "event={} attempt={} at={} outcome={outcome} status={status}{}",
        d.event_id,
        d.attempt,
        local(d.at.as_ref()),
        if d.error.is_empty() {
            String::new()
        } else {
            format!(" error={:?}", d.error)
        }
    )
}
