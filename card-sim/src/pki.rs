//! The deterministic test PKI the simulated card carries.
//!
//! Two self-signed roots (one for signature certificates, one for user
//! authentication, as J-LIS runs them) and the two end-entity certificates,
//! with the extensions real cards carry (spec §12): critical keyUsage,
//! subject/authority key ids, issuerAltName `DirName:C=JP,O=公的個人認証サービス`
//! and, on the sign certificate only, the 基本4情報 as SAN otherNames.
//!
//! Everything is derived from a seed: the RSA keys by a seeded ChaCha RNG, the
//! certificates by fixed serials and dates (PKCS#1 v1.5 signatures are
//! deterministic). Same seed, same bytes — tests can compare what the card
//! returns with what `--pki-dir` wrote. The person is obviously fictional.
//!
//! This module refuses to pretend to be J-LIS: every DN says `JPKI-SIMULATOR`.

use der::asn1::Utf8StringRef;
use der::Encode;
use openssl::asn1::{Asn1Object, Asn1OctetString, Asn1Time};
use openssl::bn::BigNum;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::extension::{
    AuthorityKeyIdentifier, BasicConstraints, KeyUsage, SubjectKeyIdentifier,
};
use openssl::x509::{X509Builder, X509Extension, X509Name, X509NameBuilder, X509};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rsa::pkcs1::EncodeRsaPrivateKey;
use std::str::FromStr;
use x509_cert::ext::pkix::name::{GeneralName, OtherName};

/// Errors while building the test PKI (only from the crypto libraries).
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// OpenSSL refused something.
    #[error("openssl: {0}")]
    Openssl(#[from] openssl::error::ErrorStack),
    /// RSA key generation failed.
    #[error("rsa key generation: {0}")]
    Rsa(String),
    /// DER encoding of an extension failed.
    #[error("der: {0}")]
    Der(#[from] der::Error),
}

/// The fictional card holder. Nothing here is, or resembles, a real person.
#[derive(Debug, Clone)]
pub struct Person {
    /// Family and given name separated by U+3000.
    pub name: String,
    /// Address from the prefecture on, full-width block numbers.
    pub address: String,
    /// Birth date `YYYYMMDD` (Gregorian).
    pub birth: String,
    /// Sex, ISO 5218 digit as the text AP stores it.
    pub sex: char,
    /// The 12-digit 個人番号 (a made-up number).
    pub my_number: String,
}

impl Default for Person {
    fn default() -> Person {
        Person {
            name: "試験\u{3000}花子".into(),
            address: "架空県模擬市試験町１－２－３".into(),
            birth: "19900101".into(),
            sex: '2',
            my_number: "123456789018".into(),
        }
    }
}

/// The four certificates and two card keys.
pub struct TestPki {
    /// Root for user-authentication certificates (card EF 000B).
    pub auth_ca: X509,
    /// Root for signature certificates (card EF 0002).
    pub sign_ca: X509,
    /// User-authentication certificate (EF 000A).
    pub auth_cert: X509,
    /// Signature certificate (EF 0001, password protected).
    pub sign_cert: X509,
    /// Private key behind `auth_cert` (IEF 0017).
    pub auth_key: PKey<Private>,
    /// Private key behind `sign_cert` (IEF 001A).
    pub sign_key: PKey<Private>,
    /// The fictional holder.
    pub person: Person,
}

impl std::fmt::Debug for TestPki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TestPki{..}")
    }
}

const NOT_BEFORE: &str = "20250101000000Z";
const NOT_AFTER: &str = "20341231235959Z";
const DEFAULT_SEED: u64 = 0x4a50_4b49_5349_4d31; // "JPKISIM1"

/// OID arc of the JPKI SAN otherNames (spec §12).
const SAN_ARC: &str = "1.2.392.200149.8.5.5";

fn rsa_key(rng: &mut ChaCha20Rng) -> Result<PKey<Private>, PkiError> {
    let k = rsa::RsaPrivateKey::new(rng, 2048).map_err(|e| PkiError::Rsa(e.to_string()))?;
    let der = k.to_pkcs1_der().map_err(|e| PkiError::Rsa(e.to_string()))?;
    Ok(PKey::from_rsa(Rsa::private_key_from_der(der.as_bytes())?)?)
}

