//! TURN credentials for clients whose network blocks UDP to the media server: time-limited ones a
//! TURN server configured with a shared secret (coturn's `use-auth-secret`) checks on its own.
//! The username is `<expiry unix time>:<identity>`, the password the base64 HMAC-SHA1 of the
//! username under the secret (the TURN REST API convention).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use q10_signaling_proto::IceServer;
use secrecy::{ExposeSecret, SecretString};
use sha1::Sha1;
use time::{Duration, OffsetDateTime};

/// The TURN servers handed to clients and the secret they share with them.
pub struct Turn {
    urls: Vec<String>,
    secret: SecretString,
    ttl: Duration,
}

impl std::fmt::Debug for Turn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Turn").field("urls", &self.urls).field("ttl", &self.ttl).finish_non_exhaustive()
    }
}

impl Turn {
    /// `urls` are `turn:` or `turns:` URIs; credentials are valid for `ttl`.
    pub fn new(urls: Vec<String>, secret: SecretString, ttl: Duration) -> Result<Turn, String> {
        if urls.is_empty() {
            return Err("give at least one TURN URL".into());
        }
        if let Some(bad) = urls.iter().find(|u| !(u.starts_with("turn:") || u.starts_with("turns:"))) {
            return Err(format!("'{bad}' is not a turn: or turns: URL"));
        }
        if secret.expose_secret().len() < 16 {
            return Err("the TURN secret must be at least 16 characters".into());
        }
        if ttl <= Duration::ZERO {
            return Err("the TURN credential lifetime must be positive".into());
        }
        Ok(Turn { urls, secret, ttl })
    }

    /// Credentials for `identity`, valid from `now` for the configured lifetime.
    pub fn credentials(&self, identity: &str, now: OffsetDateTime) -> IceServer {
        let username = format!("{}:{identity}", (now + self.ttl).unix_timestamp());
        let mut mac =
            Hmac::<Sha1>::new_from_slice(self.secret.expose_secret().as_bytes()).expect("HMAC takes any key length");
        mac.update(username.as_bytes());
        let credential = STANDARD.encode(mac.finalize().into_bytes());
        IceServer { urls: self.urls.clone(), username, credential }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_follow_the_turn_rest_convention() {
        let turn = Turn::new(
            vec!["turn:turn.example.org:3478?transport=udp".into()],
            SecretString::from("a-shared-secret-of-some-length"),
            Duration::hours(1),
        )
        .unwrap();
        let now = OffsetDateTime::from_unix_timestamp(1_790_000_000).unwrap();
        let c = turn.credentials("user-7", now);
        assert_eq!(c.username, "1790003600:user-7");
        // As `printf %s 1790003600:user-7 | openssl dgst -sha1 -hmac <secret> -binary | base64` gives.
        assert_eq!(c.credential, "bc2knRguGvLZJ9EDr50V7Sm/+SI=");
        assert!(
            Turn::new(vec!["stun:x".into()], SecretString::from("a-shared-secret-of-some-length"), Duration::hours(1))
                .is_err()
        );
        assert!(Turn::new(vec!["turn:x".into()], SecretString::from("short"), Duration::hours(1)).is_err());
    }
}
