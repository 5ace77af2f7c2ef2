//! Number-plate (ANPR) cameras: plate reads as text over a serial line, in one of two formats
//! configured per camera ([`AnprFormat`]).
//!
//! # STX/ETX plate lines
//!
//! ```text
//! 0x02 YYYYMMDDHHMMSS CC PLATE 0x03
//! ```
//!
//! 14 ASCII digits of camera time (a real calendar date and time), 2 ASCII digits of camera/lane
//! number, then the plate: 1 to [`MAX_PLATE_LEN`] bytes of UTF-8 made of ASCII letters and digits,
//! spaces, `-`, Arabic letters U+0621–U+064A, Arabic-Indic digits U+0660–U+0669 and Persian
//! digits U+06F0–U+06F9 (with at least one letter or digit), or the literal `Not defined` for a
//! failed read. There is no checksum. A bad frame (bad digits, date, character, an STX before the
//! ETX, no ETX within [`MAX_STX_FRAME`] bytes) is dropped one byte at a time, and the bytes up to
//! the next STX are garbage.
//!
//! # Template lines
//!
//! Lines terminated by CR LF (a bare LF is accepted too), at most [`MAX_LINE`] bytes with the
//! terminator, matching a [`Template`] such as `%PLATE%,%CONF%,%COUNTRY%` (`6012345,87,JO`).
//! Placeholders: `%PLATE%` (required; same rules as above, `Not defined` = failed read),
//! `%CONF%` (integer 0–100, 1–3 digits), `%COUNTRY%` (1–16 ASCII letters), `%LANE%` (integer
//! 0–255, 1–3 digits), `%TIME%` (`YYYYMMDDHHMMSS`); each at most once, separated by non-empty
//! literal text. Lines are the frames: a line that does not match is dropped whole, as is a line
//! longer than [`MAX_LINE`] (the decoder then discards bytes up to the next LF). Empty lines are
//! skipped as garbage without counting a bad frame.
//!
//! When a separator could also occur inside a field (e.g. a space separator and a plate with
//! spaces), the decoder takes the shortest values that make the whole line match, trying longer
//! ones when a later field would not be valid; the [`AnprEncoder`] refuses to produce a line that
//! would not decode back to the same values.
//!
//! The codec does not normalise plates (the domain crate does); it only validates them.

use std::fmt;
use std::str::FromStr;

use bytes::BytesMut;
use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};
use tokio_util::codec::{Decoder, Encoder};

use crate::framing::{BadFrame, Framer, Scan};
use crate::{DecoderStats, Error};

/// Start of an STX/ETX frame.
pub const STX: u8 = 0x02;
/// End of an STX/ETX frame.
pub const ETX: u8 = 0x03;
/// The plate text of a failed read.
pub const NOT_DEFINED: &str = "Not defined";
/// Longest plate, in UTF-8 bytes.
pub const MAX_PLATE_LEN: usize = 32;
/// Longest STX/ETX frame: STX, 16 header digits, plate, ETX.
pub const MAX_STX_FRAME: usize = 1 + HEADER_LEN + MAX_PLATE_LEN + 1;
/// Longest template line, terminator included.
pub const MAX_LINE: usize = 256;
/// Longest `%COUNTRY%` value.
pub const MAX_COUNTRY_LEN: usize = 16;

const HEADER_LEN: usize = 16;
const TIME_LEN: usize = 14;

/// One plate read from a camera. Fields the camera's format does not carry are `None`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct PlateRead {
    pub camera_time: Option<NaiveDateTime>,
    pub lane: Option<u8>,
    /// `None` for a failed read (`Not defined`).
    pub plate: Option<String>,
    pub confidence: Option<u8>,
    pub country: Option<String>,
}

/// Wire format of a camera.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnprFormat {
    /// `STX YYYYMMDDHHMMSS CC PLATE ETX`.
    StxEtx,
    /// CR/LF-terminated lines following a template.
    Template(Template),
}

/// A placeholder of a [`Template`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// `%PLATE%`
    Plate,
    /// `%CONF%`
    Confidence,
    /// `%COUNTRY%`
    Country,
    /// `%LANE%`
    Lane,
    /// `%TIME%`
    Time,
}

