//! Identifiers.
//!
//! Configured things (zones, gates, lanes, companies) are named by short *slugs*: 1 to 64
//! characters of `a-z`, `0-9`, `-` and `_`, starting with a letter or digit. They are validated
//! on every way in (`parse`, `FromStr`, serde), so a value of these types is always well formed.
//!
//! Bookings are named by a [`BookingId`], a ULID: 48 bits of creation time in milliseconds and
//! 80 random bits, so ids sort by creation time, as strings and as store keys alike.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ulid::Ulid;

use crate::{Error, Result};

/// Longest slug identifier, in characters.
pub const MAX_SLUG_LEN: usize = 64;

/// Describes a character for an error message: `'#' (U+0023)`, or `control character U+0007`
/// (escaped, so invisible and control characters show up in logs).
pub(crate) fn describe_char(c: char) -> String {
    if c.is_control() {
        format!("control character U+{:04X}", u32::from(c))
    } else {
        format!("'{}' (U+{:04X})", c.escape_debug(), u32::from(c))
    }
}

/// Checks the slug rules, naming `field` in the error.
fn validate_slug(field: &str, raw: &str) -> Result<()> {
    if raw.is_empty() {
        return Err(Error::invalid(field, "is empty"));
    }
    let len = raw.chars().count();
    if len > MAX_SLUG_LEN {
        return Err(Error::invalid(
            field,
            format!("is {len} characters; at most {MAX_SLUG_LEN}"),
        ));
    }
    if let Some(c) = raw
        .chars()
        .find(|c| !matches!(c, 'a'..='z' | '0'..='9' | '-' | '_'))
    {
        let hint = if c.is_ascii_uppercase() {
            "; identifiers are lower-case"
        } else {
            ""
        };
        return Err(Error::invalid(
            field,
            format!(
                "contains {}; only a-z, 0-9, '-' and '_' are allowed{hint}",
                describe_char(c)
            ),
        ));
    }
    if raw.starts_with(['-', '_']) {
        return Err(Error::invalid(field, "must start with a letter or digit"));
    }
    Ok(())
}

