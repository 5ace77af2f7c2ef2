#![allow(clippy::unwrap_used)] // test code: a failed setup is a failed test

//! CAP 1.2 documents as the early warning system sends them, and the ways they go wrong.

use bawaba_cap::{AlertZone, MsgType, Outline, Severity, Status, Urgency, parse};
use chrono::{DateTime, Utc};

const EXAMPLE: &str = include_str!("../../../deploy/cap/flash-flood.example.xml");

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// The container terminal as the built-in configuration outlines it.
fn terminal(min_severity: Severity) -> AlertZone {
    AlertZone {
        zone: "act".into(),
        outline: Outline::new(&[
            (29.455, 34.968),
            (29.455, 34.982),
            (29.428, 34.985),
            (29.428, 34.970),
        ])
        .unwrap(),
        min_severity,
        min_urgency: Urgency::Expected,
        confirm: false,
    }
}

fn main_port() -> AlertZone {
    AlertZone {
        zone: "main-port".into(),
        outline: Outline::new(&[
            (29.512, 34.985),
            (29.512, 34.998),
            (29.488, 34.992),
            (29.488, 34.980),
        ])
        .unwrap(),
        ..terminal(Severity::Severe)
    }
}

#[test]
fn the_example_warning_reads_in_both_languages() {
    let a = parse(EXAMPLE).unwrap();
    assert_eq!(a.key(), "warnings@jmd.gov.jo,JMD-FF-2026-0310-01");
    assert_eq!((a.status, a.msg_type), (Status::Actual, MsgType::Alert));
    assert_eq!(a.sent, t("2026-03-10T06:00:00Z"));
    assert_eq!(a.infos.len(), 2);
    let ar = &a.infos[1];
    assert_eq!(ar.language, "ar-JO");
    assert_eq!(ar.severity, Severity::Severe);
    assert_eq!(ar.urgency, Urgency::Expected);
    assert_eq!(ar.from, t("2026-03-10T09:00:00Z"), "the onset, in UTC");
    assert_eq!(ar.expires, t("2026-03-10T11:00:00Z"));
    assert_eq!(ar.areas[0].desc, "الساحل الجنوبي للعقبة");
}

#[test]
fn it_closes_the_zone_it_meets_and_no_other() {
    let a = parse(EXAMPLE).unwrap();
    let call = terminal(Severity::Severe).assess(&a).unwrap();
    assert_eq!(
        (call.from, call.to),
        (t("2026-03-10T09:00:00Z"), t("2026-03-10T11:00:00Z"))
    );
    assert_eq!(
        call.reason,
        "Flash flood warning: Wadi Yutm and the southern coast / تحذير من السيول: وادي اليتم والساحل الجنوبي"
    );
    assert_eq!(
        main_port().assess(&a),
        None,
        "the main port is north of the area"
    );
    assert_eq!(
        terminal(Severity::Extreme).assess(&a),
        None,
        "below the zone's threshold"
    );
}

#[test]
fn updates_and_cancels_name_what_they_replace() {
    let update = EXAMPLE
        .replace("<msgType>Alert</msgType>", "<msgType>Update</msgType>\n  <references>warnings@jmd.gov.jo,JMD-FF-2026-0310-01,2026-03-10T09:00:00+03:00</references>")
        .replace("0310-01</identifier>", "0310-02</identifier>");
    let a = parse(&update).unwrap();
    assert_eq!(a.msg_type, MsgType::Update);
    assert_eq!(
        a.references,
        vec!["warnings@jmd.gov.jo,JMD-FF-2026-0310-01"]
    );
    assert!(terminal(Severity::Severe).assess(&a).is_some());
    let cancel = update.replace("<msgType>Update</msgType>", "<msgType>Cancel</msgType>");
    let a = parse(&cancel).unwrap();
    assert_eq!(
        terminal(Severity::Severe).assess(&a),
        None,
        "a cancellation closes nothing"
    );
    let test = EXAMPLE.replace("<status>Actual</status>", "<status>Test</status>");
    assert_eq!(
        terminal(Severity::Severe).assess(&parse(&test).unwrap()),
        None
    );
}

/// Every refusal names the element at fault.
#[test]
fn bad_documents_are_refused_naming_what_is_wrong() {
    let cases: Vec<(String, &str, &str)> = vec![
        ("<alert><unclosed></alert>".into(), "xml", ""),
        (
            "<feed xmlns=\"http://www.w3.org/2005/Atom\"/>".into(),
            "alert",
            "not a CAP 1.2 alert",
        ),
        (
            EXAMPLE.replace("urn:oasis:names:tc:emergency:cap:1.2", "urn:oasis:names:tc:emergency:cap:1.1"),
            "alert",
            "namespace",
        ),
        (
            EXAMPLE.replace("<expires>2026-03-10T14:00:00+03:00</expires>", ""),
            "info[0].expires",
            "missing",
        ),
        (
            EXAMPLE.replace("<sent>2026-03-10T09:00:00+03:00</sent>", "<sent>10/03/2026 09:00</sent>"),
            "sent",
            "not a CAP date",
        ),
        (
            EXAMPLE.replace("<severity>Severe</severity>", "<severity>Bad</severity>"),
            "info[0].severity",
            "Extreme",
        ),
        (
            EXAMPLE.replacen(
                "<polygon>29.478,34.962 29.478,35.010 29.420,35.010 29.420,34.962 29.478,34.962</polygon>",
                "<geocode><valueName>FIPS6</valueName><valueValue>JO09</valueValue></geocode>",
                1,
            ),
            "info[0].area[0]",
            "unknown area",
        ),
        (
            EXAMPLE.replacen("29.420,34.962 29.478,34.962<", "29.420,34.962<", 1),
            "info[0].area[0].polygon[0]",
            "first and last",
        ),
        (
            EXAMPLE.replace("<msgType>Alert</msgType>", "<msgType>Cancel</msgType>"),
            "references",
            "name the alerts it cancels",
        ),
        (
            EXAMPLE.replace("<identifier>JMD-FF-2026-0310-01</identifier>", ""),
            "identifier",
            "missing",
        ),
    ];
    for (doc, field, words) in cases {
        let e = parse(&doc).unwrap_err();
        assert_eq!(e.field, field, "{e}");
        assert!(e.message.contains(words), "{e}");
    }
}

#[test]
fn a_circle_in_the_area_meets_by_its_radius() {
    let circle = EXAMPLE.replacen(
        "<polygon>29.478,34.962 29.478,35.010 29.420,35.010 29.420,34.962 29.478,34.962</polygon>",
        "<circle>29.47,34.975 2.5</circle>",
        2,
    );
    let a = parse(&circle).unwrap();
    assert!(terminal(Severity::Severe).assess(&a).is_some());
    let small = circle.replace(" 2.5</circle>", " 0.5</circle>");
    assert_eq!(
        terminal(Severity::Severe).assess(&parse(&small).unwrap()),
        None
    );
}
