use super::*;
use proptest::prelude::*;

/// The (type, raw text) of every finding.
fn found(text: &str) -> Vec<(EntityType, String)> {
    detect(text)
        .into_iter()
        .map(|f| (f.entity, text[f.byte_start..f.byte_end].to_owned()))
        .collect()
}

#[track_caller]
fn has(text: &str, ty: EntityType, raw: &str) {
    let f = found(text);
    assert!(
        f.iter().any(|(t, r)| *t == ty && r == raw),
        "expected {ty} {raw:?} in {text:?}, found {f:?}"
    );
}

#[track_caller]
fn none_of(text: &str, ty: EntityType) {
    let f = found(text);
    assert!(
        !f.iter().any(|(t, _)| *t == ty),
        "expected no {ty} in {text:?}, found {f:?}"
    );
}

#[track_caller]
fn clean(text: &str) {
    let f = found(text);
    assert!(f.is_empty(), "expected nothing in {text:?}, found {f:?}");
}

use EntityType as E;

#[test]
fn ssn() {
    has("SSN: 123-45-6789", E::UsSsn, "123-45-6789");
    has("my social is 123 45 6789", E::UsSsn, "123 45 6789");
    has("social security number 123456789", E::UsSsn, "123456789");
    none_of("SSN: 000-45-6789", E::UsSsn);
    none_of("SSN: 666-45-6789", E::UsSsn);
    none_of("SSN: 912-45-6789", E::UsSsn);
    none_of("SSN: 123-00-6789", E::UsSsn);
    none_of("SSN: 123-45-0000", E::UsSsn);
    none_of("SSN: 123-45.6789", E::UsSsn);
    none_of("order number 123456789 shipped", E::UsSsn);
}

#[test]
fn phone() {
    has(
        "call me at (415) 555-2671 tomorrow",
        E::PhoneNumber,
        "(415) 555-2671",
    );
    has("cell 415-555-2671", E::PhoneNumber, "415-555-2671");
    has("+1 415 555 2671", E::PhoneNumber, "+1 415 555 2671");
    has("1-800-555-2671 x123", E::PhoneNumber, "1-800-555-2671 x123");
    has(
        "phone 415.555.2671 ext. 45",
        E::PhoneNumber,
        "415.555.2671 ext. 45",
    );
    has("phone: 4155552671", E::PhoneNumber, "4155552671");
    has("+14155552671", E::PhoneNumber, "+14155552671");
    none_of("call 115-555-2671", E::PhoneNumber);
    none_of("call 415-155-2671", E::PhoneNumber);
    none_of("dial 911 now", E::PhoneNumber);
    none_of("order 4155552671 shipped", E::PhoneNumber);
}

#[test]
fn email_and_url() {
    has(
        "write to jane.doe+x@example.org.",
        E::EmailAddress,
        "jane.doe+x@example.org",
    );
    none_of("write to jane.doe@example.org", E::Url);
    has(
        "see https://portal.example.com/p/123?x=1.",
        E::Url,
        "https://portal.example.com/p/123?x=1",
    );
    has("visit www.example.com today", E::Url, "www.example.com");
    has("visit example.com/records", E::Url, "example.com/records");
    none_of("open report.pdf and notes.txt", E::Url);
    none_of("e.g. this", E::Url);
}

#[test]
fn cards() {
    has(
        "card 4111 1111 1111 1111",
        E::CreditCard,
        "4111 1111 1111 1111",
    );
    has(
        "visa 4111-1111-1111-1111",
        E::CreditCard,
        "4111-1111-1111-1111",
    );
    has("amex 3782 822463 10005", E::CreditCard, "3782 822463 10005");
    has(
        "pay with 4111111111111111",
        E::CreditCard,
        "4111111111111111",
    );
    none_of("card 4111 1111 1111 1112", E::CreditCard);
    none_of("tracking 1234567812345670", E::CreditCard);
}

#[test]
fn dates() {
    has("DOB 06/04/1942", E::Date, "06/04/1942");
    has("born 1942-06-04", E::Date, "1942-06-04");
    has("on 6/4/42 she", E::Date, "6/4/42");
    has("born June 4, 1942 in", E::Date, "June 4, 1942");
    has("born 4 Jun 1942 in", E::Date, "4 Jun 1942");
    has(
        "born on the 4th of June, 1942",
        E::Date,
        "4th of June, 1942",
    );
    has(
        "seen Monday, March 3rd, 2024",
        E::Date,
        "Monday, March 3rd, 2024",
    );
    has("in June 1942", E::Date, "June 1942");
    none_of("take 1/2 tablet", E::Date);
    none_of("version 2.10.12 released", E::Date);
    none_of("at 10:30 am", E::Date);
    none_of("you may 4 times", E::Date);
    none_of("13/45/2020", E::Date);
}

