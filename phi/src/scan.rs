//! The single pass: atoms, then recognisers at the few places they can match.

use crate::EntityType as T;
use crate::check;
use crate::words::{self, Word};

/// A resolved span in bytes.
pub struct Span {
    pub start: usize,
    pub end: usize,
    pub entity: T,
    pub confidence: f32,
    /// How many spans come after this one.
    pub left: usize,
}

#[derive(Clone, Copy)]
struct Cand {
    s: usize,
    e: usize,
    ty: T,
    prio: u8,
    conf: f32,
    /// Push order: the last tie-break of `resolve`'s sort.
    ord: u32,
}

const DIG: u8 = 1;
const ALPHA: u8 = 2;
const UP: u8 = 4;
const ALLUP: u8 = 8;
const NONASCII: u8 = 16;

#[derive(Clone, Copy)]
struct Atom {
    s: usize,
    e: usize,
    cls: u8,
    w: Word,
}

impl Atom {
    #[inline]
    fn digits_only(&self) -> bool {
        self.cls & (DIG | ALPHA) == DIG
    }
    #[inline]
    fn alpha_only(&self) -> bool {
        self.cls & (DIG | ALPHA) == ALPHA
    }
    #[inline]
    fn mixed(&self) -> bool {
        self.cls & (DIG | ALPHA) == (DIG | ALPHA)
    }
    #[inline]
    fn len(&self) -> usize {
        self.e - self.s
    }
    #[inline]
    fn has(&self, flag: u64) -> bool {
        self.w.flags & flag != 0
    }
}

// Byte flags: DIG, ALPHA, UP (upper-case letter), LO (lower-case letter), NA (non-ASCII).
const F_DIG: u8 = 1;
const F_ALPHA: u8 = 2;
const F_UP: u8 = 4;
const F_LO: u8 = 8;
const F_NA: u8 = 16;

const fn flag_table() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        t[i] = if c.is_ascii_digit() {
            F_DIG
        } else if c.is_ascii_lowercase() {
            F_ALPHA | F_LO
        } else if c.is_ascii_uppercase() {
            F_ALPHA | F_UP
        } else if c >= 0x80 {
            F_NA
        } else {
            0
        };
        i += 1;
    }
    t
}
static FLAGS: [u8; 256] = flag_table();

/// An atom's class (all but `UP`) from the byte flags of its characters.
const fn cls_table() -> [u8; 32] {
    let mut t = [0u8; 32];
    let mut acc = 0;
    while acc < 32 {
        let a = acc as u8;
        let mut cls = 0;
        if a & F_DIG != 0 {
            cls |= DIG;
        }
        if a & F_ALPHA != 0 {
            cls |= ALPHA;
        }
        if a & F_NA != 0 {
            cls |= NONASCII;
        }
        if a & F_UP != 0 && a & F_LO == 0 {
            cls |= ALLUP;
        }
        t[acc] = cls;
        acc += 1;
    }
    t
}
static CLS: [u8; 32] = cls_table();

#[cfg(test)]
fn tokenize(text: &str) -> Vec<Atom> {
    let mut atoms = Vec::new();
    tokenize_into(text, &mut atoms);
    atoms
}

/// The atoms of `text`, appended to `atoms` (cleared first).
#[inline(never)]
fn tokenize_into(text: &str, atoms: &mut Vec<Atom>) {
    let b = text.as_bytes();
    let n = b.len();
    atoms.clear();
    atoms.reserve(n / 5 + 4);
    let table = words::table();
    let mut i = 0;
    while i < n {
        // Skip separators.
        while i < n && FLAGS[b[i] as usize] == 0 {
            i += 1;
        }
        if i >= n {
            break;
        }
        let s = i;
        let mut acc = 0u8;
        // The fast path: ASCII letters and digits, one table load per byte.
        while let Some(&c) = b.get(i) {
            let f = FLAGS[c as usize];
            // Neither a digit nor an ASCII letter: a separator or non-ASCII.
            if f & (F_DIG | F_ALPHA) == 0 {
                break;
            }
            acc |= f;
            i += 1;
        }
        if i < n && FLAGS[b[i] as usize] == F_NA {
            // Non-ASCII: letters continue the atom, anything else ends it.
            loop {
                if i >= n {
                    break;
                }
                let f = FLAGS[b[i] as usize];
                if f == 0 {
                    break;
                }
                if f == F_NA {
                    let Some(c) = text[i..].chars().next() else {
                        break;
                    };
                    if !c.is_alphabetic() {
                        break;
                    }
                    acc |= F_ALPHA | F_NA | if c.is_uppercase() { F_UP } else { F_LO };
                    i += c.len_utf8();
                } else {
                    acc |= f;
                    i += 1;
                }
            }
            if i == s {
                // A non-ASCII character that is not a letter: a separator.
                i += text[i..].chars().next().map_or(1, char::len_utf8);
                continue;
            }
        }
        // The class from the byte flags seen (one table load), plus UP
        // when the first character is upper-case.
        let mut cls = CLS[usize::from(acc & 31)];
        let first = FLAGS[b[s] as usize];
        if first & F_UP != 0
            || (first == F_NA && text[s..].chars().next().is_some_and(char::is_uppercase))
        {
            cls |= UP;
        }
        let w = if cls & (DIG | ALPHA | NONASCII) == ALPHA && i - s <= 16 {
            // ASCII letters only: the tokenizer has checked every byte.
            words::lookup_in(table, b, s, i)
        } else {
            Word::default()
        };
        atoms.push(Atom { s, e: i, cls, w });
    }
}

struct Scanner<'t> {
    b: &'t [u8],
    a: Vec<Atom>,
    c: Vec<Cand>,
    /// The gaps inside the digit chain being read: `cg[x]` follows its
    /// group `x` (set by `chain`, read by the numeric recognisers).
    cg: [Gap; CHAIN],
}

/// The labels `labelled` reads a value after.
const LABEL_KINDS: u64 = words::MRN | words::PLAN | words::ACCT | words::DL;

/// The most digit groups one chain holds.
const CHAIN: usize = 10;

/// Buffers kept between calls on one thread, so a scan allocates nothing
/// once they have grown to the size of the messages seen.
#[derive(Default)]
struct Scratch {
    atoms: Vec<Atom>,
    cands: Vec<Cand>,
    taken: Vec<Cand>,
    needles: Vec<Needle>,
    added: Vec<Cand>,
    occ: Vec<(usize, usize)>,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

/// Buffers above this many elements are not kept for the next call.
const KEEP: usize = 1 << 14;

/// Finds, resolves and propagates: the spans of PHI in byte offsets.
#[cfg(test)]
pub fn scan(text: &str) -> Vec<Span> {
    let mut out = Vec::new();
    scan_each(text, |s| out.push(s));
    out
}

/// Finds, resolves and propagates: calls `f` with each span of PHI (byte
/// offsets), in text order.
pub fn scan_each(text: &str, f: impl FnMut(Span)) {
    let mut f = f;
    let run = |scratch: &mut Scratch, f: &mut dyn FnMut(Span)| {
        scan_with(text, scratch, f);
        if scratch.atoms.capacity() > KEEP {
            *scratch = Scratch::default();
        }
    };
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut scratch) => run(&mut scratch, &mut f),
        Err(_) => run(&mut Scratch::default(), &mut f),
    });
}

fn scan_with(text: &str, scratch: &mut Scratch, f: &mut dyn FnMut(Span)) {
    let mut atoms = std::mem::take(&mut scratch.atoms);
    tokenize_into(text, &mut atoms);
    let mut cands = std::mem::take(&mut scratch.cands);
    cands.clear();
    let mut sc = Scanner {
        b: text.as_bytes(),
        a: atoms,
        c: cands,
        cg: [Gap::None; CHAIN],
    };
    sc.emails();
    sc.walk();
    let Scanner {
        a, c: mut cands, ..
    } = sc;
    scratch.atoms = a;
    resolve(&mut cands, &mut scratch.taken);
    scratch.cands = cands;
    propagate(
        text,
        &mut scratch.taken,
        &mut scratch.needles,
        &mut scratch.added,
        &mut scratch.occ,
    );
    let count = scratch.taken.len();
    for (k, c) in scratch.taken.iter().enumerate() {
        f(Span {
            start: c.s,
            end: c.e,
            entity: c.ty,
            confidence: c.conf,
            left: count - k - 1,
        });
    }
}

