//! The deploy files, checked without a container engine or a cluster: deploy/compose.yaml,
//! every deploy/k8s/*.yaml, deploy/Dockerfile, the Grafana provisioning and the systemd
//! units parse, and everything they say about Bawaba is true of the binary that ships:
//! every subcommand and `--flag` they pass is in that subcommand's `--help`, every
//! `BAWABA_*` variable is one it reads (`[env: NAME`), every port they publish, expose or
//! probe is one the process listens on (its default or the address they pass), and every
//! file they mount or copy exists in the repository.

#![allow(clippy::unwrap_used)] // test code: a failed check is a failed test

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use bawaba_e2e::{bawaba_command, output_text, workspace_root};
use yaml_rust2::{Yaml, YamlLoader};

// ---- the binary's command line, read from its --help --------------------------------------

/// One option of a subcommand's `--help`.
#[derive(Debug, Clone, Default)]
struct Opt {
    env: Option<String>,
    default: Option<String>,
}

/// What `bawaba <path> --help` says: its options and its subcommands.
#[derive(Debug, Clone, Default)]
struct Help {
    opts: BTreeMap<String, Opt>,
    subcommands: BTreeSet<String>,
}

fn parse_help(text: &str) -> Help {
    let mut help = Help::default();
    let mut section = "";
    let mut current: Option<String> = None;
    for line in text.lines() {
        if !line.starts_with(' ') && line.ends_with(':') {
            section = line.trim_end_matches(':');
            current = None;
            continue;
        }
        let t = line.trim();
        match section {
            "Commands" => {
                if let Some(name) = t.split_whitespace().next()
                    && line.starts_with("  ")
                    && !line.starts_with("   ")
                    && name != "help"
                {
                    help.subcommands.insert(name.to_owned());
                }
            }
            "Options" => {
                if t.starts_with('-') {
                    let long = t
                        .split([' ', ','])
                        .find(|w| w.starts_with("--"))
                        .map(|w| w.trim_start_matches("--").to_owned());
                    if let Some(name) = &long {
                        help.opts.insert(name.clone(), Opt::default());
                    }
                    current = long;
                }
                // `[env: ...]` and `[default: ...]` follow the flag, on its line or below.
                if let Some(name) = &current {
                    let opt = help.opts.get_mut(name).unwrap();
                    if let Some(i) = t.find("[env: ") {
                        let rest = &t[i + 6..];
                        let end = rest.find(['=', ']']).unwrap_or(rest.len());
                        opt.env = Some(rest[..end].to_owned());
                    }
                    if let Some(i) = t.find("[default: ") {
                        let rest = &t[i + 10..];
                        opt.default = Some(rest[..rest.find(']').unwrap_or(rest.len())].to_owned());
                    }
                }
            }
            _ => {}
        }
    }
    help
}

/// `bawaba PATH... --help`, parsed; fails the test if the subcommand does not exist.
fn help(path: &[&str]) -> Help {
    static CACHE: OnceLock<Mutex<HashMap<String, Help>>> = OnceLock::new();
    let key = path.join(" ");
    let cache = CACHE.get_or_init(Mutex::default);
    if let Some(h) = cache.lock().unwrap().get(&key) {
        return h.clone();
    }
    let out = bawaba_command()
        .args(path)
        .arg("--help")
        .output()
        .expect("running bawaba --help");
    assert!(
        out.status.success(),
        "`bawaba {key} --help` failed: is `{key}` a bawaba subcommand?\n{}",
        output_text(&out)
    );
    let h = parse_help(&String::from_utf8_lossy(&out.stdout));
    cache.lock().unwrap().insert(key, h.clone());
    h
}

/// Every `BAWABA_*` variable the binary reads, over all its subcommands.
fn all_env_vars() -> BTreeSet<String> {
    fn walk(path: &mut Vec<String>, out: &mut BTreeSet<String>) {
        let p: Vec<&str> = path.iter().map(String::as_str).collect();
        let h = help(&p);
        out.extend(h.opts.values().filter_map(|o| o.env.clone()));
        for sub in h.subcommands {
            path.push(sub);
            walk(path, out);
            path.pop();
        }
    }
    let mut out = BTreeSet::new();
    walk(&mut Vec::new(), &mut out);
    out
}

