//! The complaint state machine, tracking codes and the checks on what citizens send: pure
//! functions, tested without a database.

use q10_core_api::{ComplaintAction as A, ComplaintContact, ComplaintStatus as S, NewComplaint, NotifyChannel};
use rand::Rng;
use time::{Duration, OffsetDateTime};

use crate::error::{Error, Result};

/// Longest description accepted (Open311's limit).
pub const MAX_DESCRIPTION: usize = 4000;
/// How long after the fix or close a citizen may reopen.
pub const REOPEN_WINDOW: Duration = Duration::days(14);
/// Open complaints of the same category this close and this recent are offered as duplicates.
pub const DUPLICATE_RADIUS_M: f64 = 50.0;
pub const DUPLICATE_WINDOW: Duration = Duration::days(30);

/// The status an action leads to from `from` (`None`: not filed yet), or why it may not happen.
pub fn transition(from: Option<S>, action: A) -> Result<S, String> {
    use S::*;
    let to = match (from, action) {
        (None, A::Submit) => Submitted,
        (Some(_), A::Submit) => return Err("the complaint is already filed".into()),
        (None, _) => return Err("the complaint is not filed".into()),
        (Some(s), A::Comment | A::Note) => s,
        (Some(Submitted | Assigned | InProgress | Reopened), A::Triage) => ForTriage,
        (Some(Submitted | ForTriage | Assigned | InProgress | Reopened), A::Assign) => Assigned,
        (Some(Assigned | Reopened), A::Start) => InProgress,
        (Some(Assigned | InProgress | Reopened), A::Fix) => Fixed,
        (Some(Fixed), A::Close) => Closed,
        (Some(Submitted | ForTriage | Assigned | Reopened), A::MarkDuplicate) => Duplicate,
        (Some(Submitted | ForTriage | Assigned | Reopened), A::NotOurResponsibility) => NotOurResponsibility,
        (Some(Fixed | Closed), A::Reopen) => Reopened,
        (Some(Closed), A::Rate) => Closed,
        (Some(s), a) => {
            return Err(format!("a complaint that is {} cannot take the action {}", s.as_str(), a.as_str()));
        }
    };
    Ok(to)
}

/// Actions only the citizen (with the tracking code) takes.
pub fn is_citizen_action(a: A) -> bool {
    matches!(a, A::Submit | A::Reopen | A::Rate)
}

/// Whether the citizen sees the action in the history.
pub fn is_public(a: A) -> bool {
    !matches!(a, A::Note)
}

/// Actions a handler must give a reason for.
pub fn needs_note(a: A) -> bool {
    matches!(a, A::Triage | A::MarkDuplicate | A::NotOurResponsibility | A::Comment | A::Note | A::Reopen)
}

/// Crockford's base32 alphabet: no I, L, O or U, so codes read aloud and typed back survive.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A new tracking code: 10 random symbols (50 bits) as `XXXXX-XXXXX`.
pub fn new_tracking_code() -> String {
    let mut rng = rand::rng();
    let symbols: String = (0..10).map(|_| ALPHABET[rng.random_range(0..32)] as char).collect();
    format!("{}-{}", &symbols[..5], &symbols[5..])
}

/// The canonical form of a code as typed: case, spaces and dashes ignored, and the letters
/// people confuse with digits read as those digits. `None` if it cannot be a code.
pub fn normalize_tracking_code(typed: &str) -> Option<String> {
    let mut out = String::with_capacity(10);
    for c in typed.chars() {
        let c = match c.to_ascii_uppercase() {
            ' ' | '-' => continue,
            'O' => '0',
            'I' | 'L' => '1',
            c if ALPHABET.contains(&(c as u8)) && c.is_ascii() => c,
            _ => return None,
        };
        out.push(c);
    }
    (out.len() == 10).then(|| format!("{}-{}", &out[..5], &out[5..]))
}

fn printable(field: &'static str, s: &str, max: usize, what: &str) -> Result<String> {
    let s = s.trim();
    if s.is_empty() || s.chars().count() > max {
        return Err(Error::invalid(field, format!("{what} must be 1 to {max} characters")));
    }
    if s.chars().any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r') {
        return Err(Error::invalid(field, format!("{what} must not contain control characters")));
    }
    Ok(s.to_string())
}

/// A note or reason given with an action.
pub fn check_note(note: &str, required: bool) -> Result<String> {
    if note.trim().is_empty() {
        return if required {
            Err(Error::invalid("note", "this action needs a note saying why"))
        } else {
            Ok(String::new())
        };
    }
    printable("note", note, 2000, "a note")
}

