//! The bench command (`scripts/bench.sh` sets up the services and runs it).
//!
//! ```text
//! bench [--iterations N] [--throughput-secs S] [--envs N] [--cold-starts N]
//!       [--rt-delay-ms MS] [--only stage,stage...]
//! ```
//! Stages: round-trips, warm, cold, throughput, size, explain, phi.
//!
//! Every stage that runs handlers in-process runs in a child process of this
//! binary (`bench child ...`): the functions print a metrics line per
//! invocation on stdout, which the child sends to /dev/null, and the warm
//! child's peak RSS (`VmHWM`) is that function's alone.
//!
//! Environment (scripts/bench.sh sets it): `TEST_ADMIN_URL`, `TEST_POOLER_URL`
//! (the bench's PgBouncer, pool 20), `TEST_TEMPLATE_DB` (migrated template),
//! moto's `AWS_*`, `BENCH_RELEASE_DIR` (default `target/release`),
//! `BENCH_PHI_REPORT` (output of scripts/phi-eval.sh), `BENCH_OUT_DIR`
//! (default `target/bench`).

mod capture;
mod functions;
mod runtime_api;

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use functions::{Env, Function, micros, pct, sorted};
use integration_tests::proxy::RoundTripProxy;
use integration_tests::{TestDb, admin_url, connect, pooler_addr};
use serde_json::{Value, json};
use uuid::Uuid;

const WARMUP: usize = 200;

struct Opts {
    iterations: usize,
    throughput_secs: u64,
    envs: usize,
    cold_starts: usize,
    rt_delay_ms: u64,
    durable: bool,
    only: Option<Vec<String>>,
}

impl Opts {
    fn parse(args: &[String]) -> Result<Self> {
        let mut o = Opts {
            iterations: 10_000,
            throughput_secs: 30,
            envs: 200,
            cold_starts: 20,
            rt_delay_ms: 5,
            durable: false,
            only: None,
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let mut val = || it.next().with_context(|| format!("{a} needs a value"));
            match a.as_str() {
                "--iterations" => o.iterations = val()?.parse()?,
                "--throughput-secs" => o.throughput_secs = val()?.parse()?,
                "--envs" => o.envs = val()?.parse()?,
                "--cold-starts" => o.cold_starts = val()?.parse()?,
                "--rt-delay-ms" => o.rt_delay_ms = val()?.parse()?,
                "--durable" => o.durable = true,
                "--only" => o.only = Some(val()?.split(',').map(str::to_owned).collect()),
                "-h" | "--help" => {
                    println!(
                        "bench [--iterations N(10000)] [--throughput-secs S(30)] [--envs N(200)] \
                         [--cold-starts N(20)] [--rt-delay-ms MS(5)] [--durable] \
                         [--only round-trips,warm,cold,throughput,size,explain,phi]"
                    );
                    std::process::exit(0);
                }
                other => bail!("unknown argument {other} (try --help)"),
            }
        }
        Ok(o)
    }

    fn wants(&self, stage: &str) -> bool {
        self.only
            .as_ref()
            .is_none_or(|o| o.iter().any(|s| s == stage))
    }
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("child") {
        capture::install();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        if args.get(1).map(String::as_str) == Some("throughput") {
            // Many environments at once: use both cores.
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            return rt.block_on(child(&args[1..]));
        }
        return rt.block_on(child(&args[1..]));
    }
    let opts = Opts::parse(&args)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(orchestrate(opts))
}

// ------------------------------------------------------------------ children --

/// A database of the bench's that this process must not drop.
fn borrowed_db(name: &str) -> std::mem::ManuallyDrop<TestDb> {
    std::mem::ManuallyDrop::new(TestDb {
        name: name.to_owned(),
    })
}