#[test]
fn ages() {
    has("a 94 year old man", E::Age, "94");
    has("she is 101 years old", E::Age, "101");
    has("age: 92", E::Age, "92");
    has("94-year-old", E::Age, "94");
    none_of("a 45 year old man", E::Age);
    none_of("room 94", E::Age);
}

#[test]
fn checksummed() {
    has("NPI 1234567893", E::UsNpi, "1234567893");
    none_of("NPI 1234567890", E::UsNpi);
    has("DEA AB1234563", E::UsDeaNumber, "AB1234563");
    has("dea ab1234563", E::UsDeaNumber, "ab1234563");
    none_of("DEA AB1234564", E::UsDeaNumber);
    has("Medicare 1EG4-TE5-MK73", E::UsMbi, "1EG4-TE5-MK73");
    has("MBI 1EG4TE5MK73", E::UsMbi, "1EG4TE5MK73");
    none_of("code 1SG4TE5MK73", E::UsMbi);
    has(
        "IBAN GB82 WEST 1234 5698 7654 32",
        E::IbanCode,
        "GB82 WEST 1234 5698 7654 32",
    );
    has(
        "to DE89370400440532013000.",
        E::IbanCode,
        "DE89370400440532013000",
    );
    none_of("GB82 WEST 1234 5698 7654 33", E::IbanCode);
    has("routing 021000021", E::AbaRoutingNumber, "021000021");
    none_of("routing 021000022", E::AbaRoutingNumber);
    has("VIN 1M8GDM9AXKP042788", E::Vin, "1M8GDM9AXKP042788");
    none_of("VIN 1M8GDM9A1KP042788", E::Vin);
}

#[test]
fn ip() {
    has("from 192.168.1.20 at", E::IpAddress, "192.168.1.20");
    has(
        "host 2001:db8:85a3::8a2e:370:7334",
        E::IpAddress,
        "2001:db8:85a3::8a2e:370:7334",
    );
    has(
        "ip fe80:0:0:0:202:b3ff:fe1e:8329",
        E::IpAddress,
        "fe80:0:0:0:202:b3ff:fe1e:8329",
    );
    none_of("version 10.2.3.4 is out", E::IpAddress);
    none_of("v10.2.3.4", E::IpAddress);
    none_of("256.1.1.1", E::IpAddress);
    none_of("at 10:30:45", E::IpAddress);
}

#[test]
fn labelled() {
    has("MRN: 00123456", E::MedicalRecordNumber, "00123456");
    has(
        "medical record number is A-99812",
        E::MedicalRecordNumber,
        "A-99812",
    );
    has("Member ID W123456789", E::HealthPlanId, "W123456789");
    has("policy number: XYZ-4482-11", E::HealthPlanId, "XYZ-4482-11");
    has("account # 00982341", E::AccountNumber, "00982341");
    has("driver's license D1234567", E::UsDriverLicense, "D1234567");
    has("DL: 123456789", E::UsDriverLicense, "123456789");
    has("zip code 62704", E::UsZipCode, "62704");
    has("Springfield, IL 62704", E::UsZipCode, "62704");
    none_of("I walked 62704 steps", E::UsZipCode);
    none_of("account is fine, 3 items", E::AccountNumber);
    none_of("ICD-10 code E11.9 and CPT 99213", E::MedicalRecordNumber);
}

#[test]
fn addresses() {
    has(
        "lives at 123 Main St. now",
        E::StreetAddress,
        "123 Main St.",
    );
    has(
        "lives at 4821 Oak Ridge Avenue, Apt 4B",
        E::StreetAddress,
        "4821 Oak Ridge Avenue, Apt 4B",
    );
    has(
        "mail 77 Sunset Blvd, Springfield, IL 62704 please",
        E::StreetAddress,
        "77 Sunset Blvd, Springfield, IL 62704",
    );
    has("PO Box 1234", E::StreetAddress, "PO Box 1234");
    none_of("walked 3 blocks down the road", E::StreetAddress);
}

#[test]
fn names() {
    has("Patient John Smith was seen", E::Person, "John Smith");
    has(
        "Dr. Alice Nguyen-Park called",
        E::Person,
        "Alice Nguyen-Park",
    );
    has("my name is Maria Garcia and", E::Person, "Maria Garcia");
    has("my name is maria garcia and", E::Person, "maria garcia");
    has("Hi Kevin, your results", E::Person, "Kevin");
    has("Thanks,\nRobert O'Neil", E::Person, "Robert O'Neil");
    has(
        "I spoke with Tamsin Holloway today",
        E::Person,
        "Tamsin Holloway",
    );
    has("Sarah Connor called", E::Person, "Sarah Connor");
    none_of("Hi there, the Patient Portal is down", E::Person);
    none_of("Thanks for your help", E::Person);
    none_of("The ER was busy", E::Person);
}

