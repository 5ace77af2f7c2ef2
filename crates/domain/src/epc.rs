//! RFID tag identifiers (EPC, the Electronic Product Code of an EPC Gen2 / ISO 18000-63 tag).
//!
//! A tag's EPC memory holds 16 to 496 bits in whole 16-bit words (2 to 62 bytes, an even
//! number). Readers report it as hex, e.g. `E2000017221101441890ABCD` (96 bits).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ids::describe_char;
use crate::{Error, Result};

const FIELD: &str = "rfid_epc";

/// An RFID tag's EPC: 16 to 496 bits in whole 16-bit words.
///
/// Written and serialised as upper-case hex without separators, validated when deserialised.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Epc(Vec<u8>);

impl Epc {
    /// Shortest EPC, in bits (one word).
    pub const MIN_BITS: usize = 16;
    /// Longest EPC, in bits (31 words).
    pub const MAX_BITS: usize = 496;

    /// Parses hex, in either case. Spaces between bytes are allowed (`E2 00 00 17`,
    /// `E200 0017`) and ignored; a space inside a byte is not.
    pub fn parse_hex(raw: &str) -> Result<Epc> {
        let mut bytes = Vec::with_capacity((raw.len() / 2).min(Self::MAX_BITS / 8));
        let mut high: Option<u8> = None;
        for (i, c) in raw.chars().enumerate() {
            if c == ' ' {
                if high.is_some() {
                    return Err(Error::invalid(
                        FIELD,
                        format!("has a space inside a byte at character {}", i + 1),
                    ));
                }
                continue;
            }
            // A hex digit is less than 16, so it fits a u8.
            let Some(nibble) = c.to_digit(16).and_then(|d| u8::try_from(d).ok()) else {
                return Err(Error::invalid(
                    FIELD,
                    format!(
                        "contains {} at character {}; expected hex digits 0-9, A-F",
                        describe_char(c),
                        i + 1
                    ),
                ));
            };
            match high.take() {
                Some(h) => bytes.push((h << 4) | nibble),
                None => high = Some(nibble),
            }
        }
        if high.is_some() {
            return Err(Error::invalid(
                FIELD,
                format!(
                    "has an odd number of hex digits ({}); each byte needs two",
                    bytes.len() * 2 + 1
                ),
            ));
        }
        if bytes.is_empty() {
            return Err(Error::invalid(FIELD, "is empty"));
        }
        Self::from_vec(bytes)
    }

    /// The EPC of these bytes (2 to 62, an even number).
    pub fn from_bytes(bytes: &[u8]) -> Result<Epc> {
        Self::from_vec(bytes.to_vec())
    }

    fn from_vec(bytes: Vec<u8>) -> Result<Epc> {
        let bits = bytes.len() * 8;
        if !(Self::MIN_BITS..=Self::MAX_BITS).contains(&bits) || !bits.is_multiple_of(16) {
            return Err(Error::invalid(
                FIELD,
                format!(
                    "is {bits} bits; an EPC is {} to {} bits in whole 16-bit words",
                    Self::MIN_BITS,
                    Self::MAX_BITS
                ),
            ));
        }
        Ok(Epc(bytes))
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Upper-case hex without separators (same as `to_string()`).
    pub fn to_hex(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Epc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02X}"))
    }
}

impl fmt::Debug for Epc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Epc({self})")
    }
}

impl FromStr for Epc {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Self::parse_hex(s)
    }
}

impl TryFrom<String> for Epc {
    type Error = Error;

    fn try_from(s: String) -> Result<Self> {
        Self::parse_hex(&s)
    }
}