async fn child(args: &[String]) -> Result<()> {
    let arg = |i: usize| {
        args.get(i)
            .map(String::as_str)
            .with_context(|| format!("child: argument {i} missing"))
    };
    let out = PathBuf::from(arg(args.len().saturating_sub(1))?);
    let result = match arg(0)? {
        "round-trips" => round_trips(&borrowed_db(arg(1)?), arg(2)?.parse()?).await?,
        "warm" => {
            let f = Function::parse(arg(1)?).context("unknown function")?;
            warm(&borrowed_db(arg(2)?), f, arg(3)?.parse()?).await?
        }
        "throughput" => {
            throughput(&borrowed_db(arg(1)?), arg(2)?.parse()?, arg(3)?.parse()?).await?
        }
        "explain" => explain(&borrowed_db(arg(1)?)).await?,
        other => bail!("unknown child stage {other}"),
    };
    std::fs::write(&out, serde_json::to_vec_pretty(&result)?)?;
    Ok(())
}

/// Round trips per invocation, counted by the harness's proxy placed between
/// each function and PgBouncer, with `delay_ms` added to each.
async fn round_trips(db: &TestDb, delay_ms: u64) -> Result<Value> {
    let delay = Duration::from_millis(delay_ms);
    let proxy = RoundTripProxy::start(pooler_addr(), delay).await;
    let url = format!("postgres://postgres@{}/{}", proxy.addr, db.name);
    let tenant = db.tenant().await;
    let mut out = serde_json::Map::new();
    for f in Function::ALL {
        let env = Env::new(db, f, url.clone(), 2, Some(tenant)).await?;
        // One unmeasured invocation (first use of the connection), then the measured one.
        env.invoke(0).await?;
        proxy.reset();
        let started = Instant::now();
        let status = env.invoke(1).await?;
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        out.insert(
            f.name().to_owned(),
            json!({"round_trips": proxy.round_trips(), "ms": ms, "status": status}),
        );
    }
    Ok(Value::Object(out))
}

fn vm_hwm_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// `iterations` warm invocations of `f` in-process through PgBouncer.
async fn warm(db: &TestDb, f: Function, iterations: usize) -> Result<Value> {
    let env = Env::new(db, f, db.pooler_url(), WARMUP + iterations, None).await?;
    for i in 0..WARMUP {
        env.invoke(i).await?;
    }
    let _ = capture::take_last();
    let mut wall = Vec::with_capacity(iterations);
    let mut own = Vec::with_capacity(iterations);
    let mut dbt = Vec::with_capacity(iterations);
    let mut errors = 0usize;
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    for i in WARMUP..WARMUP + iterations {
        let (status, elapsed) = if f.is_http() {
            let req = env.request(i)?;
            let started = Instant::now();
            let resp = env.call(req).await;
            (resp.status().as_u16(), started.elapsed())
        } else {
            let started = Instant::now();
            let s = env.invoke(i).await?;
            (s, started.elapsed())
        };
        *statuses.entry(status).or_default() += 1;
        if !(200..300).contains(&status) {
            errors += 1;
        }
        let w = micros(elapsed);
        wall.push(w);
        if let Some((_latency_ms, db_ms)) = capture::take_last() {
            let d = db_ms * 1000.0;
            dbt.push(d);
            own.push((w - d).max(0.0));
        }
    }
    let (wall, own, dbt) = (sorted(wall), sorted(own), sorted(dbt));
    Ok(json!({
        "function": f.name(),
        "iterations": iterations,
        "p50_us": pct(&wall, 0.5), "p99_us": pct(&wall, 0.99), "p999_us": pct(&wall, 0.999),
        "own_p50_us": pct(&own, 0.5), "own_p99_us": pct(&own, 0.99),
        "db_p50_us": pct(&dbt, 0.5),
        "errors": errors,
        "statuses": statuses.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
        "vm_hwm_kb": vm_hwm_kb(),
    }))
}