/// A `bawaba` invocation found in a deploy file, checked against its `--help`.
#[derive(Debug)]
struct Invocation {
    what: String,
    path: Vec<String>,
    help: Help,
    flags: BTreeMap<String, String>,
    env: BTreeMap<String, String>,
}

impl Invocation {
    /// Checks `args` (after the binary) and the `BAWABA_*` variables set in `env`; `inherited`
    /// (the image's environment) only gives values.
    fn new(
        what: &str,
        args: &[String],
        env: BTreeMap<String, String>,
        inherited: &BTreeMap<String, String>,
    ) -> Invocation {
        let mut path = Vec::new();
        let mut i = 0;
        loop {
            let p: Vec<&str> = path.iter().map(String::as_str).collect();
            let h = help(&p);
            match args.get(i) {
                Some(a) if !a.starts_with('-') && h.subcommands.contains(a) => {
                    path.push(a.clone());
                    i += 1;
                }
                Some(a) if !a.starts_with('-') && !h.subcommands.is_empty() => {
                    panic!(
                        "{what}: `{a}` is not a subcommand of `bawaba {}`",
                        path.join(" ")
                    )
                }
                _ => break,
            }
        }
        assert!(!path.is_empty(), "{what}: no bawaba subcommand in {args:?}");
        let p: Vec<&str> = path.iter().map(String::as_str).collect();
        let h = help(&p);
        let mut flags = BTreeMap::new();
        while let Some(a) = args.get(i) {
            let flag = a
                .strip_prefix("--")
                .unwrap_or_else(|| panic!("{what}: unexpected argument {a:?} in {args:?}"));
            let (name, value) = match flag.split_once('=') {
                Some((n, v)) => (n.to_owned(), v.to_owned()),
                None => match args.get(i + 1) {
                    Some(v) if !v.starts_with("--") => {
                        i += 1;
                        (flag.to_owned(), v.clone())
                    }
                    _ => (flag.to_owned(), String::new()),
                },
            };
            assert!(
                h.opts.contains_key(&name),
                "{what}: `bawaba {}` has no flag --{name} (its flags: {:?})",
                path.join(" "),
                h.opts.keys().collect::<Vec<_>>()
            );
            flags.insert(name, value);
            i += 1;
        }
        for name in env.keys().filter(|n| n.starts_with("BAWABA_")) {
            assert!(
                h.opts.values().any(|o| o.env.as_deref() == Some(name)),
                "{what}: `bawaba {}` reads no variable {name}",
                path.join(" ")
            );
        }
        let mut all_env = inherited.clone();
        all_env.extend(env);
        Invocation {
            what: what.to_owned(),
            path,
            help: h,
            flags,
            env: all_env,
        }
    }

    /// The ports it listens on: every `*_ADDR` option whose value (passed, from the
    /// environment, or its default) is a socket address.
    fn listen_ports(&self) -> BTreeSet<u16> {
        self.help
            .opts
            .iter()
            .filter(|(_, o)| o.env.as_deref().is_some_and(|e| e.ends_with("_ADDR")))
            .filter_map(|(name, o)| {
                self.flags
                    .get(name)
                    .or_else(|| o.env.as_ref().and_then(|e| self.env.get(e)))
                    .or(o.default.as_ref())
                    .and_then(|v| v.parse::<SocketAddr>().ok())
            })
            .map(|a| a.port())
            .collect()
    }

    /// The value of an option, passed or from the environment.
    fn value(&self, flag: &str) -> Option<String> {
        self.flags.get(flag).cloned().or_else(|| {
            let env = self.help.opts.get(flag)?.env.as_ref()?;
            self.env.get(env).cloned()
        })
    }

    fn assert_listens(&self, port: u16, context: &str) {
        let ports = self.listen_ports();
        assert!(
            ports.contains(&port),
            "{}: {context} uses port {port}, but `bawaba {}` listens on {ports:?} here",
            self.what,
            self.path.join(" ")
        );
    }
}

