//! SMS end to end: the real scheduler texts a driver, through a real Kannel (bearerbox and
//! smsbox, Debian's `kannel`) with Kannel's `fakesmsc` as the operator, the booking's
//! confirmation, its reminder and its move, in Arabic (UCS-2); while smsbox is down the text
//! waits and is sent when it is back.

#![allow(clippy::unwrap_used)] // test code: a failed setup is a failed test

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use bawaba_e2e::{
    Scheduler, TEST_CONFIG, TestDir, act_booking, company_token, free_addr, hour_start,
};
use bawaba_grpc::pb;
use chrono::Utc;

const FAKESMSC: &str = "/usr/lib/kannel/test/fakesmsc";
const DRIVER: &str = "+962791234567";

/// A Kannel of bearerbox, smsbox and fakesmsc (the operator) in `dir`; killed when dropped.
struct Kannel {
    dir: PathBuf,
    conf: PathBuf,
    sendsms: SocketAddr,
    bearerbox: Child,
    smsbox: Option<Child>,
    fakesmsc: Child,
}

impl Kannel {
    fn start(dir: &Path) -> Kannel {
        let (admin, boxes, smsc, sendsms) = (free_addr(), free_addr(), free_addr(), free_addr());
        let conf = dir.join("kannel.conf");
        let d = dir.display();
        std::fs::write(
            &conf,
            format!(
                "group = core\nadmin-port = {}\nadmin-password = secret\nsmsbox-port = {}\n\
                 box-allow-ip = 127.0.0.1\nlog-level = 1\nlog-file = {d}/bearerbox.log\n\
                 store-location = {d}/kannel.store\n\n\
                 group = smsc\nsmsc = fake\nsmsc-id = fake\nport = {}\n\
                 connect-allow-ip = 127.0.0.1\n\n\
                 group = smsbox\nbearerbox-host = 127.0.0.1\nsendsms-port = {}\n\
                 log-file = {d}/smsbox.log\n\n\
                 group = sendsms-user\nusername = bawaba\npassword = sms-secret\n\
                 max-messages = 5\nconcatenation = true\n",
                admin.port(),
                boxes.port(),
                smsc.port(),
                sendsms.port()
            ),
        )
        .unwrap();
        let bearerbox = spawn(
            Command::new("/usr/sbin/bearerbox").arg(&conf),
            dir,
            "bearerbox",
        );
        wait_for_port(smsc, "bearerbox's fake SMSC port");
        let fakesmsc = spawn(
            Command::new(FAKESMSC).args([
                "-H",
                "127.0.0.1",
                "-r",
                &smsc.port().to_string(),
                "-i",
                "1",
                "-m",
                "0",
                "1 2 text x",
            ]),
            dir,
            "fakesmsc",
        );
        let mut k = Kannel {
            dir: dir.to_path_buf(),
            conf,
            sendsms,
            bearerbox,
            smsbox: None,
            fakesmsc,
        };
        k.start_smsbox();
        k
    }

    fn start_smsbox(&mut self) {
        let smsbox = spawn(
            Command::new("/usr/sbin/smsbox").arg(&self.conf),
            &self.dir,
            "smsbox",
        );
        self.smsbox = Some(smsbox);
        wait_for_port(self.sendsms, "smsbox's sendsms port");
    }

    fn stop_smsbox(&mut self) {
        if let Some(mut s) = self.smsbox.take() {
            s.kill().unwrap();
            s.wait().unwrap();
        }
    }

    /// The texts fakesmsc received for `to`, each put together from its parts.
    fn texts_to(&self, to: &str) -> Vec<String> {
        let out = std::fs::read_to_string(self.dir.join("fakesmsc.out")).unwrap_or_default();
        let mut parts: Vec<(String, u8, Vec<u8>)> = Vec::new();
        let mut texts = Vec::new();
        for line in out.lines() {
            let Some(msg) = line
                .split_once("Got message")
                .and_then(|(_, m)| m.split_once('<'))
            else {
                continue;
            };
            let fields: Vec<&str> = msg.1.trim_end_matches('>').split(' ').collect();
            if fields.get(1) != Some(&to) {
                continue;
            }
            match fields[2..] {
                ["udh", udh, "data", data] => {
                    // Concatenation header: 05 00 03 <ref> <total> <number>.
                    let udh = decode(udh);
                    parts.push((format!("{}", udh[3]), udh[5], decode(data)));
                    if parts.iter().filter(|p| p.0 == udh[3].to_string()).count()
                        == usize::from(udh[4])
                    {
                        let mut mine: Vec<_> =
                            parts.iter().filter(|p| p.0 == udh[3].to_string()).collect();
                        mine.sort_by_key(|p| p.1);
                        let bytes: Vec<u8> = mine.iter().flat_map(|p| p.2.clone()).collect();
                        texts.push(ucs2(&bytes));
                    }
                }
                ["ucs-2", data] => texts.push(ucs2(&decode(data))),
                _ => panic!("a text fakesmsc printed in an unexpected form: {line}"),
            }
        }
        texts
    }

