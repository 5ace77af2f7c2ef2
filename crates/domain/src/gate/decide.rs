//! The gate decision: ALLOW, DENY or REFER for the evidence of one truck at one lane.
//!
//! First the truck is identified from its plate and tag ([`identify`]): an exact plate match,
//! else the tag, else a look-alike plate; disagreements and weak reads are referred to an
//! operator. Then the booking found is judged against the lane ([`judge`]).

use chrono::{DateTime, TimeDelta, Utc};

use super::replica::Replica;
use super::{LaneConfig, OfflinePolicy};
use crate::calendar::WhenClosed;
use crate::epc::Epc;
use crate::ids::{BookingId, ZoneId};
use crate::ledger::{Booking, BookingState, Direction, Stop};
use crate::passage::{Reason, Verdict};
use crate::plate::Plate;
use crate::watch::{self, WatchAction};

/// What the camera made of a truck's plate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum PlateRead {
    /// The camera reported nothing.
    #[default]
    NotRead,
    /// The camera saw a truck but could not read its plate.
    Failed,
    /// The plate as read, with the camera's confidence (0-100) when it gives one.
    Read {
        plate: Plate,
        confidence: Option<u8>,
    },
}

/// Everything read of one truck at one lane.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Evidence {
    pub plate: PlateRead,
    pub epc: Option<Epc>,
}

/// What the gate does with a truck, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub verdict: Verdict,
    /// At least one, no duplicates.
    pub reasons: Vec<Reason>,
    /// The booking the decision is about, when one matched.
    pub booking: Option<BookingId>,
    /// The index of that booking's stop in the lane's zone, when it has one.
    pub stop: Option<usize>,
}

impl Decision {
    fn new(verdict: Verdict, reasons: Vec<Reason>, about: Option<Match<'_>>) -> Self {
        Decision {
            verdict,
            reasons,
            booking: about.map(|m| m.booking.id),
            stop: about.and_then(|m| m.stop).map(|(i, _)| i),
        }
    }
}

/// A booking, with its stop in the lane's zone when it has one.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Match<'r> {
    pub booking: &'r Booking,
    pub stop: Option<(usize, &'r Stop)>,
}

/// The best of `bookings` (and of their stops in `zone`) for a truck seen at `now` on a lane
/// going `direction`: a stop in the zone first; then one the truck can still use (IN: an
/// active booking whose stop it has not left; OUT: a stop it is inside); then one whose entry
/// period contains `now`; then the nearest in time. Ties go to the oldest booking, then the
/// first stop, so the choice is deterministic.
pub(crate) fn pick<'r>(
    replica: &Replica,
    zone: &ZoneId,
    direction: Direction,
    now: DateTime<Utc>,
    bookings: impl IntoIterator<Item = &'r Booking>,
) -> Option<Match<'r>> {
    let rank = |m: &Match<'r>| {
        let Some((i, stop)) = m.stop else {
            return (true, true, true, TimeDelta::MAX, m.booking.id, 0);
        };
        let progress = replica.progress(m.booking, i);
        let usable = match direction {
            Direction::In => m.booking.state.is_active() && progress.exited_at.is_none(),
            Direction::Out => progress.inside(),
        };
        let (from, to) = replica.entry_period(stop);
        let distance = if now < from {
            from - now
        } else {
            (now - to).max(TimeDelta::zero())
        };
        let inside_period = from <= now && now < to;
        (false, !usable, !inside_period, distance, m.booking.id, i)
    };
    bookings
        .into_iter()
        .flat_map(|booking| {
            let here = booking
                .stops
                .iter()
                .enumerate()
                .filter(|(_, s)| s.zone == *zone)
                .map(move |stop| Match {
                    booking,
                    stop: Some(stop),
                });
            let elsewhere = (!booking.stops.iter().any(|s| s.zone == *zone)).then_some(Match {
                booking,
                stop: None,
            });
            here.chain(elsewhere)
        })
        .min_by_key(rank)
}

