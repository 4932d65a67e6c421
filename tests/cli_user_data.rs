//! `confidential-relay user-data`: the four lines operators compare with an attestation, and
//! a one-line error with exit code 2 on bad input.

mod common;

use std::io::Write as _;
use std::process::{Command, Stdio};

fn run(args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_confidential-relay"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary runs");
    // The process may exit before reading its input (a bad flag); a broken pipe is fine then.
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn prints_both_forms_and_their_user_data() {
    let vector = common::kat_vector("gojson/kat1-secrets-minimal");
    let wire = vector["inputs"]["params_wire"].as_str().unwrap();
    for (formula, key) in [
        ("current", "domainhash_current_hex"),
        ("legacy", "domainhash_legacy_hex"),
    ] {
        let (code, stdout, stderr) = run(
            &[
                "user-data",
                "--method",
                "confidential.secrets.get",
                "--params",
                "-",
                "--formula",
                formula,
            ],
            wire,
        );
        assert_eq!(code, 0, "{stderr}");
        let lines: Vec<&str> = stdout.lines().collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(
            lines[0],
            vector["expected"]["canonical_json"].as_str().unwrap()
        );
        assert_eq!(lines[1], vector["expected"][key].as_str().unwrap());
        // As received: wire order kept, whitespace and the attestation member removed.
        assert_eq!(
            lines[2],
            r#"{"enclave_public_key":"1111111111111111111111111111111111111111111111111111111111111111","secrets":[{"namespace":"main","key":"API_KEY"}],"workflow_id":"wf-1","owner":"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed","execution_id":"abababababababababababababababababababababababababababababababab"}"#
        );
        assert_eq!(lines[3].len(), 64);
        assert_ne!(lines[3], lines[1]);
    }
}

#[test]
fn bad_input_is_one_line_and_exit_code_2() {
    let dir = std::env::temp_dir().join(format!("user-data-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let dup = dir.join("dup.json");
    std::fs::write(&dup, r#"{"workflow_id":"a","workflow_id":"b"}"#).unwrap();
    let cases: Vec<(Vec<String>, &str, String)> = vec![
        (
            vec![
                "--method".into(),
                "confidential.secrets.get".into(),
                "--params".into(),
                "-".into(),
            ],
            "{not json",
            "error: params file is not JSON: key must be a string at line 1 column 2\n".into(),
        ),
        (
            vec![
                "--method".into(),
                "nope".into(),
                "--params".into(),
                "-".into(),
            ],
            "{}",
            "error: unsupported method: nope\n".into(),
        ),
        (
            vec![
                "--method".into(),
                "confidential.secrets.get".into(),
                "--params".into(),
                dup.display().to_string(),
            ],
            "",
            "error: duplicate key \"workflow_id\" in params\n".into(),
        ),
        (
            vec![
                "--method".into(),
                "confidential.secrets.get".into(),
                "--params".into(),
                "/nonexistent/p.json".into(),
            ],
            "",
            "error: cannot read /nonexistent/p.json: No such file or directory (os error 2)\n"
                .into(),
        ),
        (
            vec![
                "--method".into(),
                "confidential.secrets.get".into(),
                "--params".into(),
                "-".into(),
                "--formula".into(),
                "v2".into(),
            ],
            "{}",
            "error: unknown formula \"v2\" (want current or legacy)\n".into(),
        ),
    ];
    for (args, stdin, expected) in cases {
        let mut full = vec!["user-data"];
        full.extend(args.iter().map(String::as_str));
        let (code, stdout, stderr) = run(&full, stdin);
        assert_eq!(
            (code, stdout.as_str(), stderr.as_str()),
            (2, "", expected.as_str()),
            "{args:?}"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}
