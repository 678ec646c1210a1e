//! Administrative units, versioned by validity period.

use sqlx::FromRow;
use time::Date;

use super::{Store, Tx, on_pool, on_tx};
use crate::Result;

/// A row of `jurisdictions`, with its parent's code.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct JurisdictionRow {
    pub id: i64,
    pub code: String,
    pub kind: String,
    pub parent_id: Option<i64>,
    pub parent_code: Option<String>,
    pub name_vi: String,
    pub name_en: String,
    pub boundary: Option<String>,
    pub source_note: String,
    pub valid_from: Date,
    pub valid_to: Option<Date>,
}

/// The fields of a version that can be written.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct JurisdictionFields {
    pub code: String,
    pub kind: String,
    pub parent_id: Option<i64>,
    pub name_vi: String,
    pub name_en: String,
    pub boundary: Option<String>,
    pub source_note: String,
    pub valid_from: Date,
    pub valid_to: Option<Date>,
}

macro_rules! select {
    () => {
        "SELECT j.id, j.code, j.kind, j.parent_id, p.code AS parent_code, j.name_vi, j.name_en, \
     j.boundary, j.source_note, j.valid_from, j.valid_to \
     FROM jurisdictions j LEFT JOIN jurisdictions p ON p.id = j.parent_id"
    };
}

/// Rows valid on day `$1`.
macro_rules! valid_at {
    () => {
        "j.valid_from <= $1 AND (j.valid_to IS NULL OR j.valid_to > $1)"
    };
}

pub(crate) async fn find_version(tx: &mut Tx, code: &str, valid_from: Date) -> Result<Option<JurisdictionRow>> {
    let sql = concat!(select!(), " WHERE j.code = $1 AND j.valid_from = $2");
    Ok(on_tx!(tx, c => sqlx::query_as(sql).bind(code).bind(valid_from).fetch_optional(c).await?))
}

pub(crate) async fn find_valid_at_tx(tx: &mut Tx, code: &str, at: Date) -> Result<Option<JurisdictionRow>> {
    let sql = concat!(select!(), " WHERE j.code = $2 AND ", valid_at!());
    Ok(on_tx!(tx, c => sqlx::query_as(sql).bind(at).bind(code).fetch_optional(c).await?))
}

pub(crate) async fn insert(tx: &mut Tx, f: &JurisdictionFields) -> Result<i64> {
    Ok(on_tx!(tx, c => sqlx::query_scalar(
        "INSERT INTO jurisdictions (code, kind, parent_id, name_vi, name_en, boundary, source_note, valid_from, valid_to) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(&f.code)
    .bind(&f.kind)
    .bind(f.parent_id)
    .bind(&f.name_vi)
    .bind(&f.name_en)
    .bind(&f.boundary)
    .bind(&f.source_note)
    .bind(f.valid_from)
    .bind(f.valid_to)
    .fetch_one(c)
    .await?))
}

pub(crate) async fn update(tx: &mut Tx, id: i64, f: &JurisdictionFields) -> Result<()> {
    on_tx!(tx, c => {
        sqlx::query(
        "UPDATE jurisdictions SET kind = $2, parent_id = $3, name_vi = $4, name_en = $5, boundary = $6, \
         source_note = $7, valid_to = $8 WHERE id = $1",
    )
    .bind(id)
    .bind(&f.kind)
    .bind(f.parent_id)
    .bind(&f.name_vi)
    .bind(&f.name_en)
    .bind(&f.boundary)
    .bind(&f.source_note)
    .bind(f.valid_to)
    .execute(c)
    .await?;
    });
    Ok(())
}

impl Store {
    /// Units valid on day `at`, of one kind or all, ordered by code.
    pub async fn jurisdictions_at(&self, at: Date, kind: Option<&str>) -> Result<Vec<JurisdictionRow>> {
        let sql = concat!(select!(), " WHERE ", valid_at!(), " AND ($2 IS NULL OR j.kind = $2) ORDER BY j.code");
        Ok(on_pool!(self, p => sqlx::query_as(sql).bind(at).bind(kind).fetch_all(p).await?))
    }

    /// The version of `code` valid on day `at`.
    pub async fn jurisdiction_at(&self, code: &str, at: Date) -> Result<Option<JurisdictionRow>> {
        let sql = concat!(select!(), " WHERE j.code = $2 AND ", valid_at!());
        Ok(on_pool!(self, p => sqlx::query_as(sql).bind(at).bind(code).fetch_optional(p).await?))
    }

    pub async fn count_jurisdictions(&self) -> Result<i64> {
        Ok(on_pool!(self, p => sqlx::query_scalar("SELECT COUNT(*) FROM jurisdictions").fetch_one(p).await?))
    }

    /// Whether `ancestor` is `unit` or one of the units above it.
    pub async fn jurisdiction_covers(&self, ancestor: i64, unit: i64) -> Result<bool> {
        Ok(on_pool!(self, p => sqlx::query_scalar(
            "WITH RECURSIVE up(id, parent_id) AS ( \
                 SELECT id, parent_id FROM jurisdictions WHERE id = $2 \
                 UNION SELECT j.id, j.parent_id FROM jurisdictions j JOIN up ON j.id = up.parent_id) \
             SELECT COUNT(*) > 0 FROM up WHERE id = $1",
        )
        .bind(ancestor)
        .bind(unit)
        .fetch_one(p)
        .await?))
    }
}
