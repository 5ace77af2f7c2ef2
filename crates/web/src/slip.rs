//! The driver's slip as pictures: the booking id as a QR code (SVG for the printable page),
//! and the whole slip as a PNG image a driver keeps on the phone and shows at the gate — the
//! QR code, the booking id under it, the plate, and each stop's zone and window in Amman time.
//!
//! The image holds figures only (ids, a plate, dates and times with their offset), so it
//! reads the same in Arabic and in English. It is drawn with a bitmap font
//! (`embedded-graphics`) at a third of its size and written as an 8-bit grey PNG (`png`).

use std::convert::Infallible;

use embedded_graphics::mono_font::MonoTextStyle;
use embedded_graphics::mono_font::ascii::FONT_10X20;
use embedded_graphics::pixelcolor::BinaryColor;
use embedded_graphics::prelude::*;
use embedded_graphics::text::{Alignment, Text};
use qrcode::{Color, QrCode};

use crate::Error;

/// The image's narrowest width before it is scaled up, in dots.
const WIDTH: u32 = 240;
/// A character's width, and the margin each side of the longest line, in dots.
const CHAR: u32 = 10;
/// Each dot is this many pixels square in the PNG (720 px wide).
const SCALE: u32 = 3;
/// A QR module's side, in dots.
const MODULE: u32 = 6;
/// Blank modules around the code, as the standard asks.
const QUIET: u32 = 4;
/// A line of text's height, in dots.
const LINE: u32 = 22;

/// `text` as a QR code: an inline SVG element.
pub fn qr_svg(text: &str) -> Result<String, Error> {
    let svg = qr(text)?
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(220, 220)
        .quiet_zone(true)
        .build();
    Ok(svg
        .find("<svg")
        .map_or(svg.clone(), |at| svg[at..].to_owned()))
}

fn qr(text: &str) -> Result<QrCode, Error> {
    QrCode::new(text.as_bytes())
        .map_err(|e| Error::invalid("id", format!("cannot be a QR code: {e}")))
}

/// The slip as a PNG: a QR code of `id`, then `id` itself, then `lines` (ASCII: what the
/// font has not is drawn as `?`), each centred.
pub fn png(id: &str, lines: &[String]) -> Result<Vec<u8>, Error> {
    let code = qr(id)?;
    let side = (code.width() as u32 + 2 * QUIET) * MODULE;
    let height = side + LINE * (lines.len() as u32 + 1) + LINE / 2;
    let longest = lines
        .iter()
        .map(|l| l.chars().count())
        .chain([id.len()])
        .max();
    let text = u32::try_from(longest.unwrap_or(0)).unwrap_or(u32::MAX / 4) * CHAR + 2 * CHAR;
    let mut dots = Dots::new(WIDTH.max(side).max(text), height);
    dots.qr(&code);
    let style = MonoTextStyle::new(&FONT_10X20, BinaryColor::On);
    let centre = i32::try_from(dots.width / 2).unwrap_or(0);
    for (n, line) in std::iter::once(id)
        .chain(lines.iter().map(String::as_str))
        .enumerate()
    {
        let baseline = side + LINE * (n as u32 + 1) - 6;
        let at = Point::new(centre, i32::try_from(baseline).unwrap_or(0));
        let Ok(_) = Text::with_alignment(line, at, style, Alignment::Center).draw(&mut dots);
    }
    dots.encode()
}

/// A black-on-white picture, one byte a dot (0 black, 255 white).
struct Dots {
    width: u32,
    height: u32,
    grey: Vec<u8>,
}

impl Dots {
    fn new(width: u32, height: u32) -> Self {
        Dots {
            width,
            height,
            grey: vec![255; (width * height) as usize],
        }
    }

    fn set(&mut self, x: u32, y: u32) {
        if x < self.width && y < self.height {
            self.grey[(y * self.width + x) as usize] = 0;
        }
    }

    /// The code's dark modules, centred at the top, inside their quiet zone.
    fn qr(&mut self, code: &QrCode) {
        let n = code.width() as u32;
        let left = (self.width - (n + 2 * QUIET) * MODULE) / 2 + QUIET * MODULE;
        let top = QUIET * MODULE;
        for (i, c) in code.to_colors().into_iter().enumerate() {
            if c == Color::Dark {
                let (mx, my) = (i as u32 % n, i as u32 / n);
                for dy in 0..MODULE {
                    for dx in 0..MODULE {
                        self.set(left + mx * MODULE + dx, top + my * MODULE + dy);
                    }
                }
            }
        }
    }

