//! The world of a run, drawn from a seed: companies (a power law of fleet sizes), trucks with
//! plates, RFID tags and containers, what each truck wants (zones, preferred time) and how it
//! behaves (early, late, never, walk-in, cloned tag, misread plate...). Pure: no I/O, and the
//! same seed always draws the same world.

use std::collections::HashSet;

use bawaba_domain::calendar::{TransactionType, ZoneConfig};
use bawaba_domain::container::ContainerNumber;
use bawaba_domain::ledger::Gate;
use bawaba_domain::plate::Plate;
use chrono::{DateTime, TimeDelta, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::scenario::Scenario;

/// The zones and gates the run plays on (the scheduler's configuration).
#[derive(Debug, Clone)]
pub struct Site {
    pub zones: Vec<ZoneConfig>,
    pub gates: Vec<Gate>,
    /// The zones that take the early warning's alerts (their outlines, thresholds and
    /// policies).
    pub alert_zones: Vec<bawaba_app::AlertSetting>,
}

/// A simulated company.
#[derive(Debug, Clone)]
pub struct Company {
    pub id: String,
    pub fleet: u32,
}

/// How a truck turns up for its booked window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    OnTime,
    Early,
    LateInGrace,
    LateBeyondGrace,
    NoShow,
    /// Comes with no booking at all.
    WalkIn,
    /// Comes with no booking, carrying a copy of another truck's tag.
    ClonedTag,
}

impl Behaviour {
    pub fn as_str(self) -> &'static str {
        match self {
            Behaviour::OnTime => "on-time",
            Behaviour::Early => "early",
            Behaviour::LateInGrace => "late-in-grace",
            Behaviour::LateBeyondGrace => "late-beyond-grace",
            Behaviour::NoShow => "no-show",
            Behaviour::WalkIn => "walk-in",
            Behaviour::ClonedTag => "cloned-tag",
        }
    }

    /// Whether the truck holds (or tries to hold) a booking.
    pub fn books(self) -> bool {
        !matches!(self, Behaviour::WalkIn | Behaviour::ClonedTag)
    }
}

/// What the camera makes of a truck's plate at one passage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CameraView {
    /// The plate as registered, maybe written with Arabic-Indic digits (still correct).
    Correct { text: String, confidence: u8 },
    /// A confusable character swapped.
    Confused { text: String },
    /// Correct, but under the lane's confidence threshold.
    LowConfidence { text: String },
    /// `Not defined`.
    Failed,
}

impl CameraView {
    /// Whether the read identifies the truck by itself.
    pub fn correct(&self) -> bool {
        matches!(self, CameraView::Correct { .. })
    }
}

/// One stop a truck wants to make.
#[derive(Debug, Clone)]
pub struct Want {
    /// Index into [`Site::zones`].
    pub zone: usize,
    pub transaction_type: TransactionType,
    pub containers: Vec<ContainerNumber>,
}

/// One truck and everything the simulator knows about it.
#[derive(Debug, Clone)]
pub struct Truck {
    pub company: usize,
    /// Normalised registered plate.
    pub plate: String,
    /// Its own RFID tag (hex), if it has one.
    pub epc: Option<Vec<u8>>,
    /// The tag it actually carries when it differs (a cloned tag).
    pub carried_epc: Option<Vec<u8>>,
    pub stops: Vec<Want>,
    /// When it would like to reach its first stop.
    pub preferred: DateTime<Utc>,
    pub behaviour: Behaviour,
    /// Random draws for later, fixed at world creation so the run is deterministic.
    pub arrival_u: f64,
    pub move_booking: bool,
    pub cancel_booking: bool,
}

/// The drawn world.
#[derive(Debug, Clone)]
pub struct World {
    pub companies: Vec<Company>,
    pub trucks: Vec<Truck>,
}

/// A deterministic RNG for `seed` and a purpose (so that changing one part of the world does
/// not shift the draws of another).
pub fn rng(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream(stream);
    r
}

