//! Export and import: every record a store holds, one JSON document a line (the format is in
//! docs/export.md). The same file moves a store from sled to PostgreSQL and back.
//!
//! A file starts with an [`Line::Export`] header naming the format and its version and ends
//! with [`Line::End`] counting the lines before it, so a file cut short is refused rather than
//! imported in part. Records follow in a fixed order of kinds, each kind in key order, so two
//! stores holding the same data write the same file.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};

use bawaba_domain::account::{Account, Session};
use bawaba_domain::audit::AuditEntry;
use bawaba_domain::calendar::ZoneConfig;
use bawaba_domain::event::CompanyEvent;
use bawaba_domain::fleet::FleetTruck;
use bawaba_domain::ids::{CompanyId, GateId, ZoneId};
use bawaba_domain::ledger::{
    Booking, ChangeEntry, Gate, IdempotencyRecord, Ledger, Records, Touched,
};
use bawaba_domain::notify::{Delivery, Progress, Texted, Webhook};
use bawaba_domain::passage::{Passage, Referral};
use chrono::{DateTime, DurationRound, Utc};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// What the header's `format` says.
pub const EXPORT_FORMAT: &str = "bawaba-export";
/// The version of the line format this build writes and reads.
pub const EXPORT_VERSION: u32 = 1;

/// Where an export's lines go, one at a time.
pub type Sink<'a> = &'a mut (dyn FnMut(Line) -> Result<()> + Send);

/// The first line of an export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub format: String,
    pub version: u32,
    pub written_at: DateTime<Utc>,
    /// The kind of store it was written from (`sled`, `postgres`).
    pub from: String,
}

impl Header {
    pub fn new(from: &str, now: DateTime<Utc>) -> Self {
        Header {
            format: EXPORT_FORMAT.into(),
            version: EXPORT_VERSION,
            written_at: now,
            from: from.into(),
        }
    }
}

/// One line of an export: `{"kind": ..., "record": ...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "record", rename_all = "snake_case")]
pub enum Line {
    Export(Header),
    Zone(ZoneConfig),
    Gate(Gate),
    Booking(Booking),
    Idempotency(IdempotencyRecord),
    /// A zone's change-log entry (what its gates replicate), numbered 1, 2, ... per zone.
    Change(ChangeEntry),
    /// A passage with its recording number (1, 2, ... in the order it was recorded).
    Passage {
        recorded: u64,
        passage: Passage,
    },
    Referral(Referral),
    Reported {
        gate: GateId,
        through: DateTime<Utc>,
    },
    /// A company's event, numbered 1, 2, ... per company.
    Event(CompanyEvent),
    Webhook {
        webhook: Webhook,
        progress: Progress,
    },
    Delivery(Delivery),
    Truck(FleetTruck),
    Sms {
        company: CompanyId,
        progress: Progress,
    },
    Text(Texted),
    Reminded {
        through: DateTime<Utc>,
    },
    Account(Account),
    Session(Session),
    /// An audit record, numbered 1, 2, ... in commit order.
    Audit(AuditEntry),
    /// The last line: how many lines came before it.
    End {
        lines: u64,
    },
}

/// A store's mark (the gates' report marks, the reminders' mark) as exports carry it: to the
/// microsecond, PostgreSQL's precision, rounded down (a mark a moment earlier only makes the
/// no-show sweep wait, and no window starts within a microsecond of another instant).
pub fn mark(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(chrono::TimeDelta::microseconds(1))
        .unwrap_or(t)
}

/// Writes lines as an export: the header, the records `each` gives, the end line.
#[derive(Debug)]
pub struct Writer<W: Write> {
    out: W,
    lines: u64,
}

impl<W: Write> Writer<W> {
    pub fn start(out: W, header: Header) -> Result<Self> {
        let mut w = Writer { out, lines: 0 };
        w.write(&Line::Export(header))?;
        Ok(w)
    }

