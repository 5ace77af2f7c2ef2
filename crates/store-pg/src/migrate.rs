//! Versioned schema migrations: SQL files embedded in the binary, applied in order, each in
//! one transaction together with its row in `schema_migrations`.
//!
//! Replicas starting at once do not need a lock: each migration first inserts its own row
//! (`ON CONFLICT DO NOTHING`); a second replica's insert waits for the first one's transaction
//! and then finds the row, so only one of them runs the migration.

use bawaba_store::{Error, Result};
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, IsolationLevel};

use crate::db::describe;

/// The migrations, oldest first: (version, name, SQL).
pub const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "initial", include_str!("../migrations/0001_initial.sql")),
    (
        2,
        "passage log",
        include_str!("../migrations/0002_passage_log.sql"),
    ),
    (
        3,
        "audit trail",
        include_str!("../migrations/0003_audit.sql"),
    ),
    (
        4,
        "report marks",
        include_str!("../migrations/0004_reported.sql"),
    ),
    (
        5,
        "company events",
        include_str!("../migrations/0005_company_events.sql"),
    ),
    (
        6,
        "webhooks",
        include_str!("../migrations/0006_webhooks.sql"),
    ),
    (
        7,
        "containers of active bookings",
        include_str!("../migrations/0007_booking_containers.sql"),
    ),
    (
        8,
        "webhook lease",
        include_str!("../migrations/0008_webhook_lease.sql"),
    ),
    (9, "fleet", include_str!("../migrations/0009_fleet.sql")),
    (10, "sms", include_str!("../migrations/0010_sms.sql")),
    (
        11,
        "bookings by plate",
        include_str!("../migrations/0011_bookings_by_plate.sql"),
    ),
    (
        12,
        "accounts",
        include_str!("../migrations/0012_accounts.sql"),
    ),
    (
        13,
        "fleet by tag",
        include_str!("../migrations/0013_fleet_by_tag.sql"),
    ),
    (
        14,
        "booking in one call",
        include_str!("../migrations/0014_booking_in_one_call.sql"),
    ),
    (
        15,
        "logs numbered after commit",
        include_str!("../migrations/0015_logs_numbered_after_commit.sql"),
    ),
];

fn storage(context: &str) -> impl Fn(tokio_postgres::Error) -> Error + '_ {
    move |e| Error::Storage(format!("{context}: {}", describe(&e)))
}

/// Brings the schema up to date; returns the versions it applied (empty when none were due).
pub async fn run(client: &mut Client) -> Result<Vec<i64>> {
    let created = client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                version    BIGINT PRIMARY KEY,
                name       TEXT NOT NULL,
                applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
            )",
        )
        .await;
    // Another replica creating it at the same moment makes PostgreSQL's IF NOT EXISTS fail
    // on the catalog instead.
    let raced = [
        SqlState::UNIQUE_VIOLATION,
        SqlState::DUPLICATE_OBJECT,
        SqlState::DUPLICATE_TABLE,
    ];
    match created {
        Err(e) if e.code().is_some_and(|c| raced.contains(c)) => {}
        other => other.map_err(storage("creating schema_migrations"))?,
    }
    let mut applied = Vec::new();
    for &(version, name, sql) in MIGRATIONS {
        let context = format!("migration {version} ({name})");
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::ReadCommitted)
            .start()
            .await
            .map_err(storage(&context))?;
        let claimed = tx
            .execute(
                "INSERT INTO schema_migrations (version, name) VALUES ($1, $2) \
                 ON CONFLICT (version) DO NOTHING",
                &[&version, &name],
            )
            .await
            .map_err(storage(&context))?;
        if claimed == 0 {
            continue; // applied before (the transaction rolls back on drop)
        }
        tx.batch_execute(sql).await.map_err(storage(&context))?;
        tx.commit().await.map_err(storage(&context))?;
        tracing::info!(version, name, "schema migration applied");
        applied.push(version);
    }
    Ok(applied)
}