fn name(entries: &[(&str, &str)]) -> Result<X509Name, PkiError> {
    let mut b = X509NameBuilder::new()?;
    for (k, v) in entries {
        b.append_entry_by_text(k, v)?;
    }
    Ok(b.build())
}

fn der_extension(oid: &str, critical: bool, der: &[u8]) -> Result<X509Extension, PkiError> {
    let oid = Asn1Object::from_str(oid)?;
    let value = Asn1OctetString::new_from_bytes(der)?;
    Ok(X509Extension::new_from_der(&oid, critical, &value)?)
}

/// `issuerAltName = DirName: C=JP, O=公的個人認証サービス` as on real certificates.
fn issuer_alt_name() -> Result<X509Extension, PkiError> {
    let dn = x509_cert::name::Name::from_str("O=公的個人認証サービス (模擬),C=JP")?;
    let ian = x509_cert::ext::pkix::IssuerAltName(vec![GeneralName::DirectoryName(dn)]);
    der_extension("2.5.29.18", false, &ian.to_der()?)
}

/// SAN otherNames `.1` name, `.2` name flags, `.3` sex, `.4` birth, `.5` address,
/// `.6` address flags (spec §12, myna Go's table).
fn sign_san(p: &Person) -> Result<X509Extension, PkiError> {
    let sex_cert = match p.sex {
        '1' => "1",
        '2' => "2",
        _ => "3",
    };
    // Era code 4 = 平成 … the year stays Gregorian (EYYYYMMDD).
    let birth = format!("4{}", p.birth);
    let name_flags = "0".repeat(p.name.chars().count());
    let addr_flags = "0".repeat(p.address.chars().count());
    let fields: [(&str, &str); 6] = [
        ("1", &p.name),
        ("2", &name_flags),
        ("3", sex_cert),
        ("4", &birth),
        ("5", &p.address),
        ("6", &addr_flags),
    ];
    let mut names = Vec::new();
    for (n, v) in fields {
        let type_id = der::asn1::ObjectIdentifier::new(&format!("{SAN_ARC}.{n}"))
            .map_err(|e| PkiError::Rsa(format!("oid: {e}")))?;
        let value = der::Any::encode_from(&Utf8StringRef::new(v)?)?;
        names.push(GeneralName::OtherName(OtherName { type_id, value }));
    }
    let san = x509_cert::ext::pkix::SubjectAltName(names);
    der_extension("2.5.29.17", false, &san.to_der()?)
}

struct CertSpec<'a> {
    serial: u32,
    subject: &'a X509Name,
    key: &'a PKey<Private>,
    issuer: Option<(&'a X509, &'a PKey<Private>)>,
    ca: bool,
    non_repudiation: bool,
    extra: Vec<X509Extension>,
}

fn build_cert(spec: CertSpec<'_>) -> Result<X509, PkiError> {
    let mut b = X509Builder::new()?;
    b.set_version(2)?;
    let serial = BigNum::from_u32(spec.serial)?.to_asn1_integer()?;
    b.set_serial_number(&serial)?;
    b.set_subject_name(spec.subject)?;
    let (issuer_name, issuer_key) = match spec.issuer {
        Some((c, k)) => (c.subject_name(), k),
        None => (spec.subject.as_ref(), spec.key),
    };
    b.set_issuer_name(issuer_name)?;
    b.set_pubkey(spec.key)?;
    let (nb, na) = (
        Asn1Time::from_str(NOT_BEFORE)?,
        Asn1Time::from_str(NOT_AFTER)?,
    );
    b.set_not_before(&nb)?;
    b.set_not_after(&na)?;
    if spec.ca {
        b.append_extension(BasicConstraints::new().critical().ca().build()?)?;
        b.append_extension(
            KeyUsage::new()
                .critical()
                .key_cert_sign()
                .crl_sign()
                .build()?,
        )?;
    } else {
        let mut ku = KeyUsage::new();
        ku.critical().digital_signature();
        if spec.non_repudiation {
            ku.non_repudiation();
        }
        b.append_extension(ku.build()?)?;
    }
    let ski = SubjectKeyIdentifier::new().build(&b.x509v3_context(None, None))?;
    b.append_extension(ski)?;
    if let Some((issuer_cert, _)) = spec.issuer {
        let aki = AuthorityKeyIdentifier::new()
            .keyid(true)
            .build(&b.x509v3_context(Some(issuer_cert), None))?;
        b.append_extension(aki)?;
    }
    for e in spec.extra {
        b.append_extension(e)?;
    }
    b.sign(issuer_key, MessageDigest::sha256())?;
    Ok(b.build())
}

