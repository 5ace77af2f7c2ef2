//! bawaba-bench: the load engine and the benchmarks.
//!
//! [`load`] drives bookings and gate passages through a scheduler's gRPC API, closed loop or
//! open loop at a fixed rate (`bawaba sim --load`), against an in-process scheduler (sled, or
//! PostgreSQL with one or more replicas) assembled through `bawaba_app::App`, or a running
//! one; [`booking`] runs the booking benchmarks on it (`bawaba bench booking`: durable
//! bookings against a no-op call on the same server; `bawaba bench stores`: sled against
//! PostgreSQL with one and two replicas); [`gate`] is `bawaba bench gate` (decision latency on
//! the gate test bed); [`year`] is `bawaba bench year` (a store with a year of traffic, and
//! the scheduler's start-up and memory on it).

pub mod booking;
pub mod gate;
pub mod load;
pub mod year;

pub use booking::{
    BookingBenchOptions, BookingBenchReport, GrowthBenchReport, StoresBenchOptions,
    StoresBenchReport, run_booking_bench, run_growth_bench, run_stores_bench,
};
pub use gate::{GateBenchReport, run_gate_bench};
pub use load::{LoadOptions, LoadReport, PhaseStats, run_load};
pub use year::{YearOptions, YearReport, run_year_bench};