    /// The picture scaled up [`SCALE`] times, as a PNG file.
    fn encode(&self) -> Result<Vec<u8>, Error> {
        let (w, h) = (self.width * SCALE, self.height * SCALE);
        let mut rows = Vec::with_capacity((w * h) as usize);
        for y in 0..h {
            let row = &self.grey[((y / SCALE) * self.width) as usize..][..self.width as usize];
            rows.extend(
                row.iter()
                    .flat_map(|&g| std::iter::repeat_n(g, SCALE as usize)),
            );
        }
        let mut out = Vec::new();
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::High);
        let written = enc
            .write_header()
            .and_then(|mut wr| wr.write_image_data(&rows).and_then(|()| wr.finish()));
        written.map_err(|e| Error::Io(std::io::Error::other(format!("writing the PNG: {e}"))))?;
        Ok(out)
    }
}

impl OriginDimensions for Dots {
    fn size(&self) -> Size {
        Size::new(self.width, self.height)
    }
}

impl DrawTarget for Dots {
    type Color = BinaryColor;
    type Error = Infallible;

    fn draw_iter<I>(&mut self, pixels: I) -> Result<(), Infallible>
    where
        I: IntoIterator<Item = Pixel<BinaryColor>>,
    {
        for Pixel(p, c) in pixels {
            if let (Ok(x), Ok(y), BinaryColor::On) = (u32::try_from(p.x), u32::try_from(p.y), c) {
                self.set(x, y);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
        let mut r = png::Decoder::new(std::io::Cursor::new(bytes))
            .read_info()
            .unwrap();
        let mut buf = vec![0; r.output_buffer_size().unwrap()];
        let info = r.next_frame(&mut buf).unwrap();
        assert_eq!(info.color_type, png::ColorType::Grayscale);
        buf.truncate(info.buffer_size());
        (info.width, info.height, buf)
    }

    /// The image's QR code reads back (with a QR reader) as the booking id.
    #[test]
    fn the_code_in_the_image_reads_back_as_the_booking_id() {
        let lines = [
            "60-12345".to_owned(),
            "act 2026-12-09 08:00-08:30".to_owned(),
        ];
        let bytes = png("1844", &lines).unwrap();
        let (w, h, grey) = decode(&bytes);
        assert_eq!(
            w,
            (26 + 2) * CHAR * SCALE,
            "the longest line and its margins"
        );
        let mut img =
            rqrr::PreparedImage::prepare_from_greyscale(w as usize, h as usize, |x, y| {
                grey[y * w as usize + x]
            });
        let grids = img.detect_grids();
        assert_eq!(grids.len(), 1);
        let (_, text) = grids[0].decode().unwrap();
        assert_eq!(text, "1844");
    }

    /// A ULID (26 characters) fits with its margins: the image grows to hold it.
    #[test]
    fn a_long_id_widens_the_image() {
        let id = "01M8BHAHM0QET5S014GTHWN1K0";
        let (w, h, grey) = decode(&png(id, &[]).unwrap());
        assert_eq!(w, (26 + 2) * CHAR * SCALE);
        let margin = |x: u32| (0..h).all(|y| grey[(y * w + x) as usize] == 255);
        assert!((0..CHAR * SCALE).all(margin), "the left margin is blank");
        assert!(
            (w - CHAR * SCALE..w).all(margin),
            "the right margin is blank"
        );
    }

    /// Each line of text leaves ink in its own band under the code, centred.
    #[test]
    fn every_line_is_drawn_in_its_band() {
        let lines = ["60-12345".to_owned(), "x".to_owned(), String::new()];
        let bytes = png("7", &lines).unwrap();
        let (w, _, grey) = decode(&bytes);
        let side = (qr("7").unwrap().width() as u32 + 2 * QUIET) * MODULE;
        let ink = |n: u32| {
            let band = (side + LINE * n) * SCALE..(side + LINE * (n + 1)) * SCALE;
            band.flat_map(|y| (0..w).map(move |x| (x, y)))
                .filter(|&(x, y)| grey[(y * w + x) as usize] == 0)
                .map(|(x, _)| x)
                .collect::<Vec<_>>()
        };
        for n in 0..3 {
            assert!(!ink(n).is_empty(), "line {n} is drawn");
        }
        assert!(ink(3).is_empty(), "the empty line is blank");
        let xs = ink(2);
        let mid = (xs.iter().min().unwrap() + xs.iter().max().unwrap()) / 2;
        assert!(mid.abs_diff(w / 2) <= SCALE * 10, "centred: {mid} of {w}");
    }
}
