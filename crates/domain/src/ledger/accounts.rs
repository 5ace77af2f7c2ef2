//! Portal accounts and their sessions (see [`crate::account`]), kept with the ledger so each
//! change commits with its audit record.

use chrono::{DateTime, TimeDelta, Utc};

use super::{Ledger, Touched};
use crate::account::{Account, AccountUpdate, LOCKOUT_MINUTES, Login, MAX_FAILURES, Session};
use crate::audit::{self, AuditKind, AuditRecord, Fields, Who};
use crate::ids::CompanyId;
use crate::{Error, Result};

impl Ledger {
    pub fn account(&self, login: &Login) -> Option<&Account> {
        self.accounts.get(login)
    }

    /// `company`'s accounts, by login name.
    pub fn accounts(&self, company: &CompanyId) -> impl Iterator<Item = &Account> {
        self.accounts
            .values()
            .filter(move |a| a.company == *company)
    }

    /// Every account (what a store persists).
    pub fn all_accounts(&self) -> impl Iterator<Item = &Account> {
        self.accounts.values()
    }

    pub fn session(&self, id: &str) -> Option<&Session> {
        self.sessions.get(id)
    }

    /// Adds an account; its login name must be free.
    pub fn create_account(&mut self, a: Account, who: &Who, now: DateTime<Utc>) -> Result<Touched> {
        if self.accounts.contains_key(&a.login) {
            return Err(Error::Precondition(format!(
                "the login name {} is taken",
                a.login
            )));
        }
        let record = AuditRecord {
            changes: audit::diff(&Fields::new(), &fields(&a)),
            ..record(&a, AuditKind::AccountCreated, who, now)
        };
        let login = a.login.clone();
        self.accounts.insert(login.clone(), a);
        Ok(Touched {
            accounts: [login].into(),
            audit: vec![record],
            ..Touched::default()
        })
    }

    /// Changes an account of `company` (any company's for `None`: the authority). Disabling
    /// it or changing its password ends its sessions.
    pub fn update_account(
        &mut self,
        login: &Login,
        company: Option<&CompanyId>,
        u: AccountUpdate,
        who: &Who,
        now: DateTime<Utc>,
    ) -> Result<Touched> {
        let a = self
            .accounts
            .get_mut(login)
            .filter(|a| company.is_none_or(|c| a.company == *c))
            .ok_or_else(|| Error::NotFound {
                what: "account",
                id: login.to_string(),
            })?;
        let before = fields(a);
        let ends = u.hash.is_some() || u.disabled == Some(true);
        a.name = u.name.unwrap_or_else(|| a.name.clone());
        a.admin = u.admin.unwrap_or(a.admin);
        a.disabled = u.disabled.unwrap_or(a.disabled);
        if let Some(hash) = u.hash {
            a.hash = hash;
            a.failures = 0;
            a.locked_until = None;
        }
        let mut changes = audit::diff(&before, &fields(a));
        if ends {
            changes.extend(audit::diff(
                &vec![("sessions".into(), String::new())],
                &vec![("sessions".into(), "ended".into())],
            ));
        }
        let record = AuditRecord {
            changes,
            ..record(a, AuditKind::AccountChanged, who, now)
        };
        let mut t = Touched {
            accounts: [login.clone()].into(),
            audit: vec![record],
            ..Touched::default()
        };
        if ends {
            t.sessions = self.end_sessions_of(login, |_| true);
        }
        Ok(t)
    }

    /// Records a login: `Some` session when the password was right, `None` when not. A
    /// failure counts towards the lockout ([`MAX_FAILURES`] in a row lock the account for
    /// [`LOCKOUT_MINUTES`], audited); a success starts over and opens the session (and
    /// forgets the account's expired ones). Refused as not found for a disabled or locked
    /// account, or one that does not exist.
    pub fn record_login(
        &mut self,
        login: &Login,
        session: Option<Session>,
        now: DateTime<Utc>,
    ) -> Result<Touched> {
        let a = self
            .accounts
            .get_mut(login)
            .filter(|a| !a.disabled && !a.locked(now))
            .ok_or_else(|| Error::NotFound {
                what: "account",
                id: login.to_string(),
            })?;
        let mut t = Touched {
            accounts: [login.clone()].into(),
            ..Touched::default()
        };
        let Some(session) = session else {
            a.failures += 1;
            if a.failures >= MAX_FAILURES {
                a.failures = 0;
                a.locked_until = Some(now + TimeDelta::minutes(LOCKOUT_MINUTES));
                let locked = Who::named("system");
                t.audit.push(AuditRecord {
                    changes: audit::diff(
                        &Fields::new(),
                        &vec![("failed_logins".into(), MAX_FAILURES.to_string())],
                    ),
                    ..record(a, AuditKind::AccountLocked, &locked, now)
                });
            }
            return Ok(t);
        };
        a.failures = 0;
        a.locked_until = None;
        t.sessions = self.end_sessions_of(login, |s| !s.live(now));
        t.sessions.insert(session.id.clone());
        self.sessions.insert(session.id.clone(), session);
        Ok(t)
    }

    /// Ends a session (logging out); nothing to do for one that is gone.
    pub fn end_session(&mut self, id: &str) -> Touched {
        let gone = self.sessions.remove(id).is_some();
        Touched {
            sessions: if gone {
                [id.to_owned()].into()
            } else {
                Default::default()
            },
            ..Touched::default()
        }
    }

