//! sqlx's errors as [`StoreError`] kinds. A failure of the database's environment (I/O, a
//! pool that cannot get a connection, SQLite's busy, locked, full, read-only and I/O result
//! codes; PostgreSQL's connection, resource and operator-intervention SQLSTATE classes, a
//! transaction rolled back by a deadlock or serialization failure, a lock not had within
//! `lock_timeout`) is `Unavailable`: the request may be retried. Anything else is `Failed`.

use super::StoreError;

/// SQLite primary result codes that mean "not now": BUSY, LOCKED, IOERR, FULL, CANTOPEN,
/// READONLY (the primary code is the low byte of an extended one).
const SQLITE_UNAVAILABLE: &[i64] = &[5, 6, 8, 10, 13, 14];

/// PostgreSQL SQLSTATEs that mean "not now": the classes connection exception (08),
/// transaction rollback (40: serialization failure, deadlock), insufficient resources (53) and
/// operator intervention (57: admin shutdown, cannot connect now…), and lock not available
/// (55P03, which `lock_timeout` raises).
const POSTGRES_UNAVAILABLE: &[&str] = &["08", "40", "53", "57", "55P03"];

/// A SQLSTATE is always five characters (and may be all digits, as 08006 is); SQLite's codes,
/// extended ones included, have at most four digits.
fn unavailable_code(code: &str) -> bool {
    if code.len() == 5 {
        return POSTGRES_UNAVAILABLE
            .iter()
            .any(|class| code.starts_with(class));
    }
    code.parse::<i64>()
        .is_ok_and(|n| SQLITE_UNAVAILABLE.contains(&(n & 0xff)))
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> StoreError {
        let unavailable = match &e {
            sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => true,
            sqlx::Error::Database(db) => db.code().is_some_and(|c| unavailable_code(&c)),
            _ => false,
        };
        if unavailable {
            StoreError::Unavailable(Box::new(e))
        } else {
            StoreError::Failed(Box::new(e))
        }
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> StoreError {
        match e {
            sqlx::migrate::MigrateError::Execute(e) => e.into(),
            sqlx::migrate::MigrateError::VersionMissing(v) => {
                StoreError::Schema(format!("migration {v} was applied by a newer syndic"))
            }
            other => StoreError::Failed(Box::new(other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_of_both_databases() {
        for code in [
            "5", "261", "13", "14", "3338", "08000", "08006", "53100", "57P01", "55P03", "40P01",
            "40001",
        ] {
            assert!(unavailable_code(code), "{code}");
        }
        for code in ["19", "2067", "23505", "42P01", "XX000", "1555", "55000"] {
            assert!(!unavailable_code(code), "{code}");
        }
    }
}
