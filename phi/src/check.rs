//! Checksums and structural rules: the validators that keep look-alikes out.

/// Luhn over ASCII digits (separators must already be removed).
pub fn luhn(digits: &[u8]) -> bool {
    luhn_sum(digits, 0).is_multiple_of(10)
}

/// The Luhn sum of `digits`, as if `extra` more digits followed.
fn luhn_sum(digits: &[u8], extra: usize) -> u32 {
    let mut sum = 0u32;
    let n = digits.len() + extra;
    for (i, d) in digits.iter().enumerate() {
        let mut v = u32::from(d - b'0');
        // Position from the right, the check digit being position 0.
        if (n - 1 - i) % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum
}

/// A US SSN: area not 000, 666 or 900-999; group not 00; serial not 0000.
pub fn ssn(d: &[u8]) -> bool {
    if d.len() != 9 {
        return false;
    }
    let area = num(&d[0..3]);
    let group = num(&d[3..5]);
    let serial = num(&d[5..9]);
    area != 0 && area != 666 && area < 900 && group != 0 && serial != 0
        // Well-known advertising/test numbers are still numbers a user may type; keep them.
        && !d.iter().all(|&c| c == d[0])
}

/// An NPI: 10 digits starting with 1 or 2, Luhn over `80840` + the digits.
pub fn npi(d: &[u8]) -> bool {
    if d.len() != 10 || !(d[0] == b'1' || d[0] == b'2') {
        return false;
    }
    let mut buf = [0u8; 15];
    buf[..5].copy_from_slice(b"80840");
    buf[5..].copy_from_slice(d);
    luhn(&buf)
}

/// A payment card: 12-19 digits, Luhn, and an issuer prefix that exists.
pub fn card(d: &[u8]) -> bool {
    let n = d.len();
    if !(12..=19).contains(&n) || !luhn(d) {
        return false;
    }
    let p2 = num(&d[..2]);
    let p3 = num(&d[..3]);
    let p4 = num(&d[..4]);
    let p6 = num(&d[..6]);
    match d[0] {
        b'4' => matches!(n, 13 | 16 | 19),
        b'5' => (51..=55).contains(&p2) && n == 16,
        b'2' => (2221..=2720).contains(&p4) && n == 16,
        b'3' => {
            ((p2 == 34 || p2 == 37) && n == 15)
                || ((300..=305).contains(&p3) || p2 == 36 || p2 == 38 || p2 == 39)
                    && (14..=19).contains(&n)
                || p2 == 35 && (16..=19).contains(&n)
        }
        b'6' => {
            (p4 == 6011
                || p2 == 65
                || (644..=649).contains(&p3)
                || (622126..=622925).contains(&p6)
                || p2 == 62)
                && (16..=19).contains(&n)
                || (p4 == 6304 || p4 == 6759 || p4 == 6761 || p4 == 6762 || p4 == 6763)
                    && (12..=19).contains(&n)
        }
        _ => false,
    }
}

/// An ABA routing number: a Federal Reserve prefix and the 3-7-1 checksum.
pub fn aba(d: &[u8]) -> bool {
    if d.len() != 9 {
        return false;
    }
    let p = num(&d[..2]);
    if !(p <= 12 || (21..=32).contains(&p) || (61..=72).contains(&p) || p == 80) {
        return false;
    }
    if d.iter().all(|&c| c == b'0') {
        return false;
    }
    let v: Vec<u32> = d.iter().map(|c| u32::from(c - b'0')).collect();
    (3 * (v[0] + v[3] + v[6]) + 7 * (v[1] + v[4] + v[7]) + (v[2] + v[5] + v[8])).is_multiple_of(10)
}

/// A DEA registration number (uppercase): a registrant letter, a letter or
/// 9, seven digits; (d1+d3+d5) + 2(d2+d4+d6) ends in d7.
pub fn dea(s: &[u8]) -> bool {
    if s.len() != 9 {
        return false;
    }
    let first_ok = matches!(
        s[0],
        b'A' | b'B'
            | b'C'
            | b'D'
            | b'E'
            | b'F'
            | b'G'
            | b'H'
            | b'J'
            | b'K'
            | b'L'
            | b'M'
            | b'P'
            | b'R'
            | b'S'
            | b'T'
            | b'U'
            | b'X'
    );
    let second_ok = s[1].is_ascii_uppercase() || s[1] == b'9';
    if !first_ok || !second_ok || !s[2..].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let d: Vec<u32> = s[2..].iter().map(|c| u32::from(c - b'0')).collect();
    (d[0] + d[2] + d[4] + 2 * (d[1] + d[3] + d[5])) % 10 == d[6]
}

/// A Medicare Beneficiary Identifier (uppercase, no dashes): CMS positions
/// C A AN N A AN N A A N N, letters excluding S, L, O, I, B, Z.
pub fn mbi(s: &[u8]) -> bool {
    if s.len() != 11 {
        return false;
    }
    let alpha =
        |c: u8| c.is_ascii_uppercase() && !matches!(c, b'S' | b'L' | b'O' | b'I' | b'B' | b'Z');
    let num = |c: u8| c.is_ascii_digit();
    let an = |c: u8| alpha(c) || num(c);
    (b'1'..=b'9').contains(&s[0])
        && alpha(s[1])
        && an(s[2])
        && num(s[3])
        && alpha(s[4])
        && an(s[5])
        && num(s[6])
        && alpha(s[7])
        && alpha(s[8])
        && num(s[9])
        && num(s[10])
}

/// An IBAN (uppercase, no spaces): country letters, check digits, a BBAN,
/// the length for its country where known, and mod 97 == 1.
pub fn iban(s: &[u8]) -> bool {
    let n = s.len();
    if !(15..=34).contains(&n)
        || !s[0].is_ascii_uppercase()
        || !s[1].is_ascii_uppercase()
        || !s[2].is_ascii_digit()
        || !s[3].is_ascii_digit()
        || !s
            .iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    {
        return false;
    }
    if let Some(len) = iban_length(&s[..2])
        && len != n
    {
        return false;
    }
    let mut rem: u32 = 0;
    for &c in s[4..].iter().chain(&s[..4]) {
        if c.is_ascii_digit() {
            rem = (rem * 10 + u32::from(c - b'0')) % 97;
        } else {
            let v = u32::from(c - b'A') + 10;
            rem = (rem * 100 + v) % 97;
        }
    }
    rem == 1
}

/// The length of an IBAN of country `cc`, for the countries listed.
pub(crate) fn iban_length(cc: &[u8]) -> Option<usize> {
    Some(match cc {
        b"AD" => 24,
        b"AE" => 23,
        b"AL" => 28,
        b"AT" => 20,
        b"AZ" => 28,
        b"BA" => 20,
        b"BE" => 16,
        b"BG" => 22,
        b"BH" => 22,
        b"BR" => 29,
        b"CH" => 21,
        b"CR" => 22,
        b"CY" => 28,
        b"CZ" => 24,
        b"DE" => 22,
        b"DK" => 18,
        b"DO" => 28,
        b"EE" => 20,
        b"EG" => 29,
        b"ES" => 24,
        b"FI" => 18,
        b"FO" => 18,
        b"FR" => 27,
        b"GB" => 22,
        b"GE" => 22,
        b"GI" => 23,
        b"GL" => 18,
        b"GR" => 27,
        b"GT" => 28,
        b"HR" => 21,
        b"HU" => 28,
        b"IE" => 22,
        b"IL" => 23,
        b"IS" => 26,
        b"IT" => 27,
        b"JO" => 30,
        b"KW" => 30,
        b"KZ" => 20,
        b"LB" => 28,
        b"LI" => 21,
        b"LT" => 20,
        b"LU" => 20,
        b"LV" => 21,
        b"MC" => 27,
        b"MD" => 24,
        b"ME" => 22,
        b"MK" => 19,
        b"MR" => 27,
        b"MT" => 31,
        b"MU" => 30,
        b"NL" => 18,
        b"NO" => 15,
        b"PK" => 24,
        b"PL" => 28,
        b"PS" => 29,
        b"PT" => 25,
        b"QA" => 29,
        b"RO" => 24,
        b"RS" => 22,
        b"SA" => 24,
        b"SE" => 24,
        b"SI" => 19,
        b"SK" => 24,
        b"SM" => 27,
        b"TN" => 24,
        b"TR" => 26,
        b"UA" => 29,
        b"VG" => 24,
        b"XK" => 20,
        _ => return None,
    })
}

/// A VIN (uppercase): 17 characters without I, O, Q, and the check digit
/// in position 9.
pub fn vin(s: &[u8]) -> bool {
    if s.len() != 17 {
        return false;
    }
    const WEIGHTS: [u32; 17] = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];
    let mut sum = 0u32;
    let mut letters = 0;
    for (i, &c) in s.iter().enumerate() {
        let v = match c {
            b'0'..=b'9' => u32::from(c - b'0'),
            b'A'..=b'H' => u32::from(c - b'A') + 1,
            b'J'..=b'N' => u32::from(c - b'J') + 1,
            b'P' => 7,
            b'R' => 9,
            b'S'..=b'Z' => u32::from(c - b'S') + 2,
            _ => return false,
        };
        if c.is_ascii_uppercase() {
            letters += 1;
        }
        sum += v * WEIGHTS[i];
    }
    let check = sum % 11;
    let expected = if check == 10 {
        b'X'
    } else {
        b'0' + check as u8
    };
    // Model-year position (10) is never 0, U or Z; a VIN has letters and digits.
    letters > 0 && letters < 17 && s[8] == expected && !matches!(s[9], b'0' | b'U' | b'Z')
}