// ---- files ---------------------------------------------------------------------------------

fn deploy() -> PathBuf {
    workspace_root().join("deploy")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn yaml(path: &Path) -> Vec<Yaml> {
    YamlLoader::load_from_str(&read(path))
        .unwrap_or_else(|e| panic!("{} is not valid YAML: {e}", path.display()))
}

fn s(y: &Yaml) -> String {
    match y {
        Yaml::String(s) | Yaml::Real(s) => s.clone(),
        Yaml::Integer(i) => i.to_string(),
        Yaml::Boolean(b) => b.to_string(),
        other => panic!("expected a scalar, got {other:?}"),
    }
}

fn strings(y: &Yaml) -> Vec<String> {
    match y {
        Yaml::Array(a) => a.iter().map(s).collect(),
        Yaml::BadValue | Yaml::Null => Vec::new(),
        other => vec![s(other)],
    }
}

fn port_of(y: &Yaml) -> u16 {
    s(y).parse()
        .unwrap_or_else(|e| panic!("port {y:?} is not a number: {e}"))
}

/// Every `BAWABA_*` name written anywhere in `text` (comments included) is one the binary
/// reads.
fn assert_env_names_exist(file: &Path, text: &str) {
    let known = all_env_vars();
    for (i, _) in text.match_indices("BAWABA_") {
        let name: String = text[i..]
            .chars()
            .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
            .collect();
        assert!(
            known.contains(&name),
            "{} names {name}, which bawaba does not read (it reads {known:?})",
            file.display()
        );
    }
}

// ---- compose -------------------------------------------------------------------------------

fn compose_env(service: &Yaml) -> BTreeMap<String, String> {
    match &service["environment"] {
        Yaml::Hash(h) => h.iter().map(|(k, v)| (s(k), s(v))).collect(),
        Yaml::Array(a) => a
            .iter()
            .map(|e| {
                let e = s(e);
                let (k, v) = e.split_once('=').unwrap_or((&e, ""));
                (k.to_owned(), v.to_owned())
            })
            .collect(),
        _ => BTreeMap::new(),
    }
}

/// The Dockerfile's default command and environment (what a service without `command` runs).
fn dockerfile_defaults() -> (Vec<String>, BTreeMap<String, String>) {
    let text = read(&deploy().join("Dockerfile"));
    let runtime = text.rsplit("\nFROM ").next().unwrap();
    let mut cmd = Vec::new();
    let mut env = BTreeMap::new();
    for inst in instructions(runtime) {
        if let Some(rest) = inst.strip_prefix("CMD ") {
            cmd = json_array(rest);
        }
        if let Some(rest) = inst.strip_prefix("ENV ") {
            for kv in rest.split_whitespace() {
                let (k, v) = kv.split_once('=').unwrap();
                env.insert(k.to_owned(), v.to_owned());
            }
        }
    }
    (cmd, env)
}

/// Dockerfile instructions, continuation lines joined, comments dropped.
fn instructions(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with('#') || t.is_empty() {
            continue;
        }
        match t.strip_suffix('\\') {
            Some(part) => {
                cur.push_str(part.trim());
                cur.push(' ');
            }
            None => {
                cur.push_str(t);
                out.push(std::mem::take(&mut cur));
            }
        }
    }
    out
}

fn json_array(text: &str) -> Vec<String> {
    let y = YamlLoader::load_from_str(text).unwrap();
    strings(&y[0])
}

fn is_bawaba_image(service: &Yaml) -> bool {
    service["image"]
        .as_str()
        .is_some_and(|i| i.starts_with("bawaba:") || i.contains("/bawaba:"))
}