/// Who the truck is, as far as the evidence tells.
enum Identity<'r> {
    /// Its booking (with its stop in the lane's zone, if any).
    Known(Match<'r>),
    /// Something is off: an operator must look (at the candidate, when there is one).
    Doubt(Vec<Reason>, Option<Match<'r>>),
    /// No booking matches the plate or the tag.
    Unknown,
}

/// Identifies the truck from its plate and tag:
/// - no plate read: the tag's booking, else [`Reason::UnreadPlate`];
/// - an exact plate match: confirmed or contradicted by the tag (a tag matching nothing, on a
///   truck that registered none, says nothing); contradicted → [`Reason::PlateTagMismatch`];
/// - else the tag's booking, if its plate looks like the read one (else a mismatch);
/// - else a look-alike plate → [`Reason::ConfusablePlate`];
///
/// and a read below the lane's confidence that no tag confirms adds
/// [`Reason::LowConfidence`].
fn identify<'r>(
    replica: &'r Replica,
    lane: &LaneConfig,
    evidence: &Evidence,
    now: DateTime<Utc>,
) -> Identity<'r> {
    let best =
        |bookings: Vec<&'r Booking>| pick(replica, &lane.zone, lane.direction, now, bookings);
    let tagged: Vec<&Booking> = evidence
        .epc
        .iter()
        .flat_map(|e| replica.by_epc(e))
        .collect();
    let PlateRead::Read { plate, confidence } = &evidence.plate else {
        return best(tagged).map_or(
            Identity::Doubt(vec![Reason::UnreadPlate], None),
            Identity::Known,
        );
    };
    let (doubt, candidate) = if let Some(m) = best(replica.by_plate(plate).collect()) {
        // Some(true): the tag confirms the plate; Some(false): it belongs to another truck.
        let tag_says = match (&evidence.epc, &m.booking.epc) {
            (None, _) => None,
            (Some(read), Some(registered)) => Some(read == registered),
            (Some(_), None) => {
                (!tagged.is_empty()).then(|| tagged.iter().all(|t| t.plate == *plate))
            }
        };
        match tag_says {
            Some(true) => return Identity::Known(m),
            Some(false) => (Some(Reason::PlateTagMismatch), Some(m)),
            None => (None, Some(m)),
        }
    } else if let Some(t) = best(tagged) {
        if t.booking.plate.skeleton() == plate.skeleton() {
            return Identity::Known(t);
        }
        (Some(Reason::PlateTagMismatch), Some(t))
    } else {
        let look_alike = best(replica.by_skeleton(&plate.skeleton()).collect());
        (look_alike.map(|_| Reason::ConfusablePlate), look_alike)
    };
    let low = confidence.is_some_and(|c| c < lane.min_confidence);
    let reasons: Vec<Reason> = doubt
        .into_iter()
        .chain(low.then_some(Reason::LowConfidence))
        .collect();
    match candidate {
        _ if !reasons.is_empty() => Identity::Doubt(reasons, candidate),
        Some(m) => Identity::Known(m),
        None => Identity::Unknown,
    }
}

/// What to do with a truck the lane will not simply let through: on an IN lane keep it out;
/// on an OUT lane ask an operator (a truck is never shut in without one).
fn refusal(direction: Direction) -> Verdict {
    match direction {
        Direction::In => Verdict::Deny,
        Direction::Out => Verdict::Refer,
    }
}

/// Judges an identified truck's booking against the lane.
fn judge(replica: &Replica, lane: &LaneConfig, m: Match<'_>, now: DateTime<Utc>) -> Decision {
    let Some((i, stop)) = m.stop else {
        return Decision::new(refusal(lane.direction), vec![Reason::WrongZone], Some(m));
    };
    let progress = replica.progress(m.booking, i);
    let (verdict, reason) = match (lane.direction, replica.state(m.booking)) {
        (Direction::Out, _) if progress.inside() => (Verdict::Allow, Reason::ExitRecorded),
        (Direction::Out, _) => (Verdict::Refer, Reason::NotInside),
        (Direction::In, BookingState::Cancelled) => (Verdict::Deny, Reason::Cancelled),
        (Direction::In, BookingState::NoShow) => (Verdict::Deny, Reason::NoShow),
        (Direction::In, BookingState::Exited) => (Verdict::Refer, Reason::AlreadyInside),
        (Direction::In, _) if progress.entered_at.is_some() => {
            (Verdict::Refer, Reason::AlreadyInside)
        }
        (Direction::In, BookingState::Booked | BookingState::Entered) => {
            let (from, to) = replica.entry_period(stop);
            if now < from {
                (Verdict::Deny, Reason::TooEarly)
            } else if now >= to {
                (Verdict::Deny, Reason::TooLate)
            } else {
                (Verdict::Allow, Reason::BookingValid)
            }
        }
    };
    Decision::new(verdict, vec![reason], Some(m))
}

