//! PHI detection and masking for free text.
//!
//! The detector reads a message once: one pass splits it into *atoms* (runs
//! of letters and digits; everything else is a separator; the class of an
//! atom comes from one table load per byte and one per atom) and looks each
//! short word up in one hash table of context words (labels such as `MRN`
//! or `routing`, name triggers such as `Dr` or `Dear`, months, street
//! suffixes, top-level domains, negative cues such as `order` or `version`).
//! The key of a word is one 8-byte load and a mask (two of each past eight
//! letters); a one-hash Bloom filter in front of the table turns most
//! unknown words away. Per-call buffers are kept per thread and reused.
//! A second, much shorter walk over the atoms tries the recognisers only
//! where they can match: a word goes further only if its flags include one
//! the walk acts on (`ACTS`: name triggers, months, schemes, top-level
//! domains, `am`/`is`), so context words cost nothing there; digit runs
//! joined by `-./ ()` are parsed once into a chain (each gap classified
//! once) and read as phones, SSNs, cards, dates, IPs, each recogniser
//! first checking what is cheap (group length, the atom before, the next
//! word) before any context search; mixed letter-digit
//! atoms as MBI, DEA, VIN, IBAN; context labels anchor MRN, member, account
//! and licence numbers and ZIP codes. Checksums (Luhn, NPI, DEA, MBI
//! positions, IBAN mod-97, ABA 3-7-1, VIN) run only on those candidates.
//! Overlapping candidates resolve to one finding per span, the most specific
//! type winning; every value found is then searched for again so a repeated
//! identifier is masked everywhere.
//!
//! Offsets of [`Finding`] count Unicode code points. A finding carries a
//! masked value only, never the raw text.

mod check;
mod scan;
mod words;

pub use check::{aba, card, dea, iban, luhn, mbi, npi, ssn, vin};

/// The kinds of PHI the detector finds (HIPAA Safe Harbor identifiers that
/// patterns, checksums and context words can find).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EntityType {
    Person,
    UsSsn,
    PhoneNumber,
    EmailAddress,
    CreditCard,
    Date,
    Age,
    MedicalRecordNumber,
    UsNpi,
    UsDeaNumber,
    UsMbi,
    HealthPlanId,
    AccountNumber,
    IbanCode,
    AbaRoutingNumber,
    IpAddress,
    Url,
    UsZipCode,
    StreetAddress,
    UsDriverLicense,
    Vin,
}

impl EntityType {
    pub const ALL: [EntityType; 21] = [
        Self::Person,
        Self::UsSsn,
        Self::PhoneNumber,
        Self::EmailAddress,
        Self::CreditCard,
        Self::Date,
        Self::Age,
        Self::MedicalRecordNumber,
        Self::UsNpi,
        Self::UsDeaNumber,
        Self::UsMbi,
        Self::HealthPlanId,
        Self::AccountNumber,
        Self::IbanCode,
        Self::AbaRoutingNumber,
        Self::IpAddress,
        Self::Url,
        Self::UsZipCode,
        Self::StreetAddress,
        Self::UsDriverLicense,
        Self::Vin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Person => "PERSON",
            Self::UsSsn => "US_SSN",
            Self::PhoneNumber => "PHONE_NUMBER",
            Self::EmailAddress => "EMAIL_ADDRESS",
            Self::CreditCard => "CREDIT_CARD",
            Self::Date => "DATE",
            Self::Age => "AGE",
            Self::MedicalRecordNumber => "MEDICAL_RECORD_NUMBER",
            Self::UsNpi => "US_NPI",
            Self::UsDeaNumber => "US_DEA_NUMBER",
            Self::UsMbi => "US_MBI",
            Self::HealthPlanId => "HEALTH_PLAN_ID",
            Self::AccountNumber => "ACCOUNT_NUMBER",
            Self::IbanCode => "IBAN_CODE",
            Self::AbaRoutingNumber => "ABA_ROUTING_NUMBER",
            Self::IpAddress => "IP_ADDRESS",
            Self::Url => "URL",
            Self::UsZipCode => "US_ZIP_CODE",
            Self::StreetAddress => "STREET_ADDRESS",
            Self::UsDriverLicense => "US_DRIVER_LICENSE",
            Self::Vin => "VIN",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// Identifiers whose last characters may be shown (`***-**-6789`).
    fn is_number(self) -> bool {
        matches!(
            self,
            Self::UsSsn
                | Self::PhoneNumber
                | Self::CreditCard
                | Self::MedicalRecordNumber
                | Self::UsNpi
                | Self::UsDeaNumber
                | Self::UsMbi
                | Self::HealthPlanId
                | Self::AccountNumber
                | Self::IbanCode
                | Self::AbaRoutingNumber
                | Self::UsDriverLicense
                | Self::Vin
        )
    }
}

impl std::fmt::Display for EntityType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One piece of PHI. `start`/`end` count code points of the scanned text;
/// `byte_start`/`byte_end` are the same span in bytes. The raw value is not
/// kept: take it from the text if you must, and never log it.
#[derive(Clone, PartialEq)]
pub struct Finding {
    pub entity: EntityType,
    pub start: usize,
    pub end: usize,
    pub byte_start: usize,
    pub byte_end: usize,
    pub masked_value: String,
    pub confidence: f32,
}

impl std::fmt::Debug for Finding {
    // Only masked data: a finding may be logged by mistake.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Finding")
            .field("entity", &self.entity)
            .field("start", &self.start)
            .field("end", &self.end)
            .field("masked_value", &self.masked_value)
            .field("confidence", &self.confidence)
            .finish()
    }
}

