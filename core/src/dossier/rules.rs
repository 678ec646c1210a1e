//! The dossier state machine and the checks on what applicants send: pure functions, tested
//! without a database.

use q10_core_api::{Applicant, DossierAction as A, DossierStatus as S};

use crate::complaint::rules::{new_tracking_code, normalize_tracking_code};
use crate::error::{Error, Result};

/// The status an action leads to from `from` (`None`: not submitted yet), or why it may not.
pub fn transition(from: Option<S>, action: A) -> Result<S, String> {
    use S::*;
    let to = match (from, action) {
        (None, A::Submit) => Received,
        (Some(_), A::Submit) => return Err("the dossier is already submitted".into()),
        (None, _) => return Err("the dossier is not submitted".into()),
        (Some(s), A::Comment | A::Note) => s,
        (Some(Received), A::RequestSupplement) => SupplementRequested,
        (Some(SupplementRequested), A::Supplement) => Received,
        (Some(Received | SupplementRequested), A::Refuse) => Refused,
        (Some(Received), A::Accept) => InProcess,
        (Some(InProcess), A::HandOff) => InProcess,
        (Some(InProcess), A::ResultReady) => ResultReady,
        (Some(ResultReady), A::Return) => Returned,
        (Some(s @ (Received | InProcess | ResultReady)), A::Apologize) => s,
        (Some(Returned), A::Rate) => Returned,
        (Some(s), a) => {
            return Err(format!("a dossier that is {} cannot take the action {}", s.as_str(), a.as_str()));
        }
    };
    Ok(to)
}

/// Actions only the applicant (with the dossier's code) takes.
pub fn is_applicant_action(a: A) -> bool {
    matches!(a, A::Submit | A::Supplement | A::Rate)
}

/// Whether the applicant sees the action in the history.
pub fn is_public(a: A) -> bool {
    !matches!(a, A::Note | A::HandOff)
}

/// Actions an officer must give a reason or message for.
pub fn needs_note(a: A) -> bool {
    matches!(a, A::RequestSupplement | A::Refuse | A::Apologize | A::Comment | A::Note)
}

/// A new dossier code: `HS-` and ten random symbols (50 bits), read back forgivingly.
pub fn new_code() -> String {
    format!("HS-{}", new_tracking_code())
}

/// The canonical form of a code as typed (with or without `HS-`); `None` if it cannot be one.
pub fn normalize_code(typed: &str) -> Option<String> {
    let t = typed.trim();
    let rest = t.strip_prefix("HS").or_else(|| t.strip_prefix("hs")).or_else(|| t.strip_prefix("Hs")).unwrap_or(t);
    normalize_tracking_code(rest).map(|c| format!("HS-{c}"))
}

fn text(field: &'static str, s: &str, max: usize, what: &str) -> Result<String> {
    let s = s.trim();
    if s.is_empty() || s.chars().count() > max {
        return Err(Error::invalid(field, format!("{what} must be 1 to {max} characters")));
    }
    if s.chars().any(|c| c.is_control()) {
        return Err(Error::invalid(field, format!("{what} must not contain control characters")));
    }
    Ok(s.to_string())
}

/// Whether a 12-digit citizen identity number is well formed: its first three digits are a
/// province code (001–096) and its fourth encodes sex and century.
pub fn valid_id_number(s: &str) -> bool {
    if s.len() != 12 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let province: u32 = s[..3].parse().unwrap_or(0);
    (1..=96).contains(&province)
}

/// The ID number with all but its last four digits hidden.
pub fn mask_id_number(s: &str) -> String {
    let keep = s.len().saturating_sub(4);
    format!("{}{}", "•".repeat(keep), &s[keep..])
}