/// Greedy by priority, then length: one finding per span. The accepted
/// spans, in text order, replace the contents of `taken`.
#[inline(never)]
fn resolve(c: &mut [Cand], taken: &mut Vec<Cand>) {
    taken.clear();
    if let [one] = c {
        // The common case: nothing to sort or compare.
        if one.e > one.s {
            taken.push(*one);
        }
        return;
    }
    if c.is_empty() {
        return;
    }
    // Push order breaks the last ties: the order of a stable sort.
    c.sort_unstable_by(|x, y| {
        y.prio
            .cmp(&x.prio)
            .then((y.e - y.s).cmp(&(x.e - x.s)))
            .then(x.s.cmp(&y.s))
            .then(x.ord.cmp(&y.ord))
    });
    // Accepted spans never overlap, so ordered by start they are ordered by
    // end too: a candidate overlaps one iff the first span ending after
    // its start begins before its end.
    if c.len() <= 48 {
        for cand in c.iter() {
            if cand.e > cand.s && taken.iter().all(|t| cand.e <= t.s || cand.s >= t.e) {
                taken.push(*cand);
            }
        }
        taken.sort_by_key(|t| t.s);
        return;
    }
    if c.len() <= 1024 {
        // `taken` kept sorted by start: a binary search finds the one span
        // that could overlap, and the insertion point.
        for cand in c.iter() {
            if cand.e <= cand.s {
                continue;
            }
            let at = taken.partition_point(|t| t.s < cand.e);
            if at == 0 || taken[at - 1].e <= cand.s {
                taken.insert(at, *cand);
            }
        }
        return;
    }
    let mut set: std::collections::BTreeMap<usize, Cand> = std::collections::BTreeMap::new();
    for cand in c.iter() {
        if cand.e <= cand.s {
            continue;
        }
        let before = set.range(..cand.e).next_back();
        if before.is_none_or(|(_, t)| t.e <= cand.s) {
            set.insert(cand.s, *cand);
        }
    }
    taken.extend(set.into_values());
}

/// `c` in `g`, for the short gaps between atoms (no call to `memchr`).
#[inline]
fn has_byte(g: &[u8], c: u8) -> bool {
    for &x in g {
        if x == c {
            return true;
        }
    }
    false
}

/// Two line breaks or a `;` between a label and its value: a new clause.
#[inline]
fn gap_ends_clause(g: &[u8]) -> bool {
    let mut lines = 0;
    for &c in g {
        if c == b';' {
            return true;
        }
        lines += usize::from(c == b'\n');
    }
    lines > 1
}

#[inline]
fn is_alnum(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c >= 0x80
}

/// A value to search for again: its byte span in the text, type, confidence.
#[derive(Clone, Copy)]
struct Needle {
    s: usize,
    e: usize,
    ty: T,
    conf: f32,
    /// The first three bytes (see `key3` in `propagate`), once known.
    k: u32,
}

/// Masks every other occurrence of a found value (and of each word of a
/// found name) too: a value the detector recognised once must not leak
/// where its context was missing.
#[inline(never)]
fn propagate(
    text: &str,
    spans: &mut Vec<Cand>,
    needles: &mut Vec<Needle>,
    added: &mut Vec<Cand>,
    occ: &mut Vec<(usize, usize)>,
) {
    if spans.is_empty() {
        return;
    }
    let b = text.as_bytes();
    needles.clear();
    added.clear();
    for c in spans.iter() {
        let raw = &text[c.s..c.e];
        if c.ty == T::Person {
            for w in raw.split(|ch: char| !ch.is_alphanumeric() && ch != '\'') {
                // `w` is a piece of `text`: its offset from their addresses.
                let ws = w.as_ptr() as usize - text.as_ptr() as usize;
                if w.chars().count() >= 3 && w.chars().next().is_some_and(char::is_uppercase) {
                    let wl = words::lookup(w.as_bytes());
                    if wl.flags & (words::STOP | words::FILLER | words::MONTH | words::LABELS) == 0
                    {
                        needles.push(Needle {
                            s: ws,
                            e: ws + w.len(),
                            ty: T::Person,
                            conf: 0.6,
                            k: 0,
                        });
                    }
                }
            }
        } else if raw.len() >= 4 && !matches!(c.ty, T::Age | T::UsZipCode) {
            needles.push(Needle {
                s: c.s,
                e: c.e,
                ty: c.ty,
                conf: c.conf * 0.9,
                k: 0,
            });
        }
    }
    let bytes_of = |n: &Needle| &b[n.s..n.e];
    // Every needle has at least 3 bytes: index them by their first three.
    let key3 = |w: &[u8]| u32::from(w[0]) | u32::from(w[1]) << 8 | u32::from(w[2]) << 16;
    let bit = |k: u32| (k.wrapping_mul(0x9E37_79B1) >> 20) as usize;
    needles.retain(|n| n.e - n.s >= 3);
    if needles.is_empty() {
        return;
    }
    // Needles were pushed in text order, so their start breaks the last
    // ties as a stable sort would: `dedup` keeps the first found.
    for n in needles.iter_mut() {
        n.k = key3(&b[n.s..n.e]);
    }
    needles.sort_unstable_by(|x, y| {
        x.k.cmp(&y.k)
            .then_with(|| bytes_of(x).cmp(bytes_of(y)))
            .then(x.s.cmp(&y.s))
    });
    needles.dedup_by(|x, y| b[x.s..x.e] == b[y.s..y.e]);
    if needles.len() <= 8 {
        // Few values (the common case): find each one's first byte with
        // `memchr`, compare the rest, then visit the occurrences in the
        // order of the one-pass scan below (by position, then by needle).
        occ.clear();
        for (idx, n) in needles.iter().enumerate() {
            let needle = bytes_of(n);
            let last = b.len() - needle.len();
            for p in memchr::memchr_iter(needle[0], &b[..=last]) {
                // The needle's own place is a finding: nothing to add there.
                if p != n.s && &b[p..p + needle.len()] == needle {
                    occ.push((p, idx));
                }
            }
        }
        occ.sort_unstable();
        for &(pos, idx) in occ.iter() {
            occurrence(b, spans, added, pos, &needles[idx]);
        }
    } else {
        // One pass over the text: a 4096-bit filter on the three bytes at
        // each position, then the needles with that prefix only.
        let mut filter = [0u64; 64];
        for n in needles.iter() {
            let h = bit(n.k);
            filter[h >> 6] |= 1 << (h & 63);
        }
        let mut pos = 0;
        while pos + 3 <= b.len() {
            let k = key3(&b[pos..]);
            let h = bit(k);
            if filter[h >> 6] & (1 << (h & 63)) == 0 {
                pos += 1;
                continue;
            }
            let lo = needles.partition_point(|n| n.k < k);
            for n in needles[lo..].iter().take_while(|n| n.k == k) {
                let needle = bytes_of(n);
                let end = pos + needle.len();
                if end > b.len() || &b[pos..end] != needle {
                    continue;
                }
                occurrence(b, spans, added, pos, n);
            }
            pos += 1;
        }
    }
    if !added.is_empty() {
        spans.extend(added.iter().copied());
        spans.sort_by_key(|t| t.s);
    }
}