/// Defines a validated slug identifier type.
macro_rules! slug_id {
    ($(#[$meta:meta])* $name:ident, $field:literal) => {
        $(#[$meta])*
        ///
        /// 1 to 64 characters of `a-z`, `0-9`, `-` and `_`, starting with a letter or digit.
        /// Serialised as a plain string, validated when deserialised.
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            #[doc = concat!("Validates `raw` as a ", stringify!($name), " (error field `", $field, "`).")]
            pub fn parse(raw: &str) -> Result<Self> {
                validate_slug($field, raw)?;
                Ok(Self(raw.to_owned()))
            }

            /// The identifier as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = Error;

            fn from_str(s: &str) -> Result<Self> {
                Self::parse(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = Error;

            fn try_from(s: String) -> Result<Self> {
                validate_slug($field, &s)?;
                Ok(Self(s))
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }
    };
}

slug_id!(
    /// A zone of the port (a terminal or yard area with its own slot calendar).
    ZoneId,
    "zone_id"
);
slug_id!(
    /// A gate (a point where trucks enter or leave the port).
    GateId,
    "gate_id"
);
slug_id!(
    /// A lane of a gate.
    LaneId,
    "lane_id"
);
slug_id!(
    /// A haulage company.
    CompanyId,
    "company_id"
);

/// Defines a ULID identifier: sortable by creation time, 26 characters of Crockford base32
/// (canonically upper-case; parsing is case-insensitive); `to_bytes` is big-endian, so byte
/// order is sort order. Serialised as the string, validated when deserialised.
macro_rules! ulid_id {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(Ulid);

        impl $name {
            /// Length of the string form.
            pub const LEN: usize = 26;
            /// The smallest id (all zero bits), a lower bound for ranges.
            pub const MIN: $name = $name(Ulid(0));
            /// The largest id (all one bits), an upper bound for ranges.
            pub const MAX: $name = $name(Ulid(u128::MAX));

            /// A booking id created at `at` (milliseconds, clamped to the ULID's 48-bit range:
            /// 1970-01-01 to the year 10889) with the low 80 bits of `random`.
            pub fn new(at: DateTime<Utc>, random: u128) -> $name {
                const MAX_MS: i64 = (1 << Ulid::TIME_BITS) - 1;
                let ms = at.timestamp_millis().clamp(0, MAX_MS) as u64;
                $name(Ulid::from_parts(ms, random))
            }

            /// Parses the 26-character Crockford base32 form, case-insensitively.
            pub fn parse(raw: &str) -> Result<$name> {
                const FIELD: &str = $field;
                if let Some(c) = raw.chars().find(|c| {
                    !c.is_ascii_alphanumeric() || matches!(c.to_ascii_uppercase(), 'I' | 'L' | 'O' | 'U')
                }) {
                    return Err(Error::invalid(
                        FIELD,
                        format!(
                            "contains {}; expected Crockford base32 (0-9 and A-Z except I, L, O, U)",
                            describe_char(c)
                        ),
                    ));
                }
                // All ASCII from here on, so bytes are characters.
                if raw.len() != Self::LEN {
                    return Err(Error::invalid(
                        FIELD,
                        format!("is {} characters; expected {}", raw.len(), Self::LEN),
                    ));
                }
                // 26 × 5 = 130 bits: the first character carries only the top 3 bits of 128.
                if !raw.starts_with(|c: char| ('0'..='7').contains(&c)) {
                    return Err(Error::invalid(
                        FIELD,
                        "first character must be 0-7 (the value would exceed 128 bits)",
                    ));
                }
                Ulid::from_string(raw)
                    .map($name)
                    .map_err(|e| Error::invalid(FIELD, e.to_string()))
            }

            /// The next id of the same millisecond (ULID's monotonic order: the random bits plus
            /// one), or `None` when they are all ones.
            pub fn next_in_ms(&self) -> Option<$name> {
                self.0.increment().map($name)
            }

            /// When the id was created (to the millisecond).
            pub fn timestamp(&self) -> DateTime<Utc> {
                i64::try_from(self.0.timestamp_ms())
                    .ok()
                    .and_then(DateTime::from_timestamp_millis)
                    .unwrap_or(DateTime::<Utc>::MAX_UTC) // unreachable: 48 bits of ms fit chrono
            }

            /// The 16 bytes, big-endian: byte order is sort order (for store keys).
            pub fn to_bytes(&self) -> [u8; 16] {
                self.0.to_bytes()
            }

            /// The id from its [`$name::to_bytes`] form.
            pub fn from_bytes(bytes: [u8; 16]) -> $name {
                $name(Ulid::from_bytes(bytes))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl FromStr for $name {
            type Err = Error;

            fn from_str(s: &str) -> Result<Self> {
                Self::parse(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = Error;

            fn try_from(s: String) -> Result<Self> {
                Self::parse(&s)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.to_string()
            }
        }
    };
}

ulid_id!(
    /// The identifier of a booking.
    BookingId,
    "booking_id"
);
ulid_id!(
    /// The identifier of a passage event, made by the gate agent that saw it (resends of the
    /// same event carry the same id, so delivery is idempotent).
    PassageId,
    "event_id"
);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use chrono::TimeZone;
    use proptest::prelude::*;
    use serde::de::IntoDeserializer;
    use serde::de::value::Error as DeError;

    use super::*;

    fn reason(err: Error) -> String {
        match err {
            Error::Invalid { reason, .. } => reason,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    fn de<T: for<'de> Deserialize<'de>>(s: &str) -> std::result::Result<T, DeError> {
        T::deserialize(s.to_owned().into_deserializer())
    }

    #[test]
    fn slugs_accept_the_allowed_alphabet() {
        for ok in [
            "a",
            "7",
            "terminal-1",
            "ct_2",
            "x".repeat(64).as_str(),
            "0-_9",
        ] {
            let id = ZoneId::parse(ok).expect(ok);
            assert_eq!(id.as_str(), ok);
            assert_eq!(id.to_string(), ok);
            assert_eq!(ok.parse::<ZoneId>(), Ok(id));
        }
    }

    #[test]
    fn slugs_refuse_with_reasons() {
        let err = GateId::parse("").unwrap_err();
        assert_eq!(err, Error::invalid("gate_id", "is empty"));
        let long = "a".repeat(65);
        assert_eq!(
            reason(LaneId::parse(&long).unwrap_err()),
            "is 65 characters; at most 64"
        );
        assert!(reason(CompanyId::parse("Aramex").unwrap_err()).contains("'A' (U+0041)"));
        assert!(reason(CompanyId::parse("Aramex").unwrap_err()).contains("lower-case"));
        assert!(reason(ZoneId::parse("a b").unwrap_err()).contains("' ' (U+0020)"));
        assert!(reason(ZoneId::parse("a\u{7}").unwrap_err()).contains("control character U+0007"));
        assert!(reason(ZoneId::parse("zoné").unwrap_err()).contains("U+00E9"));
        for lead in ["-a", "_a"] {
            assert_eq!(
                reason(ZoneId::parse(lead).unwrap_err()),
                "must start with a letter or digit"
            );
        }
        assert_eq!(
            ZoneId::parse("").unwrap_err().in_field("zone"),
            Error::invalid("zone", "is empty")
        );
    }

    #[test]
    fn slugs_are_validated_by_serde() {
        assert_eq!(
            de::<ZoneId>("cz-north").ok(),
            ZoneId::parse("cz-north").ok()
        );
        let err = de::<ZoneId>("CZ").unwrap_err().to_string();
        assert!(err.starts_with("zone_id: contains 'C'"), "{err}");
        assert_eq!(String::from(LaneId::parse("l1").unwrap()), "l1");
    }

    #[test]
    fn booking_id_round_trips() {
        let at = Utc.with_ymd_and_hms(2025, 3, 1, 8, 30, 15).unwrap()
            + chrono::Duration::milliseconds(123);
        let id = BookingId::new(at, 0xDEAD_BEEF);
        assert_eq!(id.timestamp(), at);
        let s = id.to_string();
        assert_eq!(s.len(), 26);
        assert_eq!(s, s.to_ascii_uppercase());
        assert_eq!(BookingId::parse(&s), Ok(id));
        assert_eq!(BookingId::parse(&s.to_ascii_lowercase()), Ok(id));
        assert_eq!(BookingId::from_bytes(id.to_bytes()), id);
        assert_eq!(de::<BookingId>(&s).ok(), Some(id));
        assert_eq!(String::from(id), s);
    }

    #[test]
    fn booking_id_clamps_time() {
        let before_epoch = Utc.with_ymd_and_hms(1960, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(
            BookingId::new(before_epoch, 1).timestamp(),
            DateTime::UNIX_EPOCH
        );
        let far = BookingId::new(DateTime::<Utc>::MAX_UTC, 1);
        assert_eq!(far.timestamp().timestamp_millis(), (1 << 48) - 1);
        assert_eq!(far.to_string(), "7ZZZZZZZZZ0000000000000001");
        assert_eq!(BookingId::new(before_epoch, 0), BookingId::MIN);
        assert!(far < BookingId::MAX);
        assert_eq!(BookingId::MIN.to_string(), "00000000000000000000000000");
        assert_eq!(
            BookingId::parse(&BookingId::MAX.to_string()),
            Ok(BookingId::MAX)
        );
    }

    #[test]
    fn booking_id_refuses_with_reasons() {
        let ok = "01JN5Z3Q8M0000000000000000";
        assert!(BookingId::parse(ok).is_ok());
        assert_eq!(
            reason(BookingId::parse(&ok[1..]).unwrap_err()),
            "is 25 characters; expected 26"
        );
        assert!(reason(BookingId::parse("").unwrap_err()).contains("is 0 characters"));
        let with_o = ok.replace('Q', "O");
        assert!(reason(BookingId::parse(&with_o).unwrap_err()).contains("'O' (U+004F)"));
        let with_dash = format!("{}-", &ok[1..]);
        assert!(reason(BookingId::parse(&with_dash).unwrap_err()).contains("'-' (U+002D)"));
        assert!(
            reason(BookingId::parse("8ZZZZZZZZZZZZZZZZZZZZZZZZZ").unwrap_err())
                .contains("first character must be 0-7")
        );
        assert!(
            de::<BookingId>("nope")
                .unwrap_err()
                .to_string()
                .starts_with("booking_id: ")
        );
    }

    proptest! {
        #[test]
        fn slug_parse_never_panics(s in any::<String>()) {
            let _ = ZoneId::parse(&s);
        }

        #[test]
        fn valid_slugs_round_trip(s in "[a-z0-9][a-z0-9_-]{0,63}") {
            let id = CompanyId::parse(&s).unwrap();
            prop_assert_eq!(id.as_str(), s.as_str());
            prop_assert_eq!(de::<CompanyId>(&s).ok(), Some(id));
        }

        #[test]
        fn booking_id_parse_never_panics(s in any::<String>(), t in "[0-9A-Za-z]{26}") {
            let _ = BookingId::parse(&s);
            let _ = BookingId::parse(&t);
        }

        #[test]
        fn booking_id_round_trips_any(ms in 0i64..(1 << 48), random in any::<u128>()) {
            let at = DateTime::from_timestamp_millis(ms).unwrap();
            let id = BookingId::new(at, random);
            prop_assert_eq!(id.timestamp(), at);
            prop_assert_eq!(BookingId::parse(&id.to_string()), Ok(id));
            prop_assert_eq!(BookingId::from_bytes(id.to_bytes()), id);
        }

        #[test]
        fn booking_id_orders_by_time_bytes_and_string(
            a in (0i64..(1 << 48), any::<u128>()),
            b in (0i64..(1 << 48), any::<u128>()),
        ) {
            let id = |(ms, r): (i64, u128)| BookingId::new(DateTime::from_timestamp_millis(ms).unwrap(), r);
            let (x, y) = (id(a), id(b));
            if a.0 != b.0 {
                prop_assert_eq!(x.cmp(&y), a.0.cmp(&b.0));
            }
            prop_assert_eq!(x.cmp(&y), x.to_bytes().cmp(&y.to_bytes()));
            prop_assert_eq!(x.cmp(&y), x.to_string().cmp(&y.to_string()));
        }
    }
}
