//! `bawaba export` and `bawaba import`: a stopped store as newline-delimited JSON and back
//! (docs/export.md), between sled and PostgreSQL either way.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use bawaba_store::SledStore;
use bawaba_store::dump::{self, Header, Line};
use bawaba_store_pg::PgStore;

use crate::client;

/// The store exported from or imported into.
#[derive(Debug, clap::Args)]
pub struct StoreArgs {
    /// The sled store's folder (when no --store is given).
    #[arg(long, env = "BAWABA_DATA_DIR", default_value = "data")]
    data_dir: PathBuf,
    /// A PostgreSQL store (postgres://... or key=value) instead of the sled store.
    #[arg(long, env = "BAWABA_STORE", hide_env_values = true)]
    store: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    #[command(flatten)]
    from: StoreArgs,
    /// The file to write (it must not exist); `-` writes to standard output.
    #[arg(long, value_name = "FILE")]
    to: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The export to read; `-` reads standard input.
    #[arg(long, value_name = "FILE")]
    from: PathBuf,
    #[command(flatten)]
    into: StoreArgs,
}

/// Writes every record of the store to `--to`. A sled store must be stopped (its lock says
/// so); a PostgreSQL store is read as of one moment while its replicas serve.
pub async fn export(args: ExportArgs) -> Result<()> {
    if args.to.as_os_str() == "-" {
        write_export(&args.from, Box::new(std::io::stdout())).await?;
        return Ok(());
    }
    let file = File::create_new(&args.to)
        .with_context(|| format!("creating {} (it must not exist)", args.to.display()))?;
    match write_export(&args.from, Box::new(file)).await {
        Ok(records) => {
            client::out(format_args!(
                "exported {records} records to {}",
                args.to.display()
            ));
            Ok(())
        }
        Err(e) => {
            // Nothing half-written is left to be taken for an export.
            let _ = std::fs::remove_file(&args.to);
            Err(e)
        }
    }
}

/// The export of `from` written to `out`: how many records.
async fn write_export(from: &StoreArgs, out: Box<dyn Write + Send>) -> Result<u64> {
    let kind = if from.store.is_some() {
        "postgres"
    } else {
        "sled"
    };
    let header = Header::new(kind, chrono::Utc::now());
    let mut w = dump::Writer::start(BufWriter::new(out), header)?;
    let mut sink = |line: Line| w.write(&line);
    match &from.store {
        Some(url) => {
            let store = PgStore::connect(url).await?;
            store.export_to(&mut sink).await?;
            store.close().await?;
        }
        None => {
            // sled is synchronous: off the runtime's threads.
            tokio::task::block_in_place(|| SledStore::export_dir(&from.data_dir, &mut sink))?;
        }
    }
    let (_, lines) = w.finish()?;
    Ok(lines - 2)
}

/// Reads `--from` into an empty store: a sled folder holding no store, or a PostgreSQL
/// database with no records (its schema is created or upgraded first).
pub async fn import(args: ImportArgs) -> Result<()> {
    let lines = read(&args.from)?;
    let records = lines.len();
    let imported = dump::assemble(lines)?;
    match &args.into.store {
        Some(url) => {
            bawaba_store_pg::migrate(url).await?;
            let store = PgStore::connect(url).await?;
            store.import(&imported).await?;
            store.close().await?;
        }
        None => SledStore::import_dir(&args.into.data_dir, &imported)?,
    }
    client::out(format_args!("imported {records} records"));
    Ok(())
}

fn read(path: &Path) -> Result<Vec<Line>> {
    if path.as_os_str() == "-" {
        return Ok(dump::read(std::io::stdin().lock())?);
    }
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    dump::read(BufReader::new(file)).with_context(|| format!("reading {}", path.display()))
}

/// The export a backup folder holds.
pub const BACKUP_FILE: &str = "bawaba-export.ndjson";

#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    /// A new (or empty) folder for the backup; it gets bawaba-export.ndjson.
    #[arg(long, value_name = "DIR")]
    to: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct RestoreArgs {
    /// A folder `bawaba backup` wrote.
    #[arg(long, value_name = "DIR")]
    from: PathBuf,
    #[command(flatten)]
    into: StoreArgs,
}

/// Takes a backup from the running scheduler (authority token): its records as of the call,
/// written to `--to` while it goes on serving. The file is read back before it is named as
/// the backup, so a folder with bawaba-export.ndjson holds a whole export.
pub async fn backup(conn: &client::Conn, args: BackupArgs) -> Result<()> {
    prepare(&args.to)?;
    let partial = args.to.join(format!("{BACKUP_FILE}.partial"));
    let mut file = BufWriter::new(
        File::create_new(&partial).with_context(|| format!("creating {}", partial.display()))?,
    );
    let mut stream = conn
        .admin()
        .await?
        .backup(bawaba_grpc::pb::BackupRequest {})
        .await?
        .into_inner();
    let mut bytes = 0usize;
    while let Some(chunk) = stream.message().await? {
        bytes += chunk.data.len();
        file.write_all(&chunk.data)
            .with_context(|| format!("writing {}", partial.display()))?;
    }
    file.into_inner()
        .map_err(|e| e.into_error())
        .and_then(|f| f.sync_all())
        .with_context(|| format!("writing {}", partial.display()))?;
    // Read back whole, one line at a time (a year's backup does not fit in memory twice).
    let check = File::open(&partial).with_context(|| format!("opening {}", partial.display()))?;
    let records = dump::for_each(BufReader::new(check), |_| Ok(()))
        .context("the backup received is not a whole export")?;
    let done = args.to.join(BACKUP_FILE);
    std::fs::rename(&partial, &done).with_context(|| format!("naming {}", done.display()))?;
    client::out(format_args!(
        "backed up {records} records ({:.1} MB) to {}",
        bytes as f64 / 1e6,
        done.display()
    ));
    Ok(())
}

/// A folder that does not exist (made) or is empty.
fn prepare(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let held = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .next()
        .is_some();
    anyhow::ensure!(
        !held,
        "{} is not empty: back up into a new folder",
        dir.display()
    );
    Ok(())
}

/// Starts a new store from a backup: its export imported into an empty store.
pub async fn restore(args: RestoreArgs) -> Result<()> {
    import(ImportArgs {
        from: args.from.join(BACKUP_FILE),
        into: args.into,
    })
    .await
}
