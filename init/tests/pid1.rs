//! myinit as PID 1 of a fresh PID namespace, case by case, with Debian's tini-static
//! put through every case in the same run to check the tests themselves. Where the two
//! deliberately differ, the case says so and asserts each one's behaviour.
//!
//! Needs root and Debian packages util-linux (unshare), bsdutils (script), procps
//! (ps), coreutils (timeout) and tini.

mod support;

use support::{Init, Outcome, READY, init_argv, inits, run_as_pid1, run_plain, send};

fn sh(script: &str) -> Vec<&str> {
    vec!["sh", "-c", script]
}

/// Runs `script` under `init` as PID 1, sending `signal` to the init once the script
/// prints `ready`.
fn run_script(init: &Init, flags: &[&str], script: &str, signal: Option<libc::c_int>) -> Outcome {
    let argv = init_argv(init, flags, &sh(script));
    match signal {
        Some(signal) => run_as_pid1(&argv, &[], Some(&mut |pid| send(pid, signal))),
        None => run_as_pid1(&argv, &[], None),
    }
}

/// Lines of `ps -o stat=` output that show a zombie.
fn zombies(outcome: &Outcome) -> Vec<&str> {
    outcome
        .lines()
        .filter(|l| {
            l.split_whitespace()
                .nth(2)
                .is_some_and(|s| s.starts_with('Z'))
        })
        .collect()
}

/// Orphans three short-lived grandchildren (their parent execs `true` and exits, so
/// they are re-parented to PID 1), lets them exit, then lists every process.
const MAKE_ORPHANS: &str = "for i in 1 2 3; do (sleep 0.1 & exec true); done; sleep 0.6; \
                            ps -eo pid,ppid,stat,comm";

#[test]
fn orphaned_grandchildren_are_reaped() {
    for init in inits() {
        let out = run_script(&init, &[], MAKE_ORPHANS, None);
        assert_eq!(out.code, Some(0), "{}: {out:?}", init.name);
        assert!(
            out.stdout.contains(" ps"),
            "{}: ps saw nothing: {out:?}",
            init.name
        );
        assert!(
            zombies(&out).is_empty(),
            "{}: zombies left: {out:?}",
            init.name
        );
    }
}

#[test]
fn zombie_check_sees_zombies_under_an_init_that_does_not_reap() {
    // Control for the test above: coreutils' `timeout` as PID 1 waits only for its
    // own child, so the same orphans stay zombies and the check must report them.
    let argv: Vec<String> = ["timeout", "20", "sh", "-c", MAKE_ORPHANS]
        .map(String::from)
        .to_vec();
    let out = run_as_pid1(&argv, &[], None);
    assert_eq!(zombies(&out).len(), 3, "{out:?}");
}

#[test]
fn signals_reach_the_child() {
    for init in inits() {
        for (name, signal) in [
            ("TERM", libc::SIGTERM),
            ("INT", libc::SIGINT),
            ("HUP", libc::SIGHUP),
            ("USR1", libc::SIGUSR1),
        ] {
            // `wait` returns as soon as a trapped signal arrives.
            let script = format!(
                "trap 'echo got-{name}; exit 7' {name}; echo {READY}; sleep 30 & wait $!; echo no-signal"
            );
            let out = run_script(&init, &[], &script, Some(signal));
            assert_eq!(out.code, Some(7), "{} {name}: {out:?}", init.name);
            assert!(
                out.stdout.contains(&format!("got-{name}")),
                "{} {name}: {out:?}",
                init.name
            );
        }
    }
}

#[test]
fn death_by_signal_exits_128_plus_signal() {
    for init in inits() {
        let out = run_script(&init, &[], "echo ready; exec sleep 30", Some(libc::SIGTERM));
        assert_eq!(out.code, Some(143), "{}: {out:?}", init.name);
        let out = run_script(&init, &[], "echo ready; exec sleep 30", Some(libc::SIGUSR2));
        assert_eq!(
            out.code,
            Some(128 + libc::SIGUSR2),
            "{}: {out:?}",
            init.name
        );
    }
}

/// The main child traps TERM and starts a grandchild (same process group: a
/// non-interactive shell does no job control) that reports whether TERM reached it.
const GROUP_SCRIPT: &str = "trap 'echo child-got-TERM' TERM; \
    sh -c 'trap \"echo grandchild-got-TERM; exit 0\" TERM; echo ready; \
           i=0; while [ $i -lt 40 ]; do sleep 0.05; i=$((i+1)); done; echo grandchild-not-signalled' & \
    wait $!; wait $!";

