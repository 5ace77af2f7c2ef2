//! The company portal: the company's bookings, its fleet, and (for its admins) its accounts;
//! the authority's page of a company's accounts uses the same card. Phone first: one column,
//! tables that scroll inside their own box.

use std::fmt::Write;

use bawaba_domain::access::Principal;
use bawaba_domain::account::Account;
use bawaba_domain::calendar::ZoneConfig;
use bawaba_domain::fleet::FleetTruck;
use bawaba_domain::ledger::{Booking, BookingState};

use super::{esc, layout, zone_name};
use crate::agg::local_datetime;
use crate::codes::Codes;
use crate::i18n::Lang;

/// What happened (a notice) or went wrong (an error), shown above a page's cards.
pub fn flash(notice: Option<&str>, error: Option<&str>) -> String {
    let mut b = String::new();
    if let Some(e) = error {
        let _ = write!(b, r#"<p class="flash error" id="error">{}</p>"#, esc(e));
    }
    if let Some(n) = notice {
        let _ = write!(b, r#"<p class="flash" id="done">{}</p>"#, esc(n));
    }
    b
}

/// The home page's filters as chosen.
#[derive(Debug, Clone, Default)]
pub struct BookingFilterForm {
    pub state: String,
    pub zone: String,
    pub from: String,
    pub to: String,
}

fn filter_form(l: Lang, zones: &[ZoneConfig], f: &BookingFilterForm) -> String {
    let any = |key| format!(r#"<option value="">{}</option>"#, l.t(key));
    let states: String = BookingState::ALL
        .iter()
        .map(|s| {
            let code = s.as_str();
            let sel = if code == f.state { " selected" } else { "" };
            format!(
                r#"<option value="{code}"{sel}>{}</option>"#,
                Codes::State.word(l, code)
            )
        })
        .collect();
    format!(
        r#"<form method="get" action="/portal" class="card filters" id="bookings-filter"><label for="f-state">{state}</label><select id="f-state" name="state">{any_state}{states}</select><label for="f-zone">{zone}</label><select id="f-zone" name="zone">{any_zone}{zones}</select><label for="f-from">{from}</label><input type="date" id="f-from" name="from" value="{fv}"><label for="f-to">{to}</label><input type="date" id="f-to" name="to" value="{tv}"><button type="submit" id="filter-go">{go}</button></form>"#,
        state = l.t("portal.state"),
        any_state = any("portal.any"),
        zone = l.t("zone"),
        any_zone = any("portal.any"),
        zones = super::zone_options(l, zones, &f.zone),
        from = l.t("portal.from"),
        fv = esc(&f.from),
        to = l.t("portal.to"),
        tv = esc(&f.to),
        go = l.t("portal.filter"),
    )
}

/// The portal's home: the company's bookings as filtered (from yesterday on by default).
pub fn home(
    l: Lang,
    who: &Principal,
    (zones, filter): (&[ZoneConfig], &BookingFilterForm),
    bookings: &[Booking],
    flash: &str,
) -> String {
    let mut b = flash.to_owned();
    let _ = write!(
        b,
        r#"<p class="actions"><a class="button" href="/portal/book" id="book-link">{}</a></p>"#,
        l.t("portal.book")
    );
    b.push_str(&filter_form(l, zones, filter));
    b.push_str(&bookings_card(l, zones, bookings));
    layout(l, l.t("portal.title"), Some(who), "", &b)
}

fn bookings_card(l: Lang, zones: &[ZoneConfig], bookings: &[Booking]) -> String {
    if bookings.is_empty() {
        return format!(
            r#"<section class="card" id="bookings"><h2>{}</h2><p class="muted" id="no-bookings">{}</p></section>"#,
            l.t("portal.bookings"),
            l.t("portal.no_bookings")
        );
    }
    let mut rows = String::new();
    for bk in bookings {
        let stops: Vec<String> = bk
            .stops
            .iter()
            .map(|s| {
                format!(
                    r#"{} · <bdi dir="ltr">{}</bdi> · {}"#,
                    esc(zone_name(l, zones, s.zone.as_str())),
                    local_datetime(s.window_start),
                    Codes::Transaction.html(l, s.transaction_type.as_str())
                )
            })
            .collect();
        let _ = write!(
            rows,
            r#"<tr id="booking-{id}"><td><a href="/portal/bookings/{id}"><bdi dir="ltr">{id}</bdi></a></td><td><bdi dir="ltr">{plate}</bdi></td><td>{stops}</td><td>{state}</td></tr>"#,
            id = bk.id,
            plate = esc(bk.plate.as_str()),
            stops = stops.join("<br>"),
            state = Codes::State.html(l, bk.state.as_str()),
        );
    }
    format!(
        r#"<section class="card" id="bookings"><h2>{title}</h2><div class="table-wrap"><table><thead><tr><th>{id}</th><th>{plate}</th><th>{visit}</th><th>{state}</th></tr></thead><tbody>{rows}</tbody></table></div></section>"#,
        title = l.t("portal.bookings"),
        id = l.t("portal.booking_id"),
        plate = l.t("plate"),
        visit = l.t("portal.visit"),
        state = l.t("portal.state"),
    )
}

/// The fleet form's fields as typed (shown again after a refusal).
#[derive(Debug, Clone, Default)]
pub struct TruckForm {
    pub plate: String,
    pub tag: String,
    pub driver: String,
    pub phone: String,
}

/// The fleet page: the form adding (or changing) a truck, and the trucks.
pub fn fleet(
    l: Lang,
    who: &Principal,
    trucks: &[FleetTruck],
    form: &TruckForm,
    flash: &str,
) -> String {
    let mut b = flash.to_owned();
    let _ = write!(
        b,
        r#"<section class="card"><h2>{title}</h2><form method="post" action="/portal/fleet" class="stack" id="truck-form"><label for="plate">{plate}</label><input id="plate" name="plate" dir="ltr" value="{pv}" maxlength="20" required autocomplete="off"><label for="tag">{tag}</label><input id="tag" name="tag" dir="ltr" value="{tv}" maxlength="64" autocomplete="off"><label for="driver">{driver}</label><input id="driver" name="driver" value="{dv}" maxlength="100"><label for="phone">{phone}</label><input id="phone" name="phone" type="tel" dir="ltr" value="{phv}" maxlength="24" placeholder="07XXXXXXXX"><button type="submit" id="truck-save">{save}</button><p class="muted">{hint}</p></form></section>"#,
        title = l.t("fleet.add"),
        plate = l.t("plate"),
        tag = l.t("fleet.tag"),
        driver = l.t("fleet.driver"),
        phone = l.t("fleet.phone"),
        save = l.t("fleet.save"),
        hint = l.t("fleet.hint"),
        pv = esc(&form.plate),
        tv = esc(&form.tag),
        dv = esc(&form.driver),
        phv = esc(&form.phone),
    );
    b.push_str(&trucks_card(l, trucks));
    layout(l, l.t("fleet.title"), Some(who), "", &b)
}

fn trucks_card(l: Lang, trucks: &[FleetTruck]) -> String {
    if trucks.is_empty() {
        return format!(
            r#"<section class="card" id="trucks"><p class="muted" id="no-trucks">{}</p></section>"#,
            l.t("fleet.none")
        );
    }
    let mut rows = String::new();
    for t in trucks {
        let tag = t.epc.as_ref().map(ToString::to_string).unwrap_or_default();
        let phone = t
            .phone
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        let _ = write!(
            rows,
            r#"<tr id="truck-{plate}"><td><bdi dir="ltr">{plate}</bdi></td><td><bdi dir="ltr" class="mono">{tag}</bdi></td><td>{driver}</td><td><bdi dir="ltr">{phone}</bdi></td><td><form method="post" action="/portal/fleet/remove" class="inline"><input type="hidden" name="plate" value="{plate}"><button type="submit" class="reject" id="remove-{plate}">{remove}</button></form></td></tr>"#,
            plate = esc(t.plate.as_str()),
            tag = esc(&tag),
            driver = esc(&t.driver),
            phone = esc(&phone),
            remove = l.t("fleet.remove"),
        );
    }
    format!(
        r#"<section class="card" id="trucks"><h2>{title}</h2><div class="table-wrap"><table><thead><tr><th>{plate}</th><th>{tag}</th><th>{driver}</th><th>{phone}</th><th></th></tr></thead><tbody>{rows}</tbody></table></div></section>"#,
        title = l.t("fleet.title"),
        plate = l.t("plate"),
        tag = l.t("fleet.tag"),
        driver = l.t("fleet.driver"),
        phone = l.t("fleet.phone"),
    )
}

/// The account form's fields as typed (never the password).
#[derive(Debug, Clone, Default)]
pub struct AccountForm {
    pub company: String,
    pub login: String,
    pub name: String,
    pub admin: bool,
}

/// A company's accounts: the form creating one, and the accounts with their buttons. `base`
/// is where the forms post (`/portal/accounts` or `/authority/accounts`); `company` is the
/// company shown (the authority picks it).
pub fn accounts(
    l: Lang,
    who: &Principal,
    (base, company): (&str, &str),
    list: &[Account],
    form: &AccountForm,
    flash: &str,
) -> String {
    let mut b = flash.to_owned();
    let authority = who.role == bawaba_domain::access::Role::Authority;
    if authority {
        let _ = write!(
            b,
            r#"<form method="get" action="/authority/accounts" class="card search" id="company-pick"><label for="pick">{label}</label><input id="pick" name="company" dir="ltr" value="{c}" required maxlength="64"><button type="submit" id="company-go">{go}</button></form>"#,
            label = l.t("accounts.company"),
            c = esc(company),
            go = l.t("accounts.show"),
        );
    }
    b.push_str(&account_form(l, base, company, form));
    if !company.is_empty() || !authority {
        b.push_str(&accounts_card(l, who, base, company, list));
    }
    layout(l, l.t("accounts.title"), Some(who), "", &b)
}

fn account_form(l: Lang, base: &str, company: &str, f: &AccountForm) -> String {
    let checked = if f.admin { " checked" } else { "" };
    format!(
        r#"<section class="card"><h2>{title}</h2><form method="post" action="{base}" class="stack" id="account-form"><input type="hidden" name="company" value="{c}"><label for="login">{login}</label><input id="login" name="login" dir="ltr" value="{lv}" maxlength="40" required autocomplete="off" autocapitalize="none" spellcheck="false"><label for="name">{name}</label><input id="name" name="name" value="{nv}" maxlength="100" required><label for="password">{password}</label><input id="password" name="password" type="password" minlength="10" maxlength="200" autocomplete="new-password"><label class="check"><input type="checkbox" name="admin" value="on" id="admin"{checked}> {admin}</label><button type="submit" id="account-create">{create}</button><p class="muted">{hint}</p></form></section>"#,
        title = l.t("accounts.new"),
        c = esc(if company.is_empty() {
            &f.company
        } else {
            company
        }),
        login = l.t("login.name"),
        lv = esc(&f.login),
        name = l.t("accounts.person"),
        nv = esc(&f.name),
        password = l.t("login.password"),
        admin = l.t("accounts.admin"),
        create = l.t("accounts.create"),
        hint = l.t("accounts.hint"),
    )
}

fn accounts_card(l: Lang, who: &Principal, base: &str, company: &str, list: &[Account]) -> String {
    if list.is_empty() {
        return format!(
            r#"<section class="card" id="accounts"><p class="muted" id="no-accounts">{}</p></section>"#,
            l.t("accounts.none")
        );
    }
    let mut rows = String::new();
    for a in list {
        let own = who.account() == Some(a.login.as_str());
        let (flip, word, class) = if a.disabled {
            ("enable", l.t("accounts.enable"), "approve")
        } else {
            ("disable", l.t("accounts.disable"), "reject")
        };
        let button = if own {
            String::new()
        } else {
            format!(
                r#"<form method="post" action="{base}/change" class="inline"><input type="hidden" name="company" value="{c}"><input type="hidden" name="login" value="{login}"><button type="submit" name="change" value="{flip}" class="{class}" id="{flip}-{login}">{word}</button></form>"#,
                c = esc(company),
                login = esc(a.login.as_str()),
            )
        };
        let state = match (a.disabled, a.admin) {
            (true, _) => l.t("accounts.disabled"),
            (false, true) => l.t("accounts.admin"),
            (false, false) => l.t("accounts.user"),
        };
        let _ = write!(
            rows,
            r#"<tr id="account-{login}"><td><bdi dir="ltr">{login}</bdi></td><td>{name}</td><td>{state}</td><td>{button}</td></tr>"#,
            login = esc(a.login.as_str()),
            name = esc(&a.name),
        );
    }
    format!(
        r#"<section class="card" id="accounts"><h2>{title}</h2><div class="table-wrap"><table><thead><tr><th>{login}</th><th>{name}</th><th>{role}</th><th></th></tr></thead><tbody>{rows}</tbody></table></div></section>"#,
        title = l.t("accounts.title"),
        login = l.t("login.name"),
        name = l.t("accounts.person"),
        role = l.t("accounts.role"),
    )
}
