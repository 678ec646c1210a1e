//! Sealing personal data at rest: AES-256-GCM under the data-encryption key, a fresh random
//! nonce per value, and a context string bound in as associated data so a value sealed for one
//! column cannot be passed off as another.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretSlice};

use crate::error::{Error, Result};

const NONCE_LEN: usize = 12;
/// Format version, the first byte of every sealed value.
const VERSION: u8 = 1;

fn cipher(key: &SecretSlice<u8>) -> Result<Aes256Gcm> {
    let bytes = key.expose_secret();
    let bytes = bytes.get(..32).ok_or_else(|| Error::Internal(anyhow::anyhow!("the data key is too short")))?;
    Aes256Gcm::new_from_slice(bytes).map_err(|_| Error::Internal(anyhow::anyhow!("the data key is unusable")))
}

/// Encrypts `plain` for `context`: version byte, nonce, ciphertext with tag.
pub fn seal(key: &SecretSlice<u8>, context: &str, plain: &[u8]) -> Result<Vec<u8>> {
    let mut nonce = [0u8; NONCE_LEN];
    rand::rng().fill_bytes(&mut nonce);
    let sealed = cipher(key)?
        .encrypt(Nonce::from_slice(&nonce), Payload { msg: plain, aad: context.as_bytes() })
        .map_err(|_| Error::Internal(anyhow::anyhow!("encryption failed")))?;
    let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
    out.push(VERSION);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// Decrypts what [`seal`] made for the same `context`. Fails on any change to the bytes.
pub fn open(key: &SecretSlice<u8>, context: &str, sealed: &[u8]) -> Result<Vec<u8>> {
    let broken = || Error::Internal(anyhow::anyhow!("a sealed {context} value does not open"));
    if sealed.len() < 1 + NONCE_LEN || sealed[0] != VERSION {
        return Err(broken());
    }
    let (nonce, body) = sealed[1..].split_at(NONCE_LEN);
    cipher(key)?.decrypt(Nonce::from_slice(nonce), Payload { msg: body, aad: context.as_bytes() }).map_err(|_| broken())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> SecretSlice<u8> {
        SecretSlice::from(vec![b; 32])
    }

    #[test]
    fn sealed_values_open_only_with_their_key_and_context() {
        let sealed = seal(&key(1), "complaint.contact", b"0901234567").unwrap();
        assert!(!sealed.windows(10).any(|w| w == b"0901234567"), "the plain text is not in the sealed value");
        assert_eq!(open(&key(1), "complaint.contact", &sealed).unwrap(), b"0901234567");
        assert!(open(&key(2), "complaint.contact", &sealed).is_err());
        assert!(open(&key(1), "other.column", &sealed).is_err());
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(open(&key(1), "complaint.contact", &tampered).is_err());
        assert_ne!(seal(&key(1), "c", b"x").unwrap(), seal(&key(1), "c", b"x").unwrap(), "nonces are fresh");
    }
}
