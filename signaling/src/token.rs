//! Room join tokens: HS256 JWTs signed with the server's token key. A token names one room, one
//! identity and one participant role, and expires.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
use q10_signaling_proto::{JoinClaims, ParticipantRole};
use secrecy::{ExposeSecret, SecretSlice};
use time::{Duration, OffsetDateTime};

const ISSUER: &str = "q10";
const AUDIENCE: &str = "q10-room";
/// The longest a join token may live.
pub const MAX_TTL: Duration = Duration::days(7);

/// Why a join token was refused. The messages are meant for the person joining.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JoinTokenError {
    #[error("the join token has expired; ask for a new one")]
    Expired,
    #[error("the join token is not valid yet")]
    NotYetValid,
    #[error("the join token is for another room")]
    WrongRoom,
    #[error("the join token's signature is not valid")]
    BadSignature,
    #[error("the join token is malformed")]
    Malformed,
    #[error("invalid join token request: {0}")]
    Invalid(String),
}

/// What a new token should say.
#[derive(Debug, Clone)]
pub struct NewJoinToken {
    pub room: String,
    pub identity: String,
    pub name: String,
    pub role: ParticipantRole,
    /// The administrative unit the participant attends for (roll call), if any.
    pub unit: Option<String>,
    pub ttl: Duration,
    /// The holder may not start a recording.
    pub no_record: bool,
}

/// Mints and checks join tokens with one signing key.
pub struct JoinTokens {
    key: SecretSlice<u8>,
}

impl std::fmt::Debug for JoinTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JoinTokens { key: [redacted] }")
    }
}

fn check_label(what: &str, value: &str, max: usize) -> Result<(), JoinTokenError> {
    if value.trim().is_empty() {
        return Err(JoinTokenError::Invalid(format!("{what} must not be empty")));
    }
    if value.chars().count() > max {
        return Err(JoinTokenError::Invalid(format!("{what} is longer than {max} characters")));
    }
    if value.chars().any(char::is_control) {
        return Err(JoinTokenError::Invalid(format!("{what} contains control characters")));
    }
    Ok(())
}

impl JoinTokens {
    /// `key` must be at least 32 bytes of secret randomness.
    pub fn new(key: SecretSlice<u8>) -> Self {
        assert!(key.expose_secret().len() >= 32, "join token key shorter than 32 bytes");
        JoinTokens { key }
    }

    /// Mints a token valid from `now` for `req.ttl`.
    pub fn mint(&self, req: &NewJoinToken, now: OffsetDateTime) -> Result<String, JoinTokenError> {
        check_label("room", &req.room, 128)?;
        check_label("identity", &req.identity, 128)?;
        check_label("name", &req.name, 128)?;
        if let Some(unit) = &req.unit {
            check_label("unit", unit, 32)?;
        }
        if req.ttl <= Duration::ZERO || req.ttl > MAX_TTL {
            return Err(JoinTokenError::Invalid("ttl must be between 1 second and 7 days".into()));
        }
        let iat = now.unix_timestamp();
        let claims = JoinClaims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: req.identity.clone(),
            name: req.name.clone(),
            room: req.room.clone(),
            role: req.role,
            unit: req.unit.clone(),
            no_record: req.no_record,
            iat,
            nbf: iat,
            exp: (now + req.ttl).unix_timestamp(),
        };
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(self.key.expose_secret()),
        )
        .map_err(|_| JoinTokenError::Malformed)
    }

    /// Checks a token's signature and times at `now`, and that it admits to `room`.
    pub fn verify(&self, token: &str, room: &str, now: OffsetDateTime) -> Result<JoinClaims, JoinTokenError> {
        let mut validation = Validation::new(Algorithm::HS256);
        // Times are checked below against the caller's clock, so tests can move time.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        let data =
            jsonwebtoken::decode::<JoinClaims>(token, &DecodingKey::from_secret(self.key.expose_secret()), &validation)
                .map_err(|e| match e.kind() {
                    ErrorKind::InvalidSignature => JoinTokenError::BadSignature,
                    _ => JoinTokenError::Malformed,
                })?;
        let claims = data.claims;
        let t = now.unix_timestamp();
        if t >= claims.exp {
            return Err(JoinTokenError::Expired);
        }
        if t < claims.nbf {
            return Err(JoinTokenError::NotYetValid);
        }
        if claims.room != room {
            return Err(JoinTokenError::WrongRoom);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(byte: u8) -> JoinTokens {
        JoinTokens::new(SecretSlice::from(vec![byte; 32]))
    }

    fn request() -> NewJoinToken {
        NewJoinToken {
            room: "ward-meeting".into(),
            identity: "ward-7-chair".into(),
            name: "Phường 7".into(),
            role: ParticipantRole::Speaker,
            unit: None,
            ttl: Duration::hours(1),
            no_record: false,
        }
    }

    #[test]
    fn a_minted_token_admits_to_its_room_until_it_expires() {
        let t = tokens(7);
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let jwt = t.mint(&request(), now).unwrap();
        let claims = t.verify(&jwt, "ward-meeting", now + Duration::minutes(59)).unwrap();
        assert_eq!(claims.sub, "ward-7-chair");
        assert_eq!(claims.name, "Phường 7");
        assert_eq!(claims.role, ParticipantRole::Speaker);
        assert_eq!(t.verify(&jwt, "ward-meeting", now + Duration::hours(1)), Err(JoinTokenError::Expired));
        assert_eq!(t.verify(&jwt, "ward-meeting", now - Duration::seconds(5)), Err(JoinTokenError::NotYetValid));
        assert_eq!(t.verify(&jwt, "other-room", now), Err(JoinTokenError::WrongRoom));
    }

    #[test]
    fn tokens_signed_with_another_key_or_mangled_are_refused() {
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let jwt = tokens(1).mint(&request(), now).unwrap();
        assert_eq!(tokens(2).verify(&jwt, "ward-meeting", now), Err(JoinTokenError::BadSignature));
        assert_eq!(tokens(1).verify("not.a.jwt", "ward-meeting", now), Err(JoinTokenError::Malformed));
        assert_eq!(tokens(1).verify("", "ward-meeting", now), Err(JoinTokenError::Malformed));
    }

    #[test]
    fn bad_requests_are_refused_with_a_reason() {
        let t = tokens(3);
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let mut r = request();
        r.ttl = Duration::days(30);
        assert!(matches!(t.mint(&r, now), Err(JoinTokenError::Invalid(m)) if m.contains("ttl")));
        let mut r = request();
        r.room = " ".into();
        assert!(matches!(t.mint(&r, now), Err(JoinTokenError::Invalid(m)) if m.contains("room")));
    }
}