/// The text with every finding replaced by its masked value, and the findings.
#[derive(Debug, Clone)]
pub struct Masked {
    pub masked_text: String,
    pub findings: Vec<Finding>,
}

/// Builds the word table now, so the first call does not pay for it.
pub fn warm_up() {
    words::warm();
}

/// Finds PHI in `text`: non-overlapping findings in text order.
pub fn detect(text: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let ascii = text.is_ascii();
    let (mut pos_b, mut pos_c) = (0usize, 0usize);
    let mut to_chars = |b: usize| -> usize {
        if ascii {
            return b;
        }
        // Findings come in order: count code points incrementally.
        if b >= pos_b {
            pos_c += bytes[pos_b..b]
                .iter()
                .filter(|&&c| (c & 0xC0) != 0x80)
                .count();
        } else {
            pos_c = bytes[..b].iter().filter(|&&c| (c & 0xC0) != 0x80).count();
        }
        pos_b = b;
        pos_c
    };
    scan::scan_each(text, |s| {
        if out.capacity() == 0 {
            // Every finding of the text but this one is still to come.
            out.reserve_exact(s.left + 1);
        }
        let raw = &text[s.start..s.end];
        let start = to_chars(s.start);
        let end = to_chars(s.end);
        // Kept last characters glued to more text could, with it, spell
        // another value: mask such a finding entirely.
        let next = bytes.get(s.end).copied();
        let after = bytes.get(s.end + 1).copied();
        let glued = next.is_some_and(|c| c.is_ascii_alphanumeric() || c >= 0x80)
            || (matches!(next, Some(b'-' | b'/' | b'.' | b'_' | b'@' | b':'))
                && after.is_some_and(|c| c.is_ascii_alphanumeric()));
        out.push(Finding {
            entity: s.entity,
            start,
            end,
            byte_start: s.start,
            byte_end: s.end,
            masked_value: if glued {
                tag(s.entity)
            } else {
                masked_value(s.entity, raw)
            },
            confidence: s.confidence,
        });
    });
    out
}

/// `[TYPE]`, the masked value of a finding nothing of which may be kept.
fn tag(entity: EntityType) -> String {
    let name = entity.as_str();
    let mut t = String::with_capacity(name.len() + 2);
    t.push('[');
    t.push_str(name);
    t.push(']');
    t
}

/// The length of `text` once every finding is replaced by its masked value.
fn masked_len(text: &str, findings: &[Finding]) -> usize {
    findings.iter().fold(text.len(), |n, f| {
        (n + f.masked_value.len()).saturating_sub(f.byte_end.saturating_sub(f.byte_start))
    })
}

/// Detects and masks in one call.
pub fn mask(text: &str) -> Masked {
    let findings = detect(text);
    let masked_text = apply(text, &findings);
    Masked {
        masked_text,
        findings,
    }
}