    /// Waits (at most 30 s) until `to` has received `n` texts; returns them.
    async fn wait_for_texts(&self, to: &str, n: usize) -> Vec<String> {
        for _ in 0..300 {
            let texts = self.texts_to(to);
            if texts.len() >= n {
                return texts;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "{n} texts to {to} expected; fakesmsc got: {:#?}",
            self.texts_to(to)
        );
    }
}

impl Drop for Kannel {
    fn drop(&mut self) {
        self.stop_smsbox();
        let _ = self.fakesmsc.kill();
        let _ = self.bearerbox.kill();
        let _ = self.fakesmsc.wait();
        let _ = self.bearerbox.wait();
    }
}

fn spawn(cmd: &mut Command, dir: &Path, name: &str) -> Child {
    let out = std::fs::File::create(dir.join(format!("{name}.out"))).unwrap();
    cmd.stdout(out.try_clone().unwrap())
        .stderr(out)
        .stdin(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {name} (Debian packages kannel, kannel-extras): {e}"))
}

fn wait_for_port(addr: SocketAddr, what: &str) {
    for _ in 0..200 {
        if std::net::TcpStream::connect(addr).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what} ({addr}) did not open within 10 s");
}

/// fakesmsc's url-encoding (`+` is a space byte) to bytes.
fn decode(s: &str) -> Vec<u8> {
    percent_encoding::percent_decode_str(&s.replace('+', "%20")).collect()
}

/// UTF-16BE (UCS-2 as sent) to text.
fn ucs2(bytes: &[u8]) -> String {
    let units: Vec<u16> = bytes
        .chunks(2)
        .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))
        .collect();
    String::from_utf16(&units).unwrap()
}

fn truck(plate: &str, phone: &str) -> pb::SaveTruckRequest {
    pb::SaveTruckRequest {
        truck: Some(pb::FleetTruck {
            truck_plate: plate.into(),
            driver_name: "علي".into(),
            driver_phone: phone.into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drivers_get_their_texts_in_arabic_through_kannel() {
    let dir = TestDir::new();
    let mut kannel = Kannel::start(dir.path());
    let config = format!(
        "{TEST_CONFIG}\n[sms]\nsendsms_url = \"http://{}/cgi-bin/sendsms\"\n\
         username = \"bawaba\"\npassword = \"sms-secret\"\nfrom = \"Bawaba\"\n",
        kannel.sendsms
    );
    let args = |reminder_minutes: &'static str| {
        [
            "--webhook-retry-ms",
            "200",
            "--reminder-minutes",
            reminder_minutes,
            "--sweep-interval-secs",
            "1",
        ]
    };
    let mut s = Scheduler::start(dir.data(), Some(&config), &args("60"));
    let token = company_token(dir.data(), "acme");
    let mut c = s.clients(&token).await;
    c.company
        .save_truck(truck("60-10001", "0791234567"))
        .await
        .unwrap();
    c.company.save_truck(truck("60-10002", "")).await.unwrap();
    let now = Utc::now();
    let booked = c
        .bookings
        .create_booking(act_booking("60-10001", hour_start(now, 4)))
        .await
        .unwrap()
        .into_inner()
        .booking
        .unwrap();
    // The truck without a driver's number: nothing is texted.
    c.bookings
        .create_booking(act_booking("60-10002", hour_start(now, 5)))
        .await
        .unwrap();
    let texts = kannel.wait_for_texts(DRIVER, 1).await;
    let id = &booked.booking_id;
    assert!(
        texts[0].starts_with("بوابة: تم تأكيد حجز الشاحنة 6010001 في Aqaba Container Terminal")
            && texts[0].ends_with(&format!("رقم الحجز {id}")),
        "{texts:#?}"
    );
    // kill -9, and back with reminders ten hours ahead: the visit is reminded of, and what
    // was texted is not texted again.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let addr = s.addr();
    s.kill();
    let s = Scheduler::start_at(dir.data(), addr, Some(&config), &args("600"));
    let mut c = s.clients(&token).await;
    let texts = kannel.wait_for_texts(DRIVER, 2).await;
    assert!(
        texts[1].starts_with("بوابة: تذكير: موعد الشاحنة 6010001"),
        "{texts:#?}"
    );
    // smsbox down: the move's text waits, and goes when smsbox is back.
    kannel.stop_smsbox();
    let moved = pb::MoveBookingRequest {
        booking_id: id.clone(),
        stop_index: 0,
        new_window_start: Some(bawaba_grpc::timestamp(hour_start(now, 30))),
    };
    c.bookings.move_booking(moved).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(kannel.texts_to(DRIVER).len(), 2);
    kannel.start_smsbox();
    let texts = kannel.wait_for_texts(DRIVER, 3).await;
    let local = hour_start(now, 30).with_timezone(&bawaba_domain::calendar::LOCAL_TZ);
    let when = local.format("%d/%m %H:%M").to_string();
    assert!(
        texts[2].starts_with(&format!(
            "بوابة: تغيّر موعد الشاحنة 6010001 في Aqaba Container Terminal إلى {when}."
        )),
        "{texts:#?}"
    );
    assert_eq!(texts.len(), 3, "each once: {texts:#?}");
    // The company sees every attempt, with the number each went to.
    let req = pb::ListTextsRequest::default();
    let listed = c.company.list_texts(req).await.unwrap().into_inner().texts;
    let attempts: Vec<_> = listed
        .iter()
        .map(|t| {
            let d = t.delivery.as_ref().unwrap();
            (t.to.as_str(), d.event_id.as_str(), d.outcome, d.status)
        })
        .collect();
    let delivered = pb::DeliveryOutcome::Delivered as i32;
    assert_eq!(
        attempts[0],
        (DRIVER, "acme:5", delivered, 202),
        "{attempts:#?}"
    );
    let failed = pb::DeliveryOutcome::Failed as i32;
    assert!(
        attempts[1..]
            .iter()
            .take_while(|a| a.1 == "acme:5")
            .all(|a| a.2 == failed && a.3 == 0),
        "while smsbox was down: {attempts:#?}"
    );
    assert!(attempts.iter().any(|a| a.1 == "acme:5" && a.2 == failed));
    let oldest = attempts.last().unwrap();
    assert_eq!((oldest.1, oldest.2), ("acme:1", delivered), "{attempts:#?}");
}