impl Field {
    const ALL: [Self; 5] = [
        Self::Plate,
        Self::Confidence,
        Self::Country,
        Self::Lane,
        Self::Time,
    ];

    /// The placeholder name, between the `%` signs.
    pub fn name(self) -> &'static str {
        match self {
            Self::Plate => "PLATE",
            Self::Confidence => "CONF",
            Self::Country => "COUNTRY",
            Self::Lane => "LANE",
            Self::Time => "TIME",
        }
    }

    fn max_len(self) -> usize {
        match self {
            Self::Plate => MAX_PLATE_LEN,
            Self::Confidence | Self::Lane => 3,
            Self::Country => MAX_COUNTRY_LEN,
            Self::Time => TIME_LEN,
        }
    }

    fn accepts(self, v: &str) -> bool {
        match self {
            Self::Plate => v == NOT_DEFINED || valid_plate(v),
            Self::Confidence => number(v.as_bytes(), 3).is_some_and(|n| n <= 100),
            Self::Lane => number(v.as_bytes(), 3).is_some_and(|n| n <= 255),
            Self::Country => {
                (1..=MAX_COUNTRY_LEN).contains(&v.len())
                    && v.bytes().all(|b| b.is_ascii_alphabetic())
            }
            Self::Time => parse_time(v.as_bytes()).is_some(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Field(Field),
}

/// A parsed line template, e.g. `%PLATE%,%CONF%,%COUNTRY%\r\n` (a trailing CR LF or LF is
/// optional: lines are always LF-terminated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    segments: Vec<Segment>,
}

impl Template {
    /// Parses a template; rejects unknown or unterminated placeholders, a placeholder used twice,
    /// two placeholders with no separator between them, line breaks before the end, and templates
    /// without `%PLATE%`.
    pub fn parse(src: &str) -> Result<Self, Error> {
        let err = |msg: String| Err(Error::Template(msg));
        let body = src
            .strip_suffix("\r\n")
            .or_else(|| src.strip_suffix('\n'))
            .unwrap_or(src);
        if body.contains(['\r', '\n']) {
            return err(format!("line break inside {src:?}"));
        }
        let mut segments = Vec::new();
        let mut rest = body;
        while let Some((literal, after)) = rest.split_once('%') {
            let Some((name, after)) = after.split_once('%') else {
                return err(format!("unterminated placeholder %{after}"));
            };
            let Some(field) = Field::ALL.into_iter().find(|f| f.name() == name) else {
                return err(format!("unknown placeholder %{name}%"));
            };
            if segments.contains(&Segment::Field(field)) {
                return err(format!("placeholder %{name}% used twice"));
            }
            if !literal.is_empty() {
                segments.push(Segment::Literal(literal.to_owned()));
            } else if matches!(segments.last(), Some(Segment::Field(_))) {
                return err(format!("no separator before %{name}%"));
            }
            segments.push(Segment::Field(field));
            rest = after;
        }
        if !rest.is_empty() {
            segments.push(Segment::Literal(rest.to_owned()));
        }
        if !segments.contains(&Segment::Field(Field::Plate)) {
            return err("no %PLATE% placeholder".to_owned());
        }
        Ok(Self { segments })
    }

    /// The placeholders of the template, in order.
    pub fn fields(&self) -> impl Iterator<Item = Field> + '_ {
        self.segments.iter().filter_map(|s| match s {
            Segment::Field(f) => Some(*f),
            Segment::Literal(_) => None,
        })
    }

    /// Matches one line (without its terminator).
    pub fn match_line(&self, line: &str) -> Option<PlateRead> {
        let mut values = [None; Field::ALL.len()];
        if !match_segments(&self.segments, line, &mut values) {
            return None;
        }
        let get = |f: Field| values[f as usize];
        let num = |f| get(f).and_then(|v: &str| number(v.as_bytes(), 3));
        Some(PlateRead {
            camera_time: get(Field::Time).and_then(|v| parse_time(v.as_bytes())),
            lane: num(Field::Lane).and_then(|n| u8::try_from(n).ok()),
            plate: get(Field::Plate)
                .filter(|&p| p != NOT_DEFINED)
                .map(str::to_owned),
            confidence: num(Field::Confidence).and_then(|n| u8::try_from(n).ok()),
            country: get(Field::Country).map(str::to_owned),
        })
    }

    /// Renders a line (without its terminator); fails if a field of the template is missing or
    /// invalid in `read`, or if the line would not match back to the same values.
    pub fn render(&self, read: &PlateRead) -> Result<String, Error> {
        let mut line = String::new();
        let mut expected = PlateRead::default();
        for segment in &self.segments {
            let field = match segment {
                Segment::Literal(l) => {
                    line.push_str(l);
                    continue;
                }
                Segment::Field(f) => *f,
            };
            let missing = || Error::Invalid {
                field: field.name(),
                reason: "required by the template",
            };
            let value = match field {
                Field::Plate => {
                    expected.plate.clone_from(&read.plate);
                    check_plate(read.plate.as_deref())?.to_owned()
                }
                Field::Confidence => {
                    let c = read.confidence.ok_or_else(missing)?;
                    expected.confidence = Some(c);
                    c.to_string()
                }
                Field::Country => {
                    let c = read.country.clone().ok_or_else(missing)?;
                    expected.country = Some(c.clone());
                    c
                }
                Field::Lane => {
                    let l = read.lane.ok_or_else(missing)?;
                    expected.lane = Some(l);
                    l.to_string()
                }
                Field::Time => {
                    let (text, t) = format_time(read.camera_time.ok_or_else(missing)?)?;
                    expected.camera_time = Some(t);
                    text
                }
            };
            if !field.accepts(&value) {
                return Err(Error::Invalid {
                    field: field.name(),
                    reason: "not a valid value for this placeholder",
                });
            }
            line.push_str(&value);
        }
        if line.len() + 2 > MAX_LINE {
            return Err(Error::TooLong {
                what: "ANPR line",
                len: line.len() + 2,
                max: MAX_LINE,
            });
        }
        if self.match_line(&line) != Some(expected) {
            return Err(Error::Invalid {
                field: "line",
                reason: "ambiguous: a separator also occurs inside a value",
            });
        }
        Ok(line)
    }
}

