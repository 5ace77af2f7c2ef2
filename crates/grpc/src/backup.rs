//! `AdminService.Backup`: the store's export, streamed in chunks of newline-delimited JSON.

use bawaba_app::Backup;
use bawaba_store::dump::Writer;
use tonic::Status;

use crate::error::status;
use crate::gate::Stream;
use crate::pb;

/// Bytes gathered before a chunk is sent.
const CHUNK: usize = 256 * 1024;

/// The backup's lines as chunks, the end line last; a store that fails part way ends the
/// stream with its error instead (the client has no end line: the copy is incomplete).
pub(crate) fn chunks(backup: Backup) -> Stream<pb::BackupChunk> {
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    tokio::spawn(async move {
        let sent = send(backup, &tx).await;
        if let Err(e) = sent {
            let _ = tx.send(Err(e)).await;
        }
    });
    Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx))
}

type Chunks = tokio::sync::mpsc::Sender<Result<pb::BackupChunk, Status>>;

async fn send(mut backup: Backup, tx: &Chunks) -> Result<(), Status> {
    let mut w = Writer::start(Vec::with_capacity(CHUNK), backup.header.clone()).map_err(status)?;
    while let Some(line) = backup.lines.recv().await {
        w.write(&line).map_err(status)?;
        if w.out_mut().len() >= CHUNK {
            let data = std::mem::replace(w.out_mut(), Vec::with_capacity(CHUNK));
            if tx.send(Ok(pb::BackupChunk { data })).await.is_err() {
                return Ok(()); // the client went away
            }
        }
    }
    match backup.done.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(status(e)),
        Err(e) => return Err(Status::internal(format!("the backup stopped: {e}"))),
    }
    let (data, lines) = w.finish().map_err(status)?;
    tracing::info!(records = lines - 2, "backup sent");
    let _ = tx.send(Ok(pb::BackupChunk { data })).await;
    Ok(())
}
