//! The fields of each kind of record, as the Law on Civil Status lists them, and their checks;
//! the keys records are searched and compared by. Pure functions, tested without a database.

use q10_core_api::RecordKind;
use serde_json::{Map, Value};
use unicode_normalization::UnicodeNormalization;

use crate::dossier::rules::valid_id_number;

/// How a field is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    /// Free text, 1 to 200 characters.
    Text,
    /// A person's name, 1 to 100 characters.
    Name,
    /// `YYYY-MM-DD`, not in the future.
    Date,
    /// A four-digit year.
    Year,
    /// `male` or `female`.
    Sex,
    /// A 12-digit citizen identity number; sealed at rest.
    IdNumber,
    /// One of a few words.
    OneOf(&'static [&'static str]),
}

/// A field: its name, type and whether the law requires it.
pub type Field = (&'static str, Type, bool);

const BIRTH: &[Field] = &[
    ("child_name", Type::Name, true),
    ("sex", Type::Sex, true),
    ("birth_date", Type::Date, true),
    ("birth_place", Type::Text, true),
    ("native_place", Type::Text, false),
    ("ethnicity", Type::Text, true),
    ("nationality", Type::Text, true),
    ("id_number", Type::IdNumber, false),
    ("father_name", Type::Name, false),
    ("father_birth_year", Type::Year, false),
    ("father_ethnicity", Type::Text, false),
    ("father_nationality", Type::Text, false),
    ("father_residence", Type::Text, false),
    ("mother_name", Type::Name, false),
    ("mother_birth_year", Type::Year, false),
    ("mother_ethnicity", Type::Text, false),
    ("mother_nationality", Type::Text, false),
    ("mother_residence", Type::Text, false),
];

const MARRIAGE: &[Field] = &[
    ("husband_name", Type::Name, true),
    ("husband_birth_date", Type::Date, true),
    ("husband_ethnicity", Type::Text, true),
    ("husband_nationality", Type::Text, true),
    ("husband_residence", Type::Text, true),
    ("husband_id_number", Type::IdNumber, false),
    ("wife_name", Type::Name, true),
    ("wife_birth_date", Type::Date, true),
    ("wife_ethnicity", Type::Text, true),
    ("wife_nationality", Type::Text, true),
    ("wife_residence", Type::Text, true),
    ("wife_id_number", Type::IdNumber, false),
    ("marriage_date", Type::Date, true),
];

const DEATH: &[Field] = &[
    ("deceased_name", Type::Name, true),
    ("sex", Type::Sex, true),
    ("birth_date", Type::Date, false),
    ("ethnicity", Type::Text, true),
    ("nationality", Type::Text, true),
    ("id_number", Type::IdNumber, false),
    ("death_date", Type::Date, true),
    ("death_place", Type::Text, true),
    ("cause", Type::Text, false),
];

const RECOGNITION: &[Field] = &[
    ("recognition_type", Type::OneOf(&["father", "mother", "child"]), true),
    ("recognizer_name", Type::Name, true),
    ("recognizer_birth_date", Type::Date, true),
    ("recognizer_id_number", Type::IdNumber, false),
    ("recognizer_residence", Type::Text, true),
    ("recognized_name", Type::Name, true),
    ("recognized_birth_date", Type::Date, true),
    ("recognized_id_number", Type::IdNumber, false),
    ("recognized_residence", Type::Text, true),
    ("recognition_date", Type::Date, true),
];

pub fn of(kind: RecordKind) -> &'static [Field] {
    match kind {
        RecordKind::Birth => BIRTH,
        RecordKind::Marriage => MARRIAGE,
        RecordKind::Death => DEATH,
        RecordKind::Recognition => RECOGNITION,
    }
}

/// The fields that hold ID numbers.
pub fn id_fields(kind: RecordKind) -> impl Iterator<Item = &'static str> {
    of(kind).iter().filter(|f| f.1 == Type::IdNumber).map(|f| f.0)
}

fn check_date(s: &str) -> bool {
    crate::dossier::calendar::parse_iso(s).is_some_and(|d| d.year() >= 1850)
}

