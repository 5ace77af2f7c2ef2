//! The report's SVG charts, drawn with `plotters` into strings and inlined into the page.
//! Charts are laid out left to right in both languages (time runs left to right, as on the
//! dashboard); only their Arabic labels read right to left ([`rtl_labels`]).

use std::error::Error;

use bawaba_web::Codes;
use chrono::{DateTime, Utc};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::html::{esc, isolate};
use super::{HourRow, LATENCY_BUCKETS_US, Lang, Report, ReportError, Words, ZoneReport, fmt};

const WIDTH: u32 = 760;
const HEIGHT: u32 = 320;
const FONT: &str = "sans-serif";

const GREEN: RGBColor = RGBColor(46, 125, 50);
const CAPACITY: RGBColor = RGBColor(198, 40, 40);
const BOOKED: RGBColor = RGBColor(21, 101, 192);
const RUN: RGBColor = RGBColor(21, 101, 192);
const RUN_LIGHT: RGBColor = RGBColor(100, 160, 230);
const BASE: RGBColor = RGBColor(230, 81, 0);
const BASE_LIGHT: RGBColor = RGBColor(255, 160, 90);
const GREY: RGBColor = RGBColor(90, 90, 90);

type DrawResult = Result<(), Box<dyn Error>>;

/// Draws into an SVG string; the namespace attribute is dropped (inline SVG in HTML needs
/// none, and the page then holds no URL at all).
fn render<F>(chart: &str, size: (u32, u32), draw: F) -> Result<String, ReportError>
where
    F: FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> DrawResult,
{
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, size).into_drawing_area();
        draw(&root)
            .and_then(|()| root.present().map_err(Into::into))
            .map_err(|e| ReportError::Chart {
                chart: chart.to_owned(),
                detail: e.to_string(),
            })?;
    }
    Ok(rtl_labels(
        &buf.replace(r#" xmlns="http://www.w3.org/2000/svg""#, ""),
    ))
}

/// A small SVG saying there is nothing to draw.
fn empty(l: Lang, title: &str) -> String {
    rtl_labels(&format!(
        r##"<svg width="{WIDTH}" height="60" viewBox="0 0 {WIDTH} 60"><rect width="{WIDTH}" height="60" fill="#fafafa"/><text x="{}" y="34" text-anchor="middle" font-family="{FONT}" font-size="13" fill="#555">{}</text></svg>"##,
        WIDTH / 2,
        esc(&l.fill("chart.no_data", &[("title", &title)]))
    ))
}

/// Every `<text>` holding Arabic reads right to left (`direction="rtl"`) and keeps the place
/// plotters gave it: its anchor is mirrored (`start` is the right end of a right-to-left
/// text). The page's CSS keeps the SVG itself left to right.
fn rtl_labels(svg: &str) -> String {
    const CLOSE: &str = "</text>";
    let mut out = String::with_capacity(svg.len() + 64);
    let mut rest = svg;
    while let Some(i) = rest.find("<text ") {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let end = rest.find(CLOSE).map_or(rest.len(), |j| j + CLOSE.len());
        let (text, tail) = rest.split_at(end);
        if text.chars().any(|c| ('\u{600}'..='\u{6FF}').contains(&c)) {
            out.push_str(&mirror(text));
        } else {
            out.push_str(text);
        }
        rest = tail;
    }
    out.push_str(rest);
    out
}

/// A `<text>` element, its anchor mirrored and its direction right to left.
fn mirror(text: &str) -> String {
    let (tag, content) = text.split_at(text.find('>').unwrap_or(text.len()));
    let anchor = |a: &str| format!(r#"text-anchor="{a}""#);
    let rtl = |a: &str| format!(r#"text-anchor="{a}" direction="rtl""#);
    let tag = if tag.contains(&anchor("end")) {
        tag.replacen(&anchor("end"), &rtl("start"), 1)
    } else if tag.contains(&anchor("middle")) {
        tag.replacen(&anchor("middle"), &rtl("middle"), 1)
    } else {
        // `start`, written or by default.
        tag.replacen(&anchor("start"), "", 1).replacen(
            "<text ",
            &format!("<text {} ", rtl("end")),
            1,
        )
    };
    format!("{tag}{content}")
}

/// One line of an hourly chart: a label, a value per hour (gaps allowed), a colour, and
/// whether it is drawn as a step (a level held over each hour).
struct Line<'a> {
    label: &'a str,
    values: Vec<Option<f64>>,
    color: RGBColor,
    step: bool,
}

impl Line<'_> {
    /// The contiguous runs of known values, each its own path.
    fn segments(&self) -> Vec<Vec<(f64, f64)>> {
        let mut segments: Vec<Vec<(f64, f64)>> = Vec::new();
        let mut current = Vec::new();
        for (i, v) in self.values.iter().enumerate() {
            let x = i as f64;
            match v.filter(|v| v.is_finite()) {
                Some(v) if self.step => current.extend([(x, v), (x + 1.0, v)]),
                Some(v) => current.push((x + 0.5, v)),
                None if current.is_empty() => {}
                None => segments.push(std::mem::take(&mut current)),
            }
        }
        if !current.is_empty() {
            segments.push(current);
        }
        segments
    }
}

