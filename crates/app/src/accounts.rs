//! The portal's accounts (see `bawaba_domain::account`): the authority creates a company's
//! accounts (its first admin), a company admin creates, changes and disables the company's;
//! everyone logs in with a login name and a password and gets a session.
//!
//! Passwords are hashed with argon2id (the crate's defaults: 19 MiB, 2 passes), on the
//! blocking pool. A login that fails says the same whatever failed (no such name, wrong
//! password, disabled, locked), and an unknown name costs as much as a wrong password, so
//! nobody learns which names exist. A session's secret (`bws_` and 64 hex digits) is shown
//! once, to the browser's cookie; the store keeps its SHA-256.

use std::net::IpAddr;
use std::sync::{LazyLock, PoisonError};

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use bawaba_domain::access::{ACCOUNT_PREFIX, Principal, Role};
use bawaba_domain::account::{self, Account, AccountUpdate, Login, Session};
use bawaba_domain::audit::{Door, Who};
use bawaba_domain::ids::CompanyId;
use bawaba_store::Store;
use sha2::{Digest, Sha256};

use crate::{App, Error, Result, scope};

/// What a session's secret starts with (API tokens start `bwb_`).
pub const SESSION_PREFIX: &str = "bws_";

/// The refusal of every failed login.
pub const LOGIN_REFUSED: &str = "wrong login name or password";

/// A new account, as its creator gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAccount {
    pub login: Login,
    pub name: String,
    pub admin: bool,
    pub password: String,
}

/// What a company admin changes of an account; `None` keeps it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountChange {
    pub name: Option<String>,
    pub admin: Option<bool>,
    pub disabled: Option<bool>,
    pub password: Option<String>,
}

/// Refuses unless the caller keeps `company`'s accounts (the authority, or an admin of
/// that company; another company is answered as one that does not exist).
fn keeper(p: &Principal, company: Option<CompanyId>) -> Result<CompanyId> {
    scope::role(p, scope::BOOKERS)?;
    if p.role == Role::Company && !p.admin {
        return Err(Error::Refused(bawaba_domain::Error::Forbidden(
            "only a company admin keeps the company's accounts".into(),
        )));
    }
    scope::company(p, company, "company_id")
}

/// Refuses a company's person who is not its admin changing what the whole company shares
/// (its webhook): a machine token of the company, or an admin's session, may.
pub(crate) fn company_setting(p: &Principal) -> Result<()> {
    if p.account().is_some() && !p.admin {
        return Err(Error::Refused(bawaba_domain::Error::Forbidden(
            "only a company admin changes the company's webhook".into(),
        )));
    }
    Ok(())
}

/// The argon2id hash of `password`, as a PHC string (on the blocking pool).
async fn hash(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| failed(format!("hashing a password: {e}")))
    })
    .await
    .map_err(|e| failed(format!("hashing a password: {e}")))?
}

/// Whether `password` has the hash `phc` (on the blocking pool).
async fn verify(password: String, phc: String) -> bool {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .verify_password(password.as_bytes(), phc.as_str())
            .is_ok()
    })
    .await
    .unwrap_or(false)
}

/// The hash of a random password nobody knows, checked for unknown names so they cost
/// what a wrong password costs.
static DECOY: LazyLock<String> = LazyLock::new(|| {
    let mut pw = [0u8; 16];
    let _ = getrandom::fill(&mut pw);
    Argon2::default()
        .hash_password(&pw)
        .map(|h| h.to_string())
        .unwrap_or_default()
});

fn failed(why: String) -> Error {
    Error::Store(bawaba_store::Error::Storage(why))
}

