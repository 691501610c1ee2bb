//! Signing around a caller's signer: [`prepare`] builds the update for a
//! file (nothing is written; a broken or encrypted file fails here, before
//! any signer is asked), the caller hashes the original bytes plus the update
//! ([`Update::digest_after`]) and makes a CMS over that digest, then
//! [`Update::fill`] puts the CMS in. [`sign_bytes`] does all of it in memory.

use crate::reader::{self, Source};
use crate::update::{self, SigOptions, Update};
use crate::{structure, Error};
use sha2::{Digest, Sha256};

/// The update that signs the PDF in `src` (`name` is for messages).
pub fn prepare(name: &str, src: &dyn Source, opts: &SigOptions) -> Result<Update, Error> {
    let size = src.size();
    let pdf = structure::load(name, src)?;
    let last = reader::read_vec(src, size.saturating_sub(1), 1).map_err(|source| Error::Io {
        name: name.into(),
        source,
    })?;
    let ends_with_eol = matches!(last.first(), Some(b'\n' | b'\r'));
    update::build(&pdf, size, ends_with_eol, opts).map_err(|reason| Error::CannotSign {
        name: name.into(),
        reason,
    })
}

/// `pdf` signed: the update is prepared, `make_cms` gets the SHA-256 the
/// signature covers and returns the DER CMS (detached), which is filled in.
/// Returns the original bytes followed by the update.
pub fn sign_bytes(
    name: &str,
    pdf: &[u8],
    opts: &SigOptions,
    make_cms: impl FnOnce(&[u8; 32]) -> Result<Vec<u8>, jpki_cms::Error>,
) -> Result<Vec<u8>, Error> {
    let src = pdf.to_vec();
    let mut update = prepare(name, &src, opts)?;
    let mut original = Sha256::new();
    original.update(pdf);
    let cms = make_cms(&update.digest_after(&original))?;
    update.fill(&cms)?;
    Ok([pdf, &update.bytes].concat())
}