/// How many hours an hourly chart spans, and its highest value.
fn extent(bars: Option<&[f64]>, lines: &[Line<'_>]) -> (usize, f64) {
    let hours = bars
        .map_or(0, <[f64]>::len)
        .max(lines.iter().map(|l| l.values.len()).max().unwrap_or(0));
    let ymax = bars
        .into_iter()
        .flatten()
        .copied()
        .chain(
            lines
                .iter()
                .flat_map(|l| l.values.iter().flatten().copied()),
        )
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max);
    (hours, ymax)
}

/// A value on an hourly chart's axis.
fn y_tick(y: &f64) -> String {
    if *y >= 100.0 || y.fract().abs() < 1e-9 {
        format!("{y:.0}")
    } else {
        format!("{y:.1}")
    }
}

/// A chart over simulated hours: optional bars plus lines.
fn hourly_chart(
    l: Lang,
    title: &str,
    y_desc: &str,
    start: DateTime<Utc>,
    bars: Option<(&str, Vec<f64>, RGBColor)>,
    lines: Vec<Line<'_>>,
) -> Result<String, ReportError> {
    let (hours, ymax) = extent(bars.as_ref().map(|b| &b.1[..]), &lines);
    if hours == 0 || ymax <= 0.0 {
        return Ok(empty(l, title));
    }
    let long_run = hours > 24;
    let label = move |x: &f64| {
        let i = x.round();
        if (x - i).abs() > 1e-6 || i < 0.0 || i >= hours as f64 {
            return String::new();
        }
        let t = start + chrono::TimeDelta::try_hours(i as i64).unwrap_or_default();
        fmt::local_hour(l, t, long_run)
    };
    render(title, (WIDTH, HEIGHT), |root| {
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, 16))
            .margin(10)
            .x_label_area_size(32)
            .y_label_area_size(48)
            .build_cartesian_2d(0f64..hours as f64, 0f64..ymax * 1.12)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(RGBColor(238, 238, 238))
            .x_labels(hours.min(12) + 1)
            .x_label_formatter(&label)
            .y_label_formatter(&y_tick)
            .x_desc(l.word("chart.hour"))
            .y_desc(y_desc)
            .label_style((FONT, 11))
            .draw()?;
        if let Some((name, values, color)) = &bars {
            let color = *color;
            chart
                .draw_series(values.iter().enumerate().map(|(i, &v)| {
                    let x = i as f64;
                    Rectangle::new([(x + 0.12, 0.0), (x + 0.88, v)], color.mix(0.75).filled())
                }))?
                .label(*name)
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 14, y + 5)], color.filled())
                });
        }
        for line in &lines {
            let color = line.color;
            let style = color.stroke_width(2);
            let mut labelled = false;
            for seg in line.segments() {
                let drawn = chart.draw_series(LineSeries::new(seg, style))?;
                if !labelled {
                    drawn.label(line.label).legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
                    });
                    labelled = true;
                }
            }
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .label_font((FONT, 11))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .draw()?;
        Ok(())
    })
}

/// Entries per hour against capacity (and bookings held) for one zone.
pub fn zone_throughput(l: Lang, report: &Report, zone: &ZoneReport) -> Result<String, ReportError> {
    let title = l.fill("chart.throughput", &[("zone", &isolate(zone.name_in(l)))]);
    let h = &zone.hourly;
    hourly_chart(
        l,
        &title,
        l.word("chart.entered"),
        report.start,
        Some((
            l.word("chart.entries"),
            h.iter().map(|r| r.entries as f64).collect(),
            GREEN,
        )),
        vec![
            Line {
                label: l.word("chart.capacity"),
                values: h.iter().map(|r| Some(r.capacity as f64)).collect(),
                color: CAPACITY,
                step: true,
            },
            Line {
                label: l.word("chart.booked"),
                values: h.iter().map(|r| Some(r.booked as f64)).collect(),
                color: BOOKED,
                step: true,
            },
        ],
    )
}

fn minutes(ms: Option<i64>) -> Option<f64> {
    ms.map(|ms| ms as f64 / 60_000.0)
}

/// Waiting time per arrival hour, p50 and p90, this run and the baseline.
pub fn waiting(l: Lang, report: &Report) -> Result<String, ReportError> {
    let h = &report.totals.hourly;
    let mut lines = vec![
        Line {
            label: l.word("chart.p90_run"),
            values: h.iter().map(|r| minutes(r.waiting_p90_ms)).collect(),
            color: RUN,
            step: false,
        },
        Line {
            label: l.word("chart.p50_run"),
            values: h.iter().map(|r| minutes(r.waiting_p50_ms)).collect(),
            color: RUN_LIGHT,
            step: false,
        },
    ];
    if let Some(c) = &report.comparison {
        let b: &[HourRow] = &c.baseline_hourly;
        lines.push(Line {
            label: l.word("chart.p90_baseline"),
            values: b.iter().map(|r| minutes(r.waiting_p90_ms)).collect(),
            color: BASE,
            step: false,
        });
        lines.push(Line {
            label: l.word("chart.p50_baseline"),
            values: b.iter().map(|r| minutes(r.waiting_p50_ms)).collect(),
            color: BASE_LIGHT,
            step: false,
        });
    }
    hourly_chart(
        l,
        l.word("chart.waiting"),
        l.word("chart.minutes"),
        report.start,
        None,
        lines,
    )
}