    pub fn write(&mut self, line: &Line) -> Result<()> {
        let io = |source| Error::Io {
            context: "writing the export".into(),
            source,
        };
        serde_json::to_writer(&mut self.out, line).map_err(|e| Error::Corrupt {
            key: format!("export line {}", self.lines + 1),
            reason: format!("cannot be encoded: {e}"),
        })?;
        self.out.write_all(b"\n").map_err(io)?;
        self.lines += 1;
        Ok(())
    }

    /// What is written to (to take out what a buffer holds so far).
    pub fn out_mut(&mut self) -> &mut W {
        &mut self.out
    }

    /// Writes the end line and flushes: the output and the number of lines written, the end
    /// line included.
    pub fn finish(mut self) -> Result<(W, u64)> {
        self.write(&Line::End { lines: self.lines })?;
        self.out.flush().map_err(|source| Error::Io {
            context: "writing the export".into(),
            source,
        })?;
        Ok((self.out, self.lines))
    }
}

fn refuse(line: u64, reason: impl std::fmt::Display) -> Error {
    Error::Import(format!("line {line}: {reason}"))
}

/// Reads an export's records (without its header and end line), refusing a file that is not
/// an export of a version this build reads, a line that is not a record, or a file cut short.
pub fn read(input: impl BufRead) -> Result<Vec<Line>> {
    let mut records = Vec::new();
    for_each(input, |line| {
        records.push(line);
        Ok(())
    })?;
    Ok(records)
}

/// Reads an export line by line, giving `each` every record, checked as [`read`] checks them
/// (a file cut short is refused at its end, after its records were given): how many records.
pub fn for_each(input: impl BufRead, mut each: impl FnMut(Line) -> Result<()>) -> Result<u64> {
    let mut ended = None;
    let mut records = 0;
    for (i, text) in input.lines().enumerate() {
        let n = i as u64 + 1;
        let text = text.map_err(|source| Error::Io {
            context: format!("reading line {n} of the export"),
            source,
        })?;
        if ended.is_some() {
            return Err(refuse(n, "follows the end line"));
        }
        let line: Line = serde_json::from_str(&text).map_err(|e| refuse(n, e))?;
        match (n, line) {
            (1, Line::Export(h)) => check_header(&h)?,
            (1, _) => return Err(refuse(1, "is not an export header: not a Bawaba export")),
            (_, Line::Export(_)) => return Err(refuse(n, "a second header")),
            (_, Line::End { lines }) if lines == n - 1 => ended = Some(n),
            (_, Line::End { lines }) => {
                return Err(refuse(
                    n,
                    format!("the end line counts {lines} lines, not {}", n - 1),
                ));
            }
            (_, record) => {
                records += 1;
                each(record)?;
            }
        }
    }
    match ended {
        Some(_) => Ok(records),
        None => Err(Error::Import(
            "the export has no end line: it was cut short".into(),
        )),
    }
}

fn check_header(h: &Header) -> Result<()> {
    if h.format != EXPORT_FORMAT {
        return Err(refuse(
            1,
            format!("format {:?} is not {EXPORT_FORMAT:?}", h.format),
        ));
    }
    if h.version != EXPORT_VERSION {
        return Err(refuse(
            1,
            format!(
                "export version {} (this build reads version {EXPORT_VERSION})",
                h.version
            ),
        ));
    }
    Ok(())
}

/// An export's records as a ledger and everything in it named as touched: what a store
/// writes to hold exactly them.
#[derive(Debug)]
pub struct Imported {
    pub ledger: Ledger,
    pub touched: Touched,
}

/// Numbered logs must run 1, 2, 3, ... (per zone, per company): what a store renumbers on
/// writing keeps the numbers, and a gap means a record is missing.
fn numbered<K: Ord + std::fmt::Display>(
    what: &str,
    seqs: impl Iterator<Item = (K, u64)>,
) -> Result<BTreeMap<K, u64>> {
    let mut last: BTreeMap<K, u64> = BTreeMap::new();
    for (key, seq) in seqs {
        let prev = last.get(&key).copied().unwrap_or(0);
        if seq != prev + 1 {
            return Err(Error::Import(format!(
                "{what} {seq} of {key} follows {prev}: records are missing or out of order"
            )));
        }
        last.insert(key, seq);
    }
    Ok(last)
}

