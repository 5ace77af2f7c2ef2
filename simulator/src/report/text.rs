//! The terminal summary `bawaba demo` prints at the end.

use std::fmt;

use super::NOTHING_READ;
use super::fmt::{NONE, dur, local, pct, us};
use super::{Lang, Report, SideBySide, SideFigures, Stats, Words};

/// At most `n` characters of `s`.
fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

fn three(s: &Stats) -> String {
    format!(
        "{}/{}/{}",
        dur(Lang::En, s.p50_ms),
        dur(Lang::En, s.p90_ms),
        dur(Lang::En, s.p99_ms)
    )
}

fn peak(p: &SideFigures) -> String {
    p.peak_arrivals.as_ref().map_or_else(
        || NONE.to_owned(),
        |h| {
            format!(
                "{}/{} ({}) at {}",
                h.count,
                h.capacity,
                pct(p.peak_load_pct),
                super::fmt::local_hour(Lang::En, h.start, false)
            )
        },
    )
}

fn comparison(f: &mut fmt::Formatter<'_>, c: &SideBySide, indent: &str) -> fmt::Result {
    writeln!(
        f,
        "{indent}{:<20} {:>28} {:>28} {:>10}",
        "", "this run", "baseline", "reduction"
    )?;
    writeln!(
        f,
        "{indent}{:<20} {:>28} {:>28}",
        "arrivals", c.run.arrivals, c.baseline.arrivals
    )?;
    writeln!(
        f,
        "{indent}{:<20} {:>28} {:>28}",
        "peak-hour arrivals",
        peak(&c.run),
        peak(&c.baseline)
    )?;
    for (key, run, base, red) in c.duration_rows() {
        writeln!(
            f,
            "{indent}{:<20} {:>28} {:>28} {:>10}",
            Lang::En.word(key),
            dur(Lang::En, run),
            dur(Lang::En, base),
            pct(red)
        )?;
    }
    Ok(())
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = &self.totals;
        writeln!(
            f,
            "Bawaba simulation — {} (seed {}, {})",
            self.scenario,
            self.seed,
            if self.appointments {
                "appointments"
            } else {
                "no appointments"
            }
        )?;
        writeln!(
            f,
            "Simulated {} → {} Asia/Amman ({} h) in {:.1} s of real time",
            local(self.start),
            local(self.end),
            t.hourly.len(),
            self.wall_ms as f64 / 1000.0
        )?;
        let b = &t.bookings;
        writeln!(
            f,
            "Bookings: made {}, refused {} (rebooked {} on a FindSlots alternative, {} found \
             no window that day), moved {}, cancelled {}",
            b.made,
            b.refused,
            b.rebooked,
            b.refused.saturating_sub(b.rebooked),
            b.moved,
            b.cancelled
        )?;
        if let Some(effect) = b.closure_effect() {
            writeln!(f, "Closures: {effect}")?;
        }
        let verdicts: Vec<String> = t
            .passages
            .by_verdict
            .iter()
            .map(|r| format!("{} {}", r.key, r.count))
            .collect();
        writeln!(
            f,
            "Passages: {} ({}; {} approved by an operator), offline {}",
            t.passages.total,
            if verdicts.is_empty() {
                NONE.to_owned()
            } else {
                verdicts.join(", ")
            },
            t.passages.approved_by_operator,
            pct(t.passages.offline_share_pct)
        )?;
        if t.passages.by_verdict.iter().any(|r| r.key == NOTHING_READ) {
            writeln!(f, "  {}", Lang::En.word("nothing_read.means"))?;
        }
        if !t.passages.by_reason.is_empty() {
            let reasons: Vec<String> = t
                .passages
                .by_reason
                .iter()
                .map(|r| format!("{} {}", r.key, r.count))
                .collect();
            writeln!(f, "  by reason: {}", reasons.join(", "))?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "{:<26} {:>15} {:>7} {:>26} {:>26} {:>7}",
            "zone", "entries/cap.", "use", "wait p50/p90/p99", "turn p50/p90/p99", "inside"
        )?;
        for z in &self.zones {
            writeln!(
                f,
                "{:<26} {:>15} {:>7} {:>26} {:>26} {:>7}",
                cut(&z.name, 26),
                format!("{}/{}", z.entries, z.capacity),
                pct(z.utilisation_pct),
                three(&z.waiting),
                three(&z.turn_time),
                z.inside_at_end
            )?;
        }
        writeln!(
            f,
            "{:<26} {:>15} {:>7} {:>26} {:>26} {:>7}",
            "port",
            format!("{}/{}", t.entries, t.capacity),
            pct(t.utilisation_pct),
            three(&t.waiting),
            three(&t.turn_time),
            t.inside_at_end
        )?;
        writeln!(f)?;
        writeln!(
            f,
            "{:<18} {:>8} {:>8} {:>14} {:>26} {:>28}",
            "gate", "entries", "exits", "peak/h", "wait p50/p90/p99", "latency p50/p99/max"
        )?;
        for g in &self.gates {
            writeln!(
                f,
                "{:<18} {:>8} {:>8} {:>14} {:>26} {:>28}",
                cut(&g.id, 18),
                g.entries,
                g.exits,
                g.peak_entries.as_ref().map_or_else(
                    || NONE.to_owned(),
                    |p| format!(
                        "{} at {}",
                        p.count,
                        super::fmt::local_hour(Lang::En, p.start, false)
                    )
                ),
                three(&g.waiting),
                format!(
                    "{}/{}/{}",
                    us(g.latency.p50_us),
                    us(g.latency.p99_us),
                    us(g.latency.max_us)
                )
            )?;
        }
        let l = &self.latency;
        writeln!(
            f,
            "Gate decision latency ({} decisions): p50 {}, p99 {}, max {}",
            l.count,
            us(l.p50_us),
            us(l.p99_us),
            us(l.max_us)
        )?;
        let n = &self.no_shows;
        let top: Vec<String> = n
            .top
            .iter()
            .take(5)
            .map(|r| format!("{} {}", r.company, r.swept))
            .collect();
        writeln!(
            f,
            "No-shows: {} swept, {} ground truth; most: {}",
            n.swept_total,
            n.ground_truth_total,
            if top.is_empty() {
                NONE.to_owned()
            } else {
                top.join(", ")
            }
        )?;
        let noise = &self.noise;
        if noise.frames > 0 {
            writeln!(
                f,
                "Line noise: {} camera frames sent after garbage: {} destroyed, {} read as another plate; {} trucks left with no camera read",
                noise.frames, noise.lost, noise.garbled, noise.unread_trucks
            )?;
        }
        if self.ignored_reads > 0 {
            writeln!(
                f,
                "Reads ignored as repeats of the truck before (hold-off): {} times; those trucks waited for the hold-off to end",
                self.ignored_reads
            )?;
        }
        if let Some(c) = &self.comparison {
            writeln!(f)?;
            writeln!(
                f,
                "Against the baseline {} (seed {}{}):",
                c.baseline_scenario,
                c.baseline_seed,
                if c.same_seed {
                    ", same demand"
                } else {
                    ", DIFFERENT SEED"
                }
            )?;
            comparison(f, &c.port, "  ")?;
        }
        if !self.events.is_empty() {
            writeln!(f)?;
            writeln!(f, "Events:")?;
            for e in &self.events {
                writeln!(f, "  {}  {}", local(e.at), e.what)?;
            }
        }
        writeln!(f)?;
        let passed = self.proofs.iter().filter(|p| p.passed).count();
        writeln!(
            f,
            "Proofs: {passed}/{} passed{}",
            self.proofs.len(),
            if self.proofs_passed {
                ""
            } else {
                " — SOME FAILED"
            }
        )?;
        for p in &self.proofs {
            writeln!(
                f,
                "  [{}] {}: {}",
                if p.passed { "PASS" } else { "FAIL" },
                p.name,
                p.detail
            )?;
        }
        Ok(())
    }
}
