//! `syndic copy-db`: copies a whole database to an empty one of either backend (SQLite to
//! PostgreSQL, back, or to another of the same), and verifies the copy. Every table the
//! schema has is copied, column by column, from the catalogs of both databases (so a table or
//! column added by a later migration is copied without a change here), except what
//! [`NOT_COPIED`] names with its reason. The source is read in one snapshot, the target
//! written in one transaction: a copy that fails leaves the target empty. The rows go through
//! the store's row interface ([`crate::store::rows`]); what to copy, in which order, and how
//! to verify it is decided here.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::store::rows::{RowTx, Table, Value};
use crate::store::{DynStore, StoreError};

/// Rows read (and written) per batch.
pub const BATCH: u32 = 2_000;

/// Something the copy leaves out on purpose, and why.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct NotCopied {
    pub table: &'static str,
    /// One column of the table, or `None` for the whole table.
    pub column: Option<&'static str>,
    pub why: &'static str,
}

/// What the copy leaves out, with why. A test reads both schemas' catalogs and fails on any
/// table or column that is neither copied nor listed here.
pub const NOT_COPIED: &[NotCopied] = &[
    NotCopied {
        table: "_sqlx_migrations",
        column: None,
        why: "the target's migrations are applied by this binary when it is opened; both \
              databases are at this binary's schema version before any row is copied",
    },
    NotCopied {
        table: "jobs",
        column: None,
        why: "leases of jobs running on the source's instances (retention): the target's \
              instances take their own",
    },
    NotCopied {
        table: "subscriptions",
        column: Some("claimed_by"),
        why: "a poll claimed by an instance of the source: none is running against the target",
    },
    NotCopied {
        table: "subscriptions",
        column: Some("claimed_until"),
        why: "the end of a claim of the source (see claimed_by)",
    },
    NotCopied {
        table: "websub_subscriptions",
        column: Some("claimed_by"),
        why: "a delivery claimed by an instance of the source: none is running against the \
              target",
    },
    NotCopied {
        table: "websub_subscriptions",
        column: Some("claimed_until"),
        why: "the end of a claim of the source (see claimed_by)",
    },
];

/// Whether a table (or one of its columns) is left out.
pub fn not_copied(table: &str, column: Option<&str>) -> bool {
    NOT_COPIED
        .iter()
        .any(|n| n.table == table && (n.column.is_none() || n.column == column))
}

#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error(
        "the target database is not empty ({}); copy-db only copies into an empty database",
        .0.iter().map(|(t, n)| format!("{t}: {n} row{}", if *n == 1 { "" } else { "s" })).collect::<Vec<_>>().join(", ")
    )]
    NotEmpty(Vec<(String, u64)>),
    #[error("the two databases' schemas differ: {0}")]
    SchemaDiffers(String),
    #[error("{table}.{column}: {source}")]
    Value {
        table: String,
        column: String,
        #[source]
        source: crate::store::rows::ConvertError,
    },
    #[error(
        "verification failed for {table}: the source has {source_rows} rows, the target \
         {target_rows}{digest}",
        digest = if .source_rows == .target_rows { " but their contents differ" } else { "" }
    )]
    Verify {
        table: String,
        source_rows: u64,
        target_rows: u64,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What was copied from one table and found again in the target.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TableCount {
    pub table: String,
    pub copied: u64,
    pub verified: u64,
}

/// The outcome of a copy.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub tables: Vec<TableCount>,
    /// What was left out on purpose, with why.
    pub not_copied: Vec<NotCopied>,
}

/// A digest of a table's rows that does not depend on their order (each backend orders text
/// keys by its own collation): the sum of a hash of each row's canonical form.
#[derive(Default, PartialEq, Eq, Clone, Copy, Debug)]
struct Digest128(u128);

impl Digest128 {
    fn add(&mut self, row: &[Value]) {
        let mut h = Sha256::new();
        for v in row {
            match v {
                Value::Null => h.update([0u8]),
                Value::Int(i) => {
                    h.update([1u8]);
                    h.update(i.to_le_bytes());
                }
                Value::Real(f) => {
                    h.update([2u8]);
                    h.update(f.to_bits().to_le_bytes());
                }
                Value::Bool(b) => {
                    h.update([3u8, *b as u8]);
                }
                Value::Text(s) => {
                    h.update([4u8]);
                    h.update((s.len() as u64).to_le_bytes());
                    h.update(s.as_bytes());
                }
                Value::Json(s) => {
                    let canonical = canonical_json(s);
                    h.update([5u8]);
                    h.update((canonical.len() as u64).to_le_bytes());
                    h.update(canonical.as_bytes());
                }
                Value::Blob(b) => {
                    h.update([6u8]);
                    h.update((b.len() as u64).to_le_bytes());
                    h.update(b);
                }
            }
        }
        let out = h.finalize();
        let mut first = [0u8; 16];
        first.copy_from_slice(&out[..16]);
        self.0 = self.0.wrapping_add(u128::from_le_bytes(first));
    }
}