    fn end_sessions_of(
        &mut self,
        login: &Login,
        which: impl Fn(&Session) -> bool,
    ) -> std::collections::BTreeSet<String> {
        let ids: std::collections::BTreeSet<String> = self
            .sessions
            .values()
            .filter(|s| s.login == *login && which(s))
            .map(|s| s.id.clone())
            .collect();
        for id in &ids {
            self.sessions.remove(id);
        }
        ids
    }
}

fn record(a: &Account, kind: AuditKind, who: &Who, at: DateTime<Utc>) -> AuditRecord {
    AuditRecord {
        at,
        who: who.clone(),
        kind,
        zone: None,
        objects: vec![
            format!("company:{}", a.company),
            format!("account:{}", a.login),
        ],
        changes: Vec::new(),
    }
}

/// An account's audited fields (never the password's hash).
fn fields(a: &Account) -> Fields {
    vec![
        ("login".into(), a.login.to_string()),
        ("name".into(), a.name.clone()),
        ("admin".into(), a.admin.to_string()),
        ("disabled".into(), a.disabled.to_string()),
    ]
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(m: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 8, 6, 0, 0).unwrap() + TimeDelta::minutes(m)
    }

    fn account(login: &str, company: &str) -> Account {
        Account {
            login: Login::parse(login).unwrap(),
            company: CompanyId::parse(company).unwrap(),
            name: "Ahmad".into(),
            admin: false,
            hash: "$argon2id$x".into(),
            disabled: false,
            failures: 0,
            locked_until: None,
            created_at: at(0),
        }
    }

    fn session(id: &str, login: &str, m: i64) -> Option<Session> {
        Some(Session::new(id.into(), Login::parse(login).unwrap(), at(m)))
    }

    #[test]
    fn a_login_name_is_taken_once() {
        let mut l = Ledger::new();
        let who = Who::named("authority");
        let t = l
            .create_account(account("ahmad", "acme"), &who, at(0))
            .unwrap();
        assert_eq!(t.audit[0].kind, AuditKind::AccountCreated);
        assert!(
            !format!("{:?}", t.audit[0].changes).contains("argon"),
            "no hash"
        );
        let e = l
            .create_account(account("AHMAD", "beta"), &who, at(0))
            .unwrap_err();
        assert!(e.to_string().contains("taken"), "{e}");
    }

    #[test]
    fn five_failures_lock_for_a_while_and_a_success_starts_over() {
        let mut l = Ledger::new();
        l.create_account(account("ahmad", "acme"), &Who::system(), at(0))
            .unwrap();
        let ahmad = Login::parse("ahmad").unwrap();
        for _ in 0..4 {
            assert!(
                l.record_login(&ahmad, None, at(1))
                    .unwrap()
                    .audit
                    .is_empty()
            );
        }
        l.record_login(&ahmad, session("s1", "ahmad", 1), at(1))
            .unwrap();
        assert_eq!(
            l.account(&ahmad).unwrap().failures,
            0,
            "a success starts over"
        );
        for _ in 0..4 {
            l.record_login(&ahmad, None, at(2)).unwrap();
        }
        let t = l.record_login(&ahmad, None, at(2)).unwrap();
        assert_eq!(t.audit[0].kind, AuditKind::AccountLocked);
        let locked = l.record_login(&ahmad, session("s2", "ahmad", 3), at(3));
        assert!(
            matches!(locked, Err(Error::NotFound { .. })),
            "even the right password"
        );
        let later = at(2 + LOCKOUT_MINUTES);
        l.record_login(&ahmad, session("s3", "ahmad", 17), later)
            .unwrap();
        assert!(l.session("s3").is_some());
    }

    #[test]
    fn disabling_ends_the_sessions_and_only_the_own_company_may() {
        let mut l = Ledger::new();
        let who = Who::named("admin");
        l.create_account(account("ahmad", "acme"), &who, at(0))
            .unwrap();
        let ahmad = Login::parse("ahmad").unwrap();
        l.record_login(&ahmad, session("s1", "ahmad", 1), at(1))
            .unwrap();
        let off = AccountUpdate {
            disabled: Some(true),
            ..AccountUpdate::default()
        };
        let beta = CompanyId::parse("beta").unwrap();
        let e = l
            .update_account(&ahmad, Some(&beta), off.clone(), &who, at(2))
            .unwrap_err();
        assert!(matches!(e, Error::NotFound { .. }), "another company's");
        let acme = CompanyId::parse("acme").unwrap();
        let t = l
            .update_account(&ahmad, Some(&acme), off, &who, at(2))
            .unwrap();
        assert_eq!(t.sessions.len(), 1);
        assert!(l.session("s1").is_none());
        let e = l.record_login(&ahmad, session("s2", "ahmad", 3), at(3));
        assert!(e.is_err(), "a disabled account does not log in");
    }

    #[test]
    fn a_success_forgets_expired_sessions_and_logout_ends_one() {
        let mut l = Ledger::new();
        l.create_account(account("ahmad", "acme"), &Who::system(), at(0))
            .unwrap();
        let ahmad = Login::parse("ahmad").unwrap();
        l.record_login(&ahmad, session("old", "ahmad", 0), at(0))
            .unwrap();
        let next_day = at(24 * 60);
        let t = l
            .record_login(&ahmad, session("new", "ahmad", 24 * 60), next_day)
            .unwrap();
        assert!(t.sessions.contains("old") && l.session("old").is_none());
        assert!(l.end_session("new").sessions.contains("new"));
        assert!(l.end_session("new").is_empty());
    }
}