/// Builds the ledger and the touched set of an export's records.
pub fn assemble(lines: Vec<Line>) -> Result<Imported> {
    let mut a = Assembly::default();
    for line in lines {
        a.add(line);
    }
    a.finish()
}

/// An export's records gathered by kind.
#[derive(Default)]
struct Assembly {
    r: Records,
    t: Touched,
    audit: Vec<AuditEntry>,
    passages: Vec<(u64, Passage)>,
}

impl Assembly {
    fn add(&mut self, line: Line) {
        let Assembly { r, t, .. } = self;
        match line {
            Line::Zone(z) => {
                t.zones.insert(z.id.clone());
                r.zones.push(z);
            }
            Line::Gate(g) => {
                t.gates.insert(g.id.clone());
                r.gates.push(g);
            }
            Line::Booking(b) => {
                t.bookings.insert(b.id);
                r.bookings.push(b);
            }
            Line::Idempotency(i) => {
                t.idempotency.push(i.clone());
                r.idempotency.push(i);
            }
            Line::Change(c) => t.changes.push(c),
            Line::Passage { recorded, passage } => self.passages.push((recorded, passage)),
            Line::Referral(x) => {
                t.referrals.insert(x.passage.id);
                r.referrals.push(x);
            }
            Line::Reported { gate, through } => {
                t.reports.insert(gate.clone());
                r.reported.push((gate, through));
            }
            Line::Event(e) => t.events.push(e),
            Line::Delivery(d) => t.deliveries.push(d),
            Line::Text(x) => t.texts.push(x),
            Line::Audit(a) => self.audit.push(a),
            other => self.add_company(other),
        }
    }

    /// What the store keeps of companies apart from their logs.
    fn add_company(&mut self, line: Line) {
        let Assembly { r, t, .. } = self;
        match line {
            Line::Webhook { webhook, progress } => {
                t.webhooks.insert(webhook.company.clone());
                r.webhooks.push((webhook, progress));
            }
            Line::Truck(x) => {
                t.fleet.insert((x.company.clone(), x.plate.clone()));
                r.fleet.push(x);
            }
            Line::Sms { company, progress } => {
                t.sms.insert(company.clone());
                r.sms.push((company, progress));
            }
            Line::Reminded { through } => {
                t.reminded = true;
                r.reminded_through = Some(through);
            }
            Line::Account(a) => {
                t.accounts.insert(a.login.clone());
                r.accounts.push(a);
            }
            Line::Session(s) => {
                t.sessions.insert(s.id.clone());
                r.sessions.push(s);
            }
            _ => {}
        }
    }

    /// The logs in order, checked whole, and the ledger.
    fn finish(self) -> Result<Imported> {
        let Assembly {
            mut r,
            mut t,
            mut audit,
            mut passages,
        } = self;
        passages.sort_by_key(|(n, _)| *n);
        numbered("passage", passages.iter().map(|(n, _)| ("the store", *n)))?;
        t.passages = passages.iter().map(|(n, p)| (*n, p.id)).collect();
        r.passage_log = t.passages.clone();
        r.passages = passages.into_iter().map(|(_, p)| p).collect();
        t.changes
            .sort_by(|a, b| (&a.zone, a.seq).cmp(&(&b.zone, b.seq)));
        let changes = t.changes.iter().map(|c| (c.zone.clone(), c.seq));
        r.change_seq = numbered::<ZoneId>("change", changes)?;
        t.events
            .sort_by(|a, b| (&a.company, a.seq).cmp(&(&b.company, b.seq)));
        let events = t.events.iter().map(|e| (e.company.clone(), e.seq));
        r.event_seq = numbered::<CompanyId>("event", events)?;
        audit.sort_by_key(|a| a.seq);
        numbered("audit record", audit.iter().map(|a| ("the trail", a.seq)))?;
        t.audit = audit.into_iter().map(|a| a.record).collect();
        Ok(Imported {
            ledger: Ledger::restore(r),
            touched: t,
        })
    }
}