#[test]
fn self_introductions() {
    // The short words `person` reads (am, m, is) carry their own flag,
    // in any case.
    has("hello, I am Tamsin Holloway", E::Person, "Tamsin Holloway");
    has("I AM Tamsin Holloway", E::Person, "Tamsin Holloway");
    has("This Is Tamsin Holloway", E::Person, "Tamsin Holloway");
    has(
        "I'm Tamsin Holloway from the clinic",
        E::Person,
        "Tamsin Holloway",
    );
    has("I\u{2019}m Tamsin Holloway", E::Person, "Tamsin Holloway");
    has(
        "this is Tamsin Holloway calling",
        E::Person,
        "Tamsin Holloway",
    );
    // Other short function words before a capitalised word start no name.
    none_of("we went to Boston General on the way in", E::Person);
    none_of("it is at Mercy West", E::Person);
}

#[test]
fn negatives() {
    clean("Order #123456789 shipped via UPS tracking 1Z999AA10123456784");
    clean("Take 500 mg twice daily at 10:30; copay $25.00");
    clean("ICD-10 E11.9, CPT 99213, version 3.2.1");
    clean("call 911 if chest pain");
    clean("Invoice 4829301847 total $1,234.56");
}

#[test]
fn overlaps_resolve_to_one_finding() {
    let f = detect("Email jane@example.com or see example.com");
    let spans: Vec<_> = f.iter().map(|x| (x.start, x.end)).collect();
    for w in spans.windows(2) {
        assert!(w[0].1 <= w[1].0, "{spans:?}");
    }
    assert_eq!(f[0].entity, E::EmailAddress);
}

#[test]
fn offsets_count_code_points() {
    let text = "Größe — SSN 123-45-6789";
    let f = detect(text);
    assert_eq!(f.len(), 1);
    let chars: Vec<char> = text.chars().collect();
    let got: String = chars[f[0].start..f[0].end].iter().collect();
    assert_eq!(got, "123-45-6789");
}

#[test]
fn masking() {
    let m = mask("SSN 123-45-6789, card 4111 1111 1111 1111, Dr. Jane Roe");
    assert_eq!(
        m.masked_text,
        "SSN ***-**-6789, card **** **** **** 1111, Dr. [PERSON]"
    );
    assert_eq!(
        masked_value(E::MedicalRecordNumber, "12345"),
        "[MEDICAL_RECORD_NUMBER]"
    );
    assert_eq!(masked_value(E::Date, "June 4, 1942"), "[DATE]");
    // Whitespace becomes a space; only trailing digits are kept, at most
    // four, two for 6-8 characters, none under 6.
    assert_eq!(
        masked_value(E::CreditCard, "4111\t1111 1111\n1111"),
        "**** **** **** 1111"
    );
    assert_eq!(masked_value(E::UsMbi, "1EG4TE5MK73"), "*********73");
    assert_eq!(masked_value(E::UsMbi, "1EG4TE5MK7X"), "[US_MBI]");
    assert_eq!(masked_value(E::AccountNumber, "AB-123456"), "**-****56");
    assert_eq!(masked_value(E::AccountNumber, "123456789"), "*****6789");
    // Non-ASCII separators stay; non-ASCII whitespace becomes a space.
    assert_eq!(
        masked_value(E::AccountNumber, "12\u{2013}345\u{a0}6789"),
        "**\u{2013}*** 6789"
    );
}

