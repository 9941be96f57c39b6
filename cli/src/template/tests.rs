//! Tests of the template engine. Expected outputs are what docker 28.2 printed for the
//! same templates on the same documents (`docker inspect -f`, `docker version -f`).

use super::*;

/// `GET /containers/web/json` from dockerd 20.10 for `docker run -d --name web
/// --network none -l b=2 -l a=1 -l "com.x.y=z w" -m 1g --cpus 1.5 -v /tmp/vol:/data
/// -v named:/named -p 8080:80 -p 127.0.0.1:9000:90/udp -e FOO=bar busybox sleep 100000`
/// (paths and IDs shortened).
const WEB: &str = r#"{"Id":"0b9a1d53babd","Created":"2026-11-28T15:34:12.118592043Z","Path":"sleep","Args":["100000"],
"State":{"Status":"running","Running":true,"Paused":false,"Restarting":false,"OOMKilled":false,
"Dead":false,"Pid":19617,"ExitCode":0,"Error":"","StartedAt":"2026-11-28T15:34:12.635015686Z",
"FinishedAt":"0001-01-01T00:00:00Z"},"Image":"sha256:b1def7f8","ResolvConfPath":"/c/ResolvConfPath",
"HostnamePath":"/c/HostnamePath","HostsPath":"/c/HostsPath","LogPath":"/c/LogPath","Name":"/web",
"RestartCount":0,"Driver":"overlay2","Platform":"linux","MountLabel":"","ProcessLabel":"","AppArmorProfile":"",
"ExecIDs":null,"HostConfig":{"Binds":["/tmp/vol:/data","named:/named"],"ContainerIDFile":"",
"LogConfig":{"Type":"json-file","Config":{}},"NetworkMode":"none","PortBindings":{"80/tcp":[{"HostIp":"",
"HostPort":"8080"}],"90/udp":[{"HostIp":"127.0.0.1","HostPort":"9000"}]},"RestartPolicy":{"Name":"no",
"MaximumRetryCount":0},"AutoRemove":false,"VolumeDriver":"","VolumesFrom":null,"CapAdd":null,
"CapDrop":null,"CgroupnsMode":"host","Dns":[],"DnsOptions":[],"DnsSearch":[],"ExtraHosts":null,
"GroupAdd":null,"IpcMode":"private","Cgroup":"","Links":null,"OomScoreAdj":0,"PidMode":"","Privileged":false,
"PublishAllPorts":false,"ReadonlyRootfs":false,"SecurityOpt":null,"UTSMode":"","UsernsMode":"",
"ShmSize":67108864,"Runtime":"runc","ConsoleSize":[0,0],"Isolation":"","CpuShares":0,"Memory":1073741824,
"NanoCpus":1500000000,"CgroupParent":"","BlkioWeight":0,"BlkioWeightDevice":[],"BlkioDeviceReadBps":[],
"BlkioDeviceWriteBps":[],"BlkioDeviceReadIOps":[],"BlkioDeviceWriteIOps":[],"CpuPeriod":0,"CpuQuota":0,
"CpuRealtimePeriod":0,"CpuRealtimeRuntime":0,"CpusetCpus":"","CpusetMems":"","Devices":[],"DeviceCgroupRules":null,
"DeviceRequests":null,"KernelMemory":0,"KernelMemoryTCP":0,"MemoryReservation":0,"MemorySwap":2147483648,
"MemorySwappiness":null,"OomKillDisable":false,"PidsLimit":null,"Ulimits":[],"CpuCount":0,"CpuPercent":0,
"IOMaximumIOps":0,"IOMaximumBandwidth":0,"MaskedPaths":["/proc/asound","/proc/acpi","/proc/kcore",
"/proc/keys","/proc/latency_stats","/proc/timer_list","/proc/timer_stats","/proc/sched_debug",
"/proc/scsi","/sys/firmware"],"ReadonlyPaths":["/proc/bus","/proc/fs","/proc/irq","/proc/sys",
"/proc/sysrq-trigger"]},"GraphDriver":{"Data":{"MergedDir":"/m","UpperDir":"/u"},"Name":"overlay2"},
"Mounts":[{"Type":"bind","Source":"/tmp/vol","Destination":"/data","Mode":"","RW":true,"Propagation":"rprivate"},
{"Type":"volume","Name":"named","Source":"/v/named","Destination":"/named","Driver":"local",
"Mode":"z","RW":true,"Propagation":""}],"Config":{"Hostname":"0b9a1d53babd","Domainname":"",
"User":"","AttachStdin":false,"AttachStdout":false,"AttachStderr":false,"ExposedPorts":{"80/tcp":{},
"90/udp":{}},"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":["FOO=bar","PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
"Cmd":["sleep","100000"],"Image":"busybox","Volumes":null,"WorkingDir":"","Entrypoint":null,
"OnBuild":null,"Labels":{"a":"1","b":"2","com.x.y":"z w"}},"NetworkSettings":{"Bridge":"","SandboxID":"sb",
"HairpinMode":false,"LinkLocalIPv6Address":"","LinkLocalIPv6PrefixLen":0,"Ports":{},"SandboxKey":"/netns/x",
"SecondaryIPAddresses":null,"SecondaryIPv6Addresses":null,"EndpointID":"","Gateway":"","GlobalIPv6Address":"",
"GlobalIPv6PrefixLen":0,"IPAddress":"","IPPrefixLen":0,"IPv6Gateway":"","MacAddress":"","Networks":{"none":{"IPAMConfig":null,
"Links":null,"Aliases":null,"NetworkID":"n1","EndpointID":"e1","Gateway":"","IPAddress":"",
"IPPrefixLen":0,"IPv6Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"MacAddress":"",
"DriverOpts":null}}}}
"#;

