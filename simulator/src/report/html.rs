//! The report as one self-contained HTML page: inline CSS, inline SVG, no scripts, no
//! external fonts or links. Every text from the record is escaped. Every word of the page
//! comes from the catalogue (`words`), in English or in Arabic (`<html lang="ar" dir="rtl">`,
//! Latin digits as on the dashboard); data — ids, plates, times, codes, names — is isolated
//! (`<bdi>`) so that it never reorders the line around it.

use std::fmt::{Display, Write as _};

use bawaba_web::Codes;
use chrono::{DateTime, Utc};

use super::fmt::{NONE, local, pct, us};
use super::{
    Comparison, CountRow, Lang, NOTHING_READ, PassageCounts, PeakHour, Report, ReportError,
    SideBySide, SideFigures, Stats, Words, ZoneReport, charts, fmt, ratio_pct,
};
use crate::record::BookingTally;

/// Escapes text for HTML element content and quoted attribute values (`&`, `<`, `>`, `"`, `'`).
pub fn esc(s: &str) -> std::borrow::Cow<'_, str> {
    html_escape::encode_quoted_attribute(s)
}

/// Data written left to right (an id, a plate, a time, a code), isolated.
fn ltr(s: &str) -> String {
    format!(r#"<bdi dir="ltr">{}</bdi>"#, esc(s))
}

/// A name or a text of either direction, isolated.
fn bdi(s: &str) -> String {
    format!("<bdi>{}</bdi>", esc(s))
}

/// Text of either direction isolated where no markup can go (the page's title, the charts'
/// labels): between Unicode's first strong isolate and pop directional isolate.
pub fn isolate(s: &str) -> String {
    format!("\u{2068}{s}\u{2069}")
}

/// A figure and its unit, in the unit's direction: `ms` and `µs` read left to right
/// (`800 µs`), the Arabic units right to left.
fn figure(s: &str) -> String {
    format!(r#"<span dir="auto">{}</span>"#, esc(s))
}

/// A decision latency, as a figure.
fn latency(v: Option<u64>) -> String {
    figure(&us(v))
}

/// Cells of values (`td`, or `th` in a total row).
fn cells(tag: &str, values: &[&dyn Display]) -> String {
    let mut s = String::new();
    for v in values {
        let _ = write!(s, "<{tag}>{v}</{tag}>");
    }
    s
}

fn card(h: &mut String, value: &str, label: &str, class: &str) {
    let _ = write!(
        h,
        "<div class=card><div class=\"v {class}\">{value}</div><div class=l>{label}</div></div>"
    );
}

// Logical alignments (start/end): the same rules serve both directions. Charts stay left to
// right (time runs left to right in both languages, as on the dashboard).
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
th,td{padding:4px 8px;border-bottom:1px solid #e3e6ea;text-align:end;white-space:nowrap}
th{background:#eef0f3;font-weight:600}
td.t,th.t{text-align:start;white-space:normal}
.scroll{overflow-x:auto}
figure{background:#fff;border-radius:8px;margin:12px 0;padding:8px}
svg{width:100%;max-width:980px;height:auto;display:block;margin:0 auto;direction:ltr}
details{margin:8px 0}
summary{cursor:pointer;font-weight:600}
footer{color:#666;font-size:.8em;margin-top:32px}
"#;

const STATS_COLUMNS: [&str; 3] = ["col.p90", "col.p99", "col.mean"];

/// What every part of the page needs.
#[derive(Clone, Copy)]
struct Page<'a> {
    r: &'a Report,
    l: Lang,
    /// Over a day: hours are shown with their weekday.
    long_run: bool,
}

/// The page.
pub fn page(r: &Report, l: Lang) -> Result<String, ReportError> {
    let p = Page {
        r,
        l,
        long_run: r.totals.hourly.len() > 24,
    };
    let mut h = String::with_capacity(64 * 1024);
    h.push_str(&p.head());
    h.push_str(&p.cards());
    if let Some(c) = &r.comparison {
        h.push_str(&p.comparison(c));
    }
    h.push_str(&p.charts()?);
    for part in [
        p.zones(),
        p.gates(),
        p.passages(),
        p.hourly(),
        p.no_shows(),
        p.turned_away(),
        p.proofs(),
        p.noise(),
        p.timeline(),
    ] {
        h.push_str(&part);
    }
    let _ = writeln!(h, "<footer>{}</footer></main></body></html>", p.t("footer"));
    Ok(h)
}

impl Page<'_> {
    fn t(&self, key: &'static str) -> &'static str {
        self.l.word(key)
    }

    fn dur(&self, ms: Option<i64>) -> String {
        figure(&fmt::dur(self.l, ms))
    }

    /// A local date and time, isolated.
    fn at(&self, t: DateTime<Utc>) -> String {
        ltr(&local(t))
    }

    /// A local hour (with its weekday on long runs), isolated.
    fn hour(&self, t: DateTime<Utc>) -> String {
        bdi(&fmt::local_hour(self.l, t, self.long_run))
    }

    /// A header row; its first `text` columns hold text (aligned to the start).
    fn header(&self, keys: &[&'static str], text: usize) -> String {
        let mut s = String::from("<tr>");
        for (i, &key) in keys.iter().enumerate() {
            let class = if i < text { " class=t" } else { "" };
            let _ = write!(s, "<th{class}>{}</th>", self.t(key));
        }
        s.push_str("</tr>");
        s
    }

    /// A table's one row saying it has none (`key`), when it has none.
    fn none_row(&self, h: &mut String, empty: bool, columns: usize, key: &'static str) {
        if empty {
            let _ = write!(
                h,
                "<tr><td class=t colspan={columns}>{}</td></tr>",
                self.t(key)
            );
        }
    }

    /// A decision or reason code: on the English page the code; on the Arabic page the
    /// dashboard's word, the code in its tooltip (an unknown code as it is).
    fn code(&self, kind: Codes, code: &str) -> String {
        match self.l.code_word(kind, code) {
            Some(word) => format!(r#"<span title="{}">{}</span>"#, esc(code), esc(word)),
            None => ltr(code),
        }
    }

    fn codes(&self, kind: Codes, codes: &[String]) -> String {
        let words: Vec<String> = codes.iter().map(|c| self.code(kind, c)).collect();
        words.join(self.l.comma())
    }

    fn stats_cells(&self, tag: &str, s: &Stats) -> String {
        cells(
            tag,
            &[
                &self.dur(s.p50_ms),
                &self.dur(s.p90_ms),
                &self.dur(s.p99_ms),
                &self.dur(s.mean_ms),
            ],
        )
    }

    /// The busiest hour: its count (of the hour's capacity) and when.
    fn peak(&self, p: Option<&PeakHour>, of_capacity: bool) -> String {
        p.map_or_else(
            || NONE.to_owned(),
            |p| {
                let at = self.hour(p.start);
                if of_capacity {
                    self.l.fill(
                        "peak.of_capacity",
                        &[("count", &p.count), ("capacity", &p.capacity), ("at", &at)],
                    )
                } else {
                    self.l.fill("peak.at", &[("count", &p.count), ("at", &at)])
                }
            },
        )
    }

    fn head(&self) -> String {
        let (r, l) = (self.r, self.l);
        let mode = self.t(if r.appointments {
            "mode.appointments"
        } else {
            "mode.baseline"
        });
        let meta = l.fill(
            "meta",
            &[
                ("seed", &r.seed),
                ("mode", &mode),
                ("start", &self.at(r.start)),
                ("end", &self.at(r.end)),
                ("hours", &r.totals.hourly.len()),
                ("wall", &format!("{:.1}", r.wall_ms as f64 / 1000.0)),
            ],
        );
        format!(
            "<!DOCTYPE html>\n<html lang=\"{}\" dir=\"{}\"><head><meta charset=utf-8>\
             <meta name=viewport content=\"width=device-width, initial-scale=1\">\
             <title>{title} — {}</title><style>{CSS}</style></head><body><main>\
             <h1>{title} — {}</h1><p class=meta>{meta}</p>",
            l.code(),
            l.dir(),
            esc(&isolate(&r.scenario)),
            ltr(&r.scenario),
            title = self.t("title"),
        )
    }

    /// The headline figures.
    fn cards(&self) -> String {
        let (r, l) = (self.r, self.l);
        let mut h = String::from("<div class=cards>");
        if let Some(c) = &r.comparison {
            self.comparison_cards(&mut h, c);
        }
        let passed = r.proofs.iter().filter(|p| p.passed).count();
        let (label, class) = if r.proofs_passed {
            ("card.proofs_passed", "ok")
        } else {
            ("card.proofs_failed", "bad")
        };
        card(
            &mut h,
            &format!("{passed}/{}", r.proofs.len()),
            self.t(label),
            class,
        );
        let t = &r.totals;
        let (wait, turn) = (&t.waiting, &t.turn_time);
        let p50 = self.dur(wait.p50_ms);
        card(
            &mut h,
            &self.dur(wait.p90_ms),
            &l.fill("card.waiting", &[("p50", &p50)]),
            "",
        );
        let p90 = self.dur(turn.p90_ms);
        card(
            &mut h,
            &self.dur(turn.p50_ms),
            &l.fill("card.turn", &[("p90", &p90)]),
            "",
        );
        let use_ = pct(t.utilisation_pct);
        let entries = l.fill("card.entries", &[("pct", &use_), ("capacity", &t.capacity)]);
        card(&mut h, &t.entries.to_string(), &entries, "");
        let p50 = latency(r.latency.p50_us);
        let label = l.fill("card.latency", &[("p50", &p50)]);
        card(&mut h, &latency(r.latency.p99_us), &label, "");
        h.push_str("</div>");
        h
    }

    fn comparison_cards(&self, h: &mut String, c: &Comparison) {
        let l = self.l;
        let (run, base) = (&c.port.run.waiting, &c.port.baseline.waiting);
        let red = c.port.waiting_mean_reduction_pct;
        let value = red.map_or_else(
            || NONE.to_owned(),
            |v| l.fill("card.less", &[("pct", &pct(Some(v)))]),
        );
        let label = l.fill(
            "card.mean_waiting",
            &[
                ("baseline", &ltr(&c.baseline_scenario)),
                ("run", &self.dur(run.mean_ms)),
                ("base", &self.dur(base.mean_ms)),
            ],
        );
        let class = if red.is_some_and(|v| v > 0.0) {
            "ok"
        } else {
            "bad"
        };
        card(h, &value, &label, class);
        let label = l.fill(
            "card.p90_reduction",
            &[
                ("run", &self.dur(run.p90_ms)),
                ("base", &self.dur(base.p90_ms)),
            ],
        );
        card(h, &pct(c.port.waiting_p90_reduction_pct), &label, "");
    }

    /// This run against the baseline: the whole port, then each zone.
    fn comparison(&self, c: &Comparison) -> String {
        let demand = self.t(if c.same_seed {
            "cmp.same"
        } else {
            "cmp.different"
        });
        let title = self.l.fill(
            "cmp.title",
            &[
                ("baseline", &ltr(&c.baseline_scenario)),
                ("seed", &c.baseline_seed),
                ("demand", &demand),
            ],
        );
        let mut h = format!("<h2>{title}</h2><div class=scroll>");
        h.push_str(&self.comparison_table(self.t("cmp.port"), &c.port));
        for z in &c.zones {
            let name = self
                .r
                .zones
                .iter()
                .find(|x| x.id == z.zone)
                .map_or(z.zone.as_str(), |x| x.name_in(self.l));
            h.push_str(&self.comparison_table(&bdi(name), &z.figures));
        }
        h.push_str("</div>");
        h
    }

    fn comparison_table(&self, title: &str, f: &SideBySide) -> String {
        let mut s = format!(
            "<table><tr><th class=t>{title}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
            self.t("cmp.run"),
            self.t("cmp.baseline"),
            self.t("cmp.reduction")
        );
        let mut row = |key: &'static str, run: &dyn Display, base: &dyn Display, red: &str| {
            let _ = write!(
                s,
                "<tr><td class=t>{}</td><td>{run}</td><td>{base}</td><td>{red}</td></tr>",
                self.t(key)
            );
        };
        row("cmp.arrivals", &f.run.arrivals, &f.baseline.arrivals, "");
        let peaks = (self.peak_load(&f.run), self.peak_load(&f.baseline));
        row("cmp.peak", &peaks.0, &peaks.1, "");
        for (key, run, base, red) in f.duration_rows() {
            row(key, &self.dur(run), &self.dur(base), &pct(red));
        }
        s.push_str("</table>");
        s
    }

    /// Peak-hour arrivals against the hour's capacity.
    fn peak_load(&self, p: &SideFigures) -> String {
        p.peak_arrivals.as_ref().map_or_else(
            || NONE.to_owned(),
            |h| {
                self.l.fill(
                    "cmp.peak_cell",
                    &[
                        ("count", &h.count),
                        ("capacity", &h.capacity),
                        ("pct", &pct(p.peak_load_pct)),
                        ("at", &self.at(h.start)),
                    ],
                )
            },
        )
    }

    fn charts(&self) -> Result<String, ReportError> {
        let (r, l) = (self.r, self.l);
        let mut svgs = vec![charts::arrivals(l, r)?, charts::waiting(l, r)?];
        for z in &r.zones {
            svgs.push(charts::zone_throughput(l, r, z)?);
        }
        svgs.push(charts::reasons(l, r)?);
        svgs.push(charts::latency(l, r)?);
        let mut h = format!("<h2>{}</h2>", self.t("charts"));
        for svg in svgs {
            let _ = write!(h, "<figure>{svg}</figure>");
        }
        Ok(h)
    }

    fn zones(&self) -> String {
        let mut columns = vec![
            "col.zone",
            "col.booked",
            "col.refused",
            "col.rebooked",
            "col.moved",
            "col.cancelled",
            "col.arrivals",
            "col.entries",
            "col.exits",
            "col.capacity",
            "col.use",
            "col.peak",
            "col.wait_p50",
        ];
        columns.extend(STATS_COLUMNS);
        columns.push("col.turn_p50");
        columns.extend(STATS_COLUMNS);
        columns.push("col.inside");
        let (h2, header) = (self.t("zones"), self.header(&columns, 1));
        let mut h = format!("<h2>{h2}</h2><div class=scroll><table>{header}");
        for z in &self.r.zones {
            h.push_str(&self.zone_row(z));
        }
        h.push_str(&self.port_row());
        h.push_str("</table></div>");
        let t = &self.r.totals;
        let unmatched = self.l.fill(
            "zones.unmatched",
            &[("exits", &t.unmatched_exits), ("outside", &t.outside_span)],
        );
        let _ = write!(h, "<p>{unmatched}</p>");
        if t.bookings.closure_hit > 0 {
            h.push_str(&self.closure_effect(&t.bookings));
        }
        h
    }

    fn zone_row(&self, z: &ZoneReport) -> String {
        let b = &z.bookings;
        format!(
            "<tr><td class=t>{} <small>({})</small></td>{}{}{}<td>{}</td></tr>",
            bdi(z.name_in(self.l)),
            ltr(&z.id),
            cells(
                "td",
                &[
                    &b.made,
                    &b.refused,
                    &b.rebooked,
                    &b.moved,
                    &b.cancelled,
                    &z.arrivals,
                    &z.entries,
                    &z.exits,
                    &z.capacity,
                    &pct(z.utilisation_pct),
                    &self.peak(z.peak_entries.as_ref(), true),
                ]
            ),
            self.stats_cells("td", &z.waiting),
            self.stats_cells("td", &z.turn_time),
            z.inside_at_end
        )
    }

    /// The zones' table's total row.
    fn port_row(&self) -> String {
        let t = &self.r.totals;
        let b = &t.bookings;
        format!(
            "<tr><th class=t>{}</th>{}{}{}<th>{}</th></tr>",
            self.t("port"),
            cells(
                "th",
                &[
                    &b.made,
                    &b.refused,
                    &b.rebooked,
                    &b.moved,
                    &b.cancelled,
                    &t.arrivals,
                    &t.entries,
                    &t.exits,
                    &t.capacity,
                    &pct(t.utilisation_pct),
                    &self.peak(t.peak_entries.as_ref(), true),
                ]
            ),
            self.stats_cells("th", &t.waiting),
            self.stats_cells("th", &t.turn_time),
            t.inside_at_end
        )
    }

    /// What closures did to the bookings they hit.
    fn closure_effect(&self, b: &BookingTally) -> String {
        let l = self.l;
        let per_moved = b
            .closure_minutes_per_moved()
            .map_or_else(String::new, |m| l.fill("closure.per_moved", &[("min", &m)]));
        let effect = l.fill(
            "closure.effect",
            &[
                ("hit", &b.closure_hit),
                ("moved", &b.closure_moved),
                ("cancelled", &b.closure_cancelled),
                ("kept", &b.closure_kept()),
                ("hours", &format!("{:.1}", b.closure_delay_hours())),
                ("per_moved", &per_moved),
            ],
        );
        format!("<p id=closure-effect>{effect}</p>")
    }

    fn gates(&self) -> String {
        let mut columns = vec![
            "col.gate",
            "col.zone",
            "col.lanes",
            "col.arrivals",
            "col.entries",
            "col.exits",
            "col.peak",
            "col.wait_p50",
        ];
        columns.extend(STATS_COLUMNS);
        columns.push("col.turn_p50");
        columns.extend(STATS_COLUMNS);
        columns.extend(["col.latency_p50", "col.p99", "col.max", "col.offline"]);
        let (h2, header) = (self.t("gates"), self.header(&columns, 2));
        let mut h = format!("<h2>{h2}</h2><div class=scroll><table>{header}");
        for g in &self.r.gates {
            let lat = &g.latency;
            let _ = write!(
                h,
                "<tr><td class=t>{}</td><td class=t>{}</td>{}{}{}{}</tr>",
                ltr(&g.id),
                ltr(&g.zone),
                cells(
                    "td",
                    &[
                        &format!("{}/{}", g.in_lanes, g.out_lanes),
                        &g.arrivals,
                        &g.entries,
                        &g.exits,
                        &self.peak(g.peak_entries.as_ref(), false),
                    ]
                ),
                self.stats_cells("td", &g.waiting),
                self.stats_cells("td", &g.turn_time),
                cells(
                    "td",
                    &[
                        &latency(lat.p50_us),
                        &latency(lat.p99_us),
                        &latency(lat.max_us),
                        &pct(g.passages.offline_share_pct),
                    ]
                )
            );
        }
        h.push_str("</table></div>");
        h
    }

    /// Passages by decision and by reason, for the port and each zone; decision latency.
    fn passages(&self) -> String {
        let (r, l) = (self.r, self.l);
        let p = &r.totals.passages;
        let port = l.fill("passages.port", &[("summary", &self.summary(p))]);
        let mut h = format!("<h2>{}</h2><p>{port}</p>", self.t("passages"));
        h.push_str(&self.count_table("col.decision", Codes::Verdict, &p.by_verdict, p.total));
        if p.by_verdict.iter().any(|v| v.key == NOTHING_READ) {
            let _ = write!(h, r#"<p class="note">{}</p>"#, self.t("nothing_read.means"));
        }
        h.push_str(&self.count_table("col.reason", Codes::Reason, &p.by_reason, p.total));
        for z in &r.zones {
            let p = &z.passages;
            let _ = write!(
                h,
                "<details><summary>{}: {}</summary>{}{}</details>",
                bdi(z.name_in(l)),
                self.summary(p),
                self.count_table("col.decision", Codes::Verdict, &p.by_verdict, p.total),
                self.count_table("col.reason", Codes::Reason, &p.by_reason, p.total)
            );
        }
        let lat = &r.latency;
        let sentence = l.fill(
            "passages.latency",
            &[
                ("count", &lat.count),
                ("p50", &latency(lat.p50_us)),
                ("p90", &latency(lat.p90_us)),
                ("p99", &latency(lat.p99_us)),
                ("max", &latency(lat.max_us)),
                ("mean", &latency(lat.mean_us)),
            ],
        );
        let _ = write!(h, "<p>{sentence}</p>");
        h
    }

    fn count_table(
        &self,
        title: &'static str,
        kind: Codes,
        rows: &[CountRow],
        total: u64,
    ) -> String {
        let header = self.header(&[title, "col.passages", "col.share", "col.offline"], 1);
        let mut s = format!("<table>{header}");
        for r in rows {
            let share = pct(ratio_pct(r.count, total));
            let _ = write!(
                s,
                "<tr><td class=t>{}</td>{}</tr>",
                self.code(kind, &r.key),
                cells("td", &[&r.count, &share, &r.offline])
            );
        }
        self.none_row(&mut s, rows.is_empty(), 4, "none");
        s.push_str("</table>");
        s
    }

    fn summary(&self, p: &PassageCounts) -> String {
        let verdicts: Vec<String> = p
            .by_verdict
            .iter()
            .map(|r| format!("{} {}", self.code(Codes::Verdict, &r.key), r.count))
            .collect();
        let verdicts = if verdicts.is_empty() {
            NONE.to_owned()
        } else {
            verdicts.join(self.l.comma())
        };
        self.l.fill(
            "passages.summary",
            &[
                ("total", &p.total),
                ("verdicts", &verdicts),
                ("approved", &p.approved_by_operator),
                ("offline", &pct(p.offline_share_pct)),
            ],
        )
    }

    fn hourly(&self) -> String {
        let columns = [
            "col.hour",
            "col.capacity",
            "col.booked",
            "col.arrivals",
            "col.entries",
            "col.wait_p50",
            "col.wait_p90",
        ];
        let (summary, header) = (self.t("hourly"), self.header(&columns, 1));
        let mut h =
            format!("<details><summary>{summary}</summary><div class=scroll><table>{header}");
        for row in &self.r.totals.hourly {
            let _ = write!(
                h,
                "<tr><td class=t>{}</td>{}</tr>",
                self.at(row.start),
                cells(
                    "td",
                    &[
                        &row.capacity,
                        &row.booked,
                        &row.arrivals,
                        &row.entries,
                        &self.dur(row.waiting_p50_ms),
                        &self.dur(row.waiting_p90_ms),
                    ]
                )
            );
        }
        h.push_str("</table></div></details>");
        h
    }

    fn no_shows(&self) -> String {
        let n = &self.r.no_shows;
        let counted = self.l.fill(
            "no_shows.counted",
            &[
                ("swept", &n.swept_total),
                ("truth", &n.ground_truth_total),
                ("companies", &n.companies_with_no_shows),
            ],
        );
        let columns = [
            "col.company",
            "col.swept",
            "col.ground_truth",
            "col.trucks",
            "col.fleet",
        ];
        let (h2, header) = (self.t("no_shows"), self.header(&columns, 1));
        let mut h = format!("<h2>{h2}</h2><p>{counted}</p><table>{header}");
        for row in &n.top {
            let fleet = row.fleet.map_or_else(|| NONE.to_owned(), |f| f.to_string());
            let _ = write!(
                h,
                "<tr><td class=t>{}</td>{}</tr>",
                ltr(&row.company),
                cells("td", &[&row.swept, &row.ground_truth, &row.trucks, &fleet])
            );
        }
        self.none_row(&mut h, n.top.is_empty(), 5, "none");
        h.push_str("</table>");
        h
    }

    fn turned_away(&self) -> String {
        let (l, rows) = (self.l, &self.r.turned_away);
        let first = l.fill("turned_away.first", &[("n", &rows.len())]);
        let columns = [
            "col.at",
            "col.zone",
            "col.gate_lane",
            "col.plate",
            "col.truck",
            "col.decision",
            "col.reasons",
            "col.offline",
        ];
        let (h2, header) = (self.t("turned_away"), self.header(&columns, 7));
        let mut h = format!("<h2>{h2}</h2><p>{first}</p><div class=scroll><table>{header}");
        for t in rows {
            let _ = write!(
                h,
                "<tr><td class=t>{}</td><td class=t>{}</td><td class=t>{}</td>\
                 <td class=t>{}</td><td class=t>{}</td><td class=t>{}</td><td class=t>{}</td>\
                 <td>{}</td></tr>",
                self.at(t.at),
                ltr(&t.zone),
                ltr(&format!("{} / {}", t.gate, t.lane)),
                ltr(&t.plate),
                l.behaviour(&t.behaviour)
                    .map_or_else(|| ltr(&t.behaviour), str::to_owned),
                self.code(Codes::Verdict, &t.verdict),
                self.codes(Codes::Reason, &t.reasons),
                if t.offline { self.t("yes") } else { "" }
            );
        }
        self.none_row(&mut h, rows.is_empty(), 8, "none");
        h.push_str("</table></div>");
        h
    }

    fn proofs(&self) -> String {
        let header = self.header(&["col.proof", "col.result", "col.detail"], 3);
        let mut h = format!("<h2>{}</h2><table>{header}", self.t("proofs"));
        for p in &self.r.proofs {
            // A proof's detail (what was checked, or its counter-examples) is generated
            // English with numbers and ids: it stays English on the Arabic page, isolated.
            let _ = write!(
                h,
                "<tr><td class=t>{}</td><td class=\"t {}\">{}</td><td class=t>{}</td></tr>",
                self.l
                    .proof(&p.name)
                    .map_or_else(|| bdi(&p.name), str::to_owned),
                if p.passed { "ok" } else { "bad" },
                self.t(if p.passed {
                    "proof.passed"
                } else {
                    "proof.failed"
                }),
                bdi(&p.detail)
            );
        }
        self.none_row(&mut h, self.r.proofs.is_empty(), 3, "proofs.none");
        h.push_str("</table>");
        h
    }

    /// What line noise did to camera frames (nothing on a quiet line).
    fn noise(&self) -> String {
        let n = &self.r.noise;
        if n.frames == 0 {
            return String::new();
        }
        let text = self.l.fill(
            "noise.text",
            &[
                ("frames", &n.frames),
                ("lost", &n.lost),
                ("garbled", &n.garbled),
                ("unread", &n.unread_trucks),
            ],
        );
        format!("<h2>{}</h2><p>{text}</p>", self.t("noise"))
    }

    fn timeline(&self) -> String {
        let header = self.header(&["col.at", "col.event"], 2);
        let mut h = format!("<h2>{}</h2><table>{header}", self.t("timeline"));
        for e in &self.r.events {
            // What happened is the engine's English sentence (with ids and numbers): it stays
            // English on the Arabic page, isolated, like the proofs' details.
            let _ = write!(
                h,
                "<tr><td class=t>{}</td><td class=t>{}</td></tr>",
                self.at(e.at),
                bdi(&e.what)
            );
        }
        self.none_row(&mut h, self.r.events.is_empty(), 2, "events.none");
        h.push_str("</table>");
        h
    }
}