/// One occurrence of needle `n` at `pos`: masks whatever part of it no
/// finding covers yet. `spans` are sorted and disjoint; `added` grows in
/// text order.
fn occurrence(b: &[u8], spans: &[Cand], added: &mut Vec<Cand>, pos: usize, n: &Needle) {
    let (ty, conf) = (n.ty, n.conf);
    let end = pos + (n.e - n.s);
    let bounded = (pos == 0 || !is_alnum(b[pos - 1])) && (end >= b.len() || !is_alnum(b[end]));
    if ty == T::Person && !bounded {
        return;
    }
    let first_over = spans.partition_point(|c| c.e <= pos);
    // Most occurrences are the findings themselves.
    if spans
        .get(first_over)
        .is_some_and(|c| c.s <= pos && c.e >= end)
    {
        return;
    }
    let mut over: Vec<(usize, usize)> = spans[first_over..]
        .iter()
        .take_while(|c| c.s < end)
        .chain(
            added
                .iter()
                .rev()
                .take_while(|c| c.e > pos.saturating_sub(64)),
        )
        .filter(|c: &&Cand| pos < c.e && end > c.s)
        .map(|c| (c.s, c.e))
        .collect();
    if over.len() == 1 && over[0].0 <= pos && over[0].1 >= end {
        return;
    }
    over.sort_unstable();
    let mut cur = pos;
    let mut gaps = Vec::new();
    for (s, e) in over {
        if s > cur {
            gaps.push((cur, s.min(end)));
        }
        cur = cur.max(e);
    }
    if cur < end {
        gaps.push((cur, end));
    }
    for (s, e) in gaps {
        let whole = s == pos && e == end;
        // A fragment of an occurrence that other findings partly
        // cover needs masking only when it still says much.
        if !whole && (ty == T::Person || b[s..e].iter().filter(|&&c| is_alnum(c)).count() < 5) {
            continue;
        }
        added.push(Cand {
            s,
            e,
            ty,
            prio: 0,
            conf,
            ord: 0,
        });
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Gap {
    None,
    Dash,
    Dot,
    Slash,
    Space,
    /// `)`, `) `, `)-`: after an area code in parentheses.
    Paren,
    Other,
}

impl<'t> Scanner<'t> {
    #[inline]
    fn push(&mut self, s: usize, e: usize, ty: T, prio: u8, conf: f32) {
        let ord = u32::try_from(self.c.len()).unwrap_or(u32::MAX);
        self.c.push(Cand {
            s,
            e,
            ty,
            prio,
            conf,
            ord,
        });
    }

    #[inline]
    fn gap_bytes(&self, i: usize) -> &'t [u8] {
        // Between atom i and atom i+1.
        let b: &'t [u8] = self.b;
        match (self.a.get(i), self.a.get(i + 1)) {
            (Some(x), Some(y)) => &b[x.e..y.s],
            _ => &[],
        }
    }

    #[inline]
    fn gap(&self, i: usize) -> Gap {
        classify_gap(self.gap_bytes(i))
    }

    #[inline]
    fn word(&self, i: usize) -> &'t [u8] {
        let b: &'t [u8] = self.b;
        &b[self.a[i].s..self.a[i].e]
    }

    /// A label with `flag` before atom `i`, with only filler words between.
    fn label(&self, i: usize, flag: u64, max: usize) -> Option<usize> {
        let mut j = i;
        let mut steps = 0;
        while j > 0 && steps < max {
            j -= 1;
            steps += 1;
            let a = &self.a[j];
            // Neither the label nor a filler word: no label, whatever the gap.
            if !a.has(flag | words::FILLER) {
                return None;
            }
            if gap_ends_clause(self.gap_bytes(j)) {
                return None;
            }
            if a.has(flag) {
                return Some(j);
            }
            if !a.has(words::FILLER) {
                return None;
            }
        }
        None
    }

    /// Any word with `flag` among the `max` atoms before `i` (same line).
    fn near(&self, i: usize, flag: u64, max: usize) -> bool {
        let mut j = i;
        let mut steps = 0;
        while j > 0 && steps < max {
            j -= 1;
            steps += 1;
            if has_byte(self.gap_bytes(j), b'\n') {
                return false;
            }
            if self.a[j].has(flag) {
                return true;
            }
        }
        false
    }

    /// `#` right before the value (order #123) with no positive label.
    #[inline]
    fn hash_before(&self, i: usize) -> bool {
        let s = self.a[i].s;
        s > 0 && self.b[s - 1] == b'#'
    }

    #[inline(never)]
    fn walk(&mut self) {
        let mut i = 0;
        while i < self.a.len() {
            let a = self.a[i];
            // The byte after the atom first: it is rarely ':'.
            if self.b.get(a.e) == Some(&b':') && a.len() <= 4 && a.cls & NONASCII == 0 {
                self.ipv6(i);
            }
            if a.digits_only() {
                let end = self.chain(i);
                i = end;
                continue;
            }
            if a.mixed() {
                self.mixed_atom(i);
            } else if a.w.flags & words::ACTS != 0
                || (a.len() <= 5 && (a.cls & ALLUP != 0 || a.len() == 1))
            {
                // Most words are neither triggers nor short capitals that
                // may start a labelled value: `word_atom` would do nothing.
                self.word_atom(i);
            }
            i += 1;
        }
    }

    // ------------------------------------------------------------------
    // Digit chains
    // ------------------------------------------------------------------

    /// Parses the digit groups starting at atom `i` and tries every numeric
    /// recogniser on them; returns the first atom after the chain.
    fn chain(&mut self, i: usize) -> usize {
        let mut buf = [0usize; CHAIN];
        buf[0] = i;
        let mut len = 1;
        let mut j = i;
        while j + 1 < self.a.len() && len < CHAIN {
            if !self.a[j + 1].digits_only() {
                break;
            }
            let gp = self.gap(j);
            match gp {
                Gap::Dash | Gap::Dot | Gap::Slash | Gap::Space | Gap::Paren => {}
                _ => break,
            }
            // Each gap inside the chain is classified once, here.
            self.cg[len - 1] = gp;
            j += 1;
            buf[len] = j;
            len += 1;
        }
        let g = &buf[..len];
        for k in 0..g.len() {
            self.numeric_at(g, k);
        }
        j + 1
    }

    #[inline]
    fn tight_before(&self, k: usize) -> bool {
        k > 0 && matches!(self.cg[k - 1], Gap::Dash | Gap::Dot | Gap::Slash)
    }

    #[inline]
    fn tight_after(&self, g: &[usize], last: usize) -> bool {
        last + 1 < g.len()
            && matches!(
                self.cg[last],
                Gap::Dash | Gap::Dot | Gap::Slash | Gap::Paren
            )
    }

    #[inline]
    fn digits(&self, ai: usize) -> &'t [u8] {
        self.word(ai)
    }

    fn numeric_at(&mut self, g: &[usize], k: usize) {
        let ai = g[k];
        let d = self.digits(ai);
        let n = d.len();
        let tb = self.tight_before(k);
        let rest = g.len() - k;

        // Phones: +1 / 1 / 001, (area) exchange line, extension.
        // Without '+', every phone form starts with a group of 1 ("1"), 3
        // ("001", an area code) or 11 digits: checked here, before a call.
        if !tb && (matches!(n, 1 | 3 | 11) || self.plus_before(ai)) {
            self.phone(g, k);
        }

        // Structured multi-group forms.
        if !tb && rest >= 3 {
            let (a1, a2, a3) = (g[k], g[k + 1], g[k + 2]);
            let (d1, d2, d3) = (self.digits(a1), self.digits(a2), self.digits(a3));
            let (g1, g2) = (self.cg[k], self.cg[k + 1]);
            let after = self.tight_after(g, k + 2);
            // SSN ddd-dd-dddd, same separator.
            if d1.len() == 3
                && d2.len() == 2
                && d3.len() == 4
                && g1 == g2
                && matches!(g1, Gap::Dash | Gap::Space | Gap::Dot)
                && !after
            {
                let mut all = [0u8; 9];
                all[..3].copy_from_slice(d1);
                all[3..5].copy_from_slice(d2);
                all[5..].copy_from_slice(d3);
                if check::ssn(&all) && !self.neg_label(ai) {
                    let prio = if g1 == Gap::Dash || self.near(ai, words::SSN, 6) {
                        90
                    } else {
                        80
                    };
                    self.push(self.a[a1].s, self.a[a3].e, T::UsSsn, prio, 0.95);
                }
            }
            // Numeric dates.
            if g1 == g2
                && matches!(g1, Gap::Slash | Gap::Dash | Gap::Dot)
                && !after
                && let Some(conf) = numeric_date(d1, d2, d3, g1)
            {
                let version = g1 == Gap::Dot && self.near(ai, words::VERSION, 4);
                if !version {
                    self.push(self.a[a1].s, self.a[a3].e, T::Date, 84, conf);
                }
            }
        }
        // IPv4.
        if !tb && rest >= 4 {
            let q = [g[k], g[k + 1], g[k + 2], g[k + 3]];
            let dots = self.cg[k..k + 3].iter().all(|&x| x == Gap::Dot);
            if dots && !self.tight_after(g, k + 3) {
                let ok = q.iter().all(|&x| {
                    let v = self.digits(x);
                    (1..=3).contains(&v.len())
                        && check::num(v) <= 255
                        && !(v.len() > 1 && v[0] == b'0')
                });
                if ok && !self.near(ai, words::VERSION, 4) {
                    self.push(self.a[q[0]].s, self.a[q[3]].e, T::IpAddress, 82, 0.9);
                }
            }
        }
        // Cards in groups.
        if !tb && rest >= 2 && (3..=6).contains(&n) && matches!(self.cg[k], Gap::Space | Gap::Dash)
        {
            self.card_groups(g, k);
        }
        // Two-group dates (m/d, m/yyyy) only with a date label.
        if !tb && rest >= 2 {
            let (a1, a2) = (g[k], g[k + 1]);
            let (d1, d2) = (self.digits(a1), self.digits(a2));
            if self.cg[k] == Gap::Slash
                && !self.tight_after(g, k + 1)
                && (1..=2).contains(&d1.len())
            {
                let m = check::num(d1);
                let second = check::num(d2);
                let ok = (1..=12).contains(&m)
                    && ((d2.len() <= 2 && (1..=31).contains(&second))
                        || (d2.len() == 4 && (1900..=2099).contains(&second)));
                if ok && (self.label(ai, words::DATE, 4).is_some() || self.near(ai, words::DATE, 3))
                {
                    self.push(self.a[a1].s, self.a[a2].e, T::Date, 84, 0.7);
                }
            }
            // ZIP+4.
            if d1.len() == 5
                && d2.len() == 4
                && self.cg[k] == Gap::Dash
                && !self.tight_after(g, k + 1)
                && self.zip_context(ai)
            {
                self.push(self.a[a1].s, self.a[a2].e, T::UsZipCode, 74, 0.85);
            }
        }

        // Label-anchored identifiers (MRN, member, account, licence).
        if !tb {
            self.labelled(ai);
        }

        if tb || self.tight_after(g, k) {
            return;
        }
        // A single group.
        let s = self.a[ai].s;
        let e = self.a[ai].e;
        // Negative context, looked for only where a length needs it.
        let neg = (9..=19).contains(&n) && (self.near(ai, words::NEG, 4) || self.hash_before(ai));
        let neg_strict = n == 10 && (self.neg_label(ai) || self.hash_before(ai));
        match n {
            9 => {
                let ssn_ctx = self.near(ai, words::SSN, 6);
                let aba_ctx = self.near(ai, words::ABA, 6);
                if aba_ctx && check::aba(d) {
                    self.push(s, e, T::AbaRoutingNumber, 91, 0.95);
                } else if ssn_ctx && check::ssn(d) {
                    self.push(s, e, T::UsSsn, 89, 0.9);
                } else if !neg && check::aba(d) {
                    self.push(s, e, T::AbaRoutingNumber, 79, 0.6);
                } else if !neg && check::ssn(d) {
                    self.push(s, e, T::UsSsn, 78, 0.5);
                }
            }
            10 => {
                if self.near(ai, words::NPI, 6) && check::npi(d) {
                    self.push(s, e, T::UsNpi, 93, 0.97);
                } else if !neg_strict
                    && self.near(ai, words::PHONE, 6)
                    && check::nanp(&d[..3], &d[3..6])
                {
                    self.push(s, e, T::PhoneNumber, 86, 0.85);
                } else if check::npi(d) && !neg {
                    self.push(s, e, T::UsNpi, 83, 0.8);
                } else if check::nanp(&d[..3], &d[3..6]) && !neg {
                    self.push(s, e, T::PhoneNumber, 70, 0.6);
                }
            }
            12..=19 => {
                let ctx = self.near(ai, words::CARD, 6);
                if check::card(d) && (ctx || !neg) {
                    self.push(s, e, T::CreditCard, if ctx { 91 } else { 87 }, 0.9);
                }
            }
            5 if self.zip_context(ai) => {
                self.push(s, e, T::UsZipCode, 74, 0.85);
            }
            _ => {}
        }
        // 90-130 only: '9' and one digit, or '1', '0'-'3' and one digit.
        if (n == 2 && d[0] == b'9') || (n == 3 && d[0] == b'1' && d[1] <= b'3') {
            self.age(ai);
        }
        // Street address and day-first dates start with the last group.
        if k + 1 == g.len() {
            if n <= 6 {
                self.address(ai);
            }
            if n <= 2 {
                self.day_first_date(ai);
            }
        }
    }

    /// A negative label (order, invoice) right before the value.
    #[inline]
    fn neg_label(&self, i: usize) -> bool {
        self.label(i, words::NEG, 3).is_some()
    }

    fn zip_context(&self, i: usize) -> bool {
        if self.label(i, words::ZIP, 3).is_some() {
            return true;
        }
        if i == 0 {
            return false;
        }
        let gap = self.gap_bytes(i - 1);
        if gap.is_empty() || gap.len() > 3 || !gap.iter().all(|&c| c == b' ' || c == b',') {
            return false;
        }
        let p = &self.a[i - 1];
        (words::is_state_code(self.word(i - 1))) || (p.has(words::STATE) && p.cls & UP != 0)
    }

    #[inline]
    fn plus_before(&self, ai: usize) -> bool {
        let s0 = self.a[ai].s;
        s0 > 0 && self.b[s0 - 1] == b'+'
    }

    #[inline(never)]
    fn phone(&mut self, g: &[usize], k: usize) {
        let ai = g[k];
        let d = self.digits(ai);
        let b = self.b;
        let s0 = self.a[ai].s;
        let plus = s0 > 0 && b[s0 - 1] == b'+';
        // Without '+', every form below starts with a group of 1 ("1"), 3
        // ("001", an area code) or 11 digits.
        if !(plus || d.len() == 3 || d.len() == 11 || d == b"1") {
            return;
        }
        // Body position and span start.
        let mut m = k;
        let mut start = if plus { s0 - 1 } else { s0 };
        let mut cc = false;
        if (d == b"1" || d == b"001" || (plus && d.len() <= 3)) && g.len() > k + 1 {
            let gp = self.cg[k];
            if matches!(gp, Gap::Dash | Gap::Dot | Gap::Space | Gap::Paren)
                || self.gap_bytes(ai) == b" ("
                || self.gap_bytes(ai) == b"("
            {
                if d != b"1" && d != b"001" {
                    // International: +CC then 6-12 more digits in groups.
                    let mut total = 0;
                    let mut last = k;
                    for x in k + 1..g.len() {
                        total += self.digits(g[x]).len();
                        last = x;
                        if x + 1 < g.len()
                            && !matches!(self.cg[x], Gap::Space | Gap::Dash | Gap::Dot)
                        {
                            break;
                        }
                        if total >= 12 {
                            break;
                        }
                    }
                    if (6..=12).contains(&total) && !self.tight_after(g, last) {
                        self.push(start, self.a[g[last]].e, T::PhoneNumber, 86, 0.8);
                    }
                    return;
                }
                m = k + 1;
                cc = true;
            }
        }
        if !cc {
            start = s0;
            if s0 > 0 && b[s0 - 1] == b'(' {
                start = s0 - 1;
            }
            if plus {
                // "+5551234567" style is handled by the bare forms below.
                start = s0 - 1;
            }
        }
        if g.len() >= m + 3 {
            let (a1, a2, a3) = (g[m], g[m + 1], g[m + 2]);
            let (d1, d2, d3) = (self.digits(a1), self.digits(a2), self.digits(a3));
            if d1.len() == 3 && d2.len() == 3 && d3.len() == 4 && !self.tight_after(g, m + 2) {
                let g1b = self.gap_bytes(a1);
                let g1 = self.cg[m];
                let g2 = self.cg[m + 1];
                let paren = self.a[a1].s > 0 && b[self.a[a1].s - 1] == b'(';
                let ok_g1 = match g1 {
                    Gap::Paren => paren,
                    Gap::Dash | Gap::Dot | Gap::Space => !paren || g1b.len() > 1,
                    _ => false,
                };
                let ok_g2 = matches!(g2, Gap::Dash | Gap::Dot | Gap::Space)
                    && (g1 != g2 && g1 == Gap::Dash || g1 == Gap::Dot)
                        .then_some(())
                        .is_none()
                    || g1 == g2
                    || g1 == Gap::Paren
                    || g1 == Gap::Space;
                let ok_g2 = ok_g2 && matches!(g2, Gap::Dash | Gap::Dot | Gap::Space);
                if ok_g1 && ok_g2 && check::nanp(d1, d2) && !self.neg_label(ai) {
                    let end = self.extension(self.a[a3].e);
                    let s = if cc || plus {
                        start
                    } else if paren {
                        self.a[a1].s - 1
                    } else {
                        self.a[a1].s
                    };
                    self.push(s, end, T::PhoneNumber, 86, 0.92);
                    return;
                }
            }
        }
        // Bare 11 digits with a leading 1 (or +1).
        if !cc
            && d.len() == 11
            && d[0] == b'1'
            && check::nanp(&d[1..4], &d[4..7])
            && !self.tight_after(g, k)
        {
            let ctx = plus || self.near(ai, words::PHONE, 6);
            if ctx || !self.near(ai, words::NEG, 4) {
                let end = self.extension(self.a[ai].e);
                self.push(start, end, T::PhoneNumber, if ctx { 86 } else { 72 }, 0.8);
            }
        }
        // +1 then 10 bare digits.
        if cc && g.len() > m {
            let a1 = g[m];
            let d1 = self.digits(a1);
            if d1.len() == 10 && check::nanp(&d1[..3], &d1[3..6]) && !self.tight_after(g, m) {
                let end = self.extension(self.a[a1].e);
                self.push(start, end, T::PhoneNumber, 86, 0.85);
            }
        }
        // Area in parentheses then 7 digits: (555) 1234567.
        if !cc && d.len() == 3 && g.len() > k + 1 && s0 > 0 && b[s0 - 1] == b'(' {
            let a1 = g[k + 1];
            let d1 = self.digits(a1);
            if d1.len() == 7 && self.cg[k] == Gap::Paren && check::nanp(d, &d1[..3]) {
                let end = self.extension(self.a[a1].e);
                self.push(s0 - 1, end, T::PhoneNumber, 86, 0.85);
            }
        }
    }

    /// Extends a phone's end over an extension: ` x123`, ` ext. 45`, `#12`.
    fn extension(&self, end: usize) -> usize {
        let b = self.b;
        let mut p = end;
        while p < b.len() && p < end + 2 && (b[p] == b' ' || b[p] == b',') {
            p += 1;
        }
        let rest = &b[p..];
        let lower = |s: &[u8], w: &[u8]| s.len() >= w.len() && s[..w.len()].eq_ignore_ascii_case(w);
        let skip = if lower(rest, b"extension") {
            9
        } else if lower(rest, b"ext") {
            3
        } else if lower(rest, b"x") || rest.first() == Some(&b'#') {
            1
        } else {
            return end;
        };
        let mut q = p + skip;
        while q < b.len() && (b[q] == b'.' || b[q] == b' ' || b[q] == b':') && q < p + skip + 2 {
            q += 1;
        }
        let ds = q;
        while q < b.len() && b[q].is_ascii_digit() && q < ds + 6 {
            q += 1;
        }
        if q > ds && (q >= b.len() || !is_alnum(b[q])) {
            q
        } else {
            end
        }
    }

    #[inline(never)]
    fn card_groups(&mut self, g: &[usize], k: usize) {
        let first_gap = self.cg[k];
        if !matches!(first_gap, Gap::Space | Gap::Dash) {
            return;
        }
        // At most 19 digits plus one group of 6.
        let mut buf = [0u8; 32];
        let mut len = 0;
        let mut best: Option<usize> = None;
        for x in k..g.len() {
            let d = self.digits(g[x]);
            if d.len() < 3 || d.len() > 6 {
                break;
            }
            buf[len..len + d.len()].copy_from_slice(d);
            len += d.len();
            if len > 19 {
                break;
            }
            if x > k && len >= 12 && check::card(&buf[..len]) && !self.tight_after(g, x) {
                best = Some(x);
            }
            if x + 1 < g.len() && self.cg[x] != first_gap {
                break;
            }
        }
        if let Some(x) = best {
            let ai = g[k];
            let ctx = self.near(ai, words::CARD, 6);
            if ctx || !self.neg_label(ai) {
                self.push(self.a[ai].s, self.a[g[x]].e, T::CreditCard, 91, 0.95);
            }
        }
    }

    #[inline(never)]
    fn age(&mut self, ai: usize) {
        let d = self.digits(ai);
        let v = check::num(d);
        if !(90..=130).contains(&v) {
            return;
        }
        let a = self.a[ai];
        let before = self.label(ai, words::AGE, 3).is_some();
        let after = ai + 1 < self.a.len() && {
            let gp = self.gap_bytes(ai);
            let next = &self.a[ai + 1];
            (gp == b" " || gp == b"-" || gp.is_empty()) && next.has(words::AGEUNIT)
        };
        if before || after {
            self.push(a.s, a.e, T::Age, 75, 0.85);
        }
    }

    // ------------------------------------------------------------------
    // Label-anchored values
    // ------------------------------------------------------------------

    #[inline(always)]
    fn labelled(&mut self, ai: usize) {
        // The first step of `label`, inlined where it is called: most
        // values have no label or filler word right before them.
        if ai == 0 || !self.a[ai - 1].has(LABEL_KINDS | words::FILLER) {
            return;
        }
        self.labelled_value(ai);
    }

    #[inline(never)]
    fn labelled_value(&mut self, ai: usize) {
        const KINDS: u64 = LABEL_KINDS;
        let Some(li) = self.label(ai, KINDS, 5) else {
            return;
        };
        let l = self.a[li].w.flags;
        // "patient" and "provider" are weak: they need "id"/"number" after them.
        let ty = if l & words::ACCT != 0 {
            T::AccountNumber
        } else if l & words::DL != 0 {
            T::UsDriverLicense
        } else if l & words::PLAN != 0 {
            T::HealthPlanId
        } else {
            T::MedicalRecordNumber
        };
        if l & words::TITLE != 0 && !(li + 1 < ai && self.a[li + 1].has(words::FILLER)) {
            return;
        }
        // The value: atoms joined by '-' (or one space between digit groups).
        let s = self.a[ai].s;
        let mut e = self.a[ai].e;
        let mut len = self.a[ai].len();
        let mut j = ai;
        while j + 1 < self.a.len() && len < 20 {
            let gp = self.gap_bytes(j);
            let next = self.a[j + 1];
            let join = match gp {
                b"-" | b"." | b"/" => next.cls & DIG != 0,
                b" " => {
                    next.digits_only()
                        && self.a[ai].digits_only()
                        && self.a[j].digits_only()
                        && next.len() == self.a[j].len()
                        && next.len() <= 6
                }
                _ => false,
            };
            if !join || next.cls & NONASCII != 0 {
                break;
            }
            j += 1;
            e = next.e;
            len += next.len();
        }
        let has_digit = (ai..=j).any(|x| self.a[x].cls & DIG != 0);
        if has_digit && (4..=24).contains(&len) {
            self.push(s, e, ty, 85, 0.85);
        }
    }

    // ------------------------------------------------------------------
    // Mixed letter-digit atoms
    // ------------------------------------------------------------------

    fn mixed_atom(&mut self, i: usize) {
        let a = self.a[i];
        let w = self.word(i);
        if w.len() > 34 {
            self.labelled(i);
            return;
        }
        let mut upbuf = [0u8; 34];
        for (d, c) in upbuf.iter_mut().zip(w) {
            *d = c.to_ascii_uppercase();
        }
        let up = &upbuf[..w.len()];
        match w.len() {
            11 if check::mbi(up) => self.push(a.s, a.e, T::UsMbi, 92, 0.97),
            9 if check::dea(up) => self.push(a.s, a.e, T::UsDeaNumber, 92, 0.97),
            17 if check::vin(up) => self.push(a.s, a.e, T::Vin, 92, 0.97),
            _ => {}
        }
        // MBI with dashes: 4-3-4.
        if w.len() == 4
            && i + 2 < self.a.len()
            && self.gap_bytes(i) == b"-"
            && self.gap_bytes(i + 1) == b"-"
        {
            let (x, y) = (self.word(i + 1), self.word(i + 2));
            if x.len() == 3 && y.len() == 4 {
                let mut all = [0u8; 11];
                all[..4].copy_from_slice(up);
                all[4..7].copy_from_slice(x);
                all[7..].copy_from_slice(y);
                all.make_ascii_uppercase();
                if check::mbi(&all) {
                    self.push(a.s, self.a[i + 2].e, T::UsMbi, 92, 0.97);
                }
            }
        }
        // IBAN: CCdd then groups.
        if up.len() >= 4
            && up[0].is_ascii_uppercase()
            && up[1].is_ascii_uppercase()
            && up[2].is_ascii_digit()
            && up[3].is_ascii_digit()
        {
            self.iban(i, up);
        }
        // Ordinal day: "4th of June".
        if w.len() <= 4 && w[0].is_ascii_digit() {
            let digits = w.iter().take_while(|c| c.is_ascii_digit()).count();
            let suffix = &up[digits..];
            if digits <= 2 && matches!(suffix, b"ST" | b"ND" | b"RD" | b"TH") {
                self.day_first_date(i);
            }
            // "94yo", "94y"
            if (2..=3).contains(&digits) && matches!(suffix, b"YO" | b"Y" | b"YRS" | b"YR") {
                let v = check::num(&w[..digits]);
                if (90..=130).contains(&v) {
                    self.push(a.s, a.s + digits, T::Age, 75, 0.85);
                }
            }
        }
        self.labelled(i);
    }

    /// `up`: atom `i` upper-cased (at most 34 bytes).
    fn iban(&mut self, i: usize, up: &[u8]) {
        let a = self.a[i];
        let mut best = None;
        // Under 34 characters, then one more group of at most 4.
        let mut buf = [0u8; 40];
        let mut len = up.len();
        buf[..len].copy_from_slice(up);
        // `check::iban` wants 15-34 characters, and the country's length
        // when it knows it: the mod-97 pass runs only at that length.
        let want = check::iban_length(&up[..2]);
        let may = |len: usize| len >= 15 && want.is_none_or(|w| w == len);
        if may(len) && check::iban(&buf[..len]) {
            best = Some(a.e);
        }
        let mut j = i;
        while j + 1 < self.a.len() && len < 34 {
            let gp = self.gap_bytes(j);
            let next = self.a[j + 1];
            if !(gp == b" " || gp == b"-") || next.len() > 4 || next.cls & NONASCII != 0 {
                break;
            }
            j += 1;
            let w = self.word(j);
            buf[len..len + w.len()].copy_from_slice(w);
            buf[len..len + w.len()].make_ascii_uppercase();
            len += w.len();
            if may(len) && check::iban(&buf[..len]) {
                best = Some(next.e);
            }
        }
        if let Some(e) = best {
            self.push(a.s, e, T::IbanCode, 92, 0.97);
        }
    }

    // ------------------------------------------------------------------
    // Words
    // ------------------------------------------------------------------

    fn word_atom(&mut self, i: usize) {
        let a = self.a[i];
        if a.len() <= 5
            && (a.cls & ALLUP != 0 || a.len() == 1)
            && matches!(self.gap_bytes(i), b"-" | b" ")
            && i + 1 < self.a.len()
            && self.a[i + 1].cls & DIG != 0
        {
            self.labelled(i);
        }
        let f = a.w.flags;
        if f & words::ACTS == 0 {
            return;
        }
        if f & words::MONTH != 0 {
            self.month_date(i);
        }
        if f & words::SCHEME != 0 {
            self.url_scheme(i);
        }
        if f & words::TLD != 0 {
            self.bare_domain(i);
        }
        if f & (words::TITLE
            | words::GREET
            | words::SIGNOFF
            | words::RELATION
            | words::NAMEIS
            | words::FIRST
            | words::VERBNAME
            | words::SELFREF)
            != 0
        {
            self.person(i);
        }
        if f & words::UNIT != 0 && self.word(i).eq_ignore_ascii_case(b"box") {
            self.po_box(i);
        }
    }

    fn ipv6(&mut self, i: usize) {
        let b = self.b;
        let s = self.a[i].s;
        if s > 0 && (b[s - 1] == b':' || is_alnum(b[s - 1])) {
            return;
        }
        let mut p = s;
        let mut groups = 0;
        let mut colons = 0;
        let mut double = 0;
        let mut cur = 0;
        while p < b.len() {
            let c = b[p];
            if c.is_ascii_hexdigit() {
                cur += 1;
                if cur > 4 {
                    return;
                }
            } else if c == b':' {
                if cur > 0 {
                    groups += 1;
                } else if p > s && b[p - 1] == b':' {
                    double += 1;
                }
                cur = 0;
                colons += 1;
            } else {
                break;
            }
            p += 1;
        }
        if cur > 0 {
            groups += 1;
        }
        let mut e = p;
        while e > s && b[e - 1] == b':' {
            e -= 1;
        }
        if p < b.len() && is_alnum(b[p]) {
            return;
        }
        let ok = (groups == 8 && colons == 7 && double == 0)
            || (double == 1 && (2..=7).contains(&groups) && colons >= 3);
        if ok {
            self.push(s, e, T::IpAddress, 82, 0.9);
        }
    }

    fn url_scheme(&mut self, i: usize) {
        let b = self.b;
        let a = self.a[i];
        let w = self.word(i);
        let rest = &b[a.e..];
        let ok = if w.eq_ignore_ascii_case(b"www") {
            rest.first() == Some(&b'.') && rest.get(1).is_some_and(|c| c.is_ascii_alphanumeric())
        } else {
            rest.starts_with(b"://")
                && rest
                    .get(3)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'[')
        };
        if !ok || (a.s > 0 && (b[a.s - 1] == b'/' || b[a.s - 1] == b'.' || b[a.s - 1] == b'@')) {
            return;
        }
        let e = url_end(b, a.e);
        self.push(a.s, e, T::Url, 81, 0.95);
    }

    fn bare_domain(&mut self, i: usize) {
        if i == 0 || self.gap_bytes(i - 1) != b"." {
            return;
        }
        let b = self.b;
        let a = self.a[i];
        // Not the last label yet (example.co.uk): the later label decides.
        if a.e + 1 < b.len() && b[a.e] == b'.' && b[a.e + 1].is_ascii_alphanumeric() {
            return;
        }
        if a.cls & ALLUP != 0
            && a.len() <= 3
            && a.cls & UP != 0
            && !self.word(i).iter().all(u8::is_ascii_uppercase)
        {
            return;
        }
        let mut j = i - 1;
        loop {
            let prev = &self.a[j];
            if prev.cls & NONASCII != 0 {
                return;
            }
            if j == 0 {
                break;
            }
            let gp = self.gap_bytes(j - 1);
            if gp == b"." || gp == b"-" {
                j -= 1;
            } else {
                break;
            }
        }
        let s = self.a[j].s;
        if s > 0 && matches!(b[s - 1], b'@' | b'/' | b'.' | b':' | b'_' | b'-') {
            return;
        }
        // A single-letter first label before a TLD is an abbreviation (e.g. "U.S.co").
        if self.a[j].len() < 2 && j + 1 == i {
            return;
        }
        let e = url_end(b, a.e);
        self.push(s, e, T::Url, 76, 0.85);
    }

    fn po_box(&mut self, i: usize) {
        // P.O. Box 123 / PO Box 123
        if i + 1 >= self.a.len() || !self.a[i + 1].digits_only() {
            return;
        }
        let s;
        if i >= 2
            && self.word(i - 2).eq_ignore_ascii_case(b"p")
            && self.word(i - 1).eq_ignore_ascii_case(b"o")
        {
            s = self.a[i - 2].s;
        } else if i >= 1 && self.word(i - 1).eq_ignore_ascii_case(b"po") {
            s = self.a[i - 1].s;
        } else {
            return;
        }
        let e = self.address_tail(i + 1);
        self.push(s, e, T::StreetAddress, 80, 0.8);
    }

    // ------------------------------------------------------------------
    // Dates written with month names
    // ------------------------------------------------------------------

    fn year_at(&self, j: usize) -> bool {
        let a = self.a[j];
        a.digits_only() && a.len() == 4 && (1800..=2099).contains(&check::num(self.word(j)))
    }

    /// The day number of atom `j` (4, 04, 4th), if 1-31.
    fn day_at(&self, j: usize) -> bool {
        let w = self.word(j);
        let digits = w.iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 || digits > 2 {
            return false;
        }
        let suffix = &w[digits..];
        let ok_suffix = suffix.is_empty()
            || [b"st".as_slice(), b"nd", b"rd", b"th"]
                .iter()
                .any(|s| suffix.eq_ignore_ascii_case(s));
        ok_suffix && (1..=31).contains(&check::num(&w[..digits]))
    }

    fn month_date(&mut self, i: usize) {
        let a = self.a[i];
        let n = self.a.len();
        let mut s = a.s;
        // A weekday right before ("Monday, June 4, 1942").
        if i > 0
            && self.a[i - 1].has(words::WEEKDAY)
            && matches!(self.gap_bytes(i - 1), b" " | b", " | b",")
        {
            s = self.a[i - 1].s;
        }
        let w = self.word(i);
        let capital = a.cls & UP != 0;
        let (lw, ln) = lower16(w);
        let ambiguous = matches!(
            &lw[..ln],
            b"may"
                | b"march"
                | b"mar"
                | b"jan"
                | b"sat"
                | b"sun"
                | b"dec"
                | b"june"
                | b"april"
                | b"august"
        );
        if i + 1 >= n {
            return;
        }
        let g = self.gap_bytes(i);
        let sep_ok = matches!(g, b" " | b". " | b"-" | b"." | b"  " | b", " | b"/");
        if !sep_ok {
            return;
        }
        let j = i + 1;
        if self.day_at(j) && !(j + 1 < n && self.gap(j) == Gap::Dot && self.a[j + 1].digits_only())
        {
            // Month day [,] year
            if j + 1 < n
                && matches!(
                    self.gap_bytes(j),
                    b" " | b", " | b"," | b"-" | b"/" | b",  "
                )
                && self.year_at(j + 1)
            {
                self.push(s, self.a[j + 1].e, T::Date, 84, 0.95);
                return;
            }
            // Month day 'yy
            if j + 1 < n
                && matches!(self.gap_bytes(j), b" '" | b", '" | b" \xe2\x80\x99")
                && self.a[j + 1].len() == 2
                && self.a[j + 1].digits_only()
            {
                self.push(s, self.a[j + 1].e, T::Date, 84, 0.9);
                return;
            }
            // Month day (no year)
            if capital || !ambiguous {
                let day_end = self.a[j].e;
                // "Jan 4" where the 4 is followed by a time or unit is still a date.
                self.push(s, day_end, T::Date, 84, 0.75);
            }
            return;
        }
        // Month [,] year
        if self.year_at(j)
            && matches!(g, b" " | b", " | b"-" | b"/" | b". ")
            && (capital || !ambiguous)
        {
            self.push(s, self.a[j].e, T::Date, 84, 0.85);
        }
    }

    #[inline(always)]
    fn day_first_date(&mut self, i: usize) {
        // A month name next, or "of" then one: checked before the day,
        // where the call is.
        if self
            .a
            .get(i + 1)
            .is_some_and(|m| m.has(words::MONTH) || m.len() == 2)
        {
            self.day_month(i);
        }
    }

    #[inline(never)]
    fn day_month(&mut self, i: usize) {
        if !self.day_at(i) {
            return;
        }
        let n = self.a.len();
        let mut j = i + 1;
        if j >= n || !matches!(self.gap_bytes(i), b" " | b"-" | b"." | b". " | b"/") {
            return;
        }
        if self.word(j).eq_ignore_ascii_case(b"of") && j + 1 < n && self.gap_bytes(j) == b" " {
            j += 1;
        }
        let m = self.a[j];
        if !m.has(words::MONTH) {
            return;
        }
        let s = self.a[i].s;
        if j + 1 < n {
            let g = self.gap_bytes(j);
            if matches!(g, b" " | b", " | b"-" | b". " | b"." | b"/") && self.year_at(j + 1) {
                self.push(s, self.a[j + 1].e, T::Date, 84, 0.95);
                return;
            }
            if g == b"-" && self.a[j + 1].digits_only() && self.a[j + 1].len() == 2 {
                self.push(s, self.a[j + 1].e, T::Date, 84, 0.9);
                return;
            }
        }
        if m.cls & UP != 0 && !self.word(j).eq_ignore_ascii_case(b"may") {
            self.push(s, m.e, T::Date, 84, 0.75);
        }
    }

    // ------------------------------------------------------------------
    // Street addresses
    // ------------------------------------------------------------------

    #[inline(always)]
    fn address(&mut self, i: usize) {
        // The street suffix is the second to fifth word after the number:
        // without one there, the walk in `street` finds nothing.
        let n = self.a.len();
        if i + 2 < n
            && self.a[i + 2..n.min(i + 6)]
                .iter()
                .any(|w| w.has(words::SUFFIX))
        {
            self.street(i);
        }
    }

    #[inline(never)]
    fn street(&mut self, i: usize) {
        let n = self.a.len();
        let num = self.a[i];
        if check::num(self.word(i)) == 0 {
            return;
        }
        let b = self.b;
        // The number must not be glued to a previous token ("$12 Main" fine, "12.5 Main" not).
        if num.s > 0 && matches!(b[num.s - 1], b'.' | b',' | b'$' | b'/' | b':') {
            return;
        }
        let mut j = i;
        let mut words_seen = 0;
        let mut lowercase = 0;
        let mut suffix_at = None;
        while j + 1 < n && words_seen < 5 {
            if !matches!(self.gap_bytes(j), b" " | b" \xc2\xa0") {
                break;
            }
            let w = self.a[j + 1];
            let ordinal = w.mixed() && {
                let t = self.word(j + 1);
                let d = t.iter().take_while(|c| c.is_ascii_digit()).count();
                d > 0
                    && [b"st".as_slice(), b"nd", b"rd", b"th"]
                        .iter()
                        .any(|s| t[d..].eq_ignore_ascii_case(s))
            };
            if !(w.alpha_only() || ordinal) {
                break;
            }
            if w.has(words::STOP | words::FILLER) && !w.has(words::SUFFIX) {
                break;
            }
            j += 1;
            words_seen += 1;
            if w.cls & UP == 0 && !ordinal {
                lowercase += 1;
            }
            if w.has(words::SUFFIX) && words_seen >= 2 {
                suffix_at = Some(j);
                // A longer name may follow ("Park Avenue"); keep the last suffix
                // only when directly followed by another suffix.
                if !(j + 1 < n
                    && self.a[j + 1].has(words::SUFFIX)
                    && self.gap_bytes(j) == b" "
                    && self.a[j + 1].cls & UP != 0)
                {
                    break;
                }
            }
        }
        let Some(sx) = suffix_at else { return };
        if lowercase > 0 && lowercase != words_seen {
            // Mixed case street names are fine only when the suffix is capitalised.
            if self.a[sx].cls & UP == 0 {
                return;
            }
        }
        let mut e = self.a[sx].e;
        // A trailing direction ("Main St NW").
        let mut k = sx;
        if k + 1 < n
            && self.gap_bytes(k) == b" "
            && self.a[k + 1].has(words::DIRECTION)
            && self.a[k + 1].cls & ALLUP != 0
        {
            k += 1;
            e = self.a[k].e;
        }
        if e < b.len() && b[e] == b'.' {
            e += 1;
        }
        let e = self.address_tail_from(k, e);
        self.push(num.s, e, T::StreetAddress, 80, 0.85);
    }

    /// After a street or PO box number: unit, then "City, ST 12345".
    fn address_tail(&self, k: usize) -> usize {
        self.address_tail_from(k, self.a[k].e)
    }

    fn address_tail_from(&self, mut k: usize, mut e: usize) -> usize {
        let n = self.a.len();
        // Unit: ", Apt 4B", " Suite 200", " #12".
        if k + 1 < n {
            let g = self.gap_bytes(k);
            let next = self.a[k + 1];
            let unitword =
                next.has(words::UNIT) && matches!(g, b" " | b", " | b"," | b". " | b"., ");
            let hash = matches!(g, b" #" | b", #" | b"#");
            let numbered = k + 2 < n
                && matches!(
                    self.gap_bytes(k + 1),
                    b" " | b". " | b" #" | b"." | b" # " | b"# " | b"#"
                )
                && self.a[k + 2].cls & DIG != 0;
            let lettered = k + 2 < n && self.a[k + 2].len() <= 2 && self.gap_bytes(k + 1) == b" ";
            if unitword && (numbered || lettered) {
                k += 2;
                e = self.a[k].e;
            } else if hash && (next.cls & DIG != 0) {
                k += 1;
                e = self.a[k].e;
            }
        }
        // City (1-3 capitalised words), state, ZIP.
        if k + 1 < n {
            let g = self.gap_bytes(k);
            let sep = matches!(
                g,
                b", " | b"," | b"\n" | b" " | b",\n" | b". " | b".\n" | b"\r\n" | b". , "
            );
            if sep {
                let mut j = k + 1;
                let mut city = 0;
                while j < n && city < 4 && self.a[j].alpha_only() && self.a[j].cls & UP != 0 {
                    let w = self.word(j);
                    let is_state = words::is_state_code(w);
                    if city > 0 && is_state {
                        break;
                    }
                    city += 1;
                    let gg = self.gap_bytes(j);
                    if gg == b" "
                        && j + 1 < n
                        && self.a[j + 1].alpha_only()
                        && self.a[j + 1].cls & UP != 0
                    {
                        let nw = self.word(j + 1);
                        if words::is_state_code(nw) {
                            j += 1;
                            break;
                        }
                        j += 1;
                        continue;
                    }
                    j += 1;
                    break;
                }
                // j is now the state candidate.
                if city > 0 && j < n {
                    let gs = self.gap_bytes(j - 1);
                    let st = self.a[j];
                    let is_state = words::is_state_code(self.word(j))
                        || (st.has(words::STATE) && st.cls & UP != 0);
                    if is_state && matches!(gs, b", " | b" " | b",") {
                        let mut end = st.e;
                        let mut last = j;
                        // Two-word state names: "New York", "North Carolina".
                        if st.has(words::STATE)
                            && j + 1 < n
                            && self.a[j + 1].has(words::STATE)
                            && self.gap_bytes(j) == b" "
                        {
                            last = j + 1;
                            end = self.a[last].e;
                        }
                        if last + 1 < n
                            && matches!(self.gap_bytes(last), b" " | b"  " | b", ")
                            && self.a[last + 1].digits_only()
                            && self.a[last + 1].len() == 5
                        {
                            end = self.a[last + 1].e;
                            if last + 2 < n
                                && self.gap_bytes(last + 1) == b"-"
                                && self.a[last + 2].len() == 4
                                && self.a[last + 2].digits_only()
                            {
                                end = self.a[last + 2].e;
                            }
                        }
                        return end;
                    }
                }
            }
        }
        e
    }

    // ------------------------------------------------------------------
    // Names
    // ------------------------------------------------------------------

    /// Name words from atom `j`: up to three capitalised words (initials
    /// and hyphenated or apostrophe names included). Returns the last atom.
    fn name_words(&self, j: usize, allow_lower: bool, allow_suffix: bool) -> Option<usize> {
        let n = self.a.len();
        let mut k = j;
        let mut count = 0;
        let mut last = None;
        while k < n && count < 4 {
            let a = self.a[k];
            if !a.alpha_only() {
                break;
            }
            let w = self.word(k);
            let capital = a.cls & UP != 0;
            if !capital && !(allow_lower && count < 3 && (count > 0 || a.has(words::FIRST))) {
                break;
            }
            let bad = words::STOP
                | words::FILLER
                | words::LABELS
                | words::WEEKDAY
                | words::GREET
                | words::SIGNOFF
                | words::TITLE
                | words::NAMEIS
                | words::RELATION;
            if a.has(bad) && !(a.has(words::FIRST) && capital && !a.has(words::STOP)) {
                break;
            }
            if a.has(words::SUFFIX) && !allow_suffix && !a.has(words::FIRST) {
                break;
            }
            if a.has(words::MONTH) && !a.has(words::FIRST) {
                break;
            }
            if a.has(words::MONTH) && k + 1 < n && self.a[k + 1].cls & DIG != 0 {
                break;
            }
            // Single letters only as initials ("J." / "J ").
            if w.len() == 1
                && !(capital
                    && k + 1 < n
                    && matches!(
                        self.gap_bytes(k),
                        b". " | b"." | b" " | b"'" | b"\xe2\x80\x99"
                    ))
            {
                break;
            }
            if a.cls & ALLUP != 0
                && w.len() > 1
                && w.len() <= 3
                && count == 0
                && !a.has(words::FIRST)
            {
                // An acronym (ER, ICU, USA) is not a name.
                break;
            }
            count += 1;
            last = Some(k);
            if k + 1 >= n {
                break;
            }
            let g = self.gap_bytes(k);
            let glue = matches!(g, b" " | b"-" | b"'" | b". " | b"." | b"\xe2\x80\x99");
            if !glue {
                break;
            }
            k += 1;
        }
        // A lone initial is not a name.
        let last = last?;
        if last == j && self.word(j).len() == 1 {
            return None;
        }
        Some(last)
    }

    fn person(&mut self, i: usize) {
        let n = self.a.len();
        let a = self.a[i];
        let f = a.w.flags;
        let w = self.word(i);
        let push_name = |sc: &mut Self, j: usize, lower: bool, suffix: bool, conf: f32| {
            if let Some(last) = sc.name_words(j, lower, suffix) {
                let e = sc.a[last].e;
                sc.push(sc.a[j].s, e, T::Person, 50, conf);
            }
        };
        if i + 1 >= n {
            return;
        }
        let g = self.gap_bytes(i);
        // Titles: Dr. Smith, Mrs Jane Doe, Patient John Smith.
        if f & words::TITLE != 0 {
            let ok_gap = matches!(g, b" " | b". " | b": " | b"." | b", " | b" - ");
            let capital = a.cls & UP != 0;
            let (lw, ln) = lower16(w);
            let strong = !matches!(
                &lw[..ln],
                b"patient"
                    | b"pt"
                    | b"client"
                    | b"resident"
                    | b"provider"
                    | b"prescriber"
                    | b"physician"
                    | b"nurse"
                    | b"surgeon"
                    | b"therapist"
                    | b"doctor"
                    | b"rn"
                    | b"np"
                    | b"pa"
            );
            if ok_gap
                && (strong || capital || self.a[i + 1].cls & UP != 0)
                && (!strong || w.len() > 2 || capital)
            {
                push_name(self, i + 1, false, true, if strong { 0.85 } else { 0.75 });
            }
        }
        // "name is", "name:", "named".
        if f & words::NAMEIS != 0 {
            let mut j = i + 1;
            // skip "is", "'s", ":"
            while j < n && j < i + 3 && self.a[j].has(words::FILLER) && !self.a[j].has(words::FIRST)
            {
                j += 1;
            }
            if j < n && j > i && !has_byte(self.gap_bytes(j - 1), b'\n') {
                // "Smith, John" after a name label.
                if let Some(last) = self.name_words(j, true, true) {
                    let mut e = self.a[last].e;
                    if last + 1 < n
                        && self.gap_bytes(last) == b", "
                        && self.a[last + 1].alpha_only()
                        && self.a[last + 1].cls & UP != 0
                        && last == j
                        && let Some(l2) = self.name_words(last + 1, false, true)
                    {
                        e = self.a[l2].e;
                    }
                    self.push(self.a[j].s, e, T::Person, 50, 0.85);
                }
            }
        }
        // Greetings: "Hi John," "Dear Ms. Smith".
        if f & words::GREET != 0
            && matches!(g, b" " | b", " | b",")
            && !self.a[i + 1].has(words::TITLE)
        {
            push_name(self, i + 1, false, true, 0.75);
        }
        // Sign-offs: "Thanks,\nJohn Smith", "Best regards, Jane".
        if f & words::SIGNOFF != 0 {
            let mut j = i;
            while j + 1 < n
                && j < i + 3
                && (self.a[j + 1].has(words::SIGNOFF)
                    || matches!(
                        &lower16(self.word(j + 1)).0[..lower16(self.word(j + 1)).1],
                        b"you" | b"wishes" | b"again" | b"so" | b"much"
                    ))
                && !has_byte(self.gap_bytes(j), b'\n')
            {
                j += 1;
            }
            if j + 1 < n {
                let gp = self.gap_bytes(j);
                let comma = has_byte(gp, b',') || gp == b" - " || gp == b" -- ";
                let broken = has_byte(gp, b'\n') || gp == b"! " || gp == b". ";
                if (comma || broken)
                    && let Some(last) = self.name_words(j + 1, false, true)
                {
                    // After "Thanks." a capitalised word starts a sentence
                    // unless the name ends its line.
                    let after = self.gap_bytes(last);
                    let ends_line = last + 1 >= n
                        || has_byte(after, b'\n')
                        || (matches!(after, b"." | b"," | b"!") && last + 2 >= n);
                    if comma || ends_line {
                        self.push(self.a[j + 1].s, self.a[last].e, T::Person, 50, 0.75);
                    }
                }
            }
        }
        // Relations: "my son Jake", "wife, Mary".
        if f & words::RELATION != 0 && matches!(g, b" " | b", " | b": ") {
            push_name(self, i + 1, false, false, 0.7);
        }
        // "I am X", "I'm X", "this is X": only am, m and is carry SELFREF.
        if f & words::SELFREF != 0 {
            let (lbuf, lnum) = lower16(w);
            let lower = &lbuf[..lnum];
            if (lower == b"am"
                || (lower == b"m"
                    && i > 0
                    && self.word(i - 1).eq_ignore_ascii_case(b"i")
                    && matches!(self.gap_bytes(i - 1), b"'" | b"\xe2\x80\x99")))
                && i > 0
                && g == b" "
                && (lower == b"m" || self.word(i - 1).eq_ignore_ascii_case(b"i"))
            {
                push_name(self, i + 1, false, false, 0.7);
            }
            if lower == b"is"
                && i > 0
                && self.word(i - 1).eq_ignore_ascii_case(b"this")
                && g == b" "
            {
                push_name(self, i + 1, false, false, 0.7);
            }
        }
        // "spoke with X", "referred by X", "seen by X".
        if f & words::VERBNAME != 0 && g == b" " && i > 0 {
            let (pbuf, pn) = lower16(self.word(i - 1));
            if matches!(
                &pbuf[..pn],
                b"spoke"
                    | b"speak"
                    | b"talked"
                    | b"talk"
                    | b"seen"
                    | b"referred"
                    | b"signed"
                    | b"ask"
                    | b"asked"
                    | b"call"
                    | b"called"
                    | b"contact"
                    | b"contacted"
                    | b"met"
                    | b"meet"
                    | b"message"
                    | b"messaged"
                    | b"email"
                    | b"emailed"
                    | b"tell"
                    | b"told"
                    | b"treated"
                    | b"examined"
                    | b"visited"
                    | b"prescribed"
                    | b"approved"
                    | b"written"
                    | b"reviewed"
                    | b"sent"
                    | b"cc"
                    | b"forward"
                    | b"transfer"
                    | b"transferred"
                    | b"assigned"
            ) {
                push_name(self, i + 1, false, false, 0.7);
            }
        }
        // A common first name followed by a capitalised surname.
        if f & words::FIRST != 0
            && a.cls & UP != 0
            && matches!(g, b" " | b". ")
            && let Some(last) = self.name_words(i, false, false)
            && last > i
        {
            let second = self.a[i + 1];
            if !(second.has(words::SUFFIX | words::STATE)
                || (a.has(words::MONTH) && second.cls & DIG != 0))
            {
                self.push(a.s, self.a[last].e, T::Person, 50, 0.7);
            }
        }
    }

    // ------------------------------------------------------------------
    // E-mail (found with memchr on '@', independent of atoms)
    // ------------------------------------------------------------------

    #[inline(never)]
    fn emails(&mut self) {
        let b = self.b;
        for at in memchr::memchr_iter(b'@', b) {
            let mut s = at;
            while s > 0 && is_local(b[s - 1]) && at - s < 64 {
                s -= 1;
            }
            while s < at && b[s] == b'.' {
                s += 1;
            }
            if s == at {
                continue;
            }
            let mut e = at + 1;
            while e < b.len() && (b[e].is_ascii_alphanumeric() || b[e] == b'.' || b[e] == b'-') {
                e += 1;
            }
            while e > at + 1 && (b[e - 1] == b'.' || b[e - 1] == b'-') {
                e -= 1;
            }
            let domain = &b[at + 1..e];
            let Some(dot) = domain.iter().rposition(|&c| c == b'.') else {
                continue;
            };
            let tld = &domain[dot + 1..];
            if dot == 0 || tld.len() < 2 || !tld.iter().all(u8::is_ascii_alphabetic) {
                continue;
            }
            self.push(s, e, T::EmailAddress, 95, 0.97);
        }
    }
}

