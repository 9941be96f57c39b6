//! HostConfig options through mycli and the docker CLI 28: ulimits, shm size, tmpfs,
//! devices, cpuset, CPU shares, groups, sysctls, no-new-privileges, a custom seccomp
//! profile file, log options — each checked from inside the container.

use integration_tests::engine::Engine;

fn run(e: &Engine, flags: &[&str], script: &str) -> String {
    let mut args = vec!["run", "--rm"];
    args.extend_from_slice(flags);
    args.extend_from_slice(&["busybox", "sh", "-c", script]);
    e.mycli_ok(&args)
}

#[test]
fn resource_and_security_flags_reach_the_container() {
    let e = Engine::start();
    assert_eq!(
        run(
            &e,
            &["--ulimit", "nofile=512:1024"],
            "ulimit -n; ulimit -Hn"
        ),
        "512\n1024\n"
    );
    let shm = run(&e, &["--shm-size", "16m"], "df -k /dev/shm | tail -1");
    assert!(shm.split_whitespace().nth(1) == Some("16384"), "{shm}");
    let tmpfs = run(
        &e,
        &["--tmpfs", "/scratch:size=1m,mode=1777"],
        "grep ' /scratch ' /proc/mounts; stat -c %a /scratch",
    );
    assert!(tmpfs.contains("tmpfs /scratch tmpfs"), "{tmpfs}");
    assert!(tmpfs.contains("size=1024k"), "{tmpfs}");
    assert!(tmpfs.ends_with("1777\n"), "{tmpfs}");
    let dev = run(
        &e,
        &["--device", "/dev/null:/dev/mynull:rw"],
        "stat -c '%t,%T' /dev/mynull; echo x > /dev/mynull && echo wrote",
    );
    assert_eq!(dev, "1,3\nwrote\n");
    assert_eq!(
        run(
            &e,
            &["--cpuset-cpus", "0"],
            "grep Cpus_allowed_list /proc/self/status"
        ),
        "Cpus_allowed_list:\t0\n"
    );
    // busybox's /etc/group names "daemon" as GID 1.
    let groups = run(
        &e,
        &["--group-add", "1234", "--group-add", "daemon"],
        "id -G",
    );
    let groups: Vec<&str> = groups.split_whitespace().collect();
    assert!(
        groups.contains(&"1234") && groups.contains(&"1"),
        "{groups:?}"
    );
    e.mycli_fails(
        &[
            "run",
            "--rm",
            "--group-add",
            "nosuchgroup",
            "busybox",
            "true",
        ],
        125,
        "nosuchgroup",
    );
    assert_eq!(
        run(
            &e,
            &["--sysctl", "net.ipv4.ip_unprivileged_port_start=99"],
            "cat /proc/sys/net/ipv4/ip_unprivileged_port_start"
        ),
        "99\n"
    );
    assert_eq!(
        run(
            &e,
            &["--security-opt", "no-new-privileges"],
            "grep NoNewPrivs /proc/self/status"
        ),
        "NoNewPrivs:\t1\n"
    );
    let id = e
        .mycli_ok(&[
            "create",
            "--cpu-shares",
            "512",
            "--log-opt",
            "max-size=1m",
            "busybox",
        ])
        .trim()
        .to_string();
    let v: serde_json::Value = serde_json::from_str(&e.mycli_ok(&["inspect", &id])).unwrap();
    assert_eq!(v[0]["HostConfig"]["CpuShares"], 512);
    assert_eq!(v[0]["HostConfig"]["LogConfig"]["Config"]["max-size"], "1m");
    e.mycli_ok(&["rm", &id]);
}

#[test]
fn a_custom_seccomp_profile_from_a_file() {
    let e = Engine::start();
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("profile.json");
    std::fs::write(
        &profile,
        r#"{
          "defaultAction": "SCMP_ACT_ALLOW",
          "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]}],
          "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]
        }"#,
    )
    .unwrap();
    let opt = format!("seccomp={}", profile.display());
    let out = e.mycli(&[
        "run",
        "--rm",
        "--security-opt",
        &opt,
        "busybox",
        "sh",
        "-c",
        "mkdir /x || echo refused; touch /y && echo touched",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("refused") && stdout.contains("touched"),
        "{stdout}"
    );
    // The docker CLI reads the file the same way.
    let out = e.docker_ok(&[
        "run",
        "--rm",
        "--security-opt",
        &opt,
        "busybox",
        "sh",
        "-c",
        "mkdir /x || echo refused",
    ]);
    assert!(out.contains("refused"), "{out}");

    // Broken files and values are refused with one line, by the client or the engine.
    std::fs::write(&profile, "{").unwrap();
    e.mycli_fails(
        &["run", "--rm", "--security-opt", &opt, "busybox", "true"],
        125,
        "seccomp profile",
    );
    e.mycli_fails(
        &[
            "run",
            "--rm",
            "--security-opt",
            "seccomp=/nonexistent.json",
            "busybox",
            "true",
        ],
        125,
        "opening seccomp profile",
    );
    let r = e.request(
        "POST",
        "/containers/create",
        Some(br#"{"Image":"busybox","HostConfig":{"SecurityOpt":["seccomp={\"syscalls\":[]}"]}}"#),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("defaultAction"), "{}", r.text());
    e.mycli_fails(
        &["run", "--rm", "--ulimit", "nofile=9:1", "busybox", "true"],
        125,
        "soft limit",
    );
    e.mycli_fails(
        &["run", "--rm", "--ulimit", "bogus=1", "busybox", "true"],
        125,
        "invalid ulimit type",
    );
    e.mycli_fails(
        &[
            "run",
            "--rm",
            "--device",
            "/dev/null:rel",
            "busybox",
            "true",
        ],
        125,
        "invalid device",
    );
}
