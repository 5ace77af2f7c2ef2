//! Bawaba's gRPC door, package `bawaba.v1`: the generated code ([`pb`]), the services (decode,
//! call `bawaba_app`, map the answer), and the one place where errors become status codes
//! ([`error`]). Only this crate knows tonic; the CLI, the simulator and the tests use its
//! clients.

mod accounts;
mod auth;
mod backup;
pub mod capacity;
pub mod client;
mod company;
pub mod convert;
pub mod decode;
pub mod error;
mod events;
mod gate;
pub mod metrics;
pub mod security;
pub mod server;
mod service;

pub use convert::{from_timestamp, timestamp};

/// The metadata a client sets to say which door its calls come through, for the audit
/// trail (`cli` from Bawaba's CLI; any other caller is recorded as gRPC). Informational: the
/// token, not this, says who calls.
pub const DOOR_HEADER: &str = "x-bawaba-door";
pub use server::{Scheduler, Tls};

/// The generated messages, clients and servers of `bawaba.v1`.
#[allow(clippy::all, missing_debug_implementations)]
pub mod pb {
    tonic::include_proto!("bawaba.v1");

    /// The encoded descriptors of every bawaba.v1 file, for server reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/bawaba_descriptor.bin"));
}