impl FromStr for Template {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        Self::parse(s)
    }
}

/// Writes the template back in its source syntax (without terminator).
impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.segments.iter().try_for_each(|s| match s {
            Segment::Literal(l) => f.write_str(l),
            Segment::Field(field) => write!(f, "%{}%", field.name()),
        })
    }
}

/// Backtracking match: each field takes the shortest value, up to its maximum length, that is
/// valid and lets the rest of the line match.
fn match_segments<'a>(
    segments: &[Segment],
    s: &'a str,
    values: &mut [Option<&'a str>; Field::ALL.len()],
) -> bool {
    let (field, rest) = match segments {
        [] => return s.is_empty(),
        [Segment::Literal(l), rest @ ..] => {
            return s
                .strip_prefix(l.as_str())
                .is_some_and(|s| match_segments(rest, s, values));
        }
        [Segment::Field(f), rest @ ..] => (*f, rest),
    };
    let mut take = |value: &'a str, tail: &'a str| {
        let ok = field.accepts(value) && match_segments(rest, tail, values);
        if ok {
            values[field as usize] = Some(value);
        }
        ok
    };
    match rest.first() {
        None => take(s, ""),
        Some(Segment::Literal(sep)) => (1..=s.len().min(field.max_len())).any(|i| {
            matches!((s.get(..i), s.get(i..)), (Some(v), Some(t)) if t.starts_with(sep.as_str()) && take(v, t))
        }),
        Some(Segment::Field(_)) => false,
    }
}

fn plate_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || c == ' '
        || c == '-'
        || ('\u{0621}'..='\u{064A}').contains(&c)
        || ('\u{0660}'..='\u{0669}').contains(&c)
        || ('\u{06F0}'..='\u{06F9}').contains(&c)
}

