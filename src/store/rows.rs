//! Row-level access to every table of a database, whatever its schema: what `copy-db`
//! reads from one backend and writes to the other. Each backend describes its tables from its
//! own catalog (SQLite's `sqlite_schema` and pragmas, PostgreSQL's `information_schema` and
//! `pg_catalog`), reads rows in primary-key order inside one snapshot, and inserts them in
//! multi-row statements inside one transaction. Values travel as [`Value`]s and are converted
//! to the kind of the target's column ([`Value::into_kind`]): SQLite's 0/1 integers become
//! PostgreSQL booleans and back, JSON text becomes `jsonb` and back. What is copied and what
//! is not is decided above the store (`copydb`).

use async_trait::async_trait;

use super::Result;

/// One value of one column, as a backend reads and writes it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Bool(bool),
    /// A JSON document, as text.
    Json(String),
    Blob(Vec<u8>),
}

/// What a column holds, as far as a copy needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Int,
    Real,
    Text,
    Bool,
    Json,
    Blob,
    /// Any other type (PostgreSQL's name for it): read and written as its text form.
    Other(String),
}

/// A column of a table, as the backend's catalog describes it.
#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    pub kind: Kind,
    /// The type as the catalog spells it (for messages).
    pub declared: String,
}

/// A table, as the backend's catalog describes it.
#[derive(Debug, Clone)]
pub struct Table {
    pub name: String,
    /// Stored columns in the catalog's order; generated (computed) columns are not among them.
    pub columns: Vec<Column>,
    /// Columns whose value the database computes (generated columns).
    pub generated: Vec<String>,
    /// The primary key's columns, in key order (empty when the table has none).
    pub key: Vec<String>,
    /// The tables this one's foreign keys point at.
    pub references: Vec<String>,
    /// The column whose values a counter hands out (an identity column, SQLite's INTEGER
    /// PRIMARY KEY), if any.
    pub identity: Option<String>,
    /// A table the database maintains itself (a full-text index's virtual or shadow table).
    pub internal: bool,
}

impl Table {
    /// The position of a column in [`Table::columns`].
    pub fn position(&self, column: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == column)
    }
}

/// One transaction for row-level access: a consistent snapshot to read from, or a write
/// transaction that keeps nothing unless [`RowTx::commit`] succeeds.
#[async_trait]
pub trait RowTx: Send {
    /// Every table of the schema (the migrations' bookkeeping included).
    async fn tables(&mut self) -> Result<Vec<Table>>;
    async fn count(&mut self, table: &Table) -> Result<u64>;
    /// Up to `limit` rows (values in `table.columns` order), in primary-key order after the
    /// key `after` (the key columns' values); a table without a primary key is read in the
    /// order of all its columns, skipping `offset` rows.
    async fn read(
        &mut self,
        table: &Table,
        after: Option<&[Value]>,
        offset: u64,
        limit: u32,
    ) -> Result<Vec<Vec<Value>>>;
    /// Inserts rows (values in `table.columns` order, of the columns' kinds).
    async fn insert(&mut self, table: &Table, rows: &[Vec<Value>]) -> Result<()>;
    /// The highest value the table's identity counter has handed out (0 when none).
    async fn id_high_water(&mut self, table: &Table) -> Result<i64>;
    /// Makes the identity counter hand out values above `to` only. Where the database keeps
    /// no counter beyond the rows themselves (SQLite's INTEGER PRIMARY KEY without
    /// AUTOINCREMENT), this does nothing.
    async fn raise_id_high_water(&mut self, table: &Table, to: i64) -> Result<()>;
    async fn commit(self: Box<Self>) -> Result<()>;
}

/// Why a value cannot be stored in a column of another kind.
#[derive(Debug, thiserror::Error)]
#[error("{value} cannot be stored as {kind:?}")]
pub struct ConvertError {
    pub value: String,
    pub kind: Kind,
}