/// A Jordanian heavy-goods plate: `60-NNNNN` or `71-NNNNN` (trailers).
pub fn jordanian_plate(r: &mut impl Rng) -> String {
    let code = if r.random_bool(0.7) { 60 } else { 71 };
    format!("{code}-{:05}", r.random_range(10_000..100_000))
}

/// A foreign plate: Saudi (`ABC 1234`), Iraqi (`12345 BGD`) or Egyptian (`ABC 123`).
pub fn foreign_plate(r: &mut impl Rng) -> String {
    // Letters a camera cannot confuse with digits, so foreign plates stay distinct.
    const LETTERS: &[u8] = b"ACDEFGHJKLMNPRTUVWXY";
    fn letters(r: &mut impl Rng, n: usize) -> String {
        (0..n)
            .map(|_| char::from(LETTERS[r.random_range(0..LETTERS.len())]))
            .collect()
    }
    match r.random_range(0..3) {
        0 => {
            let l = letters(r, 3);
            format!("{l} {:04}", r.random_range(1000..10_000))
        }
        1 => {
            let l = letters(r, 3);
            format!("{:05} {l}", r.random_range(10_000..100_000))
        }
        _ => {
            let l = letters(r, 3);
            format!("{l} {:03}", r.random_range(100..1000))
        }
    }
}

/// A valid ISO 6346 container number (owner code, `U`, serial, check digit).
pub fn container_number(r: &mut impl Rng) -> ContainerNumber {
    const OWNERS: &[&str] = &["MSK", "CSQ", "MSC", "CMA", "HLX", "OOL", "EGH", "APZ"];
    loop {
        let first10 = format!(
            "{}U{:06}",
            OWNERS[r.random_range(0..OWNERS.len())],
            r.random_range(0..1_000_000)
        );
        if let Some(d) = ContainerNumber::check_digit(&first10)
            && let Ok(c) = ContainerNumber::parse(&format!("{first10}{d}"))
        {
            return c;
        }
    }
}

/// The plate as a camera with Arabic-Indic digits sends it.
pub fn arabic_indic(plate: &str) -> String {
    plate
        .chars()
        .map(|c| match c.to_digit(10) {
            Some(d) => char::from_u32(0x0660 + d).unwrap_or(c),
            None => c,
        })
        .collect()
}

/// The plate with one confusable character swapped (O/0, I/1, B/8, S/5, Z/2), if it has one.
pub fn confuse(plate: &str, r: &mut impl Rng) -> Option<String> {
    let swap = |c: char| match c {
        '0' => Some('O'),
        'O' => Some('0'),
        '1' => Some('I'),
        'I' => Some('1'),
        '8' => Some('B'),
        'B' => Some('8'),
        '5' => Some('S'),
        'S' => Some('5'),
        '2' => Some('Z'),
        'Z' => Some('2'),
        _ => None,
    };
    let chars: Vec<char> = plate.chars().collect();
    let candidates: Vec<usize> = (0..chars.len())
        .filter(|&i| swap(chars[i]).is_some())
        .collect();
    if candidates.is_empty() {
        return None;
    }
    let i = candidates[r.random_range(0..candidates.len())];
    Some(
        chars
            .iter()
            .enumerate()
            .map(|(j, &c)| if j == i { swap(c).unwrap_or(c) } else { c })
            .collect(),
    )
}

/// A random 96-bit EPC.
fn epc(r: &mut impl Rng) -> Vec<u8> {
    let mut b = vec![0u8; 12];
    r.fill(&mut b[..]);
    b[0] = 0xE2;
    b
}

/// Fleet sizes following a power law summing to `trucks` over `companies` (a few large
/// fleets, many owner-drivers).
pub fn fleets(trucks: usize, companies: usize, r: &mut impl Rng) -> Vec<u32> {
    let weights: Vec<f64> = (1..=companies)
        .map(|k| 1.0 / (k as f64).powf(1.1) * r.random_range(0.8..1.2))
        .collect();
    let total: f64 = weights.iter().sum();
    let mut sizes: Vec<u32> = weights
        .iter()
        .map(|w| ((w / total) * trucks as f64).floor().max(1.0) as u32)
        .collect();
    let mut assigned: i64 = sizes.iter().map(|&s| i64::from(s)).sum();
    let mut i = 0;
    while assigned < trucks as i64 {
        sizes[i % companies] += 1;
        assigned += 1;
        i += 1;
    }
    while assigned > trucks as i64 {
        if let Some(s) = sizes.iter_mut().filter(|s| **s > 1).max() {
            *s -= 1;
        }
        assigned -= 1;
    }
    sizes
}

