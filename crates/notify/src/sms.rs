//! SMS notices to drivers through Kannel, the open-source SMS gateway: [`Kannel`] calls
//! smsbox's `sendsms` HTTP interface with the text in UTF-8 and `coding=2` (UCS-2 on the
//! air, as Arabic needs); [`message`] is the Arabic text of an event.

use bawaba_app::Texter;
use bawaba_domain::calendar::{LOCAL_TZ, ZoneConfig};
use bawaba_domain::event::{CompanyEvent, EventKind};
use bawaba_domain::fleet::Phone;
use bawaba_domain::ids::ZoneId;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use http_body_util::Full;

use crate::{Client, client, status};

/// Where and as whom to reach smsbox's sendsms interface (a `sendsms-user` of its
/// configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KannelConfig {
    /// e.g. `http://127.0.0.1:13013/cgi-bin/sendsms`.
    pub url: String,
    pub username: String,
    pub password: String,
    /// The sender shown on the phone.
    pub from: String,
}

/// Texts events through Kannel.
#[derive(Debug, Clone)]
pub struct Kannel {
    config: KannelConfig,
    client: Client,
}

impl Kannel {
    pub fn new(config: KannelConfig) -> Self {
        Kannel {
            config,
            client: client(),
        }
    }

    /// The sendsms request texting `text` to `to`.
    fn request(&self, to: &Phone, text: &str) -> Result<http::Request<Full<Bytes>>, String> {
        let c = &self.config;
        let query = serde_urlencoded::to_string([
            ("username", c.username.as_str()),
            ("password", c.password.as_str()),
            ("from", c.from.as_str()),
            ("to", to.as_str()),
            ("charset", "UTF-8"),
            ("coding", "2"),
            ("text", text),
        ])
        .map_err(|e| e.to_string())?;
        http::Request::get(format!("{}?{query}", c.url))
            .header(http::header::USER_AGENT, "Bawaba-SMS/1")
            .body(Full::new(Bytes::new()))
            .map_err(|e| format!("cannot make the request: {e}"))
    }
}

impl Texter for Kannel {
    async fn text(
        &self,
        to: &Phone,
        event: &CompanyEvent,
        zones: &[ZoneConfig],
    ) -> Result<u16, String> {
        let req = self.request(to, &message(event, zones))?;
        status(&self.client, req).await
    }
}

/// A local time as a driver reads it: day/month hour:minute, Amman time.
fn when(t: DateTime<Utc>) -> String {
    t.with_timezone(&LOCAL_TZ).format("%d/%m %H:%M").to_string()
}

/// The zone's Arabic name (its name when it has none).
fn zone_name(zones: &[ZoneConfig], id: &ZoneId) -> String {
    match zones.iter().find(|z| z.id == *id) {
        Some(z) if !z.name_ar.is_empty() => z.name_ar.clone(),
        Some(z) => z.name.clone(),
        None => id.to_string(),
    }
}

/// The Arabic text telling the driver of `event`.
pub fn message(event: &CompanyEvent, zones: &[ZoneConfig]) -> String {
    let b = &event.booking;
    let stop = event
        .zone
        .as_ref()
        .and_then(|z| b.stops.iter().find(|s| s.zone == *z))
        .or(b.stops.first());
    let (zone, at) = match stop {
        Some(s) => (zone_name(zones, &s.zone), when(s.window_start)),
        None => (String::new(), String::new()),
    };
    let (plate, id) = (b.plate.as_str(), b.id);
    let why = event.closure.as_ref().map_or(String::new(), |c| {
        format!("من {} إلى {} ({})", when(c.from), when(c.to), c.reason)
    });
    let text = match event.kind {
        EventKind::Created => format!("تم تأكيد حجز الشاحنة {plate} في {zone} {at}."),
        EventKind::Moved => format!("تغيّر موعد الشاحنة {plate} في {zone} إلى {at}."),
        EventKind::HitByClosure => {
            format!("{zone} مغلقة {why}، ويشمل الإغلاق موعد الشاحنة {plate} {at}.")
        }
        EventKind::Rebooked => {
            format!("بسبب إغلاق {zone} {why} نُقل موعد الشاحنة {plate} إلى {at}.")
        }
        EventKind::Cancelled => {
            format!("أُلغي حجز الشاحنة {plate} في {zone} {at} بسبب الإغلاق {why}.")
        }
        EventKind::Reminder => format!("تذكير: موعد الشاحنة {plate} في {zone} {at}."),
        EventKind::NoShow => {
            format!("لم تدخل الشاحنة {plate} في موعدها في {zone} {at}، فسُجّل الحجز عدم حضور.")
        }
        _ => format!("تغيّر حجز الشاحنة {plate}."),
    };
    format!("بوابة: {text} رقم الحجز {id}")
}

#[cfg(test)]
mod tests {
    use bawaba_domain::calendar::{Closure, SlotLength, WindowCapacity};

    use super::*;

    fn event(kind: EventKind, closure: Option<Closure>) -> CompanyEvent {
        crate::test_event(kind, closure)
    }

    fn zones() -> Vec<ZoneConfig> {
        let act = ZoneId::parse("act").unwrap();
        let length = SlotLength::from_minutes(60).unwrap();
        let mut z = ZoneConfig::new(
            act,
            "Container terminal",
            length,
            WindowCapacity::uniform(3),
        );
        z.name_ar = "محطة الحاويات".into();
        vec![z]
    }

    #[test]
    fn texts_are_arabic_in_amman_time_with_the_booking() {
        let e = event(EventKind::Created, None);
        let text = message(&e, &zones());
        assert_eq!(
            text,
            format!(
                "بوابة: تم تأكيد حجز الشاحنة 6012345 في محطة الحاويات 08/12 10:00. رقم الحجز {}",
                e.booking.id
            )
        );
        let flood = Closure {
            id: 1,
            from: e.at,
            to: e.at + chrono::TimeDelta::hours(2),
            reason: "flash flood".into(),
        };
        let hit = message(&event(EventKind::HitByClosure, Some(flood)), &zones());
        assert!(
            hit.contains("مغلقة من 08/12 10:00 إلى 08/12 12:00 (flash flood)"),
            "{hit}"
        );
        let english = message(&event(EventKind::Reminder, None), &[]);
        assert!(english.starts_with("بوابة: تذكير: موعد الشاحنة 6012345 في act 08/12 10:00."));
    }

    #[test]
    fn the_request_is_sendsms_in_ucs2() {
        let k = Kannel::new(KannelConfig {
            url: "http://127.0.0.1:13013/cgi-bin/sendsms".into(),
            username: "bawaba".into(),
            password: "p&ss".into(),
            from: "Bawaba".into(),
        });
        let to = Phone::parse("0791234567").unwrap();
        let req = k.request(&to, "تذكير 1").unwrap();
        assert_eq!(
            req.uri().to_string(),
            "http://127.0.0.1:13013/cgi-bin/sendsms?username=bawaba&password=p%26ss&from=Bawaba\
             &to=%2B962791234567&charset=UTF-8&coding=2&text=%D8%AA%D8%B0%D9%83%D9%8A%D8%B1+1"
        );
    }
}
