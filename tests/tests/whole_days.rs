#![allow(clippy::unwrap_used)]
//! Every built-in scenario played for its whole day, as a user plays it (`bawaba sim --scenario
//! NAME`, as fast as the machine goes), with every proof: the real scheduler, gate agents and
//! pty devices of the Aqaba configuration. `normal-day` also with a second seed.

use bawaba_e2e::{TestDir, bawaba_command};

/// Plays `scenario`'s whole day with `seed`; fails with the report unless every proof holds.
fn whole_day(scenario: &str, seed: u64) {
    let dir = TestDir::new();
    let out = bawaba_command()
        .args(["sim", "--scenario", scenario, "--speed", "0"])
        .args(["--seed", &seed.to_string()])
        .args(["--data-dir", dir.data().to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report = || {
        format!(
            "{scenario} (seed {seed}):\n{stdout}\nstderr (tail):\n{}",
            tail(&String::from_utf8_lossy(&out.stderr))
        )
    };
    assert!(out.status.success(), "{}", report());
    assert!(stdout.contains("(24 h)"), "not a whole day: {}", report());
    let proofs = stdout
        .lines()
        .find(|l| l.starts_with("Proofs: "))
        .unwrap_or_else(|| panic!("no proofs: {}", report()));
    let (passed, all) = proofs["Proofs: ".len()..]
        .split_once(' ')
        .and_then(|(n, _)| n.split_once('/'))
        .unwrap_or_else(|| panic!("{proofs}"));
    assert_eq!(passed, all, "{}", report());
    assert!(all.parse::<u32>().unwrap() >= 8, "{}", report());
}

fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

#[test]
fn normal_day() {
    whole_day("normal-day", 42);
}

#[test]
fn normal_day_with_another_seed() {
    whole_day("normal-day", 7);
}

#[test]
fn no_appointments() {
    whole_day("no-appointments", 42);
}

#[test]
fn flash_flood_closure() {
    whole_day("flash-flood-closure", 42);
}

/// Regression: the agents let booked trucks in while cut off from the scheduler; the sweep
/// marked them no-shows before their passages arrived and the trucks were turned away at their
/// next stop (DENY NO_SHOW).
#[test]
fn scheduler_outage() {
    whole_day("scheduler-outage", 42);
}

/// Regression: line noise destroyed trucks' camera frames and the engine waited a real-time
/// timeout for each of those reads: the day crawled and did not finish.
#[test]
fn noisy_devices() {
    whole_day("noisy-devices", 42);
}

#[test]
fn watchlist() {
    whole_day("watchlist", 42);
}

/// Every built-in scenario has its test above.
#[test]
fn every_built_in_scenario_is_played() {
    let here = include_str!("whole_days.rs");
    for (name, _) in bawaba_sim::scenario::BUILT_IN {
        assert!(
            here.contains(&format!("whole_day(\"{name}\"")),
            "{name} is not played whole"
        );
    }
}
