//! The company portal's routes: the bookings, the fleet, the accounts (a company admin's own
//! company's; the authority's of the company it names). A refused form shows its page again
//! with what was typed (never a password) and the field named, with the error's status.

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use bawaba_app::{AccountChange, BookingQuery, NewAccount, TruckDetails};
use bawaba_domain::access::{Principal, Role};
use bawaba_domain::account::Login;
use bawaba_domain::epc::Epc;
use bawaba_domain::fleet::Phone;
use bawaba_domain::ids::{CompanyId, ZoneId};
use bawaba_domain::ledger::BookingState;
use bawaba_domain::plate::Plate;
use bawaba_store::Store;
use chrono::TimeDelta;
use serde::Deserialize;

use super::{App, Error, error_status, failed, page, page_for, redirect};
use crate::agg::Day;
use crate::i18n::Lang;
use crate::pages::portal;

const COMPANY: &[Role] = &[Role::Company];
const KEEPERS: &[Role] = &[Role::Company, Role::Authority];
/// Bookings the home page lists.
const HOME_BOOKINGS: usize = 100;

#[derive(Debug, Default, Deserialize)]
pub(super) struct PortalQuery {
    lang: Option<String>,
    /// What was just done.
    done: Option<String>,
    /// The company whose accounts the authority looks at.
    company: Option<String>,
    /// The bookings' filters: state, zone, and the days (local) their windows are in.
    state: Option<String>,
    zone: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

impl PortalQuery {
    /// The bookings the home page lists: from `from` (yesterday by default) to `to`
    /// (included), of `zone`, in `state`.
    fn bookings(&self, now: chrono::DateTime<chrono::Utc>) -> Result<BookingQuery, Error> {
        let some = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let day = |raw: &str, field: &str| {
            chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                .map(Day::new)
                .map_err(|_| Error::invalid(field, format!("{raw:?} is not a date (YYYY-MM-DD)")))
        };
        let from = match some(&self.from) {
            Some(d) => day(&d, "from")?,
            None => Day::containing(now - TimeDelta::days(1)),
        };
        let to = some(&self.to).map(|d| day(&d, "to")).transpose()?;
        let state = match some(&self.state) {
            Some(code) => Some(
                BookingState::ALL
                    .into_iter()
                    .find(|s| s.as_str() == code)
                    .ok_or_else(|| {
                        Error::invalid("state", format!("{code:?} is not a booking state"))
                    })?,
            ),
            None => None,
        };
        let zone = some(&self.zone)
            .map(|z| ZoneId::parse(&z).map_err(|e| Error::from(e.in_field("zone"))))
            .transpose()?;
        Ok(BookingQuery {
            zone,
            state,
            window_from: Some(from.start),
            window_to: to.map(|d| d.end),
            page_size: HOME_BOOKINGS,
            ..BookingQuery::default()
        })
    }

    fn filter(&self) -> portal::BookingFilterForm {
        let v = |o: &Option<String>| o.clone().unwrap_or_default();
        portal::BookingFilterForm {
            state: v(&self.state),
            zone: v(&self.zone),
            from: v(&self.from),
            to: v(&self.to),
        }
    }
}

/// The notice for what was just `done`.
fn done_notice(l: Lang, done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "saved" => l.t("fleet.saved"),
        "removed" => l.t("fleet.removed"),
        "created" => l.t("accounts.created"),
        "changed" => l.t("accounts.changed"),
        _ => return None,
    })
}

/// The portal's home: the company's bookings from yesterday on.
pub(super) async fn home<S: Store>(
    State(app): State<App<S>>,
    Query(q): Query<PortalQuery>,
    headers: HeaderMap,
) -> Response {
    let (p, l, cookie) = match page_for(&app, &headers, COMPANY, q.lang.clone()).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let d = &app.0.d.app;
    let zones = match d.list_zones(&p).await {
        Ok(z) => z,
        Err(e) => return failed(l, &Error::App(e), cookie),
    };
    let filter = q.filter();
    let listed = match q.bookings(super::now(&app)) {
        Ok(query) => d.list_bookings(&p, query).await.map_err(Error::App),
        Err(e) => Err(e),
    };
    let (items, error) = match listed {
        Ok(list) => (list.items, None),
        Err(e) => (Vec::new(), Some(e)),
    };
    let status = error.as_ref().map_or(StatusCode::OK, |e| error_status(e).0);
    let message = error.as_ref().map(|e| crate::pages::errors::say(l, e));
    let flash = portal::flash(done_notice(l, q.done.as_deref()), message.as_deref());
    let body = portal::home(l, &p, (&zones, &filter), &items, &flash);
    page(status, body, cookie)
}

// ---- the fleet --------------------------------------------------------------------------

