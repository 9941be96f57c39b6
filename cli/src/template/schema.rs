//! The Go types docker's CLI decodes inspect documents into, as far as templates can
//! tell them apart: field order and Go names (`.ID`, `.HostConfig.DNS`), maps versus
//! structs, `omitempty`, typed nils. docker runs a template on these typed values
//! first and only on failure on the raw JSON, so `{{.State}}` prints
//! `{running true ...}` and `{{index .HostConfig.PortBindings "80/tcp"}}` the raw map.
//! Types not described here become "opaque" structs in the daemon's key order.

use std::rc::Rc;

use super::value::{Field, Json, List, Map, Struct, Value};

#[derive(Debug)]
pub enum Ty {
    /// `interface{}`: the raw decoding.
    Any,
    /// A type not described here: objects become structs in key order (or maps when
    /// their keys are not Go field names).
    Opaque,
    Bool,
    Int(&'static str),
    Float,
    Str(&'static str),
    /// `time.Time`: printed as Go prints times, encoded back as RFC 3339.
    Time,
    Slice(&'static str, &'static Ty),
    Map(&'static str, &'static str, &'static Ty),
    Struct(&'static StructDef),
    Ptr(&'static StructDef),
    /// A pointer to a scalar (`*int64`) or to an undescribed struct: the value, or a
    /// nil pointer.
    PtrTo(&'static str, &'static Ty),
}

#[derive(Debug)]
pub struct StructDef {
    pub name: &'static str,
    pub fields: &'static [F],
}

#[derive(Debug)]
pub struct F {
    pub go: &'static str,
    pub json: &'static str,
    pub ty: Ty,
    pub omit: bool,
    pub embed: bool,
}

impl StructDef {
    pub fn has_field(&self, name: &str) -> bool {
        self.fields.iter().any(|f| {
            f.go == name
                || (f.embed && matches!(&f.ty, Ty::Struct(d) | Ty::Ptr(d) if d.has_field(name)))
        })
    }
}

const fn f(go: &'static str, ty: Ty) -> F {
    F {
        go,
        json: go,
        ty,
        omit: false,
        embed: false,
    }
}

/// An `omitempty` field.
const fn o(go: &'static str, ty: Ty) -> F {
    F {
        go,
        json: go,
        ty,
        omit: true,
        embed: false,
    }
}

/// A field whose JSON key differs from its Go name (`ID` ↔ `Id`).
const fn j(go: &'static str, json: &'static str, ty: Ty) -> F {
    F {
        go,
        json,
        ty,
        omit: false,
        embed: false,
    }
}

const fn e(go: &'static str, ty: Ty) -> F {
    F {
        go,
        json: "",
        ty,
        omit: false,
        embed: true,
    }
}

const S: Ty = Ty::Str("string");
const B: Ty = Ty::Bool;
const I: Ty = Ty::Int("int");
const I64: Ty = Ty::Int("int64");
const U16: Ty = Ty::Int("uint16");
const SS: Ty = Ty::Slice("[]string", &S);
const STRSLICE: Ty = Ty::Slice("strslice.StrSlice", &S);
const SMAP: Ty = Ty::Map("map[string]string", "string", &S);
const EMPTY: StructDef = StructDef {
    name: "struct {}",
    fields: &[],
};
const OPAQUES: Ty = Ty::Slice("[]interface {}", &Ty::Opaque);

// ---------------------------------------------------------------- container inspect

static HEALTHCHECK_RESULT: StructDef = StructDef {
    name: "container.HealthcheckResult",
    fields: &[
        f("Start", Ty::Time),
        f("End", Ty::Time),
        f("ExitCode", I),
        f("Output", S),
    ],
};

static HEALTH: StructDef = StructDef {
    name: "container.Health",
    fields: &[
        f("Status", S),
        f("FailingStreak", I),
        f(
            "Log",
            Ty::Slice(
                "[]*container.HealthcheckResult",
                &Ty::Ptr(&HEALTHCHECK_RESULT),
            ),
        ),
    ],
};

static STATE: StructDef = StructDef {
    name: "container.State",
    fields: &[
        f("Status", S),
        f("Running", B),
        f("Paused", B),
        f("Restarting", B),
        f("OOMKilled", B),
        f("Dead", B),
        f("Pid", I),
        f("ExitCode", I),
        f("Error", S),
        f("StartedAt", S),
        f("FinishedAt", S),
        o("Health", Ty::Ptr(&HEALTH)),
    ],
};

static MOUNT_POINT: StructDef = StructDef {
    name: "container.MountPoint",
    fields: &[
        f("Type", Ty::Str("mount.Type")),
        o("Name", S),
        f("Source", S),
        f("Destination", S),
        o("Driver", S),
        f("Mode", S),
        f("RW", B),
        f("Propagation", Ty::Str("mount.Propagation")),
    ],
};

static HEALTH_CONFIG: StructDef = StructDef {
    name: "container.HealthConfig",
    fields: &[
        o("Test", SS),
        o("Interval", Ty::Int("time.Duration")),
        o("Timeout", Ty::Int("time.Duration")),
        o("StartPeriod", Ty::Int("time.Duration")),
        o("StartInterval", Ty::Int("time.Duration")),
        o("Retries", I),
    ],
};

const PORT_SET: Ty = Ty::Map("nat.PortSet", "nat.Port", &Ty::Struct(&EMPTY));
const VOLUMES: Ty = Ty::Map("map[string]struct {}", "string", &Ty::Struct(&EMPTY));

static CONFIG: StructDef = StructDef {
    name: "container.Config",
    fields: &[
        f("Hostname", S),
        f("Domainname", S),
        f("User", S),
        f("AttachStdin", B),
        f("AttachStdout", B),
        f("AttachStderr", B),
        o("ExposedPorts", PORT_SET),
        f("Tty", B),
        f("OpenStdin", B),
        f("StdinOnce", B),
        f("Env", SS),
        f("Cmd", STRSLICE),
        o("Healthcheck", Ty::Ptr(&HEALTH_CONFIG)),
        o("ArgsEscaped", B),
        f("Image", S),
        f("Volumes", VOLUMES),
        f("WorkingDir", S),
        f("Entrypoint", STRSLICE),
        o("NetworkDisabled", B),
        o("MacAddress", S),
        f("OnBuild", SS),
        f("Labels", SMAP),
        o("StopSignal", S),
        o("StopTimeout", Ty::PtrTo("*int", &I)),
        o("Shell", STRSLICE),
    ],
};

static PORT_BINDING: StructDef = StructDef {
    name: "nat.PortBinding",
    fields: &[j("HostIP", "HostIp", S), f("HostPort", S)],
};

const PORT_MAP: Ty = Ty::Map(
    "nat.PortMap",
    "nat.Port",
    &Ty::Slice("[]nat.PortBinding", &Ty::Struct(&PORT_BINDING)),
);

static LOG_CONFIG: StructDef = StructDef {
    name: "container.LogConfig",
    fields: &[f("Type", S), f("Config", SMAP)],
};

static RESTART_POLICY: StructDef = StructDef {
    name: "container.RestartPolicy",
    fields: &[
        f("Name", Ty::Str("container.RestartPolicyMode")),
        f("MaximumRetryCount", I),
    ],
};

static RESOURCES: StructDef = StructDef {
    name: "container.Resources",
    fields: &[
        j("CPUShares", "CpuShares", I64),
        f("Memory", I64),
        j("NanoCPUs", "NanoCpus", I64),
        f("CgroupParent", S),
        f("BlkioWeight", U16),
        f("BlkioWeightDevice", OPAQUES),
        f("BlkioDeviceReadBps", OPAQUES),
        f("BlkioDeviceWriteBps", OPAQUES),
        f("BlkioDeviceReadIOps", OPAQUES),
        f("BlkioDeviceWriteIOps", OPAQUES),
        j("CPUPeriod", "CpuPeriod", I64),
        j("CPUQuota", "CpuQuota", I64),
        j("CPURealtimePeriod", "CpuRealtimePeriod", I64),
        j("CPURealtimeRuntime", "CpuRealtimeRuntime", I64),
        f("CpusetCpus", S),
        f("CpusetMems", S),
        f("Devices", OPAQUES),
        f("DeviceCgroupRules", SS),
        f("DeviceRequests", OPAQUES),
        o("KernelMemory", I64),
        o("KernelMemoryTCP", I64),
        f("MemoryReservation", I64),
        f("MemorySwap", I64),
        f("MemorySwappiness", Ty::PtrTo("*int64", &I64)),
        f("OomKillDisable", Ty::PtrTo("*bool", &B)),
        f("PidsLimit", Ty::PtrTo("*int64", &I64)),
        f("Ulimits", OPAQUES),
        j("CPUCount", "CpuCount", I64),
        j("CPUPercent", "CpuPercent", I64),
        f("IOMaximumIOps", Ty::Int("uint64")),
        f("IOMaximumBandwidth", Ty::Int("uint64")),
    ],
};

static HOST_CONFIG: StructDef = StructDef {
    name: "container.HostConfig",
    fields: &[
        f("Binds", SS),
        f("ContainerIDFile", S),
        f("LogConfig", Ty::Struct(&LOG_CONFIG)),
        f("NetworkMode", Ty::Str("container.NetworkMode")),
        f("PortBindings", PORT_MAP),
        f("RestartPolicy", Ty::Struct(&RESTART_POLICY)),
        f("AutoRemove", B),
        f("VolumeDriver", S),
        f("VolumesFrom", SS),
        f("ConsoleSize", Ty::Slice("[2]uint", &Ty::Int("uint"))),
        o("Annotations", SMAP),
        f("CapAdd", STRSLICE),
        f("CapDrop", STRSLICE),
        f("CgroupnsMode", Ty::Str("container.CgroupnsMode")),
        j("DNS", "Dns", SS),
        j("DNSOptions", "DnsOptions", SS),
        j("DNSSearch", "DnsSearch", SS),
        f("ExtraHosts", SS),
        f("GroupAdd", SS),
        f("IpcMode", Ty::Str("container.IpcMode")),
        f("Cgroup", Ty::Str("container.CgroupSpec")),
        f("Links", SS),
        f("OomScoreAdj", I),
        f("PidMode", Ty::Str("container.PidMode")),
        f("Privileged", B),
        f("PublishAllPorts", B),
        f("ReadonlyRootfs", B),
        f("SecurityOpt", SS),
        o("StorageOpt", SMAP),
        o("Tmpfs", SMAP),
        f("UTSMode", Ty::Str("container.UTSMode")),
        f("UsernsMode", Ty::Str("container.UsernsMode")),
        f("ShmSize", I64),
        o("Sysctls", SMAP),
        o("Runtime", S),
        f("Isolation", Ty::Str("container.Isolation")),
        e("Resources", Ty::Struct(&RESOURCES)),
        o("Mounts", OPAQUES),
        o("MaskedPaths", SS),
        o("ReadonlyPaths", SS),
        o("Init", Ty::PtrTo("*bool", &B)),
    ],
};

static GRAPH_DRIVER: StructDef = StructDef {
    name: "storage.DriverData",
    fields: &[f("Data", SMAP), f("Name", S)],
};

static ENDPOINT_IPAM: StructDef = StructDef {
    name: "network.EndpointIPAMConfig",
    fields: &[
        o("IPv4Address", S),
        o("IPv6Address", S),
        o("LinkLocalIPs", SS),
    ],
};

static ENDPOINT: StructDef = StructDef {
    name: "network.EndpointSettings",
    fields: &[
        f("IPAMConfig", Ty::Ptr(&ENDPOINT_IPAM)),
        f("Links", SS),
        f("Aliases", SS),
        f("MacAddress", S),
        f("DriverOpts", SMAP),
        f("GwPriority", I),
        f("NetworkID", S),
        f("EndpointID", S),
        f("Gateway", S),
        f("IPAddress", S),
        f("IPPrefixLen", I),
        f("IPv6Gateway", S),
        f("GlobalIPv6Address", S),
        f("GlobalIPv6PrefixLen", I),
        f("DNSNames", SS),
    ],
};

static ADDRESS: StructDef = StructDef {
    name: "network.Address",
    fields: &[f("Addr", S), f("PrefixLen", I)],
};

static NETWORK_SETTINGS_BASE: StructDef = StructDef {
    name: "container.NetworkSettingsBase",
    fields: &[
        f("Bridge", S),
        f("SandboxID", S),
        f("SandboxKey", S),
        f("Ports", PORT_MAP),
        o("HairpinMode", B),
        o("LinkLocalIPv6Address", S),
        o("LinkLocalIPv6PrefixLen", I),
        o(
            "SecondaryIPAddresses",
            Ty::Slice("[]network.Address", &Ty::Struct(&ADDRESS)),
        ),
        o(
            "SecondaryIPv6Addresses",
            Ty::Slice("[]network.Address", &Ty::Struct(&ADDRESS)),
        ),
    ],
};

static DEFAULT_NETWORK_SETTINGS: StructDef = StructDef {
    name: "container.DefaultNetworkSettings",
    fields: &[
        f("EndpointID", S),
        f("Gateway", S),
        f("GlobalIPv6Address", S),
        f("GlobalIPv6PrefixLen", I),
        f("IPAddress", S),
        f("IPPrefixLen", I),
        f("IPv6Gateway", S),
        f("MacAddress", S),
    ],
};

static NETWORK_SETTINGS: StructDef = StructDef {
    name: "container.NetworkSettings",
    fields: &[
        e("NetworkSettingsBase", Ty::Struct(&NETWORK_SETTINGS_BASE)),
        e(
            "DefaultNetworkSettings",
            Ty::Struct(&DEFAULT_NETWORK_SETTINGS),
        ),
        f(
            "Networks",
            Ty::Map(
                "map[string]*network.EndpointSettings",
                "string",
                &Ty::Ptr(&ENDPOINT),
            ),
        ),
    ],
};

static CONTAINER_BASE: StructDef = StructDef {
    name: "container.ContainerJSONBase",
    fields: &[
        j("ID", "Id", S),
        f("Created", S),
        f("Path", S),
        f("Args", SS),
        f("State", Ty::Ptr(&STATE)),
        f("Image", S),
        f("ResolvConfPath", S),
        f("HostnamePath", S),
        f("HostsPath", S),
        f("LogPath", S),
        f("Name", S),
        f("RestartCount", I),
        f("Driver", S),
        f("Platform", S),
        f("MountLabel", S),
        f("ProcessLabel", S),
        f("AppArmorProfile", S),
        f("ExecIDs", SS),
        f("HostConfig", Ty::Ptr(&HOST_CONFIG)),
        f("GraphDriver", Ty::Struct(&GRAPH_DRIVER)),
        o("SizeRw", Ty::PtrTo("*int64", &I64)),
        o("SizeRootFs", Ty::PtrTo("*int64", &I64)),
    ],
};

pub static CONTAINER: StructDef = StructDef {
    name: "container.InspectResponse",
    fields: &[
        e("ContainerJSONBase", Ty::Ptr(&CONTAINER_BASE)),
        f(
            "Mounts",
            Ty::Slice("[]container.MountPoint", &Ty::Struct(&MOUNT_POINT)),
        ),
        f("Config", Ty::Ptr(&CONFIG)),
        f("NetworkSettings", Ty::Ptr(&NETWORK_SETTINGS)),
        o(
            "ImageManifestDescriptor",
            Ty::PtrTo("*v1.Descriptor", &Ty::Opaque),
        ),
    ],
};

// ---------------------------------------------------------------- image inspect

static IMAGE_CONFIG: StructDef = StructDef {
    name: "ocispec.ImageConfig",
    fields: &[
        o("User", S),
        o(
            "ExposedPorts",
            Ty::Map("map[string]struct {}", "string", &Ty::Struct(&EMPTY)),
        ),
        o("Env", SS),
        o("Entrypoint", SS),
        o("Cmd", SS),
        o("Volumes", VOLUMES),
        o("WorkingDir", S),
        o("Labels", SMAP),
        o("StopSignal", S),
        o("ArgsEscaped", B),
    ],
};

static IMAGE_CONFIG_EXT: StructDef = StructDef {
    name: "v1.DockerOCIImageConfigExt",
    fields: &[
        o("Healthcheck", Ty::Ptr(&HEALTH_CONFIG)),
        o("OnBuild", SS),
        o("Shell", SS),
    ],
};

static DOCKER_IMAGE_CONFIG: StructDef = StructDef {
    name: "v1.DockerOCIImageConfig",
    fields: &[
        e("ImageConfig", Ty::Struct(&IMAGE_CONFIG)),
        e("DockerOCIImageConfigExt", Ty::Struct(&IMAGE_CONFIG_EXT)),
    ],
};

static ROOT_FS: StructDef = StructDef {
    name: "image.RootFS",
    fields: &[f("Type", S), o("Layers", SS)],
};

static IMAGE_METADATA: StructDef = StructDef {
    name: "image.Metadata",
    fields: &[o("LastTagTime", Ty::Time)],
};

pub static IMAGE: StructDef = StructDef {
    name: "image.InspectResponse",
    fields: &[
        j("ID", "Id", S),
        f("RepoTags", SS),
        f("RepoDigests", SS),
        f("Parent", S),
        f("Comment", S),
        o("Created", S),
        o("Container", S),
        o("ContainerConfig", Ty::Ptr(&CONFIG)),
        o("DockerVersion", S),
        f("Author", S),
        f("Config", Ty::Ptr(&DOCKER_IMAGE_CONFIG)),
        f("Architecture", S),
        o("Variant", S),
        f("Os", S),
        o("OsVersion", S),
        f("Size", I64),
        o("VirtualSize", I64),
        f("GraphDriver", Ty::Struct(&GRAPH_DRIVER)),
        f("RootFS", Ty::Struct(&ROOT_FS)),
        f("Metadata", Ty::Struct(&IMAGE_METADATA)),
        o("Descriptor", Ty::PtrTo("*v1.Descriptor", &Ty::Opaque)),
        o("Manifests", OPAQUES),
    ],
};

// ---------------------------------------------------------------- network inspect

static IPAM_CONFIG: StructDef = StructDef {
    name: "network.IPAMConfig",
    fields: &[
        o("Subnet", S),
        o("IPRange", S),
        o("Gateway", S),
        o("AuxAddress", SMAP),
    ],
};

static IPAM: StructDef = StructDef {
    name: "network.IPAM",
    fields: &[
        f("Driver", S),
        f("Options", SMAP),
        f(
            "Config",
            Ty::Slice("[]network.IPAMConfig", &Ty::Struct(&IPAM_CONFIG)),
        ),
    ],
};

static ENDPOINT_RESOURCE: StructDef = StructDef {
    name: "network.EndpointResource",
    fields: &[
        f("Name", S),
        f("EndpointID", S),
        f("MacAddress", S),
        f("IPv4Address", S),
        f("IPv6Address", S),
    ],
};

static CONFIG_REFERENCE: StructDef = StructDef {
    name: "network.ConfigReference",
    fields: &[f("Network", S)],
};

pub static NETWORK: StructDef = StructDef {
    name: "network.Inspect",
    fields: &[
        f("Name", S),
        j("ID", "Id", S),
        f("Created", Ty::Time),
        f("Scope", S),
        f("Driver", S),
        f("EnableIPv4", B),
        f("EnableIPv6", B),
        f("IPAM", Ty::Struct(&IPAM)),
        f("Internal", B),
        f("Attachable", B),
        f("Ingress", B),
        f("ConfigFrom", Ty::Struct(&CONFIG_REFERENCE)),
        f("ConfigOnly", B),
        f(
            "Containers",
            Ty::Map(
                "map[string]network.EndpointResource",
                "string",
                &Ty::Struct(&ENDPOINT_RESOURCE),
            ),
        ),
        f("Options", SMAP),
        f("Labels", SMAP),
        o("Peers", OPAQUES),
        o(
            "Services",
            Ty::Map("map[string]network.ServiceInfo", "string", &Ty::Opaque),
        ),
    ],
};

// ---------------------------------------------------------------- volume inspect

pub static VOLUME: StructDef = StructDef {
    name: "volume.Volume",
    fields: &[
        o(
            "ClusterVolume",
            Ty::PtrTo("*volume.ClusterVolume", &Ty::Opaque),
        ),
        o("CreatedAt", S),
        f("Driver", S),
        f("Labels", SMAP),
        f("Mountpoint", S),
        f("Name", S),
        f("Options", SMAP),
        f("Scope", S),
        o(
            "Status",
            Ty::Map("map[string]interface {}", "string", &Ty::Any),
        ),
        o("UsageData", Ty::PtrTo("*volume.UsageData", &Ty::Opaque)),
    ],
};

// ---------------------------------------------------------------- events

/// An `omitempty` field whose JSON key differs from its Go name.
const fn jo(go: &'static str, json: &'static str, ty: Ty) -> F {
    F {
        go,
        json,
        ty,
        omit: true,
        embed: false,
    }
}

static EVENT_ACTOR: StructDef = StructDef {
    name: "events.Actor",
    fields: &[f("ID", S), f("Attributes", SMAP)],
};

/// `events.Message`, what `docker events --format` runs on.
pub static EVENT: StructDef = StructDef {
    name: "events.Message",
    fields: &[
        jo("Status", "status", S),
        jo("ID", "id", S),
        jo("From", "from", S),
        f("Type", Ty::Str("events.Type")),
        f("Action", Ty::Str("events.Action")),
        f("Actor", Ty::Struct(&EVENT_ACTOR)),
        jo("Scope", "scope", S),
        jo("Time", "time", I64),
        jo("TimeNano", "timeNano", I64),
    ],
};

// ---------------------------------------------------------------- conversion

pub static CONTAINER_TY: Ty = Ty::Struct(&CONTAINER);
pub static IMAGE_TY: Ty = Ty::Struct(&IMAGE);
pub static NETWORK_TY: Ty = Ty::Struct(&NETWORK);
pub static VOLUME_TY: Ty = Ty::Struct(&VOLUME);
pub static EVENT_TY: Ty = Ty::Struct(&EVENT);
pub static OPAQUE_TY: Ty = Ty::Opaque;

/// The typed value docker's CLI would have decoded `j` into.
pub fn typed(j: Option<&Json>, ty: &'static Ty) -> Value {
    let j = match j {
        None | Some(Json::Null) => return zero(ty),
        Some(j) => j,
    };
    match (ty, j) {
        (Ty::Any, j) => j.to_raw_value(),
        (Ty::Bool, Json::Bool(b)) => Value::Bool(*b),
        (Ty::Int(t), Json::Num(n)) => match (n.parse::<i64>(), n.parse::<u64>()) {
            (Ok(i), _) => Value::Int(i, t),
            (_, Ok(u)) => Value::Int(u as i64, t),
            _ => opaque(j),
        },
        (Ty::Float, Json::Num(n)) => match n.parse::<f64>() {
            Ok(f) => Value::Float(f, "float64"),
            Err(_) => opaque(j),
        },
        (Ty::Str(t), Json::Str(s)) => Value::Str(s.as_str().into(), t),
        (Ty::Time, Json::Str(s)) => time_value(s),
        (Ty::Slice(t, elem), Json::Arr(items)) => Value::List(Rc::new(List {
            ty: t,
            items: items.iter().map(|i| typed(Some(i), elem)).collect(),
            nil: false,
            strings: matches!(elem, Ty::Str("string")),
        })),
        (Ty::Map(t, key, elem), Json::Obj(fields)) => {
            let mut entries: Vec<(String, Value)> = Vec::new();
            for (k, v) in fields {
                entries.retain(|(e, _)| e != k);
                entries.push((k.clone(), typed(Some(v), elem)));
            }
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Map(Rc::new(Map {
                ty: t,
                key_ty: key,
                entries,
                nil: false,
                elem_zero: zero(elem),
            }))
        }
        (Ty::Struct(def), Json::Obj(_)) => struct_value(j, def, false),
        (Ty::Ptr(def), Json::Obj(_)) => struct_value(j, def, true),
        (Ty::PtrTo(_, inner), j) => typed(Some(j), inner),
        (_, j) => opaque(j),
    }
}

fn struct_value(j: &Json, def: &'static StructDef, ptr: bool) -> Value {
    let fields = def
        .fields
        .iter()
        .map(|fd| {
            let value = if fd.embed {
                match &fd.ty {
                    Ty::Struct(d) => struct_value(j, d, false),
                    Ty::Ptr(d) => struct_value(j, d, true),
                    _ => Value::Invalid,
                }
            } else {
                typed(j.get(fd.json), &fd.ty)
            };
            Field {
                name: fd.go.to_owned(),
                json: Some(fd.json.to_owned()),
                omitempty: fd.omit,
                embedded: fd.embed,
                value,
            }
        })
        .collect();
    Value::Struct(Rc::new(Struct {
        ty: def.name.to_owned(),
        escape_html: false,
        ptr,
        fields,
    }))
}

/// The zero value of `ty`, for a field the document leaves out or sets to null.
pub fn zero(ty: &'static Ty) -> Value {
    match ty {
        Ty::Any | Ty::Opaque => Value::Invalid,
        Ty::Bool => Value::Bool(false),
        Ty::Int(t) => Value::Int(0, t),
        Ty::Float => Value::Float(0.0, "float64"),
        Ty::Str(t) => Value::Str("".into(), t),
        Ty::Time => time_value("0001-01-01T00:00:00Z"),
        Ty::Slice(t, elem) => Value::List(Rc::new(List {
            ty: t,
            items: Vec::new(),
            nil: true,
            strings: matches!(elem, Ty::Str("string")),
        })),
        Ty::Map(t, key, elem) => Value::Map(Rc::new(Map {
            ty: t,
            key_ty: key,
            entries: Vec::new(),
            nil: true,
            elem_zero: zero(elem),
        })),
        Ty::Struct(def) => struct_value(&Json::Obj(Vec::new()), def, false),
        Ty::Ptr(def) => Value::NilPtr(ptr_name(def), Some(def)),
        Ty::PtrTo(t, _) => Value::NilPtr(t, None),
    }
}

fn ptr_name(def: &'static StructDef) -> &'static str {
    // The few pointer types a template can meet nil; named statically for `%T`.
    match def.name {
        "container.Health" => "*container.Health",
        "container.HealthConfig" => "*container.HealthConfig",
        "container.State" => "*container.State",
        "container.Config" => "*container.Config",
        "container.HostConfig" => "*container.HostConfig",
        "container.NetworkSettings" => "*container.NetworkSettings",
        "container.ContainerJSONBase" => "*container.ContainerJSONBase",
        "network.EndpointIPAMConfig" => "*network.EndpointIPAMConfig",
        "network.EndpointSettings" => "*network.EndpointSettings",
        "v1.DockerOCIImageConfig" => "*v1.DockerOCIImageConfig",
        _ => "*struct",
    }
}

/// A time as docker's typed structs hold it: printed with Go's `Time.String()`.
fn time_value(rfc3339: &str) -> Value {
    Value::Time(rfc3339.into(), go_time(rfc3339).into())
}

/// An RFC 3339 time as Go's `time.Time.String()` prints it:
/// `2026-11-28 15:07:09.282724995 +0000 UTC`.
pub fn go_time(rfc3339: &str) -> String {
    let Ok(t) = chrono::DateTime::parse_from_rfc3339(rfc3339) else {
        return rfc3339.to_owned();
    };
    let mut out = t.format("%Y-%m-%d %H:%M:%S").to_string();
    let nanos = t.timestamp_subsec_nanos();
    if nanos != 0 {
        let frac = format!("{nanos:09}");
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
    let offset = t.format("%z").to_string();
    let zone = if t.offset().local_minus_utc() == 0 {
        "UTC".to_owned()
    } else {
        offset.clone()
    };
    format!("{out} {offset} {zone}")
}

fn is_go_field_name(k: &str) -> bool {
    let mut cs = k.chars();
    cs.next().is_some_and(|c| c.is_ascii_uppercase())
        && cs.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A value of a type we do not describe: scalars as they are, objects as structs in
/// the daemon's key order when their keys look like Go fields, maps otherwise.
pub fn opaque(j: &Json) -> Value {
    match j {
        Json::Null => Value::Invalid,
        Json::Bool(b) => Value::Bool(*b),
        Json::Num(n) => match n.parse::<i64>() {
            Ok(i) => Value::Int(i, "int64"),
            Err(_) => Value::Float(n.parse().unwrap_or(0.0), "float64"),
        },
        Json::Str(s) => Value::string(s.as_str()),
        Json::Arr(items) => {
            let strings = items.iter().all(|i| matches!(i, Json::Str(_)));
            Value::List(Rc::new(List {
                ty: if strings {
                    "[]string"
                } else {
                    "[]interface {}"
                },
                items: items.iter().map(opaque).collect(),
                nil: false,
                strings,
            }))
        }
        Json::Obj(fields)
            if !fields.is_empty() && fields.iter().all(|(k, _)| is_go_field_name(k)) =>
        {
            Value::Struct(Rc::new(Struct {
                ty: "struct".to_owned(),
                escape_html: false,
                ptr: false,
                fields: fields
                    .iter()
                    .map(|(k, v)| Field {
                        name: k.clone(),
                        json: Some(k.clone()),
                        omitempty: false,
                        embedded: false,
                        value: opaque(v),
                    })
                    .collect(),
            }))
        }
        Json::Obj(fields) => {
            let strings = fields.iter().all(|(_, v)| matches!(v, Json::Str(_)));
            let mut entries: Vec<(String, Value)> = Vec::new();
            for (k, v) in fields {
                entries.retain(|(e, _)| e != k);
                entries.push((k.clone(), opaque(v)));
            }
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Map(Rc::new(Map {
                ty: if strings {
                    "map[string]string"
                } else {
                    "map[string]interface {}"
                },
                key_ty: "string",
                entries,
                nil: false,
                elem_zero: if strings {
                    Value::string("")
                } else {
                    Value::Invalid
                },
            }))
        }
    }
}