/// A session's id: the SHA-256 of its secret, in hex.
pub fn session_id(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn new_secret() -> Result<String> {
    Ok(format!("{SESSION_PREFIX}{}", crate::random_hex(32)?))
}

/// A first password for a person to type once: 16 hex digits in groups of four (64 bits).
fn made_password() -> Result<String> {
    let hex = crate::random_hex(8)?;
    let groups: Vec<&str> = (0..4).map(|i| &hex[i * 4..i * 4 + 4]).collect();
    Ok(groups.join("-"))
}

/// The caller a session stands for.
fn principal(a: &Account, door: Door) -> Principal {
    Principal {
        role: Role::Company,
        company: Some(a.company.clone()),
        zone: None,
        label: a.login.to_string(),
        token: Some(format!("{ACCOUNT_PREFIX}{}", a.login)),
        door,
        admin: a.admin,
    }
}

impl<S: Store> App<S> {
    /// Creates an account of `company` (a company admin its own; the authority names one).
    /// An empty password has one made: answered with the account, the only time it is shown.
    pub async fn create_account(
        &self,
        p: &Principal,
        company: Option<CompanyId>,
        new: NewAccount,
    ) -> Result<(Account, Option<String>)> {
        let company = keeper(p, company)?;
        let name = account::person_name(&new.name)?;
        let made = match new.password.as_str() {
            "" => Some(made_password()?),
            _ => None,
        };
        let password = made.clone().unwrap_or(new.password);
        account::check_password(&new.login, &password)?;
        let now = self.clock.now();
        let a = Account {
            login: new.login,
            company,
            name,
            admin: new.admin,
            hash: hash(password).await?,
            disabled: false,
            failures: 0,
            locked_until: None,
            created_at: now,
        };
        self.store
            .create_account(a.clone(), Who::from(p), now)
            .await?;
        Ok((a, made))
    }

    /// Changes an account of `company`. An admin may not disable or demote themself (a
    /// company keeps someone who can keep its accounts).
    pub async fn update_account(
        &self,
        p: &Principal,
        company: Option<CompanyId>,
        login: Login,
        c: AccountChange,
    ) -> Result<()> {
        let company = keeper(p, company)?;
        let own = p.account() == Some(login.as_str());
        if own && (c.disabled == Some(true) || c.admin == Some(false)) {
            return Err(Error::invalid(
                "login",
                "an admin may not disable or demote their own account",
            ));
        }
        let name = c.name.as_deref().map(account::person_name).transpose()?;
        let hash = match c.password {
            Some(pw) => {
                account::check_password(&login, &pw)?;
                Some(hash(pw).await?)
            }
            None => None,
        };
        let u = AccountUpdate {
            name,
            admin: c.admin,
            disabled: c.disabled,
            hash,
        };
        let now = self.clock.now();
        let who = Who::from(p);
        Ok(self
            .store
            .update_account(login, Some(company), u, who, now)
            .await?)
    }

    /// `company`'s accounts, by login name.
    pub async fn accounts(
        &self,
        p: &Principal,
        company: Option<CompanyId>,
    ) -> Result<Vec<Account>> {
        let company = keeper(p, company)?;
        Ok(self.store.accounts(company).await?)
    }

    /// Logs in from `from` (the caller's network address, when known): the session's
    /// secret and the caller it stands for. Every failure is the same UNAUTHENTICATED;
    /// [`account::MAX_FAILURES`] in a row lock the account for [`account::LOCKOUT_MINUTES`]
    /// minutes, and an address that failed [`account::MAX_ADDRESS_FAILURES`] times is
    /// refused (RESOURCE_EXHAUSTED) before any password is checked, for the rest of its window.
    pub async fn log_in(
        &self,
        login: &str,
        password: &str,
        door: Door,
        from: Option<IpAddr>,
    ) -> Result<(String, Principal)> {
        self.throttled(from)?;
        let done = self.check_login(login, password, door).await;
        self.count_failure(from, &done);
        done
    }

    /// Logs a staff or system token in from `from`, with the same throttle as a password.
    pub fn log_in_token(&self, token: &str, door: Door, from: Option<IpAddr>) -> Result<Principal> {
        self.throttled(from)?;
        let done = self.authenticate(Some(token), door);
        self.count_failure(from, &done);
        done
    }

    /// Refuses `from` while it has failed too often.
    fn throttled(&self, from: Option<IpAddr>) -> Result<()> {
        let (Some(from), now) = (from, self.clock.now()) else {
            return Ok(());
        };
        let throttle = self.throttle.lock().unwrap_or_else(PoisonError::into_inner);
        throttle.check(from, now).map_err(|until| {
            let minutes = ((until - now).num_seconds() + 59).div_euclid(60);
            tracing::warn!(%from, minutes, "login refused: too many failures from the address");
            Error::Throttled(minutes)
        })
    }

    /// Counts `done` against `from` when it was a failed login.
    fn count_failure<T>(&self, from: Option<IpAddr>, done: &Result<T>) {
        if let (Some(from), Err(Error::Unauthenticated(_))) = (from, done) {
            let now = self.clock.now();
            let mut throttle = self.throttle.lock().unwrap_or_else(PoisonError::into_inner);
            throttle.failed(from, now);
        }
    }

    async fn check_login(
        &self,
        login: &str,
        password: &str,
        door: Door,
    ) -> Result<(String, Principal)> {
        let refused = || Error::Unauthenticated(LOGIN_REFUSED);
        let Ok(login) = Login::parse(login) else {
            verify(password.to_owned(), DECOY.clone()).await;
            return Err(refused());
        };
        let now = self.clock.now();
        let found = self.store.account(login.clone()).await?;
        let usable = found.filter(|a| !a.disabled && !a.locked(now));
        let phc = usable.as_ref().map_or(DECOY.as_str(), |a| a.hash.as_str());
        let right = verify(password.to_owned(), phc.to_owned()).await;
        let Some(a) = usable else {
            return Err(refused());
        };
        let secret = new_secret()?;
        let session = right.then(|| Session::new(session_id(&secret), login.clone(), now));
        match self.store.record_login(login, session, now).await {
            Ok(()) if right => Ok((secret, principal(&a, door))),
            Ok(()) | Err(bawaba_store::Error::Domain(_)) => Err(refused()),
            Err(e) => Err(e.into()),
        }
    }

    /// Ends the session of `secret` (nothing to do for one that is gone).
    pub async fn log_out(&self, secret: &str) -> Result<()> {
        if secret.starts_with(SESSION_PREFIX) {
            self.store.end_session(session_id(secret)).await?;
        }
        Ok(())
    }

    /// Who holds `credential` — a session's secret or an API token — calling through
    /// `door` (the web door takes both; gRPC only tokens).
    pub async fn authenticate_any(
        &self,
        credential: Option<&str>,
        door: Door,
    ) -> Result<Principal> {
        match credential {
            Some(secret) if secret.starts_with(SESSION_PREFIX) => {
                let now = self.clock.now();
                match self.store.session(session_id(secret), now).await? {
                    Some((_, a)) if !a.disabled => Ok(principal(&a, door)),
                    _ => Err(Error::Unauthenticated("the session ended: log in again")),
                }
            }
            other => self.authenticate(other, door),
        }
    }
}

#[cfg(test)]
mod tests;