/// `envs` environments, each its own state and connection, booking distinct
/// slots through PgBouncer for `secs` seconds.
async fn throughput(db: &TestDb, envs: usize, secs: u64) -> Result<Value> {
    let tenant = db.tenant().await;
    let url = db.pooler_url();
    let mut states = Vec::with_capacity(envs);
    for chunk in (0..envs).collect::<Vec<_>>().chunks(50) {
        let made = futures::future::join_all(
            chunk
                .iter()
                .map(|_| Env::new(db, Function::Book, url.clone(), 0, Some(tenant))),
        )
        .await;
        for e in made {
            states.push(e?);
        }
    }
    let started = Instant::now();
    let deadline = started + Duration::from_secs(secs);
    let mut tasks = Vec::with_capacity(envs);
    for env in states {
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0usize;
            let mut i = 0usize;
            while Instant::now() < deadline {
                let Ok(req) = env.request(i) else {
                    errors += 1;
                    break;
                };
                i += 1;
                let t = Instant::now();
                let resp = env.call(req).await;
                lat.push(micros(t.elapsed()));
                if resp.status().as_u16() != 201 {
                    errors += 1;
                }
            }
            (lat, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0usize;
    for t in tasks {
        let (lat, e) = t.await?;
        all.extend(lat);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let ok = all.len().saturating_sub(errors);
    let all = sorted(all);
    Ok(json!({
        "envs": envs, "secs": elapsed, "requests": all.len(), "ok": ok, "errors": errors,
        "rate": ok as f64 / elapsed, "p50_us": pct(&all, 0.5), "p99_us": pct(&all, 0.99),
    }))
}

/// Each function's statement with auto_explain's plan, captured over a direct
/// connection (PgBouncer drops startup options) after the warm runs filled
/// the tables and with enough tenants that a sequential scan is not cheaper.
async fn explain(db: &TestDb) -> Result<Value> {
    let admin = db.admin().await;
    admin
        .batch_execute(
            "INSERT INTO public.tenants (id, name) SELECT gen_random_uuid(), 'Filler ' || g FROM generate_series(1, 5000) g;
             INSERT INTO public.tenant_users (tenant_id, user_id, role) SELECT id, gen_random_uuid(), 'member' FROM public.tenants;
             INSERT INTO public.products (tenant_id, sku, name, unit_price, currency, active) SELECT id, 'FILLER-1', 'Filler', 1, 'USD', true FROM public.tenants ON CONFLICT DO NOTHING;
             ANALYZE;",
        )
        .await
        .context("filler tenants")?;
    let options = "-c session_preload_libraries=auto_explain -c auto_explain.log_min_duration=0 \
                   -c auto_explain.log_nested_statements=on -c auto_explain.log_analyze=off \
                   -c client_min_messages=log";
    let url = format!(
        "{}?options={}",
        db.direct_url(),
        options.replace(' ', "%20").replace('=', "%3D")
    );
    let tenant = db.tenant().await;
    let mut out = serde_json::Map::new();
    for f in Function::ALL {
        let env = Env::new(db, f, url.clone(), 2, Some(tenant)).await?;
        env.invoke(0).await?;
        let _ = capture::take_notices();
        let status = env.invoke(1).await?;
        let plans: Vec<String> = capture::take_notices()
            .into_iter()
            .filter(|n| n.contains("plan:"))
            .collect();
        let mut scans = Vec::new();
        for p in &plans {
            for line in p.lines() {
                let l = line.trim().trim_start_matches("->").trim();
                if l.contains(" Scan ") || l.starts_with("Conflict Arbiter Indexes") {
                    let l = l.split("  (cost").next().unwrap_or(l).to_owned();
                    if !scans.contains(&l) {
                        scans.push(l);
                    }
                }
            }
        }
        out.insert(
            f.name().to_owned(),
            json!({"status": status, "scans": scans, "plans": plans}),
        );
    }
    Ok(Value::Object(out))
}

// -------------------------------------------------------------- orchestrator --

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn out_dir() -> PathBuf {
    std::env::var_os("BENCH_OUT_DIR").map_or_else(|| root().join("target/bench"), PathBuf::from)
}

fn release_dir() -> PathBuf {
    std::env::var_os("BENCH_RELEASE_DIR")
        .map_or_else(|| root().join("target/release"), PathBuf::from)
}

async fn run_child(args: &[&str]) -> Result<Value> {
    let out = out_dir().join(format!("child-{}.json", Uuid::new_v4().simple()));
    let exe = std::env::current_exe()?;
    let status = tokio::process::Command::new(exe)
        .arg("child")
        .args(args)
        .arg(&out)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .status()
        .await?;
    if !status.success() {
        bail!("child {args:?} failed: {status}");
    }
    let v = serde_json::from_slice(&std::fs::read(&out)?)?;
    let _ = std::fs::remove_file(&out);
    Ok(v)
}

fn stage<T>(name: &str, r: Result<T>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(e) => {
            eprintln!("bench: stage {name} failed: {e:#}");
            None
        }
    }
}

fn log(msg: &str) {
    eprintln!("==> bench: {msg}");
}

async fn orchestrate(o: Opts) -> Result<()> {
    std::fs::create_dir_all(out_dir())?;
    let template = std::env::var("TEST_TEMPLATE_DB").unwrap_or_else(|_| "bench_template".into());
    let name = format!("bench_{}", Uuid::new_v4().simple());
    let admin = connect(&admin_url()).await;
    admin
        .batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {template}"))
        .await
        .with_context(|| format!("creating {name} from {template}"))?;
    // Dropped (WITH FORCE) at the end.
    let db = TestDb { name: name.clone() };
    if !o.durable {
        // Commits wait for no disk flush: the figures are the functions' and
        // the pooler's, not the shared machine's fsync (--durable keeps it).
        admin
            .batch_execute(&format!(
                "ALTER DATABASE {name} SET synchronous_commit = off"
            ))
            .await?;
    }
    log(&format!(
        "database {name} (from {template}), pooler {}",
        db.pooler_url()
    ));
    let mut report = serde_json::Map::new();
    let started = Instant::now();

    if o.wants("round-trips") {
        log(&format!(
            "round trips ({} ms added per round trip)",
            o.rt_delay_ms
        ));
        if let Some(v) = stage(
            "round-trips",
            run_child(&["round-trips", &name, &o.rt_delay_ms.to_string()]).await,
        ) {
            report.insert("round_trips".into(), v);
        }
    }
    if o.wants("warm") {
        let mut warm = serde_json::Map::new();
        for f in Function::ALL {
            log(&format!("warm: {} x {}", f.name(), o.iterations));
            if let Some(v) = stage(
                "warm",
                run_child(&["warm", f.name(), &name, &o.iterations.to_string()]).await,
            ) {
                warm.insert(f.name().into(), v);
            }
        }
        report.insert("warm".into(), Value::Object(warm));
    }
    if o.wants("cold") {
        log(&format!(
            "cold init: {} starts of the release book",
            o.cold_starts
        ));
        if let Some(v) = stage("cold", cold(&db, o.cold_starts).await) {
            report.insert("cold".into(), v);
        }
    }
    if o.wants("throughput") {
        log(&format!(
            "throughput: {} environments booking for {} s",
            o.envs, o.throughput_secs
        ));
        if let Some(v) = stage(
            "throughput",
            run_child(&[
                "throughput",
                &name,
                &o.envs.to_string(),
                &o.throughput_secs.to_string(),
            ])
            .await,
        ) {
            report.insert("throughput".into(), v);
        }
        log(&format!(
            "pgbench: -c {} -j 2 -T {} -M simple",
            o.envs, o.throughput_secs
        ));
        if let Some(v) = stage("pgbench", pgbench(&db, o.envs, o.throughput_secs).await) {
            report.insert("pgbench".into(), v);
        }
    }
    if o.wants("size") {
        report.insert("size".into(), sizes());
    }
    if o.wants("explain") {
        log("EXPLAIN (auto_explain) of each function's statements");
        if let Some(v) = stage("explain", run_child(&["explain", &name]).await) {
            report.insert("explain".into(), v);
        }
    }
    if o.wants("phi")
        && let Some(v) = stage("phi", phi())
    {
        report.insert("phi".into(), v);
    }
    let report = Value::Object(report);
    let table = render(&report, &o);
    let mut explain_text = String::new();
    if let Some(ex) = report.get("explain").and_then(Value::as_object) {
        for (f, v) in ex {
            let _ = writeln!(explain_text, "## {f}");
            for p in v["plans"].as_array().into_iter().flatten() {
                let _ = writeln!(explain_text, "{}\n", p.as_str().unwrap_or(""));
            }
        }
        std::fs::write(out_dir().join("explain.txt"), &explain_text)?;
    }
    std::fs::write(
        out_dir().join("report.json"),
        serde_json::to_vec_pretty(&report)?,
    )?;
    std::fs::write(out_dir().join("report.md"), &table)?;
    println!("{table}");
    log(&format!(
        "done in {:.0} s; {} (report.json, report.md, explain.txt)",
        started.elapsed().as_secs_f64(),
        out_dir().display()
    ));
    Ok(())
}

/// The raw `events/book.json` for a fresh slot of `tenant`'s member.
fn book_event_json(tenant: &integration_tests::Tenant, slot: &str) -> Result<String> {
    let text = integration_tests::event_text("book")
        .replace(integration_tests::EVENT_TENANT, &tenant.id.to_string())
        .replace(
            integration_tests::EVENT_TOKEN,
            &integration_tests::token(tenant.member),
        );
    let mut v: Value = serde_json::from_str(&text)?;
    v["body"] = Value::String(
        json!({"slot_id": slot, "user_name": "Ada Patient", "user_email": "ada@example.com"})
            .to_string(),
    );
    Ok(v.to_string())
}

async fn cold(db: &TestDb, starts: usize) -> Result<Value> {
    let bin = release_dir().join("book");
    runtime_api::require(&bin)?;
    let pooler = pooler_addr();
    let sm = shared::secrets::client_from_env();
    let id = Uuid::new_v4().simple().to_string();
    let db_secret = json!({
        "username": "postgres", "password": "", "host": pooler.ip().to_string(),
        "port": pooler.port(), "dbname": db.name,
    });
    let db_arn = sm
        .create_secret()
        .name(format!("bench/{id}/db"))
        .secret_string(db_secret.to_string())
        .send()
        .await
        .context("creating the DB secret in moto")?
        .arn
        .context("no ARN")?;
    let jwt_arn = sm
        .create_secret()
        .name(format!("bench/{id}/jwt"))
        .secret_string(json!({"jwt_secret": integration_tests::JWT_SECRET}).to_string())
        .send()
        .await
        .context("creating the JWT secret in moto")?
        .arn
        .context("no ARN")?;
    let mut env: Vec<(String, String)> = [
        ("AWS_LAMBDA_FUNCTION_NAME", "book"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "bench"),
        ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/book"),
        ("RUST_LOG", "info"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    env.push(("DB_SECRET_ARN".into(), db_arn));
    env.push(("JWT_SECRET_ARN".into(), jwt_arn));
    // As template.yaml sets it (there the bundle of provided.al2023): the TLS
    // stacks read one CA file instead of walking the certificate directory.
    let bundle = "/etc/ssl/certs/ca-certificates.crt";
    if std::path::Path::new(bundle).exists() {
        env.push(("SSL_CERT_FILE".into(), bundle.into()));
    }
    // Experiments (BENCHMARKS.md): BENCH_COLD_ENV="K=V,K=V" adds to or
    // overrides the function's environment; `K=` removes K.
    if let Ok(extra) = std::env::var("BENCH_COLD_ENV") {
        for kv in extra.split(',').filter(|s| !s.is_empty()) {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            env.retain(|(name, _)| name != k);
            if !v.is_empty() {
                env.push((k.to_owned(), v.to_owned()));
            }
        }
    }
    let tenant = db.tenant().await;
    let mut init = Vec::new();
    let mut first = Vec::new();
    let mut failures = Vec::new();
    for i in 0..starts {
        let event = book_event_json(&tenant, &format!("cold-{i}"))?;
        match runtime_api::cold_start(&bin, &env, event).await {
            Ok((a, b)) => {
                init.push(micros(a) / 1000.0);
                first.push(micros(b) / 1000.0);
            }
            Err(e) => failures.push(format!("{e:#}")),
        }
    }
    let booked: i64 = db
        .admin()
        .await
        .query_one(
            "SELECT count(*) FROM public.bookings WHERE tenant_id = $1",
            &[&tenant.id],
        )
        .await?
        .get(0);
    let (init, first) = (sorted(init), sorted(first));
    Ok(json!({
        "binary": bin.display().to_string(), "starts": starts, "ok": first.len(),
        "failures": failures, "bookings_written": booked,
        "init_p50_ms": pct(&init, 0.5), "first_response_p50_ms": pct(&first, 0.5),
        "first_response_max_ms": first.last().copied(),
    }))
}

async fn pgbench(db: &TestDb, clients: usize, secs: u64) -> Result<Value> {
    let admin = db.admin().await;
    admin
        .batch_execute(
            "DROP TABLE IF EXISTS public.bench_raw; \
             CREATE TABLE public.bench_raw (LIKE public.bookings INCLUDING ALL)",
        )
        .await?;
    let tenant = Uuid::new_v4();
    let user = Uuid::new_v4();
    let dir = out_dir().join(format!("pgbench-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)?;
    let script = dir.join("insert.sql");
    std::fs::write(
        &script,
        format!(
            "\\set s random(1, 9000000000000000000)\n\
             INSERT INTO public.bench_raw (tenant_id, slot_id, user_id, user_name, user_email, status) \
             VALUES ('{tenant}', 'pg-' || :s, '{user}', 'Ada Patient', 'ada@example.com', 'confirmed') \
             RETURNING id, created_at;\n"
        ),
    )?;
    let addr = pooler_addr();
    let prefix = dir.join("log");
    // pgbench runs as the postgres user when we are root (it may not write
    // into a root-owned directory then): open up the directory.
    let _ = std::process::Command::new("chmod")
        .arg("777")
        .arg(&dir)
        .status();
    let output = tokio::process::Command::new("pgbench")
        .args(["-n", "-M", "simple", "-j", "2", "-l"])
        .arg(format!("--log-prefix={}", prefix.display()))
        .args(["-c", &clients.to_string(), "-T", &secs.to_string()])
        .args(["-h", &addr.ip().to_string(), "-p", &addr.port().to_string()])
        .args(["-U", "postgres", "-f"])
        .arg(&script)
        .arg(&db.name)
        .output()
        .await
        .context("running pgbench")?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    if !output.status.success() {
        bail!("pgbench failed: {stderr}{stdout}");
    }
    let grab = |key: &str| {
        stdout
            .lines()
            .find_map(|l| l.trim().strip_prefix(key))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse::<f64>().ok())
    };
    let tps = grab("tps = ");
    let failed = grab("number of failed transactions: ").unwrap_or(0.0);
    let mut lat = Vec::new();
    for entry in std::fs::read_dir(&dir)? {
        let p = entry?.path();
        if p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("log"))
        {
            for line in std::fs::read_to_string(&p)?.lines() {
                if let Some(us) = line.split_whitespace().nth(2).and_then(|v| v.parse().ok()) {
                    lat.push(us);
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    let rows: i64 = admin
        .query_one("SELECT count(*) FROM public.bench_raw", &[])
        .await?
        .get(0);
    let lat = sorted(lat);
    Ok(json!({
        "tps": tps, "failed": failed, "rows": rows, "p50_us": pct(&lat, 0.5), "p99_us": pct(&lat, 0.99),
        "summary": stdout.lines().filter(|l| l.starts_with("tps") || l.starts_with("latency") || l.starts_with("number of")).collect::<Vec<_>>(),
    }))
}

fn sizes() -> Value {
    let mut out = serde_json::Map::new();
    for f in Function::ALL {
        let p = release_dir().join(f.name());
        out.insert(
            f.name().into(),
            std::fs::metadata(&p).map_or(Value::Null, |m| json!(m.len())),
        );
    }
    Value::Object(out)
}

fn phi() -> Result<Value> {
    let path = std::env::var_os("BENCH_PHI_REPORT")
        .map(PathBuf::from)
        .context("BENCH_PHI_REPORT not set (scripts/bench.sh runs scripts/phi-eval.sh)")?;
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let mbps = text
        .lines()
        .find_map(|l| l.strip_prefix("throughput (mask, one thread): "))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse::<f64>().ok());
    let p99 = text
        .lines()
        .find(|l| l.starts_with("latency per ~4 KB message"))
        .and_then(|l| l.split("p99 ").nth(1))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse::<f64>().ok());
    Ok(json!({"mb_per_s": mbps, "p99_us_per_4kb": p99}))
}

// ------------------------------------------------------------------- table --

fn f1(v: &Value) -> String {
    v.as_f64().map_or_else(|| "—".into(), |x| format!("{x:.1}"))
}

fn verdict(ok: Option<bool>) -> &'static str {
    match ok {
        Some(true) => "ok",
        Some(false) => "MISSED",
        None => "not measured",
    }
}

fn render(r: &Value, o: &Opts) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "| stage | function | figure | target | verdict |");
    let _ = writeln!(s, "|---|---|---|---|---|");
    let mut row = |stage: &str, f: &str, fig: String, target: &str, ok: Option<bool>| {
        let _ = writeln!(s, "| {stage} | {f} | {fig} | {target} | {} |", verdict(ok));
    };
    for f in Function::ALL {
        let v = &r["round_trips"][f.name()];
        let n = v["round_trips"].as_u64();
        row(
            "round trips",
            f.name(),
            n.map_or("—".into(), |n| {
                format!(
                    "{n} ({} ms with {} ms added; status {})",
                    f1(&v["ms"]),
                    o.rt_delay_ms,
                    v["status"]
                )
            }),
            "1",
            n.map(|n| n == 1),
        );
    }
    for f in Function::ALL {
        let v = &r["warm"][f.name()];
        let measured = v["p50_us"].as_f64().is_some();
        row(
            "warm latency",
            f.name(),
            if measured {
                format!(
                    "p50 {} µs, p99 {} µs, p99.9 {} µs (db p50 {} µs; {} invocations, {} errors)",
                    f1(&v["p50_us"]),
                    f1(&v["p99_us"]),
                    f1(&v["p999_us"]),
                    f1(&v["db_p50_us"]),
                    v["iterations"],
                    v["errors"]
                )
            } else {
                "—".into()
            },
            "errors 0",
            measured.then(|| v["errors"].as_u64() == Some(0)),
        );
        let own = v["own_p50_us"].as_f64();
        row(
            "own overhead",
            f.name(),
            own.map_or("— (no invocation log line)".into(), |x| {
                format!("p50 {x:.1} µs, p99 {} µs", f1(&v["own_p99_us"]))
            }),
            "≤ 50 µs p50",
            own.map(|x| x <= 50.0),
        );
    }
    let c = &r["cold"];
    let cold = c["first_response_p50_ms"].as_f64();
    row(
        "cold init",
        "book",
        cold.map_or("—".into(), |x| {
            format!(
                "first response p50 {x:.1} ms (init done p50 {} ms; {} of {} starts ok)",
                f1(&c["init_p50_ms"]),
                c["ok"],
                c["starts"]
            )
        }),
        "≤ 15 ms",
        cold.map(|x| x <= 15.0 && c["ok"] == c["starts"]),
    );
    let t = &r["throughput"];
    let p = &r["pgbench"];
    let ratio = match (t["rate"].as_f64(), p["tps"].as_f64()) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    };
    row(
        "throughput",
        "book",
        t["rate"].as_f64().map_or("—".into(), |x| {
            format!(
                "{x:.0} bookings/s, {} environments, p99 {} ms",
                t["envs"],
                f1(&json!(t["p99_us"].as_f64().map(|v| v / 1000.0)))
            )
        }),
        "—",
        None,
    );
    row(
        "throughput",
        "pgbench",
        p["tps"].as_f64().map_or("—".into(), |x| {
            format!(
                "{x:.0} INSERT/s, p99 {} ms, {} failed",
                f1(&json!(p["p99_us"].as_f64().map(|v| v / 1000.0))),
                p["failed"]
            )
        }),
        "—",
        None,
    );
    row(
        "throughput",
        "ratio",
        ratio.map_or("—".into(), |x| format!("{x:.2}")),
        "≥ 0.7",
        ratio.map(|x| x >= 0.7),
    );
    row(
        "throughput",
        "errors",
        t["errors"].as_u64().map_or("—".into(), |e| e.to_string()),
        "0",
        t["errors"].as_u64().map(|e| e == 0),
    );
    for f in Function::ALL {
        let b = r["size"][f.name()].as_u64();
        row(
            "binary size",
            f.name(),
            b.map_or("— (not built)".into(), |b| {
                format!("{:.2} MB", b as f64 / 1_048_576.0)
            }),
            "≤ 6 MB",
            b.map(|b| b <= 6 * 1_048_576),
        );
    }
    for f in Function::ALL {
        let kb = r["warm"][f.name()]["vm_hwm_kb"].as_u64();
        row(
            "peak RSS",
            f.name(),
            kb.map_or("—".into(), |k| {
                format!("{:.1} MB (warm loop, VmHWM)", k as f64 / 1024.0)
            }),
            "≤ 20 MB",
            kb.map(|k| k <= 20 * 1024),
        );
    }
    for f in Function::ALL {
        let scans = r["explain"][f.name()]["scans"].as_array();
        let text = scans.map_or("—".into(), |a| {
            let v: Vec<&str> = a.iter().filter_map(Value::as_str).collect();
            if v.is_empty() {
                "no scan (insert only)".into()
            } else {
                v.join("; ")
            }
        });
        // A sequential scan of one of our tables fails the check; one of a
        // system catalog (create-partitions reads pg_inherits, a handful of
        // rows, where the planner rightly skips its index) does not.
        let seq = scans.map(|a| {
            !a.iter()
                .filter_map(Value::as_str)
                .any(|l| l.starts_with("Seq Scan") && !l.starts_with("Seq Scan on pg_"))
        });
        row("EXPLAIN", f.name(), text, "index scans only", seq);
    }
    let phi = &r["phi"];
    let mbps = phi["mb_per_s"].as_f64();
    let p99 = phi["p99_us_per_4kb"].as_f64();
    row(
        "PHI detector",
        "throughput",
        mbps.map_or("—".into(), |x| format!("{x:.1} MB/s (one thread)")),
        "≥ 100 MB/s",
        mbps.map(|x| x >= 100.0),
    );
    row(
        "PHI detector",
        "p99 per 4 KB",
        p99.map_or("—".into(), |x| format!("{x:.1} µs")),
        "< 1 ms",
        p99.map(|x| x < 1000.0),
    );
    s
}