impl From<Epc> for String {
    fn from(epc: Epc) -> String {
        epc.to_hex()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use proptest::prelude::*;
    use serde::de::IntoDeserializer;
    use serde::de::value::Error as DeError;

    use super::*;

    const TAG: &str = "E2000017221101441890ABCD";

    fn reason(r: Result<Epc>) -> String {
        match r {
            Err(Error::Invalid { field, reason }) => {
                assert_eq!(field, "rfid_epc");
                reason
            }
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn round_trips_a_96_bit_tag() {
        let epc = Epc::parse_hex(TAG).unwrap();
        assert_eq!(epc.as_bytes().len() * 8, 96);
        assert_eq!(epc.as_bytes()[..2], [0xE2, 0x00]);
        assert_eq!(epc.to_hex(), TAG);
        assert_eq!(epc.to_string(), TAG);
        assert_eq!(format!("{epc:?}"), format!("Epc({TAG})"));
        assert_eq!(Epc::parse_hex(&TAG.to_ascii_lowercase()), Ok(epc.clone()));
        assert_eq!(
            Epc::parse_hex("E2 00 00 17 22 11 01 44 18 90 ab cd"),
            Ok(epc.clone())
        );
        assert_eq!(
            Epc::parse_hex(" E200 0017 2211 0144 1890 ABCD "),
            Ok(epc.clone())
        );
        assert_eq!(Epc::from_bytes(epc.as_bytes()), Ok(epc.clone()));
        assert_eq!(TAG.parse::<Epc>(), Ok(epc));
    }

    #[test]
    fn sizes() {
        assert!(Epc::from_bytes(&[0xAB; 2]).is_ok());
        assert!(Epc::from_bytes(&[0xAB; 62]).is_ok());
        assert!(Epc::parse_hex("ABCD").is_ok());
        assert!(Epc::parse_hex(&"AB".repeat(62)).is_ok());
        let words = "in whole 16-bit words";
        for (len, bits) in [(0, 0), (1, 8), (3, 24), (61, 488), (63, 504), (64, 512)] {
            let r = reason(Epc::from_bytes(&vec![0; len]));
            assert_eq!(
                r,
                format!("is {bits} bits; an EPC is 16 to 496 bits {words}")
            );
        }
        assert_eq!(
            reason(Epc::parse_hex("AB")),
            format!("is 8 bits; an EPC is 16 to 496 bits {words}")
        );
        assert!(reason(Epc::parse_hex(&"AB".repeat(64))).starts_with("is 512 bits"));
        assert!(reason(Epc::parse_hex("ABCDEF")).starts_with("is 24 bits"));
    }

    #[test]
    fn refuses_malformed_hex() {
        assert_eq!(reason(Epc::parse_hex("")), "is empty");
        assert_eq!(reason(Epc::parse_hex("   ")), "is empty");
        assert_eq!(
            reason(Epc::parse_hex("ABC")),
            "has an odd number of hex digits (3); each byte needs two"
        );
        assert_eq!(
            reason(Epc::parse_hex("E20G")),
            "contains 'G' (U+0047) at character 4; expected hex digits 0-9, A-F"
        );
        assert!(
            reason(Epc::parse_hex("E2:00")).starts_with("contains ':' (U+003A) at character 3")
        );
        assert!(reason(Epc::parse_hex("E2\n00")).starts_with("contains control character U+000A"));
        assert!(reason(Epc::parse_hex("E2٠٠")).starts_with("contains '٠' (U+0660)"));
        assert_eq!(
            reason(Epc::parse_hex("E2 0 0")),
            "has a space inside a byte at character 5"
        );
    }

    #[test]
    fn serde_validates() {
        let de = |s: &str| Epc::deserialize(s.to_owned().into_deserializer());
        let ok: std::result::Result<Epc, DeError> = de(&TAG.to_ascii_lowercase());
        assert_eq!(String::from(ok.unwrap()), TAG);
        let err: DeError = de("AB").unwrap_err();
        assert!(err.to_string().starts_with("rfid_epc: is 8 bits"), "{err}");
    }

    proptest! {
        #[test]
        fn valid_sizes_round_trip(bytes in (1usize..=31).prop_flat_map(|words| proptest::collection::vec(any::<u8>(), words * 2))) {
            let epc = Epc::from_bytes(&bytes).unwrap();
            prop_assert_eq!(epc.as_bytes(), bytes.as_slice());
            let hex = epc.to_hex();
            prop_assert_eq!(hex.len(), bytes.len() * 2);
            prop_assert!(hex.chars().all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()));
            prop_assert_eq!(Epc::parse_hex(&hex), Ok(epc.clone()));
            prop_assert_eq!(Epc::parse_hex(&hex.to_ascii_lowercase()), Ok(epc));
        }

        #[test]
        fn invalid_sizes_are_refused(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
            let valid = bytes.len() % 2 == 0 && (2..=62).contains(&bytes.len());
            prop_assert_eq!(Epc::from_bytes(&bytes).is_ok(), valid);
        }

        #[test]
        fn parse_never_panics(s in prop_oneof![any::<String>(), "[0-9a-fA-F ]{0,140}"]) {
            let _ = Epc::parse_hex(&s);
        }
    }
}
