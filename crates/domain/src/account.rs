//! The people of a company who use the portal: accounts with a login name and a password,
//! company admins who keep their company's accounts, lockout after repeated failed logins,
//! and the sessions a login opens.
//!
//! The password itself never reaches the domain: an account keeps its hash as a PHC string
//! (argon2id, made and checked by the application layer). A session is kept by the SHA-256
//! of its secret (the cookie holds the secret), so a copy of the store opens no session.

use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::CompanyId;
use crate::{Error, Result};

mod throttle;
pub use throttle::{ADDRESS_WINDOW_MINUTES, MAX_ADDRESS_FAILURES, Throttle};

/// Failed logins in a row that lock an account.
pub const MAX_FAILURES: u32 = 5;
/// How long a locked account stays locked.
pub const LOCKOUT_MINUTES: i64 = 15;
/// How long a session lasts from its login.
pub const SESSION_HOURS: i64 = 12;
/// Shortest password, in characters.
pub const MIN_PASSWORD: usize = 10;
/// Longest password, in characters (hashing stays cheap).
pub const MAX_PASSWORD: usize = 200;
/// Longest person's name, in characters.
pub const MAX_NAME: usize = 100;

/// A login name: 3 to 40 of `a-z 0-9 . _ - @`, kept in lower case (`Ahmad.Acme` and
/// `ahmad.acme` are the same person). Unique across companies.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Login(String);

impl Login {
    pub fn parse(raw: &str) -> Result<Login> {
        let s = raw.trim().to_lowercase();
        let ok = (3..=40).contains(&s.len())
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || ".-_@".contains(c));
        if ok {
            Ok(Login(s))
        } else {
            Err(Error::invalid(
                "login",
                format!("3 to 40 letters a-z, digits, '.', '-', '_' or '@': {raw:?}"),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Login {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        Login::parse(&s)
    }
}

impl From<Login> for String {
    fn from(l: Login) -> String {
        l.0
    }
}

/// A person's name as kept: trimmed, 1 to [`MAX_NAME`] characters, no control characters.
pub fn person_name(raw: &str) -> Result<String> {
    let name = raw.trim();
    let n = name.chars().count();
    if n == 0 || n > MAX_NAME || name.chars().any(char::is_control) {
        return Err(Error::invalid(
            "name",
            format!("1 to {MAX_NAME} characters, no control characters"),
        ));
    }
    Ok(name.to_owned())
}

/// Refuses a password shorter than [`MIN_PASSWORD`] or longer than [`MAX_PASSWORD`]
/// characters, or one that is the login name itself.
pub fn check_password(login: &Login, password: &str) -> Result<()> {
    let n = password.chars().count();
    if !(MIN_PASSWORD..=MAX_PASSWORD).contains(&n) {
        return Err(Error::invalid(
            "password",
            format!("{MIN_PASSWORD} to {MAX_PASSWORD} characters"),
        ));
    }
    if password.trim().eq_ignore_ascii_case(login.as_str()) {
        return Err(Error::invalid("password", "must not be the login name"));
    }
    Ok(())
}

/// One person's account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub login: Login,
    pub company: CompanyId,
    /// The person's name, as the pages greet them and the audit trail names them.
    pub name: String,
    /// A company admin creates and disables the company's accounts.
    pub admin: bool,
    /// The password's hash (a PHC string).
    pub hash: String,
    pub disabled: bool,
    /// Failed logins since the last success or lockout.
    pub failures: u32,
    pub locked_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl Account {
    /// Whether a login must be refused at `now` without looking at the password.
    pub fn locked(&self, now: DateTime<Utc>) -> bool {
        self.locked_until.is_some_and(|t| now < t)
    }
}

/// What a company admin (or the authority) changes of an account; `None` keeps it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountUpdate {
    pub name: Option<String>,
    pub admin: Option<bool>,
    pub disabled: Option<bool>,
    /// A new password's hash.
    pub hash: Option<String>,
}

/// A logged-in session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// The SHA-256 of the session's secret, in hex.
    pub id: String,
    pub login: Login,
    pub started_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl Session {
    pub fn new(id: String, login: Login, now: DateTime<Utc>) -> Session {
        Session {
            id,
            login,
            started_at: now,
            expires_at: now + TimeDelta::hours(SESSION_HOURS),
        }
    }

    pub fn live(&self, now: DateTime<Utc>) -> bool {
        now < self.expires_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logins_are_lower_case_slugs() {
        assert_eq!(Login::parse(" Ahmad.Acme ").unwrap().as_str(), "ahmad.acme");
        assert_eq!(Login::parse("ali@acme").unwrap().as_str(), "ali@acme");
        for bad in ["ab", "أحمد", "a b c", "x;drop", &"a".repeat(41)] {
            let e = Login::parse(bad).unwrap_err();
            assert!(e.to_string().contains("login"), "{bad}: {e}");
        }
    }

    #[test]
    fn passwords_are_long_enough_and_not_the_login() {
        let l = Login::parse("ahmad.haddad").unwrap();
        assert!(check_password(&l, "short").is_err());
        assert!(check_password(&l, "Ahmad.Haddad").is_err());
        assert!(
            check_password(&l, "  ahmad.haddad ").is_err(),
            "the login padded"
        );
        assert!(check_password(&l, &"x".repeat(201)).is_err());
        check_password(&l, "كلمة سر طويلة").unwrap();
    }

    #[test]
    fn names_are_required_and_bounded() {
        assert_eq!(person_name("  أحمد  ").unwrap(), "أحمد");
        assert!(person_name("  ").is_err());
        assert!(person_name("a\nb").is_err());
    }
}
