//! The SQL migrations of both database back ends, embedded into the binary.
//!
//! `sqlite/` and `postgres/` hold the same history written for each engine. A migration that has
//! been applied anywhere is never edited: changes come as new files.

use sqlx::migrate::Migrator;

/// Migrations for the embedded SQLite database.
pub static SQLITE: Migrator = sqlx::migrate!("./sqlite");

/// Migrations for PostgreSQL (cluster mode).
pub static POSTGRES: Migrator = sqlx::migrate!("./postgres");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_back_ends_have_the_same_history() {
        let names = |m: &Migrator| m.iter().map(|m| (m.version, m.description.to_string())).collect::<Vec<_>>();
        assert!(SQLITE.iter().next().is_some(), "no SQLite migrations embedded");
        assert_eq!(names(&SQLITE), names(&POSTGRES));
    }
}