fn web(t: &str) -> std::result::Result<String, String> {
    let t = Template::parse(t).expect("parses");
    let raw: String = WEB.lines().collect();
    render_doc(&t, Doc::Container, raw.as_bytes())
}

fn ok(t: &str) -> String {
    web(t).unwrap_or_else(|e| panic!("{t}: {e}"))
}

fn err(t: &str) -> String {
    web(t).expect_err(t)
}

/// A template on no data, as `docker version -f` shows literal-only templates.
fn lit(t: &str) -> String {
    Template::parse(t)
        .unwrap_or_else(|e| panic!("{t}: {e}"))
        .execute(&Value::Invalid, FuncSet::Basic, false)
        .unwrap_or_else(|e| panic!("{t}: {e}"))
}

#[test]
fn typed_values_print_as_go_structs_and_maps() {
    assert_eq!(
        ok("{{.State}}"),
        "{running true false false false false 19617 0  2026-11-28T15:34:12.635015686Z 0001-01-01T00:00:00Z <nil>}"
    );
    assert_eq!(
        ok("{{.Mounts}}"),
        "[{bind  /tmp/vol /data   true rprivate} {volume named /v/named /named local z true }]"
    );
    assert_eq!(ok("{{.Config.Labels}}"), "map[a:1 b:2 com.x.y:z w]");
    assert_eq!(
        ok("{{.HostConfig.PortBindings}}"),
        "map[80/tcp:[{ 8080}] 90/udp:[{127.0.0.1 9000}]]"
    );
    assert_eq!(ok("{{.NetworkSettings.Ports}}"), "map[]");
    assert_eq!(
        ok("{{.HostConfig.RestartPolicy}}|{{.HostConfig.ConsoleSize}}"),
        "{no 0}|[0 0]"
    );
    assert_eq!(ok("{{.HostConfig.LogConfig}}"), "{json-file map[]}");
    assert_eq!(
        ok("{{.Config.ExposedPorts}} {{.Config.Volumes}}"),
        "map[80/tcp:{} 90/udp:{}] map[]"
    );
    assert_eq!(
        ok("{{.Config.Env}} {{.Config.Cmd}} {{.Args}} {{.ExecIDs}} {{.Config.Entrypoint}}"),
        "[FOO=bar PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin] [sleep 100000] [100000] [] []"
    );
    assert_eq!(ok("{{.State.Health}}"), "<nil>");
    assert_eq!(
        ok("{{.GraphDriver}}"),
        "{map[MergedDir:/m UpperDir:/u] overlay2}"
    );
}

