//! Truck licence plates.
//!
//! Plates arrive typed by people, read by ANPR cameras and copied from foreign systems, so
//! [`Plate::parse`] normalises them to one form: spaces (any Unicode whitespace), `-` and `.`
//! removed, ASCII letters upper-cased, Arabic-Indic (`٠`–`٩`) and Persian (`۰`–`۹`) digits
//! mapped to `0`–`9`. Arabic letters are kept for foreign (e.g. Saudi) plates. A Jordanian
//! `60-12345` becomes `6012345`.
//!
//! [`Plate::skeleton`] folds characters that cameras and people confuse (`O`/`0`, `I`/`1`, ...)
//! so that near-identical plates can be found through one index key.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ids::describe_char;
use crate::{Error, Result};

const FIELD: &str = "plate";

/// A normalised licence plate: 1 to [`Plate::MAX_LEN`] characters, each an upper-case ASCII
/// letter, an ASCII digit or an Arabic letter.
///
/// Serialised as the plain string, validated (and normalised) when deserialised.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Plate(String);

impl Plate {
    /// Longest plate, in characters after normalising.
    pub const MAX_LEN: usize = 16;

    /// Normalises and validates a plate as written or read.
    ///
    /// Leading and trailing whitespace is trimmed; inside the plate, whitespace, `-` and `.`
    /// are removed, but control characters (tabs and newlines included) are refused, as is any
    /// character that is not a letter or digit of a plate.
    pub fn parse(raw: &str) -> Result<Plate> {
        let trimmed = raw.trim();
        let mut plate = String::with_capacity(trimmed.len());
        for c in trimmed.chars() {
            if c.is_control() {
                return Err(Error::invalid(
                    FIELD,
                    format!("contains {}", describe_char(c)),
                ));
            }
            if c.is_whitespace() || matches!(c, '-' | '.') {
                continue;
            }
            let normal = if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else if let Some(digit) = eastern_digit(c) {
                digit
            } else if is_arabic_letter(c) {
                c
            } else {
                return Err(Error::invalid(
                    FIELD,
                    format!(
                        "contains {}; a plate has only letters and digits (and spaces, '-', '.')",
                        describe_char(c)
                    ),
                ));
            };
            plate.push(normal);
        }
        if plate.is_empty() {
            let reason = if trimmed.is_empty() {
                "is empty"
            } else {
                "has no letters or digits"
            };
            return Err(Error::invalid(FIELD, reason));
        }
        let len = plate.chars().count();
        if len > Self::MAX_LEN {
            return Err(Error::invalid(
                FIELD,
                format!(
                    "is {len} characters after normalising; at most {}",
                    Self::MAX_LEN
                ),
            ));
        }
        Ok(Plate(plate))
    }

    /// The normalised plate.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The plate with confusable characters folded to one form: the letters `O`, `I`, `B`,
    /// `S`, `Z` become the digits `0`, `1`, `8`, `5`, `2`; among Arabic letters, Persian
    /// keheh and yeh, Arabic yeh, alef with hamza or madda and ta marbuta become kaf, alef
    /// maksura, alef and heh. Plates with the same skeleton are equal or
    /// [confusable](Plate::confusable_with); use it as an index key to find look-alikes.
    pub fn skeleton(&self) -> String {
        self.0.chars().map(skeleton_char).collect()
    }

    /// True when the plates differ, but only by confusable characters (e.g. `6012345` and
    /// `6O12345`): same length, same [skeleton](Plate::skeleton), not equal.
    pub fn confusable_with(&self, other: &Plate) -> bool {
        self != other
            && self
                .0
                .chars()
                .map(skeleton_char)
                .eq(other.0.chars().map(skeleton_char))
    }
}

/// Arabic-Indic (U+0660–0669) and Persian (U+06F0–06F9) digits as ASCII digits.
fn eastern_digit(c: char) -> Option<char> {
    let zero = match c {
        '\u{660}'..='\u{669}' => 0x660,
        '\u{6F0}'..='\u{6F9}' => 0x6F0,
        _ => return None,
    };
    char::from_digit(u32::from(c) - zero, 10)
}

/// Arabic letters (hamza U+0621 to yeh U+064A, without the tatweel U+0640, which only
/// stretches a word) and the Persian letters پ چ ژ ک گ ی found on the region's plates.
fn is_arabic_letter(c: char) -> bool {
    matches!(
        c,
        '\u{621}'..='\u{63F}'
            | '\u{641}'..='\u{64A}'
            | '\u{67E}'
            | '\u{686}'
            | '\u{698}'
            | '\u{6A9}'
            | '\u{6AF}'
            | '\u{6CC}'
    )
}

