//! A company's fleet (see `bawaba_domain::fleet`): its trucks and their drivers, kept by the
//! company itself (or the authority naming it).

use bawaba_domain::access::Principal;
use bawaba_domain::audit::Who;
use bawaba_domain::epc::Epc;
use bawaba_domain::fleet::{FleetTruck, Phone};
use bawaba_domain::ids::CompanyId;
use bawaba_domain::plate::Plate;
use bawaba_store::Store;

use crate::{App, Result, scope};

/// What a truck of the fleet is saved with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TruckDetails {
    pub plate: Plate,
    pub epc: Option<Epc>,
    pub driver: String,
    pub phone: Option<Phone>,
}

impl<S: Store> App<S> {
    /// Adds a truck to the fleet of `company` (a company its own; the authority names one),
    /// or replaces the one with its plate.
    pub async fn save_truck(
        &self,
        p: &Principal,
        company: Option<CompanyId>,
        t: TruckDetails,
    ) -> Result<FleetTruck> {
        scope::role(p, scope::BOOKERS)?;
        let company = scope::company(p, company, "company_id")?;
        let now = self.clock.now();
        let truck = FleetTruck::new(company, t.plate, t.epc, &t.driver, t.phone, now)?;
        self.store
            .save_truck(truck.clone(), Who::from(p), now)
            .await?;
        Ok(truck)
    }

    /// Takes a truck out of `company`'s fleet.
    pub async fn remove_truck(
        &self,
        p: &Principal,
        company: Option<CompanyId>,
        plate: Plate,
    ) -> Result<()> {
        scope::role(p, scope::BOOKERS)?;
        let company = scope::company(p, company, "company_id")?;
        let who = Who::from(p);
        Ok(self
            .store
            .remove_truck(company, plate, who, self.clock.now())
            .await?)
    }

    /// `company`'s trucks, by plate.
    pub async fn fleet(
        &self,
        p: &Principal,
        company: Option<CompanyId>,
    ) -> Result<Vec<FleetTruck>> {
        scope::role(p, scope::BOOKERS)?;
        let company = scope::company(p, company, "company_id")?;
        Ok(self.store.fleet(company).await?)
    }

    /// The trucks, of any company, whose RFID tag is `epc`: what the staff who resolve a
    /// gate's referral see of the tag it read (an operator, the authority); a company, a
    /// gate or a system is refused, so no company learns another's trucks.
    pub async fn trucks_by_tag(&self, p: &Principal, epc: &Epc) -> Result<Vec<FleetTruck>> {
        scope::role(p, scope::OPERATORS)?;
        Ok(self.store.trucks_by_tag(epc.clone()).await?)
    }
}

#[cfg(test)]
mod tests {
    use bawaba_domain::access::Role;

    use super::*;
    use crate::Kind;
    use crate::tests::{bed, principal};

    fn details(plate: &str) -> TruckDetails {
        TruckDetails {
            plate: Plate::parse(plate).unwrap(),
            epc: None,
            driver: "Ali".into(),
            phone: Some(Phone::parse("0791234567").unwrap()),
        }
    }

    #[tokio::test]
    async fn a_company_keeps_its_own_fleet_only() {
        let b = bed().await;
        let acme = principal(Role::Company, Some("acme"), None);
        let zeta = principal(Role::Company, Some("zeta"), None);
        b.app
            .save_truck(&acme, None, details("60-12345"))
            .await
            .unwrap();
        let acme_id = CompanyId::parse("acme").unwrap();
        let theirs = b.app.fleet(&zeta, Some(acme_id.clone())).await.unwrap_err();
        assert_eq!(theirs.kind(), Kind::NotFound);
        let plate = Plate::parse("60-12345").unwrap();
        let remove = b.app.remove_truck(&zeta, Some(acme_id), plate.clone());
        assert_eq!(remove.await.unwrap_err().kind(), Kind::NotFound);
        assert!(b.app.fleet(&zeta, None).await.unwrap().is_empty());
        let gate = principal(Role::Gate, None, Some("act"));
        let refused = b.app.fleet(&gate, None).await.unwrap_err();
        assert_eq!(refused.kind(), Kind::Forbidden);
        let mine = b.app.fleet(&acme, None).await.unwrap();
        assert_eq!(mine[0].phone.as_ref().unwrap().as_str(), "+962791234567");
        b.app.remove_truck(&acme, None, plate).await.unwrap();
        assert!(b.app.fleet(&acme, None).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn the_staff_find_whose_tag_it_is_and_a_company_does_not() {
        let b = bed().await;
        let acme = principal(Role::Company, Some("acme"), None);
        let epc = Epc::parse_hex("E2801160600002084A1C77B1").unwrap();
        let tagged = TruckDetails {
            epc: Some(epc.clone()),
            ..details("60-12345")
        };
        b.app.save_truck(&acme, None, tagged).await.unwrap();
        let operator = principal(Role::Operator, None, Some("act"));
        let found = b.app.trucks_by_tag(&operator, &epc).await.unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].company.as_str(), "acme");
        let zeta = principal(Role::Company, Some("zeta"), None);
        let refused = b.app.trucks_by_tag(&zeta, &epc).await.unwrap_err();
        assert_eq!(refused.kind(), Kind::Forbidden);
        let gate = principal(Role::Gate, None, Some("act"));
        assert!(b.app.trucks_by_tag(&gate, &epc).await.is_err());
    }
}
