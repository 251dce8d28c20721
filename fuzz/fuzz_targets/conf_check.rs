//! Any text given to the models.conf front end prints back unchanged and checks without a panic;
//! every diagnostic span slices the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use profilec::check::check_source;
use profilec::syntax::Document;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    assert_eq!(Document::parse(text).print(), text);
    let report = check_source(text, None);
    for d in &report.diagnostics {
        if let Some(s) = &d.span {
            assert!(text.get(s.clone()).is_some());
        }
    }
});
