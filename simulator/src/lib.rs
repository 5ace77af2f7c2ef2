//! bawaba-sim