/// [`mask`] plus, for each finding, a window of the *masked* text around
/// its masked value: what an audit trail may keep as context.
#[derive(Debug, Clone)]
pub struct MaskedWithContext {
    pub masked_text: String,
    pub findings: Vec<Finding>,
    pub contexts: Vec<String>,
}

/// Detects, masks, and cuts `chars` characters of masked text on each side
/// of every finding.
pub fn mask_with_context(text: &str, chars: usize) -> MaskedWithContext {
    let findings = detect(text);
    let mut masked = String::with_capacity(masked_len(text, &findings));
    let mut positions = Vec::with_capacity(findings.len());
    let mut last = 0;
    for f in &findings {
        masked.push_str(&text[last..f.byte_start]);
        let s = masked.len();
        masked.push_str(&f.masked_value);
        positions.push((s, masked.len()));
        last = f.byte_end;
    }
    masked.push_str(&text[last..]);
    let contexts = positions
        .iter()
        .map(|&(s, e)| window(&masked, s, e, chars))
        .collect();
    MaskedWithContext {
        masked_text: masked,
        findings,
        contexts,
    }
}

/// `text[s..e]` widened by up to `chars` characters on each side.
fn window(text: &str, s: usize, e: usize, chars: usize) -> String {
    let start = if chars == 0 {
        s
    } else {
        text[..s]
            .char_indices()
            .rev()
            .nth(chars - 1)
            .map_or(0, |(i, _)| i)
    };
    let end = text[e..]
        .char_indices()
        .nth(chars)
        .map_or(text.len(), |(i, _)| e + i);
    text[start..end].to_owned()
}

/// `text` with each finding's byte span replaced by its masked value.
pub fn apply(text: &str, findings: &[Finding]) -> String {
    let mut out = String::with_capacity(masked_len(text, findings));
    let mut last = 0;
    for f in findings {
        if f.byte_start < last || f.byte_end > text.len() {
            continue;
        }
        out.push_str(&text[last..f.byte_start]);
        out.push_str(&f.masked_value);
        last = f.byte_end;
    }
    out.push_str(&text[last..]);
    out
}

/// The masked form of a value of type `entity`: for identifiers, at most
/// the last four letters or digits stay (fewer for short values; none for
/// values under six characters) and separators keep their place, e.g.
/// `***-**-6789`; anything else becomes a type tag such as `[PERSON]`.
pub fn masked_value(entity: EntityType, raw: &str) -> String {
    if entity.is_number() {
        // Counted on bytes: no byte of a non-ASCII character is an ASCII
        // letter or digit, so this counts the same as on characters. One
        // pass from the end: the letters and digits, and how many of the
        // last ones are digits.
        let b = raw.as_bytes();
        let (mut n, mut digits, mut trailing) = (0usize, 0usize, true);
        for &c in b.iter().rev() {
            if c.is_ascii_alphanumeric() {
                n += 1;
                trailing &= c.is_ascii_digit();
                digits += usize::from(trailing);
            }
        }
        let keep = if n >= 9 {
            4
        } else if n >= 6 {
            2
        } else {
            0
        };
        // Only trailing digits are kept: letters could spell a word of the text.
        let keep = keep.min(digits);
        if keep > 0 {
            let mut seen = 0;
            if raw.is_ascii() {
                // One byte per character: a copy of the bytes, changed in place.
                let mut out = b.to_vec();
                for c in &mut out {
                    if c.is_ascii_alphanumeric() {
                        seen += 1;
                        if seen <= n - keep {
                            *c = b'*';
                        }
                    } else if char::from(*c).is_whitespace() {
                        *c = b' ';
                    }
                }
                // Still ASCII, so this cannot fail.
                return String::from_utf8(out).unwrap_or_else(|_| tag(entity));
            }
            let mut out = String::with_capacity(raw.len());
            out.extend(raw.chars().map(|c| {
                if c.is_ascii_alphanumeric() {
                    seen += 1;
                    if seen > n - keep { c } else { '*' }
                } else if c.is_whitespace() {
                    ' '
                } else {
                    c
                }
            }));
            return out;
        }
    }
    tag(entity)
}

#[cfg(test)]
mod tests;
