//! `CompanyService`: a company's webhook over the application layer.

use bawaba_app::{WebhookView, scope};
use bawaba_domain::ids::CompanyId;
use bawaba_domain::notify::{Delivery, Outcome};
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
    fn company_caller<T>(
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

#[tonic::async_trait]
impl<S: Store> pb::company_service_server::CompanyService for Api<S> {
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
}
