//! Faults in the middle of a load run: PgBouncer restarted, then Postgres
//! restarted. Every request answered 2xx must be in the database afterwards;
//! requests during an outage get 503 problem+json with `Retry-After` (never
//! a 500); the first request after recovery succeeds on the same warm state.
//!
//! Restarting the shared services would disturb every other test running in
//! parallel, so these tests start their own: a private PgBouncer (as the
//! `postgres` OS user when run as root) on a free port, and, for the
//! Postgres restart, a private throwaway cluster (`initdb` into a temporary
//! directory, `fsync=off`, migrated with `migrate::up`). Both are stopped and
//! removed when the test ends, however it ends.

use std::collections::{BTreeMap, BTreeSet};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use integration_tests::{JWT_SECRET, TestDb, admin_url, connect, token};
use serde_json::json;
use shared::{AppState, Config};
use tokio::sync::Mutex;
use tokio_postgres::NoTls;
use uuid::Uuid;

use crate::route_kit::{Route, Target, body_text, is_problem, json_request};

// ------------------------------------------------------------ processes --

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

/// `program args...`, as the `postgres` OS user when we are root (initdb and
/// PgBouncer refuse to run as root).
fn as_postgres(program: &Path, args: &[&str]) -> std::process::Output {
    let mut cmd = if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    };
    cmd.args(args)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", program.display()))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// A temporary directory the `postgres` user owns; removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("faults-{tag}-{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        if is_root() {
            let ok = Command::new("chown")
                .arg("postgres:")
                .arg(&dir)
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "chown postgres {}", dir.display());
        }
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn pid_alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .is_ok_and(|s| s.split_whitespace().nth(2) == Some("Z"))
}

fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .args([format!("-{sig}"), pid.to_string()])
        .status();
}

/// Waits (bounded) until `port` accepts or refuses connections as `want`.
fn wait_port(port: u16, want_open: bool, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        let open = std::net::TcpStream::connect(("127.0.0.1", port)).is_ok();
        if open == want_open {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

fn pgbouncer_bin() -> PathBuf {
    [
        "/usr/sbin/pgbouncer",
        "/usr/bin/pgbouncer",
        "/usr/local/bin/pgbouncer",
    ]
    .into_iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
    .expect("pgbouncer is installed (scripts/test.sh installs it)")
}

/// A private PgBouncer in transaction mode in front of `upstream_port`.
struct PgBouncer {
    dir: TempDir,
    port: u16,
}

impl PgBouncer {
    fn start(upstream_port: u16) -> Self {
        let dir = TempDir::new("pgbouncer");
        let port = free_port();
        let d = dir.0.display();
        let ini = format!(
            "[databases]\n* = host=127.0.0.1 port={upstream_port}\n\n[pgbouncer]\n\
             listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n\
             pool_mode = transaction\nauth_type = trust\nauth_file = {d}/userlist.txt\n\
             max_client_conn = 200\ndefault_pool_size = 5\nmax_user_connections = 10\n\
             server_idle_timeout = 5\nserver_login_retry = 1\nquery_wait_timeout = 3\n\
             ignore_startup_parameters = extra_float_digits,options\n\
             logfile = {d}/pgbouncer.log\npidfile = {d}/pgbouncer.pid\n"
        );
        std::fs::write(dir.0.join("pgbouncer.ini"), ini).expect("ini");
        std::fs::write(dir.0.join("userlist.txt"), "\"postgres\" \"\"\n").expect("userlist");
        if is_root() {
            let _ = Command::new("chown")
                .arg("-R")
                .arg("postgres:")
                .arg(&dir.0)
                .status();
        }
        let p = Self { dir, port };
        p.run();
        p
    }

    fn run(&self) {
        let ini = self.dir.0.join("pgbouncer.ini");
        let out = as_postgres(&pgbouncer_bin(), &["-d", ini.to_str().expect("path")]);
        let up = wait_port(self.port, true, Duration::from_secs(10));
        assert!(
            up,
            "private PgBouncer did not come up: {} {}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(self.dir.0.join("pgbouncer.log")).unwrap_or_default()
        );
    }

    fn pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.dir.0.join("pgbouncer.pid"))
            .ok()
            .and_then(|s| s.trim().parse().ok())
    }

    /// kill -TERM (PgBouncer's immediate shutdown); KILL if it lingers.
    fn stop(&self) {
        let Some(pid) = self.pid() else { return };
        signal(pid, "TERM");
        let deadline = Instant::now() + Duration::from_secs(5);
        while pid_alive(pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        if pid_alive(pid) {
            signal(pid, "KILL");
        }
        let _ = std::fs::remove_file(self.dir.0.join("pgbouncer.pid"));
        wait_port(self.port, false, Duration::from_secs(5));
    }

    fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn pg_bin_dir() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists() && p.join("pg_ctl").exists())
        .collect();
    dirs.sort();
    dirs.pop()
}

