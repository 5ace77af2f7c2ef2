//! bawaba-e2e