/// Decides what the lane does with a truck, from the replica alone. Pure and total: always at
/// least one reason, never a duplicate.
///
/// A truck on the zone's watchlist is held (see [`watched`]). At an IN lane whose zone the
/// replica knows closed at `now`, the decision is the zone's [`WhenClosed`] — DENY, or REFER to
/// an operator — with [`Reason::ZoneClosed`] (and [`Reason::Watchlist`] for a watched truck,
/// whose DENY stays) alone, whatever the evidence. While `offline`, every REFER also carries
/// [`Reason::OfflineDoubtful`], and becomes a DENY under [`OfflinePolicy::Deny`].
pub fn decide(
    replica: &Replica,
    lane: &LaneConfig,
    evidence: &Evidence,
    now: DateTime<Utc>,
    offline: bool,
) -> Decision {
    let mut decision = match identify(replica, lane, evidence, now) {
        Identity::Known(m) => judge(replica, lane, m, now),
        Identity::Doubt(reasons, candidate) => Decision::new(Verdict::Refer, reasons, candidate),
        Identity::Unknown => Decision::new(refusal(lane.direction), vec![Reason::NoBooking], None),
    };
    watched(replica, lane, evidence, now, &mut decision);
    closed(replica, lane, now, &mut decision);
    if offline && decision.verdict == Verdict::Refer {
        decision.reasons.push(Reason::OfflineDoubtful);
        if lane.offline_policy == OfflinePolicy::Deny {
            decision.verdict = Verdict::Deny;
        }
    }
    decision
}

/// A closed zone lets nobody in on the booking's word: at an IN lane, the zone's choice
/// (DENY, or REFER for an operator to decide; a watched truck's DENY stays), for the closure
/// alone. The replica keeps the last closures it knew, so this holds offline too.
fn closed(replica: &Replica, lane: &LaneConfig, now: DateTime<Utc>, decision: &mut Decision) {
    let Some(z) = replica.zone(&lane.zone) else {
        return;
    };
    if lane.direction != Direction::In || z.closed_at(now).is_none() {
        return;
    }
    let watch = decision.reasons.contains(&Reason::Watchlist);
    let watch_denies = watch && decision.verdict == Verdict::Deny;
    decision.verdict = match z.when_closed {
        WhenClosed::Refer if !watch_denies => Verdict::Refer,
        _ => Verdict::Deny,
    };
    decision.reasons = vec![Reason::ZoneClosed];
    decision.reasons.extend(watch.then_some(Reason::Watchlist));
}

/// A truck on the zone's watchlist — by the plate or tag read, or by those of the booking it
/// matched — is held whatever its booking says: REFER, or DENY at an IN lane where the entry
/// says so (an OUT lane refers: nobody is shut in without an operator). A decision already
/// stricter stays; [`Reason::Watchlist`] comes first, so the operator and the feed see it.
fn watched(
    replica: &Replica,
    lane: &LaneConfig,
    evidence: &Evidence,
    now: DateTime<Utc>,
    decision: &mut Decision,
) {
    let Some(list) = replica.zone(&lane.zone).map(|z| &z.watch[..]) else {
        return;
    };
    let read = match &evidence.plate {
        PlateRead::Read { plate, .. } => Some(plate),
        _ => None,
    };
    let booked = decision.booking.and_then(|id| replica.booking(id));
    let hit = watch::hits(list, read, evidence.epc.as_ref(), now)
        .or_else(|| booked.and_then(|b| watch::hits(list, Some(&b.plate), b.epc.as_ref(), now)));
    let Some(entry) = hit else {
        return;
    };
    let held = match (lane.direction, entry.action) {
        (Direction::In, WatchAction::Deny) => Verdict::Deny,
        _ => Verdict::Refer,
    };
    let strictness = |v: Verdict| match v {
        Verdict::Allow => 0,
        Verdict::Refer => 1,
        Verdict::Deny => 2,
    };
    if strictness(held) > strictness(decision.verdict) {
        decision.verdict = held;
    }
    decision.reasons.insert(0, Reason::Watchlist);
}
