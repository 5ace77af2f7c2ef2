//! Who may do what. Pure: the token file lives in the store, the check in the gRPC layer.

use serde::{Deserialize, Serialize};

use crate::audit::{Door, Who};
use crate::ids::{CompanyId, ZoneId};
use crate::ledger::Actor;
use crate::{Error, Result};

/// The role a token grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Role {
    /// A logistics company: books, moves and cancels its own bookings.
    Company,
    /// A gate agent: follows its zone's bookings and reports passages.
    Gate,
    /// A gate operator: resolves referred passages.
    Operator,
    /// The port authority: everything, including administration.
    Authority,
    /// The zone's early warning system: posts CAP alerts, and may do nothing else.
    Alerts,
    /// The security services: keep the watchlist of plates and tags.
    Security,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Company,
        Role::Gate,
        Role::Operator,
        Role::Authority,
        Role::Alerts,
        Role::Security,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Company => "company",
            Role::Gate => "gate",
            Role::Operator => "operator",
            Role::Authority => "authority",
            Role::Alerts => "alerts",
            Role::Security => "security",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                Error::invalid(
                    "role",
                    format!(
                        "unknown role {s:?}; expected company, gate, operator, authority, alerts or security"
                    ),
                )
            })
    }
}

/// What the token id of a portal session starts with (then its account's login name).
pub const ACCOUNT_PREFIX: &str = "account:";

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    pub role: Role,
    /// The company a company token acts for.
    pub company: Option<CompanyId>,
    /// The zone a gate or operator token is limited to (none: every zone).
    pub zone: Option<ZoneId>,
    /// Who this is in records (an operator's name, or the token's short id).
    pub label: String,
    /// The id of the token it authenticated with (none: the system itself).
    #[serde(default)]
    pub token: Option<String>,
    /// The front door the request came through.
    #[serde(default)]
    pub door: Door,
    /// A company admin's portal session: may create and disable the company's accounts.
    #[serde(default)]
    pub admin: bool,
}

impl Principal {
    /// A principal, checked: a company token names its company and only it does.
    pub fn new(role: Role, company: Option<CompanyId>, zone: Option<ZoneId>) -> Result<Self> {
        match (role, &company) {
            (Role::Company, None) => {
                return Err(Error::invalid(
                    "company",
                    "a company token must name its company",
                ));
            }
            (Role::Company, Some(_)) | (_, None) => {}
            (_, Some(_)) => {
                return Err(Error::invalid(
                    "company",
                    format!("a {} token has no company", role.as_str()),
                ));
            }
        }
        if zone.is_some() && matches!(role, Role::Company | Role::Authority) {
            return Err(Error::invalid(
                "zone",
                format!("a {} token is not limited to a zone", role.as_str()),
            ));
        }
        let label = role.as_str().to_owned();
        Ok(Principal {
            role,
            company,
            zone,
            label,
            token: None,
            door: Door::System,
            admin: false,
        })
    }

    /// Names the holder for records (who resolved a referral).
    #[must_use]
    pub fn labelled(self, label: impl Into<String>) -> Self {
        Principal {
            label: label.into(),
            ..self
        }
    }

    /// Names the token it authenticated with.
    #[must_use]
    pub fn with_token(self, id: impl Into<String>) -> Self {
        Principal {
            token: Some(id.into()),
            ..self
        }
    }

    /// The portal account's login name when this is a person's session (its token id is
    /// `account:<login>`), none for an API token.
    pub fn account(&self) -> Option<&str> {
        self.token.as_deref()?.strip_prefix(ACCOUNT_PREFIX)
    }

    /// The door its request came through.
    #[must_use]
    pub fn via(self, door: Door) -> Self {
        Principal { door, ..self }
    }

    /// Refuses a zone-limited token acting on another zone.
    pub fn require_zone(&self, zone: &ZoneId) -> Result<()> {
        match &self.zone {
            Some(z) if z != zone => Err(Error::Forbidden(format!(
                "this token is limited to zone {z}, not {zone}"
            ))),
            _ => Ok(()),
        }
    }

    /// Refuses unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<()> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            let names: Vec<_> = roles.iter().map(|r| r.as_str()).collect();
            Err(Error::Forbidden(format!(
                "a {} token may not do this (needs {})",
                self.role.as_str(),
                names.join(" or ")
            )))
        }
    }

    /// The actor for booking changes: a company acts on its own, the authority on any.
    pub fn booking_actor(&self) -> Result<Actor> {
        match (self.role, &self.company) {
            (Role::Company, Some(c)) => Ok(Actor::Company(c.clone())),
            (Role::Authority, _) => Ok(Actor::Official(Box::new(Who::from(self)))),
            _ => Err(Error::Forbidden(format!(
                "a {} token may not change bookings",
                self.role.as_str()
            ))),
        }
    }

    /// The actor for reading bookings: operators and gates read like the authority.
    pub fn reader(&self) -> Actor {
        match (&self.role, &self.company) {
            (Role::Company, Some(c)) => Actor::Company(c.clone()),
            _ => Actor::Authority,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn company() -> Principal {
        Principal::new(Role::Company, Some(CompanyId::parse("acme").unwrap()), None).unwrap()
    }

    #[test]
    fn principals_are_consistent() {
        assert!(Principal::new(Role::Company, None, None).is_err());
        assert!(
            Principal::new(Role::Authority, Some(CompanyId::parse("x").unwrap()), None).is_err()
        );
        assert!(Principal::new(Role::Gate, None, Some(ZoneId::parse("act").unwrap())).is_ok());
        assert!(
            Principal::new(Role::Authority, None, Some(ZoneId::parse("act").unwrap())).is_err()
        );
    }

    #[test]
    fn roles_gate_actions() {
        let c = company();
        assert!(c.require(&[Role::Authority]).is_err());
        assert!(matches!(c.booking_actor().unwrap(), Actor::Company(_)));
        let op = Principal::new(Role::Operator, None, None).unwrap();
        assert!(op.booking_actor().is_err());
        assert_eq!(op.reader(), Actor::Authority);
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().unwrap(), r);
        }
    }
}
