//! The PHI detector's public API on arbitrary text: no panic, findings in
//! order, inside the text, not overlapping, and masking removes each raw
//! value that is long enough to be unambiguous.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let chars = text.chars().count();
    let findings = phi::detect(&text);
    let mut last_end = 0;
    for f in &findings {
        assert!(
            f.start < f.end && f.end <= chars,
            "offsets {f:?} of {chars}"
        );
        assert!(f.byte_start < f.byte_end && f.byte_end <= text.len());
        assert!(text.is_char_boundary(f.byte_start) && text.is_char_boundary(f.byte_end));
        assert!(f.start >= last_end, "overlap or out of order: {f:?}");
        assert!((0.0..=1.0).contains(&f.confidence));
        last_end = f.end;
    }
    let masked = phi::mask(&text);
    assert_eq!(masked.findings.len(), findings.len());
    let with_context = phi::mask_with_context(&text, 40);
    assert_eq!(with_context.masked_text, masked.masked_text);
    assert_eq!(with_context.contexts.len(), findings.len());
    for f in &findings {
        let raw = &text[f.byte_start..f.byte_end];
        // A masked context never holds the raw value (when it is distinctive).
        if raw.chars().filter(char::is_ascii_digit).count() >= 9 {
            for c in &with_context.contexts {
                assert!(!c.contains(raw), "raw value in a context");
            }
        }
    }
});
