//! Notifications to companies and drivers. [`Kannel`] texts drivers through Kannel's
//! sendsms interface ([`message`]: the Arabic texts). [`HttpPoster`] is the HTTP side of webhooks: each event of a
//! company's log as one JSON POST ([`payload`], documented in README "Webhooks"), signed
//! ([`signature`]) with the company's secret, over HTTP or HTTPS (rustls, Mozilla's roots).
//! What to deliver, when, and the record of every attempt are the application's
//! (`bawaba_app::App::spawn_webhooks`).

mod payload;
mod sms;

use std::time::Duration;

use bawaba_app::Poster;
use bawaba_domain::event::CompanyEvent;
use bawaba_domain::notify::Webhook;
use bytes::Bytes;
use hmac::{Hmac, KeyInit, Mac};
use http_body_util::Full;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use sha2::Sha256;

pub use payload::{FORMAT, payload};
pub use sms::{Kannel, KannelConfig, message};

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "bawaba-signature";
/// The header carrying the event's stable id (`company:number`), for dropping repeats.
pub const EVENT_ID_HEADER: &str = "bawaba-event-id";
/// How long a receiver has to answer.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the secret>`.
pub fn signature(secret: &str, t: i64, body: &[u8]) -> String {
    let mac = keyed(secret, t, body).finalize().into_bytes();
    format!("t={t},v1={}", hex::encode(mac))
}

/// The HMAC of `"<t>.<body>"` keyed with `secret`, before it is finished.
fn keyed(secret: &str, t: i64, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes a key of any length.
    let mut m = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    m.update(format!("{t}.").as_bytes());
    m.update(body);
    m
}

/// Whether `header` signs `body` with `secret` (what a receiver checks; constant time).
pub fn verify(secret: &str, header: &str, body: &[u8]) -> bool {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => v1 = hex::decode(v).ok(),
            _ => {}
        }
    }
    match (t, v1) {
        (Some(t), Some(given)) => keyed(secret, t, body).verify_slice(&given).is_ok(),
        _ => false,
    }
}

/// An HTTP and HTTPS client.
type Client = hyper_util::client::legacy::Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// A client for HTTP and HTTPS (rustls, Mozilla's roots).
fn client() -> Client {
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_webpki_roots()
        .https_or_http()
        .enable_http1()
        .build();
    hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build(https)
}

/// POSTs events to webhooks.
#[derive(Debug, Clone)]
pub struct HttpPoster {
    client: Client,
}

impl Default for HttpPoster {
    fn default() -> Self {
        HttpPoster { client: client() }
    }
}

impl HttpPoster {
    async fn send(&self, hook: &Webhook, event: &CompanyEvent) -> Result<u16, String> {
        let body = serde_json::to_vec(&payload(event)).map_err(|e| e.to_string())?;
        let t = chrono::Utc::now().timestamp();
        let req = http::Request::post(&hook.url)
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::USER_AGENT, "Bawaba-Webhook/1")
            .header(EVENT_ID_HEADER, event.id())
            .header(SIGNATURE_HEADER, signature(&hook.secret, t, &body))
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| format!("cannot make the request: {e}"))?;
        status(&self.client, req).await
    }
}

/// Sends `req`: the HTTP status of the answer, or why there was none within [`TIMEOUT`].
async fn status(client: &Client, req: http::Request<Full<Bytes>>) -> Result<u16, String> {
    match tokio::time::timeout(TIMEOUT, client.request(req)).await {
        Ok(Ok(resp)) => Ok(resp.status().as_u16()),
        Ok(Err(e)) => Err(describe(&e)),
        Err(_) => Err(format!("no answer within {} s", TIMEOUT.as_secs())),
    }
}

/// An HTTP client error with its causes (hyper's own message is only "client error").
fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

impl Poster for HttpPoster {
    async fn post(&self, hook: &Webhook, event: &CompanyEvent) -> Result<u16, String> {
        self.send(hook, event).await
    }
}

/// The event the notify tests describe: acme's 17th, a hit by a flash-flood closure of
/// `act` on 2026-12-08 10:00 Amman time, the booking an import pickup of CSQU3054383.
#[cfg(test)]
pub(crate) fn test_event(
    kind: bawaba_domain::event::EventKind,
    closure: Option<bawaba_domain::calendar::Closure>,
) -> CompanyEvent {
    use bawaba_domain::calendar::TransactionType;
    use bawaba_domain::ids::{BookingId, CompanyId, ZoneId};
    use bawaba_domain::ledger::{Booking, BookingState, Stop};
    use bawaba_domain::plate::Plate;
    use chrono::TimeZone;
    let at = chrono::Utc.with_ymd_and_hms(2026, 12, 8, 7, 0, 0).unwrap();
    let act = ZoneId::parse("act").unwrap();
    let stop = Stop::new(
        act.clone(),
        at,
        TransactionType::ImportPickup,
        vec!["CSQU3054383".parse().unwrap()],
    );
    CompanyEvent {
        company: CompanyId::parse("acme").unwrap(),
        seq: 17,
        at,
        kind,
        zone: Some(act),
        closure,
        booking: Booking {
            id: BookingId::new(at, 1),
            company: CompanyId::parse("acme").unwrap(),
            plate: Plate::parse("60-12345").unwrap(),
            epc: None,
            stops: vec![stop],
            state: BookingState::Booked,
            idempotency_key: "k".into(),
            created_at: at,
            updated_at: at,
            entered_at: None,
            exited_at: None,
            cancel_reason: None,
            revision: 2,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_of_time_dot_body() {
        // Python: hmac.new(b"0123456789abcdef", b'1765000000.{"id":"acme:1"}', sha256)
        let body = br#"{"id":"acme:1"}"#;
        let sig = signature("0123456789abcdef", 1_765_000_000, body);
        assert_eq!(
            sig,
            "t=1765000000,v1=c2d5e42179563e2a80a12c9f1f2566ecd882b26c982507622300b38def35a318"
        );
        assert!(verify("0123456789abcdef", &sig, body));
        assert!(!verify("0123456789abcdef", &sig, b"{}"), "another body");
        assert!(!verify("0123456789abcdeF", &sig, body), "another secret");
        let other_time = sig.replace("t=1765000000", "t=1765000001");
        assert!(
            !verify("0123456789abcdef", &other_time, body),
            "the time is signed"
        );
        assert!(!verify("0123456789abcdef", "v1=00", body));
    }
}
