//! Generates the bawaba.v1 code with protox (a protobuf compiler in Rust), so a fresh
//! machine builds with cargo alone; no system `protoc`.

use std::path::PathBuf;

use prost::Message;

const PROTOS: [&str; 7] = [
    "bawaba/v1/common.proto",
    "bawaba/v1/booking.proto",
    "bawaba/v1/slot.proto",
    "bawaba/v1/admin.proto",
    "bawaba/v1/gate.proto",
    "bawaba/v1/security.proto",
    "bawaba/v1/company.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    for p in PROTOS {
        println!("cargo:rerun-if-changed={}", root.join(p).display());
    }
    let fds = protox::compile(PROTOS, [&root])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    // For server reflection.
    std::fs::write(out.join("bawaba_descriptor.bin"), fds.encode_to_vec())?;
    tonic_prost_build::configure().compile_fds(fds)?;
    Ok(())
}
