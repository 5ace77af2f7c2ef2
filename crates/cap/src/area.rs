//! Areas: an alert's `<area>` (polygons and circles, WGS 84) and a zone's outline, met with
//! the `geo` crate. Coordinates are written latitude first, as CAP writes them; `geo` holds
//! them as x = longitude, y = latitude.

use geo::{Destination, Haversine, Intersects, LineString, MultiPolygon, Point, Polygon};

use crate::CapError;

/// Corners of the polygon a circle is met as (the error is under 0.5 % of the radius).
const CIRCLE_CORNERS: u32 = 64;

/// An alert's `<area>`: its description and its shapes.
#[derive(Debug, Clone, PartialEq)]
pub struct Area {
    pub desc: String,
    pub shapes: MultiPolygon<f64>,
}

impl Area {
    /// Whether the area meets (overlaps or touches) a zone's outline.
    pub fn meets(&self, outline: &Outline) -> bool {
        self.shapes.intersects(&outline.0)
    }
}

/// A zone's area: a polygon of (latitude, longitude) corners.
#[derive(Debug, Clone, PartialEq)]
pub struct Outline(Polygon<f64>);

impl Outline {
    /// An outline through `corners` (latitude, longitude), at least three distinct ones; the
    /// ring is closed for you.
    pub fn new(corners: &[(f64, f64)]) -> Result<Outline, CapError> {
        for (i, &(lat, lon)) in corners.iter().enumerate() {
            check_point(lat, lon).map_err(|m| CapError::new(format!("area[{i}]"), m))?;
        }
        let mut ring: Vec<(f64, f64)> = corners.iter().map(|&(lat, lon)| (lon, lat)).collect();
        ring.dedup();
        if ring.len() > 1 && ring.first() == ring.last() {
            ring.pop();
        }
        if ring.len() < 3 {
            return Err(CapError::new(
                "area",
                "an outline needs at least three corners",
            ));
        }
        Ok(Outline(Polygon::new(LineString::from(ring), vec![])))
    }

    /// The corners as (latitude, longitude), the ring closed.
    pub fn corners(&self) -> Vec<(f64, f64)> {
        self.0.exterior().points().map(|p| (p.y(), p.x())).collect()
    }
}

fn check_point(lat: f64, lon: f64) -> Result<(), String> {
    if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
        return Err(format!(
            "{lat},{lon} is not a latitude,longitude (WGS 84 degrees)"
        ));
    }
    Ok(())
}

/// A `lat,lon` pair.
fn point(field: &str, text: &str) -> Result<Point<f64>, CapError> {
    let bad = || {
        CapError::new(
            field,
            format!("{text:?} is not a \"latitude,longitude\" pair"),
        )
    };
    let (lat, lon) = text.split_once(',').ok_or_else(bad)?;
    let lat: f64 = lat.trim().parse().map_err(|_| bad())?;
    let lon: f64 = lon.trim().parse().map_err(|_| bad())?;
    check_point(lat, lon).map_err(|m| CapError::new(field, m))?;
    Ok(Point::new(lon, lat))
}

/// A CAP `<polygon>`: four or more `lat,lon` pairs separated by spaces, the first and last the
/// same.
pub(crate) fn polygon(field: &str, text: &str) -> Result<Polygon<f64>, CapError> {
    let points = text
        .split_whitespace()
        .map(|p| point(field, p))
        .collect::<Result<Vec<_>, _>>()?;
    if points.len() < 4 {
        return Err(CapError::new(
            field,
            format!("has {} points; a polygon needs at least 4", points.len()),
        ));
    }
    if points.first() != points.last() {
        return Err(CapError::new(
            field,
            "the first and last points differ (a CAP polygon is closed)",
        ));
    }
    Ok(Polygon::new(LineString::from(points), vec![]))
}

/// A CAP `<circle>`: `lat,lon radius` (kilometres), as a polygon of its circumference.
pub(crate) fn circle(field: &str, text: &str) -> Result<Polygon<f64>, CapError> {
    let (centre, radius) = text.trim().split_once(char::is_whitespace).ok_or_else(|| {
        CapError::new(
            field,
            format!("{text:?} is not \"latitude,longitude radius\""),
        )
    })?;
    let centre = point(field, centre)?;
    let km: f64 = radius
        .trim()
        .parse()
        .ok()
        .filter(|r: &f64| r.is_finite() && *r > 0.0)
        .ok_or_else(|| {
            CapError::new(
                field,
                format!("radius {radius:?} is not a positive number of km"),
            )
        })?;
    let ring: Vec<Point<f64>> = (0..CIRCLE_CORNERS)
        .map(|i| {
            let bearing = f64::from(i) * 360.0 / f64::from(CIRCLE_CORNERS);
            Haversine.destination(centre, bearing, km * 1000.0)
        })
        .collect();
    Ok(Polygon::new(LineString::from(ring), vec![]))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A square of about 2 km around Aqaba's container terminal.
    fn terminal() -> Outline {
        Outline::new(&[
            (29.44, 34.96),
            (29.44, 34.98),
            (29.46, 34.98),
            (29.46, 34.96),
        ])
        .unwrap()
    }

    fn area(shape: Polygon<f64>) -> Area {
        Area {
            desc: String::new(),
            shapes: MultiPolygon(vec![shape]),
        }
    }

    #[test]
    fn polygons_that_overlap_touch_or_hold_meet() {
        let overlapping = polygon(
            "p",
            "29.45,34.97 29.45,35.0 29.5,35.0 29.5,34.97 29.45,34.97",
        );
        assert!(area(overlapping.unwrap()).meets(&terminal()));
        let around = polygon("p", "29.0,34.5 29.0,35.5 30.0,35.5 30.0,34.5 29.0,34.5");
        assert!(
            area(around.unwrap()).meets(&terminal()),
            "a wadi's whole basin"
        );
        let elsewhere = polygon("p", "31.9,35.9 31.9,36.0 32.0,36.0 32.0,35.9 31.9,35.9");
        assert!(!area(elsewhere.unwrap()).meets(&terminal()), "Amman");
    }

    #[test]
    fn circles_meet_by_their_radius() {
        // 29.47,34.97 is about 1.1 km north of the terminal's northern edge.
        assert!(area(circle("c", "29.47,34.97 2").unwrap()).meets(&terminal()));
        assert!(!area(circle("c", "29.47,34.97 0.5").unwrap()).meets(&terminal()));
    }

    #[test]
    fn bad_shapes_name_what_is_wrong() {
        let e = polygon("area.polygon", "29.4,34.9 29.5,34.9 29.4,34.9").unwrap_err();
        assert!(e.to_string().contains("at least 4"), "{e}");
        let e = polygon("area.polygon", "29.4,34.9 29.5,34.9 29.5,35 29.4,35").unwrap_err();
        assert!(e.to_string().contains("first and last"), "{e}");
        let e = polygon("area.polygon", "34.9 29.5,34.9 29.5,35 34.9").unwrap_err();
        assert!(e.to_string().contains("latitude,longitude"), "{e}");
        let e = polygon("area.polygon", "95,34.9 29.5,34.9 29.5,35 95,34.9").unwrap_err();
        assert!(e.to_string().contains("WGS 84"), "{e}");
        let e = circle("area.circle", "29.47,34.97 -3").unwrap_err();
        assert!(e.to_string().contains("radius"), "{e}");
        assert!(Outline::new(&[(29.0, 35.0), (29.1, 35.0), (29.0, 35.0)]).is_err());
    }
}