/// A private throwaway Postgres cluster.
struct Cluster {
    bin: PathBuf,
    dir: TempDir,
    port: u16,
}

impl Cluster {
    fn init(bin: PathBuf) -> Self {
        let dir = TempDir::new("postgres");
        let data = dir.0.join("data");
        let out = as_postgres(
            &bin.join("initdb"),
            &[
                "-D",
                data.to_str().expect("path"),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        );
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let c = Self {
            bin,
            dir,
            port: free_port(),
        };
        c.start();
        c
    }

    fn pg_ctl(&self, args: &[&str]) -> std::process::Output {
        let data = self.dir.0.join("data");
        let mut all = vec!["-D", data.to_str().expect("path")];
        all.extend_from_slice(args);
        as_postgres(&self.bin.join("pg_ctl"), &all)
    }

    fn start(&self) {
        let opts = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} -c fsync=off \
             -c synchronous_commit=off -c full_page_writes=off -c max_connections=40",
            self.port,
            self.dir.0.display()
        );
        let log = self.dir.0.join("postgres.log");
        let out = self.pg_ctl(&[
            "-o",
            &opts,
            "-l",
            log.to_str().expect("path"),
            "-w",
            "-t",
            "30",
            "start",
        ]);
        assert!(
            out.status.success(),
            "pg_ctl start: {} {}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }

    fn stop(&self, mode: &str) {
        let _ = self.pg_ctl(&["-m", mode, "-w", "-t", "30", "stop"]);
    }

    fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop("immediate");
    }
}

// ------------------------------------------------------------- the load --

/// One answered request of the load run.
struct Outcome {
    env: usize,
    slot: String,
    status: u16,
    problem: bool,
    retry_after: bool,
    started: Instant,
    body: String,
}

/// A function's state connected to `url`, as Lambda builds it.
async fn state_at(url: &str) -> AppState {
    let url = url.to_owned();
    let config = Config::from_lookup(|name| match name {
        "DATABASE_URL" => Some(url.clone()),
        "JWT_SECRET" => Some(JWT_SECRET.to_owned()),
        // Give up on a silent database quickly (2 s), as the function does
        // well before its Lambda timeout.
        "STATEMENT_TIMEOUT_MS" => Some("1000".to_owned()),
        "DB_CONNECT_TIMEOUT_MS" => Some("1000".to_owned()),
        _ => None,
    })
    .expect("config");
    AppState::init(book::FUNCTION, config).await.expect("state")
}

struct Load {
    stop: Arc<AtomicBool>,
    ok: Arc<AtomicUsize>,
    outcomes: Arc<Mutex<Vec<Outcome>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

const ENVIRONMENTS: usize = 4;

/// `ENVIRONMENTS` warm execution environments, each booking a new slot
/// every 25 ms until stopped.
async fn start_load(url: &str, tenant: Uuid, users: [Uuid; 3]) -> Load {
    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicUsize::new(0));
    let outcomes = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for env in 0..ENVIRONMENTS {
        let state = state_at(url).await;
        let (stop, ok, outcomes) = (stop.clone(), ok.clone(), outcomes.clone());
        let tok = token(users[env % users.len()]);
        tasks.push(tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::SeqCst) {
                let slot = format!("load-{env}-{i}");
                i += 1;
                let body = json!({"slot_id": slot, "user_name": "Ada Patient", "user_email": "ada@example.com"});
                let req =
                    json_request(Route::Book, tenant, Some(&tok), &Target::default(), Some(&body));
                let started = Instant::now();
                let resp = book::handler(&state, req).await;
                let status = resp.status().as_u16();
                if status == 201 {
                    ok.fetch_add(1, Ordering::SeqCst);
                }
                outcomes.lock().await.push(Outcome {
                    env,
                    slot,
                    status,
                    problem: is_problem(&resp),
                    retry_after: resp.headers().contains_key("retry-after"),
                    started,
                    body: body_text(&resp),
                });
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        }));
    }
    Load {
        stop,
        ok,
        outcomes,
        tasks,
    }
}

