//! ARCHITECTURE.md's Boundaries, checked over `cargo metadata`: which workspace crate may
//! depend (directly, for building or running it) on which I/O library or door.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

/// `cargo metadata` of the workspace's own packages.
fn metadata() -> serde_json::Value {
    let out = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("running cargo metadata");
    assert!(
        out.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("metadata JSON")
}

/// Each workspace package's direct dependencies (normal and build; not dev).
fn dependencies() -> BTreeMap<String, BTreeSet<String>> {
    let meta = metadata();
    let packages = meta["packages"].as_array().expect("packages");
    packages
        .iter()
        .map(|p| {
            let deps = p["dependencies"]
                .as_array()
                .expect("dependencies")
                .iter()
                .filter(|d| d["kind"].as_str() != Some("dev"))
                .filter_map(|d| d["name"].as_str().map(str::to_owned))
                .collect();
            (p["name"].as_str().expect("name").to_owned(), deps)
        })
        .collect()
}

/// The workspace packages that depend on `dependency`.
fn users(all: &BTreeMap<String, BTreeSet<String>>, dependency: &str) -> BTreeSet<String> {
    all.iter()
        .filter(|(_, deps)| deps.contains(dependency))
        .map(|(name, _)| name.clone())
        .collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn crates_keep_their_boundaries() {
    let all = dependencies();
    assert!(all.contains_key("bawaba-app"), "{:?}", all.keys());
    let domain = &all["bawaba-domain"];
    let allowed = set(&["chrono", "chrono-tz", "serde", "thiserror", "ulid"]);
    assert!(
        domain.is_subset(&allowed),
        "the domain crate has I/O dependencies: {:?}",
        domain.difference(&allowed).collect::<Vec<_>>()
    );
    assert_eq!(
        users(&all, "sled"),
        set(&["bawaba-store"]),
        "who knows sled"
    );
    assert_eq!(
        users(&all, "tokio-postgres"),
        set(&["bawaba-e2e", "bawaba-store-pg"]),
        "who knows tokio-postgres (the e2e tests check the database itself)"
    );
    assert_eq!(users(&all, "tokio-serial"), set(&["bawaba-gate"]));
    // tonic: the gRPC door, and the clients of it (CLI, gate agent link, simulator, tests).
    let tonic = users(&all, "tonic");
    for not in [
        "bawaba-domain",
        "bawaba-app",
        "bawaba-store",
        "bawaba-store-pg",
        "bawaba-web",
    ] {
        assert!(!tonic.contains(not), "{not} depends on tonic");
    }
    assert!(tonic.contains("bawaba-grpc"));
    for not in [
        "bawaba-domain",
        "bawaba-app",
        "bawaba-store",
        "bawaba-store-pg",
    ] {
        assert!(!all[not].contains("axum"), "{not} depends on axum");
    }
    let web = &all["bawaba-web"];
    assert!(
        !web.contains("bawaba-grpc"),
        "the web door calls the app, not the gRPC door"
    );
    assert!(web.contains("bawaba-app"));
    assert!(all["bawaba-grpc"].contains("bawaba-app"));
    assert!(!all["bawaba-app"].contains("bawaba-grpc"));
    // The simulator keeps the day; the load engine and benchmarks (and their PostgreSQL
    // scratch databases) are bawaba-bench.
    assert!(!all["bawaba-sim"].contains("bawaba-store-pg"));
    assert!(all["bawaba-bench"].contains("bawaba-store-pg"));
}

/// The shipped binary enables no test-only feature of a workspace crate (the store's
/// conformance suite, or anything named for tests) anywhere in what it links.
#[test]
fn the_binary_links_no_test_only_feature() {
    let meta = metadata();
    let packages = meta["packages"].as_array().expect("packages");
    let by_name: BTreeMap<&str, &serde_json::Value> = packages
        .iter()
        .map(|p| (p["name"].as_str().expect("name"), p))
        .collect();
    let mut todo = vec!["bawaba"];
    let mut seen = BTreeSet::new();
    while let Some(name) = todo.pop() {
        if !seen.insert(name) {
            continue;
        }
        for d in by_name[name]["dependencies"]
            .as_array()
            .expect("dependencies")
        {
            if d["kind"].as_str() == Some("dev") {
                continue;
            }
            let dep = d["name"].as_str().expect("name");
            let Some(&next) = by_name.get(dep) else {
                continue; // not a workspace crate
            };
            for f in d["features"].as_array().expect("features") {
                let f = f.as_str().unwrap_or_default();
                assert!(
                    !(f == "conformance" || f.contains("test")),
                    "{name} enables {dep}'s test-only feature {f:?}"
                );
            }
            todo.push(next["name"].as_str().expect("name"));
        }
    }
    assert!(
        seen.contains("bawaba-store-pg") && seen.contains("bawaba-bench"),
        "{seen:?}"
    );
}