pub(super) async fn fleet_page<S: Store>(
    State(app): State<App<S>>,
    Query(q): Query<PortalQuery>,
    headers: HeaderMap,
) -> Response {
    let (p, l, cookie) = match page_for(&app, &headers, COMPANY, q.lang.clone()).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let notice = done_notice(l, q.done.as_deref());
    show_fleet(
        &app,
        (&p, l, cookie),
        &portal::TruckForm::default(),
        (notice, None),
    )
    .await
}

async fn show_fleet<S: Store>(
    app: &App<S>,
    (p, l, cookie): (&Principal, Lang, Option<String>),
    form: &portal::TruckForm,
    (notice, error): (Option<&str>, Option<&Error>),
) -> Response {
    match app.0.d.app.fleet(p, None).await {
        Ok(trucks) => {
            let status = error.map_or(StatusCode::OK, |e| error_status(e).0);
            let message = error.map(|e| crate::pages::errors::say(l, e));
            let flash = portal::flash(notice, message.as_deref());
            page(status, portal::fleet(l, p, &trucks, form, &flash), cookie)
        }
        Err(e) => failed(l, &Error::App(e), cookie),
    }
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct TruckSubmit {
    #[serde(default)]
    plate: String,
    #[serde(default)]
    tag: String,
    #[serde(default)]
    driver: String,
    #[serde(default)]
    phone: String,
}

impl TruckSubmit {
    fn details(&self) -> Result<TruckDetails, bawaba_domain::Error> {
        let optional = |s: &str| Some(s.trim()).filter(|s| !s.is_empty()).map(str::to_owned);
        Ok(TruckDetails {
            plate: Plate::parse(&self.plate).map_err(|e| e.in_field("plate"))?,
            epc: optional(&self.tag)
                .map(|t| Epc::parse_hex(&t).map_err(|e| e.in_field("tag")))
                .transpose()?,
            driver: self.driver.clone(),
            phone: optional(&self.phone)
                .map(|t| Phone::parse(&t).map_err(|e| e.in_field("phone")))
                .transpose()?,
        })
    }

    fn form(&self) -> portal::TruckForm {
        portal::TruckForm {
            plate: self.plate.clone(),
            tag: self.tag.clone(),
            driver: self.driver.clone(),
            phone: self.phone.clone(),
        }
    }
}

/// Adds a truck to the company's fleet (or changes the one with its plate).
pub(super) async fn save_truck<S: Store>(
    State(app): State<App<S>>,
    headers: HeaderMap,
    Form(f): Form<TruckSubmit>,
) -> Response {
    let (p, l, cookie) = match page_for(&app, &headers, COMPANY, None).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let saved = match f.details() {
        Ok(t) => app.0.d.app.save_truck(&p, None, t).await,
        Err(e) => Err(e.into()),
    };
    match saved {
        Ok(_) => redirect("/portal/fleet?done=saved", None),
        Err(e) => {
            let e = Error::App(e);
            show_fleet(&app, (&p, l, cookie), &f.form(), (None, Some(&e))).await
        }
    }
}

/// Takes a truck out of the company's fleet.
pub(super) async fn remove_truck<S: Store>(
    State(app): State<App<S>>,
    headers: HeaderMap,
    Form(f): Form<TruckSubmit>,
) -> Response {
    let (p, l, cookie) = match page_for(&app, &headers, COMPANY, None).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let removed = match Plate::parse(&f.plate) {
        Ok(plate) => app.0.d.app.remove_truck(&p, None, plate).await,
        Err(e) => Err(e.in_field("plate").into()),
    };
    match removed {
        Ok(()) => redirect("/portal/fleet?done=removed", None),
        Err(e) => {
            let blank = portal::TruckForm::default();
            let e = Error::App(e);
            show_fleet(&app, (&p, l, cookie), &blank, (None, Some(&e))).await
        }
    }
}

// ---- accounts ---------------------------------------------------------------------------

/// Where the account forms of `p` post.
fn base(p: &Principal) -> &'static str {
    if p.role == Role::Authority {
        "/authority/accounts"
    } else {
        "/portal/accounts"
    }
}

/// The company the request names: the authority's choice (none yet: empty), a company's own.
fn named(p: &Principal, raw: Option<&str>) -> Result<Option<CompanyId>, Error> {
    match (p.role, raw.map(str::trim).filter(|s| !s.is_empty())) {
        (Role::Authority, Some(c)) => Ok(Some(
            CompanyId::parse(c).map_err(|e| e.in_field("company"))?,
        )),
        _ => Ok(None),
    }
}

pub(super) async fn accounts_page<S: Store>(
    State(app): State<App<S>>,
    Query(q): Query<PortalQuery>,
    headers: HeaderMap,
) -> Response {
    let (p, l, cookie) = match page_for(&app, &headers, KEEPERS, q.lang.clone()).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let notice = done_notice(l, q.done.as_deref());
    let form = portal::AccountForm::default();
    let shown = (q.company.as_deref(), &form, notice, None);
    show_accounts(&app, (&p, l, cookie), shown).await
}