#[test]
fn group_flag_signals_the_grandchild() {
    for init in inits() {
        let out = run_script(&init, &["-g"], GROUP_SCRIPT, Some(libc::SIGTERM));
        assert_eq!(out.code, Some(0), "{}: {out:?}", init.name);
        assert!(
            out.stdout.contains("child-got-TERM"),
            "{}: {out:?}",
            init.name
        );
        assert!(
            out.stdout.contains("grandchild-got-TERM"),
            "{}: {out:?}",
            init.name
        );
    }
}

#[test]
fn kill_process_group_env_signals_the_grandchild() {
    for init in inits() {
        let argv = init_argv(&init, &[], &sh(GROUP_SCRIPT));
        let env = [("TINI_KILL_PROCESS_GROUP", "1")];
        let out = run_as_pid1(&argv, &env, Some(&mut |pid| send(pid, libc::SIGTERM)));
        assert!(
            out.stdout.contains("grandchild-got-TERM"),
            "{}: {out:?}",
            init.name
        );
    }
}

#[test]
fn without_group_flag_only_the_child_is_signalled() {
    for init in inits() {
        let out = run_script(&init, &[], GROUP_SCRIPT, Some(libc::SIGTERM));
        assert!(
            out.stdout.contains("child-got-TERM"),
            "{}: {out:?}",
            init.name
        );
        assert!(
            out.stdout.contains("grandchild-not-signalled"),
            "{}: {out:?}",
            init.name
        );
        assert!(
            !out.stdout.contains("grandchild-got-TERM"),
            "{}: {out:?}",
            init.name
        );
    }
}

#[test]
fn exit_codes_and_remapping() {
    let cases: &[(&[&str], &str, i32)] = &[
        (&[], "exit 0", 0),
        (&[], "exit 3", 3),
        (&[], "exit 255", 255),
        (&["-e", "3"], "exit 3", 0),
        (&["-e3"], "exit 4", 4),
        (&["-e", "3", "-e", "4"], "exit 4", 0),
        (&[], "kill -TERM $$", 143),
        (&["-e", "143"], "kill -TERM $$", 0),
        (&["-e", "127"], "exec /nonexistent/program", 0),
    ];
    for init in inits() {
        for &(flags, script, expected) in cases {
            let out = run_script(&init, flags, script, None);
            assert_eq!(
                out.code,
                Some(expected),
                "{} {flags:?} {script:?}: {out:?}",
                init.name
            );
        }
    }
}

#[test]
fn missing_program_exits_127() {
    for init in inits() {
        for program in ["/nonexistent/program", "no-such-command-anywhere"] {
            let out = run_as_pid1(&init_argv(&init, &[], &[program]), &[], None);
            assert_eq!(out.code, Some(127), "{} {program}: {out:?}", init.name);
            assert!(
                out.stderr.contains(program),
                "{} {program}: {out:?}",
                init.name
            );
            assert!(out.stdout.is_empty(), "{} {program}: {out:?}", init.name);
        }
    }
}

#[test]
fn program_that_cannot_be_executed_exits_126() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = support::not_executable(dir.path());
    let file = file.to_str().unwrap();
    let directory = dir.path().to_str().unwrap();
    for init in inits() {
        for program in [file, directory] {
            let out = run_as_pid1(&init_argv(&init, &[], &[program]), &[], None);
            assert_eq!(out.code, Some(126), "{} {program}: {out:?}", init.name);
            assert!(
                out.stderr.contains(program),
                "{} {program}: {out:?}",
                init.name
            );
        }
    }
}

#[test]
fn child_leads_its_own_process_group() {
    for init in inits() {
        let out = run_script(&init, &[], "ps -o pid=,pgid= -p $$", None);
        let fields: Vec<&str> = out.stdout.split_whitespace().collect();
        assert_eq!(fields.len(), 2, "{}: {out:?}", init.name);
        assert_eq!(fields[0], fields[1], "{}: pid != pgid: {out:?}", init.name);
    }
}

#[test]
fn child_gets_the_terminal_foreground() {
    for init in inits() {
        let argv = init_argv(&init, &[], &sh("ps -o pid=,pgid=,tpgid= -p $$"));
        let out = support::run_as_pid1_on_tty(&argv);
        assert_eq!(out.code, Some(0), "{}: {out:?}", init.name);
        let fields: Vec<&str> = out.stdout.split_whitespace().collect();
        assert_eq!(fields.len(), 3, "{}: {out:?}", init.name);
        assert_eq!(
            fields[0], fields[1],
            "{}: not a group leader: {out:?}",
            init.name
        );
        assert_eq!(
            fields[1], fields[2],
            "{}: not in the foreground: {out:?}",
            init.name
        );
    }
}

