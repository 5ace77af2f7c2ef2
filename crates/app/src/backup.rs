//! Backups: every record of the store, as of one moment, while it goes on serving.

use std::sync::Arc;

use bawaba_domain::access::Principal;
use bawaba_store::Store;
use bawaba_store::dump::{Header, Line};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::{App, Result, scope};

/// Records buffered between the store and whoever writes the backup.
const BUFFER: usize = 4096;

/// A backup under way: its header, the records as the store reads them, and how the store's
/// reading ended (an error after some records: the backup is incomplete).
#[derive(Debug)]
pub struct Backup {
    pub header: Header,
    pub lines: mpsc::Receiver<Line>,
    pub done: JoinHandle<bawaba_store::Result<()>>,
}

impl<S: Store> App<S> {
    /// Starts a backup: the authority's alone (it holds every company's records).
    pub fn backup(&self, p: &Principal) -> Result<Backup> {
        scope::role(p, scope::AUTHORITY)?;
        let (tx, lines) = mpsc::channel(BUFFER);
        let store = Arc::clone(&self.store);
        let done = tokio::spawn(async move { store.export(tx).await });
        tracing::info!(who = %p.label, store = self.store.kind(), "backup started");
        Ok(Backup {
            header: Header::new(self.store.kind(), self.clock.now()),
            lines,
            done,
        })
    }
}
