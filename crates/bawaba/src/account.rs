//! `bawaba account create|list|disable|enable`: a company's portal accounts from the command
//! line (an authority token naming `--company`).

use anyhow::Result;
use bawaba_grpc::pb;
use clap::Subcommand;
use serde_json::json;

use crate::client::{Conn, local, out};
use crate::output::{self, Format, NothingFound, Shape};
use crate::webhook::Company;

#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Create a portal account for one of the company's people; its first password is made
    /// and printed this once (give it to them; they log in at the scheduler's /login).
    #[command(
        after_help = "Example:\n  bawaba account create --company acme --login ahmad.acme --name \"Ahmad Haddad\" --admin"
    )]
    Create {
        /// The login name: 3 to 40 of a-z 0-9 . _ - @ (kept in lower case).
        #[arg(long)]
        login: String,
        /// The person's name, as the portal greets them and the audit trail names them.
        #[arg(long)]
        name: String,
        /// A company admin: creates and disables the company's accounts, sets its webhook.
        #[arg(long)]
        admin: bool,
        #[command(flatten)]
        company: Company,
    },
    /// The company's accounts, by login name (exit status 3 when it has none).
    List {
        #[command(flatten)]
        company: Company,
    },
    /// Disable an account: it can no longer log in, and its sessions end.
    Disable {
        #[arg(long)]
        login: String,
        #[command(flatten)]
        company: Company,
    },
    /// Enable a disabled account again.
    Enable {
        #[arg(long)]
        login: String,
        #[command(flatten)]
        company: Company,
    },
}

fn shape() -> Shape<pb::Account> {
    Shape {
        text: print_account,
        json: |a| {
            json!({
                "company": a.company_id,
                "login": a.login,
                "name": a.name,
                "admin": a.admin,
                "disabled": a.disabled,
                "created_at": output::time(a.created_at.as_ref()),
                "locked_until": output::time(a.locked_until.as_ref()),
            })
        },
        headers: &["LOGIN", "NAME", "ADMIN", "DISABLED", "CREATED"],
        rows: |a| {
            vec![vec![
                a.login.clone(),
                a.name.clone(),
                a.admin.to_string(),
                a.disabled.to_string(),
                local(a.created_at.as_ref()),
            ]]
        },
    }
}

fn print_account(a: &pb::Account) {
    out(format_args!(
        "account {} company={} name={:?} admin={} disabled={} created={}",
        a.login,
        a.company_id,
        a.name,
        a.admin,
        a.disabled,
        local(a.created_at.as_ref())
    ));
}

pub async fn account(conn: &Conn, cmd: AccountCommand, format: Format) -> Result<()> {
    let mut c = conn.company().await?;
    match cmd {
        AccountCommand::Create {
            login,
            name,
            admin,
            company,
        } => {
            let req = pb::CreateAccountRequest {
                company_id: company.id(),
                login,
                name,
                admin,
                password: String::new(),
            };
            let made = c.create_account(req).await?.into_inner();
            let account = made.account.unwrap_or_default();
            match format {
                Format::Json => {
                    let mut v = (shape().json)(&account);
                    v["password"] = json!(made.password);
                    out(format_args!("{v}"));
                }
                other => {
                    output::one(other, &account, &shape());
                    out(format_args!(
                        "first password (shown once): {}",
                        made.password
                    ));
                }
            }
        }
        AccountCommand::List { company } => {
            let req = pb::ListAccountsRequest {
                company_id: company.id(),
            };
            let accounts = c.list_accounts(req).await?.into_inner().accounts;
            output::listing(format, &accounts, &shape());
            if accounts.is_empty() {
                return Err(NothingFound(
                    "the company has no portal accounts yet (`bawaba account create`)".into(),
                )
                .into());
            }
        }
        AccountCommand::Disable { login, company } => {
            set_disabled(&mut c, login, company, true).await?;
        }
        AccountCommand::Enable { login, company } => {
            set_disabled(&mut c, login, company, false).await?;
        }
    }
    Ok(())
}

type Client = pb::company_service_client::CompanyServiceClient<bawaba_grpc::client::Authed>;

async fn set_disabled(
    c: &mut Client,
    login: String,
    company: Company,
    disabled: bool,
) -> Result<()> {
    let req = pb::UpdateAccountRequest {
        company_id: company.id(),
        login: login.clone(),
        disabled: Some(disabled),
        ..Default::default()
    };
    c.update_account(req).await?;
    let done = if disabled { "disabled" } else { "enabled" };
    out(format_args!("{done} {login}"));
    Ok(())
}
