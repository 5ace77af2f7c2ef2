//! Reading one CAP 1.2 `<alert>` with roxmltree, checking what Bawaba needs of it. Errors
//! name the element by its path (`info[0].area[1].polygon[0]`).

use chrono::{DateTime, Utc};
use geo::MultiPolygon;
use roxmltree::{Document, Node};

use crate::area::{circle, polygon};
use crate::{Alert, Area, CapError, Info, MsgType, NAMESPACE, Status, key, one_of};

/// Reads one CAP 1.2 alert.
pub fn parse(xml: &str) -> Result<Alert, CapError> {
    let doc = Document::parse(xml).map_err(|e| CapError::new("xml", e.to_string()))?;
    let root = doc.root_element();
    if root.tag_name().name() != "alert" || root.tag_name().namespace() != Some(NAMESPACE) {
        return Err(CapError::new(
            "alert",
            format!(
                "not a CAP 1.2 alert: the document is <{}> in namespace {:?}; expected <alert> in {NAMESPACE:?}",
                root.tag_name().name(),
                root.tag_name().namespace().unwrap_or("(none)")
            ),
        ));
    }
    let msg_type = msg_type(&required(root, "msgType", "msgType")?)?;
    let references = match text(root, "references") {
        Some(r) => references(&r)?,
        None => Vec::new(),
    };
    if msg_type == MsgType::Cancel && references.is_empty() {
        return Err(CapError::new(
            "references",
            "a Cancel must name the alerts it cancels",
        ));
    }
    let sent = time("sent", &required(root, "sent", "sent")?)?;
    let infos = children(root, "info")
        .enumerate()
        .map(|(i, n)| info(n, &format!("info[{i}]"), sent))
        .collect::<Result<Vec<_>, _>>()?;
    if infos.is_empty() && matches!(msg_type, MsgType::Alert | MsgType::Update) {
        return Err(CapError::new("info", "an alert needs at least one <info>"));
    }
    Ok(Alert {
        identifier: required(root, "identifier", "identifier")?,
        sender: required(root, "sender", "sender")?,
        sent,
        status: status(&required(root, "status", "status")?)?,
        msg_type,
        references,
        infos,
    })
}

fn info(n: Node, path: &str, sent: DateTime<Utc>) -> Result<Info, CapError> {
    let field = |name: &str| format!("{path}.{name}");
    let optional_time =
        |name: &'static str| text(n, name).map(|t| time(&field(name), &t)).transpose();
    let expires = optional_time("expires")?.ok_or_else(|| {
        CapError::new(
            field("expires"),
            "missing: Bawaba closes a zone only until a stated expiry",
        )
    })?;
    let from = match optional_time("onset")? {
        Some(t) => t,
        None => optional_time("effective")?.unwrap_or(sent),
    };
    let areas = children(n, "area")
        .enumerate()
        .map(|(i, a)| area(a, &field(&format!("area[{i}]"))))
        .collect::<Result<Vec<_>, _>>()?;
    if areas.is_empty() {
        return Err(CapError::new(
            field("area"),
            "missing: Bawaba needs the area an alert is for",
        ));
    }
    Ok(Info {
        language: text(n, "language").unwrap_or_else(|| "en-US".into()),
        event: required(n, "event", &field("event"))?,
        headline: text(n, "headline"),
        urgency: required(n, "urgency", &field("urgency"))?
            .parse()
            .map_err(|e: CapError| CapError::new(field("urgency"), e.message))?,
        severity: required(n, "severity", &field("severity"))?
            .parse()
            .map_err(|e: CapError| CapError::new(field("severity"), e.message))?,
        from,
        expires,
        areas,
    })
}

fn area(n: Node, path: &str) -> Result<Area, CapError> {
    let mut shapes = Vec::new();
    for (i, p) in children(n, "polygon").enumerate() {
        shapes.push(polygon(
            &format!("{path}.polygon[{i}]"),
            p.text().unwrap_or(""),
        )?);
    }
    for (i, c) in children(n, "circle").enumerate() {
        shapes.push(circle(
            &format!("{path}.circle[{i}]"),
            c.text().unwrap_or(""),
        )?);
    }
    if shapes.is_empty() {
        return Err(CapError::new(
            path,
            "unknown area: it has no <polygon> or <circle> (Bawaba meets areas by their shape; geocodes alone are not known to it)",
        ));
    }
    Ok(Area {
        desc: required(n, "areaDesc", &format!("{path}.areaDesc"))?,
        shapes: MultiPolygon(shapes),
    })
}

/// The CAP elements called `name` directly under `n`.
fn children<'a, 'i>(n: Node<'a, 'i>, name: &'static str) -> impl Iterator<Item = Node<'a, 'i>> {
    n.children().filter(move |c| {
        c.is_element() && c.tag_name().name() == name && c.tag_name().namespace() == Some(NAMESPACE)
    })
}

/// The trimmed text of the first `name` under `n`, if there is one and it is not empty.
fn text(n: Node, name: &'static str) -> Option<String> {
    let t = children(n, name).next()?.text()?.trim().to_owned();
    (!t.is_empty()).then_some(t)
}

fn required(n: Node, name: &'static str, field: &str) -> Result<String, CapError> {
    text(n, name).ok_or_else(|| CapError::new(field, "missing"))
}

fn time(field: &str, t: &str) -> Result<DateTime<Utc>, CapError> {
    DateTime::parse_from_rfc3339(t)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            CapError::new(
                field,
                format!("{t:?} is not a CAP date and time (e.g. 2026-03-10T12:00:00+03:00)"),
            )
        })
}

/// `<references>`: `sender,identifier,sent` triples separated by spaces, as alert keys.
fn references(text: &str) -> Result<Vec<String>, CapError> {
    text.split_whitespace()
        .map(|r| match r.split(',').collect::<Vec<_>>()[..] {
            [sender, identifier, _sent] if !sender.is_empty() && !identifier.is_empty() => {
                Ok(key(sender, identifier))
            }
            _ => Err(CapError::new(
                "references",
                format!("{r:?} is not \"sender,identifier,sent\""),
            )),
        })
        .collect()
}

fn status(s: &str) -> Result<Status, CapError> {
    Ok(match s {
        "Actual" => Status::Actual,
        "Exercise" => Status::Exercise,
        "System" => Status::System,
        "Test" => Status::Test,
        "Draft" => Status::Draft,
        _ => return Err(one_of("status", s, "Actual, Exercise, System, Test, Draft")),
    })
}

fn msg_type(s: &str) -> Result<MsgType, CapError> {
    Ok(match s {
        "Alert" => MsgType::Alert,
        "Update" => MsgType::Update,
        "Cancel" => MsgType::Cancel,
        "Ack" => MsgType::Ack,
        "Error" => MsgType::Error,
        _ => return Err(one_of("msgType", s, "Alert, Update, Cancel, Ack, Error")),
    })
}
