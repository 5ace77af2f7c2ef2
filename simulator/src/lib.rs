//! bawaba-sim: a day (or more) at Aqaba played through real pseudo-terminals into real gate
//! agents and a real scheduler ([`engine`]), with its proofs ([`proofs`]) and report
//! ([`report`]). The load engine and the benchmarks are `bawaba-bench`.

mod alert;
pub mod engine;
pub mod proofs;
mod proxy;
pub mod record;
pub mod report;
pub mod scenario;
pub mod world;

pub use engine::{Live, RunOptions, run, run_and_stop};
pub use scenario::Scenario;
pub use world::Site;

/// Why a simulation run could not be carried out (a failed proof is not an error: it is in
/// the run's record).
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("setting up the run: {0}")]
    Setup(String),
    #[error(transparent)]
    Scenario(#[from] scenario::ScenarioError),
    #[error("scheduler store: {0}")]
    Store(#[from] bawaba_store::Error),
    #[error(transparent)]
    Domain(#[from] bawaba_domain::Error),
    #[error("connecting to the scheduler: {0}")]
    Connect(#[from] bawaba_grpc::client::ConnectError),
    #[error("device codec: {0}")]
    Codec(#[from] bawaba_codec::Error),
}

impl SimError {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        SimError::Io {
            path: path.display().to_string(),
            source,
        }
    }
}
