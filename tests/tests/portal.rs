//! The company portal in a real browser, on the real `bawaba scheduler --http`: the authority
//! creates a company's admin, who logs in and goes through a company's day — adds a truck,
//! books a window, is refused a full one and takes the alternative offered, opens the slip
//! with its QR code, cancels — once in English at a desktop's width and once in Arabic at a
//! phone's; an operator finds the booking by the slip's number; every portal page holds its
//! layout in both languages and widths. Screenshots in `target/test-artifacts/portal/`.

#![allow(clippy::unwrap_used)] // test code: a failed setup is a failed test

mod browser;

use std::time::Instant;

use bawaba_e2e::{Scheduler, TestDir, free_addr, token};
use bawaba_grpc::client::Clients;
use browser::{browser, chromedriver, click, fill, login, path, text, wait_for};
use chrono::{TimeDelta, Utc};
use fantoccini::{Client, Locator};

const TEST: &str = "portal";

/// A zone with one place per window: the second truck in a window is refused.
const CONFIG: &str = r#"
[[zones]]
id = "siz"
name = "Southern Industrial Zone"
name_ar = "المنطقة الصناعية الجنوبية"
slot_minutes = 60
capacity = 1

[zones.rules]
booking_cutoff_minutes = 0
company_cap_percent = 100
require_containers = false
"#;

async fn screenshot(c: &Client, name: &str) {
    browser::screenshot(c, TEST, name).await;
}

