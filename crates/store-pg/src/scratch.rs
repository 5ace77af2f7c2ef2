//! Scratch databases: a fresh database, dropped when done. `bawaba bench stores` runs each
//! case on one, and the tests run in parallel on one each.

use bawaba_store::{Error, Result};
use tokio_postgres::NoTls;

use crate::db::describe;

/// The server scratch databases are made on: `BAWABA_TEST_PG` (key=value form, without
/// `dbname`), by default the local server with trust authentication.
pub fn server() -> String {
    std::env::var("BAWABA_TEST_PG")
        .unwrap_or_else(|_| "host=127.0.0.1 port=5432 user=postgres".into())
}

/// A database created for one run or test (`bawaba_t_<random hex>`) on [`server`] and
/// dropped, with whatever is still connected to it, when this is dropped.
#[derive(Debug)]
pub struct ScratchDatabase {
    /// The connection string of the database.
    pub url: String,
    name: String,
}

impl ScratchDatabase {
    pub async fn create() -> Result<Self> {
        let name = format!("bawaba_t_{:016x}", crate::random_u128() as u64);
        admin(&format!("CREATE DATABASE {name}")).await?;
        Ok(ScratchDatabase {
            url: format!("{} dbname={name}", server()),
            name,
        })
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        // Drop may run inside (or outside) a runtime: its own thread and runtime either way.
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| Error::Storage(e.to_string()))?;
            rt.block_on(admin(&sql))
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            tracing::warn!(database = %self.name, "scratch database not dropped");
        }
    }
}

/// Runs one statement on the server's `postgres` database.
async fn admin(sql: &str) -> Result<()> {
    let storage = |e: tokio_postgres::Error| Error::Storage(describe(&e));
    let (client, connection) =
        tokio_postgres::connect(&format!("{} dbname=postgres", server()), NoTls)
            .await
            .map_err(storage)?;
    let driver = tokio::spawn(connection);
    let done = client.batch_execute(sql).await.map_err(storage);
    drop(client);
    let _ = driver.await;
    done
}