/// Whether `p` is a valid plate text (the failed-read marker aside).
pub fn valid_plate(p: &str) -> bool {
    (1..=MAX_PLATE_LEN).contains(&p.len())
        && p.chars().all(plate_char)
        && p.chars().any(|c| c != ' ' && c != '-')
}

/// The wire text for a plate, `Not defined` for `None`.
fn check_plate(plate: Option<&str>) -> Result<&str, Error> {
    match plate {
        None => Ok(NOT_DEFINED),
        Some(NOT_DEFINED) => Err(Error::Invalid {
            field: "plate",
            reason: "\"Not defined\" marks a failed read: use None",
        }),
        Some(p) if valid_plate(p) => Ok(p),
        Some(p) if p.len() > MAX_PLATE_LEN => Err(Error::TooLong {
            what: "plate",
            len: p.len(),
            max: MAX_PLATE_LEN,
        }),
        Some(_) => Err(Error::Invalid {
            field: "plate",
            reason: "empty, or characters outside the plate alphabet",
        }),
    }
}

/// A non-empty run of at most `max` ASCII digits.
fn number(d: &[u8], max: usize) -> Option<u32> {
    if d.is_empty() || d.len() > max {
        return None;
    }
    d.iter().try_fold(0u32, |n, &b| {
        b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0'))
    })
}

/// `YYYYMMDDHHMMSS`, a real calendar date and time (no leap second).
fn parse_time(d: &[u8]) -> Option<NaiveDateTime> {
    if d.len() != TIME_LEN {
        return None;
    }
    let n = |from: usize, len: usize| number(d.get(from..from + len)?, len);
    NaiveDate::from_ymd_opt(i32::try_from(n(0, 4)?).ok()?, n(4, 2)?, n(6, 2)?)?.and_hms_opt(
        n(8, 2)?,
        n(10, 2)?,
        n(12, 2)?,
    )
}

/// `YYYYMMDDHHMMSS` and the time it denotes (sub-seconds truncated).
fn format_time(t: NaiveDateTime) -> Result<(String, NaiveDateTime), Error> {
    if !(0..=9999).contains(&t.year()) {
        return Err(Error::Invalid {
            field: "camera_time",
            reason: "year outside 0000-9999",
        });
    }
    let text = format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    let t = parse_time(text.as_bytes()).ok_or(Error::Invalid {
        field: "camera_time",
        reason: "not representable",
    })?;
    Ok((text, t))
}

fn scan_stx(buf: &[u8]) -> Scan<PlateRead> {
    if buf.first() != Some(&STX) {
        return Scan::Garbage(buf.iter().position(|&b| b == STX).unwrap_or(buf.len()));
    }
    for (i, &b) in buf.iter().enumerate().take(MAX_STX_FRAME).skip(1) {
        match b {
            ETX => {
                return match parse_stx(buf.get(1..i).unwrap_or_default()) {
                    Ok(read) => Scan::Frame(i + 1, read),
                    Err(why) => Scan::Bad(1, BadFrame::Malformed(why)),
                };
            }
            STX => return Scan::Bad(1, BadFrame::Malformed("STX inside a frame")),
            b if i <= HEADER_LEN && !b.is_ascii_digit() => {
                return Scan::Bad(1, BadFrame::Malformed("non-digit in the time/lane header"));
            }
            _ => {}
        }
    }
    if buf.len() >= MAX_STX_FRAME {
        Scan::Bad(1, BadFrame::TooLong)
    } else {
        Scan::Incomplete
    }
}

fn parse_stx(body: &[u8]) -> Result<PlateRead, &'static str> {
    let (header, plate) = body
        .split_at_checked(HEADER_LEN)
        .ok_or("frame shorter than its header")?;
    let (time, lane) = header.split_at(TIME_LEN);
    let camera_time = parse_time(time).ok_or("invalid camera date/time")?;
    let lane = number(lane, 2).ok_or("invalid lane digits")?;
    let plate = std::str::from_utf8(plate).map_err(|_| "plate is not UTF-8")?;
    let plate = match plate {
        NOT_DEFINED => None,
        p if valid_plate(p) => Some(p.to_owned()),
        _ => return Err("empty plate or characters outside the plate alphabet"),
    };
    Ok(PlateRead {
        camera_time: Some(camera_time),
        lane: u8::try_from(lane).ok(),
        plate,
        confidence: None,
        country: None,
    })
}