#[test]
fn compose_file_matches_the_binary() {
    let file = deploy().join("compose.yaml");
    let text = read(&file);
    assert_env_names_exist(&file, &text);
    let doc = &yaml(&file)[0];
    let services = doc["services"]
        .as_hash()
        .expect("compose.yaml has services");
    let names: BTreeSet<String> = services.keys().map(s).collect();
    let volumes: BTreeSet<String> = doc["volumes"]
        .as_hash()
        .map(|h| h.keys().map(s).collect())
        .unwrap_or_default();
    let (default_cmd, image_env) = dockerfile_defaults();
    let mut schedulers = BTreeMap::new();
    let mut listening = BTreeMap::new();
    for (name, svc) in services {
        let name = s(name);
        let what = format!("compose.yaml service {name}");
        // Mounted files exist; named volumes are declared.
        for v in strings(&svc["volumes"]) {
            let source = v.split(':').next().unwrap();
            if source.starts_with('.') || source.starts_with('/') {
                let p = deploy().join(source);
                assert!(
                    p.exists(),
                    "{what} mounts {source}, which is not in the repository ({})",
                    p.display()
                );
            } else {
                assert!(
                    volumes.contains(source),
                    "{what}: volume {source} is not declared"
                );
            }
        }
        if let Some(build) = svc["build"].as_hash().map(|_| &svc["build"]) {
            let ctx = deploy().join(s(&build["context"]));
            let dockerfile = ctx.join(s(&build["dockerfile"]));
            assert!(
                dockerfile.is_file(),
                "{what} builds {}, which does not exist",
                dockerfile.display()
            );
        }
        match &svc["depends_on"] {
            Yaml::Hash(h) => h
                .keys()
                .map(s)
                .for_each(|d| assert!(names.contains(&d), "{what} depends on unknown {d}")),
            other => strings(other)
                .into_iter()
                .for_each(|d| assert!(names.contains(&d), "{what} depends on unknown {d}")),
        }
        if !is_bawaba_image(svc) {
            continue;
        }
        let args = match &svc["command"] {
            Yaml::BadValue => default_cmd.clone(),
            c => strings(c),
        };
        let inv = Invocation::new(&what, &args, compose_env(svc), &image_env);
        for p in strings(&svc["ports"]) {
            let container = p.rsplit(':').next().unwrap().split('/').next().unwrap();
            inv.assert_listens(container.parse().unwrap(), &format!("ports: {p}"));
        }
        if inv.path == ["scheduler"] {
            assert!(
                inv.value("store")
                    .is_some_and(|v| v.starts_with("postgres://")),
                "{what}: replicas share PostgreSQL (--store postgres://...)"
            );
            let config = inv.value("config").expect("the scheduler gets --config");
            assert!(
                strings(&svc["volumes"])
                    .iter()
                    .any(|v| v.split(':').nth(1) == Some(config.as_str())),
                "{what}: the --config file {config} is mounted"
            );
            schedulers.insert(name.clone(), inv.value("data-dir"));
        }
        if inv.path == ["migrate"] {
            assert!(
                inv.value("store").is_some(),
                "{what}: migrate needs --store"
            );
        }
        listening.insert(name, inv.listen_ports());
    }
    assert_eq!(schedulers.len(), 2, "two scheduler replicas");
    let dirs: BTreeSet<_> = schedulers.values().collect();
    assert_eq!(
        dirs.len(),
        1,
        "the replicas share one token folder: {schedulers:?}"
    );
    for needed in ["postgres", "prometheus", "grafana", "migrate"] {
        assert!(
            names.contains(needed),
            "compose.yaml has no {needed} service"
        );
    }

    // Prometheus scrapes compose services on ports they listen on.
    let prom = deploy().join("prometheus/prometheus.yml");
    let prom_doc = &yaml(&prom)[0];
    let mut scraped = 0;
    for job in prom_doc["scrape_configs"].as_vec().expect("scrape_configs") {
        for sc in job["static_configs"]
            .as_vec()
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            for t in strings(&sc["targets"]) {
                let (host, port) = t.rsplit_once(':').unwrap();
                if let Some(ports) = listening.get(host) {
                    assert!(
                        ports.contains(&port.parse().unwrap()),
                        "prometheus.yml scrapes {t}, but {host} listens on {ports:?}"
                    );
                    scraped += 1;
                }
            }
        }
    }
    assert!(
        scraped >= 2,
        "prometheus.yml scrapes both compose scheduler replicas"
    );

    // Grafana: the datasource points at the prometheus service, the dashboards provider at
    // where compose mounts deploy/grafana/dashboards.
    let ds = &yaml(&deploy().join("grafana/provisioning/datasources/prometheus.yaml"))[0];
    let url = s(&ds["datasources"][0]["url"]);
    assert!(url.starts_with("http://prometheus:9090"), "{url}");
    assert!(
        strings(&services[&Yaml::String("prometheus".into())]["ports"])
            .iter()
            .any(|p| p.ends_with(":9090"))
    );
    let prov = &yaml(&deploy().join("grafana/provisioning/dashboards/bawaba.yaml"))[0];
    let path = s(&prov["providers"][0]["options"]["path"]);
    let grafana = &services[&Yaml::String("grafana".into())];
    assert!(
        strings(&grafana["volumes"])
            .iter()
            .any(|v| v.starts_with("./grafana/dashboards:")
                && v.split(':').nth(1) == Some(path.as_str())),
        "compose mounts deploy/grafana/dashboards at the provider's path {path}"
    );
}