#[test]
fn child_starts_with_the_signal_state_init_was_given() {
    // Regression guard: the Rust runtime ignores SIGPIPE before `main`, and an
    // ignored signal survives exec. The child must also get an empty signal mask
    // and default SIGTTIN/SIGTTOU back, although the init blocks or ignores them.
    for init in inits() {
        let out = run_script(
            &init,
            &[],
            "grep -E '^Sig(Blk|Ign)' /proc/self/status",
            None,
        );
        let field = |name: &str| {
            let line = out
                .lines()
                .find(|l| l.starts_with(name))
                .expect(name)
                .to_string();
            u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap()
        };
        assert_eq!(field("SigBlk:"), 0, "{}: {out:?}", init.name);
        let bit = |signal: libc::c_int| 1u64 << (signal - 1);
        let ignored = field("SigIgn:");
        for signal in [libc::SIGPIPE, libc::SIGTTIN, libc::SIGTTOU] {
            assert_eq!(
                ignored & bit(signal),
                0,
                "{}: signal {signal} ignored: {out:?}",
                init.name
            );
        }
    }
}

#[test]
fn parent_death_signal_is_forwarded() {
    // The init runs below a subshell that exits once the child is ready; the kernel
    // then sends the init SIGUSR1 (-p), which it forwards to the child.
    let dir = tempfile::tempdir().expect("tempdir");
    for init in inits() {
        let out_file = dir.path().join(format!("{}-out", init.name));
        let ready_file = dir.path().join(format!("{}-ready", init.name));
        let script = format!(
            "( '{init}' -p SIGUSR1 -- sh -c 'trap \"echo got-USR1 > {out}; exit 0\" USR1; touch {ready}; \
                 while :; do sleep 0.05; done' & \
               while [ ! -e {ready} ]; do sleep 0.02; done ); \
             i=0; while [ ! -s {out} ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done; cat {out}",
            init = init.path.display(),
            out = out_file.display(),
            ready = ready_file.display(),
        );
        let argv: Vec<String> = sh(&script).into_iter().map(String::from).collect();
        let out = run_as_pid1(&argv, &[], None);
        assert!(out.stdout.contains("got-USR1"), "{}: {out:?}", init.name);
    }
}

#[test]
fn subreaper_flag_reaps_when_not_pid1() {
    // Not PID 1: orphans go to the init only because -s makes it a subreaper.
    let script = "for i in 1 2 3; do (sleep 0.1 & exec true); done; sleep 0.6; \
                  ps -o pid=,stat=,comm= --ppid $PPID";
    for init in inits() {
        let out = run_plain(&init_argv(&init, &["-s"], &sh(script)), &[]);
        assert_eq!(out.code, Some(0), "{}: {out:?}", init.name);
        assert!(out.stdout.contains(" sh"), "{}: {out:?}", init.name);
        assert!(
            !out.stdout.contains("sleep"),
            "{}: orphans not reaped: {out:?}",
            init.name
        );
        assert!(!out.stderr.contains("PID 1"), "{}: {out:?}", init.name);
    }
}

#[test]
fn warns_when_neither_pid1_nor_subreaper() {
    for init in inits() {
        let out = run_plain(&init_argv(&init, &[], &["true"]), &[]);
        assert_eq!(out.code, Some(0), "{}: {out:?}", init.name);
        assert!(
            out.stderr.contains("not running as PID 1"),
            "{}: {out:?}",
            init.name
        );

        let out = run_plain(&init_argv(&init, &[], &["true"]), &[("TINI_SUBREAPER", "")]);
        assert!(
            out.stderr.is_empty(),
            "{}: TINI_SUBREAPER ignored: {out:?}",
            init.name
        );
    }
}

#[test]
fn warn_flag_reports_reaped_zombies() {
    let script = "(sleep 0.1 & exec true); sleep 0.5";
    for init in inits() {
        let out = run_script(&init, &["-w"], script, None);
        assert_eq!(out.code, Some(0), "{}: {out:?}", init.name);
        assert!(
            out.stderr.contains("Reaped zombie process"),
            "{}: {out:?}",
            init.name
        );
    }
}