#[test]
fn cheap_first_checks_keep_what_they_guard() {
    // A suffix as the fifth word after the number.
    has(
        "lives at 12 North Old Mill Creek Road now",
        E::StreetAddress,
        "12 North Old Mill Creek Road",
    );
    // "of" between the day and the month.
    has("seen on 4 of June 2021", E::Date, "4 of June 2021");
    // Phone forms: leading 1, area code, 11 digits, '+'.
    has(
        "call 1-555-867-5309 today",
        E::PhoneNumber,
        "1-555-867-5309",
    );
    has(
        "call +44 20 7946 0958 today",
        E::PhoneNumber,
        "+44 20 7946 0958",
    );
    has("call 15558675309 today", E::PhoneNumber, "15558675309");
    // A labelled value after a filler word.
    has("MRN is 4455667", E::MedicalRecordNumber, "4455667");
    // Ages are 90-130: the first digits decide before the call.
    has("age: 90", E::Age, "90");
    has("age: 130", E::Age, "130");
    has("age: 119", E::Age, "119");
    none_of("age: 131", E::Age);
    none_of("age: 89", E::Age);
    none_of("age: 140", E::Age);
    // Card groups: a first group of 3-6 digits then a space or a dash.
    has(
        "card 4111 1111 1111 1111 on file",
        E::CreditCard,
        "4111 1111 1111 1111",
    );
    has(
        "card 4111-1111-1111-1111 on file",
        E::CreditCard,
        "4111-1111-1111-1111",
    );
    // IBAN: mod-97 at the country's length, or at every length from 15 to
    // 34 for a country without one.
    has(
        "wire to GB82 WEST 1234 5698 7654 32 today",
        E::IbanCode,
        "GB82 WEST 1234 5698 7654 32",
    );
    has(
        "wire to LY5012345678901234 today",
        E::IbanCode,
        "LY5012345678901234",
    );
    has(
        "wire to LY50 1234 5678 9012 34 today",
        E::IbanCode,
        "LY50 1234 5678 9012 34",
    );
    none_of("wire to GB82WEST1234569876543 today", E::IbanCode);
    // A day then a month name, and a street number without a suffix.
    has("born 4 June 1950", E::Date, "4 June 1950");
    none_of("took 12 pills with water", E::StreetAddress);
}

#[test]
fn contexts_are_windows_of_the_masked_text() {
    let m = mask_with_context(
        "Patient SSN 123-45-6789 and phone (415) 555-2671, thanks",
        12,
    );
    assert_eq!(m.contexts.len(), 2);
    assert_eq!(m.contexts[0], "Patient SSN ***-**-6789 and phone (");
    assert!(
        m.contexts
            .iter()
            .all(|c| !c.contains("123-45") && !c.contains("555-2671"))
    );
    let t = "ééééé [X] ééééé";
    let s = t.find('[').expect("[");
    assert_eq!(window(t, s, s + 3, 2), "é [X] é");
    assert_eq!(window("[X]", 0, 3, 40), "[X]");
}

#[test]
fn repeated_values_are_masked_everywhere() {
    let m = mask("SSN 123-45-6789. Again: 123-45-6789");
    assert!(!m.masked_text.contains("123-45-6789"), "{}", m.masked_text);
    let m = mask("Patient Ann Kowalczyk is here. Kowalczyk said hi");
    assert!(!m.masked_text.contains("Kowalczyk"), "{}", m.masked_text);
}

const PHI: &[&str] = &[
    "123-45-6789",
    "(415) 555-2671",
    "jane.doe@example.org",
    "4111 1111 1111 1111",
    "June 4, 1942",
    "06/04/1942",
    "1234567893",
    "AB1234563",
    "1EG4-TE5-MK73",
    "GB82 WEST 1234 5698 7654 32",
    "192.168.1.20",
    "https://example.com/a",
    "1M8GDM9AXKP042788",
    "Dr. John Smith",
    "123 Main St",
    "MRN 0012345",
];

const FILLER: &[&str] = &[
    "the", "patient", "called", "about", ",", ".", "\n", "SSN", "phone", "at", "on", "order", "é",
    "日本", "-", "#", "x", "12", "is", "my", "name", "Dear", "Thanks,", "version", "(", ")", "+1",
    "account", "zip", "IL",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn masked_text_never_contains_a_raw_value(parts in proptest::collection::vec((0usize..2, 0usize..64), 0..24), seps in proptest::collection::vec(prop_oneof![Just(" "), Just(", "), Just("\n"), Just(" - "), Just("; "), Just(". ")], 24)) {
        let mut text = String::new();
        for (i, (kind, idx)) in parts.iter().enumerate() {
            let piece = if *kind == 0 { PHI[idx % PHI.len()] } else { FILLER[idx % FILLER.len()] };
            text.push_str(piece);
            text.push_str(seps[i % seps.len()]);
        }
        let m = mask(&text);
        for f in &m.findings {
            let raw = &text[f.byte_start..f.byte_end];
            prop_assert!(!m.masked_text.contains(raw), "raw {:?} ({}) survives in {:?}", raw, f.entity, m.masked_text);
            let chars: Vec<char> = text.chars().collect();
            let by_chars: String = chars[f.start..f.end].iter().collect();
            prop_assert_eq!(by_chars.as_str(), raw);
        }
    }

    #[test]
    fn never_panics(text in "\\PC{0,200}") {
        let _ = mask(&text);
    }
}