impl Load {
    /// Waits (bounded) for `more` further 201s.
    async fn successes(&self, more: usize, what: &str) {
        let target = self.ok.load(Ordering::SeqCst) + more;
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.ok.load(Ordering::SeqCst) < target {
            assert!(
                Instant::now() < deadline,
                "{what}: no {more} successes within 30 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn finish(self) -> Vec<Outcome> {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(15), t).await;
        }
        std::mem::take(&mut *self.outcomes.lock().await)
    }
}

/// Waits (bounded) until a fresh connection through `url` answers.
async fn wait_ready(url: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ok = async {
            let (c, conn) = tokio_postgres::connect(url, NoTls).await.ok()?;
            tokio::spawn(conn);
            c.simple_query("SELECT 1").await.ok()
        };
        if tokio::time::timeout(Duration::from_secs(2), ok)
            .await
            .ok()
            .flatten()
            .is_some()
        {
            return;
        }
        assert!(Instant::now() < deadline, "{url} did not recover in 30 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Checks the outcomes against the database and prints the figures.
async fn verify(
    name: &str,
    outcomes: &[Outcome],
    recoveries: &[(&str, Instant)],
    db: &tokio_postgres::Client,
    tenant: Uuid,
) {
    let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
    for o in outcomes {
        *statuses.entry(o.status).or_default() += 1;
    }
    let class = |lo: u16| -> usize { statuses.range(lo..lo + 100).map(|(_, n)| n).sum() };
    let stored: BTreeSet<String> = db
        .query(
            "SELECT slot_id FROM bookings WHERE tenant_id = $1",
            &[&tenant],
        )
        .await
        .expect("stored")
        .iter()
        .map(|r| r.get(0))
        .collect();
    let answered_2xx: BTreeSet<&str> = outcomes
        .iter()
        .filter(|o| o.status == 201)
        .map(|o| o.slot.as_str())
        .collect();
    let missing: Vec<&&str> = answered_2xx
        .iter()
        .filter(|s| !stored.contains(**s))
        .collect();
    let landed_after_503 = outcomes
        .iter()
        .filter(|o| o.status == 503 && stored.contains(&o.slot))
        .count();
    eprintln!(
        "fault run {name}: {} requests sent from {ENVIRONMENTS} warm environments: 2xx {}, 4xx {}, 5xx {} \
         (503 {}), statuses {statuses:?}; rows verified {} of {} answered 2xx present \
         ({} rows stored; {landed_after_503} of the 503s had committed before the connection dropped)",
        outcomes.len(),
        class(200),
        class(400),
        class(500),
        statuses.get(&503).copied().unwrap_or(0),
        answered_2xx.len() - missing.len(),
        answered_2xx.len(),
        stored.len(),
    );
    assert!(
        missing.is_empty(),
        "answered 201 but not stored: {missing:?}"
    );
    for o in outcomes {
        assert!(
            o.status == 201 || o.status == 503,
            "only 201 or 503 expected, got {}: {}",
            o.status,
            o.body
        );
        if o.status == 503 {
            assert!(o.problem, "503 not problem+json: {}", o.body);
            assert!(o.retry_after, "503 without Retry-After: {}", o.body);
        }
    }
    assert!(
        statuses.get(&503).copied().unwrap_or(0) > 0,
        "the outage was seen by no request"
    );
    // The first request each warm environment started after a recovery succeeded.
    for (what, at) in recoveries {
        for env in 0..ENVIRONMENTS {
            let first = outcomes
                .iter()
                .filter(|o| o.env == env && o.started >= *at)
                .min_by_key(|o| o.started)
                .unwrap_or_else(|| panic!("environment {env} sent nothing after {what}"));
            assert_eq!(
                first.status, 201,
                "environment {env}: first request after {what} on the same warm state: {}",
                first.body
            );
        }
    }
}

/// PgBouncer restarted mid-run, in front of the shared Postgres.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pgbouncer_restart_mid_load_loses_no_acknowledged_write() {
    let db = TestDb::new().await;
    let t = db.tenant().await;
    let upstream: tokio_postgres::Config = admin_url().parse().expect("admin url");
    let upstream_port = upstream.get_ports().first().copied().unwrap_or(5432);
    let bouncer = PgBouncer::start(upstream_port);
    let url = bouncer.url(&db.name);
    wait_ready(&url).await;
    let load = start_load(&url, t.id, [t.member, t.other_member, t.admin]).await;
    load.successes(20, "before").await;

    let down = Instant::now();
    tokio::task::block_in_place(|| bouncer.stop());
    tokio::time::sleep(Duration::from_millis(1500)).await;
    tokio::task::block_in_place(|| bouncer.run());
    wait_ready(&url).await;
    let recovered = Instant::now();
    eprintln!(
        "fault run pgbouncer: outage {:.0} ms",
        (recovered - down).as_secs_f64() * 1000.0
    );
    load.successes(20, "after the PgBouncer restart").await;
    let outcomes = load.finish().await;
    verify(
        "pgbouncer restart",
        &outcomes,
        &[("the PgBouncer restart", recovered)],
        &db.admin().await,
        t.id,
    )
    .await;
}

/// PgBouncer restarted, then Postgres restarted, mid-run: a private
/// cluster behind a private PgBouncer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pgbouncer_then_postgres_restarts_mid_load_lose_no_acknowledged_write() {
    let Some(bin) = pg_bin_dir() else {
        eprintln!("SKIPPED: no initdb under /usr/lib/postgresql/*/bin");
        return;
    };
    let cluster = tokio::task::block_in_place(|| Cluster::init(bin));
    let admin = connect(&cluster.url("postgres")).await;
    admin
        .batch_execute("CREATE DATABASE faults")
        .await
        .expect("create db");
    migrate::up(&cluster.url("faults"), &migrate::default_dir())
        .await
        .expect("migrate");
    let db = connect(&cluster.url("faults")).await;
    let (tenant, users) = (
        Uuid::new_v4(),
        [Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4()],
    );
    db.execute(
        "INSERT INTO tenants (id, name) VALUES ($1, 'Fault Clinic')",
        &[&tenant],
    )
    .await
    .expect("tenant");
    for u in users {
        db.execute(
            "INSERT INTO tenant_users (tenant_id, user_id, role) VALUES ($1, $2, 'member')",
            &[&tenant, &u],
        )
        .await
        .expect("member");
    }
    drop(db);
    drop(admin);

    let bouncer = PgBouncer::start(cluster.port);
    let url = bouncer.url("faults");
    wait_ready(&url).await;
    let load = start_load(&url, tenant, users).await;
    load.successes(20, "before").await;

    tokio::task::block_in_place(|| bouncer.stop());
    tokio::time::sleep(Duration::from_millis(1500)).await;
    tokio::task::block_in_place(|| bouncer.run());
    wait_ready(&url).await;
    let bouncer_back = Instant::now();
    load.successes(20, "after the PgBouncer restart").await;

    let down = Instant::now();
    tokio::task::block_in_place(|| cluster.stop("fast"));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    tokio::task::block_in_place(|| cluster.start());
    wait_ready(&url).await;
    let pg_back = Instant::now();
    eprintln!(
        "fault run postgres: outage {:.0} ms",
        (pg_back - down).as_secs_f64() * 1000.0
    );
    load.successes(20, "after the Postgres restart").await;
    let outcomes = load.finish().await;
    let db = connect(&cluster.url("faults")).await;
    verify(
        "pgbouncer then postgres restart",
        &outcomes,
        &[
            ("the PgBouncer restart", bouncer_back),
            ("the Postgres restart", pg_back),
        ],
        &db,
        tenant,
    )
    .await;
    drop(db);
    drop(bouncer);
    drop(cluster);
}