#[test]
fn numbers_print_as_decoded_by_docker() {
    // Typed int64s, not float64s: no 1.073741824e+09.
    assert_eq!(
        ok(
            "{{.State.Pid}} {{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.MemorySwap}}"
        ),
        "19617 1073741824 1500000000 2147483648"
    );
    assert_eq!(
        ok("{{printf \"%T %T %T\" .State.Pid .Name .Args}}"),
        "int string []string"
    );
    assert_eq!(
        ok("{{printf \"%d|%v\" .HostConfig.Memory .HostConfig.Memory}}"),
        "1073741824|1073741824"
    );
    assert_eq!(
        ok("{{eq .State.Pid 19617}} {{gt .State.Pid 1}} {{le .RestartCount 0}}"),
        "true true true"
    );
    // Untyped floats are Go float64s.
    let t = Template::parse("{{.A}} {{.B}} {{.C}}").unwrap();
    assert_eq!(
        render_doc(&t, Doc::Untyped, br#"{"A":1e6,"B":1.5,"C":1073741824.5}"#).unwrap(),
        "1e+06 1.5 1.0737418245e+09"
    );
    assert_eq!(
        lit("{{1e6}} {{1.0}} {{printf \"%v %v %v\" 1234567.0 0.00001 100000.0}}"),
        "1e+06 1 1.234567e+06 1e-05 100000"
    );
}

#[test]
fn maps_index_and_missing_keys() {
    assert_eq!(
        ok(
            r#"{{.Config.Labels.nope}}|{{index .Config.Labels "nope"}}|{{index .Config.Labels "com.x.y"}}"#
        ),
        "<no value>||z w"
    );
    assert_eq!(
        ok(r#"{{.NetworkSettings.Networks.none.NetworkID | printf "%.1s"}}"#),
        "n"
    );
    // nat.PortMap keys are not strings: docker falls back to the raw JSON.
    assert_eq!(
        ok(r#"{{index .HostConfig.PortBindings "80/tcp"}}"#),
        "[map[HostIp: HostPort:8080]]"
    );
    assert_eq!(
        ok(r#"{{(index (index .HostConfig.PortBindings "90/udp") 0).HostPort}}"#),
        "9000"
    );
    assert_eq!(
        ok(r#"{{range $p, $c := .HostConfig.PortBindings}}{{$p}}={{(index $c 0).HostIP}};{{end}}"#),
        "80/tcp=;90/udp=127.0.0.1;"
    );
    // `Dns` is `DNS` in Go: the raw fallback prints the whole template, nulls as <no value>.
    assert_eq!(ok("{{.ExecIDs}} {{.HostConfig.Dns}}"), "<no value> []");
    assert_eq!(ok("{{.ExecIDs}} {{.HostConfig.DNS}}"), "[] []");
    assert_eq!(ok("{{.Id}}"), "0b9a1d53babd");
    assert_eq!(ok("{{.ID}}"), "0b9a1d53babd");
    assert_eq!(
        ok("{{range .Config.Labels}}{{.}},{{end}} {{len .Config.Labels}} {{len .Mounts}}"),
        "1,2,z w, 3 2"
    );
}

#[test]
fn execution_errors_in_dockers_words() {
    assert_eq!(
        err("{{.Nope}}"),
        r#"template parsing error: template: :1:2: executing "" at <.Nope>: map has no entry for key "Nope""#
    );
    assert_eq!(
        err("{{.State.Health.Status}}"),
        r#"template parsing error: template: :1:8: executing "" at <.State.Health.Status>: map has no entry for key "Health""#
    );
    assert_eq!(
        err("{{.Id}} {{.ID}}"),
        r#"template parsing error: template: :1:10: executing "" at <.ID>: map has no entry for key "ID""#
    );
    assert_eq!(
        err("{{len nil}}"),
        r#"template parsing error: template: :1:2: executing "" at <len nil>: error calling len: reflect: call of reflect.Value.Type on zero Value"#
    );
    assert_eq!(
        err("{{index .Config 1}}"),
        r#"template parsing error: template: :1:2: executing "" at <index .Config 1>: error calling index: value has type int; should be string"#
    );
    assert_eq!(
        err("{{eq 1 1.0}}"),
        r#"template parsing error: template: :1:2: executing "" at <eq 1 1.0>: error calling eq: incompatible types for comparison"#
    );
    assert_eq!(
        err("{{.Name.X}}"),
        r#"template parsing error: template: :1:7: executing "" at <.Name.X>: can't evaluate field X in type interface {}"#
    );
    assert_eq!(
        err("{{upper .State.Pid}}"),
        r#"template parsing error: template: :1:14: executing "" at <.State.Pid>: wrong type for value; expected string; got json.Number"#
    );
    assert_eq!(
        err("{{index .Args 5}}"),
        r#"template parsing error: template: :1:2: executing "" at <index .Args 5>: error calling index: index out of range: 5"#
    );
    assert_eq!(
        err(r#"{{.Config.Labels "x"}}"#),
        r#"template parsing error: template: :1:9: executing "" at <.Config.Labels>: Labels is not a method but has arguments"#
    );
    assert_eq!(
        err(r#"{{"x" | .Name}}"#),
        r#"template parsing error: template: :1:8: executing "" at <.Name>: Name is not a method but has arguments"#
    );
    assert_eq!(
        err("{{nil}}"),
        r#"template parsing error: template: :1:2: executing "" at <nil>: nil is not a command"#
    );
    assert_eq!(
        err("{{.NetworkSettings.Networks.none.NetworkID | truncate 12}}"),
        r#"template parsing error: template: :1:54: executing "" at <12>: expected string; found 12"#
    );
    assert_eq!(
        err("{{range .NoSuch}}x{{else}}empty{{end}}"),
        r#"template parsing error: template: :1:8: executing "" at <.NoSuch>: map has no entry for key "NoSuch""#
    );
    assert_eq!(
        err(r#"{{ index .Config.Labels "a" "b" }}"#),
        r#"template parsing error: template: :1:3: executing "" at <index .Config.Labels "a" "b">: error calling index: cannot index slice/array with type string"#
    );
    assert_eq!(
        err("{{lt .Name 3}}"),
        r#"template parsing error: template: :1:2: executing "" at <lt .Name 3>: error calling lt: incompatible types for comparison"#
    );
    assert_eq!(
        err("{{range $i, $e := 3}}{{end}}"),
        r#"template parsing error: template: :1:18: executing "" at <3>: can't use 3 to iterate over more than one variable"#
    );
    assert_eq!(
        err("{{.A.B.C.D.E.F.G.H.I.J.K.L}}"),
        r#"template parsing error: template: :1:4: executing "" at <.A.B.C.D.E.F.G.H.I.J.K.L>: map has no entry for key "A""#
    );
}

#[test]
fn json_encodes_like_dockers_cli() {
    assert_eq!(
        ok("{{json .State}}"),
        r#"{"Status":"running","Running":true,"Paused":false,"Restarting":false,"OOMKilled":false,"Dead":false,"Pid":19617,"ExitCode":0,"Error":"","StartedAt":"2026-11-28T15:34:12.635015686Z","FinishedAt":"0001-01-01T00:00:00Z"}"#
    );
    // omitempty fields (Name, Driver) are left out, as the typed struct encodes.
    assert_eq!(
        ok("{{json .Mounts}}"),
        r#"[{"Type":"bind","Source":"/tmp/vol","Destination":"/data","Mode":"","RW":true,"Propagation":"rprivate"},{"Type":"volume","Name":"named","Source":"/v/named","Destination":"/named","Driver":"local","Mode":"z","RW":true,"Propagation":""}]"#
    );
    // The CLI's field order, not the daemon's (MacAddress moves up).
    assert_eq!(
        ok("{{json .NetworkSettings.Networks}}"),
        r#"{"none":{"IPAMConfig":null,"Links":null,"Aliases":null,"MacAddress":"","DriverOpts":null,"GwPriority":0,"NetworkID":"n1","EndpointID":"e1","Gateway":"","IPAddress":"","IPPrefixLen":0,"IPv6Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"DNSNames":null}}"#
    );
    assert_eq!(
        ok(
            "{{json .Config.Labels}} {{json .Args}} {{json .State.Pid}} {{json .Name}} {{json nil}}"
        ),
        r#"{"a":"1","b":"2","com.x.y":"z w"} ["100000"] 19617 "/web" null"#
    );
    let hc = ok("{{json .HostConfig}}");
    assert!(
        hc.starts_with(r#"{"Binds":["/tmp/vol:/data","named:/named"],"ContainerIDFile":"","#),
        "{hc}"
    );
    assert!(
        hc.contains(r#""VolumesFrom":null,"ConsoleSize":[0,0],"CapAdd":null"#),
        "{hc}"
    );
    assert!(!hc.contains("KernelMemory"), "{hc}");
    assert_eq!(
        lit(r#"{{json "<&>\u2028\n\t\u0001"}}"#),
        r#""<&>\u2028\n\t\u0001""#
    );
}

#[test]
fn control_structures() {
    assert_eq!(
        ok("{{with .State}}{{.Status}}{{end}} {{with .State.Health}}h{{else}}none{{end}}"),
        "running none"
    );
    assert_eq!(
        ok("{{range .Mounts}}{{.Source}}:{{.Destination}} {{end}}"),
        "/tmp/vol:/data /v/named:/named "
    );
    assert_eq!(
        ok("{{range $i, $m := .Mounts}}{{if $i}},{{end}}{{$m.Type}}{{end}}"),
        "bind,volume"
    );
    assert_eq!(
        ok(
            r#"{{if eq .State.Status "running"}}up{{else if eq .State.Status "exited"}}down{{else}}?{{end}}"#
        ),
        "up"
    );
    assert_eq!(
        ok(r#"{{if and .State.Running (not .State.Paused)}}ok{{end}} {{or .Config.User "root"}}"#),
        "ok root"
    );
    assert_eq!(
        ok(r#"{{$n := .Name}}{{$n = printf "%s!" $n}}{{$n}}"#),
        "/web!"
    );
    assert_eq!(
        ok("{{range .Args}}{{break}}{{end}}x{{range .Config.Env}}{{continue}}{{.}}{{end}}"),
        "x"
    );
    assert_eq!(
        ok("{{range $k, $v := .Config.Labels}}{{$k}}={{$v}}\n{{end}}"),
        "a=1\nb=2\ncom.x.y=z w\n"
    );
    assert_eq!(
        ok("{{- range .Config.Env }}\n{{ . }}\n{{- end }}"),
        "\nFOO=bar\nPATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    );
    assert_eq!(
        lit("{{range 3}}{{.}}{{end}}|{{range $i, $e := split \"a,b\" \",\"}}{{$i}}={{$e}} {{end}}"),
        "012|0=a 1=b "
    );
    assert_eq!(
        lit("{{if and 1 0}}y{{else if or 0 \"\"}}z{{else}}n{{end}}"),
        "n"
    );
    assert_eq!(lit("{{range .}}x{{else}}empty{{end}}"), "empty");
    assert_eq!(lit("{{$x := 1}}{{$x = 2}}{{$x}}"), "2");
    // `and`/`or` stop at the first deciding argument, as Go 1.18+ does.
    assert_eq!(lit("{{or 1 (index nil 0)}}"), "1");
}

#[test]
fn whitespace_trimming_and_comments() {
    assert_eq!(lit(r#"{{- " a " -}}  {{"b"}}  {{- "c"}}"#), " a bc");
    assert_eq!(ok("a  {{- .Name -}}  b"), "a/webb");
    assert_eq!(ok("{{- /* comment */ -}}  {{.Name}}"), "/web");
    assert_eq!(lit("x {{/* c */}} y"), "x  y");
    assert_eq!(lit("{{-3}} {{- 3}}"), "-33");
}

#[test]
fn functions() {
    assert_eq!(
        lit(
            r#"{{printf "%d|%s|%q|%5.2f|%-5s|%05d|%x|%X|%t|%T|%e|%g" 42 "s" "a\"b\n" 3.14159 "ab" 42 255 "hi" true 1.5 1234.5678 0.000012}}"#
        ),
        r#"42|s|"a\"b\n"| 3.14|ab   |00042|ff|6869|true|float64|1.234568e+03|1.2e-05"#
    );
    assert_eq!(
        lit(r#"{{printf "%d %s" "x"}}"#),
        "%!d(string=x) %!s(MISSING)"
    );
    assert_eq!(lit(r#"{{printf "%d" 1 2}}"#), "1%!(EXTRA int=2)");
    assert_eq!(
        lit(r#"{{print 1 2 "a" "b" 3 nil}}|{{println 1 "a"}}|"#),
        "1 2ab3 <nil>|1 a\n|"
    );
    assert_eq!(
        lit(
            r#"{{title "hello wORLD foo-bar_baz"}} {{truncate "abcdef" 3}} {{pad "x" 1 2}}| {{split "a,b,c" ","}} {{join (split "a,b" ",") "+"}}"#
        ),
        "Hello WORLD Foo-Bar_baz abc  x  | [a b c] a+b"
    );
    assert_eq!(
        lit(r#"{{lower "ABC" | title}} {{upper "abc"}} {{"x" | printf "%s-y" | upper}}"#),
        "Abc ABC X-Y"
    );
    assert_eq!(
        lit(r#"{{index "abc" 1}} {{slice "abcdef" 1 3}} {{len "abc"}}"#),
        "98 bc 3"
    );
    assert_eq!(
        lit(r#"{{html "<a href='x'>&</a>"}} {{urlquery "a b&c"}} {{js "it's"}}"#),
        "&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt; a+b%26c it\\'s"
    );
    assert_eq!(
        lit(r#"{{"\u00e9\x41\101"}} {{`raw\n`}} {{'a'}} {{0x1F}} {{1_000}}"#),
        "éAA raw\\n 97 31 1000"
    );
    assert_eq!(
        lit(r#"{{eq "a" "b" "a"}} {{ne 1 2}} {{lt "a" "b"}} {{ge 2 1}} {{not ""}}"#),
        "true true true true true"
    );
    assert_eq!(lit(r#"{{split "abc" ""}} {{pad "" 1 2}}|"#), "[a b c] |");
    assert_eq!(
        ok("{{join .Config.Env \",\"}}|{{join .Args \" \"}}"),
        "FOO=bar,PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin|100000"
    );
    assert_eq!(
        ok("{{printf \"%v\" .State}}"),
        "&{running true false false false false 19617 0  2026-11-28T15:34:12.635015686Z 0001-01-01T00:00:00Z <nil>}"
    );
    assert_eq!(
        ok("{{printf \"%+v\" (index .Mounts 0)}}"),
        "{Type:bind Name: Source:/tmp/vol Destination:/data Driver: Mode: RW:true Propagation:rprivate}"
    );
    assert_eq!(ok("{{print .State.Pid .Name 3 \"x\"}}"), "19617/web3x");
}

#[test]
fn function_argument_errors() {
    let e = |t: &str| {
        Template::parse(t)
            .unwrap()
            .execute(&Value::Invalid, FuncSet::Basic, false)
            .unwrap_err()
    };
    assert_eq!(
        e("{{len 1 2}}"),
        r#"template: :1:2: executing "" at <len>: wrong number of args for len: want 1 got 2"#
    );
    assert_eq!(
        e("{{printf}}"),
        r#"template: :1:2: executing "" at <printf>: wrong number of args for printf: want at least 1 got 0"#
    );
    assert_eq!(
        e("{{printf 1}}"),
        r#"template: :1:9: executing "" at <1>: expected string; found 1"#
    );
    assert_eq!(
        e(r#"{{join "a" ","}}"#),
        r#"template: :1:7: executing "" at <"a">: can't handle "a" for arg of type []string"#
    );
    assert_eq!(
        e("{{slice \"abc\" 2 1}}"),
        r#"template: :1:2: executing "" at <slice "abc" 2 1>: error calling slice: invalid slice index: 2 > 1"#
    );
}

#[test]
fn parse_errors_exit_64() {
    let e = |t: &str| match InspectFormat::parse(Some(t)) {
        Err(Error::Reported { message, code }) => (message, code),
        other => panic!("{t}: {other:?}"),
    };
    assert_eq!(
        e("{{.X"),
        (
            "template parsing error: template: :1: unclosed action".into(),
            64
        )
    );
    assert_eq!(
        e("{{nope}}").0,
        "template parsing error: template: :1: function \"nope\" not defined"
    );
    assert_eq!(
        e("{{if}}x{{end}}").0,
        "template parsing error: template: :1: missing value for if"
    );
    assert_eq!(
        e("{{if .X}}a{{else}}b{{else}}c{{end}}").0,
        "template parsing error: template: :1: expected end; found {{else}}"
    );
    assert_eq!(
        e("{{range $a, $b, $c := .X}}{{end}}").0,
        "template parsing error: template: :1: too many declarations in range"
    );
    assert_eq!(
        e("{{.Name | | upper}}").0,
        "template parsing error: template: :1: unexpected \"|\" in command"
    );
    assert!(matches!(
        InspectFormat::parse(Some("{{template \"x\"}}")),
        Err(Error::NotImplemented(_))
    ));
    assert!(matches!(
        InspectFormat::parse(None),
        Ok(InspectFormat::Indented)
    ));
    assert!(matches!(
        InspectFormat::parse(Some("json")),
        Ok(InspectFormat::Json)
    ));
}

#[test]
fn inspector_output_like_dockers() {
    let raw: String = WEB.lines().collect();
    let f = InspectFormat::parse(Some("{{.Name}}")).unwrap();
    let mut i = Inspector::new(&f);
    i.add(Doc::Container, raw.as_bytes());
    i.error("Error: No such object: x".into());
    assert_eq!(
        i.finish(),
        ("/web\n".into(), vec!["Error: No such object: x".into()])
    );
    // Nothing printed: docker still writes an empty line.
    let f = InspectFormat::parse(Some("{{.Nope}}")).unwrap();
    let mut i = Inspector::new(&f);
    i.add(Doc::Container, raw.as_bytes());
    let (out, errors) = i.finish();
    assert_eq!(out, "\n");
    assert_eq!(errors.len(), 1);
    let f = InspectFormat::parse(Some("json")).unwrap();
    let mut i = Inspector::new(&f);
    i.add(Doc::Untyped, b"{\"a\": [1, \"x y\"]}\n");
    i.add(Doc::Untyped, b"{}");
    assert_eq!(i.finish().0, "[{\"a\":[1,\"x y\"]},{}]\n");
    let f = InspectFormat::parse(None).unwrap();
    assert_eq!(Inspector::new(&f).finish().0, "[]\n");
}

#[test]
fn other_documents() {
    let t = |s: &str, doc: Doc, raw: &str| {
        render_doc(&Template::parse(s).unwrap(), doc, raw.as_bytes())
    };
    let image = r#"{"Id":"sha256:b1de","RepoTags":["busybox:latest"],"RepoDigests":[],"Parent":"","Comment":"","Created":"1970-01-01T00:00:00Z","Config":{"Env":["PATH=/bin"],"Cmd":["sh"],"Labels":null},"Architecture":"amd64","Os":"linux","Size":1985664,"RootFS":{"Type":"layers","Layers":["sha256:747c"]},"Metadata":{"LastTagTime":"0001-01-01T00:00:00Z"}}"#;
    assert_eq!(
        t("{{.Config}}", Doc::Image, image).unwrap(),
        "{{ map[] [PATH=/bin] [] [sh] map[]  map[]  false} {<nil> [] []}}"
    );
    assert_eq!(
        t("{{json .Config}}", Doc::Image, image).unwrap(),
        r#"{"Env":["PATH=/bin"],"Cmd":["sh"]}"#
    );
    assert_eq!(
        t(
            "{{.Metadata}} {{.RootFS}} {{.Size}} {{.Descriptor}}",
            Doc::Image,
            image
        )
        .unwrap(),
        "{0001-01-01 00:00:00 +0000 UTC} {layers [sha256:747c]} 1985664 <nil>"
    );
    assert_eq!(
        t("{{.ID}} {{.Id}}", Doc::Image, image).unwrap_err(),
        r#"template parsing error: template: :1:2: executing "" at <.ID>: map has no entry for key "ID""#
    );
    let net = r#"{"Name":"none","Id":"00de","Created":"2026-11-28T15:34:06.893614419Z","Scope":"local","Driver":"null","EnableIPv6":false,"IPAM":{"Driver":"default","Options":null,"Config":[]},"Internal":false,"Attachable":false,"Ingress":false,"ConfigFrom":{"Network":""},"ConfigOnly":false,"Containers":{"0b9a":{"Name":"web","EndpointID":"bc15","MacAddress":"","IPv4Address":"","IPv6Address":""}},"Options":{},"Labels":{}}"#;
    assert_eq!(
        t(
            "{{.Created}} {{.IPAM}} {{.Containers}} {{.ConfigFrom}} {{.EnableIPv4}}",
            Doc::Network,
            net
        )
        .unwrap(),
        "2026-11-28 15:34:06.893614419 +0000 UTC {default map[] []} map[0b9a:{web bc15   }] {} false"
    );
    assert_eq!(
        t("{{json .IPAM}}", Doc::Network, net).unwrap(),
        r#"{"Driver":"default","Options":null,"Config":[]}"#
    );
    assert!(
        t("{{.Name}}", Doc::Untyped, "{")
            .unwrap_err()
            .starts_with("unable to read inspect data: ")
    );
}

#[test]
fn list_formats_with_tables() {
    let rows = vec![
        row(
            "*formatter.ContainerContext",
            vec![
                ("Names", Value::string("web")),
                ("ID", Value::string("0b9a")),
            ],
            vec![("a".into(), "1".into())],
        ),
        row(
            "*formatter.ContainerContext",
            vec![
                ("Names", Value::string("stopped")),
                ("ID", Value::string("ea30")),
            ],
            vec![],
        ),
    ];
    let header = header(&[("Names", "NAMES"), ("ID", "CONTAINER ID")]);
    let f =
        ListFormat::parse(r#"table {{.Names}}\t{{.Label "com.a-b_c"}}\t{{json .Names}}|{{.ID}}"#)
            .unwrap();
    assert!(f.is_table());
    assert_eq!(
        f.render(&header, &rows).unwrap(),
        "NAMES     a b c     NAMES|CONTAINER ID\nweb                 \"web\"|0b9a\nstopped             \"stopped\"|ea30\n"
    );
    let f = ListFormat::parse("json").unwrap();
    assert_eq!(
        f.render(&header, &rows[..1]).unwrap(),
        "{\"ID\":\"0b9a\",\"Names\":\"web\"}\n"
    );
    let f = ListFormat::parse(r#"{{.Names}}\t{{.Label "a"}}"#).unwrap();
    assert_eq!(f.render(&header, &rows).unwrap(), "web\t1\nstopped\t\n");
    match ListFormat::parse("{{.Nope}}")
        .unwrap()
        .render(&header, &rows)
    {
        Err(Error::Reported { message, code: 1 }) => assert_eq!(
            message,
            r#"template parsing error: template: :1:2: executing "" at <.Nope>: can't evaluate field Nope in type *formatter.ContainerContext"#
        ),
        other => panic!("{other:?}"),
    }
}