/// JSON with object keys sorted and no white space: PostgreSQL's jsonb keeps neither the
/// key order nor the spacing of the text it was given.
fn canonical_json(s: &str) -> String {
    fn sort(v: serde_json::Value) -> serde_json::Value {
        match v {
            serde_json::Value::Object(m) => {
                let sorted: BTreeMap<String, serde_json::Value> =
                    m.into_iter().map(|(k, v)| (k, sort(v))).collect();
                serde_json::Value::Object(sorted.into_iter().collect())
            }
            serde_json::Value::Array(a) => {
                serde_json::Value::Array(a.into_iter().map(sort).collect())
            }
            other => other,
        }
    }
    match serde_json::from_str::<serde_json::Value>(s) {
        Ok(v) => sort(v).to_string(),
        Err(_) => s.to_owned(),
    }
}

/// The tables to copy, parents before children (foreign keys point backwards).
fn in_dependency_order(mut tables: Vec<Table>) -> Vec<Table> {
    let mut ordered: Vec<Table> = Vec::with_capacity(tables.len());
    while !tables.is_empty() {
        let ready = tables.iter().position(|t| {
            t.references.iter().all(|r| {
                r == &t.name
                    || ordered.iter().any(|o| &o.name == r)
                    || !tables.iter().any(|x| &x.name == r)
            })
        });
        // A cycle of foreign keys: take the next table as it comes (the write fails if a
        // row's parent is missing, and nothing is kept).
        ordered.push(tables.remove(ready.unwrap_or(0)));
    }
    ordered
}

/// A table as copied: its columns less those left out.
fn copied_part(t: &Table) -> Table {
    let mut t = t.clone();
    let name = t.name.clone();
    t.columns.retain(|c| !not_copied(&name, Some(&c.name)));
    t
}

/// The tables of the schema that the copy carries (internal ones, which the database fills
/// itself, and those left out on purpose are not).
fn copied_tables(tables: Vec<Table>) -> Vec<Table> {
    tables
        .into_iter()
        .filter(|t| !t.internal && !not_copied(&t.name, None))
        .map(|t| copied_part(&t))
        .collect()
}

/// For each target column, its position among the source's columns; an error names any
/// table or column one side has and the other lacks.
fn column_map(source: &Table, target: &Table) -> Result<Vec<usize>, CopyError> {
    if let Some(extra) = source
        .columns
        .iter()
        .find(|c| target.position(&c.name).is_none())
    {
        return Err(CopyError::SchemaDiffers(format!(
            "the target's table {} has no column {}",
            target.name, extra.name
        )));
    }
    target
        .columns
        .iter()
        .map(|c| {
            source.position(&c.name).ok_or_else(|| {
                CopyError::SchemaDiffers(format!(
                    "the source's table {} has no column {}",
                    source.name, c.name
                ))
            })
        })
        .collect()
}

