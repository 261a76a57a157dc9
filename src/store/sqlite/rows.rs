//! Row-level access on SQLite ([`RowTx`]): tables from `sqlite_schema` and the table pragmas,
//! values read by their storage class, multi-row INSERTs on the writer connection.

use async_trait::async_trait;
use sqlx::{QueryBuilder, Row, Sqlite, Transaction, TypeInfo, ValueRef};

use super::super::Result;
use super::super::rows::{Column, Kind, RowTx, Table, Value, ident, rows_per_insert};

/// SQLite's bound-parameter limit (SQLITE_MAX_VARIABLE_NUMBER since 3.32), with room to spare.
const MAX_PARAMS: usize = 30_000;

pub(super) struct SqliteRows {
    pub(super) tx: Transaction<'static, Sqlite>,
    pub(super) commits: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

/// A column's kind from its declared type, by SQLite's affinity rules (section 3.1 of
/// "Datatypes In SQLite"), with BOOL read as the 0/1 integers syndic stores.
fn kind(declared: &str) -> Kind {
    let t = declared.to_ascii_uppercase();
    if t.contains("INT") || t.contains("BOOL") {
        Kind::Int
    } else if t.contains("CHAR") || t.contains("CLOB") || t.contains("TEXT") || t.contains("JSON") {
        Kind::Text
    } else if t.is_empty() || t.contains("BLOB") {
        Kind::Blob
    } else if t.contains("REAL") || t.contains("FLOA") || t.contains("DOUB") {
        Kind::Real
    } else {
        Kind::Other(declared.to_owned())
    }
}

fn bind(b: &mut sqlx::query_builder::Separated<'_, Sqlite, &'static str>, v: &Value) {
    match v {
        Value::Null => b.push_bind(None::<i64>),
        Value::Int(i) => b.push_bind(*i),
        Value::Bool(x) => b.push_bind(*x as i64),
        Value::Real(f) => b.push_bind(*f),
        Value::Text(s) | Value::Json(s) => b.push_bind(s.clone()),
        Value::Blob(x) => b.push_bind(x.clone()),
    };
}

fn value(row: &sqlx::sqlite::SqliteRow, i: usize) -> Result<Value> {
    let raw = row.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    let storage = raw.type_info().name().to_owned();
    Ok(match storage.as_str() {
        "INTEGER" | "BOOLEAN" => Value::Int(row.try_get(i)?),
        "REAL" => Value::Real(row.try_get(i)?),
        "BLOB" => Value::Blob(row.try_get(i)?),
        _ => Value::Text(row.try_get(i)?),
    })
}

#[async_trait]
impl RowTx for SqliteRows {
    async fn tables(&mut self) -> Result<Vec<Table>> {
        let list: Vec<(String, String)> = sqlx::query_as(
            "SELECT name, type FROM pragma_table_list
             WHERE schema = 'main' AND type IN ('table', 'virtual', 'shadow')
               AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
        )
        .fetch_all(&mut *self.tx)
        .await?;
        let mut tables = Vec::with_capacity(list.len());
        for (name, ty) in list {
            // hidden: 0 a stored column, 1 a virtual table's hidden column, 2 and 3 generated.
            let cols: Vec<(String, String, i64, i64)> = sqlx::query_as(
                "SELECT name, type, pk, hidden FROM pragma_table_xinfo(?) ORDER BY cid",
            )
            .bind(&name)
            .fetch_all(&mut *self.tx)
            .await?;
            let mut key: Vec<(i64, String)> = cols
                .iter()
                .filter(|c| c.2 > 0)
                .map(|c| (c.2, c.0.clone()))
                .collect();
            key.sort();
            let key: Vec<String> = key.into_iter().map(|(_, n)| n).collect();
            let identity = match (&key[..], ty.as_str()) {
                ([only], "table")
                    if cols.iter().any(|c| {
                        &c.0 == only && c.1.eq_ignore_ascii_case("INTEGER") && c.3 == 0
                    }) =>
                {
                    Some(only.clone())
                }
                _ => None,
            };
            let references: Vec<String> =
                sqlx::query_scalar("SELECT DISTINCT \"table\" FROM pragma_foreign_key_list(?)")
                    .bind(&name)
                    .fetch_all(&mut *self.tx)
                    .await?;
            tables.push(Table {
                columns: cols
                    .iter()
                    .filter(|c| c.3 == 0)
                    .map(|c| Column {
                        name: c.0.clone(),
                        kind: kind(&c.1),
                        declared: c.1.clone(),
                    })
                    .collect(),
                generated: cols
                    .iter()
                    .filter(|c| c.3 >= 2)
                    .map(|c| c.0.clone())
                    .collect(),
                key,
                references,
                identity,
                internal: ty != "table",
                name,
            });
        }
        Ok(tables)
    }