impl TestPki {
    /// The PKI for the default seed (what `make sim-up` writes).
    pub fn generate_default() -> Result<TestPki, PkiError> {
        TestPki::generate(DEFAULT_SEED, Person::default())
    }

    /// Builds the PKI from a seed; same seed, same keys and certificates.
    pub fn generate(seed: u64, person: Person) -> Result<TestPki, PkiError> {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let sign_ca_key = rsa_key(&mut rng)?;
        let auth_ca_key = rsa_key(&mut rng)?;
        let sign_key = rsa_key(&mut rng)?;
        let auth_key = rsa_key(&mut rng)?;
        let ca_dn = |ou: &str| -> Result<X509Name, PkiError> {
            name(&[
                ("C", "JP"),
                ("O", "JPKI-SIMULATOR"),
                ("OU", ou),
                (
                    "OU",
                    "Simulated Agency for Local Authority Information Systems",
                ),
            ])
        };
        let sign_ca_dn = ca_dn("JPKI for digital signature")?;
        let auth_ca_dn = ca_dn("JPKI for user authentication")?;
        let sign_ca = build_cert(CertSpec {
            serial: 1,
            subject: &sign_ca_dn,
            key: &sign_ca_key,
            issuer: None,
            ca: true,
            non_repudiation: false,
            extra: vec![],
        })?;
        let auth_ca = build_cert(CertSpec {
            serial: 2,
            subject: &auth_ca_dn,
            key: &auth_ca_key,
            issuer: None,
            ca: true,
            non_repudiation: false,
            extra: vec![],
        })?;
        // Opaque serial-like CNs as on real cards; the sign certificate adds the
        // holder's locality in romaji (the designed difference, spec §12).
        let auth_dn = name(&[("C", "JP"), ("CN", "SIM0000000000000000A0001")])?;
        let sign_dn = name(&[
            ("C", "JP"),
            ("L", "Kakuu-ken"),
            ("L", "Mogi-shi"),
            ("CN", "SIM0000000000000000S0001"),
        ])?;
        let auth_cert = build_cert(CertSpec {
            serial: 0x1001,
            subject: &auth_dn,
            key: &auth_key,
            issuer: Some((&auth_ca, &auth_ca_key)),
            ca: false,
            non_repudiation: false,
            extra: vec![issuer_alt_name()?],
        })?;
        let sign_cert = build_cert(CertSpec {
            serial: 0x2001,
            subject: &sign_dn,
            key: &sign_key,
            issuer: Some((&sign_ca, &sign_ca_key)),
            ca: false,
            non_repudiation: true,
            extra: vec![sign_san(&person)?, issuer_alt_name()?],
        })?;
        Ok(TestPki {
            auth_ca,
            sign_ca,
            auth_cert,
            sign_cert,
            auth_key,
            sign_key,
            person,
        })
    }

    /// Writes `auth.pem`, `sign.pem`, `auth-ca.pem`, `sign-ca.pem` and
    /// `ca-bundle.pem` (both roots) into `dir` — the layout design.md fixes.
    pub fn write_pem_dir(&self, dir: &std::path::Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        let pem = |c: &X509| c.to_pem().map_err(std::io::Error::other);
        let files = [
            ("auth.pem", pem(&self.auth_cert)?),
            ("sign.pem", pem(&self.sign_cert)?),
            ("auth-ca.pem", pem(&self.auth_ca)?),
            ("sign-ca.pem", pem(&self.sign_ca)?),
            (
                "ca-bundle.pem",
                [pem(&self.auth_ca)?, pem(&self.sign_ca)?].concat(),
            ),
        ];
        for (n, bytes) in files {
            // Write-then-rename: a test reading the directory never sees half a file.
            let tmp = dir.join(format!(".{n}.tmp"));
            std::fs::write(&tmp, bytes)?;
            std::fs::rename(&tmp, dir.join(n))?;
        }
        Ok(())
    }
}
