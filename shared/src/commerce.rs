//! What `upsert-product` and `checkout` share: the SKU rule, ISO 4217
//! currencies with their minor units, and exact decimal amounts written as
//! JSON strings. Money is `rust_decimal::Decimal` here, NUMERIC in the
//! database and a string in JSON; never a float anywhere.
//!
//! Codes and minor units come from `iso_currency` (the ISO 4217 list), so a
//! new or withdrawn currency is a dependency bump, not a code change.

use iso_currency::Currency;
use rust_decimal::Decimal;

/// A catalog SKU: `^[A-Za-z0-9._-]{1,64}$` (the `products.sku` check).
pub fn is_sku(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The number of decimals (minor unit) of an ISO 4217 code: `USD` 2, `JPY` 0,
/// `BHD` 3. `None` for anything that is not an upper-case ISO 4217 code, and
/// for codes without a minor unit (gold `XAU`, `XXX` "no currency"): nothing
/// can be priced in those.
pub fn minor_units(code: &str) -> Option<u32> {
    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
        return None;
    }
    Currency::from_code(code)?.exponent().map(u32::from)
}

/// Parses a plain decimal string strictly: ASCII digits with at most one
/// `.` between digits; no sign, exponent, spaces, or `_`. `"12.50"`, `"7"`.
/// The scale of the text is kept (`"1.50"` has two decimals).
pub fn parse_amount(text: &str) -> Option<Decimal> {
    let (int, frac) = match text.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (text, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || frac.is_some_and(|f| !digits(f)) {
        return None;
    }
    // Decimal holds 28 significant digits; longer texts are refused, not rounded.
    Decimal::from_str_exact(text).ok()
}

/// The number of decimals an amount really uses (`1.50` uses 1).
pub fn decimals_used(amount: Decimal) -> u32 {
    amount.normalize().scale()
}

/// `amount` written with at least the currency's minor unit and no
/// needless trailing zeros beyond it: `12.5` in USD is `12.50`, `1200.0000`
/// in JPY is `1200`. The value never changes, only its scale.
pub fn for_display(amount: Decimal, minor_units: u32) -> Decimal {
    let mut d = amount.normalize();
    if d.scale() < minor_units {
        d.rescale(minor_units);
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skus_follow_the_catalog_rule() {
        assert!(is_sku("ABC-1.x_2"));
        assert!(is_sku(&"a".repeat(64)));
        for bad in ["", "a b", "a/b", "é", "a%20", &"a".repeat(65)] {
            assert!(!is_sku(bad), "{bad}");
        }
    }

    #[test]
    fn minor_units_come_from_iso_4217() {
        assert_eq!(minor_units("USD"), Some(2));
        assert_eq!(minor_units("JPY"), Some(0));
        assert_eq!(minor_units("BHD"), Some(3));
        assert_eq!(minor_units("usd"), None);
        assert_eq!(minor_units("ABC"), None);
        assert_eq!(minor_units("XAU"), None);
        assert_eq!(minor_units("US"), None);
    }

    #[test]
    fn amounts_parse_strictly_and_exactly() {
        assert_eq!(
            parse_amount("12.50").map(|d| d.to_string()),
            Some("12.50".into())
        );
        assert_eq!(parse_amount("7").map(|d| d.to_string()), Some("7".into()));
        for bad in [
            "", ".5", "5.", "-1", "+1", "1e3", " 1", "1 ", "1,5", "1.2.3", "NaN", "0x10",
        ] {
            assert_eq!(parse_amount(bad), None, "{bad}");
        }
        assert_eq!(parse_amount("0.1").map(decimals_used), Some(1));
        assert_eq!(parse_amount("0.10").map(decimals_used), Some(1));
    }

    #[test]
    fn display_pads_to_the_minor_unit_only() {
        let d = |s: &str| parse_amount(s).expect("amount");
        assert_eq!(for_display(d("12.5000"), 2).to_string(), "12.50");
        assert_eq!(for_display(d("1200.0000"), 0).to_string(), "1200");
        assert_eq!(for_display(d("1.2345"), 2).to_string(), "1.2345");
        assert_eq!(for_display(d("3"), 3).to_string(), "3.000");
    }
}
