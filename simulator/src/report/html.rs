//! The report as one self-contained HTML page: inline CSS, inline SVG, no scripts, no
//! external fonts or links. Every text from the record is escaped.

use std::fmt::Write as _;

use super::fmt::{NONE, dur, local, local_hour, pct, us};
use super::{CountRow, PassageCounts, Report, ReportError, SideBySide, Stats, charts};
use super::{NOTHING_READ, NOTHING_READ_MEANS};

/// Escapes text for HTML element content and quoted attribute values (`&`, `<`, `>`, `"`, `'`).
pub fn esc(s: &str) -> std::borrow::Cow<'_, str> {
    html_escape::encode_quoted_attribute(s)
}

const CSS: &str = r#"
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Noto Sans Arabic",sans-serif;margin:0;background:#f4f5f7;color:#1d2433}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:1.6em;margin:0 0 4px}
h2{font-size:1.2em;margin:32px 0 8px;border-bottom:2px solid #d5d9e0;padding-bottom:4px}
h3{font-size:1em;margin:16px 0 6px}
.meta{color:#555;margin:0 0 16px}
.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{background:#fff;border-radius:8px;padding:12px 16px;min-width:190px;flex:1;box-shadow:0 1px 2px rgba(0,0,0,.08)}
.card .v{font-size:1.6em;font-weight:600}
.card .l{color:#555;font-size:.85em}
.ok{color:#2e7d32}.bad{color:#c62828}
table{border-collapse:collapse;background:#fff;width:100%;font-size:.85em;margin:6px 0 12px}
th,td{padding:4px 8px;border-bottom:1px solid #e3e6ea;text-align:right;white-space:nowrap}
th{background:#eef0f3;font-weight:600}
td.t,th.t{text-align:left;white-space:normal}
.scroll{overflow-x:auto}
figure{background:#fff;border-radius:8px;margin:12px 0;padding:8px}
svg{width:100%;max-width:980px;height:auto;display:block;margin:0 auto}
details{margin:8px 0}
summary{cursor:pointer;font-weight:600}
footer{color:#666;font-size:.8em;margin-top:32px}
"#;

fn stats_cells(s: &Stats) -> String {
    format!(
        "<td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
        dur(s.p50_ms),
        dur(s.p90_ms),
        dur(s.p99_ms),
        dur(s.mean_ms)
    )
}

fn count_table(title: &str, rows: &[CountRow], total: u64) -> String {
    let mut s = format!(
        "<table><tr><th class=t>{}</th><th>passages</th><th>share</th><th>offline</th></tr>",
        esc(title)
    );
    for r in rows {
        let _ = write!(
            s,
            "<tr><td class=t>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&r.key),
            r.count,
            pct(super::ratio_pct(r.count, total)),
            r.offline
        );
    }
    if rows.is_empty() {
        s.push_str("<tr><td class=t colspan=4>none</td></tr>");
    }
    s.push_str("</table>");
    s
}

fn passages_summary(p: &PassageCounts) -> String {
    let verdicts: Vec<String> = p
        .by_verdict
        .iter()
        .map(|r| format!("{} {}", esc(&r.key), r.count))
        .collect();
    format!(
        "{} ({}; {} approved by an operator; offline {})",
        p.total,
        if verdicts.is_empty() {
            NONE.to_owned()
        } else {
            verdicts.join(", ")
        },
        p.approved_by_operator,
        pct(p.offline_share_pct)
    )
}

fn figure(svg: String) -> String {
    format!("<figure>{svg}</figure>")
}

fn comparison_rows(f: &SideBySide) -> String {
    let peak = |p: &super::SideFigures| {
        p.peak_arrivals.as_ref().map_or_else(
            || NONE.to_owned(),
            |h| {
                format!(
                    "{} vs capacity {} ({}) at {}",
                    h.count,
                    h.capacity,
                    pct(p.peak_load_pct),
                    esc(&local(h.start))
                )
            },
        )
    };
    let mut s = String::new();
    let _ = write!(
        s,
        "<tr><td class=t>arrivals</td><td>{}</td><td>{}</td><td></td></tr>",
        f.run.arrivals, f.baseline.arrivals
    );
    let _ = write!(
        s,
        "<tr><td class=t>peak-hour arrivals</td><td>{}</td><td>{}</td><td></td></tr>",
        peak(&f.run),
        peak(&f.baseline)
    );
    for (name, run, base, red) in f.duration_rows() {
        let _ = write!(
            s,
            "<tr><td class=t>{name}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            dur(run),
            dur(base),
            pct(red)
        );
    }
    s
}

/// The page.
pub fn page(r: &Report) -> Result<String, ReportError> {
    let mut h = String::with_capacity(64 * 1024);
    let title = format!("Bawaba simulation report — {}", r.scenario);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>\
         <meta name=viewport content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{CSS}</style></head><body><main>",
        esc(&title)
    );
    let hours = r.totals.hourly.len();
    let long_run = hours > 24;
    let _ = write!(
        h,
        "<h1>{}</h1><p class=meta>Seed {} · {} · simulated {} → {} Asia/Amman ({} h) · \
         {:.1} s of real time</p>",
        esc(&title),
        r.seed,
        if r.appointments {
            "with appointments"
        } else {
            "no appointments (baseline)"
        },
        esc(&local(r.start)),
        esc(&local(r.end)),
        hours,
        r.wall_ms as f64 / 1000.0
    );

    // Headline figures.
    h.push_str("<div class=cards>");
    let card = |h: &mut String, value: String, label: String, class: &str| {
        let _ = write!(
            h,
            "<div class=card><div class=\"v {class}\">{value}</div><div class=l>{label}</div></div>"
        );
    };
    if let Some(c) = &r.comparison {
        let red = c.port.waiting_mean_reduction_pct;
        card(
            &mut h,
            red.map_or_else(|| NONE.to_owned(), |v| format!("{:.1}% less", v)),
            format!(
                "mean waiting vs {} ({} vs {})",
                esc(&c.baseline_scenario),
                dur(c.port.run.waiting.mean_ms),
                dur(c.port.baseline.waiting.mean_ms)
            ),
            if red.is_some_and(|v| v > 0.0) {
                "ok"
            } else {
                "bad"
            },
        );
        card(
            &mut h,
            pct(c.port.waiting_p90_reduction_pct),
            format!(
                "p90 waiting reduction ({} vs {})",
                dur(c.port.run.waiting.p90_ms),
                dur(c.port.baseline.waiting.p90_ms)
            ),
            "",
        );
    }
    let passed = r.proofs.iter().filter(|p| p.passed).count();
    card(
        &mut h,
        format!("{passed}/{}", r.proofs.len()),
        if r.proofs_passed {
            "proofs passed".to_owned()
        } else {
            "proofs: SOME FAILED".to_owned()
        },
        if r.proofs_passed { "ok" } else { "bad" },
    );
    card(
        &mut h,
        dur(r.totals.waiting.p90_ms),
        format!("p90 queue waiting (p50 {})", dur(r.totals.waiting.p50_ms)),
        "",
    );
    card(
        &mut h,
        dur(r.totals.turn_time.p50_ms),
        format!("p50 turn time (p90 {})", dur(r.totals.turn_time.p90_ms)),
        "",
    );
    card(
        &mut h,
        format!("{}", r.totals.entries),
        format!(
            "entries, {} of capacity {}",
            pct(r.totals.utilisation_pct),
            r.totals.capacity
        ),
        "",
    );
    card(
        &mut h,
        us(r.latency.p99_us),
        format!("p99 gate decision latency (p50 {})", us(r.latency.p50_us)),
        "",
    );
    h.push_str("</div>");

    // The comparison.
    if let Some(c) = &r.comparison {
        let _ = write!(
            h,
            "<h2>Against the baseline: {} (seed {}{})</h2>",
            esc(&c.baseline_scenario),
            c.baseline_seed,
            if c.same_seed {
                ", same demand"
            } else {
                ", DIFFERENT SEED"
            }
        );
        h.push_str(
            "<div class=scroll><table><tr><th class=t>whole port</th><th>this run</th>\
             <th>baseline</th><th>reduction</th></tr>",
        );
        h.push_str(&comparison_rows(&c.port));
        h.push_str("</table>");
        for z in &c.zones {
            let name = r
                .zones
                .iter()
                .find(|x| x.id == z.zone)
                .map_or(&z.zone, |x| &x.name);
            let _ = write!(
                h,
                "<table><tr><th class=t>{}</th><th>this run</th><th>baseline</th>\
                 <th>reduction</th></tr>{}</table>",
                esc(name),
                comparison_rows(&z.figures)
            );
        }
        h.push_str("</div>");
    }

    // Charts.
    h.push_str("<h2>Charts</h2>");
    h.push_str(&figure(charts::arrivals(r)?));
    h.push_str(&figure(charts::waiting(r)?));
    for z in &r.zones {
        h.push_str(&figure(charts::zone_throughput(r, z)?));
    }
    h.push_str(&figure(charts::reasons(r)?));
    h.push_str(&figure(charts::latency(r)?));

    // Zones.
    h.push_str(
        "<h2>Zones</h2><div class=scroll><table><tr><th class=t>zone</th><th>booked</th>\
         <th>refused</th><th>rebooked</th><th>moved</th><th>cancelled</th><th>arrivals</th>\
         <th>entries</th><th>exits</th><th>capacity</th><th>use</th><th>peak entries/h</th>\
         <th>wait p50</th><th>p90</th><th>p99</th><th>mean</th><th>turn p50</th><th>p90</th>\
         <th>p99</th><th>mean</th><th>inside at end</th></tr>",
    );
    for z in &r.zones {
        let b = &z.bookings;
        let _ = write!(
            h,
            "<tr><td class=t>{} <small>({})</small></td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td>{}{}<td>{}</td></tr>",
            esc(&z.name),
            esc(&z.id),
            b.made,
            b.refused,
            b.rebooked,
            b.moved,
            b.cancelled,
            z.arrivals,
            z.entries,
            z.exits,
            z.capacity,
            pct(z.utilisation_pct),
            z.peak_entries.as_ref().map_or_else(
                || NONE.to_owned(),
                |p| format!(
                    "{}/{} at {}",
                    p.count,
                    p.capacity,
                    local_hour(p.start, long_run)
                )
            ),
            stats_cells(&z.waiting),
            stats_cells(&z.turn_time),
            z.inside_at_end
        );
    }
    let t = &r.totals;
    let _ = write!(
        h,
        "<tr><th class=t>port</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th>\
         <th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th>{}{}<th>{}</th></tr>\
         </table></div>",
        t.bookings.made,
        t.bookings.refused,
        t.bookings.rebooked,
        t.bookings.moved,
        t.bookings.cancelled,
        t.arrivals,
        t.entries,
        t.exits,
        t.capacity,
        pct(t.utilisation_pct),
        t.peak_entries.as_ref().map_or_else(
            || NONE.to_owned(),
            |p| format!(
                "{}/{} at {}",
                p.count,
                p.capacity,
                local_hour(p.start, long_run)
            )
        ),
        stats_cells(&t.waiting).replace("td>", "th>"),
        stats_cells(&t.turn_time).replace("td>", "th>"),
        t.inside_at_end
    );
    let _ = write!(
        h,
        "<p>Exits without an entry before them: {}. Lane services that arrived outside the simulated span: {}.</p>",
        t.unmatched_exits, t.outside_span
    );
    if let Some(effect) = t.bookings.closure_effect() {
        let _ = write!(
            h,
            "<p id=closure-effect>The closure's effect: {}.</p>",
            esc(&effect)
        );
    }

    // Gates.
    h.push_str(
        "<h2>Gates</h2><div class=scroll><table><tr><th class=t>gate</th><th class=t>zone</th>\
         <th>lanes in/out</th><th>arrivals</th><th>entries</th><th>exits</th>\
         <th>peak entries/h</th><th>wait p50</th><th>p90</th><th>p99</th><th>mean</th>\
         <th>turn p50</th><th>p90</th><th>p99</th><th>mean</th><th>latency p50</th><th>p99</th>\
         <th>max</th><th>offline</th></tr>",
    );
    for g in &r.gates {
        let _ = write!(
            h,
            "<tr><td class=t>{}</td><td class=t>{}</td><td>{}/{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td>{}{}<td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&g.id),
            esc(&g.zone),
            g.in_lanes,
            g.out_lanes,
            g.arrivals,
            g.entries,
            g.exits,
            g.peak_entries.as_ref().map_or_else(
                || NONE.to_owned(),
                |p| format!("{} at {}", p.count, local_hour(p.start, long_run))
            ),
            stats_cells(&g.waiting),
            stats_cells(&g.turn_time),
            us(g.latency.p50_us),
            us(g.latency.p99_us),
            us(g.latency.max_us),
            pct(g.passages.offline_share_pct)
        );
    }
    h.push_str("</table></div>");

    // Passages.
    let _ = write!(
        h,
        "<h2>Passages</h2><p>Whole port: {}.</p>",
        passages_summary(&r.totals.passages)
    );
    h.push_str(&count_table(
        "decision",
        &r.totals.passages.by_verdict,
        r.totals.passages.total,
    ));
    if r.totals
        .passages
        .by_verdict
        .iter()
        .any(|v| v.key == NOTHING_READ)
    {
        let _ = write!(h, r#"<p class="note">{}</p>"#, esc(NOTHING_READ_MEANS));
    }
    h.push_str(&count_table(
        "reason",
        &r.totals.passages.by_reason,
        r.totals.passages.total,
    ));
    for z in &r.zones {
        let _ = write!(
            h,
            "<details><summary>{}: {}</summary>{}{}</details>",
            esc(&z.name),
            passages_summary(&z.passages),
            count_table("decision", &z.passages.by_verdict, z.passages.total),
            count_table("reason", &z.passages.by_reason, z.passages.total)
        );
    }
    let l = &r.latency;
    let _ = write!(
        h,
        "<p>Gate decision latency over {} decisions: p50 {}, p90 {}, p99 {}, max {}, mean {}.</p>",
        l.count,
        us(l.p50_us),
        us(l.p90_us),
        us(l.p99_us),
        us(l.max_us),
        us(l.mean_us)
    );

    // Hourly table.
    h.push_str(
        "<details><summary>Hour by hour (whole port)</summary><div class=scroll><table><tr>\
         <th class=t>hour (Asia/Amman)</th><th>capacity</th><th>booked</th><th>arrivals</th>\
         <th>entries</th><th>wait p50</th><th>wait p90</th></tr>",
    );
    for row in &r.totals.hourly {
        let _ = write!(
            h,
            "<tr><td class=t>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td></tr>",
            esc(&local(row.start)),
            row.capacity,
            row.booked,
            row.arrivals,
            row.entries,
            dur(row.waiting_p50_ms),
            dur(row.waiting_p90_ms)
        );
    }
    h.push_str("</table></div></details>");

    // No-shows.
    let n = &r.no_shows;
    let _ = write!(
        h,
        "<h2>No-shows</h2><p>{} counted by the scheduler's sweep, {} in the simulator's ground \
         truth, over {} companies.</p><table><tr><th class=t>company</th><th>swept</th>\
         <th>ground truth</th><th>trucks of the day</th><th>fleet</th></tr>",
        n.swept_total, n.ground_truth_total, n.companies_with_no_shows
    );
    for row in &n.top {
        let _ = write!(
            h,
            "<tr><td class=t>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&row.company),
            row.swept,
            row.ground_truth,
            row.trucks,
            row.fleet.map_or_else(|| NONE.to_owned(), |f| f.to_string())
        );
    }
    if n.top.is_empty() {
        h.push_str("<tr><td class=t colspan=5>none</td></tr>");
    }
    h.push_str("</table>");

    // Turned away.
    let _ = write!(
        h,
        "<h2>Turned away at the IN lanes</h2><p>The first {} IN passages that did not go \
         through.</p><div class=scroll><table><tr><th class=t>at (Asia/Amman)</th>\
         <th class=t>zone</th><th class=t>gate/lane</th><th class=t>plate</th>\
         <th class=t>truck</th><th class=t>decision</th><th class=t>reasons</th>\
         <th>offline</th></tr>",
        r.turned_away.len()
    );
    for t in &r.turned_away {
        let _ = write!(
            h,
            "<tr><td class=t>{}</td><td class=t>{}</td><td class=t>{} / {}</td>\
             <td class=t>{}</td><td class=t>{}</td><td class=t>{}</td><td class=t>{}</td>\
             <td>{}</td></tr>",
            esc(&local(t.at)),
            esc(&t.zone),
            esc(&t.gate),
            esc(&t.lane),
            esc(&t.plate),
            esc(&t.behaviour),
            esc(&t.verdict),
            esc(&t.reasons.join(", ")),
            if t.offline { "yes" } else { "" }
        );
    }
    if r.turned_away.is_empty() {
        h.push_str("<tr><td class=t colspan=8>none</td></tr>");
    }
    h.push_str("</table></div>");

    // Proofs.
    h.push_str(
        "<h2>Proofs</h2><table><tr><th class=t>proof</th><th class=t>result</th>\
         <th class=t>detail</th></tr>",
    );
    for p in &r.proofs {
        let _ = write!(
            h,
            "<tr><td class=t>{}</td><td class=\"t {}\">{}</td><td class=t>{}</td></tr>",
            esc(&p.name),
            if p.passed { "ok" } else { "bad" },
            if p.passed { "passed" } else { "FAILED" },
            esc(&p.detail)
        );
    }
    if r.proofs.is_empty() {
        h.push_str("<tr><td class=t colspan=3>none recorded</td></tr>");
    }
    h.push_str("</table>");

    if r.noise.frames > 0 {
        let n = &r.noise;
        let _ = write!(
            h,
            "<h2>Line noise</h2><p>{} camera frames sent after garbage on the line: {} destroyed, \
             {} read as another plate; {} trucks left with no camera read (decided on their tag \
             alone, or referred as UNREAD_PLATE).</p>",
            n.frames, n.lost, n.garbled, n.unread_trucks
        );
    }

    // Events.
    h.push_str(
        "<h2>Timeline</h2><table><tr><th class=t>at (Asia/Amman)</th><th class=t>event</th></tr>",
    );
    for e in &r.events {
        let _ = write!(
            h,
            "<tr><td class=t>{}</td><td class=t>{}</td></tr>",
            esc(&local(e.at)),
            esc(&e.what)
        );
    }
    if r.events.is_empty() {
        h.push_str("<tr><td class=t colspan=2>no events</td></tr>");
    }
    h.push_str("</table>");

    h.push_str(
        "<footer>Times are Asia/Amman (UTC+3). Percentiles are nearest-rank; – means no \
         samples. Waiting time: served − arrived at the IN lanes. Turn time: through the IN \
         barrier → exit recorded at an OUT lane, same truck and zone. Entries: IN passages \
         allowed or approved by an operator, in the hour they went through.</footer>\
         </main></body></html>\n",
    );
    Ok(h)
}
