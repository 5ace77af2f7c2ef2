//! ISO 6346 container numbers.
//!
//! A container number is 11 characters: a 3-letter owner code, a category identifier (`U`
//! freight container, `J` detachable equipment, `Z` trailer or chassis), a 6-digit serial
//! number and a check digit computed from the first ten (see
//! [`ContainerNumber::check_digit`]). Example: `CSQU3054383`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ids::describe_char;
use crate::{Error, Result};

const FIELD: &str = "container_number";

/// ISO 6346 values of the letters A to Z: counting from 10, skipping multiples of 11.
const LETTER_VALUES: [u32; 26] = [
    10, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 34, 35, 36,
    37, 38,
];

/// A valid ISO 6346 container number, normalised (upper-case, no spaces), e.g. `CSQU3054383`.
///
/// Serialised as the plain string, validated (and normalised) when deserialised.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ContainerNumber(String);

impl ContainerNumber {
    /// Length of a container number.
    pub const LEN: usize = 11;

    /// Parses a container number: whitespace is removed and letters upper-cased, then the
    /// owner code, category, serial number and check digit are verified.
    pub fn parse(raw: &str) -> Result<ContainerNumber> {
        let s: String = raw
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let all: Vec<char> = s.chars().collect();
        let Ok([o1, o2, o3, category, serial @ .., check]) = <[char; 11]>::try_from(&all[..])
        else {
            return Err(invalid_length(all.len()));
        };
        let owner = [o1, o2, o3];
        if !owner.iter().all(char::is_ascii_uppercase) {
            return Err(Error::invalid(
                FIELD,
                format!("owner code must be 3 letters A-Z, got {}", quoted(&owner)),
            ));
        }
        if !matches!(category, 'U' | 'J' | 'Z') {
            return Err(Error::invalid(
                FIELD,
                format!("category must be U, J or Z, got {}", quoted(&[category])),
            ));
        }
        if !serial.iter().all(char::is_ascii_digit) {
            return Err(Error::invalid(
                FIELD,
                format!("serial number must be 6 digits, got {}", quoted(&serial)),
            ));
        }
        let Some(given) = check.to_digit(10) else {
            return Err(Error::invalid(
                FIELD,
                format!(
                    "check digit must be a digit 0-9, got {}",
                    describe_char(check)
                ),
            ));
        };
        // All ASCII from here on: the first ten characters are the first ten bytes.
        let expected = s.get(..10).and_then(Self::check_digit);
        match expected {
            Some(expected) if u32::from(expected) == given => Ok(ContainerNumber(s)),
            Some(expected) => Err(Error::invalid(
                FIELD,
                format!("check digit is {given}, expected {expected}"),
            )),
            None => Err(Error::invalid(FIELD, "check digit cannot be computed")),
        }
    }

    /// The ISO 6346 check digit of the first ten characters of a container number (4 ASCII
    /// letters then 6 ASCII digits, either case; the category letter is not checked here), or
    /// `None` if `first10` is not of that form.
    ///
    /// Each character's value (digits their own; letters per ISO 6346, A = 10, B = 12, ...,
    /// Z = 38) is multiplied by 2 to the power of its position; the sum is taken modulo 11,
    /// then modulo 10 (so a remainder of 10 gives 0).
    pub fn check_digit(first10: &str) -> Option<u8> {
        let bytes: &[u8; 10] = first10.as_bytes().try_into().ok()?;
        let mut sum = 0u32;
        for (position, &b) in bytes.iter().enumerate() {
            let value = if position < 4 {
                if !b.is_ascii_alphabetic() {
                    return None;
                }
                *LETTER_VALUES.get(usize::from(b.to_ascii_uppercase() - b'A'))?
            } else {
                char::from(b).to_digit(10)?
            };
            sum += value << position;
        }
        u8::try_from(sum % 11 % 10).ok()
    }

    /// The 3-letter owner code (e.g. `CSQ`).
    pub fn owner_code(&self) -> &str {
        // Valid numbers are ASCII: the first three bytes are the owner code.
        self.0.get(..3).unwrap_or_default()
    }

    /// The normalised container number.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn invalid_length(len: usize) -> Error {
    Error::invalid(
        FIELD,
        format!(
            "is {len} characters after removing spaces; expected {} \
             (owner code, category, 6-digit serial number, check digit)",
            ContainerNumber::LEN
        ),
    )
}

/// `'…'` around characters, escaped so control characters show.
fn quoted(chars: &[char]) -> String {
    let inner: String = chars.iter().flat_map(|c| c.escape_debug()).collect();
    format!("'{inner}'")
}

impl fmt::Display for ContainerNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for ContainerNumber {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

impl TryFrom<String> for ContainerNumber {
    type Error = Error;

