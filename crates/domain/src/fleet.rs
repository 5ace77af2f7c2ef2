//! A company's fleet: its trucks, each with its RFID tag and its driver (name and mobile
//! number, where the booking's notices go by SMS). Kept per company; only the company and the
//! authority see it.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::epc::Epc;
use crate::ids::CompanyId;
use crate::plate::Plate;
use crate::{Error, Result};

/// Longest driver name, in characters.
pub const MAX_DRIVER_NAME: usize = 100;

/// A mobile number in international form: `+` and 8 to 15 digits (E.164), e.g.
/// `+962791234567`. Jordanian numbers may be written as dialled at home (`0791234567`),
/// with spaces, dashes, brackets or Arabic-Indic digits (`٠٧٩١٢٣٤٥٦٧`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Phone(String);

impl Phone {
    pub fn parse(raw: &str) -> Result<Phone> {
        let bad = |why: &str| Err(Error::invalid("driver_phone", format!("{why}: {raw:?}")));
        let mut digits = String::new();
        let mut plus = false;
        for (i, c) in raw.trim().chars().enumerate() {
            match c {
                '+' if i == 0 => plus = true,
                ' ' | '-' | '(' | ')' | '.' => {}
                '0'..='9' => digits.push(c),
                '٠'..='٩' => digits.push(char::from(b'0' + (c as u32 - 0x0660) as u8)),
                '۰'..='۹' => digits.push(char::from(b'0' + (c as u32 - 0x06F0) as u8)),
                _ => return bad("must be digits, with + before an international number"),
            }
        }
        let international = match (plus, digits.strip_prefix("00")) {
            (true, _) => digits,
            (false, Some(rest)) => rest.to_owned(),
            // Dialled in Jordan: 07X XXX XXXX is +962 7X XXX XXXX.
            (false, None) => match digits.strip_prefix('0') {
                Some(national) => format!("962{national}"),
                None => return bad("give the country code (+962...) or a Jordanian 07... number"),
            },
        };
        if !(8..=15).contains(&international.len()) || international.starts_with('0') {
            return bad("an international number has 8 to 15 digits after the +");
        }
        Ok(Phone(format!("+{international}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Phone {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        Phone::parse(&s)
    }
}

impl From<Phone> for String {
    fn from(p: Phone) -> String {
        p.0
    }
}

/// A driver's name as kept: trimmed, at most [`MAX_DRIVER_NAME`] characters, no control
/// characters.
pub fn driver_name(raw: &str) -> Result<String> {
    let name = raw.trim();
    if name.chars().count() > MAX_DRIVER_NAME || name.chars().any(char::is_control) {
        return Err(Error::invalid(
            "driver_name",
            format!("at most {MAX_DRIVER_NAME} characters, no control characters"),
        ));
    }
    Ok(name.to_owned())
}

/// One truck of a company's fleet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FleetTruck {
    pub company: CompanyId,
    pub plate: Plate,
    pub epc: Option<Epc>,
    /// Who drives it (may be empty).
    pub driver: String,
    /// The driver's mobile number, for SMS notices.
    pub phone: Option<Phone>,
    pub updated_at: DateTime<Utc>,
}

impl FleetTruck {
    /// A truck whose driver's name is checked ([`driver_name`]).
    pub fn new(
        company: CompanyId,
        plate: Plate,
        epc: Option<Epc>,
        driver: &str,
        phone: Option<Phone>,
        at: DateTime<Utc>,
    ) -> Result<FleetTruck> {
        Ok(FleetTruck {
            company,
            plate,
            epc,
            driver: driver_name(driver)?,
            phone,
            updated_at: at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mobile_numbers_are_read_as_people_write_them() {
        for (raw, want) in [
            ("+962 79 123 4567", "+962791234567"),
            ("0791234567", "+962791234567"),
            ("079-123-4567", "+962791234567"),
            ("٠٧٩١٢٣٤٥٦٧", "+962791234567"),
            ("00966501234567", "+966501234567"),
            ("+44 (20) 7946 0958", "+442079460958"),
        ] {
            assert_eq!(Phone::parse(raw).unwrap().as_str(), want, "{raw}");
        }
        for bad in [
            "",
            "79123",
            "+0791234567",
            "call me",
            "+9627912345678901",
            "7912345678",
        ] {
            let e = Phone::parse(bad).unwrap_err().to_string();
            assert!(e.contains("driver_phone"), "{bad}: {e}");
        }
    }

    #[test]
    fn a_driver_name_is_checked() {
        let truck = |name: &str| {
            FleetTruck::new(
                CompanyId::parse("acme").unwrap(),
                Plate::parse("60-12345").unwrap(),
                None,
                name,
                None,
                DateTime::<Utc>::MIN_UTC,
            )
        };
        assert_eq!(truck("  محمد العلي ").unwrap().driver, "محمد العلي");
        assert!(truck(&"x".repeat(101)).is_err());
        assert!(
            truck("a\nb")
                .unwrap_err()
                .to_string()
                .contains("driver_name")
        );
    }
}
