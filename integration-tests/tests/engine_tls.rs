//! myengined on `-H tcp://` with TLS, against mycli and the real docker CLI: mutual TLS
//! refuses a client without a certificate (or with one from another CA), serves one with
//! a certificate (including hijacked attach with stdin), checks the daemon's name; plain
//! TCP is refused at start unless `--insecure-tcp`; bad TLS files stop the daemon with
//! one clear error. Certificates are made here with rcgen; ports are free loopback ports.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use integration_tests::bin;
use integration_tests::engine::{DOCKER_CLI, Engine};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

/// A CA and, in `dir`, the PEM files a test hands out.
struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn p(&self, name: &str) -> String {
        self.path(name).display().to_string()
    }
}

fn ca(name: &str) -> (CertificateParams, KeyPair, String) {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let key = KeyPair::generate().unwrap();
    let pem = params.self_signed(&key).unwrap().pem();
    (params, key, pem)
}

/// Writes `<prefix>cert.pem` and `<prefix>key.pem` for a leaf signed by `issuer`.
fn leaf(
    dir: &Path,
    prefix: &str,
    issuer: &Issuer<'_, &KeyPair>,
    names: &[&str],
    usage: ExtendedKeyUsagePurpose,
) {
    let mut params =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    params.distinguished_name.push(DnType::CommonName, prefix);
    params.extended_key_usages = vec![usage];
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, issuer).unwrap();
    std::fs::write(dir.join(format!("{prefix}cert.pem")), cert.pem()).unwrap();
    std::fs::write(dir.join(format!("{prefix}key.pem")), key.serialize_pem()).unwrap();
}