    fn try_from(s: String) -> Result<Self> {
        Self::parse(&s)
    }
}

impl From<ContainerNumber> for String {
    fn from(number: ContainerNumber) -> String {
        number.0
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use proptest::prelude::*;
    use serde::de::IntoDeserializer;
    use serde::de::value::Error as DeError;

    use super::*;

    fn reason(raw: &str) -> String {
        match ContainerNumber::parse(raw) {
            Err(Error::Invalid { field, reason }) => {
                assert_eq!(field, "container_number");
                reason
            }
            other => panic!("expected Invalid for {raw:?}, got {other:?}"),
        }
    }

    #[test]
    fn letter_values_skip_multiples_of_eleven() {
        let mut expected = Vec::new();
        let mut v = 10;
        while expected.len() < 26 {
            if v % 11 != 0 {
                expected.push(v);
            }
            v += 1;
        }
        assert_eq!(LETTER_VALUES.as_slice(), expected.as_slice());
    }

    #[test]
    fn known_numbers_are_valid() {
        for (raw, owner) in [("CSQU3054383", "CSQ"), ("MSKU9070323", "MSK")] {
            let n = ContainerNumber::parse(raw).unwrap();
            assert_eq!(n.as_str(), raw);
            assert_eq!(n.to_string(), raw);
            assert_eq!(n.owner_code(), owner);
        }
        assert_eq!(ContainerNumber::check_digit("CSQU305438"), Some(3));
        assert_eq!(ContainerNumber::check_digit("msku907032"), Some(3));
    }

    #[test]
    fn normalises_case_and_spaces() {
        let n = ContainerNumber::parse("  csqu 305438 3 ").unwrap();
        assert_eq!(n.as_str(), "CSQU3054383");
        assert_eq!(
            "msku9070323".parse::<ContainerNumber>().unwrap().as_str(),
            "MSKU9070323"
        );
    }

    #[test]
    fn remainder_ten_gives_zero() {
        // Find a serial whose sum is 10 mod 11, and check that its check digit is 0.
        let first10 = (0..1_000_000)
            .map(|n| format!("CSQU{n:06}"))
            .find(|p| {
                let sum: u32 = p
                    .bytes()
                    .enumerate()
                    .map(|(i, b)| {
                        let v = if i < 4 {
                            LETTER_VALUES[usize::from(b - b'A')]
                        } else {
                            u32::from(b - b'0')
                        };
                        v << i
                    })
                    .sum();
                sum % 11 == 10
            })
            .unwrap();
        assert_eq!(ContainerNumber::check_digit(&first10), Some(0));
        assert!(ContainerNumber::parse(&format!("{first10}0")).is_ok());
    }

    #[test]
    fn refuses_with_reasons() {
        assert!(reason("").starts_with("is 0 characters after removing spaces; expected 11"));
        assert!(reason("CSQU305438").starts_with("is 10 characters"));
        assert!(reason("CSQU30543833").starts_with("is 12 characters"));
        assert_eq!(
            reason("C5QU3054383"),
            "owner code must be 3 letters A-Z, got 'C5Q'"
        );
        assert_eq!(
            reason("ÇSQU3054383"),
            "owner code must be 3 letters A-Z, got 'ÇSQ'"
        );
        assert_eq!(reason("CSQX3054383"), "category must be U, J or Z, got 'X'");
        assert_eq!(
            reason("CSQU30A4383"),
            "serial number must be 6 digits, got '30A438'"
        );
        assert_eq!(
            reason("CSQU305438X"),
            "check digit must be a digit 0-9, got 'X' (U+0058)"
        );
        assert_eq!(reason("CSQU3054384"), "check digit is 4, expected 3");
        assert_eq!(reason("MSKU9070320"), "check digit is 0, expected 3");
        assert_eq!(
            reason("CSQU\u{7}054383"),
            "serial number must be 6 digits, got '\\u{7}05438'"
        );
    }

    #[test]
    fn check_digit_refuses_malformed_prefixes() {
        for bad in [
            "",
            "CSQU30543",
            "CSQU3054383",
            "CSQ13054383",
            "CSQU30543A",
            "ÇSQU30543",
        ] {
            assert_eq!(ContainerNumber::check_digit(bad), None, "{bad}");
        }
    }

    #[test]
    fn serde_validates() {
        let de = |s: &str| ContainerNumber::deserialize(s.to_owned().into_deserializer());
        let ok: std::result::Result<ContainerNumber, DeError> = de("csqu3054383");
        assert_eq!(ok.unwrap().as_str(), "CSQU3054383");
        let err: DeError = de("CSQU3054384").unwrap_err();
        assert_eq!(
            err.to_string(),
            "container_number: check digit is 4, expected 3"
        );
        assert_eq!(
            String::from(ContainerNumber::parse("CSQU3054383").unwrap()),
            "CSQU3054383"
        );
    }

    proptest! {
        #[test]
        fn valid_prefix_with_its_check_digit_parses(prefix in "[A-Z]{3}[UJZ][0-9]{6}") {
            let check = ContainerNumber::check_digit(&prefix).unwrap();
            let n = ContainerNumber::parse(&format!("{prefix}{check}")).unwrap();
            prop_assert_eq!(n.owner_code(), &prefix[..3]);
            prop_assert_eq!(n.as_str(), format!("{prefix}{check}"));
        }

        #[test]
        fn any_other_check_digit_is_refused(prefix in "[A-Z]{3}[UJZ][0-9]{6}", wrong in 0u8..10) {
            let check = ContainerNumber::check_digit(&prefix).unwrap();
            prop_assume!(wrong != check);
            prop_assert_eq!(
                ContainerNumber::parse(&format!("{prefix}{wrong}")),
                Err(Error::invalid(FIELD, format!("check digit is {wrong}, expected {check}")))
            );
        }

        #[test]
        fn parse_never_panics(
            s in prop_oneof![any::<String>(), "[A-Za-z0-9 ]{9,13}", "[A-Z]{4}[0-9٠-٩]{7}"]
        ) {
            let _ = ContainerNumber::parse(&s);
        }
    }
}