/// One character of [`Plate::skeleton`].
fn skeleton_char(c: char) -> char {
    match c {
        'O' => '0',
        'I' => '1',
        'B' => '8',
        'S' => '5',
        'Z' => '2',
        '\u{6A9}' => '\u{643}',                         // ک → ك
        '\u{6CC}' | '\u{64A}' => '\u{649}',             // ی ي → ى
        '\u{622}' | '\u{623}' | '\u{625}' => '\u{627}', // آ أ إ → ا
        '\u{629}' => '\u{647}',                         // ة → ه
        c => c,
    }
}

impl fmt::Display for Plate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Plate {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

impl TryFrom<String> for Plate {
    type Error = Error;

    fn try_from(s: String) -> Result<Self> {
        Self::parse(&s)
    }
}

impl From<Plate> for String {
    fn from(plate: Plate) -> String {
        plate.0
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use proptest::prelude::*;
    use serde::de::IntoDeserializer;
    use serde::de::value::Error as DeError;

    use super::*;

    fn plate(s: &str) -> Plate {
        Plate::parse(s).unwrap()
    }

    fn reason(raw: &str) -> String {
        match Plate::parse(raw) {
            Err(Error::Invalid { field, reason }) => {
                assert_eq!(field, "plate");
                reason
            }
            other => panic!("expected Invalid for {raw:?}, got {other:?}"),
        }
    }

    #[test]
    fn normalises_jordanian_plates() {
        assert_eq!(plate("60-12345").as_str(), "6012345");
        assert_eq!(plate("  60 - 12345\n").as_str(), "6012345");
        assert_eq!(plate("60.12345").as_str(), "6012345");
        assert_eq!(plate("60\u{A0}12345").as_str(), "6012345");
        assert_eq!(plate("ab-12.c d").as_str(), "AB12CD");
    }

    #[test]
    fn maps_eastern_digits() {
        assert_eq!(plate("٦٠-١٢٣٤٥").as_str(), "6012345");
        assert_eq!(plate("۶۰-۱۲۳۴۵").as_str(), "6012345");
        assert_eq!(plate("٠١٢٣٤٥٦٧٨٩").as_str(), "0123456789");
        assert_eq!(plate("۰۱۲۳۴۵۶۷۸۹").as_str(), "0123456789");
    }

    #[test]
    fn keeps_arabic_letters() {
        let saudi = plate("أ ب ج ١٢٣٤");
        assert_eq!(saudi.as_str(), "أبج1234");
        assert_eq!(saudi.to_string(), "أبج1234");
        assert_eq!(plate("ک ی 12").as_str(), "کی12");
    }

    #[test]
    fn refuses_with_reasons() {
        assert_eq!(reason(""), "is empty");
        assert_eq!(reason(" \t "), "is empty");
        assert_eq!(reason("- . -"), "has no letters or digits");
        assert_eq!(
            reason("ABCDEFGHIJ-123456789"),
            "is 19 characters after normalising; at most 16"
        );
        assert_eq!(
            reason("٦٠١٢٣٤٥٦٧٨٩-٠١٢٣٤٥٦"),
            "is 18 characters after normalising; at most 16"
        );
        assert_eq!(reason("60\u{7}12345"), "contains control character U+0007");
        assert_eq!(reason("60\t12345"), "contains control character U+0009");
        assert!(reason("60#12345").starts_with("contains '#' (U+0023)"));
        assert!(reason("60/12345").starts_with("contains '/' (U+002F)"));
        assert!(reason("60_12345").starts_with("contains '_' (U+005F)"));
        assert!(reason("É1").starts_with("contains 'É' (U+00C9)"));
        assert!(reason("ب\u{640}1").starts_with("contains 'ـ' (U+0640)"));
        assert!(reason("1\u{202E}2").contains("U+202E"));
        assert_eq!(
            Plate::parse("").unwrap_err().in_field("truck_plate"),
            Error::invalid("truck_plate", "is empty")
        );
    }

    #[test]
    fn sixteen_characters_is_the_limit() {
        assert_eq!(plate("ABCDEFGH-12345678").as_str().len(), 16);
        assert_eq!(plate("بببببببببببببببب").as_str().chars().count(), 16);
    }

    #[test]
    fn serde_normalises_and_validates() {
        let de = |s: &str| Plate::deserialize(s.to_owned().into_deserializer());
        let ok: std::result::Result<Plate, DeError> = de("60-12345");
        assert_eq!(ok.unwrap().as_str(), "6012345");
        let err: DeError = de("60#1").unwrap_err();
        assert!(err.to_string().starts_with("plate: contains '#'"), "{err}");
        assert_eq!(String::from(plate("60-1")), "601");
        assert_eq!("60-1".parse::<Plate>(), Ok(plate("601")));
    }

    #[test]
    fn confusables() {
        assert!(plate("60-12345").confusable_with(&plate("6O12345")));
        assert!(plate("B0").confusable_with(&plate("80")));
        assert!(plate("SIZ").confusable_with(&plate("512")));
        assert!(plate("ك1").confusable_with(&plate("ک1")));
        assert!(plate("أ1").confusable_with(&plate("ا1")));
        assert_eq!(plate("6O12345").skeleton(), "6012345");
        assert_eq!(plate("B0").skeleton(), plate("80").skeleton());
        // Equal plates are not confusable with each other.
        assert!(!plate("60-12345").confusable_with(&plate("6012345")));
        // Different, and not only by confusables.
        assert!(!plate("6012345").confusable_with(&plate("6012346")));
        assert!(!plate("D0").confusable_with(&plate("00")));
        assert!(!plate("6012345").confusable_with(&plate("601234")));
        assert_ne!(plate("6012345").skeleton(), plate("6012346").skeleton());
    }

    fn is_allowed(c: char) -> bool {
        c.is_ascii_uppercase() || c.is_ascii_digit() || is_arabic_letter(c)
    }

    /// Plate-like input: mostly valid characters, separators, eastern digits, Arabic letters.
    const PLATE_LIKE: &str =
        "[ a-zA-Z0-9.\\-\u{660}-\u{669}\u{6F0}-\u{6F9}\u{621}-\u{64A}#_]{0,20}";

    /// Swaps each confusable character for its partner when the matching flag is set.
    fn swap_confusables(s: &str, flags: &[bool]) -> String {
        s.chars()
            .zip(flags.iter().chain(std::iter::repeat(&false)))
            .map(|(c, &swap)| match (swap, c) {
                (true, 'O') => '0',
                (true, '0') => 'O',
                (true, 'I') => '1',
                (true, '1') => 'I',
                (true, 'B') => '8',
                (true, '8') => 'B',
                (true, 'S') => '5',
                (true, '5') => 'S',
                (true, 'Z') => '2',
                (true, '2') => 'Z',
                _ => c,
            })
            .collect()
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in any::<String>()) {
            let _ = Plate::parse(&s);
        }

        #[test]
        fn parse_is_idempotent(s in prop_oneof![any::<String>(), PLATE_LIKE.prop_map(String::from)]) {
            if let Ok(p) = Plate::parse(&s) {
                prop_assert_eq!(Plate::parse(p.as_str()), Ok(p));
            }
        }

        #[test]
        fn normalised_plates_are_short_and_clean(s in PLATE_LIKE) {
            if let Ok(p) = Plate::parse(&s) {
                let n = p.as_str().chars().count();
                prop_assert!((1..=Plate::MAX_LEN).contains(&n));
                prop_assert!(p.as_str().chars().all(is_allowed), "{:?}", p);
            }
        }

        #[test]
        fn valid_plates_parse(s in "[A-Z0-9\u{628}-\u{63A}]{1,16}") {
            prop_assert_eq!(Plate::parse(&s).map(String::from), Ok(s));
        }

        #[test]
        fn confusable_is_symmetric_and_irreflexive(a in "[0-9OIBSZD]{1,3}", b in "[0-9OIBSZD]{1,3}") {
            let (a, b) = (plate(&a), plate(&b));
            prop_assert!(!a.confusable_with(&a));
            prop_assert_eq!(a.confusable_with(&b), b.confusable_with(&a));
            prop_assert_eq!(a.skeleton() == b.skeleton(), a == b || a.confusable_with(&b));
        }

        #[test]
        fn swapping_confusables_gives_a_confusable(
            s in "[0-9A-Z]{1,16}",
            flags in proptest::collection::vec(any::<bool>(), 16),
        ) {
            let (a, b) = (plate(&s), plate(&swap_confusables(&s, &flags)));
            prop_assert_eq!(a.skeleton(), b.skeleton());
            prop_assert_eq!(a.confusable_with(&b), a != b);
        }
    }
}
