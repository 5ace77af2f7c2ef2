//! The flash-flood early warning of the scenarios: its CAP 1.2 alert for a zone (the zone's
//! outline as the area), posted to the scheduler's `/api/cap` over real HTTP with the alerts
//! feed's own token, as the real early warning system does.

use std::net::SocketAddr;

use bytes::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

const TEMPLATE: &str = include_str!("../alerts/flash-flood.xml");

/// A flash-flood warning over `zone`'s outline, in force over `[onset, expires)`.
pub struct Warning<'a> {
    pub identifier: &'a str,
    pub zone: &'a bawaba_cap::AlertZone,
    pub sent: DateTime<Utc>,
    pub onset: DateTime<Utc>,
    pub expires: DateTime<Utc>,
    pub headline: &'a str,
}

impl Warning<'_> {
    /// The CAP document.
    pub fn xml(&self) -> String {
        let time = |t: DateTime<Utc>| {
            t.with_timezone(&chrono_tz::Asia::Amman)
                .to_rfc3339_opts(SecondsFormat::Secs, false)
        };
        let polygon: Vec<String> = self
            .zone
            .outline
            .corners()
            .iter()
            .map(|(lat, lon)| format!("{lat},{lon}"))
            .collect();
        let text = |s: &str| html_escape::encode_text(s).into_owned();
        [
            ("{{identifier}}", text(self.identifier)),
            ("{{sent}}", time(self.sent)),
            ("{{onset}}", time(self.onset)),
            ("{{expires}}", time(self.expires)),
            ("{{headline}}", text(self.headline)),
            ("{{area}}", text(&self.zone.zone)),
            ("{{polygon}}", polygon.join(" ")),
        ]
        .iter()
        .fold(TEMPLATE.to_owned(), |doc, (k, v)| doc.replace(k, v))
    }
}

/// The early warning system's side of `/api/cap`.
pub struct AlertFeed {
    url: String,
    token: String,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl AlertFeed {
    pub fn new(http: SocketAddr, token: String) -> Self {
        AlertFeed {
            url: format!("http://{http}/api/cap"),
            token,
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    /// Posts one alert: the scheduler's JSON answer, or why it failed.
    pub async fn post(&self, xml: String) -> Result<serde_json::Value, String> {
        let req = http::Request::post(&self.url)
            .header(
                http::header::AUTHORIZATION,
                format!("Bearer {}", self.token),
            )
            .header(http::header::CONTENT_TYPE, "application/cap+xml")
            .body(Full::new(Bytes::from(xml)))
            .map_err(|e| e.to_string())?;
        let res = self.client.request(req).await.map_err(|e| e.to_string())?;
        let status = res.status();
        let body = res
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        let text = String::from_utf8_lossy(&body);
        if !status.is_success() {
            return Err(format!("{status}: {text}"));
        }
        serde_json::from_str(&text).map_err(|e| format!("{e}: {text}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_warning_is_a_cap_alert_over_the_zone() {
        let zone = bawaba_cap::AlertZone {
            zone: "act".into(),
            outline: bawaba_cap::Outline::new(&[(29.45, 34.97), (29.45, 34.98), (29.43, 34.98)])
                .unwrap(),
            min_severity: bawaba_cap::Severity::Severe,
            min_urgency: bawaba_cap::Urgency::Expected,
            confirm: false,
        };
        let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let w = Warning {
            identifier: "sim-42",
            zone: &zone,
            sent: t("2026-03-10T06:00:00Z"),
            onset: t("2026-03-10T09:00:00Z"),
            expires: t("2026-03-10T11:00:00Z"),
            headline: "flash flood <Wadi Yutm> & coast",
        };
        let alert = bawaba_cap::parse(&w.xml()).unwrap();
        assert_eq!(alert.key(), "sim-warnings@jmd.gov.jo,sim-42");
        let call = zone.assess(&alert).unwrap();
        assert_eq!((call.from, call.to), (w.onset, w.expires));
        assert_eq!(call.reason, "flash flood <Wadi Yutm> & coast");
        assert!(w.xml().contains("<onset>2026-03-10T12:00:00+03:00</onset>"));
    }
}
