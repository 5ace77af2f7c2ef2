//! `CompanyService`: a company's webhook and fleet over the application layer.

use bawaba_app::{TruckDetails, WebhookView, scope};
use bawaba_domain::epc::Epc;
use bawaba_domain::fleet::{FleetTruck, Phone, driver_name};
use bawaba_domain::ids::CompanyId;
use bawaba_domain::notify::{Delivery, Outcome};
use bawaba_domain::plate::Plate;
use bawaba_store::Store;
use tonic::{Request, Response, Status};

use crate::convert::{self as cv, timestamp};
use crate::error::status;
use crate::pb;
use crate::service::{Api, optional};

type Reply<T> = Result<Response<T>, Status>;

fn pb_webhook(w: &WebhookView) -> pb::Webhook {
    let failing = w.progress.failing.as_ref();
    pb::Webhook {
        company_id: w.company.to_string(),
        url: w.url.clone(),
        set_at: Some(timestamp(w.set_at)),
        delivered_through: w.progress.cursor,
        head: w.head,
        failing_event: failing.map_or(0, |f| f.seq),
        failing_attempts: failing.map_or(0, |f| f.attempts),
        next_attempt: failing.map(|f| timestamp(f.next_at)),
    }
}

fn pb_delivery(d: &Delivery) -> pb::WebhookDelivery {
    let (outcome, status, error) = match &d.outcome {
        Outcome::Delivered { status } => (pb::DeliveryOutcome::Delivered, Some(*status), ""),
        Outcome::Failed { status, error } => (pb::DeliveryOutcome::Failed, *status, error.as_str()),
        Outcome::GaveUp { status, error } => (pb::DeliveryOutcome::GaveUp, *status, error.as_str()),
    };
    pb::WebhookDelivery {
        event_id: format!("{}:{}", d.company, d.seq),
        event_seq: d.seq,
        attempt: d.attempt,
        at: Some(timestamp(d.at)),
        outcome: outcome as i32,
        status: status.map_or(0, u32::from),
        error: error.to_owned(),
    }
}

impl<S: Store> Api<S> {
    /// The caller and the company a request names (checked by role first: a caller who may
    /// not use the service learns nothing of its input).
    pub(crate) fn company_caller<T>(
        &self,
        req: &Request<T>,
        company_id: &str,
    ) -> Result<(bawaba_domain::access::Principal, Option<CompanyId>), Status> {
        let p = self.who(req)?;
        scope::role(&p, scope::BOOKERS).map_err(status)?;
        let company = optional(company_id, |s| cv::company_id(s, "company_id"))?;
        Ok((p, company))
    }
}

fn pb_truck(t: &FleetTruck) -> pb::FleetTruck {
    pb::FleetTruck {
        company_id: t.company.to_string(),
        truck_plate: t.plate.to_string(),
        rfid_epc: t.epc.as_ref().map(ToString::to_string).unwrap_or_default(),
        driver_name: t.driver.clone(),
        driver_phone: t
            .phone
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        updated_at: Some(timestamp(t.updated_at)),
    }
}

/// A truck from the wire, its fields named under `truck.`.
fn truck_details(t: Option<&pb::FleetTruck>) -> bawaba_domain::Result<TruckDetails> {
    let t = t.ok_or_else(|| bawaba_domain::Error::invalid("truck", "missing"))?;
    let epc = (!t.rfid_epc.is_empty())
        .then(|| Epc::parse_hex(&t.rfid_epc).map_err(|e| e.in_field("truck.rfid_epc")))
        .transpose()?;
    let phone = (!t.driver_phone.trim().is_empty())
        .then(|| Phone::parse(&t.driver_phone).map_err(|e| e.in_field("truck.driver_phone")))
        .transpose()?;
    Ok(TruckDetails {
        plate: Plate::parse(&t.truck_plate).map_err(|e| e.in_field("truck.truck_plate"))?,
        epc,
        driver: driver_name(&t.driver_name).map_err(|e| e.in_field("truck.driver_name"))?,
        phone,
    })
}

#[tonic::async_trait]
impl<S: Store> pb::company_service_server::CompanyService for Api<S> {
    async fn save_truck(&self, req: Request<pb::SaveTruckRequest>) -> Reply<pb::FleetTruck> {
        let (p, company) = self.company_caller(&req, &req.get_ref().company_id)?;
        let details = truck_details(req.get_ref().truck.as_ref()).map_err(status)?;
        let saved = self.app.save_truck(&p, company, details).await;
        Ok(Response::new(pb_truck(&saved.map_err(status)?)))
    }