#[test]
fn grafana_dashboards_use_the_provisioned_datasource() {
    let ds = &yaml(&deploy().join("grafana/provisioning/datasources/prometheus.yaml"))[0];
    let uid = s(&ds["datasources"][0]["uid"]);
    let dir = deploy().join("grafana/dashboards");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        seen += 1;
        // JSON is YAML 1.2.
        let dash = &yaml(&path)[0];
        assert!(
            dash["__inputs"].is_badvalue(),
            "{}: an export for import (`__inputs`) is not resolved by file provisioning",
            path.display()
        );
        let variables: BTreeSet<String> = dash["templating"]["list"]
            .as_vec()
            .map(|l| {
                l.iter()
                    .filter(|v| v["type"].as_str() == Some("datasource"))
                    .map(|v| s(&v["name"]))
                    .collect()
            })
            .unwrap_or_default();
        let mut uids = Vec::new();
        collect_datasource_uids(dash, &mut uids);
        for u in uids {
            let var = u
                .trim_start_matches('$')
                .trim_start_matches('{')
                .trim_end_matches('}');
            assert!(
                u == uid
                    || u == "-- Grafana --"
                    || u == "grafana"
                    || (u.starts_with('$') && variables.contains(var)),
                "{}: datasource uid {u:?} is neither the provisioned {uid:?} nor a datasource variable {variables:?}",
                path.display()
            );
        }
    }
    assert!(seen > 0, "no dashboard in {}", dir.display());
}

fn collect_datasource_uids(y: &Yaml, out: &mut Vec<String>) {
    match y {
        Yaml::Hash(h) => {
            for (k, v) in h {
                if k.as_str() == Some("datasource") {
                    match v {
                        Yaml::Hash(_) => {
                            if let Some(u) = v["uid"].as_str() {
                                out.push(u.to_owned());
                            }
                        }
                        Yaml::String(u) => out.push(u.clone()),
                        _ => {}
                    }
                }
                collect_datasource_uids(v, out);
            }
        }
        Yaml::Array(a) => a.iter().for_each(|v| collect_datasource_uids(v, out)),
        _ => {}
    }
}

// ---- Kubernetes ----------------------------------------------------------------------------

fn k8s_docs() -> Vec<(PathBuf, Yaml)> {
    let mut files: Vec<_> = std::fs::read_dir(deploy().join("k8s"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    files
        .into_iter()
        .flat_map(|f| {
            assert_env_names_exist(&f, &read(&f));
            yaml(&f).into_iter().map(move |d| (f.clone(), d))
        })
        .filter(|(_, d)| !d.is_null())
        .collect()
}

fn named<'a>(docs: &'a [(PathBuf, Yaml)], kind: &str, name: &str) -> Option<&'a Yaml> {
    docs.iter()
        .map(|(_, d)| d)
        .find(|d| d["kind"].as_str() == Some(kind) && d["metadata"]["name"].as_str() == Some(name))
}