/// A filing, checked and trimmed.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedComplaint {
    pub category: String,
    pub description: String,
    pub point: Option<(f64, f64)>,
    pub address: Option<String>,
    pub contact: Option<ComplaintContact>,
    pub notify: Option<NotifyChannel>,
}

pub fn check_new(new: &NewComplaint) -> Result<CheckedComplaint> {
    let category = new.category.trim();
    if category.is_empty() || category.len() > 64 {
        return Err(Error::invalid("category", "choose a category"));
    }
    let description = printable("description", &new.description, MAX_DESCRIPTION, "a description")?;
    let point = match (new.lat, new.lon) {
        (Some(lat), Some(lon)) => {
            if !(lat.is_finite() && lon.is_finite() && (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon))
            {
                return Err(Error::invalid("lat", "lat and lon must be WGS 84 degrees"));
            }
            Some((lat, lon))
        }
        (None, None) => None,
        _ => return Err(Error::invalid("lat", "give both lat and lon, or neither")),
    };
    let address = match new.address.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(a) => Some(printable("address", a, 300, "an address")?),
    };
    if point.is_none() && address.is_none() {
        return Err(Error::invalid("lat", "say where: a point on the map (lat and lon) or an address"));
    }
    let contact = match &new.contact {
        None => None,
        Some(c) => {
            let name = c.name.as_deref().map(|n| printable("contact.name", n, 100, "a name")).transpose()?;
            let email = c.email.as_deref().map(check_email).transpose()?;
            let phone = c.phone.as_deref().map(check_phone).transpose()?;
            (name.is_some() || email.is_some() || phone.is_some()).then_some(ComplaintContact { name, email, phone })
        }
    };
    match (new.notify, &contact) {
        (Some(NotifyChannel::Email), c) if c.as_ref().and_then(|c| c.email.as_ref()).is_none() => {
            return Err(Error::invalid("notify", "updates by email need an email address"));
        }
        (Some(NotifyChannel::Sms), c) if c.as_ref().and_then(|c| c.phone.as_ref()).is_none() => {
            return Err(Error::invalid("notify", "updates by SMS need a phone number"));
        }
        _ => {}
    }
    Ok(CheckedComplaint { category: category.to_string(), description, point, address, contact, notify: new.notify })
}

fn check_email(raw: &str) -> Result<String> {
    let e = raw.trim();
    let ok = e.len() <= 254
        && e.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
        })
        && !e.chars().any(|c| c.is_whitespace() || c.is_control());
    if !ok {
        return Err(Error::invalid("contact.email", "this is not an email address"));
    }
    Ok(e.to_string())
}

/// A phone number: digits, an optional leading '+', spaces and dashes ignored; 9 to 15 digits.
fn check_phone(raw: &str) -> Result<String> {
    let t = raw.trim();
    let (plus, rest) = match t.strip_prefix('+') {
        Some(r) => ("+", r),
        None => ("", t),
    };
    let digits: String = rest.chars().filter(|c| *c != ' ' && *c != '-' && *c != '.').collect();
    if !(9..=15).contains(&digits.len()) || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(Error::invalid("contact.phone", "a phone number has 9 to 15 digits"));
    }
    Ok(format!("{plus}{digits}"))
}

