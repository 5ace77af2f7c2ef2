//! Bawaba's domain: the rules of the port, with no I/O.
//!
//! Nothing here reads a clock, a file or a socket: time is always an argument, so every rule
//! can be tested (and property-tested) deterministically. Adapters (store, gRPC, gate agent)
//! wrap it.

pub mod access;
pub mod account;
pub mod alert;
pub mod audit;
pub mod calendar;
pub mod container;
pub mod epc;
pub mod error;
pub mod event;
pub mod fleet;
pub mod gate;
pub mod ids;
pub mod ledger;
pub mod notify;
pub mod passage;
pub mod plate;
pub mod rules;
pub mod stats;
pub mod watch;

pub use error::{Error, Result};
