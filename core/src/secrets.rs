//! The server's secret keys: generated into the data directory on first start (mode 0600), or
//! read from files an operator provides (the same files on every node of a cluster). Never logged.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore;
use secrecy::SecretSlice;

use crate::audit::AuditKey;

/// The keys a node needs.
#[derive(Clone)]
pub struct Secrets {
    /// Signs room join tokens.
    pub token_signing: SecretSlice<u8>,
    /// Encrypts personal data at rest.
    pub data_encryption: SecretSlice<u8>,
    /// Signs the audit chain.
    pub audit: AuditKey,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets([redacted])")
    }
}

/// Names of the key files in a secrets directory.
pub const TOKEN_SIGNING_FILE: &str = "token-signing.key";
pub const DATA_ENCRYPTION_FILE: &str = "data-encryption.key";
pub const AUDIT_FILE: &str = "audit.key";

impl Secrets {
    /// Reads the keys in `dir`, generating any that are missing.
    pub fn load_or_generate(dir: &Path) -> anyhow::Result<Secrets> {
        std::fs::create_dir_all(dir)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
        Ok(Secrets {
            token_signing: key_file(&dir.join(TOKEN_SIGNING_FILE))?,
            data_encryption: key_file(&dir.join(DATA_ENCRYPTION_FILE))?,
            audit: AuditKey(key_file(&dir.join(AUDIT_FILE))?),
        })
    }
}

/// A 32-byte key stored base64 in `path`; created with fresh randomness if absent.
pub fn key_file(path: &PathBuf) -> anyhow::Result<SecretSlice<u8>> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let bytes =
                STANDARD.decode(text.trim()).map_err(|_| anyhow::anyhow!("{} is not base64", path.display()))?;
            anyhow::ensure!(bytes.len() >= 32, "{} holds fewer than 32 bytes", path.display());
            Ok(SecretSlice::from(bytes))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut bytes = vec![0u8; 32];
            rand::rng().fill_bytes(&mut bytes);
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            let mut file = options.open(path)?;
            writeln!(file, "{}", STANDARD.encode(&bytes))?;
            file.sync_all()?;
            Ok(SecretSlice::from(bytes))
        }
        Err(e) => Err(anyhow::anyhow!("cannot read {}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn keys_are_generated_once_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let a = Secrets::load_or_generate(dir.path()).unwrap();
        let b = Secrets::load_or_generate(dir.path()).unwrap();
        assert_eq!(a.token_signing.expose_secret(), b.token_signing.expose_secret());
        assert_ne!(a.token_signing.expose_secret(), a.data_encryption.expose_secret());
        assert_eq!(format!("{a:?}"), "Secrets([redacted])");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(TOKEN_SIGNING_FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
