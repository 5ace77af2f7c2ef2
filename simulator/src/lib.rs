//! bawaba-sim: load and simulation tools for Bawaba.
//!
//! [`bench`] is the booking benchmark behind `bawaba bench booking`: an in-process scheduler
//! on a fresh store, a no-op gRPC baseline, then durable bookings from many closed-loop
//! clients, measured and compared with the baseline.

pub mod bench;

pub use bench::{
    BookingBenchOptions, BookingBenchReport, GrowthBenchReport, PhaseStats, run_booking_bench,
    run_growth_bench,
};