#[test]
fn verbose_messages() {
    for init in inits() {
        let out = run_script(&init, &["-vv"], "exit 0", None);
        assert_eq!(out.code, Some(0), "{}: {out:?}", init.name);
        // Deliberate difference: tini prints its info lines on stdout, mixing them into
        // the container's output; myinit keeps all of its own lines on stderr.
        let (ours, other) = if init.is_tini() {
            (&out.stdout, &out.stderr)
        } else {
            (&out.stderr, &out.stdout)
        };
        assert!(
            ours.contains("Spawned child process 'sh'"),
            "{}: {out:?}",
            init.name
        );
        assert!(other.is_empty(), "{}: {out:?}", init.name);

        let out = run_plain(
            &init_argv(&init, &["-s"], &["true"]),
            &[("TINI_VERBOSITY", "0")],
        );
        assert!(
            out.stdout.is_empty() && out.stderr.is_empty(),
            "{}: {out:?}",
            init.name
        );
    }
}

#[test]
fn combined_flags_and_double_dash() {
    for init in inits() {
        let out = run_script(&init, &["-sgw", "-e3"], "exit 3", None);
        assert_eq!(out.code, Some(0), "{}: {out:?}", init.name);
        // After `--`, flags belong to the program.
        let argv = init_argv(
            &init,
            &[],
            &["sh", "-c", "echo \"$@\"", "x", "-s", "-v", "--"],
        );
        let out = run_as_pid1(&argv, &[], None);
        assert_eq!(out.stdout, "-s -v --\n", "{}: {out:?}", init.name);
    }
}

#[test]
fn options_after_the_program_name_belong_to_the_program() {
    for init in inits() {
        let argv = vec![
            init.path.display().to_string(),
            "-s".into(),
            "echo".into(),
            "-l".into(),
        ];
        let out = run_plain(&argv, &[]);
        assert_eq!(out.code, Some(0), "{}: {out:?}", init.name);
        if init.is_tini() {
            // Deliberate difference: glibc's getopt in tini permutes argv, so tini
            // takes echo's `-l` as its own "show license" and runs nothing.
            assert!(out.stdout.contains("MIT"), "{}: {out:?}", init.name);
        } else {
            assert_eq!(out.stdout, "-l\n", "{}: {out:?}", init.name);
        }
    }
}

#[test]
fn usage_errors() {
    for init in inits() {
        let path = init.path.display().to_string();
        let run = |args: &[&str]| {
            let argv: Vec<String> = std::iter::once(path.clone())
                .chain(args.iter().map(|s| s.to_string()))
                .collect();
            run_plain(&argv, &[])
        };

        let out = run(&[]);
        assert_eq!(out.code, Some(1), "{}: {out:?}", init.name);
        assert!(out.stderr.contains("Usage:"), "{}: {out:?}", init.name);

        let out = run(&["-s", "--"]);
        assert_eq!(out.code, Some(1), "{}: {out:?}", init.name);
        assert!(out.stderr.contains("Usage:"), "{}: {out:?}", init.name);

        let out = run(&["-x", "--", "true"]);
        assert_eq!(out.code, Some(1), "{}: {out:?}", init.name);
        assert!(
            out.stderr.contains("invalid option -- 'x'"),
            "{}: {out:?}",
            init.name
        );

        let out = run(&["-s", "-e"]);
        assert_eq!(out.code, Some(1), "{}: {out:?}", init.name);
        assert!(
            out.stderr.contains("requires an argument -- 'e'"),
            "{}: {out:?}",
            init.name
        );

        for (flag, value) in [("-e", "256"), ("-e", "x"), ("-p", "SIGNOPE")] {
            let out = run(&[flag, value, "--", "true"]);
            assert_eq!(out.code, Some(1), "{} {flag} {value}: {out:?}", init.name);
            let message = format!("Not a valid option for {flag}: {value}");
            assert!(out.stderr.contains(&message), "{}: {out:?}", init.name);
            assert!(!out.stderr.contains("Usage:"), "{}: {out:?}", init.name);
        }

        let out = run(&["-h"]);
        assert_eq!(out.code, Some(0), "{}: {out:?}", init.name);
        assert!(
            out.stdout.contains("-e EXIT_CODE"),
            "{}: {out:?}",
            init.name
        );

        let out = run(&["--version"]);
        assert_eq!(out.code, Some(0), "{}: {out:?}", init.name);
        assert!(out.stdout.contains(" version "), "{}: {out:?}", init.name);
    }
}