/// Arrivals per hour against the port's capacity, this run and the baseline.
pub fn arrivals(l: Lang, report: &Report) -> Result<String, ReportError> {
    let h = &report.totals.hourly;
    let mut lines = vec![
        Line {
            label: l.word("chart.capacity"),
            values: h.iter().map(|r| Some(r.capacity as f64)).collect(),
            color: CAPACITY,
            step: true,
        },
        Line {
            label: l.word("chart.arrivals_run"),
            values: h.iter().map(|r| Some(r.arrivals as f64)).collect(),
            color: RUN,
            step: false,
        },
    ];
    if let Some(c) = &report.comparison {
        lines.push(Line {
            label: l.word("chart.arrivals_baseline"),
            values: c
                .baseline_hourly
                .iter()
                .map(|r| Some(r.arrivals as f64))
                .collect(),
            color: BASE,
            step: false,
        });
    }
    hourly_chart(
        l,
        l.word("chart.arrivals"),
        l.word("chart.trucks"),
        report.start,
        None,
        lines,
    )
}

/// Passages by reason, whole port, horizontal bars.
pub fn reasons(l: Lang, report: &Report) -> Result<String, ReportError> {
    let title = l.word("chart.reasons");
    let rows = &report.totals.passages.by_reason;
    if rows.is_empty() {
        return Ok(empty(l, title));
    }
    let n = rows.len();
    let names: Vec<String> = rows
        .iter()
        .rev()
        .map(|r| {
            l.code_word(Codes::Reason, &r.key)
                .unwrap_or(&r.key)
                .to_owned()
        })
        .collect();
    let xmax = rows.iter().map(|r| r.count).max().unwrap_or(1).max(1) as f64;
    let height = 70 + 26 * n as u32;
    render(title, (WIDTH, height), |root| {
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, 16))
            .margin(10)
            .x_label_area_size(28)
            .y_label_area_size(170)
            .build_cartesian_2d(0f64..xmax * 1.1, (0..n as i32).into_segmented())?;
        let y_label = |v: &SegmentValue<i32>| match v {
            SegmentValue::CenterOf(i) => usize::try_from(*i)
                .ok()
                .and_then(|i| names.get(i))
                .cloned()
                .unwrap_or_default(),
            _ => String::new(),
        };
        let x_label = |x: &f64| format!("{x:.0}");
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(n)
            .y_label_formatter(&y_label)
            .x_label_formatter(&x_label)
            .x_desc(l.word("chart.passages"))
            .label_style((FONT, 11))
            .draw()?;
        chart.draw_series(
            Histogram::horizontal(&chart)
                .style(RUN.mix(0.8).filled())
                .margin(4)
                .data(
                    rows.iter()
                        .rev()
                        .enumerate()
                        .map(|(i, r)| (i as i32, r.count as f64)),
                ),
        )?;
        Ok(())
    })
}

/// The distribution of gate decision latency.
pub fn latency(lang: Lang, report: &Report) -> Result<String, ReportError> {
    let title = lang.word("chart.latency");
    let l = &report.latency;
    if l.count == 0 {
        return Ok(empty(lang, title));
    }
    let mut prev = None;
    let labels: Vec<String> = l
        .histogram
        .iter()
        .map(|b| {
            let s = fmt::bucket(lang, prev, b.below_us);
            prev = b.below_us;
            s
        })
        .collect();
    let n = labels.len();
    debug_assert_eq!(n, LATENCY_BUCKETS_US.len() + 1);
    let ymax = l
        .histogram
        .iter()
        .map(|b| b.count)
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    render(title, (WIDTH, HEIGHT), |root| {
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, 16))
            .margin(10)
            .x_label_area_size(34)
            .y_label_area_size(52)
            .build_cartesian_2d((0..n as i32).into_segmented(), 0f64..ymax * 1.12)?;
        let x_label = |v: &SegmentValue<i32>| match v {
            SegmentValue::CenterOf(i) => usize::try_from(*i)
                .ok()
                .and_then(|i| labels.get(i))
                .cloned()
                .unwrap_or_default(),
            _ => String::new(),
        };
        let y_label = |y: &f64| format!("{y:.0}");
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n)
            .x_label_formatter(&x_label)
            .y_label_formatter(&y_label)
            .y_desc(lang.word("chart.decisions"))
            .label_style((FONT, 10))
            .draw()?;
        chart.draw_series(
            Histogram::vertical(&chart)
                .style(GREY.mix(0.8).filled())
                .margin(6)
                .data(
                    l.histogram
                        .iter()
                        .enumerate()
                        .map(|(i, b)| (i as i32, b.count as f64)),
                ),
        )?;
        Ok(())
    })
}
