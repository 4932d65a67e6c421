//! Process CPU time (user + system, all threads) read from `/proc/self/stat`, for the CPU cost
//! per request in `bench relay`. Linux only; elsewhere the reading is `None`.

use std::time::Duration;

/// Clock ticks per second of the `/proc` ABI (`USER_HZ`): fixed at 100 on Linux for every
/// architecture, whatever the kernel's internal tick rate.
const USER_HZ: u64 = 100;

/// Fields after the `(comm)` field: state is field 3, so utime (field 14) is at index 11 and
/// stime (field 15) at index 12 of the remainder.
const UTIME_INDEX: usize = 11;
const STIME_INDEX: usize = 12;

/// The CPU time this process has used so far, at 10 ms resolution.
pub fn process_cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    parse_stat(&stat)
}

/// The CPU time used so far by this process's live threads whose name starts with `prefix`
/// (threads that already exited are not counted).
pub fn threads_cpu_time(prefix: &str) -> Option<Duration> {
    let mut total = Duration::ZERO;
    for entry in std::fs::read_dir("/proc/self/task").ok()? {
        let Ok(entry) = entry else { continue };
        // A thread may exit between listing and reading; it is skipped.
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        if thread_name(&stat).is_some_and(|name| name.starts_with(prefix)) {
            total = total.saturating_add(parse_stat(&stat).unwrap_or_default());
        }
    }
    Some(total)
}

/// The command (thread) name of a stat line: between the first `(` and the last `)`.
fn thread_name(stat: &str) -> Option<&str> {
    let start = stat.find('(')?.checked_add(1)?;
    stat.get(start..stat.rfind(')')?)
}

/// Parses utime + stime out of a `/proc/<pid>/stat` line. The command name may contain spaces
/// and parentheses, so fields are counted from the last `)`.
pub fn parse_stat(stat: &str) -> Option<Duration> {
    let rest = stat.get(stat.rfind(')')?.checked_add(1)?..)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(UTIME_INDEX)?.parse().ok()?;
    let stime: u64 = fields.get(STIME_INDEX)?.parse().ok()?;
    let ticks = utime.checked_add(stime)?;
    Some(Duration::from_millis(ticks.checked_mul(1000 / USER_HZ)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_stat_line_with_a_tricky_command_name() {
        let line = "4242 (a b) c)) S 1 4242 4242 0 -1 4194560 500 0 0 0 250 37 0 0 20 0 9 0 1 2 3";
        assert_eq!(parse_stat(line), Some(Duration::from_millis(2870)));
    }

    #[test]
    fn refuses_a_truncated_line() {
        assert_eq!(parse_stat("1 (x) S 1 2 3"), None);
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn reads_this_process_and_named_threads() {
        if !cfg!(target_os = "linux") {
            return;
        }
        assert!(process_cpu_time().is_some());
        let busy = std::thread::Builder::new()
            .name("cpu-test-busy".into())
            .spawn(|| {
                let started = std::time::Instant::now();
                let mut x = 0u64;
                while started.elapsed() < Duration::from_millis(150) {
                    x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
                }
                threads_cpu_time("cpu-test-busy")
            })
            .unwrap();
        let seen = busy.join().unwrap().unwrap();
        // 150 ms of spinning, read at 10 ms resolution; generous for a loaded box.
        assert!(seen >= Duration::from_millis(20), "{seen:?}");
        assert_eq!(threads_cpu_time("no-such-thread-"), Some(Duration::ZERO));
    }

    #[test]
    fn thread_names() {
        assert_eq!(thread_name("12 (relay-node-0) S 1"), Some("relay-node-0"));
        assert_eq!(thread_name("12 (a) b) S 1"), Some("a) b"));
        assert_eq!(thread_name("12 relay"), None);
    }
}