/// The authority creates `login`, an admin of acme, on its accounts page.
async fn create_admin(b: &Client, base: &str, authority: &str, login: &str) {
    browser::login(b, base, authority).await;
    wait_for(b, "#feed-card").await;
    b.goto(&format!("{base}/authority/accounts?company=acme"))
        .await
        .unwrap();
    fill(b, "#login", login).await;
    fill(b, "#name", "أحمد حداد").await;
    fill(b, "#password", "a-long-password").await;
    click(b, "#admin").await;
    click(b, "#account-create").await;
    wait_for(b, "#done").await;
    assert!(
        b.find(Locator::Css(&format!(r#"[id="account-{login}"]"#)))
            .await
            .is_ok()
    );
    click(b, "#logout").await;
}

/// Opens the booking form of the week `from`, chooses the first free window and types the
/// truck's plate: the window chosen (its radio's value), not yet sent.
async fn choose(b: &Client, base: &str, from: &str, plate: &str) -> String {
    b.goto(&format!(
        "{base}/portal/book?zone=siz&type=GENERAL_CARGO&from={from}"
    ))
    .await
    .unwrap();
    let choice = wait_for(b, r#"#book-form input[name="window"]:not([disabled])"#).await;
    let value = choice.attr("value").await.unwrap().unwrap();
    choice.click().await.unwrap();
    fill(b, "#plate", plate).await;
    value
}

/// Another company takes the last place of `window` (over gRPC, as its own system does).
async fn taken_by_another(grpc: &mut Clients, window: &str) {
    let start = chrono::DateTime::parse_from_rfc3339(window)
        .unwrap()
        .with_timezone(&Utc);
    grpc.bookings
        .create_booking(bawaba_e2e::create_req(
            &bawaba_e2e::unique_key("zeta"),
            "60-99999",
            vec![bawaba_e2e::cargo_stop("siz", start)],
        ))
        .await
        .unwrap();
}

/// A company's journey in `lang` at `width` px, as `login`, with its trucks `plates`.
async fn journey(
    (b, grpc): (&Client, &mut Clients),
    base: &str,
    (lang, width): (&str, u32),
    login: &str,
    plates: [&str; 2],
) {
    b.set_window_size(width, 1800).await.unwrap();
    b.goto(&format!("{base}/login?lang={lang}")).await.unwrap();
    fill(b, "#login", login).await;
    fill(b, "#password", "a-long-password").await;
    click(b, "#account-submit").await;
    wait_for(b, "#bookings").await;
    assert_eq!(path(b).await, "/portal");

    // A truck of the fleet, with its driver's mobile.
    click(b, "#nav-fleet").await;
    fill(b, "#plate", plates[0]).await;
    fill(b, "#driver", "علي حسن").await;
    fill(b, "#phone", "0791234567").await;
    click(b, "#truck-save").await;
    wait_for(b, "#done").await;
    let row = text(b, &format!("#truck-{}", plates[0].replace('-', ""))).await;
    assert!(row.contains("+962791234567"), "{row}");
    screenshot(b, &format!("{lang}-{width}-fleet")).await;

    // A window of the day after tomorrow (whatever the hour, its windows are past no change
    // cut-off); a container typed wrong is flagged as it is typed.
    let day = bawaba_web::agg::Day::containing(Utc::now() + TimeDelta::days(2)).date;
    let from = day.to_string();
    b.goto(&format!(
        "{base}/portal/book?zone=siz&type=GENERAL_CARGO&from={from}"
    ))
    .await
    .unwrap();
    fill(b, "#containers", "CSQU3054384").await;
    let flagged = text(b, "#containers-error").await;
    assert!(flagged.contains("CSQU3054384"), "{flagged:?}");
    fill(b, "#containers", "CSQU3054383").await;
    assert_eq!(text(b, "#containers-error").await, "", "a valid number");
    choose(b, base, &from, plates[0]).await;
    click(b, "#book-submit").await;
    let first = wait_for(b, "#booking-id").await.text().await.unwrap();
    screenshot(b, &format!("{lang}-{width}-booked")).await;

    // Moved to the nearest other free window the page offers.
    click(b, "#move-0").await;
    let word = if lang == "ar" {
        "تم النقل"
    } else {
        "Moved"
    };
    browser::wait_text(b, "#done", word).await;

    // The second truck: while the form is open another company takes the window's last
    // place. Refused; the nearest free window is offered, chosen, and booked.
    let window = choose(b, base, &from, plates[1]).await;
    taken_by_another(grpc, &window).await;
    click(b, "#book-submit").await;
    wait_for(b, "#error").await;
    let alt = wait_for(b, "label.window.alt input:checked").await;
    let alt_value = alt.attr("value").await.unwrap().unwrap();
    assert_ne!(alt_value, window);
    screenshot(b, &format!("{lang}-{width}-refused")).await;
    click(b, "#book-submit").await;
    let second = wait_for(b, "#booking-id").await.text().await.unwrap();
    assert_ne!(first, second);

    // The slip, with the number as text and as a QR code.
    click(b, "#slip-link").await;
    wait_for(b, "#slip-qr svg").await;
    assert_eq!(text(b, "#slip-id").await, second);
    screenshot(b, &format!("{lang}-{width}-slip")).await;
    // The slip as an image for the phone: the browser shows it.
    let image = wait_for(b, "#slip-image")
        .await
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(image, format!("/portal/bookings/{second}/slip.png"));
    b.goto(&format!("{base}{image}")).await.unwrap();
    let shown = b
        .execute(
            "return document.images.length === 1 ? document.images[0].naturalWidth : 0",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        shown.as_u64().unwrap_or(0) >= 600,
        "the image is shown: {shown}"
    );
    screenshot(b, &format!("{lang}-{width}-slip-image")).await;

    // The events: the bookings made, in the page's language.
    b.goto(&format!("{base}/portal/events?lang={lang}"))
        .await
        .unwrap();
    wait_for(b, "#events").await;
    let kinds = text(b, "#events tbody").await;
    let booked = if lang == "ar" {
        "تم الحجز"
    } else {
        "booked"
    };
    assert!(kinds.contains(booked), "{kinds}");

    // Cancel the second visit.
    b.goto(&format!("{base}/portal/bookings/{second}?lang={lang}"))
        .await
        .unwrap();
    fill(b, "#reason", "plans changed").await;
    click(b, "#cancel-submit").await;
    let word = if lang == "ar" {
        "أُلغي"
    } else {
        "Cancelled"
    };
    browser::wait_text(b, "#done", word).await;
    let state = text(b, "#booking-state").await;
    let word = if lang == "ar" {
        "ملغى"
    } else {
        "cancelled"
    };
    assert_eq!(state, word);
    click(b, "#logout").await;
    wait_for(b, "#account-login").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_company_books_in_a_real_browser() {
    let started = Instant::now();
    let dir = TestDir::new();
    let http = free_addr();
    let http_arg = http.to_string();
    let scheduler = Scheduler::start(dir.data(), Some(CONFIG), &["--http", &http_arg]);
    let base = format!("http://{http}");
    let authority = token(dir.data(), "authority", None, None);
    let operator = token(dir.data(), "operator", None, None);
    let zeta = token(dir.data(), "company", Some("zeta"), None);
    let mut grpc = scheduler.clients(&zeta).await;

    let (_driver, port) = chromedriver();
    let b = browser(port).await;
    create_admin(&b, &base, &authority, "ahmad.acme").await;
    create_admin(&b, &base, &authority, "sara.acme").await;
    let en = ("en", 1280);
    journey(
        (&b, &mut grpc),
        &base,
        en,
        "ahmad.acme",
        ["60-12345", "60-22222"],
    )
    .await;
    let ar = ("ar", 390);
    journey(
        (&b, &mut grpc),
        &base,
        ar,
        "sara.acme",
        ["60-33333", "60-44444"],
    )
    .await;

    // The operator finds the company's booking by the number on its slip.
    b.set_window_size(1280, 1800).await.unwrap();
    b.goto(&format!("{base}/login?lang=en")).await.unwrap();
    fill(&b, "#login", "ahmad.acme").await;
    fill(&b, "#password", "a-long-password").await;
    click(&b, "#account-submit").await;
    wait_for(&b, "#bookings").await;
    let id = text(&b, "#bookings tbody tr td a").await;
    let booking = format!("/portal/bookings/{id}");
    let pages = [
        ("home", "/portal"),
        ("fleet", "/portal/fleet"),
        ("book", "/portal/book?zone=siz&type=GENERAL_CARGO"),
        ("booking", booking.as_str()),
        ("accounts", "/portal/accounts"),
        ("events", "/portal/events"),
    ];
    let wrong = browser::layout_problems(&b, &base, TEST, &pages).await;
    assert!(wrong.is_empty(), "layout problems:\n{}", wrong.join("\n"));
    click(&b, "#logout").await;
    login(&b, &base, &operator).await;
    // The login's redirect lands first, or it could replace the search page.
    wait_for(&b, "#open-count").await;
    b.goto(&format!("{base}/operator/search?q={id}"))
        .await
        .unwrap();
    let found = wait_for(&b, "main").await.text().await.unwrap();
    assert!(found.contains(&id), "{found}");
    b.close().await.unwrap();
    drop(scheduler);
    eprintln!("portal browser test took {:?}", started.elapsed());
}