/// ca.pem, server-{cert,key}.pem (localhost, 127.0.0.1), client-{cert,key}.pem;
/// rogue-ca.pem and rogue-{cert,key}.pem from another CA; certs/ holding ca.pem,
/// cert.pem, key.pem as DOCKER_CERT_PATH wants them.
fn make_pki() -> Pki {
    let dir = tempfile::Builder::new().prefix("tls-").tempdir().unwrap();
    let d = dir.path();
    let (params, key, pem) = ca("myengine test CA");
    std::fs::write(d.join("ca.pem"), &pem).unwrap();
    let issuer = Issuer::from_params(&params, &key);
    leaf(
        d,
        "server-",
        &issuer,
        &["localhost", "127.0.0.1"],
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    leaf(
        d,
        "client-",
        &issuer,
        &[],
        ExtendedKeyUsagePurpose::ClientAuth,
    );
    let (rparams, rkey, rpem) = ca("rogue CA");
    std::fs::write(d.join("rogue-ca.pem"), &rpem).unwrap();
    let rogue = Issuer::from_params(&rparams, &rkey);
    leaf(
        d,
        "rogue-",
        &rogue,
        &[],
        ExtendedKeyUsagePurpose::ClientAuth,
    );
    let certs = d.join("certs");
    std::fs::create_dir(&certs).unwrap();
    std::fs::copy(d.join("ca.pem"), certs.join("ca.pem")).unwrap();
    std::fs::copy(d.join("client-cert.pem"), certs.join("cert.pem")).unwrap();
    std::fs::copy(d.join("client-key.pem"), certs.join("key.pem")).unwrap();
    std::fs::create_dir(d.join("empty")).unwrap();
    Pki { dir }
}

/// A loopback port nothing listens on (bound, read, released).
fn free_port(ip: &str) -> u16 {
    std::net::TcpListener::bind((ip, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A client command (`mycli` or docker) with an environment of our own: no DOCKER_*
/// from outside, and ~/.docker and DOCKER_CERT_PATH pointing at a dir without certs, so
/// only what a test passes counts.
fn client(program: &Path, pki: &Pki, args: &[&str]) -> Command {
    let mut c = Command::new(program);
    c.args(args)
        .env_remove("DOCKER_HOST")
        .env_remove("DOCKER_TLS_VERIFY")
        .env_remove("DOCKER_TLS")
        .env_remove("DOCKER_CONTEXT")
        .env("DOCKER_CERT_PATH", pki.path("empty"))
        .env("HOME", pki.path("empty"))
        .env("DOCKER_CONFIG", pki.path("empty"))
        .stdin(Stdio::null());
    c
}

fn run(mut c: Command) -> Output {
    c.output().unwrap()
}

fn run_with_stdin(mut c: Command, input: &[u8]) -> Output {
    let mut child = c
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

/// `base` followed by `rest`.
fn args(base: &[String], rest: &[&str]) -> Vec<String> {
    base.iter()
        .cloned()
        .chain(rest.iter().map(|s| s.to_string()))
        .collect()
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn mycli(pki: &Pki, args: &[&str]) -> Command {
    client(&bin("mycli"), pki, args)
}

fn docker(pki: &Pki, args: &[&str]) -> Command {
    client(Path::new(DOCKER_CLI), pki, args)
}

fn ok(e: &Engine, what: &str, o: Output) -> String {
    assert!(
        o.status.success(),
        "{what}: {}\n--- engine log ---\n{}",
        text(&o),
        e.log_tail()
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn refused(what: &str, o: Output) -> String {
    assert!(!o.status.success(), "{what} should fail: {}", text(&o));
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn mutual_tls_serves_clients_with_a_certificate_and_refuses_the_others() {
    let pki = make_pki();
    let port = free_port("127.0.0.1");
    let port2 = free_port("127.0.0.2");
    let host = format!("tcp://127.0.0.1:{port}");
    // A second TCP host whose address the server certificate does not name.
    let host2 = format!("tcp://127.0.0.2:{port2}");
    let e = Engine::start_with_args(&[
        "-H",
        &host,
        "-H",
        &host2,
        "--tlsverify",
        "--tlscacert",
        &pki.p("ca.pem"),
        "--tlscert",
        &pki.p("server-cert.pem"),
        "--tlskey",
        &pki.p("server-key.pem"),
    ]);
    let ca = pki.p("ca.pem");
    let cert = pki.p("client-cert.pem");
    let key = pki.p("client-key.pem");
    let with_cert = |h: &str| -> Vec<String> {
        [
            "-H",
            h,
            "--tlsverify",
            "--tlscacert",
            &ca,
            "--tlscert",
            &cert,
            "--tlskey",
            &key,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let good = with_cert(&host);

    // No client certificate: the handshake fails, for mycli and for docker.
    for (what, c) in [
        (
            "mycli without a cert",
            mycli(
                &pki,
                &["-H", &host, "--tlsverify", "--tlscacert", &ca, "version"],
            ),
        ),
        (
            "docker without a cert",
            docker(
                &pki,
                &["-H", &host, "--tlsverify", "--tlscacert", &ca, "version"],
            ),
        ),
    ] {
        let err = refused(what, run(c));
        assert!(
            err.to_lowercase().contains("tls") || err.contains("certificate"),
            "{what}: {err}"
        );
    }
    // A certificate from another CA is no better.
    let rogue = [
        "-H",
        &host,
        "--tlsverify",
        "--tlscacert",
        &ca,
        "--tlscert",
        &pki.p("rogue-cert.pem"),
        "--tlskey",
        &pki.p("rogue-key.pem"),
        "version",
    ];
    refused("mycli with a rogue cert", run(mycli(&pki, &rogue)));
    refused("docker with a rogue cert", run(docker(&pki, &rogue)));
    // A client that trusts another CA refuses the daemon.
    let err = refused(
        "mycli trusting another CA",
        run(mycli(
            &pki,
            &strs(&args(
                &with_cert(&host)
                    .into_iter()
                    .map(|a| if a == ca { pki.p("rogue-ca.pem") } else { a })
                    .collect::<Vec<_>>(),
                &["version"],
            )),
        )),
    );
    assert!(err.to_lowercase().contains("certificate"), "{err}");
    // Plain HTTP to the TLS port gets no API.
    refused(
        "mycli in plain HTTP",
        run(mycli(&pki, &["-H", &host, "version"])),
    );

    // With the certificate: version, ps, and run (hijacked attach) over TLS.
    let out = ok(
        &e,
        "mycli version",
        run(mycli(&pki, &strs(&args(&good, &["version"])))),
    );
    assert!(out.contains("Server"), "{out}");
    ok(
        &e,
        "mycli ps",
        run(mycli(&pki, &strs(&args(&good, &["ps", "-a"])))),
    );
    let out = ok(
        &e,
        "mycli run",
        run(mycli(
            &pki,
            &strs(&args(&good, &["run", "--rm", "busybox", "echo", "hi"])),
        )),
    );
    assert_eq!(out, "hi\n");
    // stdin through the hijacked connection, ended by a write half-close.
    let out = ok(
        &e,
        "mycli run -i",
        run_with_stdin(
            mycli(
                &pki,
                &strs(&args(&good, &["run", "-i", "--rm", "busybox", "cat"])),
            ),
            b"through tls\n",
        ),
    );
    assert_eq!(out, "through tls\n");
    // The same with the real docker CLI.
    let out = ok(
        &e,
        "docker version",
        run(docker(&pki, &strs(&args(&good, &["version"])))),
    );
    assert!(out.contains("Server"), "{out}");
    ok(
        &e,
        "docker ps",
        run(docker(&pki, &strs(&args(&good, &["ps", "-a"])))),
    );
    let out = ok(
        &e,
        "docker run",
        run(docker(
            &pki,
            &strs(&args(&good, &["run", "--rm", "busybox", "echo", "hi"])),
        )),
    );
    assert_eq!(out, "hi\n");
    let out = ok(
        &e,
        "docker run -i",
        run_with_stdin(
            docker(
                &pki,
                &strs(&args(&good, &["run", "-i", "--rm", "busybox", "cat"])),
            ),
            b"through tls\n",
        ),
    );
    assert_eq!(out, "through tls\n");

    // The environment instead of flags: DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH.
    let mut c = mycli(&pki, &["version"]);
    c.env("DOCKER_HOST", &host)
        .env("DOCKER_TLS_VERIFY", "1")
        .env("DOCKER_CERT_PATH", pki.path("certs"));
    let out = ok(&e, "mycli from the environment", run(c));
    assert!(out.contains("Server"), "{out}");

    // The host name is checked: 127.0.0.2 is not in the server's certificate...
    let err = refused(
        "mycli --tlsverify to a name not in the cert",
        run(mycli(&pki, &strs(&args(&with_cert(&host2), &["version"])))),
    );
    assert!(err.to_lowercase().contains("certificate"), "{err}");
    refused(
        "docker --tlsverify to a name not in the cert",
        run(docker(&pki, &strs(&args(&with_cert(&host2), &["version"])))),
    );
    // ...and `--tls` without verify does not check it (nor the CA), as docker's.
    ok(
        &e,
        "mycli --tls",
        run(mycli(
            &pki,
            &[
                "-H",
                &host2,
                "--tls",
                "--tlscert",
                &cert,
                "--tlskey",
                &key,
                "version",
            ],
        )),
    );
}

#[test]
fn insecure_tcp_serves_plain_http_with_a_warning() {
    let pki = make_pki();
    let host = format!("tcp://127.0.0.1:{}", free_port("127.0.0.1"));
    let e = Engine::start_with_args(&["-H", &host, "--insecure-tcp"]);
    let out = ok(
        &e,
        "mycli plain tcp",
        run(mycli(&pki, &["-H", &host, "version"])),
    );
    assert!(out.contains("Server"), "{out}");
    let out = ok(
        &e,
        "mycli run plain tcp",
        run(mycli(
            &pki,
            &["-H", &host, "run", "--rm", "busybox", "echo", "hi"],
        )),
    );
    assert_eq!(out, "hi\n");
    ok(
        &e,
        "docker plain tcp",
        run(docker(&pki, &["-H", &host, "version"])),
    );
    assert!(e.log().contains("without TLS"), "{}", e.log_tail());
}

/// Runs myengined with `args` (it must stop by itself) and returns its output.
fn engine_exits(args: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(bin("myengined"))
        .arg("--data-root")
        .arg(dir.path().join("data"))
        .arg("--exec-root")
        .arg(dir.path().join("exec"))
        .arg("--containerd")
        .arg(dir.path().join("no-containerd.sock"))
        .args(args)
        .env("DOCKER_CERT_PATH", dir.path())
        .env("HOME", dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!("myengined {args:?} kept running: {}", text(&out));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn plain_tcp_and_bad_tls_files_stop_the_engine_at_start() {
    let pki = make_pki();
    let host = format!("tcp://127.0.0.1:{}", free_port("127.0.0.1"));
    let check = |args: &[&str], want: &str| {
        let out = engine_exits(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", text(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{args:?}: want {want:?} in {err}");
        // One line of error, no panic.
        assert!(!err.contains("panicked"), "{err}");
    };
    check(&["-H", &host], "--insecure-tcp");
    check(&["-H", &host], "without TLS");
    // --tlsverify without the files and without defaults in the cert dir.
    check(&["-H", &host, "--tlsverify"], "--tlscacert");
    let server = |cert: &str, key: &str, ca: &str| {
        [
            "-H".to_string(),
            host.clone(),
            "--tlsverify".into(),
            "--tlscacert".into(),
            ca.into(),
            "--tlscert".into(),
            cert.into(),
            "--tlskey".into(),
            key.into(),
        ]
    };
    let (cert, key, ca) = (
        pki.p("server-cert.pem"),
        pki.p("server-key.pem"),
        pki.p("ca.pem"),
    );
    let missing = pki.p("missing.pem");
    check(
        &strs(&server(&missing, &key, &ca)),
        &format!("reading the TLS certificate {missing}"),
    );
    check(&strs(&server(&cert, &missing, &ca)), "missing.pem");
    check(&strs(&server(&cert, &key, &missing)), "missing.pem");
    // A key file with no key, a CA file that is a key, a key not matching the cert.
    check(&strs(&server(&cert, &cert, &ca)), "holds no private key");
    check(&strs(&server(&cert, &key, &key)), "holds no CERTIFICATE");
    check(
        &strs(&server(&cert, &pki.p("client-key.pem"), &ca)),
        "do not make a usable pair",
    );
}