/// An applicant, checked and trimmed.
pub fn check_applicant(a: &Applicant) -> Result<Applicant> {
    let id_number: String = a.id_number.chars().filter(|c| !c.is_whitespace()).collect();
    if !valid_id_number(&id_number) {
        return Err(Error::invalid(
            "id_number",
            "a citizen identity number has 12 digits and starts with a province code",
        ));
    }
    let phone: String = a.phone.chars().filter(|c| !matches!(c, ' ' | '.' | '-')).collect();
    let phone = match phone.strip_prefix("+84") {
        Some(rest) => format!("0{rest}"),
        None => phone,
    };
    if phone.len() != 10 || !phone.starts_with('0') || !phone.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::invalid("phone", "a phone number has 10 digits and starts with 0 (or +84)"));
    }
    let email = match a.email.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
        None => None,
        Some(e) => {
            let ok = e.len() <= 254
                && e.split_once('@').is_some_and(|(user, host)| !user.is_empty() && host.contains('.'))
                && !e.chars().any(|c| c.is_whitespace() || c.is_control());
            if !ok {
                return Err(Error::invalid("email", "that is not an email address"));
            }
            Some(e.to_string())
        }
    };
    Ok(Applicant {
        full_name: text("full_name", &a.full_name, 120, "a full name")?,
        id_number,
        phone,
        email,
        address: text("address", &a.address, 300, "an address")?,
    })
}

/// A note or reason given with an action.
pub fn check_note(note: &str, required: bool) -> Result<String> {
    crate::complaint::rules::check_note(note, required)
}

/// A document's file name as shown to staff: no directories, no control characters, at most
/// 120 characters.
pub fn clean_filename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base.chars().filter(|c| !c.is_control()).take(120).collect();
    if cleaned.trim().is_empty() { "document".into() } else { cleaned.trim().to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_transition_and_every_refusal() {
        use S::*;
        let allowed = [
            (Received, A::RequestSupplement, SupplementRequested),
            (SupplementRequested, A::Supplement, Received),
            (Received, A::Refuse, Refused),
            (SupplementRequested, A::Refuse, Refused),
            (Received, A::Accept, InProcess),
            (InProcess, A::HandOff, InProcess),
            (InProcess, A::ResultReady, ResultReady),
            (ResultReady, A::Return, Returned),
            (Received, A::Apologize, Received),
            (InProcess, A::Apologize, InProcess),
            (ResultReady, A::Apologize, ResultReady),
            (Returned, A::Rate, Returned),
        ];
        for from in S::ALL.iter().copied() {
            for action in q10_core_api::DossierAction::ALL.iter().copied() {
                let got = transition(Some(from), action);
                let want = allowed.iter().find(|(f, a, _)| *f == from && *a == action).map(|t| t.2);
                match (action, want) {
                    (A::Comment | A::Note, _) => assert_eq!(got, Ok(from)),
                    (_, Some(to)) => assert_eq!(got, Ok(to), "{from:?} {action:?}"),
                    (_, None) => assert!(got.is_err(), "{from:?} {action:?} should be refused"),
                }
            }
        }
        assert_eq!(transition(None, A::Submit), Ok(Received));
        assert!(transition(None, A::Accept).is_err());
    }

    #[test]
    fn codes_read_back_forgivingly() {
        let code = new_code();
        assert!(code.starts_with("HS-") && code.len() == 14, "{code}");
        assert_eq!(normalize_code(&code.to_lowercase()), Some(code.clone()));
        assert_eq!(normalize_code(&code[3..]), Some(code.clone()));
        assert_eq!(normalize_code("HS-123"), None);
    }

    #[test]
    fn applicants_are_checked() {
        let good = Applicant {
            full_name: " Nguyễn Văn An ".into(),
            id_number: "079 2030 12345".replace(' ', ""),
            phone: "+84 912 345 678".into(),
            email: Some("an@example.vn".into()),
            address: "12 Đường 3/2, Phường 1".into(),
        };
        let ok = check_applicant(&good).unwrap();
        assert_eq!(ok.full_name, "Nguyễn Văn An");
        assert_eq!(ok.phone, "0912345678");
        assert_eq!(mask_id_number(&ok.id_number), "••••••••2345");
        for bad in [
            Applicant { id_number: "12345678901".into(), ..good.clone() },
            Applicant { id_number: "000123456789".into(), ..good.clone() },
            Applicant { phone: "12345".into(), ..good.clone() },
            Applicant { email: Some("not-an-email".into()), ..good.clone() },
            Applicant { full_name: " ".into(), ..good.clone() },
        ] {
            assert!(check_applicant(&bad).is_err(), "{bad:?}");
        }
        assert_eq!(clean_filename("C:\\Users\\an\\don.pdf"), "don.pdf");
        assert_eq!(clean_filename("../../etc/passwd"), "passwd");
    }
}