fn scan_line(
    template: &Template,
    skip_line: &mut bool,
    buf: &[u8],
    truncated: bool,
) -> Scan<PlateRead> {
    let eol = buf.iter().position(|&b| b == b'\n');
    if *skip_line {
        *skip_line = eol.is_none();
        return Scan::Garbage(eol.map_or(buf.len(), |i| i + 1));
    }
    let Some(i) = eol else {
        return if buf.len() >= MAX_LINE {
            *skip_line = true;
            Scan::Bad(buf.len(), BadFrame::TooLong)
        } else if truncated {
            Scan::Bad(buf.len(), BadFrame::Truncated)
        } else {
            Scan::Incomplete
        };
    };
    let line = buf.get(..i).unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if i + 1 > MAX_LINE {
        return Scan::Bad(i + 1, BadFrame::TooLong);
    }
    if line.is_empty() {
        return Scan::Garbage(i + 1);
    }
    match std::str::from_utf8(line) {
        Err(_) => Scan::Bad(i + 1, BadFrame::Malformed("line is not UTF-8")),
        Ok(line) => match template.match_line(line) {
            Some(read) => Scan::Frame(i + 1, read),
            None => Scan::Bad(
                i + 1,
                BadFrame::Malformed("line does not match the template"),
            ),
        },
    }
}

/// Decoder of plate reads (gate agent side).
#[derive(Debug)]
pub struct AnprDecoder {
    format: AnprFormat,
    framer: Framer,
    skip_line: bool,
}

impl AnprDecoder {
    pub fn new(format: AnprFormat) -> Self {
        Self {
            format,
            framer: Framer::default(),
            skip_line: false,
        }
    }

    pub fn stats(&self) -> DecoderStats {
        self.framer.stats()
    }

    fn run(&mut self, buf: &mut BytesMut, eof: bool) -> Option<PlateRead> {
        let Self {
            format,
            framer,
            skip_line,
        } = self;
        framer.run("anpr", buf, eof, |b, truncated| match format {
            AnprFormat::StxEtx => scan_stx(b),
            AnprFormat::Template(t) => scan_line(t, skip_line, b, truncated),
        })
    }
}

impl Decoder for AnprDecoder {
    type Item = PlateRead;
    type Error = Error;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<PlateRead>, Error> {
        Ok(self.run(buf, false))
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<PlateRead>, Error> {
        Ok(self.run(buf, true))
    }
}

/// Encoder of plate reads (camera emulator side). Fields of [`PlateRead`] that the format does
/// not carry are ignored; fields it requires must be present and valid. Sub-seconds of the
/// camera time are truncated.
#[derive(Debug, Clone)]
pub struct AnprEncoder {
    format: AnprFormat,
}

impl AnprEncoder {
    pub fn new(format: AnprFormat) -> Self {
        Self { format }
    }

    /// The exact bytes the camera sends for `read`.
    pub fn to_bytes(&self, read: &PlateRead) -> Result<Vec<u8>, Error> {
        match &self.format {
            AnprFormat::Template(t) => {
                let mut line = t.render(read)?.into_bytes();
                line.extend_from_slice(b"\r\n");
                Ok(line)
            }
            AnprFormat::StxEtx => {
                let missing = |field| Error::Invalid {
                    field,
                    reason: "required by the STX/ETX format",
                };
                let (time, _) =
                    format_time(read.camera_time.ok_or_else(|| missing("camera_time"))?)?;
                let lane = read.lane.ok_or_else(|| missing("lane"))?;
                if lane > 99 {
                    return Err(Error::Invalid {
                        field: "lane",
                        reason: "more than two digits",
                    });
                }
                let plate = check_plate(read.plate.as_deref())?;
                let mut out = Vec::with_capacity(MAX_STX_FRAME);
                out.push(STX);
                out.extend_from_slice(format!("{time}{lane:02}{plate}").as_bytes());
                out.push(ETX);
                Ok(out)
            }
        }
    }
}

impl Encoder<PlateRead> for AnprEncoder {
    type Error = Error;

