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
        match tokio::time::timeout(TIMEOUT, self.client.request(req)).await {
            Ok(Ok(resp)) => Ok(resp.status().as_u16()),
            Ok(Err(e)) => Err(describe(&e)),
            Err(_) => Err(format!("no answer within {} s", TIMEOUT.as_secs())),
        }
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
