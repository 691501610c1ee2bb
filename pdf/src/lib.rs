//! PDF signatures without a key of its own: add a signature to a PDF by
//! incremental update around a CMS the caller makes, and check every
//! signature of a PDF against the known attacks.
//!
//! * Signing: [`prepare`] reads the little of the file that signing needs
//!   (trailer, catalog, the page, the form) with a seeking reader, so memory
//!   stays flat in file size, and builds the [`Update`] to append: a new
//!   signature field and widget (invisible, or a visible [`Stamp`] with an
//!   embedded Japanese font subset and a seal image), a signature dictionary
//!   with a zeroed `/Contents` and its `/ByteRange`, and a cross-reference
//!   section in the file's style. [`Update::digest_after`] gives the SHA-256
//!   to sign; the caller's CMS goes in with [`Update::fill`]. [`sign_bytes`]
//!   does all three in memory around a signer callback.
//! * Checking: [`verify::check_file`] checks each signature's ByteRange
//!   (signature wrapping, universal signature forgery), its CMS (through
//!   `jpki-cms`), what later signed revisions changed (shadow attacks) and
//!   the bytes after the last signature (incremental saving attack), and
//!   returns a [`verify::FileReport`].
//!
//! What it refuses to do: sign encrypted files, files whose cross-reference
//! data is damaged, files certified "no changes" (DocMDP P=1); it never
//! rewrites the original bytes. It knows nothing of cards or PINs (the
//! signature comes from the caller), prints nothing, and its texts are
//! English: front ends translate by matching on [`Error`],
//! [`verify::Problem`] and [`verify::Tail`].
//!
//! # Example
//!
//! Signing a one-page PDF in memory and checking it (the CMS comes from
//! `jpki-cms` here, with a software key; any signer works):
//!
//! ```
//! use jpki_pdf::{sign_bytes, verify, SigOptions};
//! # use jpki_cms::{DigestInfo, DigestInfoSigner, SignerError};
//! # struct SoftKey(rsa::RsaPrivateKey);
//! # impl DigestInfoSigner for SoftKey {
//! #     fn sign_digest_info(&mut self, di: &DigestInfo) -> Result<Vec<u8>, SignerError> {
//! #         Ok(self.0.sign(rsa::Pkcs1v15Sign::new_unprefixed(), di.as_der())?)
//! #     }
//! # }
//! # fn self_signed() -> (SoftKey, Vec<u8>) {
//! #     use openssl::{pkey::PKey, x509::{X509Builder, X509NameBuilder}, asn1::Asn1Time};
//! #     use rsa::pkcs8::DecodePrivateKey;
//! #     let pkey = PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap();
//! #     let mut name = X509NameBuilder::new().unwrap();
//! #     name.append_entry_by_text("CN", "Example Signer").unwrap();
//! #     let name = name.build();
//! #     let mut b = X509Builder::new().unwrap();
//! #     b.set_version(2).unwrap();
//! #     b.set_subject_name(&name).unwrap();
//! #     b.set_issuer_name(&name).unwrap();
//! #     b.set_pubkey(&pkey).unwrap();
//! #     b.set_not_before(&Asn1Time::days_from_now(0).unwrap()).unwrap();
//! #     b.set_not_after(&Asn1Time::days_from_now(1).unwrap()).unwrap();
//! #     b.sign(&pkey, openssl::hash::MessageDigest::sha256()).unwrap();
//! #     let key = rsa::RsaPrivateKey::from_pkcs8_der(&pkey.private_key_to_pkcs8().unwrap()).unwrap();
//! #     (SoftKey(key), b.build().to_der().unwrap())
//! # }
//! # let pdf = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>\nendobj\nxref\n0 4\n0000000000 65535 f \n0000000009 00000 n \n0000000058 00000 n \n0000000115 00000 n \ntrailer\n<< /Size 4 /Root 1 0 R >>\nstartxref\n186\n%%EOF\n".to_vec();
//! let (mut key, cert) = self_signed();
//! let opts = SigOptions::new("D:20260101000000Z");
//! let signed = sign_bytes("doc.pdf", &pdf, &opts, |digest| {
//!     jpki_cms::sign(&mut key, &cert, &[], jpki_cms::Content::Detached(*digest), jpki_cms::Profile::CMS)
//! })?;
//! assert!(signed.starts_with(&pdf), "an incremental update leaves the original bytes alone");
//!
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("signed.pdf");
//! std::fs::write(&path, &signed)?;
//! let report = verify::check_file(&path, None, None, false)?;
//! assert_eq!(report.signatures.len(), 1);
//! assert_eq!(report.signatures[0].field, "Signature1");
//! assert_eq!(report.signatures[0].problem, None);
//! assert_eq!(report.tail, None);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod changes;
mod error;
mod font;
mod mdp;
mod reader;
mod revisions;
mod sign;
mod stamp;
mod structure;
mod subfilter;
mod update;
pub mod verify;

#[cfg(any(test, feature = "test-support"))]
pub mod testing;
#[cfg(test)]
mod tests;

pub use changes::{Change, Level, Revision};
pub use error::Error;
pub use font::StampFont;
pub use mdp::{Lock, Policy};
pub use reader::{for_chunks, Source};
pub use sign::{prepare, sign_bytes};
pub use stamp::{load_image, Image, Stamp};
pub use subfilter::SubFilter;
pub use update::{SigOptions, Update};
