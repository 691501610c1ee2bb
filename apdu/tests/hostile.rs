//! Bytes from a card or a reader are hostile until parsed: no input may panic the parsers, and
//! whatever parses must encode back to the same bytes. Bounded (256 cases each) so it runs in
//! `make test`; PROPTEST_CASES=100000 for a longer run (`make fuzz`).

use jpki_apdu::{Command, Response};
use proptest::prelude::*;

/// `PROPTEST_CASES` (as `make fuzz` sets it) or the bounded default of `make test`.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(256)))]

    #[test]
    fn responses_never_panic_and_round_trip(b in proptest::collection::vec(any::<u8>(), 0..600)) {
        if let Ok(r) = Response::parse(&b) {
            prop_assert_eq!(r.to_bytes(), b);
        } else {
            prop_assert!(b.len() < 2, "only inputs without a status word are refused");
        }
    }

    #[test]
    fn commands_never_panic_and_round_trip(b in proptest::collection::vec(any::<u8>(), 0..700)) {
        if let Ok(c) = Command::parse(&b) {
            prop_assert_eq!(c.to_bytes().ok().map(|v| v.to_vec()), Some(b));
        }
    }
}
