use super::*;

#[test]
fn stats_of_empty_and_unsorted_samples() {
    assert_eq!(
        Stats::of(Vec::new()),
        Stats {
            count: 0,
            mean_ms: None,
            p50_ms: None,
            p90_ms: None,
            p99_ms: None,
            max_ms: None
        }
    );
    let s = Stats::of(vec![30, 10, 20]);
    assert_eq!(s.count, 3);
    assert_eq!(s.mean_ms, Some(20));
    assert_eq!(s.p50_ms, Some(20));
    assert_eq!(s.p90_ms, Some(30));
    assert_eq!(s.max_ms, Some(30));
}

#[test]
fn latency_histogram_buckets_are_exclusive_upper_bounds() {
    let l = LatencyStats::of(vec![99, 100, 999, 1_000, 250_000]);
    let counts: Vec<u64> = l.histogram.iter().map(|b| b.count).collect();
    assert_eq!(counts, vec![1, 1, 0, 1, 1, 0, 0, 0, 0, 0, 1]);
    assert_eq!(l.histogram.len(), LATENCY_BUCKETS_US.len() + 1);
    assert_eq!(l.histogram.last().map(|b| b.below_us), Some(None));
    assert_eq!(l.p50_us, Some(999));
    assert_eq!(l.max_us, Some(250_000));
}

#[test]
fn reduction_needs_a_positive_baseline() {
    assert_eq!(reduction_pct(Some(20), Some(100)), Some(80.0));
    assert_eq!(reduction_pct(Some(1), Some(3)), Some(66.7));
    assert_eq!(reduction_pct(Some(150), Some(100)), Some(-50.0));
    assert_eq!(reduction_pct(Some(1), Some(0)), None);
    assert_eq!(reduction_pct(None, Some(10)), None);
    assert_eq!(reduction_pct(Some(1), None), None);
}

#[test]
fn grid_covers_the_span_and_the_calendar() {
    let start = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap_or_default();
    let mut run = RunRecord {
        start,
        end: start + TimeDelta::minutes(90),
        ..Default::default()
    };
    let g = Grid::of(&run);
    assert_eq!(g.hours, 2);
    assert_eq!(g.index(start - TimeDelta::seconds(1)), None);
    assert_eq!(g.index(start), Some(0));
    assert_eq!(g.index(start + TimeDelta::minutes(60)), Some(1));
    assert_eq!(g.index(start + TimeDelta::minutes(120)), None);
    run.zones.push(crate::record::ZoneInfo {
        hourly_capacity: vec![1; 5],
        ..Default::default()
    });
    assert_eq!(Grid::of(&run).hours, 5);
    // An end before the start gives no hours, a huge span is capped.
    run.zones.clear();
    run.end = start - TimeDelta::hours(3);
    assert_eq!(Grid::of(&run).hours, 0);
    run.end = start + TimeDelta::days(5000);
    assert_eq!(Grid::of(&run).hours, MAX_HOURS);
}

fn svc(truck: usize, dir: &str, t_in: i64, t_left: i64, pass: bool) -> LaneService {
    let base = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap_or_default();
    LaneService {
        truck,
        zone: "z".into(),
        gate: "g".into(),
        lane: "l".into(),
        direction: dir.into(),
        arrived: base + TimeDelta::seconds(t_in),
        served: base + TimeDelta::seconds(t_in),
        left: base + TimeDelta::seconds(t_left),
        verdict: Some(if pass { Verdict::Allow } else { Verdict::Deny }),
        reasons: Vec::new(),
        offline: false,
        latency_us: None,
        approved_by_operator: false,
        read_ok: true,
        legit: true,
        clear_case: false,
    }
}

#[test]
fn turns_pair_each_entry_with_the_next_exit() {
    let services = vec![
        // Truck 0: in (left at 10), out (served at 100), in again (left 200), never out.
        svc(0, "IN", 0, 10, true),
        svc(0, "OUT", 100, 101, true),
        svc(0, "IN", 190, 200, true),
        // Truck 1: an exit with no entry, a denied entry, then a real visit.
        svc(1, "OUT", 5, 6, true),
        svc(1, "IN", 20, 21, false),
        svc(1, "IN", 30, 40, true),
        svc(1, "OUT", 340, 341, true),
    ];
    let (turns, unmatched) = turns(&services);
    let mut done: Vec<i64> = turns.iter().filter_map(|t| t.ms).collect();
    done.sort_unstable();
    assert_eq!(done, vec![90_000, 300_000]);
    assert_eq!(turns.iter().filter(|t| t.ms.is_none()).count(), 1);
    assert_eq!(unmatched.get("z"), Some(&1));
}