    fn encode(&mut self, read: PlateRead, dst: &mut BytesMut) -> Result<(), Error> {
        dst.extend_from_slice(&self.to_bytes(&read)?);
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn time(s: &str) -> NaiveDateTime {
        parse_time(s.as_bytes()).unwrap()
    }

    fn decode(format: AnprFormat, bytes: &[u8]) -> (Vec<PlateRead>, DecoderStats) {
        let mut dec = AnprDecoder::new(format);
        let mut buf = BytesMut::from(bytes);
        let mut out = Vec::new();
        while let Some(r) = dec.decode_eof(&mut buf).unwrap() {
            out.push(r);
        }
        (out, dec.stats())
    }

    fn stx(body: &str) -> Vec<u8> {
        [&[STX], body.as_bytes(), &[ETX]].concat()
    }

    #[test]
    fn stx_plate_line() {
        let (reads, stats) = decode(AnprFormat::StxEtx, &stx("2024022914305907ب ج 12345"));
        let read = PlateRead {
            camera_time: Some(time("20240229143059")),
            lane: Some(7),
            plate: Some("ب ج 12345".into()),
            ..PlateRead::default()
        };
        assert_eq!(reads, std::slice::from_ref(&read));
        assert_eq!(stats.frames, 1);
        assert_eq!(
            AnprEncoder::new(AnprFormat::StxEtx)
                .to_bytes(&read)
                .unwrap(),
            stx("2024022914305907ب ج 12345")
        );
    }

    #[test]
    fn stx_failed_read() {
        let (reads, _) = decode(AnprFormat::StxEtx, &stx("2024010100000001Not defined"));
        assert_eq!(reads.len(), 1);
        assert_eq!(reads[0].plate, None);
    }

    #[test]
    fn stx_rejects() {
        for body in [
            "2023022914305907AB123",                             // 29 February 2023
            "2024022924000007AB123",                             // hour 24
            "2024022914306007AB123",                             // second 60
            "20240229143059 7AB123",                             // lane digit
            "2024022914305907",                                  // empty plate
            "2024022914305907AB_123",                            // character
            "2024022914305907 - ",                               // no letter or digit
            "2024022914305907AB\r",                              // control character
            "2024022914305907ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456", // 33 bytes
        ] {
            let (reads, stats) = decode(AnprFormat::StxEtx, &stx(body));
            assert!(reads.is_empty(), "{body:?}");
            assert_eq!(stats.bad_frames, 1, "{body:?}");
        }
        let (reads, _) = decode(AnprFormat::StxEtx, b"\x022024022914305907\xFF\x03");
        assert!(reads.is_empty());
        let max = format!("2024022914305907{}", "A".repeat(MAX_PLATE_LEN));
        assert_eq!(decode(AnprFormat::StxEtx, &stx(&max)).0.len(), 1);
    }

    #[test]
    fn template_parsing() {
        let t = Template::parse("%PLATE%,%CONF%,%COUNTRY%\r\n").unwrap();
        assert_eq!(
            t.fields().collect::<Vec<_>>(),
            [Field::Plate, Field::Confidence, Field::Country]
        );
        assert_eq!(t.to_string(), "%PLATE%,%CONF%,%COUNTRY%");
        assert_eq!(Template::parse("%PLATE%,%CONF%,%COUNTRY%").unwrap(), t);
        let ok = [
            "<%LANE%> %TIME% %PLATE%;%CONF%",
            "%PLATE%",
            "plate=%PLATE%\n",
        ];
        for src in ok {
            assert!(src.parse::<Template>().is_ok(), "{src}");
        }
        let bad = [
            "%PLATE%%CONF%",    // adjacent
            "%PLATE%,%SPEED%",  // unknown
            "%PLATE%,%CONF",    // unterminated
            "%CONF%,%COUNTRY%", // no plate
            "%PLATE%,%PLATE%",  // twice
            "%PLATE%\r\n%CONF%",
            "%plate%",
            "",
        ];
        for src in bad {
            assert!(
                matches!(Template::parse(src), Err(Error::Template(_))),
                "{src}"
            );
        }
    }

    #[test]
    fn template_lines() {
        let t = Template::parse("%PLATE%,%CONF%,%COUNTRY%\r\n").unwrap();
        let format = AnprFormat::Template(t);
        let (reads, stats) = decode(
            format.clone(),
            b"6012345,87,JO\r\n6012345,101,JO\r\n\r\nNot defined,0,SA\n12-34567,100,JO\r\n",
        );
        let read = |plate: Option<&str>, conf, country: &str| PlateRead {
            plate: plate.map(Into::into),
            confidence: Some(conf),
            country: Some(country.into()),
            ..PlateRead::default()
        };
        assert_eq!(
            reads,
            [
                read(Some("6012345"), 87, "JO"),
                read(None, 0, "SA"),
                read(Some("12-34567"), 100, "JO"),
            ]
        );
        assert_eq!(stats.bad_frames, 1);
        assert_eq!(stats.garbage_bytes, 16 + 2);
        let enc = AnprEncoder::new(format);
        assert_eq!(
            enc.to_bytes(&read(Some("6012345"), 87, "JO")).unwrap(),
            b"6012345,87,JO\r\n"
        );
        assert!(enc.to_bytes(&read(Some("6012345"), 101, "JO")).is_err());
        assert!(enc.to_bytes(&read(Some("60,12"), 87, "JO")).is_err());
        assert!(enc.to_bytes(&PlateRead::default()).is_err());
    }

    #[test]
    fn template_backtracks_over_separators_inside_values() {
        let t = Template::parse("%TIME% %PLATE% %LANE% %CONF%").unwrap();
        let read = t.match_line("20250101120000 12 ABC 34 3 99").unwrap();
        assert_eq!(read.plate.as_deref(), Some("12 ABC 34"));
        assert_eq!((read.lane, read.confidence), (Some(3), Some(99)));
        assert_eq!(read.camera_time, Some(time("20250101120000")));
        // The only valid split of "A 1 2" is plate "A 1", lane 2.
        let t = Template::parse("%PLATE% %LANE%").unwrap();
        let read = t.match_line("A 1 2").unwrap();
        assert_eq!((read.plate.as_deref(), read.lane), (Some("A 1"), Some(2)));
        // Genuinely ambiguous (the separator is a letter): "AXBXC" is plate "A" + country
        // "BXC" or plate "AXB" + country "C". The decoder takes the shortest plate; the encoder
        // refuses to write the second.
        let t = Template::parse("%PLATE%X%COUNTRY%").unwrap();
        let read = t.match_line("AXBXC").unwrap();
        assert_eq!(read.plate.as_deref(), Some("A"));
        assert_eq!(read.country.as_deref(), Some("BXC"));
        let ambiguous = PlateRead {
            plate: Some("AXB".into()),
            country: Some("C".into()),
            ..PlateRead::default()
        };
        assert!(matches!(
            t.render(&ambiguous),
            Err(Error::Invalid { field: "line", .. })
        ));
        assert_eq!(t.render(&read).unwrap(), "AXBXC");
    }

    #[test]
    fn overlong_line_is_discarded_up_to_the_next_line_feed() {
        let t = Template::parse("%PLATE%").unwrap();
        let mut bytes = vec![b'A'; 1000];
        bytes.extend_from_slice(b"\r\nAB123\r\n");
        let mut dec = AnprDecoder::new(AnprFormat::Template(t));
        let mut buf = BytesMut::new();
        let mut reads = Vec::new();
        for chunk in bytes.chunks(100) {
            buf.extend_from_slice(chunk);
            while let Some(r) = dec.decode(&mut buf).unwrap() {
                reads.push(r);
            }
            assert!(buf.len() < MAX_LINE);
        }
        assert_eq!(reads.len(), 1);
        assert_eq!(reads[0].plate.as_deref(), Some("AB123"));
        assert_eq!(dec.stats().garbage_bytes, 1002);
    }
}
