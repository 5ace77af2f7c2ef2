use bawaba_domain::access::Role;
use bawaba_domain::account::{
    ADDRESS_WINDOW_MINUTES, LOCKOUT_MINUTES, MAX_ADDRESS_FAILURES, MAX_FAILURES,
};
use chrono::TimeDelta;

use super::*;
use crate::Kind;
use crate::tests::{bed, principal};

fn new(login: &str, admin: bool) -> NewAccount {
    NewAccount {
        login: Login::parse(login).unwrap(),
        name: "أحمد حداد".into(),
        admin,
        password: format!("{login}-secret-pw"),
    }
}

fn acme() -> Option<CompanyId> {
    Some(CompanyId::parse("acme").unwrap())
}

#[tokio::test]
async fn the_authority_makes_an_admin_who_keeps_the_company_accounts() {
    let b = bed().await;
    let authority = principal(Role::Authority, None, None);
    b.app
        .create_account(&authority, acme(), new("ahmad", true))
        .await
        .unwrap();
    let (secret, admin) = b
        .app
        .log_in("Ahmad", "ahmad-secret-pw", Door::Web, None)
        .await
        .unwrap();
    assert!(secret.starts_with(SESSION_PREFIX));
    assert_eq!((admin.role, admin.admin), (Role::Company, true));
    assert_eq!(admin.company, acme());
    let again = b
        .app
        .authenticate_any(Some(&secret), Door::Web)
        .await
        .unwrap();
    assert_eq!(again.label, "ahmad");
    b.app
        .create_account(&admin, None, new("omar", false))
        .await
        .unwrap();
    let listed = b.app.accounts(&admin, None).await.unwrap();
    let logins: Vec<&str> = listed.iter().map(|a| a.login.as_str()).collect();
    assert_eq!(logins, ["ahmad", "omar"]);
    assert!(listed.iter().all(|a| a.hash.starts_with("$argon2id$")));
    let zeta = Some(CompanyId::parse("zeta").unwrap());
    let e = b.app.accounts(&admin, zeta).await.unwrap_err();
    assert_eq!(e.kind(), Kind::NotFound, "another company: as if none");
    let (_, omar) = b
        .app
        .log_in("omar", "omar-secret-pw", Door::Web, None)
        .await
        .unwrap();
    assert!(!omar.admin);
    let e = b.app.create_account(&omar, None, new("sami", false)).await;
    assert_eq!(e.unwrap_err().kind(), Kind::Forbidden, "not an admin");
    let e = b
        .app
        .set_webhook(&omar, None, "https://tms.acme.jo/in", "")
        .await;
    assert_eq!(
        e.unwrap_err().kind(),
        Kind::Forbidden,
        "the company's webhook"
    );
    b.app
        .set_webhook(&admin, None, "https://tms.acme.jo/in", "")
        .await
        .unwrap();
    let token = principal(Role::Company, Some("acme"), None);
    let e = b.app.accounts(&token, None).await.unwrap_err();
    assert_eq!(
        e.kind(),
        Kind::Forbidden,
        "a machine token keeps no accounts"
    );
    for role in [Role::Gate, Role::Operator] {
        let e = b.app.accounts(&principal(role, None, None), acme()).await;
        assert_eq!(e.unwrap_err().kind(), Kind::Forbidden);
    }
}

#[tokio::test]
async fn disabling_ends_the_session_and_an_admin_keeps_their_own() {
    let b = bed().await;
    let authority = principal(Role::Authority, None, None);
    for (login, admin) in [("ahmad", true), ("omar", false)] {
        b.app
            .create_account(&authority, acme(), new(login, admin))
            .await
            .unwrap();
    }
    let (_, admin) = b
        .app
        .log_in("ahmad", "ahmad-secret-pw", Door::Web, None)
        .await
        .unwrap();
    let (secret, _) = b
        .app
        .log_in("omar", "omar-secret-pw", Door::Web, None)
        .await
        .unwrap();
    let off = AccountChange {
        disabled: Some(true),
        ..AccountChange::default()
    };
    let own = Login::parse("ahmad").unwrap();
    let e = b.app.update_account(&admin, None, own, off.clone()).await;
    assert_eq!(e.unwrap_err().kind(), Kind::Invalid, "not their own");
    let omar = Login::parse("omar").unwrap();
    b.app.update_account(&admin, None, omar, off).await.unwrap();
    let e = b.app.authenticate_any(Some(&secret), Door::Web).await;
    assert_eq!(e.unwrap_err().kind(), Kind::Unauthenticated);
    let e = b
        .app
        .log_in("omar", "omar-secret-pw", Door::Web, None)
        .await;
    assert_eq!(e.unwrap_err().to_string(), LOGIN_REFUSED);
}

