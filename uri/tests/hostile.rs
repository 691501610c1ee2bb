//! URIs and PEM-URI files come from users and from key files: any input gives a value or an
//! error, never a panic; valid URIs survive printing and parsing again; PEM-URI files survive
//! encoding and decoding. Bounded for `make test` (PROPTEST_CASES for longer runs).

use jpki_uri::pem_uri;
use jpki_uri::{JpkiUri, Object, PinSource};
use proptest::prelude::*;

/// `PROPTEST_CASES` (as `make fuzz` sets it) or the bounded default of `make test`.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn object() -> impl Strategy<Value = Object> {
    prop_oneof![
        Just(Object::All),
        Just(Object::Auth),
        Just(Object::Sign),
        Just(Object::AuthCa),
        Just(Object::SignCa)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(256)))]

    #[test]
    fn any_text_parses_or_is_refused(s in "\\PC{0,80}", tail in "[a-z=&?%:/0-9-]{0,40}") {
        let _ = JpkiUri::parse(&s);
        let _ = JpkiUri::parse(&format!("jpki:{tail}"));
        let _ = JpkiUri::parse(&format!("jpki:auth?{tail}"));
    }

    #[test]
    fn valid_uris_round_trip(
        object in object(),
        reader in proptest::option::of("\\PC{1,30}"),
        file in proptest::option::of("/[a-z0-9 %&?=/]{1,30}"),
        last in any::<bool>(),
        pss in proptest::option::of(any::<bool>()),
    ) {
        let mut u = JpkiUri::new(object);
        u.reader = reader.filter(|r| !r.trim().is_empty());
        u.pin_source = file.map(|f| PinSource::File(f.into()));
        u.allow_last_try = last;
        u.pss = pss;
        let text = u.to_string();
        prop_assert_eq!(JpkiUri::parse(&text), Ok(u.clone()), "{}", text);
        let pem = pem_uri::encode(&u).expect("encode");
        prop_assert_eq!(pem_uri::decode(pem.as_bytes()).ok(), Some(u));
    }

    #[test]
    fn any_bytes_as_a_key_file_never_panic(b in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = pem_uri::decode(&b);
        let _ = pem_uri::decode_der(&b);
        let mut pem = b"-----BEGIN JPKI PROVIDER URI-----\n".to_vec();
        pem.extend(&b);
        pem.extend(b"\n-----END JPKI PROVIDER URI-----\n");
        let _ = pem_uri::decode(&pem);
    }
}
