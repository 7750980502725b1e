//! The platform's service logs rotate: a service started like `mono up` starts its services
//! writes through `mono log-pump`, which rotates `<name>.log` by size, keeps N old files, keeps
//! the service's last lines when the service is stopped, and ends with it.

use std::time::Duration;

use control_plane::daemon::{Daemon, Launch, LogRotation};
use nix::sys::signal::Signal;

#[tokio::test]
async fn service_logs_rotate_and_keep_the_last_lines() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::new(dir.path(), "chatty").with_rotation(LogRotation {
        program: env!("CARGO_BIN_EXE_mono").into(),
        max_bytes: 4096,
        keep: 2,
    });
    let script = r#"
        trap 'echo "stopping cleanly"; exit 0' TERM
        i=0
        while [ $i -lt 2000 ]; do echo "line $i of the service output"; i=$((i+1)); done
        echo "all written"
        while true; do sleep 0.05; done
    "#;
    let pid = daemon
        .spawn(&Launch {
            program: "/bin/sh".into(),
            args: vec!["-c".into(), script.into()],
            cwd: dir.path().to_path_buf(),
            ..Launch::default()
        })
        .unwrap();
    assert_eq!(daemon.running(), Some(pid));
    let log = daemon.log_file();
    let mut written = false;
    for _ in 0..200 {
        if std::fs::read_to_string(&log).is_ok_and(|t| t.contains("all written")) {
            written = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(
        written,
        "the service output never reached {}",
        log.display()
    );

    let numbered = |n: usize| std::path::PathBuf::from(format!("{}.{n}", log.display()));
    for path in [log.clone(), numbered(1), numbered(2)] {
        let len = std::fs::metadata(&path).unwrap().len();
        assert!(len > 0 && len <= 4096, "{}: {len} bytes", path.display());
    }
    assert!(!numbered(3).exists(), "only two old files are kept");
    let newest = std::fs::read_to_string(&log).unwrap();
    assert!(
        newest.contains("line 1999 of the service output"),
        "{newest}"
    );

    // Stopping signals the whole group; the pump keeps the service's last words and exits.
    assert!(daemon
        .stop(Signal::SIGTERM, Duration::from_secs(5))
        .await
        .unwrap());
    assert!(std::fs::read_to_string(&log)
        .unwrap()
        .contains("stopping cleanly"));
    assert_eq!(daemon.running(), None);
    // (This test process is their parent, so the exited ones stay as zombies until it ends.)
    assert_eq!(
        live_members(pid),
        Vec::<i32>::new(),
        "the pump ended with the service"
    );
}

/// Processes of group `pgid` that are still running (not zombies).
fn live_members(pgid: i32) -> Vec<i32> {
    let mut live = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().filter_map(Result::ok) {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.first() != Some(&"Z") && fields.get(2) == Some(&pgid.to_string().as_str()) {
            live.push(pid);
        }
    }
    live
}