/// Whether a citizen may still reopen a complaint resolved at `resolved_at`.
pub fn may_reopen(status: S, resolved_at: Option<OffsetDateTime>, now: OffsetDateTime) -> bool {
    matches!(status, S::Fixed | S::Closed) && resolved_at.is_some_and(|at| now - at <= REOPEN_WINDOW)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_transition_and_every_refusal() {
        use S::*;
        let actions = [
            A::Submit,
            A::Triage,
            A::Assign,
            A::Start,
            A::Fix,
            A::Close,
            A::MarkDuplicate,
            A::NotOurResponsibility,
            A::Reopen,
            A::Comment,
            A::Note,
            A::Rate,
        ];
        // The whole table: for each status, the actions allowed and where they lead.
        let allowed: &[(S, &[(A, S)])] = &[
            (
                Submitted,
                &[
                    (A::Triage, ForTriage),
                    (A::Assign, Assigned),
                    (A::MarkDuplicate, Duplicate),
                    (A::NotOurResponsibility, NotOurResponsibility),
                ],
            ),
            (
                ForTriage,
                &[
                    (A::Assign, Assigned),
                    (A::MarkDuplicate, Duplicate),
                    (A::NotOurResponsibility, NotOurResponsibility),
                ],
            ),
            (
                Assigned,
                &[
                    (A::Triage, ForTriage),
                    (A::Assign, Assigned),
                    (A::Start, InProgress),
                    (A::Fix, Fixed),
                    (A::MarkDuplicate, Duplicate),
                    (A::NotOurResponsibility, NotOurResponsibility),
                ],
            ),
            (InProgress, &[(A::Triage, ForTriage), (A::Assign, Assigned), (A::Fix, Fixed)]),
            (Fixed, &[(A::Close, Closed), (A::Reopen, Reopened)]),
            (Closed, &[(A::Reopen, Reopened), (A::Rate, Closed)]),
            (Duplicate, &[]),
            (NotOurResponsibility, &[]),
            (
                Reopened,
                &[
                    (A::Triage, ForTriage),
                    (A::Assign, Assigned),
                    (A::Start, InProgress),
                    (A::Fix, Fixed),
                    (A::MarkDuplicate, Duplicate),
                    (A::NotOurResponsibility, NotOurResponsibility),
                ],
            ),
        ];
        assert_eq!(allowed.len(), S::ALL.len());
        for (from, table) in allowed {
            for a in actions {
                let want = match a {
                    A::Comment | A::Note => Some(*from),
                    _ => table.iter().find(|(x, _)| *x == a).map(|(_, to)| *to),
                };
                match (transition(Some(*from), a), want) {
                    (Ok(got), Some(want)) => assert_eq!(got, want, "{from:?} --{a:?}-->"),
                    (Err(_), None) => {}
                    (got, want) => panic!("{from:?} --{a:?}--> gave {got:?}, want {want:?}"),
                }
            }
        }
        assert_eq!(transition(None, A::Submit), Ok(Submitted));
        for a in actions.into_iter().filter(|a| *a != A::Submit) {
            assert!(transition(None, a).is_err(), "{a:?} before filing");
        }
    }

    #[test]
    fn tracking_codes_survive_being_typed_back() {
        let code = new_tracking_code();
        assert_eq!(code.len(), 11);
        assert_eq!(normalize_tracking_code(&code.to_lowercase().replace('-', " ")), Some(code.clone()));
        assert_eq!(normalize_tracking_code("abcde-fgh1o"), Some("ABCDE-FGH10".into()));
        assert_eq!(normalize_tracking_code("ABCDE-FGHJ"), None, "too short");
        assert_eq!(normalize_tracking_code("ABCDE-FGHJU"), None, "U is not a symbol");
        assert_ne!(new_tracking_code(), new_tracking_code());
    }

    fn filing() -> NewComplaint {
        NewComplaint {
            category: "garbage".into(),
            description: "Rác ở góc đường".into(),
            lat: Some(10.77),
            lon: Some(106.667),
            address: None,
            contact: None,
            notify: None,
        }
    }

    #[test]
    fn filings_are_checked_field_by_field() {
        assert!(check_new(&filing()).is_ok());
        let field = |f: NewComplaint| match check_new(&f) {
            Err(Error::Invalid { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field(NewComplaint { description: " ".into(), ..filing() }), Some("description"));
        assert_eq!(field(NewComplaint { description: "x".repeat(4001), ..filing() }), Some("description"));
        assert_eq!(field(NewComplaint { lat: Some(91.0), ..filing() }), Some("lat"));
        assert_eq!(field(NewComplaint { lon: None, ..filing() }), Some("lat"));
        assert_eq!(field(NewComplaint { lat: None, lon: None, ..filing() }), Some("lat"));
        assert!(
            check_new(&NewComplaint { lat: None, lon: None, address: Some("12 Ba Tháng Hai".into()), ..filing() })
                .is_ok()
        );
        assert_eq!(field(NewComplaint { notify: Some(NotifyChannel::Sms), ..filing() }), Some("notify"));
        let contact = |phone: &str| ComplaintContact { phone: Some(phone.into()), ..Default::default() };
        assert_eq!(field(NewComplaint { contact: Some(contact("12ab")), ..filing() }), Some("contact.phone"));
        let ok = check_new(&NewComplaint {
            contact: Some(contact("+84 90-123 4567")),
            notify: Some(NotifyChannel::Sms),
            ..filing()
        })
        .unwrap();
        assert_eq!(ok.contact.unwrap().phone.as_deref(), Some("+84901234567"));
        let email = ComplaintContact { email: Some("a@b".into()), ..Default::default() };
        assert_eq!(field(NewComplaint { contact: Some(email), ..filing() }), Some("contact.email"));
    }

    #[test]
    fn reopening_is_for_fourteen_days_after_the_fix() {
        let fixed = OffsetDateTime::UNIX_EPOCH + Duration::days(100);
        assert!(may_reopen(S::Fixed, Some(fixed), fixed + Duration::days(14)));
        assert!(!may_reopen(S::Closed, Some(fixed), fixed + Duration::days(14) + Duration::seconds(1)));
        assert!(!may_reopen(S::InProgress, Some(fixed), fixed));
        assert!(!may_reopen(S::Closed, None, fixed));
    }
}
