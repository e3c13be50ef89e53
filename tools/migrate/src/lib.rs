//! The project's migration runner, a thin layer over sqlx's migrator, which
//! brings what hand-written bookkeeping would have to re-invent: a history
//! table (`_sqlx_migrations`) with a SHA-384 checksum per file (an edited,
//! already-applied file is refused), a Postgres advisory lock so two runs
//! cannot interleave, and reversible `.up.sql` / `.down.sql` pairs.
//!
//! It needs a direct (session) connection: the advisory lock is session-level,
//! so point it at Postgres itself, not at a transaction-mode pooler.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use sqlx::Connection;
use sqlx::migrate::{Migrate, Migrator};
use sqlx::postgres::PgConnection;

/// `migrations/` at the workspace root, unless `MIGRATIONS_DIR` says otherwise.
pub fn default_dir() -> PathBuf {
    std::env::var_os("MIGRATIONS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations"))
}

pub async fn load(dir: &Path) -> Result<Migrator> {
    Migrator::new(dir.to_path_buf())
        .await
        .with_context(|| format!("reading migrations from {}", dir.display()))
}

async fn connect(url: &str) -> Result<PgConnection> {
    PgConnection::connect(url)
        .await
        .context("connecting to the database (DATABASE_URL)")
}

/// Applies every pending migration; a no-op when all are applied.
/// Returns the versions it applied.
pub async fn up(url: &str, dir: &Path) -> Result<Vec<i64>> {
    let migrator = load(dir).await?;
    let mut conn = connect(url).await?;
    // Hold the migrator's advisory lock across our own reads too, so that two
    // concurrent runs do not race to create the history table. The lock is
    // re-entrant: sqlx's own lock/unlock inside `run` nests within ours.
    conn.lock().await?;
    let result = async {
        let before = applied(&mut conn, &migrator).await?;
        migrator
            .run(&mut conn)
            .await
            .context("applying migrations")?;
        let after = applied(&mut conn, &migrator).await?;
        Ok(after.into_iter().filter(|v| !before.contains(v)).collect())
    }
    .await;
    conn.unlock().await?;
    result
}

/// Reverts the newest `steps` applied migrations (all of them with `None`).
/// Returns the versions it reverted, newest first.
pub async fn down(url: &str, dir: &Path, steps: Option<usize>) -> Result<Vec<i64>> {
    let migrator = load(dir).await?;
    let mut conn = connect(url).await?;
    conn.lock().await?;
    let result = async {
        let before = applied(&mut conn, &migrator).await?;
        let target = match steps {
            None => 0,
            Some(0) => return Ok(Vec::new()),
            // Revert everything newer than the (steps+1)-th newest applied version.
            Some(n) => before.iter().rev().nth(n).copied().unwrap_or(0),
        };
        migrator
            .undo(&mut conn, target)
            .await
            .context("reverting migrations")?;
        let after = applied(&mut conn, &migrator).await?;
        Ok(before
            .into_iter()
            .rev()
            .filter(|v| !after.contains(v))
            .collect())
    }
    .await;
    conn.unlock().await?;
    result
}

/// One line per migration file: version, description, applied or pending,
/// and whether an applied file's checksum still matches.
pub async fn status(url: &str, dir: &Path) -> Result<Vec<String>> {
    let migrator = load(dir).await?;
    let mut conn = connect(url).await?;
    conn.ensure_migrations_table(&migrator.table_name).await?;
    let applied = conn
        .list_applied_migrations(&migrator.table_name)
        .await
        .context("reading the migration history")?;
    let mut lines = Vec::new();
    for m in migrator
        .iter()
        .filter(|m| m.migration_type.is_up_migration())
    {
        let state = match applied.iter().find(|a| a.version == m.version) {
            None => "pending",
            Some(a) if a.checksum == m.checksum => "applied",
            Some(_) => "applied, CHECKSUM MISMATCH (file edited after it was applied)",
        };
        lines.push(format!("{:04} {:<24} {state}", m.version, m.description));
    }
    for a in &applied {
        if !migrator.version_exists(a.version) {
            lines.push(format!(
                "{:04} {:<24} applied, FILE MISSING",
                a.version, "?"
            ));
        }
    }
    Ok(lines)
}

async fn applied(conn: &mut PgConnection, migrator: &Migrator) -> Result<Vec<i64>> {
    conn.ensure_migrations_table(&migrator.table_name).await?;
    if let Some(v) = conn.dirty_version(&migrator.table_name).await? {
        bail!("migration {v} failed part-way earlier; fix it by hand before going on");
    }
    // With no dirty version, every listed migration succeeded.
    let applied = conn.list_applied_migrations(&migrator.table_name).await?;
    Ok(applied.iter().map(|m| m.version).collect())
}
