//! Row-level access on PostgreSQL ([`RowTx`]): tables from `information_schema` and
//! `pg_catalog` (current schema), values read with a cast to the few types a copy knows
//! (anything else as its text form), multi-row INSERTs that cast each value back to its
//! column's type, identity sequences read and moved with `pg_sequence_last_value`/`setval`.

use async_trait::async_trait;
use sqlx::{Postgres, QueryBuilder, Row, Transaction};

use super::super::Result;
use super::super::rows::{Column, Kind, RowTx, Table, Value, ident, rows_per_insert};

/// PostgreSQL's bound-parameter limit is 65,535.
const MAX_PARAMS: usize = 60_000;

pub(super) struct PgRows {
    pub(super) tx: Transaction<'static, Postgres>,
    pub(super) commits: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

fn kind(udt: &str) -> Kind {
    match udt {
        "int2" | "int4" | "int8" => Kind::Int,
        "float4" | "float8" => Kind::Real,
        "bool" => Kind::Bool,
        "text" | "varchar" | "bpchar" | "name" => Kind::Text,
        "json" | "jsonb" => Kind::Json,
        "bytea" => Kind::Blob,
        other => Kind::Other(other.to_owned()),
    }
}

/// The expression a column is read with, so that its value decodes as its kind.
fn select(c: &Column) -> String {
    let name = ident(&c.name);
    match c.kind {
        Kind::Int => format!("{name}::int8"),
        Kind::Real => format!("{name}::float8"),
        Kind::Bool | Kind::Blob => name,
        Kind::Text | Kind::Json | Kind::Other(_) => format!("{name}::text"),
    }
}

/// Binds a value cast to the column's type (`declared` is a catalog type name).
fn bind(b: &mut sqlx::query_builder::Separated<'_, Postgres, &'static str>, v: &Value, c: &Column) {
    match v {
        Value::Null => b.push_bind(None::<String>),
        Value::Int(i) => b.push_bind(*i),
        Value::Bool(x) => b.push_bind(*x),
        Value::Real(f) => b.push_bind(*f),
        Value::Text(s) | Value::Json(s) => b.push_bind(s.clone()),
        Value::Blob(x) => b.push_bind(x.clone()),
    };
    b.push_unseparated(format!("::{}", ident(&c.declared)));
}

fn value(row: &sqlx::postgres::PgRow, i: usize, kind: &Kind) -> Result<Value> {
    Ok(match kind {
        Kind::Int => row.try_get::<Option<i64>, _>(i)?.map(Value::Int),
        Kind::Real => row.try_get::<Option<f64>, _>(i)?.map(Value::Real),
        Kind::Bool => row.try_get::<Option<bool>, _>(i)?.map(Value::Bool),
        Kind::Blob => row.try_get::<Option<Vec<u8>>, _>(i)?.map(Value::Blob),
        Kind::Json => row.try_get::<Option<String>, _>(i)?.map(Value::Json),
        Kind::Text | Kind::Other(_) => row.try_get::<Option<String>, _>(i)?.map(Value::Text),
    }
    .unwrap_or(Value::Null))
}

#[async_trait]
impl RowTx for PgRows {
    async fn tables(&mut self) -> Result<Vec<Table>> {
        let names: Vec<String> = sqlx::query_scalar(
            "SELECT table_name::text FROM information_schema.tables
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'
             ORDER BY table_name",
        )
        .fetch_all(&mut *self.tx)
        .await?;
        let mut tables = Vec::with_capacity(names.len());
        for name in names {
            let cols: Vec<(String, String, String, String)> = sqlx::query_as(
                "SELECT column_name::text, udt_name::text, is_generated::text, is_identity::text
                 FROM information_schema.columns
                 WHERE table_schema = current_schema() AND table_name = $1
                 ORDER BY ordinal_position",
            )
            .bind(&name)
            .fetch_all(&mut *self.tx)
            .await?;
            let key: Vec<String> = sqlx::query_scalar(
                "SELECT a.attname::text
                 FROM pg_index i
                 JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
                 WHERE i.indrelid = (quote_ident(current_schema()) || '.' || quote_ident($1))::regclass
                   AND i.indisprimary
                 ORDER BY array_position(i.indkey::int2[], a.attnum)",
            )
            .bind(&name)
            .fetch_all(&mut *self.tx)
            .await?;
            let references: Vec<String> = sqlx::query_scalar(
                "SELECT DISTINCT c.relname::text
                 FROM pg_constraint k JOIN pg_class c ON c.oid = k.confrelid
                 WHERE k.conrelid = (quote_ident(current_schema()) || '.' || quote_ident($1))::regclass
                   AND k.contype = 'f'",
            )
            .bind(&name)
            .fetch_all(&mut *self.tx)
            .await?;
            // An identity column, or a serial one (a default drawn from a sequence).
            let mut identity = cols.iter().find(|c| c.3 == "YES").map(|c| c.0.clone());
            if identity.is_none() {
                for c in &cols {
                    let seq: Option<String> = sqlx::query_scalar(
                        "SELECT pg_get_serial_sequence(quote_ident(current_schema()) || '.' || quote_ident($1), $2)",
                    )
                    .bind(&name)
                    .bind(&c.0)
                    .fetch_one(&mut *self.tx)
                    .await?;
                    if seq.is_some() {
                        identity = Some(c.0.clone());
                        break;
                    }
                }
            }
            tables.push(Table {
                columns: cols
                    .iter()
                    .filter(|c| c.2 != "ALWAYS")
                    .map(|c| Column {
                        name: c.0.clone(),
                        kind: kind(&c.1),
                        declared: c.1.clone(),
                    })
                    .collect(),
                generated: cols
                    .iter()
                    .filter(|c| c.2 == "ALWAYS")
                    .map(|c| c.0.clone())
                    .collect(),
                key,
                references,
                identity,
                internal: false,
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
        let columns: Vec<String> = table.columns.iter().map(select).collect();
        let order: Vec<String> = if table.key.is_empty() {
            table.columns.iter().map(|c| ident(&c.name)).collect()
        } else {
            table.key.iter().map(|k| ident(k)).collect()
        };
        let mut q = QueryBuilder::<Postgres>::new(format!(
            "SELECT {} FROM {}",
            columns.join(", "),
            ident(&table.name)
        ));
        if let Some(after) = after.filter(|_| !table.key.is_empty()) {
            q.push(format!(" WHERE ({}) > (", order.join(", ")));
            let mut sep = q.separated(", ");
            for (v, k) in after.iter().zip(&table.key) {
                let c = table
                    .columns
                    .iter()
                    .find(|c| &c.name == k)
                    .expect("key columns are columns");
                bind(&mut sep, v, c);
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
            .map(|r| {
                table
                    .columns
                    .iter()
                    .enumerate()
                    .map(|(i, c)| value(r, i, &c.kind))
                    .collect()
            })
            .collect()
    }

    async fn insert(&mut self, table: &Table, rows: &[Vec<Value>]) -> Result<()> {
        let columns: Vec<String> = table.columns.iter().map(|c| ident(&c.name)).collect();
        // Identity columns GENERATED ALWAYS refuse given values unless told to take them.
        let overriding = if table.identity.is_some() {
            " OVERRIDING SYSTEM VALUE "
        } else {
            " "
        };
        for chunk in rows.chunks(rows_per_insert(columns.len(), MAX_PARAMS)) {
            let mut q = QueryBuilder::<Postgres>::new(format!(
                "INSERT INTO {} ({}){overriding}",
                ident(&table.name),
                columns.join(", ")
            ));
            q.push_values(chunk, |mut b, row| {
                for (v, c) in row.iter().zip(&table.columns) {
                    bind(&mut b, v, c);
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
            "SELECT max({})::int8 FROM {}",
            ident(id),
            ident(&table.name)
        )))
        .fetch_one(&mut *self.tx)
        .await?;
        let seq: Option<i64> = sqlx::query_scalar(
            "SELECT pg_sequence_last_value(
                 pg_get_serial_sequence(quote_ident(current_schema()) || '.' || quote_ident($1), $2)::regclass)",
        )
        .bind(&table.name)
        .bind(id)
        .fetch_one(&mut *self.tx)
        .await?;
        Ok(max.unwrap_or(0).max(seq.unwrap_or(0)))
    }

    async fn raise_id_high_water(&mut self, table: &Table, to: i64) -> Result<()> {
        let Some(id) = &table.identity else {
            return Ok(());
        };
        if to <= 0 {
            return Ok(());
        }
        sqlx::query(
            "SELECT setval(
                 pg_get_serial_sequence(quote_ident(current_schema()) || '.' || quote_ident($1), $2),
                 $3, true)",
        )
        .bind(&table.name)
        .bind(id)
        .bind(to)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn commit(self: Box<Self>) -> Result<()> {
        self.tx.commit().await?;
        self.commits
            .fetch_add(1, std::sync::atomic::Ordering::Release);
        Ok(())
    }
}
