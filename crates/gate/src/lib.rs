//! bawaba-gate: the gate agent.
//!
//! * [`agent`]: the agent at run time: lanes, the sync stream, the outbox uplink, commands.
//! * [`config`]: the `gate.toml` file.
//! * [`metrics`]: Prometheus metrics of the agent and its `/metrics` listener.
//!
//! * [`serial`]: serial line settings, the port type, per-device counters and the one
//!   reconnecting link loop (backoff, idle watchdog) every driver runs. The only code of the
//!   project that knows tokio-serial.
//! * [`devices`]: the drivers, each a task: ANPR cameras and RFID readers emit timestamped reads
//!   into `mpsc` channels; the barrier is driven through a cloneable [`devices::Barrier`] handle.
//! * [`emulator`]: the three devices emulated on real pseudo-terminals (tests, simulator).
//!
//! Decoding is done by `bawaba_codec`; this crate adds the I/O, the clocks and the recovery.

pub mod agent;
pub mod config;
pub mod devices;
pub mod emulator;
pub mod metrics;
pub mod serial;
pub mod testbed;

pub use devices::{
    Barrier, BarrierConfig, BarrierFault, CameraConfig, CameraRead, Clock, DeviceTask, PulseMode,
    PulseReport, RfidConfig, RfidMode, TagRead, spawn_barrier, spawn_camera, spawn_rfid,
    system_clock,
};
pub use serial::{DeviceStats, LinkConfig, SerialSettings, StatsHandle};