#[tokio::test]
async fn failures_lock_the_account_and_say_nothing_of_why() {
    let b = bed().await;
    let authority = principal(Role::Authority, None, None);
    b.app
        .create_account(&authority, acme(), new("ahmad", false))
        .await
        .unwrap();
    let unknown = b.app.log_in("nobody", "whatever-pw", Door::Web, None).await;
    assert_eq!(unknown.unwrap_err().to_string(), LOGIN_REFUSED);
    for _ in 0..MAX_FAILURES {
        let e = b
            .app
            .log_in("ahmad", "wrong-password", Door::Web, None)
            .await;
        assert_eq!(e.unwrap_err().to_string(), LOGIN_REFUSED);
    }
    let e = b
        .app
        .log_in("ahmad", "ahmad-secret-pw", Door::Web, None)
        .await;
    assert_eq!(e.unwrap_err().to_string(), LOGIN_REFUSED, "locked");
    b.clock
        .set(b.clock.now() + TimeDelta::minutes(LOCKOUT_MINUTES));
    let (secret, _) = b
        .app
        .log_in("ahmad", "ahmad-secret-pw", Door::Web, None)
        .await
        .unwrap();
    b.app.log_out(&secret).await.unwrap();
    let e = b.app.authenticate_any(Some(&secret), Door::Web).await;
    assert_eq!(e.unwrap_err().kind(), Kind::Unauthenticated, "logged out");
}

/// One address that fails too often is stopped, whichever names it tries and before any
/// password is checked; another address is not, and the window's end lets it try again.
#[tokio::test]
async fn an_address_that_fails_too_often_is_stopped_for_its_window() {
    let b = bed().await;
    let authority = principal(Role::Authority, None, None);
    b.app
        .create_account(&authority, acme(), new("ahmad", false))
        .await
        .unwrap();
    let guesser = Some(IpAddr::from([192, 0, 2, 7]));
    for n in 0..MAX_ADDRESS_FAILURES {
        let name = format!("name{n}");
        let e = b.app.log_in(&name, "guess-pw-x", Door::Web, guesser).await;
        assert_eq!(e.unwrap_err().kind(), Kind::Unauthenticated);
    }
    let e = b
        .app
        .log_in("ahmad", "ahmad-secret-pw", Door::Web, guesser)
        .await;
    let e = e.unwrap_err();
    assert_eq!(e.kind(), Kind::Exhausted, "even the right password: {e}");
    assert!(e.to_string().contains("15 minutes"), "{e}");
    let e = b
        .app
        .log_in_token("bwb_nonsense", Door::Web, guesser)
        .unwrap_err();
    assert_eq!(e.kind(), Kind::Exhausted, "a token neither");
    let office = Some(IpAddr::from([192, 0, 2, 8]));
    let ok = b
        .app
        .log_in("ahmad", "ahmad-secret-pw", Door::Web, office)
        .await;
    assert!(ok.is_ok(), "another address");
    b.clock
        .set(b.clock.now() + TimeDelta::minutes(ADDRESS_WINDOW_MINUTES));
    let ok = b
        .app
        .log_in("ahmad", "ahmad-secret-pw", Door::Web, guesser)
        .await;
    assert!(ok.is_ok(), "the window ended");
}

#[tokio::test]
async fn an_account_without_a_password_gets_one_made_once() {
    let b = bed().await;
    let authority = principal(Role::Authority, None, None);
    let given = b
        .app
        .create_account(&authority, acme(), new("ahmad", true))
        .await;
    assert_eq!(given.unwrap().1, None, "a password given is not answered");
    let blank = NewAccount {
        password: String::new(),
        ..new("omar", false)
    };
    let (_, made) = b
        .app
        .create_account(&authority, acme(), blank)
        .await
        .unwrap();
    let made = made.expect("a password made");
    assert_eq!(made.len(), 19, "{made}");
    b.app.log_in("omar", &made, Door::Web, None).await.unwrap();
}

#[tokio::test]
async fn a_bad_account_is_refused_naming_the_field() {
    let b = bed().await;
    let authority = principal(Role::Authority, None, None);
    let short = NewAccount {
        password: "short".into(),
        ..new("ahmad", true)
    };
    let e = b
        .app
        .create_account(&authority, acme(), short)
        .await
        .unwrap_err();
    assert!(e.to_string().starts_with("password"), "{e}");
    let nameless = NewAccount {
        name: " ".into(),
        ..new("ahmad", true)
    };
    let e = b
        .app
        .create_account(&authority, acme(), nameless)
        .await
        .unwrap_err();
    assert!(e.to_string().starts_with("name"), "{e}");
    let e = b
        .app
        .create_account(&authority, None, new("ahmad", true))
        .await;
    assert_eq!(
        e.unwrap_err().kind(),
        Kind::Invalid,
        "the authority names the company"
    );
    b.app
        .create_account(&authority, acme(), new("ahmad", true))
        .await
        .unwrap();
    let e = b
        .app
        .create_account(&authority, acme(), new("ahmad", false))
        .await;
    assert_eq!(
        e.unwrap_err().kind(),
        Kind::Precondition,
        "the name is taken"
    );
}
