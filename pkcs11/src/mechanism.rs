//! The signature mechanisms and one signing operation's input.
//!
//! `CKM_RSA_PKCS` takes a complete DER DigestInfo (what NSS, OpenSSH and libp11 hand over);
//! anything else is refused, because the card would sign it and nobody could verify the
//! result. `CKM_SHA*_RSA_PKCS` hash here and sign the DigestInfo. RSA-PSS (SHA-256, MGF1
//! SHA-256, salt 32: the card's only PSS mode) is offered only when configured (`pss = yes`).

use crate::error::{rv, Result};
use cryptoki_sys::*;
use jpki_card::{DigestInfo, HashAlg, Hasher, SignInput};

/// Largest input kept for a one-shot mechanism (a DigestInfo is at most 83 bytes).
const MAX_RAW: usize = 1024;

/// The mechanisms offered.
pub fn list(pss: bool) -> Vec<CK_MECHANISM_TYPE> {
    let mut v = vec![
        CKM_RSA_PKCS,
        CKM_SHA1_RSA_PKCS,
        CKM_SHA224_RSA_PKCS,
        CKM_SHA256_RSA_PKCS,
        CKM_SHA384_RSA_PKCS,
        CKM_SHA512_RSA_PKCS,
    ];
    if pss {
        v.extend([CKM_RSA_PKCS_PSS, CKM_SHA256_RSA_PKCS_PSS]);
    }
    v
}

/// What a signing operation collects until `C_Sign`/`C_SignFinal`.
pub struct Input {
    pss: bool,
    state: State,
}

enum State {
    Raw(Vec<u8>),
    Hash(Box<Hasher>),
}

fn hash(alg: HashAlg) -> State {
    State::Hash(Box::new(Hasher::new(alg)))
}

/// The PSS parameters the card's mode matches.
fn pss_params_ok(param: Option<&CK_RSA_PKCS_PSS_PARAMS>) -> bool {
    matches!(param, Some(p) if p.hashAlg == CKM_SHA256 && p.mgf == CKG_MGF1_SHA256 && p.sLen == 32)
}

impl Input {
    /// Starts an operation for `mech`; `pss_param` is the mechanism parameter if it had the
    /// size of `CK_RSA_PKCS_PSS_PARAMS`.
    pub fn start(
        mech: CK_MECHANISM_TYPE,
        pss_param: Option<&CK_RSA_PKCS_PSS_PARAMS>,
        pss_enabled: bool,
    ) -> Result<Input> {
        let (pss, state) = match mech {
            CKM_RSA_PKCS => (false, State::Raw(Vec::new())),
            CKM_SHA1_RSA_PKCS => (false, hash(HashAlg::Sha1)),
            CKM_SHA224_RSA_PKCS => (false, hash(HashAlg::Sha224)),
            CKM_SHA256_RSA_PKCS => (false, hash(HashAlg::Sha256)),
            CKM_SHA384_RSA_PKCS => (false, hash(HashAlg::Sha384)),
            CKM_SHA512_RSA_PKCS => (false, hash(HashAlg::Sha512)),
            CKM_RSA_PKCS_PSS | CKM_SHA256_RSA_PKCS_PSS if pss_enabled => {
                if !pss_params_ok(pss_param) {
                    return rv(CKR_MECHANISM_PARAM_INVALID);
                }
                if mech == CKM_RSA_PKCS_PSS {
                    (true, State::Raw(Vec::new()))
                } else {
                    (true, hash(HashAlg::Sha256))
                }
            }
            _ => return rv(CKR_MECHANISM_INVALID),
        };
        Ok(Input { pss, state })
    }

    /// Adds data (multi-part).
    pub fn update(&mut self, data: &[u8]) -> Result<()> {
        match &mut self.state {
            State::Raw(v) => {
                if v.len() + data.len() > MAX_RAW {
                    return rv(CKR_DATA_LEN_RANGE);
                }
                v.extend_from_slice(data);
            }
            State::Hash(h) => h.update(data),
        }
        Ok(())
    }

    /// What the card signs.
    pub fn finish(self) -> Result<SignInput> {
        match (self.pss, self.state) {
            (false, State::Raw(v)) => DigestInfo::from_der(&v)
                .map(SignInput::Pkcs1)
                .ok_or(crate::error::P11Error::Rv(CKR_DATA_INVALID)),
            (false, State::Hash(h)) => {
                let alg = h.alg();
                DigestInfo::new(alg, &h.finish())
                    .map(SignInput::Pkcs1)
                    .map_err(|_| crate::error::P11Error::Rv(CKR_GENERAL_ERROR))
            }
            (true, State::Raw(v)) => <[u8; 32]>::try_from(v.as_slice())
                .map(SignInput::PssSha256)
                .map_err(|_| crate::error::P11Error::Rv(CKR_DATA_LEN_RANGE)),
            (true, State::Hash(h)) => <[u8; 32]>::try_from(h.finish().as_slice())
                .map(SignInput::PssSha256)
                .map_err(|_| crate::error::P11Error::Rv(CKR_GENERAL_ERROR)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_rsa_pkcs_takes_only_a_digest_info() {
        let mut i = Input::start(CKM_RSA_PKCS, None, false).unwrap();
        i.update(&[0u8; 32]).unwrap();
        assert!(i.finish().is_err());
        let di = DigestInfo::new(HashAlg::Sha256, &[1; 32]).unwrap();
        let mut i = Input::start(CKM_RSA_PKCS, None, false).unwrap();
        i.update(di.as_der()).unwrap();
        assert!(matches!(i.finish().unwrap(), SignInput::Pkcs1(_)));
    }

    #[test]
    fn pss_only_when_enabled_and_with_the_card_parameters() {
        assert!(Input::start(CKM_RSA_PKCS_PSS, None, false).is_err());
        let good = CK_RSA_PKCS_PSS_PARAMS {
            hashAlg: CKM_SHA256,
            mgf: CKG_MGF1_SHA256,
            sLen: 32,
        };
        let bad = CK_RSA_PKCS_PSS_PARAMS { sLen: 20, ..good };
        assert!(Input::start(CKM_RSA_PKCS_PSS, Some(&good), true).is_ok());
        assert!(Input::start(CKM_RSA_PKCS_PSS, Some(&bad), true).is_err());
    }
}
