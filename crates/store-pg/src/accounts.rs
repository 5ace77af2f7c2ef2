//! Reading portal accounts and sessions for the store's account operations.

use bawaba_domain::account::{Account, Login, Session};
use bawaba_domain::ledger::Records;
use deadpool_postgres::GenericClient;

use crate::db::{R, execute, values};

/// What changing `login`'s account needs: the account (its row locked) and its sessions.
/// Creators of one login name wait for each other, so a name is never given twice.
pub async fn account_records(c: &impl GenericClient, login: &Login) -> R<Records> {
    execute(
        c,
        "SELECT pg_advisory_xact_lock(hashtext('account:' || $1))",
        &[&login.as_str()],
    )
    .await?;
    let accounts = values(
        c,
        "accounts",
        "SELECT format, body FROM accounts WHERE login = $1 FOR UPDATE",
        &[&login.as_str()],
    )
    .await?;
    let sessions = values(
        c,
        "sessions",
        "SELECT format, body FROM sessions WHERE login = $1",
        &[&login.as_str()],
    )
    .await?;
    Ok(Records {
        accounts,
        sessions,
        ..Records::default()
    })
}

pub async fn account(c: &impl GenericClient, login: &Login) -> R<Option<Account>> {
    let found: Vec<Account> = values(
        c,
        "accounts",
        "SELECT format, body FROM accounts WHERE login = $1",
        &[&login.as_str()],
    )
    .await?;
    Ok(found.into_iter().next())
}

pub async fn session(c: &impl GenericClient, id: &str) -> R<Option<Session>> {
    let found: Vec<Session> = values(
        c,
        "sessions",
        "SELECT format, body FROM sessions WHERE id = $1",
        &[&id],
    )
    .await?;
    Ok(found.into_iter().next())
}
