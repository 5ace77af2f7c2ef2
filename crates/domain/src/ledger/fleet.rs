//! Companies' fleets (see [`crate::fleet`]), kept with the ledger so each change commits with
//! its audit record.

use chrono::{DateTime, Utc};

use super::{Ledger, Touched};
use crate::audit::{self, AuditKind, AuditRecord, Fields, Who};
use crate::epc::Epc;
use crate::fleet::FleetTruck;
use crate::ids::CompanyId;
use crate::plate::Plate;
use crate::{Error, Result};

impl Ledger {
    /// `company`'s trucks, by plate.
    pub fn fleet(&self, company: &CompanyId) -> impl Iterator<Item = &FleetTruck> {
        self.fleet.get(company).into_iter().flat_map(|f| f.values())
    }

    pub fn fleet_truck(&self, company: &CompanyId, plate: &Plate) -> Option<&FleetTruck> {
        self.fleet.get(company)?.get(plate)
    }

    /// Every company's trucks.
    pub fn fleets(&self) -> impl Iterator<Item = &FleetTruck> {
        self.fleet.values().flat_map(|f| f.values())
    }

    /// The trucks, of any company, whose RFID tag is `epc` (one, unless two fleets were
    /// given the same tag).
    pub fn trucks_by_tag<'a>(&'a self, epc: &'a Epc) -> impl Iterator<Item = &'a FleetTruck> {
        self.fleets().filter(move |t| t.epc.as_ref() == Some(epc))
    }

    /// Adds a truck to its company's fleet, or replaces the one with its plate. The first
    /// driver's number of a company starts the texting of its events (from the newest on).
    pub fn save_truck(
        &mut self,
        truck: FleetTruck,
        who: &Who,
        now: DateTime<Utc>,
    ) -> Result<Touched> {
        let key = (truck.company.clone(), truck.plate.clone());
        let before = self
            .fleet_truck(&key.0, &key.1)
            .map(fields)
            .unwrap_or_default();
        let record = record(
            &truck.company,
            &truck.plate,
            AuditKind::TruckSaved,
            who,
            now,
        );
        let record = AuditRecord {
            changes: audit::diff(&before, &fields(&truck)),
            ..record
        };
        let texted = truck.phone.is_some();
        let trucks = self.fleet.entry(key.0.clone()).or_default();
        trucks.insert(key.1.clone(), truck);
        let mut touched = Touched {
            fleet: [key.clone()].into(),
            audit: vec![record],
            ..Touched::default()
        };
        if texted {
            self.start_texting(&key.0, &mut touched);
        }
        Ok(touched)
    }

    /// Takes a truck out of its company's fleet (one it does not have is not found).
    pub fn remove_truck(
        &mut self,
        company: &CompanyId,
        plate: &Plate,
        who: &Who,
        now: DateTime<Utc>,
    ) -> Result<Touched> {
        let key = (company.clone(), plate.clone());
        let trucks = self.fleet.get_mut(company);
        let gone = trucks
            .and_then(|f| f.remove(plate))
            .ok_or_else(|| Error::NotFound {
                what: "truck",
                id: plate.to_string(),
            })?;
        if self.fleet.get(company).is_some_and(|f| f.is_empty()) {
            self.fleet.remove(company);
        }
        let record = AuditRecord {
            changes: audit::diff(&fields(&gone), &Fields::new()),
            ..record(company, plate, AuditKind::TruckRemoved, who, now)
        };
        Ok(Touched {
            fleet: [key].into(),
            audit: vec![record],
            ..Touched::default()
        })
    }
}

fn record(
    company: &CompanyId,
    plate: &Plate,
    kind: AuditKind,
    who: &Who,
    at: DateTime<Utc>,
) -> AuditRecord {
    AuditRecord {
        at,
        who: who.clone(),
        kind,
        zone: None,
        objects: vec![format!("company:{company}"), format!("truck:{plate}")],
        changes: Vec::new(),
    }
}

/// A truck's audited fields (the driver's number included: the trail is the authority's).
fn fields(t: &FleetTruck) -> Fields {
    vec![
        ("plate".into(), t.plate.to_string()),
        (
            "tag".into(),
            t.epc.as_ref().map(ToString::to_string).unwrap_or_default(),
        ),
        ("driver".into(), t.driver.clone()),
        (
            "driver_phone".into(),
            t.phone
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::fleet::Phone;

    fn at(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 8, h, 0, 0).unwrap()
    }

    fn truck(company: &str, plate: &str, driver: &str) -> FleetTruck {
        let phone = Some(Phone::parse("0791234567").unwrap());
        let (c, p) = (
            CompanyId::parse(company).unwrap(),
            Plate::parse(plate).unwrap(),
        );
        FleetTruck::new(c, p, None, driver, phone, at(1)).unwrap()
    }

    #[test]
    fn a_company_keeps_its_own_trucks() {
        let mut l = Ledger::new();
        let who = Who::named("acme-admin");
        let t = l
            .save_truck(truck("acme", "60-12345", "Ali"), &who, at(1))
            .unwrap();
        assert_eq!(t.audit[0].kind, AuditKind::TruckSaved);
        l.save_truck(truck("acme", "60-22222", "Omar"), &who, at(1))
            .unwrap();
        l.save_truck(truck("beta", "60-12345", "Sami"), &who, at(1))
            .unwrap();
        let t = l
            .save_truck(truck("acme", "60-12345", "Ahmad"), &who, at(2))
            .unwrap();
        let change = &t.audit[0].changes[0];
        assert_eq!(
            (change.before.as_str(), change.after.as_str()),
            ("Ali", "Ahmad")
        );
        let acme = CompanyId::parse("acme").unwrap();
        let drivers: Vec<&str> = l.fleet(&acme).map(|t| t.driver.as_str()).collect();
        assert_eq!(drivers, ["Ahmad", "Omar"]);
        let plate = Plate::parse("60-12345").unwrap();
        let t = l.remove_truck(&acme, &plate, &who, at(3)).unwrap();
        assert_eq!(t.audit[0].kind, AuditKind::TruckRemoved);
        assert_eq!(l.fleet(&acme).count(), 1);
        let beta = CompanyId::parse("beta").unwrap();
        assert_eq!(
            l.fleet_truck(&beta, &plate).unwrap().driver,
            "Sami",
            "another company's"
        );
        let again = l.remove_truck(&acme, &plate, &who, at(4)).unwrap_err();
        assert!(matches!(again, Error::NotFound { .. }));
    }
}