/// A NANP number: area and exchange start with 2-9; the area is not N11
/// (service codes) and not 37X/96X reserved blocks... kept simple: N11 only.
pub fn nanp(area: &[u8], exchange: &[u8]) -> bool {
    area.len() == 3
        && exchange.len() == 3
        && (b'2'..=b'9').contains(&area[0])
        && (b'2'..=b'9').contains(&exchange[0])
        && !(area[1] == b'1' && area[2] == b'1')
        && (area[1] != b'9')
}

/// The value of up to 9 ASCII digits.
pub fn num(d: &[u8]) -> u32 {
    d.iter().fold(0u32, |acc, c| {
        acc.wrapping_mul(10)
            .wrapping_add(u32::from(c.wrapping_sub(b'0')))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_and_cards() {
        assert!(card(b"4111111111111111"));
        assert!(card(b"5500005555555559"));
        assert!(card(b"378282246310005"));
        assert!(card(b"6011111111111117"));
        assert!(!card(b"4111111111111112"));
        assert!(!card(b"1234567812345670")); // Luhn-valid, no issuer
    }

    #[test]
    fn ssn_rules() {
        assert!(ssn(b"123456789"));
        assert!(!ssn(b"000456789"));
        assert!(!ssn(b"666456789"));
        assert!(!ssn(b"912456789"));
        assert!(!ssn(b"123006789"));
        assert!(!ssn(b"123450000"));
    }

    #[test]
    fn npi_rule() {
        assert!(npi(b"1234567893"));
        assert!(!npi(b"1234567890"));
        assert!(!npi(b"3234567893"));
    }

    #[test]
    fn dea_rule() {
        assert!(dea(b"AB1234563"));
        assert!(!dea(b"AB1234564"));
        assert!(!dea(b"QB1234563"));
    }

    #[test]
    fn mbi_rule() {
        assert!(mbi(b"1EG4TE5MK73"));
        assert!(!mbi(b"1EG4TE5MK7A"));
        assert!(!mbi(b"0EG4TE5MK73"));
        assert!(!mbi(b"1SG4TE5MK73"));
    }

    #[test]
    fn iban_rule() {
        assert!(iban(b"GB82WEST12345698765432"));
        assert!(iban(b"DE89370400440532013000"));
        assert!(!iban(b"GB82WEST12345698765433"));
    }

    #[test]
    fn aba_rule() {
        assert!(aba(b"011000015"));
        assert!(aba(b"021000021"));
        assert!(!aba(b"021000022"));
        assert!(!aba(b"991000021"));
    }

    #[test]
    fn vin_rule() {
        assert!(vin(b"1M8GDM9AXKP042788"));
        assert!(!vin(b"11111111111111111"));
        assert!(!vin(b"1M8GDM9A1KP042788"));
    }

    #[test]
    fn nanp_rule() {
        assert!(nanp(b"415", b"555"));
        assert!(!nanp(b"115", b"555"));
        assert!(!nanp(b"415", b"155"));
        assert!(!nanp(b"911", b"555"));
    }
}