/// Copies every table of `from` into `to`, which must be empty, and verifies the copy:
/// row counts and a digest of every row, read back from the target after the commit.
/// `progress` hears of each table as it is done.
pub async fn copy(
    from: &DynStore,
    to: &DynStore,
    batch: u32,
    mut progress: impl FnMut(&TableCount),
) -> Result<Report, CopyError> {
    let mut source = from.rows(false).await?;
    let mut target = to.rows(true).await?;
    let source_tables = copied_tables(source.tables().await?);
    let target_tables: HashMap<String, Table> = copied_tables(target.tables().await?)
        .into_iter()
        .map(|t| (t.name.clone(), t))
        .collect();
    if let Some(t) = source_tables
        .iter()
        .find(|t| !target_tables.contains_key(&t.name))
    {
        return Err(CopyError::SchemaDiffers(format!(
            "the target has no table {}",
            t.name
        )));
    }
    if let Some(t) = target_tables
        .keys()
        .find(|t| !source_tables.iter().any(|s| &s.name == *t))
    {
        return Err(CopyError::SchemaDiffers(format!(
            "the source has no table {t}"
        )));
    }
    let mut found = Vec::new();
    for t in target_tables.values() {
        let n = target.count(t).await?;
        if n > 0 {
            found.push((t.name.clone(), n));
        }
    }
    if !found.is_empty() {
        found.sort();
        return Err(CopyError::NotEmpty(found));
    }

    let ordered = in_dependency_order(source_tables);
    let mut digests = Vec::with_capacity(ordered.len());
    for s in &ordered {
        let t = &target_tables[&s.name];
        let map = column_map(s, t)?;
        let key: Vec<usize> = s.key.iter().filter_map(|k| s.position(k)).collect();
        let (mut after, mut offset, mut copied) = (None::<Vec<Value>>, 0u64, 0u64);
        let mut digest = Digest128::default();
        loop {
            let rows = source.read(s, after.as_deref(), offset, batch).await?;
            if rows.is_empty() {
                break;
            }
            if !key.is_empty() {
                let last = rows.last().expect("not empty");
                after = Some(key.iter().map(|&i| last[i].clone()).collect());
            }
            offset += rows.len() as u64;
            let n = rows.len();
            let mut out = Vec::with_capacity(n);
            for row in rows {
                let mut row: Vec<Option<Value>> = row.into_iter().map(Some).collect();
                let converted = map
                    .iter()
                    .zip(&t.columns)
                    .map(|(&i, c)| {
                        row[i]
                            .take()
                            .unwrap_or(Value::Null)
                            .into_kind(&c.kind)
                            .map_err(|source| CopyError::Value {
                                table: t.name.clone(),
                                column: c.name.clone(),
                                source,
                            })
                    })
                    .collect::<Result<Vec<Value>, CopyError>>()?;
                digest.add(&converted);
                out.push(converted);
            }
            target.insert(t, &out).await?;
            copied += n as u64;
            if n < batch as usize {
                break;
            }
        }
        let high_water = source.id_high_water(s).await?;
        target.raise_id_high_water(t, high_water).await?;
        digests.push((t.clone(), copied, digest));
    }
    target.commit().await?;
    drop(source);

    // Read back what the target now holds, in a snapshot of its own.
    let mut check = to.rows(false).await?;
    let mut counts = Vec::with_capacity(digests.len());
    for (t, copied, digest) in digests {
        let (verified, found) = read_digest(&mut *check, &t, batch).await?;
        if verified != copied || found != digest {
            return Err(CopyError::Verify {
                table: t.name.clone(),
                source_rows: copied,
                target_rows: verified,
            });
        }
        let count = TableCount {
            table: t.name.clone(),
            copied,
            verified,
        };
        progress(&count);
        counts.push(count);
    }
    Ok(Report {
        tables: counts,
        not_copied: NOT_COPIED.to_vec(),
    })
}

/// The number of rows of a table and their digest, with JSON values canonical.
async fn read_digest(
    tx: &mut dyn RowTx,
    t: &Table,
    batch: u32,
) -> Result<(u64, Digest128), CopyError> {
    let key: Vec<usize> = t.key.iter().filter_map(|k| t.position(k)).collect();
    let (mut after, mut offset, mut n) = (None::<Vec<Value>>, 0u64, 0u64);
    let mut digest = Digest128::default();
    loop {
        let rows = tx.read(t, after.as_deref(), offset, batch).await?;
        if rows.is_empty() {
            break;
        }
        if !key.is_empty() {
            let last = rows.last().expect("not empty");
            after = Some(key.iter().map(|&i| last[i].clone()).collect());
        }
        offset += rows.len() as u64;
        let len = rows.len();
        for row in rows {
            digest.add(&row);
        }
        n += len as u64;
        if len < batch as usize {
            break;
        }
    }
    Ok((n, digest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::rows::{Column, Kind};

    fn table(name: &str, refs: &[&str]) -> Table {
        Table {
            name: name.into(),
            columns: vec![Column {
                name: "id".into(),
                kind: Kind::Int,
                declared: "INTEGER".into(),
            }],
            generated: vec![],
            key: vec!["id".into()],
            references: refs.iter().map(|r| r.to_string()).collect(),
            identity: None,
            internal: false,
        }
    }

    #[test]
    fn parents_come_before_children() {
        let ordered = in_dependency_order(vec![
            table("subscription_items", &["subscriptions"]),
            table("articles", &["channels"]),
            table("subscriptions", &["channels"]),
            table("channels", &[]),
            table("tree", &["tree"]),
        ]);
        let names: Vec<&str> = ordered.iter().map(|t| t.name.as_str()).collect();
        let at = |n: &str| names.iter().position(|x| *x == n).unwrap();
        assert!(at("channels") < at("articles"));
        assert!(at("channels") < at("subscriptions"));
        assert!(at("subscriptions") < at("subscription_items"));
        assert_eq!(names.len(), 5);
    }

    #[test]
    fn digests_ignore_row_order_and_json_spacing() {
        let (mut a, mut b) = (Digest128::default(), Digest128::default());
        let r1 = vec![Value::Int(1), Value::Json(r#"{"b":1,"a":[2]}"#.into())];
        let r1b = vec![Value::Int(1), Value::Json(r#"{"a": [2], "b": 1}"#.into())];
        let r2 = vec![Value::Int(2), Value::Text("& < > \" ' ]]>".into())];
        a.add(&r1);
        a.add(&r2);
        b.add(&r2);
        b.add(&r1b);
        assert_eq!(a, b);
        let mut c = Digest128::default();
        c.add(&r1);
        c.add(&[Value::Int(2), Value::Text("& < > \" ' ]]".into())]);
        assert_ne!(a, c);
    }
}