type Shown<'a> = (
    Option<&'a str>,
    &'a portal::AccountForm,
    Option<&'a str>,
    Option<&'a Error>,
);

async fn show_accounts<S: Store>(
    app: &App<S>,
    (p, l, cookie): (&Principal, Lang, Option<String>),
    (company, form, notice, error): Shown<'_>,
) -> Response {
    let company = match named(p, company) {
        Ok(c) => c,
        Err(e) => return failed(l, &e, cookie),
    };
    let list = match (&company, p.role) {
        (None, Role::Authority) => Ok(Vec::new()),
        _ => app.0.d.app.accounts(p, company.clone()).await,
    };
    let shown_company = company.as_ref().map_or("", |c| c.as_str()).to_owned();
    match list {
        Ok(list) => {
            let status = error.map_or(StatusCode::OK, |e| error_status(e).0);
            let message = error.map(|e| crate::pages::errors::say(l, e));
            let flash = portal::flash(notice, message.as_deref());
            let at = (base(p), shown_company.as_str());
            page(
                status,
                portal::accounts(l, p, at, &list, form, &flash),
                cookie,
            )
        }
        Err(e) => failed(l, &Error::App(e), cookie),
    }
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct AccountSubmit {
    #[serde(default)]
    company: String,
    #[serde(default)]
    login: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    admin: Option<String>,
    /// `enable` or `disable`.
    #[serde(default)]
    change: String,
}

/// Back to the accounts page of the company acted on, saying what was `done`.
fn back(p: &Principal, company: &str, done: &str) -> Response {
    let to = match p.role {
        Role::Authority => format!(
            "{}?company={}&done={done}",
            base(p),
            super::url_encode(company)
        ),
        _ => format!("{}?done={done}", base(p)),
    };
    redirect(&to, None)
}

/// Creates an account of the company (a company admin: their own; the authority: the one
/// named).
pub(super) async fn create_account<S: Store>(
    State(app): State<App<S>>,
    headers: HeaderMap,
    Form(f): Form<AccountSubmit>,
) -> Response {
    let (p, l, cookie) = match page_for(&app, &headers, KEEPERS, None).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let created = match (named(&p, Some(&f.company)), Login::parse(&f.login)) {
        (Ok(company), Ok(login)) => {
            let new = NewAccount {
                login,
                name: f.name.clone(),
                admin: f.admin.is_some(),
                password: f.password.clone(),
            };
            app.0
                .d
                .app
                .create_account(&p, company, new)
                .await
                .map_err(Error::App)
        }
        (Err(e), _) => Err(e),
        (_, Err(e)) => Err(Error::App(e.into())),
    };
    match created {
        Ok((_, None)) => back(&p, &f.company, "created"),
        // A password made (the form's was left empty): shown this once, not redirected.
        Ok((a, Some(made))) => {
            let notice = format!("{} {}: {made}", l.t("accounts.made"), a.login);
            let blank = portal::AccountForm::default();
            let shown = (
                Some(f.company.as_str()),
                &blank,
                Some(notice.as_str()),
                None,
            );
            show_accounts(&app, (&p, l, cookie), shown).await
        }
        Err(e) => {
            let form = portal::AccountForm {
                company: f.company.clone(),
                login: f.login.clone(),
                name: f.name.clone(),
                admin: f.admin.is_some(),
            };
            let shown = (Some(f.company.as_str()), &form, None, Some(&e));
            show_accounts(&app, (&p, l, cookie), shown).await
        }
    }
}

/// Disables or enables an account of the company.
pub(super) async fn change_account<S: Store>(
    State(app): State<App<S>>,
    headers: HeaderMap,
    Form(f): Form<AccountSubmit>,
) -> Response {
    let (p, l, cookie) = match page_for(&app, &headers, KEEPERS, None).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let disabled = match f.change.as_str() {
        "disable" => Ok(true),
        "enable" => Ok(false),
        other => Err(Error::invalid(
            "change",
            format!("{other:?}; expected enable or disable"),
        )),
    };
    let changed = match (
        named(&p, Some(&f.company)),
        Login::parse(&f.login),
        disabled,
    ) {
        (Ok(company), Ok(login), Ok(disabled)) => {
            let c = AccountChange {
                disabled: Some(disabled),
                ..AccountChange::default()
            };
            let done = app.0.d.app.update_account(&p, company, login, c).await;
            done.map_err(Error::App)
        }
        (Err(e), ..) | (.., Err(e)) => Err(e),
        (_, Err(e), _) => Err(Error::App(e.into())),
    };
    match changed {
        Ok(()) => back(&p, &f.company, "changed"),
        Err(e) => {
            let blank = portal::AccountForm::default();
            let shown = (Some(f.company.as_str()), &blank, None, Some(&e));
            show_accounts(&app, (&p, l, cookie), shown).await
        }
    }
}