    async fn count(&mut self, table: &Table) -> Result<u64> {
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM {}",
            ident(&table.name)
        )))
        .fetch_one(&mut *self.tx)
        .await?;
        Ok(n as u64)
    }

    async fn read(
        &mut self,
        table: &Table,
        after: Option<&[Value]>,
        offset: u64,
        limit: u32,
    ) -> Result<Vec<Vec<Value>>> {
        let columns: Vec<String> = table.columns.iter().map(|c| ident(&c.name)).collect();
        let order: Vec<String> = if table.key.is_empty() {
            columns.clone()
        } else {
            table.key.iter().map(|k| ident(k)).collect()
        };
        let mut q = QueryBuilder::<Sqlite>::new(format!(
            "SELECT {} FROM {}",
            columns.join(", "),
            ident(&table.name)
        ));
        if let Some(after) = after.filter(|_| !table.key.is_empty()) {
            q.push(format!(" WHERE ({}) > (", order.join(", ")));
            let mut sep = q.separated(", ");
            for v in after {
                bind(&mut sep, v);
            }
            q.push(")");
        }
        q.push(format!(" ORDER BY {} LIMIT ", order.join(", ")));
        q.push_bind(limit as i64);
        if table.key.is_empty() {
            q.push(" OFFSET ").push_bind(offset as i64);
        }
        let rows = q.build().fetch_all(&mut *self.tx).await?;
        rows.iter()
            .map(|r| (0..table.columns.len()).map(|i| value(r, i)).collect())
            .collect()
    }

    async fn insert(&mut self, table: &Table, rows: &[Vec<Value>]) -> Result<()> {
        let columns: Vec<String> = table.columns.iter().map(|c| ident(&c.name)).collect();
        for chunk in rows.chunks(rows_per_insert(columns.len(), MAX_PARAMS)) {
            let mut q = QueryBuilder::<Sqlite>::new(format!(
                "INSERT INTO {} ({}) ",
                ident(&table.name),
                columns.join(", ")
            ));
            q.push_values(chunk, |mut b, row| {
                for v in row {
                    bind(&mut b, v);
                }
            });
            q.build().execute(&mut *self.tx).await?;
        }
        Ok(())
    }

    async fn id_high_water(&mut self, table: &Table) -> Result<i64> {
        let Some(id) = &table.identity else {
            return Ok(0);
        };
        let max: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT max({}) FROM {}",
            ident(id),
            ident(&table.name)
        )))
        .fetch_one(&mut *self.tx)
        .await?;
        let seq: Option<i64> = if self.has_sequence().await? {
            sqlx::query_scalar("SELECT max(seq) FROM sqlite_sequence WHERE name = ?")
                .bind(&table.name)
                .fetch_one(&mut *self.tx)
                .await?
        } else {
            None
        };
        Ok(max.unwrap_or(0).max(seq.unwrap_or(0)))
    }

    async fn raise_id_high_water(&mut self, table: &Table, to: i64) -> Result<()> {
        if table.identity.is_none() || to <= 0 || !self.autoincrement(&table.name).await? {
            return Ok(());
        }
        let updated = sqlx::query("UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = ?")
            .bind(to)
            .bind(&table.name)
            .execute(&mut *self.tx)
            .await?;
        if updated.rows_affected() == 0 {
            sqlx::query("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)")
                .bind(&table.name)
                .bind(to)
                .execute(&mut *self.tx)
                .await?;
        }
        Ok(())
    }

    async fn commit(self: Box<Self>) -> Result<()> {
        super::write::commit(self.tx, &self.commits).await
    }
}

impl SqliteRows {
    async fn has_sequence(&mut self) -> Result<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'sqlite_sequence'",
        )
        .fetch_one(&mut *self.tx)
        .await?;
        Ok(n > 0)
    }

    async fn autoincrement(&mut self, name: &str) -> Result<bool> {
        let sql: Option<String> =
            sqlx::query_scalar("SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?")
                .bind(name)
                .fetch_optional(&mut *self.tx)
                .await?
                .flatten();
        Ok(sql.is_some_and(|s| s.to_ascii_uppercase().contains("AUTOINCREMENT")))
    }
}
