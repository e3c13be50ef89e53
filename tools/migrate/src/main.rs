//! `migrate up | down [--steps N | --all] | status` against `DATABASE_URL`.

use anyhow::{Context, Result, bail};

const USAGE: &str = "usage: migrate up | down [--steps N | --all] | status   (reads DATABASE_URL; MIGRATIONS_DIR optional)";

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let url = std::env::var("DATABASE_URL").context("DATABASE_URL must be set")?;
    let dir = migrate::default_dir();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["up"] => {
            let applied = migrate::up(&url, &dir).await?;
            if applied.is_empty() {
                println!("up to date");
            }
            for v in applied {
                println!("applied {v:04}");
            }
        }
        ["down", rest @ ..] => {
            let steps = match rest {
                [] => Some(1),
                ["--all"] => None,
                ["--steps", n] => Some(n.parse().context("--steps takes a number")?),
                _ => bail!(USAGE),
            };
            for v in migrate::down(&url, &dir, steps).await? {
                println!("reverted {v:04}");
            }
        }
        ["status"] => {
            for line in migrate::status(&url, &dir).await? {
                println!("{line}");
            }
        }
        _ => bail!(USAGE),
    }
    Ok(())
}