/// `w` lower-cased into a stack buffer (words longer than 16 bytes are cut,
/// which matches no keyword).
#[inline]
fn lower16(w: &[u8]) -> ([u8; 16], usize) {
    let mut buf = [0u8; 16];
    let n = w.len().min(16);
    for (d, c) in buf.iter_mut().zip(&w[..n]) {
        *d = c.to_ascii_lowercase();
    }
    (buf, if w.len() > 16 { 0 } else { n })
}

fn is_local(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'%' | b'+' | b'-')
}

fn url_end(b: &[u8], from: usize) -> usize {
    let mut e = from;
    while e < b.len() {
        let c = b[e];
        if c.is_ascii_whitespace() || matches!(c, b'<' | b'>' | b'"' | b'\'' | b'`') || c >= 0x80 {
            break;
        }
        e += 1;
    }
    while e > from
        && matches!(
            b[e - 1],
            b'.' | b',' | b';' | b':' | b'!' | b'?' | b')' | b']' | b'}'
        )
    {
        e -= 1;
    }
    e
}

#[inline]
fn classify_gap(g: &[u8]) -> Gap {
    match g {
        [] => Gap::None,
        b"-" => Gap::Dash,
        b"." => Gap::Dot,
        b"/" => Gap::Slash,
        b" " => Gap::Space,
        b")" | b") " | b")-" | b")." => Gap::Paren,
        b" (" | b"(" => Gap::Space,
        _ => Gap::Other,
    }
}

