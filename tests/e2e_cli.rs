//! The demo command's entry points: `cli::demo::run` with a small `--requests` exits 0, its
//! report shows the summary and each bad request refused with its reason, and a bad argument
//! is a usage error.

use std::process::ExitCode;

use confidential_relay::cli::demo::{Args, demo, run};

#[test]
fn demo_command_exits_zero() {
    let code = run(Args {
        requests: 6,
        concurrency: 3,
    });
    assert_eq!(code, ExitCode::SUCCESS);
}

#[test]
fn zero_concurrency_is_a_usage_error() {
    let code = run(Args {
        requests: 6,
        concurrency: 0,
    });
    assert_eq!(code, ExitCode::from(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_report_lists_the_summary_and_the_refusals() {
    let args = Args {
        requests: 4,
        concurrency: 2,
    };
    let mut out = Vec::new();
    assert_eq!(demo(&args, &mut out).await, Ok(true));
    let report = String::from_utf8(out).unwrap();
    for line in [
        "| requests | 4 |",
        "| ok | 4 |",
        "| failed | 0 |",
        "refused: attestation rejected: bad_signature",
        "refused: attestation rejected: pcr_mismatch",
        r#"refused: invalid owner address: "0xnot-an-address""#,
        "result: every request verified end to end and every bad request refused as expected",
    ] {
        assert!(report.contains(line), "missing {line:?} in:\n{report}");
    }
}