/// Checks one value; the value to keep (trimmed), or why not.
pub fn check_value(name: &str, ty: Type, v: &str, today: time::Date) -> Result<String, String> {
    let v = v.trim();
    let ok = match ty {
        Type::Text => (1..=200).contains(&v.chars().count()) && !v.chars().any(char::is_control),
        Type::Name => {
            (1..=100).contains(&v.chars().count()) && !v.chars().any(|c| c.is_control() || c.is_ascii_digit())
        }
        Type::Date => check_date(v) && crate::dossier::calendar::parse_iso(v).is_some_and(|d| d <= today),
        Type::Year => v.len() == 4 && v.parse::<i32>().is_ok_and(|y| (1850..=today.year()).contains(&y)),
        Type::Sex => matches!(v, "male" | "female"),
        Type::IdNumber => valid_id_number(v),
        Type::OneOf(words) => words.contains(&v),
    };
    if ok {
        return Ok(v.to_string());
    }
    Err(match ty {
        Type::Text => format!("{name}: 1 to 200 characters"),
        Type::Name => format!("{name}: a name of 1 to 100 characters, without digits"),
        Type::Date => format!("{name}: a date YYYY-MM-DD, not in the future"),
        Type::Year => format!("{name}: a four-digit year, not in the future"),
        Type::Sex => format!("{name}: male or female"),
        Type::IdNumber => format!("{name}: 12 digits starting with a province code"),
        Type::OneOf(words) => format!("{name}: one of {}", words.join(", ")),
    })
}

/// Checks a whole record's fields: every value given, and every required one present. Unknown
/// fields and empty values of optional ones are refused or dropped. Every problem is reported.
pub fn check_all(
    kind: RecordKind,
    given: &Map<String, Value>,
    today: time::Date,
) -> Result<Map<String, Value>, Vec<String>> {
    let schema = of(kind);
    let mut out = Map::new();
    let mut problems = Vec::new();
    for key in given.keys() {
        if !schema.iter().any(|f| f.0 == key) {
            problems.push(format!("{key}: not a field of a {} record", kind.as_str()));
        }
    }
    for (name, ty, required) in schema {
        let text = match given.get(*name) {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            Some(_) => {
                problems.push(format!("{name}: must be text"));
                continue;
            }
        };
        if text.trim().is_empty() {
            if *required {
                problems.push(format!("{name}: required"));
            }
            continue;
        }
        match check_value(name, *ty, &text, today) {
            Ok(v) => {
                out.insert((*name).to_string(), Value::String(v));
            }
            Err(e) => problems.push(e),
        }
    }
    if problems.is_empty() { Ok(out) } else { Err(problems) }
}

/// A name as searched: accents and marks removed (đ as d), lower case, single spaces.
pub fn normalize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.nfd() {
        let c = match c {
            'đ' | 'Đ' => 'd',
            c if unicode_normalization::char::is_combining_mark(c) => continue,
            c => c,
        };
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.ends_with(' ') && !out.is_empty() {
            out.push(' ');
        }
    }
    out.trim_end().to_string()
}

fn get<'a>(f: &'a Map<String, Value>, k: &str) -> &'a str {
    f.get(k).and_then(|v| v.as_str()).unwrap_or("")
}

/// The keys a record is found and compared by: the person's name, the other people's names, the
/// place and the event's date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    pub name: String,
    pub parents: String,
    pub place: String,
    pub event_date: Option<String>,
    /// The record's headline name, as written.
    pub display_name: String,
}

pub fn keys(kind: RecordKind, f: &Map<String, Value>) -> Keys {
    let (name, others, place, date): (String, Vec<&str>, &str, &str) = match kind {
        RecordKind::Birth => {
            (get(f, "child_name").into(), vec!["father_name", "mother_name"], "birth_place", "birth_date")
        }
        RecordKind::Marriage => (
            format!("{} {}", get(f, "husband_name"), get(f, "wife_name")),
            vec!["husband_name", "wife_name"],
            "wife_residence",
            "marriage_date",
        ),
        RecordKind::Death => (get(f, "deceased_name").into(), vec![], "death_place", "death_date"),
        RecordKind::Recognition => {
            (get(f, "recognized_name").into(), vec!["recognizer_name"], "recognized_residence", "recognition_date")
        }
    };
    let display_name = match kind {
        RecordKind::Marriage => format!("{} – {}", get(f, "husband_name"), get(f, "wife_name")),
        _ => name.clone(),
    };
    Keys {
        name: normalize(&name),
        parents: others.iter().map(|k| normalize(get(f, k))).collect::<Vec<_>>().join(" | "),
        place: normalize(get(f, place)),
        event_date: Some(get(f, date).to_string()).filter(|d| !d.is_empty()),
        display_name,
    }
}

