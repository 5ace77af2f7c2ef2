//! Who may see what: the checks every use case makes before it reads or changes anything.
//! An object outside the caller's scope is answered exactly like one that does not exist
//! (NOT_FOUND, same message), so a token learns nothing of what it may not see.

use bawaba_domain::access::{Principal, Role};
use bawaba_domain::ids::{CompanyId, ZoneId};
use bawaba_domain::ledger::{Actor, Booking, Gate};

use crate::{Error, Result};

/// Every role that works with bookings and gates (not the alerts feed, which may only post
/// alerts).
pub const ANY: &[Role] = &[Role::Company, Role::Gate, Role::Operator, Role::Authority];
/// Who may read the zones' configuration: everyone but the alerts feed (the security
/// services choose the zones they watch trucks in).
pub const ZONE_READERS: &[Role] = &[
    Role::Company,
    Role::Gate,
    Role::Operator,
    Role::Authority,
    Role::Security,
];
pub const AUTHORITY: &[Role] = &[Role::Authority];
pub const BOOKERS: &[Role] = &[Role::Company, Role::Authority];
pub const GATES: &[Role] = &[Role::Gate, Role::Authority];
pub const OPERATORS: &[Role] = &[Role::Operator, Role::Authority];
/// Who may keep the watchlist.
pub const SECURITY: &[Role] = &[Role::Security, Role::Authority];
/// Who may post alerts of the zone's other systems.
pub const ALERTS: &[Role] = &[Role::Alerts, Role::Authority];

/// Refuses (PERMISSION_DENIED) unless the caller has one of `roles`.
pub fn role(p: &Principal, roles: &[Role]) -> Result<()> {
    Ok(p.require(roles)?)
}

/// Whether `zone` is in the caller's scope (a zone-limited token sees only its zone).
pub fn sees_zone(p: &Principal, zone: &ZoneId) -> bool {
    p.zone.as_ref().is_none_or(|z| z == zone)
}

/// `zone`, if in scope; else NOT_FOUND as for a zone that does not exist.
pub fn zone(p: &Principal, zone: &ZoneId) -> Result<()> {
    if sees_zone(p, zone) {
        Ok(())
    } else {
        Err(Error::not_found("zone", zone))
    }
}

/// The zone a listing covers: the one asked for (if in scope), else the token's own zone,
/// else every zone.
pub fn listed_zone(p: &Principal, asked: Option<ZoneId>) -> Result<Option<ZoneId>> {
    match asked {
        Some(z) => zone(p, &z).map(|()| Some(z)),
        None => Ok(p.zone.clone()),
    }
}

/// Whether a gate is in scope: its zone is (companies see every gate, as their drivers
/// do; what a gate may do is a matter of role).
pub fn sees_gate(p: &Principal, gate: &Gate) -> bool {
    sees_zone(p, &gate.zone)
}

/// Whether a booking is in scope: a company's own, or one with a stop in the caller's zone.
pub fn sees_booking(p: &Principal, b: &Booking) -> bool {
    match &p.company {
        Some(c) => b.company == *c,
        None => p.zone.as_ref().is_none_or(|z| b.zones().contains(z)),
    }
}

/// The company a caller acts for: a company token its own (naming another is answered as
/// for a company that does not exist), the authority the one it names.
pub fn company(p: &Principal, asked: Option<CompanyId>, field: &str) -> Result<CompanyId> {
    match (&p.company, asked) {
        (Some(own), None) => Ok(own.clone()),
        (Some(own), Some(c)) if c == *own => Ok(c),
        (Some(_), Some(c)) => Err(Error::not_found("company", c)),
        (None, Some(c)) => Ok(c),
        (None, None) => Err(Error::invalid(field, "is required when the authority acts")),
    }
}

/// The company filter of a listing: a company token lists only its own.
pub fn listed_company(p: &Principal, asked: Option<CompanyId>) -> Result<Option<CompanyId>> {
    match (&p.company, asked) {
        (Some(_), asked) => company(p, asked, "company_id").map(Some),
        (None, asked) => Ok(asked),
    }
}

/// Whose bookings a change may touch.
pub fn booking_actor(p: &Principal) -> Result<Actor> {
    Ok(p.booking_actor()?)
}
