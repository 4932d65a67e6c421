//! Chainlink's trusted-PCR JSON format and the policy constructors.

use confidential_relay::attestation::{ConfigError, PcrSet, Policy, parse_trusted_pcrs_json};

fn h(byte: u8) -> String {
    hex::encode([byte; 48])
}

#[test]
fn accepts_an_object_or_an_array_of_objects() {
    let one = format!(
        r#"{{"pcr0":"{}","pcr1":"{}","pcr2":"{}"}}"#,
        h(1),
        h(2),
        h(3)
    );
    let sets = parse_trusted_pcrs_json(one.as_bytes()).unwrap();
    assert_eq!(sets, vec![PcrSet::new([1; 48], [2; 48], [3; 48])]);
    let two = format!("[{one}, {}]", one.replace(&h(3), &h(4)));
    let sets = parse_trusted_pcrs_json(two.as_bytes()).unwrap();
    assert_eq!(sets.len(), 2);
    assert_eq!(sets[1].values()[2], (2, [4; 48]));
    let upper = one.replace(&h(1), &h(0xab).to_uppercase());
    assert_eq!(
        parse_trusted_pcrs_json(upper.as_bytes()).unwrap()[0].values()[0],
        (0, [0xab; 48])
    );
}

#[test]
fn further_indices_are_required_too() {
    let json = format!(
        r#"{{"pcr0":"{0}","pcr1":"{0}","pcr2":"{0}","pcr8":"{1}"}}"#,
        h(1),
        h(8)
    );
    let sets = parse_trusted_pcrs_json(json.as_bytes()).unwrap();
    assert_eq!(
        sets[0],
        PcrSet::new([1; 48], [1; 48], [1; 48]).with_pcr(8, [8; 48])
    );
}

#[test]
fn rejects_everything_else_with_the_cause() {
    let ok = h(1);
    let cases = [
        ("[]".to_owned(), "empty array"),
        ("\"x\"".to_owned(), "expected an object"),
        ("not json".to_owned(), "not JSON"),
        (
            format!(r#"{{"pcr0":"{ok}","pcr1":"{ok}"}}"#),
            "missing pcr2",
        ),
        (
            format!(r#"{{"pcr0":"{ok}","pcr1":"{ok}","pcr2":"zz"}}"#),
            "pcr2 is not hex",
        ),
        (
            format!(
                r#"{{"pcr0":"{ok}","pcr1":"{ok}","pcr2":"{}"}}"#,
                hex::encode([1; 32])
            ),
            "pcr2 is 32 bytes",
        ),
        (
            format!(r#"{{"pcr0":"{ok}","pcr1":"{ok}","pcr2":"{ok}","pcr32":"{ok}"}}"#),
            "unknown key \"pcr32\"",
        ),
        (
            format!(r#"{{"pcr0":"{ok}","pcr1":"{ok}","pcr2":"{ok}","pcr01":"{ok}"}}"#),
            "unknown key \"pcr01\"",
        ),
        (
            format!(r#"{{"pcr0":"{ok}","pcr1":"{ok}","pcr2":"{ok}","PCR3":"{ok}"}}"#),
            "unknown key \"PCR3\"",
        ),
        (
            format!(r#"{{"pcr0":"{ok}","pcr1":"{ok}","pcr2":1}}"#),
            "pcr2 is not a string",
        ),
        (
            format!(r#"[{{"pcr0":"{ok}","pcr1":"{ok}","pcr2":"{ok}"}}, 5]"#),
            "set 1: not an object",
        ),
    ];
    for (json, cause) in cases {
        let err = parse_trusted_pcrs_json(json.as_bytes()).unwrap_err();
        assert!(matches!(err, ConfigError::TrustedPcrs(_)));
        assert!(err.to_string().contains(cause), "{json}: {err}");
    }
}

#[test]
fn policy_needs_a_trusted_set() {
    assert_eq!(
        Policy::new(vec![]).unwrap_err(),
        ConfigError::TrustedPcrs("no trusted PCR set".into())
    );
}
