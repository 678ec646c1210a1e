//! Timestamps as both engines should compare them. PostgreSQL has `timestamptz`; SQLite keeps
//! text and compares it as text, so every timestamp is written there in one fixed-width UTC form
//! (`2026-11-25T19:07:26.690454000Z`, nanoseconds always nine digits). Written with a varying
//! offset or number of digits, `2026-11-25T19:07:26Z` would sort after `…26.690Z`.

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo};
use sqlx::sqlite::{SqliteArgumentsBuffer, SqliteTypeInfo};
use sqlx::{Encode, Postgres, Sqlite, Type};
use time::OffsetDateTime;
use time::macros::format_description;

/// A timestamp to bind in a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ts(pub OffsetDateTime);

/// The fixed-width text form SQLite keeps.
pub fn sqlite_text(t: OffsetDateTime) -> String {
    let f = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:9]Z");
    t.to_offset(time::UtcOffset::UTC).format(&f).expect("a UTC timestamp formats")
}

impl Type<Sqlite> for Ts {
    fn type_info() -> SqliteTypeInfo {
        <OffsetDateTime as Type<Sqlite>>::type_info()
    }
}

impl Encode<'_, Sqlite> for Ts {
    fn encode_by_ref(&self, buf: &mut SqliteArgumentsBuffer) -> Result<IsNull, BoxDynError> {
        Encode::<Sqlite>::encode(sqlite_text(self.0), buf)
    }
}

impl Type<Postgres> for Ts {
    fn type_info() -> PgTypeInfo {
        <OffsetDateTime as Type<Postgres>>::type_info()
    }
}

impl Encode<'_, Postgres> for Ts {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        Encode::<Postgres>::encode(self.0, buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn the_text_form_sorts_like_time() {
        let times = [
            datetime!(2026-11-25 19:07:26 UTC),
            datetime!(2026-11-25 19:07:26.000000001 UTC),
            datetime!(2026-11-25 19:07:26.69 UTC),
            datetime!(2026-11-26 02:07:26.690454872 +7),
            datetime!(2026-11-25 19:07:27 UTC),
        ];
        let texts: Vec<String> = times.iter().map(|t| sqlite_text(*t)).collect();
        assert!(texts.windows(2).all(|w| w[0] < w[1]), "{texts:?}");
        assert!(texts.iter().all(|t| t.len() == 30));
        assert_eq!(texts[3], "2026-11-25T19:07:26.690454872Z");
    }
}