#[cfg(test)]
mod tests {
    use bawaba_domain::fleet::Phone;
    use bawaba_domain::plate::Plate;

    use super::*;

    fn at() -> DateTime<Utc> {
        "2026-12-07T20:00:00Z".parse().unwrap()
    }

    fn export(lines: &[Line]) -> String {
        let mut w = Writer::start(Vec::new(), Header::new("test", at())).unwrap();
        for l in lines {
            w.write(l).unwrap();
        }
        let (out, n) = w.finish().unwrap();
        assert_eq!(n, lines.len() as u64 + 2);
        String::from_utf8(out).unwrap()
    }

    fn records() -> Vec<Line> {
        let company = CompanyId::parse("acme").unwrap();
        vec![
            Line::Truck(FleetTruck {
                company: company.clone(),
                plate: Plate::parse("60-12345").unwrap(),
                epc: None,
                driver: "سامي".into(),
                phone: Some(Phone::parse("0791234567").unwrap()),
                updated_at: at(),
            }),
            Line::Reminded { through: at() },
        ]
    }

    #[test]
    fn an_export_reads_back_as_written() {
        let text = export(&records());
        assert!(
            text.starts_with(r#"{"kind":"export","record":{"format":"bawaba-export","version":1"#),
            "{text}"
        );
        assert!(
            text.ends_with("{\"kind\":\"end\",\"record\":{\"lines\":3}}\n"),
            "{text}"
        );
        assert_eq!(read(text.as_bytes()).unwrap(), records());
    }

    fn refused(text: &str) -> String {
        read(text.as_bytes()).unwrap_err().to_string()
    }

    #[test]
    fn a_file_cut_short_or_not_an_export_is_refused_with_its_line() {
        let text = export(&records());
        let cut: Vec<&str> = text.lines().take(2).collect();
        assert!(refused(&cut.join("\n")).contains("cut short"));
        assert!(refused("{\"a\":1}").contains("line 1"));
        let lines: Vec<&str> = text.lines().collect();
        let garbled = [lines[0], "not json", lines[2], lines[3]].join("\n");
        assert!(
            refused(&garbled).contains("line 2"),
            "{}",
            refused(&garbled)
        );
        let miscounted = [lines[0], lines[1], lines[3]].join("\n");
        assert!(refused(&miscounted).contains("counts 3 lines, not 2"));
        let future = text.replacen("\"version\":1", "\"version\":9", 1);
        assert!(refused(&future).contains("export version 9"));
        let trailing = format!("{text}{}\n", lines[1]);
        assert!(refused(&trailing).contains("follows the end line"));
    }

    #[test]
    fn marks_are_kept_to_the_microsecond_rounded_down() {
        let t: DateTime<Utc> = "2026-12-07T20:00:00.123456789Z".parse().unwrap();
        assert_eq!(
            mark(t),
            "2026-12-07T20:00:00.123456Z"
                .parse::<DateTime<Utc>>()
                .unwrap()
        );
        assert_eq!(mark(mark(t)), mark(t));
    }

    #[test]
    fn a_log_with_a_gap_is_refused() {
        let e = numbered(
            "event",
            [("acme", 1), ("acme", 2), ("zeta", 1), ("acme", 4)].into_iter(),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("event 4 of acme follows 2"), "{e}");
        let heads = numbered("event", [("acme", 1), ("zeta", 1), ("acme", 2)].into_iter()).unwrap();
        assert_eq!(heads, BTreeMap::from([("acme", 2), ("zeta", 1)]));
    }
}