fn port_ref_ok(port: &Yaml, container_ports: &[(Option<String>, u16)]) -> Option<u16> {
    match port {
        Yaml::Integer(n) => container_ports
            .iter()
            .find(|(_, p)| i64::from(*p) == *n)
            .map(|(_, p)| *p),
        Yaml::String(name) => container_ports
            .iter()
            .find(|(n, _)| n.as_deref() == Some(name.as_str()))
            .map(|(_, p)| *p),
        _ => None,
    }
}

#[test]
fn kubernetes_manifests_match_the_binary() {
    let docs = k8s_docs();
    for (file, d) in &docs {
        if file.file_name().and_then(|n| n.to_str()) == Some("kustomization.yaml") {
            for r in strings(&d["resources"]) {
                assert!(
                    deploy().join("k8s").join(&r).is_file(),
                    "kustomization lists {r}, which is missing"
                );
            }
            continue;
        }
        for key in ["apiVersion", "kind"] {
            assert!(
                d[key].as_str().is_some(),
                "{}: a document without {key}",
                file.display()
            );
        }
        assert!(
            d["metadata"]["name"].as_str().is_some(),
            "{}: a document without metadata.name",
            file.display()
        );
    }

    // The ConfigMap carries the example configuration, which the config tests parse.
    let cm = named(&docs, "ConfigMap", "bawaba-config").expect("ConfigMap bawaba-config");
    assert_eq!(
        s(&cm["data"]["config.toml"]),
        read(&deploy().join("config.example.toml")),
        "deploy/k8s/configmap.yaml config.toml differs from deploy/config.example.toml"
    );

    let (default_cmd, image_env) = dockerfile_defaults();
    let mut pod_specs = Vec::new();
    for (file, d) in &docs {
        let spec = match d["kind"].as_str() {
            Some("Deployment") | Some("Job") => &d["spec"]["template"]["spec"],
            _ => continue,
        };
        pod_specs.push((file.clone(), d.clone(), spec.clone()));
    }
    let mut scheduler_deployment = false;
    for (file, d, spec) in &pod_specs {
        let kind = s(&d["kind"]);
        let volumes: BTreeMap<String, Yaml> = spec["volumes"]
            .as_vec()
            .map(|v| v.iter().map(|v| (s(&v["name"]), v.clone())).collect())
            .unwrap_or_default();
        for v in volumes.values() {
            if let Some(name) = v["configMap"]["name"].as_str() {
                assert!(
                    named(&docs, "ConfigMap", name).is_some(),
                    "{}: ConfigMap {name} is not in the manifests",
                    file.display()
                );
            }
            if let Some(name) = v["secret"]["secretName"].as_str() {
                assert!(
                    named(&docs, "Secret", name).is_some(),
                    "{}: Secret {name} is not in the manifests",
                    file.display()
                );
            }
        }
        for c in spec["containers"].as_vec().expect("containers") {
            let what = format!("{} {kind} container {}", file.display(), s(&c["name"]));
            assert!(
                s(&c["image"]).starts_with("bawaba:"),
                "{what}: the bawaba image"
            );
            let mut env = BTreeMap::new();
            for e in c["env"].as_vec().map(Vec::as_slice).unwrap_or_default() {
                let name = s(&e["name"]);
                if let Some(r) = e["valueFrom"]["secretKeyRef"]
                    .as_hash()
                    .map(|_| &e["valueFrom"]["secretKeyRef"])
                {
                    let secret = named(&docs, "Secret", &s(&r["name"])).unwrap_or_else(|| {
                        panic!("{what}: {name} from a Secret not in the manifests")
                    });
                    assert!(
                        !secret["stringData"][r["key"].as_str().unwrap()].is_badvalue(),
                        "{what}: {name}: the Secret has no key {:?}",
                        r["key"]
                    );
                    env.insert(name, "(secret)".into());
                } else {
                    env.insert(name, s(&e["value"]));
                }
            }
            let mut args = strings(&c["command"]);
            if let Some(first) = args.first() {
                assert!(first.ends_with("bawaba"), "{what}: command runs {first}");
                args.remove(0);
            }
            args.extend(match &c["args"] {
                Yaml::BadValue => default_cmd.clone(),
                a => strings(a),
            });
            let inv = Invocation::new(&what, &args, env, &image_env);
            let container_ports: Vec<(Option<String>, u16)> = c["ports"]
                .as_vec()
                .map(|ps| {
                    ps.iter()
                        .map(|p| {
                            (
                                p["name"].as_str().map(str::to_owned),
                                port_of(&p["containerPort"]),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            for (name, port) in &container_ports {
                inv.assert_listens(*port, &format!("containerPort {name:?}"));
            }
            for probe in ["readinessProbe", "livenessProbe", "startupProbe"] {
                let p = &c[probe];
                if p.is_badvalue() {
                    continue;
                }
                let port = ["grpc", "tcpSocket", "httpGet"]
                    .iter()
                    .find(|k| !p[**k].is_badvalue())
                    .map(|k| &p[*k]["port"])
                    .unwrap_or_else(|| panic!("{what}: {probe} of an unknown kind"));
                let port = port_ref_ok(port, &container_ports).unwrap_or_else(|| {
                    panic!("{what}: {probe} port {port:?} is not a container port")
                });
                inv.assert_listens(port, probe);
                if !p["grpc"].is_badvalue() {
                    let grpc = inv
                        .value("grpc-addr")
                        .and_then(|a| a.parse::<SocketAddr>().ok())
                        .map(|a| a.port());
                    let grpc = grpc.or_else(|| {
                        inv.help.opts["grpc-addr"]
                            .default
                            .as_ref()
                            .and_then(|a| a.parse::<SocketAddr>().ok())
                            .map(|a| a.port())
                    });
                    assert_eq!(
                        Some(port),
                        grpc,
                        "{what}: the gRPC {probe} probes the gRPC port"
                    );
                }
            }
            // Files the process reads are mounted.
            let mounts: Vec<(String, String)> = c["volumeMounts"]
                .as_vec()
                .map(|m| {
                    m.iter()
                        .map(|m| (s(&m["name"]), s(&m["mountPath"])))
                        .collect()
                })
                .unwrap_or_default();
            for (name, _) in &mounts {
                assert!(
                    volumes.contains_key(name),
                    "{what}: mounts unknown volume {name}"
                );
            }
            for flag in ["config", "data-dir"] {
                if let Some(path) = inv.value(flag) {
                    assert!(
                        mounts
                            .iter()
                            .any(|(_, m)| path == *m || path.starts_with(&format!("{m}/"))),
                        "{what}: --{flag} {path} is not on a mounted volume"
                    );
                }
            }
            if inv.path == ["scheduler"] {
                scheduler_deployment = true;
                assert_eq!(kind, "Deployment");
                assert!(
                    d["spec"]["replicas"].as_i64().unwrap_or(1) >= 2,
                    "{what}: several replicas"
                );
                assert!(
                    inv.value("store").is_some(),
                    "{what}: replicas need the PostgreSQL store"
                );
                for probe in ["readinessProbe", "livenessProbe"] {
                    assert!(
                        !c[probe]["grpc"].is_badvalue(),
                        "{what}: {probe} uses the gRPC health service"
                    );
                }
                // The Service selects these pods and targets their ports.
                let labels = &d["spec"]["template"]["metadata"]["labels"];
                let svc = docs
                    .iter()
                    .map(|(_, d)| d)
                    .find(|x| x["kind"].as_str() == Some("Service"))
                    .expect("a Service");
                for (k, v) in svc["spec"]["selector"].as_hash().unwrap() {
                    assert_eq!(
                        &labels[k.as_str().unwrap()],
                        v,
                        "the Service selects the scheduler pods"
                    );
                }
                for p in svc["spec"]["ports"].as_vec().unwrap() {
                    assert!(
                        port_ref_ok(&p["targetPort"], &container_ports).is_some(),
                        "Service targetPort {:?} is a container port",
                        p["targetPort"]
                    );
                }
            }
        }
    }
    assert!(scheduler_deployment, "a scheduler Deployment");
    assert!(
        pod_specs
            .iter()
            .any(|(_, d, _)| d["kind"].as_str() == Some("Job")),
        "a migrate Job"
    );
}

/// `kubectl kustomize` (offline) renders the manifests, when kubectl is installed.
#[test]
fn kustomize_renders_when_kubectl_is_installed() {
    let out = std::process::Command::new("kubectl")
        .arg("kustomize")
        .arg(deploy().join("k8s"))
        .output();
    match out {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => panic!("running kubectl: {e}"),
        Ok(out) => {
            assert!(
                out.status.success(),
                "kubectl kustomize deploy/k8s:\n{}",
                output_text(&out)
            );
            let rendered = String::from_utf8_lossy(&out.stdout);
            assert!(rendered.contains("kind: Deployment"));
        }
    }
}

// ---- Dockerfile and systemd ------------------------------------------------------------------

#[test]
fn dockerfile_matches_the_binary_and_the_repository() {
    let file = deploy().join("Dockerfile");
    let text = read(&file);
    assert_env_names_exist(&file, &text);
    let all = instructions(&text);
    assert!(
        all.iter()
            .any(|i| i.contains("cargo build --release --locked -p bawaba")),
        "the builder stage builds the locked release binary"
    );
    let stages = all.iter().filter(|i| i.starts_with("FROM ")).count();
    assert!(stages >= 2, "multi-stage");
    for i in &all {
        if let Some(rest) = i.strip_prefix("COPY ") {
            if rest.starts_with("--from") {
                continue;
            }
            let parts: Vec<&str> = rest
                .split_whitespace()
                .filter(|p| !p.starts_with("--"))
                .collect();
            for src in &parts[..parts.len() - 1] {
                if *src != "." {
                    assert!(
                        workspace_root().join(src).exists(),
                        "Dockerfile copies {src}, which is not in the repository"
                    );
                }
            }
        }
    }
    let runtime = text.rsplit("\nFROM ").next().unwrap();
    let user = instructions(runtime)
        .into_iter()
        .filter_map(|i| i.strip_prefix("USER ").map(str::to_owned))
        .next_back()
        .expect("the runtime stage sets USER");
    assert!(
        !user.starts_with("root") && !user.starts_with("0"),
        "non-root user: {user}"
    );
    let (cmd, env) = dockerfile_defaults();
    let inv = Invocation::new("Dockerfile CMD", &cmd, env, &BTreeMap::new());
    let exposed: BTreeSet<u16> = instructions(runtime)
        .iter()
        .filter_map(|i| i.strip_prefix("EXPOSE "))
        .flat_map(|p| {
            p.split_whitespace()
                .map(|p| p.split('/').next().unwrap().parse::<u16>().unwrap())
        })
        .collect();
    assert_eq!(
        exposed,
        inv.listen_ports(),
        "EXPOSE lists exactly the ports the scheduler listens on"
    );
}

#[test]
fn systemd_units_match_the_binary() {
    for unit in ["bawaba-scheduler.service", "bawaba-gate@.service"] {
        let file = deploy().join("systemd").join(unit);
        let text = read(&file);
        assert_env_names_exist(&file, &text);
        let exec = text
            .lines()
            .find_map(|l| l.strip_prefix("ExecStart="))
            .expect("ExecStart");
        let mut words: Vec<String> = exec.split_whitespace().map(str::to_owned).collect();
        assert!(words.remove(0).ends_with("/bawaba"));
        let env: BTreeMap<String, String> = text
            .lines()
            .filter_map(|l| l.strip_prefix("Environment="))
            .filter_map(|kv| {
                kv.split_once('=')
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
            })
            .collect();
        let inv = Invocation::new(unit, &words, env, &BTreeMap::new());
        // Flags in the unit's comments (the TLS and PostgreSQL variants) exist too.
        let other_tools = ["useradd", "install ", "systemctl"];
        for line in text
            .lines()
            .filter(|l| l.starts_with('#') && !other_tools.iter().any(|t| l.contains(t)))
        {
            for w in line.split_whitespace().filter(|w| w.starts_with("--")) {
                let name = w.trim_start_matches("--").split('=').next().unwrap();
                assert!(
                    inv.help.opts.contains_key(name),
                    "{unit}: a comment mentions --{name}, which `bawaba {}` does not have",
                    inv.path.join(" ")
                );
            }
        }
    }
}