/// m/d/y, d/m/y or y-m-d with the same separator; '.' needs a 4-digit year.
fn numeric_date(d1: &[u8], d2: &[u8], d3: &[u8], sep: Gap) -> Option<f32> {
    let (v1, v2, v3) = (check::num(d1), check::num(d2), check::num(d3));
    let year4 = |v: u32| (1800..=2099).contains(&v);
    if d1.len() == 4 && (1..=2).contains(&d2.len()) && (1..=2).contains(&d3.len()) {
        return (year4(v1) && (1..=12).contains(&v2) && (1..=31).contains(&v3)).then_some(0.95);
    }
    if !(1..=2).contains(&d1.len()) || !(1..=2).contains(&d2.len()) {
        return None;
    }
    let year_ok = match d3.len() {
        4 => year4(v3),
        2 => sep != Gap::Dot,
        _ => false,
    };
    let md = (1..=12).contains(&v1) && (1..=31).contains(&v2);
    let dm = (1..=31).contains(&v1) && (1..=12).contains(&v2);
    (year_ok && (md || dm)).then_some(if d3.len() == 4 { 0.95 } else { 0.85 })
}

#[cfg(test)]
mod bench {
    /// `PHI_BENCH=target/phi-eval/eval.jsonl cargo test --release -p phi -- --ignored --nocapture stages`
    #[test]
    #[ignore]
    fn stages() {
        let Ok(path) = std::env::var("PHI_BENCH") else {
            return;
        };
        let raw = std::fs::read_to_string(path).expect("read");
        let texts: Vec<String> = raw
            .lines()
            .filter_map(|l| {
                let i = l.find("\"text\": \"")? + 9;
                let j = l[i..].find("\", \"spans\"")? + i;
                Some(l[i..j].replace("\\n", "\n"))
            })
            .collect();
        let bytes: usize = texts.iter().map(String::len).sum();
        let time = |name: &str, f: &dyn Fn(&str) -> usize| {
            let t = std::time::Instant::now();
            let mut sink = 0;
            for _ in 0..5 {
                for x in &texts {
                    sink += f(x);
                }
            }
            let s = t.elapsed().as_secs_f64();
            println!("{name}: {:.1} MB/s ({sink})", (bytes * 5) as f64 / s / 1e6);
        };
        time("sum", &|x| x.bytes().map(usize::from).sum());
        time("tokenize", &|x| super::tokenize(x).len());
        time("scan", &|x| super::scan(x).len());
        time("detect", &|x| crate::detect(x).len());
        time("mask", &|x| crate::mask(x).masked_text.len());
    }
}