impl Value {
    /// The value as a column of `kind` stores it: the same value in that kind's form, or an
    /// error when there is none (text that is not a number, not JSON…).
    pub fn into_kind(self, kind: &Kind) -> Result<Value, ConvertError> {
        let fail = |v: &Value| ConvertError {
            value: v.short(),
            kind: kind.clone(),
        };
        Ok(match (self, kind) {
            (Value::Null, _) => Value::Null,
            (v @ Value::Int(_), Kind::Int) => v,
            (Value::Bool(b), Kind::Int) => Value::Int(b as i64),
            (Value::Real(f), Kind::Int) if f.fract() == 0.0 && f.abs() < 9.0e15 => {
                Value::Int(f as i64)
            }
            (Value::Text(s), Kind::Int) if s.trim().parse::<i64>().is_ok() => {
                Value::Int(s.trim().parse().unwrap_or_default())
            }
            (v @ Value::Bool(_), Kind::Bool) => v,
            (Value::Int(i), Kind::Bool) => Value::Bool(i != 0),
            (Value::Text(s), Kind::Bool) => match s.as_str() {
                "t" | "true" | "1" => Value::Bool(true),
                "f" | "false" | "0" => Value::Bool(false),
                _ => return Err(fail(&Value::Text(s))),
            },
            (v @ Value::Real(_), Kind::Real) => v,
            (Value::Int(i), Kind::Real) => Value::Real(i as f64),
            (v @ Value::Text(_), Kind::Text) => v,
            (Value::Json(s), Kind::Text) => Value::Text(compact_json(&s).unwrap_or(s)),
            (Value::Int(i), Kind::Text | Kind::Other(_)) => Value::Text(i.to_string()),
            (Value::Real(f), Kind::Text | Kind::Other(_)) => Value::Text(f.to_string()),
            (Value::Bool(b), Kind::Text | Kind::Other(_)) => Value::Text(b.to_string()),
            (v @ Value::Json(_), Kind::Json) => v,
            (Value::Text(s), Kind::Json) => {
                if serde_json::from_str::<serde_json::Value>(&s).is_err() {
                    return Err(fail(&Value::Text(s)));
                }
                Value::Json(s)
            }
            (v @ Value::Blob(_), Kind::Blob) => v,
            (Value::Text(s), Kind::Blob) => Value::Blob(s.into_bytes()),
            (Value::Text(s) | Value::Json(s), Kind::Other(_)) => Value::Text(s),
            (v, _) => return Err(fail(&v)),
        })
    }

    /// The value, shortened for a message.
    fn short(&self) -> String {
        let s = format!("{self:?}");
        match s.char_indices().nth(60) {
            Some((i, _)) => format!("{}…", &s[..i]),
            None => s,
        }
    }
}

/// JSON text without insignificant white space (as syndic writes it on SQLite), or `None`
/// when it is not JSON.
fn compact_json(s: &str) -> Option<String> {
    serde_json::from_str::<serde_json::Value>(s)
        .ok()
        .map(|v| v.to_string())
}

/// An SQL identifier, quoted: table and column names come from the catalog, not from users,
/// but are quoted all the same.
pub(crate) fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// How many rows one INSERT carries: as many as fit under `max_params` bound values.
pub(crate) fn rows_per_insert(columns: usize, max_params: usize) -> usize {
    (max_params / columns.max(1)).clamp(1, 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_between_the_backends_kinds() {
        assert_eq!(
            Value::Int(1).into_kind(&Kind::Bool).unwrap(),
            Value::Bool(true)
        );
        assert_eq!(
            Value::Int(0).into_kind(&Kind::Bool).unwrap(),
            Value::Bool(false)
        );
        assert_eq!(
            Value::Bool(true).into_kind(&Kind::Int).unwrap(),
            Value::Int(1)
        );
        assert_eq!(
            Value::Text(r#"["a", "<&>"]"#.into())
                .into_kind(&Kind::Json)
                .unwrap(),
            Value::Json(r#"["a", "<&>"]"#.into())
        );
        assert_eq!(
            Value::Json(r#"[{"name": "A \"B\""}]"#.into())
                .into_kind(&Kind::Text)
                .unwrap(),
            Value::Text(r#"[{"name":"A \"B\""}]"#.into())
        );
        assert_eq!(Value::Null.into_kind(&Kind::Json).unwrap(), Value::Null);
        assert!(
            Value::Text("not json".into())
                .into_kind(&Kind::Json)
                .is_err()
        );
        assert!(Value::Text("x".into()).into_kind(&Kind::Int).is_err());
        assert!(Value::Blob(vec![0]).into_kind(&Kind::Int).is_err());
        assert_eq!(
            Value::Int(7)
                .into_kind(&Kind::Other("numeric".into()))
                .unwrap(),
            Value::Text("7".into())
        );
    }

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(ident("articles"), "\"articles\"");
        assert_eq!(ident("a\"b"), "\"a\"\"b\"");
    }
}