/// Standard normal draw (Box-Muller).
fn normal(r: &mut impl Rng) -> f64 {
    let u1: f64 = r.random_range(f64::EPSILON..1.0);
    let u2: f64 = r.random_range(0.0..1.0);
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// Draws the world of `scenario` with `seed` on `site`. Zones get trucks in proportion to
/// their capacity over the run (`zone_weights`).
pub fn draw(scenario: &Scenario, seed: u64, site: &Site, zone_weights: &[f64]) -> World {
    let mut r = rng(seed, 1);
    let sizes = fleets(scenario.trucks, scenario.companies, &mut r);
    let companies: Vec<Company> = sizes
        .iter()
        .enumerate()
        .map(|(i, &fleet)| Company {
            id: if fleet >= 20 {
                format!("fleet-{i:03}")
            } else {
                format!("carrier-{i:03}")
            },
            fleet,
        })
        .collect();
    let d = &scenario.demand;
    let a = &scenario.arrivals;
    let start = scenario.start_utc();
    let mut containers = std::collections::HashSet::new();
    let span_secs = scenario.hours * 3600.0;
    let start_local_h = {
        let naive = scenario.start.naive_local();
        use chrono::Timelike;
        f64::from(naive.hour()) + f64::from(naive.minute()) / 60.0
    };
    let total_w: f64 = zone_weights.iter().sum::<f64>().max(f64::EPSILON);
    let mut seen = HashSet::new();
    let mut trucks = Vec::with_capacity(scenario.trucks);
    for (c, &fleet) in sizes.iter().enumerate() {
        for _ in 0..fleet {
            // A unique plate, also unique up to confusable characters.
            let plate = loop {
                let raw = if r.random_bool(d.foreign_share) {
                    foreign_plate(&mut r)
                } else {
                    jordanian_plate(&mut r)
                };
                if let Ok(p) = Plate::parse(&raw)
                    && seen.insert(p.skeleton())
                {
                    break p.as_str().to_owned();
                }
            };
            let epc = r.random_bool(d.rfid_share).then(|| epc(&mut r));
            // Preferred time: a mid-morning peak each day, or any time.
            let preferred_secs = if r.random_bool(d.peak_share) {
                let days = (scenario.hours / 24.0).ceil().max(1.0) as i64;
                let day = r.random_range(0..days) as f64;
                let h = d.peak_hour + normal(&mut r) * d.peak_spread_hours;
                (day * 24.0 + h - start_local_h) * 3600.0
            } else {
                r.random_range(0.0..span_secs)
            };
            let preferred_secs = if (0.0..span_secs).contains(&preferred_secs) {
                preferred_secs
            } else {
                r.random_range(0.0..span_secs)
            };
            let preferred = start + TimeDelta::seconds(preferred_secs as i64);
            // Zones by weight; a share does the container terminal, then another zone.
            let mut pick = r.random_range(0.0..total_w);
            let mut zone = 0;
            for (i, w) in zone_weights.iter().enumerate() {
                if pick < *w {
                    zone = i;
                    break;
                }
                pick -= w;
            }
            let mut stops = vec![want(site, zone, &mut r)];
            if site.zones.len() > 1 && r.random_bool(d.multi_stop_share) {
                let next = (zone + 1 + r.random_range(0..site.zones.len() - 1)) % site.zones.len();
                stops.push(want(site, next, &mut r));
            }
            // A container moves once in the day: one drawn again is drawn anew.
            for c in stops.iter_mut().flat_map(|s| s.containers.iter_mut()) {
                while !containers.insert(c.clone()) {
                    *c = container_number(&mut r);
                }
            }
            let u: f64 = r.random_range(0.0..1.0);
            let behaviour = if u < a.walk_in_rate {
                Behaviour::WalkIn
            } else if u < a.walk_in_rate + a.cloned_tag_rate {
                Behaviour::ClonedTag
            } else {
                let v: f64 = r.random_range(0.0..1.0);
                let mut acc = a.no_show_rate;
                if v < acc {
                    Behaviour::NoShow
                } else if v < {
                    acc += a.early_rate;
                    acc
                } {
                    Behaviour::Early
                } else if v < {
                    acc += a.late_in_grace_rate;
                    acc
                } {
                    Behaviour::LateInGrace
                } else if v < {
                    acc += a.late_beyond_grace_rate;
                    acc
                } {
                    Behaviour::LateBeyondGrace
                } else {
                    Behaviour::OnTime
                }
            };
            trucks.push(Truck {
                company: c,
                plate,
                epc,
                carried_epc: None,
                stops,
                preferred,
                behaviour,
                arrival_u: r.random_range(0.0..1.0),
                move_booking: r.random_bool(d.move_rate),
                cancel_booking: r.random_bool(d.cancel_rate),
            });
        }
    }
    // Cloned tags: copies of tags of trucks that book.
    let taggers: Vec<usize> = (0..trucks.len())
        .filter(|&i| trucks[i].behaviour.books() && trucks[i].epc.is_some())
        .collect();
    for i in 0..trucks.len() {
        if trucks[i].behaviour == Behaviour::ClonedTag && !taggers.is_empty() {
            let from = taggers[r.random_range(0..taggers.len())];
            trucks[i].epc = None;
            trucks[i].carried_epc = trucks[from].epc.clone();
        }
    }
    World { companies, trucks }
}

fn want(site: &Site, zone: usize, r: &mut impl Rng) -> Want {
    let z = &site.zones[zone];
    let transaction_type = if z.rules.require_containers {
        match r.random_range(0..100) {
            0..40 => TransactionType::ImportPickup,
            40..80 => TransactionType::ExportDropoff,
            80..92 => TransactionType::EmptyReturn,
            _ => TransactionType::EmptyPickup,
        }
    } else {
        TransactionType::GeneralCargo
    };
    let containers = if z.rules.require_containers && transaction_type.requires_containers() {
        vec![container_number(r)]
    } else {
        vec![]
    };
    Want {
        zone,
        transaction_type,
        containers,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plates_containers_and_misreads_are_well_formed() {
        let mut r = rng(1, 0);
        for _ in 0..500 {
            let p = jordanian_plate(&mut r);
            let (code, num) = p.split_once('-').expect("NN-NNNNN");
            assert!(code == "60" || code == "71", "{p}");
            assert_eq!(num.len(), 5);
            assert!(Plate::parse(&p).is_ok());
            assert!(Plate::parse(&foreign_plate(&mut r)).is_ok());
            let c = container_number(&mut r);
            assert!(ContainerNumber::parse(c.as_str()).is_ok(), "{}", c.as_str());
            // Arabic-Indic digits normalise back to the plate.
            let norm = Plate::parse(&p).expect("plate");
            assert_eq!(
                Plate::parse(&arabic_indic(norm.as_str())).expect("read"),
                norm
            );
            // A confusable misread differs but has the same skeleton.
            let m = confuse(norm.as_str(), &mut r).expect("digits are confusable");
            let mp = Plate::parse(&m).expect("misread parses");
            assert_ne!(mp, norm);
            assert_eq!(mp.skeleton(), norm.skeleton());
        }
    }

    #[test]
    fn fleets_follow_a_power_law_and_add_up() {
        let mut r = rng(5, 0);
        let f = fleets(2500, 100, &mut r);
        assert_eq!(f.iter().map(|&x| x as usize).sum::<usize>(), 2500);
        assert!(f.iter().all(|&x| x >= 1));
        let max = *f.iter().max().expect("fleets");
        let owner_drivers = f.iter().filter(|&&x| x <= 10).count();
        assert!(max >= 200, "largest fleet {max}");
        assert!(owner_drivers >= 50, "{owner_drivers} small carriers");
    }
}