    async fn remove_truck(
        &self,
        req: Request<pb::RemoveTruckRequest>,
    ) -> Reply<pb::RemoveTruckResponse> {
        let (p, company) = self.company_caller(&req, &req.get_ref().company_id)?;
        let plate = Plate::parse(&req.get_ref().truck_plate)
            .map_err(|e| status(e.in_field("truck_plate")))?;
        self.app
            .remove_truck(&p, company, plate)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::RemoveTruckResponse {}))
    }

    async fn list_trucks(
        &self,
        req: Request<pb::ListTrucksRequest>,
    ) -> Reply<pb::ListTrucksResponse> {
        let (p, company) = self.company_caller(&req, &req.get_ref().company_id)?;
        let fleet = self.app.fleet(&p, company).await.map_err(status)?;
        Ok(Response::new(pb::ListTrucksResponse {
            trucks: fleet.iter().map(pb_truck).collect(),
        }))
    }

    async fn set_webhook(
        &self,
        req: Request<pb::SetWebhookRequest>,
    ) -> Reply<pb::SetWebhookResponse> {
        let (p, company) = self.company_caller(&req, &req.get_ref().company_id)?;
        let r = req.into_inner();
        let app = &self.app;
        let hook = app
            .set_webhook(&p, company, &r.url, &r.secret)
            .await
            .map_err(status)?;
        let view = app
            .webhook(&p, Some(hook.company.clone()))
            .await
            .map_err(status)?;
        Ok(Response::new(pb::SetWebhookResponse {
            webhook: Some(pb_webhook(&view)),
            secret: hook.secret,
        }))
    }

    async fn get_webhook(&self, req: Request<pb::GetWebhookRequest>) -> Reply<pb::Webhook> {
        let (p, company) = self.company_caller(&req, &req.get_ref().company_id)?;
        let view = self.app.webhook(&p, company).await.map_err(status)?;
        Ok(Response::new(pb_webhook(&view)))
    }

    async fn remove_webhook(
        &self,
        req: Request<pb::GetWebhookRequest>,
    ) -> Reply<pb::RemoveWebhookResponse> {
        let (p, company) = self.company_caller(&req, &req.get_ref().company_id)?;
        self.app.remove_webhook(&p, company).await.map_err(status)?;
        Ok(Response::new(pb::RemoveWebhookResponse {}))
    }

    async fn list_webhook_deliveries(
        &self,
        req: Request<pb::ListWebhookDeliveriesRequest>,
    ) -> Reply<pb::ListWebhookDeliveriesResponse> {
        let (p, company) = self.company_caller(&req, &req.get_ref().company_id)?;
        let r = req.into_inner();
        let before = (r.before_event > 0).then_some((r.before_event, r.before_attempt));
        let deliveries = self
            .app
            .webhook_deliveries(&p, company, before, r.page_size as usize)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::ListWebhookDeliveriesResponse {
            deliveries: deliveries.iter().map(pb_delivery).collect(),
        }))
    }

    async fn list_texts(&self, req: Request<pb::ListTextsRequest>) -> Reply<pb::ListTextsResponse> {
        let (p, company) = self.company_caller(&req, &req.get_ref().company_id)?;
        let r = req.into_inner();
        let before = (r.before_event > 0).then_some((r.before_event, r.before_attempt));
        let texts = self
            .app
            .texts(&p, company, before, r.page_size as usize)
            .await
            .map_err(status)?;
        let texts = texts.iter().map(|t| pb::Text {
            to: t.to.to_string(),
            delivery: Some(pb_delivery(&t.delivery)),
        });
        Ok(Response::new(pb::ListTextsResponse {
            texts: texts.collect(),
        }))
    }

    async fn create_account(
        &self,
        req: Request<pb::CreateAccountRequest>,
    ) -> Reply<pb::CreateAccountResponse> {
        self.account_create(req).await
    }

    async fn list_accounts(
        &self,
        req: Request<pb::ListAccountsRequest>,
    ) -> Reply<pb::ListAccountsResponse> {
        self.account_list(req).await
    }

    async fn update_account(
        &self,
        req: Request<pb::UpdateAccountRequest>,
    ) -> Reply<pb::UpdateAccountResponse> {
        self.account_update(req).await
    }
}
