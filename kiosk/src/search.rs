//! Finding places by name the way people type on a kiosk: without accents, in any case, in any
//! order of words ("cho hoa binh" finds "Chợ Hòa Bình"; "dai hoc bach khoa" finds
//! "Trường Đại học Bách khoa").

use crate::map::Place;

/// A name folded for matching: Vietnamese letters to their plain Latin base (đ to d), lower case,
/// one space between words.
pub fn fold(s: &str) -> String {
    let plain = deunicode::deunicode(s).to_lowercase();
    plain.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ")
}

/// The places whose name (in either language) holds every word of `query`, best first: a name
/// that starts with the query, then one with a word starting so, then the rest, each by name.
/// At most `limit`.
pub fn search<'a>(places: &'a [Place], query: &str, limit: usize) -> Vec<&'a Place> {
    let q = fold(query);
    if q.is_empty() {
        return Vec::new();
    }
    let words: Vec<&str> = q.split(' ').collect();
    let mut found: Vec<(u8, &Place)> = places
        .iter()
        .filter_map(|p| {
            let names = [fold(&p.name), p.name_en.as_deref().map(fold).unwrap_or_default()];
            let rank = names
                .iter()
                .filter(|n| words.iter().all(|w| n.split(' ').any(|nw| nw.starts_with(w)) || n.contains(w)))
                .map(|n| {
                    if n.starts_with(&q) {
                        0
                    } else if n.contains(&format!(" {q}")) {
                        1
                    } else {
                        2
                    }
                })
                .min()?;
            Some((rank, p))
        })
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.name.cmp(&b.1.name)));
    found.into_iter().take(limit).map(|(_, p)| p).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::map::PlaceKind;

    fn place(name: &str) -> Place {
        Place {
            name: name.into(),
            name_en: None,
            kind: PlaceKind::Market,
            at: [106.66, 10.77],
            address: None,
            hours: None,
            about_vi: None,
            about_en: None,
        }
    }

    #[test]
    fn accents_case_and_spacing_do_not_matter() {
        assert_eq!(fold("  Chợ Hòa   Bình "), "cho hoa binh");
        assert_eq!(fold("Đường Ba Tháng Hai"), "duong ba thang hai");
        assert_eq!(fold("Bệnh viện 115!"), "benh vien 115");
    }

    #[test]
    fn names_are_found_by_their_plain_words() {
        let places = [place("Chợ Hòa Bình"), place("Chợ Nguyễn Tri Phương"), place("Trường Đại học Bách khoa")];
        let names = |q: &str| search(&places, q, 10).iter().map(|p| p.name.as_str()).collect::<Vec<_>>();
        assert_eq!(names("cho hoa binh"), ["Chợ Hòa Bình"]);
        assert_eq!(names("CHO"), ["Chợ Hòa Bình", "Chợ Nguyễn Tri Phương"]);
        assert_eq!(names("bach khoa dai hoc"), ["Trường Đại học Bách khoa"]);
        assert_eq!(names("phuong"), ["Chợ Nguyễn Tri Phương"]);
        assert!(names("sân bay").is_empty());
        assert!(names("  ").is_empty());
    }
}
