//! `phi-eval <eval.jsonl> [--misses N]`: per-type precision, recall and F1,
//! the share of PHI spans fully masked, false positives per 1,000
//! negative messages, single-thread throughput and p99 latency per 4 KB.
//!
//! Matching: a gold span is found when a finding of the same type overlaps
//! it; a finding is correct when it overlaps a gold span of its type. A
//! span is fully masked when findings of any type cover all of its
//! characters. Run in release (scripts/phi-eval.sh).
//!
//! `phi-eval <eval.jsonl> --rounds N` only masks every message N times and
//! prints nothing else: a fixed amount of work to profile, e.g. with
//! `valgrind --tool=callgrind --toggle-collect='*mask_rounds*'`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use phi::EntityType;
use serde::Deserialize;

#[derive(Deserialize)]
struct Gold {
    start: usize,
    end: usize,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
struct Message {
    slice: String,
    text: String,
    spans: Vec<Gold>,
}

#[derive(Default, Clone, Copy)]
struct Counts {
    tp_gold: usize,
    gold: usize,
    tp_found: usize,
    found: usize,
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let path = args
        .get(1)
        .context("usage: phi-eval <eval.jsonl> [--misses N]")?;
    let show_misses: usize = args
        .iter()
        .position(|a| a == "--misses")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let raw = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
    let msgs: Vec<Message> = raw
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()
        .context("parsing JSONL")?;
    phi::warm_up();
    if let Some(rounds) = args
        .iter()
        .position(|a| a == "--rounds")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse::<usize>().ok())
    {
        let bytes: usize = msgs.iter().map(|m| m.text.len()).sum();
        let sink = mask_rounds(&msgs, rounds);
        println!("{rounds} rounds over {bytes} bytes ({sink} findings)");
        return Ok(());
    }

    let mut per: BTreeMap<&'static str, Counts> = BTreeMap::new();
    let mut spans_total = 0usize;
    let mut spans_masked = 0usize;
    let mut neg_msgs = 0usize;
    let mut neg_findings = 0usize;
    let mut neg_msgs_flagged = 0usize;
    let mut misses_shown = 0usize;
    for m in &msgs {
        let findings = phi::detect(&m.text);
        if m.slice == "negative" {
            neg_msgs += 1;
            neg_findings += findings.len();
            if !findings.is_empty() {
                neg_msgs_flagged += 1;
                if misses_shown < show_misses {
                    misses_shown += 1;
                    let f: Vec<String> = findings
                        .iter()
                        .map(|f| {
                            let chars: String =
                                m.text.chars().skip(f.start).take(f.end - f.start).collect();
                            format!("{}={chars:?}", f.entity)
                        })
                        .collect();
                    println!("FP  {:?} -> {}", m.text, f.join(", "));
                }
            }
        }
        let gold: Vec<(usize, usize, EntityType)> = m
            .spans
            .iter()
            .filter_map(|g| EntityType::parse(&g.kind).map(|t| (g.start, g.end, t)))
            .collect();
        for &(s, e, t) in &gold {
            let c = per.entry(t.as_str()).or_default();
            c.gold += 1;
            if findings
                .iter()
                .any(|f| f.entity == t && f.start < e && f.end > s)
            {
                c.tp_gold += 1;
            } else if misses_shown < show_misses {
                misses_shown += 1;
                let chars: String = m.text.chars().skip(s).take(e - s).collect();
                let got: Vec<String> = findings
                    .iter()
                    .map(|f| format!("{}@{}..{}", f.entity, f.start, f.end))
                    .collect();
                println!(
                    "MISS {t} {chars:?} in {:?} got [{}]",
                    m.text,
                    got.join(", ")
                );
            }
            spans_total += 1;
            let covered = (s..e).all(|i| {
                m.text.chars().nth(i).is_none_or(char::is_whitespace)
                    || findings.iter().any(|f| f.start <= i && i < f.end)
            });
            if covered {
                spans_masked += 1;
            }
        }
        for f in &findings {
            let c = per.entry(f.entity.as_str()).or_default();
            c.found += 1;
            if gold
                .iter()
                .any(|&(s, e, t)| t == f.entity && f.start < e && f.end > s)
            {
                c.tp_found += 1;
            } else if m.slice != "negative" && misses_shown < show_misses {
                misses_shown += 1;
                let chars: String = m.text.chars().skip(f.start).take(f.end - f.start).collect();
                println!("WRONG {} {chars:?} in {:?}", f.entity, m.text);
            }
        }
    }