/// What to index: `(word, role)`, each once. Roles: `name` and `parent` for each word of the
/// person's and the others' names, and `parent_name` for each other person's whole name.
pub fn tokens(k: &Keys) -> Vec<(String, &'static str)> {
    let mut out: Vec<(String, &'static str)> = Vec::new();
    for (text, role) in [(&k.name, "name"), (&k.parents, "parent")] {
        for w in text.split([' ', '|']).filter(|w| !w.is_empty()) {
            if !out.iter().any(|(t, r)| t == w && *r == role) {
                out.push((w.to_string(), role));
            }
        }
    }
    for whole in k.parents.split(" | ").map(str::trim).filter(|p| !p.is_empty()) {
        if !out.iter().any(|(t, r)| t == whole && *r == "parent_name") {
            out.push((whole.to_string(), "parent_name"));
        }
    }
    out
}

/// How far a word may be from a query word and still match: none for short words, one edit up
/// to five letters, two beyond.
pub fn tolerance(word: &str) -> usize {
    match word.chars().count() {
        0..=2 => 0,
        3..=5 => 1,
        _ => 2,
    }
}

/// The words of `vocabulary` near `word`, nearest first.
pub fn near<'a>(word: &str, vocabulary: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let max = tolerance(word);
    let mut found: Vec<(usize, &str)> = vocabulary
        .into_iter()
        .filter(|v| v.len().abs_diff(word.len()) <= max)
        .map(|v| (strsim::damerau_levenshtein(word, v), v))
        .filter(|(d, _)| *d <= max)
        .collect();
    found.sort();
    found.into_iter().map(|(_, v)| v.to_string()).collect()
}

/// Masks every ID number in `fields` to its last four digits.
pub fn masked(kind: RecordKind, mut fields: Map<String, Value>) -> Map<String, Value> {
    for f in id_fields(kind) {
        if let Some(Value::String(s)) = fields.get_mut(f) {
            *s = crate::dossier::rules::mask_id_number(s);
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_their_accents() {
        assert_eq!(normalize("  Nguyễn   Văn  Ân "), "nguyen van an");
        assert_eq!(normalize("ĐẶNG THỊ Đào"), "dang thi dao");
        assert_eq!(normalize("Trần-Lê Quỳnh"), "tran le quynh");
    }

    #[test]
    fn near_spellings_are_found_within_the_tolerance() {
        let vocab = ["an", "anh", "ann", "nguyen", "nguyet", "van", "vanh"];
        assert_eq!(near("nguyen", vocab), ["nguyen", "nguyet"]);
        assert_eq!(near("an", vocab), ["an"], "short words match exactly");
        assert_eq!(near("ann", vocab), ["ann", "an", "anh"]);
        assert!(near("xyz", vocab).is_empty());
    }

    #[test]
    fn fields_are_checked_all_at_once() {
        let today = time::macros::date!(2026 - 11 - 25);
        let mut f = Map::new();
        f.insert("child_name".into(), "Nguyễn Văn An".into());
        f.insert("sex".into(), "x".into());
        f.insert("birth_date".into(), "2030-01-01".into());
        f.insert("birth_place".into(), "Bệnh viện Hùng Vương".into());
        f.insert("ethnicity".into(), "Kinh".into());
        f.insert("colour".into(), "blue".into());
        let problems = check_all(RecordKind::Birth, &f, today).unwrap_err();
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(problems.iter().any(|p| p.starts_with("sex")));
        assert!(problems.iter().any(|p| p.starts_with("birth_date")));
        assert!(problems.iter().any(|p| p.starts_with("nationality: required")));
        assert!(problems.iter().any(|p| p.starts_with("colour")));
        f.insert("sex".into(), "male".into());
        f.insert("birth_date".into(), "2024-03-01".into());
        f.insert("nationality".into(), "Việt Nam".into());
        f.remove("colour");
        f.insert("id_number".into(), "079224000123".into());
        let ok = check_all(RecordKind::Birth, &f, today).unwrap();
        let k = keys(RecordKind::Birth, &ok);
        assert_eq!(k.name, "nguyen van an");
        assert_eq!(k.event_date.as_deref(), Some("2024-03-01"));
        assert_eq!(masked(RecordKind::Birth, ok)["id_number"], "••••••••0123");
    }
}