    println!();
    println!("| type | gold | found | precision | recall | F1 |");
    println!("|---|---:|---:|---:|---:|---:|");
    let mut all = Counts::default();
    for (t, c) in &per {
        let p = ratio(c.tp_found, c.found);
        let r = ratio(c.tp_gold, c.gold);
        println!(
            "| {t} | {} | {} | {} | {} | {} |",
            c.gold,
            c.found,
            fmt(p),
            fmt(r),
            fmt(f1(p, r))
        );
        all.gold += c.gold;
        all.found += c.found;
        all.tp_gold += c.tp_gold;
        all.tp_found += c.tp_found;
    }
    let (p, r) = (ratio(all.tp_found, all.found), ratio(all.tp_gold, all.gold));
    println!(
        "| **all** | {} | {} | {} | {} | {} |",
        all.gold,
        all.found,
        fmt(p),
        fmt(r),
        fmt(f1(p, r))
    );
    println!();
    println!(
        "PHI spans fully masked: {:.4} ({spans_masked}/{spans_total})",
        spans_masked as f64 / spans_total.max(1) as f64
    );
    println!(
        "false positives: {:.2} findings per 1,000 negative messages ({neg_findings} in {neg_msgs}; {neg_msgs_flagged} messages flagged)",
        neg_findings as f64 * 1000.0 / neg_msgs.max(1) as f64
    );

    // Throughput: every message, repeatedly, for at least two seconds.
    let bytes: usize = msgs.iter().map(|m| m.text.len()).sum();
    let started = Instant::now();
    let mut rounds = 0usize;
    let mut sink = 0usize;
    while started.elapsed() < Duration::from_secs(2) || rounds == 0 {
        sink += mask_rounds(&msgs, 1);
        rounds += 1;
    }
    let secs = started.elapsed().as_secs_f64();
    let mbps = (bytes * rounds) as f64 / secs / 1e6;
    println!(
        "throughput (mask, one thread): {mbps:.1} MB/s over {:.1} MB ({rounds} rounds, {sink} findings)",
        (bytes * rounds) as f64 / 1e6
    );

    // Latency: 4 KB messages made of consecutive set messages.
    let mut docs = Vec::new();
    let mut cur = String::new();
    for m in msgs.iter().cycle().take(msgs.len() * 2) {
        if cur.len() + m.text.len() + 1 > 4096 {
            docs.push(std::mem::take(&mut cur));
            if docs.len() >= 2000 {
                break;
            }
        }
        cur.push_str(&m.text);
        cur.push('\n');
    }
    if docs.is_empty() && !cur.is_empty() {
        docs.push(cur);
    }
    if docs.is_empty() {
        return Ok(());
    }
    let mut lat: Vec<Duration> = Vec::with_capacity(docs.len() * 3);
    for _ in 0..3 {
        for d in &docs {
            let t = Instant::now();
            sink += phi::mask(d).findings.len();
            lat.push(t.elapsed());
        }
    }
    lat.sort_unstable();
    let pct = |q: f64| lat[((lat.len() as f64 * q) as usize).min(lat.len() - 1)];
    println!(
        "latency per ~4 KB message (mask): p50 {:.1} µs, p99 {:.1} µs, max {:.1} µs ({} messages x3)",
        pct(0.5).as_secs_f64() * 1e6,
        pct(0.99).as_secs_f64() * 1e6,
        lat.last().map_or(0.0, |d| d.as_secs_f64() * 1e6),
        docs.len()
    );
    if sink == usize::MAX {
        println!();
    }
    Ok(())
}

/// Masks every message `rounds` times; returns the number of findings.
#[inline(never)]
fn mask_rounds(msgs: &[Message], rounds: usize) -> usize {
    let mut sink = 0;
    for _ in 0..rounds {
        for m in msgs {
            sink += std::hint::black_box(phi::mask(&m.text)).findings.len();
        }
    }
    sink
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        f64::NAN
    } else {
        a as f64 / b as f64
    }
}

fn f1(p: f64, r: f64) -> f64 {
    if p.is_nan() || r.is_nan() || p + r == 0.0 {
        f64::NAN
    } else {
        2.0 * p * r / (p + r)
    }
}

fn fmt(v: f64) -> String {
    if v.is_nan() {
        "–".into()
    } else {
        format!("{v:.4}")
    }
}
